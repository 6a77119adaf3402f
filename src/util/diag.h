/*
 * diag.h: a list of diagnostics (errors and warnings) collected while a
 * configuration or a certificate set is checked.  Each carries the place it
 * refers to ("file:line") so a person can fix it; nothing here logs.
 */
#ifndef SE_DIAG_H
#define SE_DIAG_H

#include <stddef.h>

enum diag_sev {
	DIAG_WARN,		/* loaded anyway; worth fixing */
	DIAG_ERROR		/* the configuration is refused */
};

struct diag {
	enum diag_sev	 sev;
	char		*text;	/* "file:line: message"; warnings "file:line: warning: ..." */
};

struct diaglist {
	struct diag	*v;
	size_t		 n;
	size_t		 nerrors;
};

/* Add a diagnostic at file:line (line <= 0: file only; file NULL: bare). */
void	diag_add(struct diaglist *dl, enum diag_sev sev, const char *file,
	    int line, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* Move every entry of src to the end of dst; src is left empty. */
void	diag_move(struct diaglist *dst, struct diaglist *src);
void	diag_clear(struct diaglist *dl);

#endif
