/*
 * xmalloc.h: allocation helpers that cannot fail (they abort on exhaustion),
 * and fatal() for errors before the event loop runs.
 */
#ifndef SE_XMALLOC_H
#define SE_XMALLOC_H

#include <stddef.h>
#include <stdarg.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t size);
/* Grow an array of n elements of size sz to at least want elements. */
void	*xreallocarray(void *p, size_t n, size_t sz);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* Formatted string in a new allocation; the caller frees it. */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char	*xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Print "sipedge: message" to stderr and exit 1; only before the loop runs. */
void	 fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
