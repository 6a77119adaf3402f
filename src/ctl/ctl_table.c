/*
 * ctl_table.c: the tables of the control socket's answers (ctl_table.h).
 * Each cell goes straight to the JSON writer, or into the text line being
 * built, which is added to the reply when a new line starts or the row's
 * last cell is in.  It touches nothing but the reply.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_reply.h"
#include "ctl/ctl_table.h"
#include "util/json.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* A use of a table against its description: stop, it is our bug. */
static void
misuse(const struct ctl_table *t, const char *what)
{
	fprintf(stderr, "ctl_table %s: %s\n", t->def->key != NULL ?
	    t->def->key : "(inline)", what);
	abort();
}

/* Append n bytes of s to the text line. */
static void
put(struct ctl_table *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		while (t->len + n + 1 > t->cap)
			t->cap = t->cap ? t->cap * 2 : 128;
		t->line = xrealloc(t->line, t->cap);
	}
	memcpy(t->line + t->len, s, n);
	t->len += n;
	t->line[t->len] = '\0';
}

/* Append the string s to the text line. */
static void
puts_(struct ctl_table *t, const char *s)
{
	put(t, s, strlen(s));
}

/* Add the text line to the reply if a cell is on it, and start afresh. */
static void
flush(struct ctl_table *t)
{
	if (t->shown)
		ctl_reply_add(t->r, "%s", t->line);
	t->len = 0;
	if (t->line != NULL)
		t->line[0] = '\0';
	t->shown = 0;
}

/*
 * The column of the next cell, checked against type; the text line is
 * flushed first when the column starts a new one.
 */
static const struct ctl_col *
next_col(struct ctl_table *t, enum ctl_type type)
{
	const struct ctl_col *c;

	if (!t->in_row || t->in_cell)
		misuse(t, "a cell outside a row or inside a list");
	if (t->col >= t->def->ncols)
		misuse(t, "more cells than columns");
	c = &t->def->cols[t->col];
	if (c->type != type)
		misuse(t, c->key != NULL ? c->key : "a cell of the wrong type");
	if (t->j == NULL && (c->flags & CTL_LINE) && t->col > 0)
		flush(t);
	return c;
}

/* After a cell: the row's text is complete with its last column. */
static void
cell_done(struct ctl_table *t)
{
	if (++t->col == t->def->ncols && t->j == NULL)
		flush(t);
}

/* The text of a cell: its words, the value or "none", the unit. */
static void
cell_text(struct ctl_table *t, const struct ctl_col *c, const char *value,
    int empty, int plural)
{
	if (c->text == NULL || (empty && (c->flags & CTL_OMIT)))
		return;
	while (t->len < c->pos)
		put(t, " ", 1);
	puts_(t, c->text);
	puts_(t, empty && c->none != NULL ? c->none : value);
	if (c->unit != NULL) {
		puts_(t, c->unit);
		if (plural && (c->flags & CTL_PLURAL))
			put(t, "s", 1);
	}
	t->shown = 1;
}

/* Begin a table: the JSON array of its rows for CTL_ROWS. */
void
ctl_table_begin(struct ctl_table *t, struct ctl_reply *r,
    const struct ctl_table_def *def)
{
	memset(t, 0, sizeof *t);
	t->r = r;
	t->j = ctl_reply_json(r);
	t->def = def;
	if (t->j != NULL && def->shape == CTL_ROWS)
		json_array_begin(t->j, def->key);
}

/* End a table: "none" in text, or null for CTL_ONE, when it had no row. */
void
ctl_table_end(struct ctl_table *t)
{
	if (t->in_row)
		misuse(t, "a row left open");
	if (t->j != NULL) {
		if (t->def->shape == CTL_ROWS)
			json_array_end(t->j);
		else if (t->def->shape == CTL_ONE && t->nrows == 0)
			json_null(t->j, t->def->key);
	} else if (t->nrows == 0 && t->def->none != NULL)
		ctl_reply_add(t->r, "%s", t->def->none);
	free(t->line);
	t->line = NULL;
}

/* The rows added so far. */
size_t
ctl_table_rows(const struct ctl_table *t)
{
	return t->nrows;
}

/* Begin a row (a JSON object unless CTL_INLINE). */
void
ctl_table_row(struct ctl_table *t)
{
	if (t->in_row)
		misuse(t, "a row inside a row");
	if (t->def->shape == CTL_ONE && t->nrows > 0)
		misuse(t, "a second row of a single object");
	t->in_row = 1;
	t->col = 0;
	t->nrows++;
	if (t->j != NULL && t->def->shape != CTL_INLINE)
		json_object_begin(t->j, t->def->shape == CTL_ONE ?
		    t->def->key : NULL);
}

/* End a row: every column must have had its cell. */
void
ctl_table_row_end(struct ctl_table *t)
{
	if (!t->in_row || t->in_cell || t->col != t->def->ncols)
		misuse(t, "a row ended before its last cell");
	t->in_row = 0;
	if (t->j != NULL && t->def->shape != CTL_INLINE)
		json_object_end(t->j);
}

/* A string cell; NULL and "" are empty. */
void
ctl_table_str(struct ctl_table *t, const char *v)
{
	const struct ctl_col *c = next_col(t, CTL_STR);
	int empty = v == NULL || *v == '\0';

	if (t->j == NULL)
		cell_text(t, c, v != NULL ? v : "", empty, 0);
	else if (c->key != NULL)
		json_string(t->j, c->key, empty && (c->flags & CTL_NULL) ?
		    NULL : v);
	cell_done(t);
}

/* A signed number cell. */
void
ctl_table_int(struct ctl_table *t, long long v)
{
	const struct ctl_col *c = next_col(t, CTL_INT);
	char buf[32];

	if (t->j == NULL) {
		snprintf(buf, sizeof buf, "%lld", v);
		cell_text(t, c, buf, 0, v != 1);
	} else if (c->key != NULL)
		json_int(t->j, c->key, v);
	cell_done(t);
}

/* An unsigned number cell. */
void
ctl_table_uint(struct ctl_table *t, unsigned long long v)
{
	const struct ctl_col *c = next_col(t, CTL_UINT);
	char buf[32];

	if (t->j == NULL) {
		snprintf(buf, sizeof buf, "%llu", v);
		cell_text(t, c, buf, 0, v != 1);
	} else if (c->key != NULL)
		json_uint(t->j, c->key, v);
	cell_done(t);
}

/* A time cell, ISO 8601 UTC; 0 is empty. */
void
ctl_table_time(struct ctl_table *t, time_t v)
{
	const struct ctl_col *c = next_col(t, CTL_TIME);
	char buf[32];

	str_time_iso(v, buf, sizeof buf);
	if (t->j == NULL)
		cell_text(t, c, buf, v == 0, 0);
	else if (c->key != NULL)
		json_string(t->j, c->key, v == 0 && (c->flags & CTL_NULL) ?
		    NULL : buf);
	cell_done(t);
}

/* A yes/no cell (in text the words alone with CTL_WORD). */
void
ctl_table_bool(struct ctl_table *t, int v)
{
	const struct ctl_col *c = next_col(t, CTL_BOOL);

	if (t->j == NULL) {
		if (!(c->flags & CTL_WORD))
			cell_text(t, c, v ? "yes" : "no", 0, 0);
		else if (v)
			cell_text(t, c, "", 0, 0);
	} else if (c->key != NULL)
		json_bool(t->j, c->key, v);
	cell_done(t);
}

/* A percentage cell; below 0 is empty (JSON null). */
void
ctl_table_pct(struct ctl_table *t, double v)
{
	const struct ctl_col *c = next_col(t, CTL_PCT);
	char buf[32];

	if (t->j == NULL) {
		snprintf(buf, sizeof buf, "%.1f%%", v);
		cell_text(t, c, buf, v < 0, 0);
	} else if (c->key != NULL) {
		if (v < 0)
			json_null(t->j, c->key);
		else
			json_double(t->j, c->key, v, 1);
	}
	cell_done(t);
}

/* No cell for this column in this row. */
void
ctl_table_skip(struct ctl_table *t)
{
	if (!t->in_row || t->in_cell || t->col >= t->def->ncols)
		misuse(t, "a skipped cell outside a row");
	cell_done(t);
}

/* Open a list or group cell: its words in text, its array or object in JSON. */
void
ctl_table_open(struct ctl_table *t)
{
	const struct ctl_col *c;

	if (!t->in_row || t->in_cell || t->col >= t->def->ncols)
		misuse(t, "a list outside a row");
	c = &t->def->cols[t->col];
	(void)next_col(t, c->type == CTL_GROUP ? CTL_GROUP : CTL_LIST);
	t->in_cell = 1;
	t->nitems = 0;
	if (t->j != NULL) {
		if (c->key == NULL)
			return;
		if (c->type == CTL_LIST)
			json_array_begin(t->j, c->key);
		else
			json_object_begin(t->j, c->key);
		return;
	}
	if (c->text == NULL)
		return;
	t->mark = t->len;
	while (t->len < c->pos)
		put(t, " ", 1);
	puts_(t, c->text);
}

/* The column of the open list or group, checked against type. */
static const struct ctl_col *
open_col(struct ctl_table *t, enum ctl_type type)
{
	const struct ctl_col *c = &t->def->cols[t->col];

	if (!t->in_cell || c->type != type)
		misuse(t, "an item outside its list or group");
	return c;
}

/* One string of the open list. */
void
ctl_table_item(struct ctl_table *t, const char *v)
{
	const struct ctl_col *c = open_col(t, CTL_LIST);

	if (t->j != NULL) {
		if (c->key != NULL)
			json_string(t->j, NULL, v);
	} else if (c->text != NULL) {
		if (t->nitems > 0 && c->unit != NULL)
			puts_(t, c->unit);
		puts_(t, v);
	}
	t->nitems++;
}

/* One name and number of the open group. */
void
ctl_table_pair(struct ctl_table *t, const char *name, unsigned long long v)
{
	const struct ctl_col *c = open_col(t, CTL_GROUP);
	char buf[32];

	if (t->j != NULL) {
		if (c->key != NULL)
			json_uint(t->j, name, v);
	} else if (c->text != NULL) {
		snprintf(buf, sizeof buf, " %llu", v);
		put(t, " ", 1);
		puts_(t, name);
		puts_(t, buf);
	}
	t->nitems++;
}

/* Close the list or group: "none" or left out when it had no item. */
void
ctl_table_close(struct ctl_table *t)
{
	const struct ctl_col *c = &t->def->cols[t->col];

	if (!t->in_cell)
		misuse(t, "a close without an open list");
	t->in_cell = 0;
	if (t->j != NULL) {
		if (c->key != NULL && c->type == CTL_LIST)
			json_array_end(t->j);
		else if (c->key != NULL)
			json_object_end(t->j);
	} else if (c->text != NULL) {
		if (t->nitems == 0 && (c->flags & CTL_OMIT)) {
			t->len = t->mark;
			t->line[t->len] = '\0';
		} else {
			if (t->nitems == 0 && c->none != NULL)
				puts_(t, c->none);
			t->shown = 1;
		}
	}
	cell_done(t);
}
