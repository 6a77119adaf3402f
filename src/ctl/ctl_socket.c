/*
 * ctl_socket.c: the control socket's file: its directory, a stale socket
 * left by a daemon that died, and a listening unix socket created 0660
 * from the start.  Who may talk on it is ctl_server.c's business.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl_socket.h"
#include "util/file.h"
#include "util/log.h"
#include "util/xmalloc.h"

/*
 * path exists: replace it when it is a socket nobody listens on (left by
 * a daemon that died), refuse anything else.
 */
static int
clear_stale(const char *path, const struct sockaddr_un *sun, char **cause)
{
	struct stat st;
	int fd, rv;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		*cause = xasprintf("control socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*cause = xasprintf("control socket %s exists and is not a "
		    "socket; remove it or set daemon.control_socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		*cause = xasprintf("control socket: %s", strerror(errno));
		return -1;
	}
	rv = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	if (rv == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(fd);
		*cause = xasprintf("control socket %s is in use by another "
		    "process (another sipedged with the same "
		    "daemon.control_socket?)", path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		*cause = xasprintf("control socket %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT) {
		*cause = xasprintf("cannot remove the stale control socket %s: "
		    "%s", path, strerror(errno));
		return -1;
	}
	log_event(LOG_LVL_NOTICE, "ctl", "stale control socket removed", "path",
	    path, NULL);
	return 0;
}

/* Listen on a new unix socket at path (ctl_socket.h). */
int
ctl_socket_listen(const char *path, struct stat *st, char **cause)
{
	struct sockaddr_un sun;
	char *dir, *slash;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xasprintf("control socket %s: the path is longer than "
		    "%zu bytes", path, sizeof sun.sun_path - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (file_mkdir_p(dir, 0750, cause) == -1) {
			free(dir);
			return -1;
		}
	}
	free(dir);
	if (clear_stale(path, &sun, cause) == -1)
		return -1;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		*cause = xasprintf("control socket: %s", strerror(errno));
		return -1;
	}
	/* Created 0660 from the start: no moment where others may connect. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		umask(old);
		*cause = xasprintf("cannot create control socket %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, 0660) == -1 || listen(fd, 32) == -1 ||
	    lstat(path, st) == -1) {
		*cause = xasprintf("cannot set up control socket %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}
