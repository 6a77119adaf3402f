/*
 * ctl_table.h: the tables of the control socket's answers, each described
 * once.  A table is a list of columns (the JSON key, the type of its
 * cells, and how a cell reads in the text answer: the words before it,
 * after it, and for an empty value); a handler adds rows of typed cells
 * in column order, and the table writes each row as a text line (or
 * lines) or as a JSON object, as the request asked (ctl_reply.h).  The
 * text forms are the ones ctl_proto.h and sipedge-ctl(8) describe.
 *
 * The cells are written as they are added: a table may be begun while a
 * row of another is open, after that row's last cell, to nest it (its
 * text lines then follow the row's line, its JSON sits in the row's
 * object).  Using a table against its description (a cell of the wrong
 * type, too many cells, a row left open) is a programming error: it
 * aborts.
 */
#ifndef SE_CTL_TABLE_H
#define SE_CTL_TABLE_H

#include <stddef.h>
#include <time.h>

struct ctl_reply;
struct json;

/* The type of a column's cells. */
enum ctl_type {
	CTL_STR,	/* a string; NULL: JSON null */
	CTL_INT,	/* a signed number */
	CTL_UINT,	/* an unsigned number */
	CTL_TIME,	/* a time_t, as ISO 8601 UTC; 0 is empty */
	CTL_BOOL,	/* JSON true/false, text "yes"/"no" (see CTL_WORD) */
	CTL_PCT,	/* a percentage, one decimal, "%" in text; < 0: JSON null */
	CTL_LIST,	/* strings: a JSON array, text joined by the column's unit */
	CTL_GROUP	/* name and number pairs: a JSON object, text " NAME N" each */
};

/* Column flags. */
#define CTL_OMIT	0x01	/* text: left out, words and all, when empty */
#define CTL_NULL	0x02	/* JSON: null when empty ("" or time 0) */
#define CTL_LINE	0x04	/* text: the cell starts a new line */
#define CTL_PLURAL	0x08	/* text: the unit takes an "s" unless the number is 1 */
#define CTL_WORD	0x10	/* bool, text: the words alone when true, nothing when false */

struct ctl_col {
	const char	*key;	/* JSON member; NULL: the text only */
	enum ctl_type	 type;
	const char	*text;	/* text before the value (separator and label);
				   NULL: JSON only */
	const char	*unit;	/* text after the value; CTL_LIST: between items */
	const char	*none;	/* text for an empty value; NULL: the value as is */
	int		 flags;	/* CTL_OMIT ... */
	size_t		 pos;	/* text: spaces first up to this width (aligns) */
};

/* How the rows sit in the JSON answer. */
enum ctl_shape {
	CTL_ROWS,	/* an array of objects, the member key */
	CTL_ONE,	/* one object, the member key; null when there is no row */
	CTL_INLINE	/* the cells are members of the enclosing object */
};

struct ctl_table_def {
	const char		*key;	/* JSON member (CTL_ROWS, CTL_ONE) */
	enum ctl_shape		 shape;
	const char		*none;	/* text line when no row; NULL: none */
	const struct ctl_col	*cols;
	size_t			 ncols;
};

/* The columns of a static array, for a ctl_table_def. */
#define CTL_COLS(a)	(a), (sizeof (a) / sizeof (a)[0])

/* A table being written: on the caller's stack, fields private. */
struct ctl_table {
	struct ctl_reply		*r;
	struct json			*j;	/* NULL: text */
	const struct ctl_table_def	*def;
	size_t				 col;	/* the next cell's column */
	int				 in_row;
	int				 in_cell;	/* a list or group is open */
	size_t				 nrows;
	size_t				 nitems;	/* of the open list or group */
	size_t				 mark;	/* where the open cell's text began */
	char				*line;	/* the text line being built */
	size_t				 len, cap;
	int				 shown;	/* the line has a cell */
};

/* Begin a table in reply r (the JSON array for CTL_ROWS). */
void	ctl_table_begin(struct ctl_table *t, struct ctl_reply *r,
	    const struct ctl_table_def *def);
/* End it: the "none" line or JSON null when it had no row; frees t's text. */
void	ctl_table_end(struct ctl_table *t);

/* The rows added so far. */
size_t	ctl_table_rows(const struct ctl_table *t);

/* Begin a row; then one cell per column, in order; then end it. */
void	ctl_table_row(struct ctl_table *t);
void	ctl_table_row_end(struct ctl_table *t);

/* A cell of the next column, which must have that type. */
void	ctl_table_str(struct ctl_table *t, const char *v);
void	ctl_table_int(struct ctl_table *t, long long v);
void	ctl_table_uint(struct ctl_table *t, unsigned long long v);
void	ctl_table_time(struct ctl_table *t, time_t v);
void	ctl_table_bool(struct ctl_table *t, int v);
void	ctl_table_pct(struct ctl_table *t, double v);
/* The next column has no cell in this row: neither text nor member. */
void	ctl_table_skip(struct ctl_table *t);
/*
 * A CTL_LIST or CTL_GROUP cell: open it, add its items (strings) or
 * pairs (a name and a number), close it.
 */
void	ctl_table_open(struct ctl_table *t);
void	ctl_table_item(struct ctl_table *t, const char *v);
void	ctl_table_pair(struct ctl_table *t, const char *name,
	    unsigned long long v);
void	ctl_table_close(struct ctl_table *t);

#endif
