/*
 * json.c: the JSON writer (json.h).  One growing buffer and a stack of
 * open containers; it checks its own use (keys in objects only, matching
 * ends), because a caller's mistake there would silently give JSON that
 * no script can read.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/xmalloc.h"

struct json {
	char		*buf;
	size_t		 len, cap;
	int		 depth;
	char		 kind[JSON_DEPTH_MAX];	/* '{' or '[' per level */
	size_t		 count[JSON_DEPTH_MAX];	/* values at each level */
	int		 done;			/* the top value is complete */
};

/* A misuse of the writer: stop before bad JSON gets out. */
static void
misuse(const char *what)
{
	fprintf(stderr, "json: %s\n", what);
	abort();
}

static void
grow(char **buf, size_t *used, size_t *cap, size_t more)
{
	if (*used + more + 1 <= *cap)
		return;
	while (*used + more + 1 > *cap)
		*cap = *cap ? *cap * 2 : 256;
	*buf = xrealloc(*buf, *cap);
}

static void
put(struct json *j, const char *s, size_t n)
{
	grow(&j->buf, &j->len, &j->cap, n);
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void
json_escape(char **buf, size_t *used, size_t *cap, const void *s, size_t len)
{
	const unsigned char *p = s;
	char esc[8];
	const char *piece;
	size_t i, n, u;

	for (i = 0; i < len; i += u) {
		u = 1;
		piece = esc;
		switch (p[i]) {
		case '"':  piece = "\\\""; break;
		case '\\': piece = "\\\\"; break;
		case '\n': piece = "\\n"; break;
		case '\r': piece = "\\r"; break;
		case '\t': piece = "\\t"; break;
		case '\b': piece = "\\b"; break;
		case '\f': piece = "\\f"; break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f)
				snprintf(esc, sizeof esc, "\\u%04x", p[i]);
			else if ((u = utf8_len(p + i, len - i)) == 0) {
				/* Not UTF-8: the replacement character. */
				memcpy(esc, "\xef\xbf\xbd", 4);
				u = 1;
			} else {
				memcpy(esc, p + i, u);
				esc[u] = '\0';
			}
		}
		n = strlen(piece);
		grow(buf, used, cap, n);
		memcpy(*buf + *used, piece, n);
		*used += n;
		(*buf)[*used] = '\0';
	}
}

struct json *
json_new(void)
{
	struct json *j = xcalloc(1, sizeof *j);

	j->cap = 256;
	j->buf = xmalloc(j->cap);
	j->buf[0] = '\0';
	return j;
}

void
json_free(struct json *j)
{
	if (j == NULL)
		return;
	free(j->buf);
	free(j);
}

/* Start a value: the comma, the key if inside an object. */
static void
value_begin(struct json *j, const char *key)
{
	if (j->done)
		misuse("a second top-level value");
	if (j->depth == 0) {
		if (key != NULL)
			misuse("a key outside an object");
		return;
	}
	if (j->count[j->depth - 1]++ > 0)
		put(j, ",", 1);
	if (j->kind[j->depth - 1] == '{') {
		if (key == NULL)
			misuse("an object member without a key");
		put(j, "\"", 1);
		json_escape(&j->buf, &j->len, &j->cap, key, strlen(key));
		put(j, "\":", 2);
	} else if (key != NULL)
		misuse("a key inside an array");
}

/* A scalar value is written: at the top, that is all. */
static void
value_end(struct json *j)
{
	if (j->depth == 0)
		j->done = 1;
}

static void
open_container(struct json *j, const char *key, char kind)
{
	value_begin(j, key);
	if (j->depth == JSON_DEPTH_MAX)
		misuse("nested too deep");
	j->kind[j->depth] = kind;
	j->count[j->depth] = 0;
	j->depth++;
	put(j, &kind, 1);
}

static void
close_container(struct json *j, char kind)
{
	if (j->depth == 0 || j->kind[j->depth - 1] != kind)
		misuse("an end without its begin");
	j->depth--;
	put(j, kind == '{' ? "}" : "]", 1);
	value_end(j);
}

void
json_object_begin(struct json *j, const char *key)
{
	open_container(j, key, '{');
}

void
json_object_end(struct json *j)
{
	close_container(j, '{');
}

void
json_array_begin(struct json *j, const char *key)
{
	open_container(j, key, '[');
}

void
json_array_end(struct json *j)
{
	close_container(j, '[');
}

void
json_stringn(struct json *j, const char *key, const void *s, size_t len)
{
	value_begin(j, key);
	put(j, "\"", 1);
	json_escape(&j->buf, &j->len, &j->cap, s, len);
	put(j, "\"", 1);
	value_end(j);
}

void
json_string(struct json *j, const char *key, const char *s)
{
	if (s == NULL)
		json_null(j, key);
	else
		json_stringn(j, key, s, strlen(s));
}

void
json_int(struct json *j, const char *key, long long v)
{
	char n[32];

	value_begin(j, key);
	put(j, n, (size_t)snprintf(n, sizeof n, "%lld", v));
	value_end(j);
}

void
json_uint(struct json *j, const char *key, unsigned long long v)
{
	char n[32];

	value_begin(j, key);
	put(j, n, (size_t)snprintf(n, sizeof n, "%llu", v));
	value_end(j);
}

void
json_double(struct json *j, const char *key, double v, int decimals)
{
	char n[64];
	int len;

	if (isnan(v) || isinf(v)) {
		json_null(j, key);
		return;
	}
	len = snprintf(n, sizeof n, "%.*f", decimals, v);
	if (len < 0 || (size_t)len >= sizeof n) {
		json_null(j, key);
		return;
	}
	value_begin(j, key);
	put(j, n, (size_t)len);
	value_end(j);
}

void
json_bool(struct json *j, const char *key, int v)
{
	value_begin(j, key);
	put(j, v ? "true" : "false", v ? 4 : 5);
	value_end(j);
}

void
json_null(struct json *j, const char *key)
{
	value_begin(j, key);
	put(j, "null", 4);
	value_end(j);
}

size_t
json_members(const struct json *j)
{
	if (j->depth == 0 || j->kind[j->depth - 1] != '{')
		misuse("members asked outside an object");
	return j->count[j->depth - 1];
}

const char *
json_text(const struct json *j, size_t *len)
{
	if (len != NULL)
		*len = j->len;
	return j->buf;
}

int
json_is_complete(const struct json *j)
{
	return j->done;
}
