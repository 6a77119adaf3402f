/*
 * file.c: atomic writes and directory creation.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/xmalloc.h"

int
file_mkdir_p(const char *dir, mode_t mode, char **cause)
{
	char *p = xstrdup(dir), *s;
	int rv = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			/* Parents get the usual 0755; only dir itself gets mode. */
			if (mkdir(p, c == '\0' ? mode : 0755) == -1 &&
			    errno != EEXIST) {
				*cause = xasprintf("cannot create directory %s: %s",
				    p, strerror(errno));
				rv = -1;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return rv;
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    char **cause)
{
	char *tmp = xasprintf("%s.tmpXXXXXX", path);
	const char *p = data;
	ssize_t n;
	int fd;

	if ((fd = mkstemp(tmp)) == -1) {
		*cause = xasprintf("cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	return 0;
fail:
	*cause = xasprintf("cannot write %s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}
