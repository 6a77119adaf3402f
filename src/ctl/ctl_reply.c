/*
 * ctl_reply.c: the reply to one control request, text lines or one JSON
 * object (ctl_reply.h).  Only memory: the server sends what it gives.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_reply.h"
#include "util/json.h"
#include "util/xmalloc.h"

struct ctl_reply {
	struct evbuffer		*text;
	struct json		*j;		/* NULL: a text reply */
};

/* A reply with nothing in it yet; a JSON one has its object open. */
struct ctl_reply *
ctl_reply_new(int json)
{
	struct ctl_reply *r = xcalloc(1, sizeof *r);

	r->text = evbuffer_new();
	if (json) {
		r->j = json_new();
		json_object_begin(r->j, NULL);
	}
	return r;
}

/* Free r and what it holds; accepts NULL. */
void
ctl_reply_free(struct ctl_reply *r)
{
	if (r == NULL)
		return;
	json_free(r->j);
	evbuffer_free(r->text);
	free(r);
}

/* Append one or more lines of text (a newline is added at the end). */
void
ctl_reply_add(struct ctl_reply *r, const char *fmt, ...)
{
	va_list ap;
	char *s;
	size_t n;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	/* The reply ends at EOF, so any line is safe; only keep it lines. */
	n = strlen(s);
	while (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	evbuffer_add(r->text, s, n);
	evbuffer_add(r->text, "\n", 1);
	free(s);
}

/* The JSON writer, or NULL for a text reply. */
struct json *
ctl_reply_json(struct ctl_reply *r)
{
	return r->j;
}

/* The bytes of text so far. */
size_t
ctl_reply_size(const struct ctl_reply *r)
{
	return evbuffer_get_length(r->text);
}

/*
 * The body to send: the text, or the JSON object with what the handler
 * said as text as "error" (or "message" when it succeeded), then "ok".
 */
struct evbuffer *
ctl_reply_finish(struct ctl_reply *r, int rv)
{
	struct evbuffer *out = evbuffer_new();
	size_t n = evbuffer_get_length(r->text);
	char *t;

	if (r->j == NULL) {
		evbuffer_add_buffer(out, r->text);
		return out;
	}
	if (n > 0) {
		t = xmalloc(n + 1);
		evbuffer_remove(r->text, t, n);
		while (n > 0 && t[n - 1] == '\n')
			n--;
		t[n] = '\0';
		json_string(r->j, rv == 0 ? "message" : "error", t);
		free(t);
	}
	json_bool(r->j, "ok", rv == 0);
	json_object_end(r->j);
	evbuffer_add_printf(out, "%s\n", json_text(r->j, NULL));
	return out;
}

/* One error line, or {"ok":false,"error":...} for json. */
struct evbuffer *
ctl_reply_error(int json, const char *msg)
{
	struct evbuffer *out = evbuffer_new();
	struct json *j;

	if (!json) {
		evbuffer_add_printf(out, "%s\n", msg);
		return out;
	}
	j = json_new();
	json_object_begin(j, NULL);
	json_bool(j, "ok", 0);
	json_string(j, "error", msg);
	json_object_end(j);
	evbuffer_add_printf(out, "%s\n", json_text(j, NULL));
	json_free(j);
	return out;
}
