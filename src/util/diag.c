/*
 * diag.c: collected diagnostics with their source location.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>

#include "util/diag.h"
#include "util/xmalloc.h"

void
diag_add(struct diaglist *dl, enum diag_sev sev, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	const char *w;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);

	dl->v = xreallocarray(dl->v, dl->n + 1, sizeof *dl->v);
	dl->v[dl->n].sev = sev;
	w = sev == DIAG_WARN ? "warning: " : "";
	if (file != NULL && line > 0)
		dl->v[dl->n].text = xasprintf("%s:%d: %s%s", file, line, w, msg);
	else if (file != NULL)
		dl->v[dl->n].text = xasprintf("%s: %s%s", file, w, msg);
	else
		dl->v[dl->n].text = xasprintf("%s%s", w, msg);
	free(msg);
	dl->n++;
	if (sev == DIAG_ERROR)
		dl->nerrors++;
}

void
diag_move(struct diaglist *dst, struct diaglist *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		dst->v = xreallocarray(dst->v, dst->n + 1, sizeof *dst->v);
		dst->v[dst->n++] = src->v[i];
		if (src->v[i].sev == DIAG_ERROR)
			dst->nerrors++;
	}
	free(src->v);
	src->v = NULL;
	src->n = src->nerrors = 0;
}

void
diag_clear(struct diaglist *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		free(dl->v[i].text);
	free(dl->v);
	dl->v = NULL;
	dl->n = dl->nerrors = 0;
}
