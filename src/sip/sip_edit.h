/*
 * sip_edit.h: edit the text of a SIP message without re-serialising it.
 * A proxy forwards what it received with a few lines changed (RFC 3261
 * s.16.6): the request line, Via, Route, Record-Route, Max-Forwards.
 * Every other byte, header name case, spacing, order, unknown headers and
 * the body, passes as it came.  The head is split into header lines
 * (a folded line is one with its continuation lines); names are matched
 * without case and with their compact forms (v = Via, i = Call-ID, ...).
 * Pure: no I/O; the body is never looked at, so Content-Length stays true.
 */
#ifndef SE_SIP_EDIT_H
#define SE_SIP_EDIT_H

#include <stddef.h>

struct sip_edit;

/*
 * Split msg (len bytes: start line, headers, empty line, body) for
 * editing.  msg is not copied: it must outlive the editor.  NULL when
 * the text has no start line or no empty line ending the headers, or a
 * continuation line comes before any header.
 */
struct sip_edit	*sip_edit_new(const char *msg, size_t len);
/* NULL is fine. */
void		 sip_edit_free(struct sip_edit *e);

/* Replace the start line (line without its CRLF). */
void		 sip_edit_start_line(struct sip_edit *e, const char *line);
/*
 * Insert a header line (without CRLF) before the first line of header
 * before, or at the top of the header block when before is NULL or no
 * such header is there.
 */
void		 sip_edit_insert(struct sip_edit *e, const char *before,
		    const char *line);
/* Add a header line (without CRLF) at the end of the header block. */
void		 sip_edit_append(struct sip_edit *e, const char *line);
/* Delete every line of header name; returns how many there were. */
size_t		 sip_edit_delete(struct sip_edit *e, const char *name);
/*
 * Replace every line of header name by the n lines given (without CRLF),
 * where its first line was, or at the top when there was none.
 */
void		 sip_edit_replace(struct sip_edit *e, const char *name,
		    const char *const *lines, size_t n);
/* How many lines of header name there are. */
size_t		 sip_edit_count(const struct sip_edit *e, const char *name);
/*
 * The first value of header name (up to the first comma outside quoted
 * strings and <...>, without surrounding white space) and its length;
 * NULL when there is no such header.  Valid until the next edit.
 */
const char	*sip_edit_first_value(const struct sip_edit *e,
		    const char *name, size_t *lenp);
/*
 * Remove the first value of header name (its whole line when that is its
 * only value): 0, or -1 when there is no such header.
 */
int		 sip_edit_remove_first(struct sip_edit *e, const char *name);
/* The same for the last value of the last line of header name. */
int		 sip_edit_remove_last(struct sip_edit *e, const char *name);
/* Replace the first value of header name: 0, or -1 when there is none. */
int		 sip_edit_replace_first(struct sip_edit *e, const char *name,
		    const char *value, size_t len);
/* Bytes after the empty line that ends the headers. */
size_t		 sip_edit_body_len(const struct sip_edit *e);
/*
 * The edited message in one malloc'd buffer (NUL-terminated; *lenp
 * without the NUL).
 */
char		*sip_edit_output(const struct sip_edit *e, size_t *lenp);

#endif
