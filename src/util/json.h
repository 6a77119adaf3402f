/*
 * json.h: a small JSON writer for the answers of the control socket and
 * of sipedge-ctl.  It builds one value in memory, object members and
 * array elements in the order they are added, and escapes every string:
 * '"', '\' and control characters are escaped, valid UTF-8 passes as it
 * is, and a byte that is not valid UTF-8 becomes U+FFFD, so whatever a
 * peer sent (certificate subjects, reasons) still gives valid JSON.  It
 * never reads JSON.
 */
#ifndef SE_JSON_H
#define SE_JSON_H

#include <stddef.h>

#define JSON_DEPTH_MAX	16	/* nested objects and arrays */

struct json;

/* An empty writer; add one value (usually an object).  Cannot fail. */
struct json	*json_new(void);
void		 json_free(struct json *j);

/*
 * Each function adds one value.  Inside an object key names the member;
 * inside an array (or for the top value) key must be NULL.  Nesting
 * deeper than JSON_DEPTH_MAX, a key where none belongs or a missing one,
 * and an end that does not match its begin are programming errors: they
 * abort.
 */
void		 json_object_begin(struct json *j, const char *key);
void		 json_object_end(struct json *j);
void		 json_array_begin(struct json *j, const char *key);
void		 json_array_end(struct json *j);
/* A string; NULL gives null. */
void		 json_string(struct json *j, const char *key, const char *s);
/* A string of len bytes that may hold NULs or bytes that are not UTF-8. */
void		 json_stringn(struct json *j, const char *key, const void *s,
		    size_t len);
void		 json_int(struct json *j, const char *key, long long v);
void		 json_uint(struct json *j, const char *key, unsigned long long v);
/* A number with decimals digits after the point; NaN and infinity: null. */
void		 json_double(struct json *j, const char *key, double v,
		    int decimals);
void		 json_bool(struct json *j, const char *key, int v);
void		 json_null(struct json *j, const char *key);
/* Only inside an object: the number of members added so far. */
size_t		 json_members(const struct json *j);

/*
 * The text written so far (NUL-terminated, no newline), valid JSON once
 * every begin has its end.  Owned by j.
 */
const char	*json_text(const struct json *j, size_t *len);
/* 1 when the top value is complete. */
int		 json_is_complete(const struct json *j);

/*
 * Append s (len bytes) as the body of a JSON string, without the quotes,
 * to the NUL-terminated buffer *buf of *cap bytes holding *used: for
 * callers that write JSON by other means.  Grows *buf with xrealloc.
 */
void		 json_escape(char **buf, size_t *used, size_t *cap,
		    const void *s, size_t len);

#endif
