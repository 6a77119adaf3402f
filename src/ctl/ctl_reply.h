/*
 * ctl_reply.h: the reply to one control request (ctl_proto.h), as the
 * command handlers build it: text lines, or for a request with the
 * "json" prefix one JSON object.  The server makes one per request and
 * turns it into the bytes sent; handlers only add to it (ctl_reply_add,
 * the JSON writer, or the tables of ctl_table.h).  It does no I/O.
 */
#ifndef SE_CTL_REPLY_H
#define SE_CTL_REPLY_H

#include <stddef.h>

#include <event2/buffer.h>

struct ctl_reply;
struct json;

/*
 * An empty reply; json non-zero for a JSON reply, whose object is open.
 * Cannot fail.
 */
struct ctl_reply	*ctl_reply_new(int json);
void			 ctl_reply_free(struct ctl_reply *r);

/*
 * Append text to a reply; a newline is added at the end, and text with
 * embedded newlines becomes several lines.
 */
void			 ctl_reply_add(struct ctl_reply *r, const char *fmt, ...)
			     __attribute__((format(printf, 2, 3)));
/*
 * The JSON writer of a request sent with the "json" prefix, with the
 * reply's object open: the handler adds its members and leaves it open.
 * NULL for a text request.  In a JSON reply, text added with
 * ctl_reply_add() becomes the member "error" (the handler failed) or
 * "message"; ctl_reply_finish() adds "ok" and closes the object.
 */
struct json		*ctl_reply_json(struct ctl_reply *r);
/*
 * The bytes of text added so far (not counting the JSON writer's): for a
 * handler that keeps its reply under CTL_REPLY_MAX.
 */
size_t			 ctl_reply_size(const struct ctl_reply *r);
/*
 * The body to send after the status line, for a handler that returned
 * rv (0 or -1): the text lines, or the JSON object closed as above and
 * ended by a newline.  Once only; the caller frees the buffer.
 */
struct evbuffer		*ctl_reply_finish(struct ctl_reply *r, int rv);
/*
 * The body of a refusal before any handler ran: msg as one line, or
 * {"ok":false,"error":msg} when json.  The caller frees the buffer.
 */
struct evbuffer		*ctl_reply_error(int json, const char *msg);

#endif
