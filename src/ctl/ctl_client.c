/*
 * ctl_client.c: one request to the daemon's control socket (ctl_proto.h).
 * Used by tools, which may block: every step (connect, send, read until
 * the daemon closes) shares one deadline, so a stuck daemon costs the
 * caller timeout_ms at most.  Never used inside the daemon.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_client.h"
#include "ctl/ctl_proto.h"
#include "util/xmalloc.h"

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline, at least 0. */
static int
left_ms(long long deadline)
{
	long long n = deadline - now_ms();

	return n > 0 ? (int)n : 0;
}

/* Wait until fd is ready for events: 1, or 0 at the deadline. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	int n;

	do {
		n = poll(&pfd, 1, left_ms(deadline));
	} while (n == -1 && errno == EINTR);
	return n != 0;	/* an error shows in the send or recv that follows */
}

/* -1 with *cause and errno = err. */
static int
fail(int fd, int err, char **cause, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(int fd, int err, char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
	if (fd != -1)
		close(fd);
	errno = err;
	return -1;
}

/*
 * The hint for a permission denied on path: the group the socket belongs
 * to, when it can be seen.  Caller frees.
 */
static char *
group_hint(const char *path)
{
	struct stat st;
	struct group *gr;

	if (stat(path, &st) == -1)
		return xstrdup("are you root, sipedged's user or in its "
		    "daemon.control_group?");
	if ((gr = getgrgid(st.st_gid)) != NULL)
		return xasprintf("are you in group %s?", gr->gr_name);
	return xasprintf("are you in group %ld?", (long)st.st_gid);
}

/* Connect fd to sun, waiting at most until deadline (a full backlog). */
static int
connect_by(int fd, const struct sockaddr_un *sun, long long deadline)
{
	int ms = left_ms(deadline);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms == 0)
		tv.tv_usec = 1000;
	/* A unix connect waits for backlog room up to SO_SNDTIMEO. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
		return -1;
	return connect(fd, (const struct sockaddr *)sun, sizeof *sun);
}

/* The -1 of a failed connect to path, with the sentence for err. */
static int
connect_failed(int fd, int err, const char *path, int timeout_ms,
    char **cause)
{
	char *hint;
	int rv;

	switch (err) {
	case ENOENT:
		return fail(fd, err, cause, "sipedged is not running (no socket "
		    "at %s)", path);
	case ECONNREFUSED:
		return fail(fd, err, cause, "sipedged is not running "
		    "(connection refused on %s: the socket is left, but nothing "
		    "listens)", path);
	case EACCES:
	case EPERM:
		hint = group_hint(path);
		rv = fail(fd, err, cause, "permission denied on %s (%s)", path,
		    hint);
		free(hint);
		return rv;
	case EAGAIN:
	case EINPROGRESS:
	case ETIMEDOUT:
		return fail(fd, ETIMEDOUT, cause, "cannot reach sipedged at %s: "
		    "timed out after %d ms (is it overloaded or stuck?)", path,
		    timeout_ms);
	default:
		return fail(fd, err, cause, "cannot reach sipedged at %s: %s",
		    path, strerror(err));
	}
}

/* The address of the socket at path; 0, or -1 with *cause (too long). */
static int
address_of(const char *path, struct sockaddr_un *sun, char **cause)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path)
		return fail(-1, ENAMETOOLONG, cause, "cannot reach sipedged at "
		    "%s: the path is longer than %zu bytes", path,
		    sizeof sun->sun_path - 1);
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* A non-blocking socket connected to sun (path), or -1 with *cause. */
static int
open_socket(const struct sockaddr_un *sun, const char *path,
    long long deadline, int timeout_ms, char **cause)
{
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return fail(-1, errno, cause, "cannot reach sipedged at %s: %s",
		    path, strerror(errno));
	if (connect_by(fd, sun, deadline) == -1)
		return connect_failed(fd, errno, path, timeout_ms, cause);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		return fail(fd, errno, cause, "cannot reach sipedged at %s: %s",
		    path, strerror(errno));
	return fd;
}

/*
 * Send the request line; a daemon that answers early (or closes: EPIPE) is
 * read anyway.  0, or -1 with *cause (fd closed) at the deadline.
 */
static int
send_line(int fd, const char *command, const char *path, long long deadline,
    int timeout_ms, char **cause)
{
	char *line = xasprintf("%s\n", command);
	size_t len = strlen(line), off = 0;
	ssize_t n;

	while (off < len) {
		if (!wait_fd(fd, POLLOUT, deadline)) {
			free(line);
			return fail(fd, ETIMEDOUT, cause, "sipedged at %s did "
			    "not take the request within %d ms", path,
			    timeout_ms);
		}
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			break;		/* EPIPE: read what it said */
		off += (size_t)n;
	}
	free(line);
	return 0;
}

/*
 * Read until the daemon closes; the whole answer (terminated) in *bufp
 * and its length, or -1 with *cause (fd closed either way).
 */
static int
read_all(int fd, const char *path, long long deadline, int timeout_ms,
    char **bufp, char **cause)
{
	char *buf = NULL;
	size_t have = 0, cap = 0;
	ssize_t n;
	int err;

	for (;;) {
		if (cap - have < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		if (!wait_fd(fd, POLLIN, deadline)) {
			free(buf);
			return fail(fd, ETIMEDOUT, cause, "sipedged at %s did "
			    "not answer within %d ms", path, timeout_ms);
		}
		n = recv(fd, buf + have, cap - have - 1, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno == ECONNRESET && have > 0)
			break;
		if (n < 0) {
			err = errno;
			free(buf);
			return fail(fd, err, cause, "reading the answer of "
			    "sipedged at %s: %s", path, strerror(err));
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > CTL_REPLY_MAX) {
			free(buf);
			return fail(fd, EMSGSIZE, cause, "the answer of sipedged "
			    "at %s is larger than %d bytes", path, CTL_REPLY_MAX);
		}
	}
	close(fd);
	buf[have] = '\0';
	*bufp = buf;
	if (have == 0)
		return fail(-1, EPROTO, cause, "sipedged at %s closed the "
		    "connection without an answer", path);
	return 0;
}

/*
 * The status line of an answer (buf, modified): 0 ok, 1 error, with the
 * lines after it in *reply; or -1 with *cause (denied, not the protocol).
 */
static int
parse_answer(char *buf, const char *path, char **reply, char **cause)
{
	char *eol, *why;
	size_t wl;

	if ((eol = strchr(buf, '\n')) != NULL)
		*eol = '\0';
	if (strcmp(buf, CTL_STATUS_DENIED) == 0) {
		why = eol != NULL ? eol + 1 : buf;
		wl = strlen(why);
		while (wl > 0 && why[wl - 1] == '\n')
			why[--wl] = '\0';
		return fail(-1, EACCES, cause, "permission denied on %s: "
		    "sipedged refused to serve you (%s)", path,
		    wl == 0 ? "it gave no reason" : why);
	}
	if (strcmp(buf, CTL_STATUS_OK) != 0 &&
	    strcmp(buf, CTL_STATUS_ERROR) != 0)
		return fail(-1, EPROTO, cause, "sipedged at %s answered "
		    "something that is not of the control protocol", path);
	*reply = xstrdup(eol != NULL ? eol + 1 : "");
	return strcmp(buf, CTL_STATUS_OK) == 0 ? 0 : 1;
}

int
ctl_request(const char *socket_path, const char *command, int timeout_ms,
    char **reply, char **cause)
{
	long long deadline = now_ms() + timeout_ms;
	struct sockaddr_un sun;
	char *buf = NULL;
	int fd, status;

	*reply = NULL;
	*cause = NULL;
	if (address_of(socket_path, &sun, cause) == -1)
		return -1;
	if (strchr(command, '\n') != NULL ||
	    strlen(command) + 1 > CTL_LINE_MAX)
		return fail(-1, EINVAL, cause, "the command for sipedged must be "
		    "one line of at most %d bytes", CTL_LINE_MAX - 1);
	if ((fd = open_socket(&sun, socket_path, deadline, timeout_ms,
	    cause)) == -1 ||
	    send_line(fd, command, socket_path, deadline, timeout_ms,
	    cause) == -1 ||
	    read_all(fd, socket_path, deadline, timeout_ms, &buf, cause) == -1) {
		free(buf);
		return -1;
	}
	status = parse_answer(buf, socket_path, reply, cause);
	free(buf);
	return status;
}
