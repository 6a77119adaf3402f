/*
 * ctl_server.c: the control socket on the event loop (protocol in
 * ctl_proto.h).  Every connection is a bufferevent with a read and write
 * timeout and a bounded input, so a slow, idle or hostile client costs one
 * small struct and never holds up the loop or another client.  Clients are
 * freed from a zero-delay event, never inside their own callbacks.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "ctl/ctl_proto.h"
#include "ctl/ctl_server.h"
#include "ctl/ctl_socket.h"
#include "ctl/ctl_table.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CTL_CLIENT_MAGIC	0xc71c11e7U
#define CTL_LINGER_MAX		(1024 * 1024)	/* bytes dropped after a reply */

struct ctl_client {
	unsigned int		 magic;
	struct ctl_server	*s;
	struct bufferevent	*bev;
	struct event		*free_ev;	/* deferred free */
	struct event		*timer;		/* request, then reply deadline */
	long			 uid;		/* peer credentials, -1 unknown */
	long			 gid;
	long			 pid;
	int			 replied;	/* the reply is queued: flushing */
	size_t			 discarded;	/* bytes read after the reply */
	struct ctl_client	*prev, *next;
};

struct ctl_server {
	struct event_base	*base;
	struct evconnlistener	*lev;
	char			*path;
	dev_t			 dev;		/* the socket file we made */
	ino_t			 ino;
	const struct ctl_command *cmds;
	void			*arg;
	gid_t			 gid;		/* whose members are served */
	char			*group;		/* its name, for messages */
	struct ctl_client	*clients;
	size_t			 nclients;
	int			 reserve_fd;	/* /dev/null: one client's slot
						   when descriptors run out */
	struct event		*pause_ev;	/* accepting again after that */
	int			 pause_ms;	/* the last pause, 0: none */
};

/* Reply status words, as client_reply() takes them. */
#define REPLY_OK	0
#define REPLY_ERROR	-1
#define REPLY_DENIED	-2

static int	help_cmd(const char *, struct ctl_reply *, void *);
static void	client_event_cb(struct bufferevent *, short, void *);

static const struct ctl_command help_entry = {
	"help", "", "list the commands", 0, help_cmd
};

/* --- help ----------------------------------------------------------- */

static const struct ctl_col help_cols[] = {
	{ "name",	CTL_STR, "",	NULL, NULL, 0,		0 },
	{ "args",	CTL_STR, " ",	NULL, NULL, CTL_OMIT,	0 },
	{ "help",	CTL_STR, " ",	NULL, NULL, 0,		16 },
};
static const struct ctl_table_def help_table = {
	"commands", CTL_ROWS, NULL, CTL_COLS(help_cols)
};

/* help: one line per command, "help" itself last. */
static int
help_cmd(const char *args, struct ctl_reply *r, void *arg)
{
	struct ctl_server *s = arg;
	const struct ctl_command *c;
	struct ctl_table t;

	ctl_table_begin(&t, r, &help_table);
	for (c = s->cmds; ; c++) {
		if (c->name == NULL)
			c = &help_entry;
		ctl_table_row(&t);
		ctl_table_str(&t, c->name);
		ctl_table_str(&t, c->args);
		ctl_table_str(&t, c->help);
		ctl_table_row_end(&t);
		if (c == &help_entry)
			break;
	}
	ctl_table_end(&t);
	return 0;
}

/* --- clients -------------------------------------------------------- */

static void client_drop(struct ctl_client *);
static void client_log(const struct ctl_client *, const char *, const char *,
    size_t, const char *);

/*
 * The deadline: CTL_TIMEOUT for the whole request line, then CTL_TIMEOUT
 * for the answer to be read and the client to close.  One timer for the
 * whole phase, so a client dripping a byte at a time cannot stretch it.
 */
static void
client_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_client *cl = arg;

	client_log(cl, "client dropped", NULL, 0, cl->replied ?
	    "did not read the reply and close in time" : "no request in time");
	client_drop(cl);
}

/* Free cl; the socket closes, so the client sees EOF. */
static void
client_destroy(struct ctl_client *cl)
{
	bufferevent_free(cl->bev);
	event_free(cl->free_ev);
	event_free(cl->timer);
	cl->magic = 0;
	free(cl);
}

/* The deferred free of a client: out of the list, then freed. */
static void
client_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_client *cl = arg;
	struct ctl_server *s = cl->s;

	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		s->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	s->nclients--;
	client_destroy(cl);
	if (s->reserve_fd < 0)		/* given to a client: take it back */
		s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Free cl on a later loop turn; nothing more is read or written. */
static void
client_drop(struct ctl_client *cl)
{
	bufferevent_disable(cl->bev, EV_READ | EV_WRITE);
	event_del(cl->timer);
	event_active(cl->free_ev, EV_TIMEOUT, 0);
}

/* Log a command or a dropped client at debug, with who sent it. */
static void
client_log(const struct ctl_client *cl, const char *event, const char *cmd,
    size_t cmdlen, const char *result)
{
	struct log_line l;

	log_begin(&l, LOG_LVL_DEBUG, "ctl", event);
	if (cmd != NULL)
		log_kvn(&l, "command", cmd, cmdlen > 200 ? 200 : cmdlen);
	if (result != NULL)
		log_kvs(&l, "result", result);
	if (cl->uid >= 0)
		log_kv(&l, "uid", "%ld", cl->uid);
	if (cl->gid >= 0)
		log_kv(&l, "gid", "%ld", cl->gid);
	if (cl->pid >= 0)
		log_kv(&l, "client_pid", "%ld", cl->pid);
	log_end(&l);
}

/* Lingering: throw away what the client still sends, up to a bound. */
static void
client_discard_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	cl->discarded += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (cl->discarded > CTL_LINGER_MAX)
		client_drop(cl);
}

/*
 * The reply is written: signal EOF but keep reading until the client
 * closes.  Closing with unread input (the rest of a line that was too
 * long) would reset the connection, and the client could lose the reply.
 */
static void
client_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_client *cl = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (shutdown(bufferevent_getfd(bev), SHUT_WR) == -1) {
		client_drop(cl);
		return;
	}
	bufferevent_disable(bev, EV_WRITE);
	client_discard_cb(bev, cl);
	bufferevent_setcb(bev, client_discard_cb, NULL, client_event_cb, cl);
	bufferevent_enable(bev, EV_READ);
}

/* Queue status + text and close once written (bounded by CTL_TIMEOUT). */
static void
client_reply(struct ctl_client *cl, int status, struct evbuffer *text)
{
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	struct timeval tv = { CTL_TIMEOUT, 0 };

	cl->replied = 1;
	evtimer_add(cl->timer, &tv);	/* a new deadline for the answer */
	bufferevent_disable(cl->bev, EV_READ);
	evbuffer_add_printf(out, "%s\n", status == REPLY_OK ? CTL_STATUS_OK :
	    status == REPLY_DENIED ? CTL_STATUS_DENIED : CTL_STATUS_ERROR);
	if (text != NULL)
		evbuffer_add_buffer(out, text);
	bufferevent_setcb(cl->bev, NULL, client_flushed_cb, client_event_cb,
	    cl);
	bufferevent_enable(cl->bev, EV_WRITE);
}

/* A reply of one error line, or {"ok":false,"error":...} for json. */
static void
client_error(struct ctl_client *cl, int json, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
client_error(struct ctl_client *cl, int json, const char *fmt, ...)
{
	struct evbuffer *text;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	text = ctl_reply_error(json, msg);
	free(msg);
	client_reply(cl, REPLY_ERROR, text);
	evbuffer_free(text);
}

/* The command word of line as printable text, for an error message. */
static void
printable(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t i, j = 0;

	for (i = 0; i < len && j + 1 < dstsz; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[j++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (i < len && j >= 3)
		memcpy(dst + j - 3, "...", 3);
	dst[j] = '\0';
}

/* The first word of line (len bytes) is *wlen long; the rest after it. */
static char *
first_word(char *line, size_t len, size_t *wlen)
{
	char *rest;

	for (*wlen = 0; *wlen < len && line[*wlen] != ' ' &&
	    line[*wlen] != '\t'; (*wlen)++)
		;
	rest = line + *wlen;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	return rest;
}

/* Run the request line (len bytes, no LF) of cl. */
static void
client_run(struct ctl_client *cl, char *line, size_t len)
{
	struct ctl_server *s = cl->s;
	const struct ctl_command *c = NULL, *k;
	struct ctl_reply *r;
	struct evbuffer *body;
	char shown[80], *args;
	size_t wlen, i;
	int rv, json = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	/* Trim spaces; the command is the first word. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	line += i;
	len -= i;
	args = first_word(line, len, &wlen);
	/* "json COMMAND ...": the same command, answered in JSON. */
	if (wlen == strlen(CTL_JSON_PREFIX) &&
	    memcmp(line, CTL_JSON_PREFIX, wlen) == 0) {
		json = 1;
		len -= (size_t)(args - line);
		line = args;
		args = first_word(line, len, &wlen);
	}

	if (wlen == 0) {
		client_log(cl, "command", "", 0, "error");
		client_error(cl, json, "empty request: send a command, e.g. "
		    "help");
		return;
	}
	if (wlen == strlen(help_entry.name) &&
	    memcmp(line, help_entry.name, wlen) == 0)
		c = &help_entry;
	for (k = s->cmds; c == NULL && k->name != NULL; k++)
		if (wlen == strlen(k->name) && memcmp(line, k->name, wlen) == 0)
			c = k;
	if (c == NULL || memchr(line, '\0', len) != NULL) {
		client_log(cl, "command", line, wlen, "unknown");
		printable(shown, sizeof shown, line, wlen);
		client_error(cl, json, "unknown command '%s': send help for the "
		    "list", shown);
		return;
	}
	if (!c->takes_args && *args != '\0') {
		client_log(cl, "command", line, len, "error");
		client_error(cl, json, "%s takes no arguments", c->name);
		return;
	}
	r = ctl_reply_new(json);
	rv = c->fn(args, r, c == &help_entry ? (void *)s : s->arg);
	client_log(cl, "command", line, len, rv == 0 ? "ok" : "error");
	body = ctl_reply_finish(r, rv);
	client_reply(cl, rv == 0 ? REPLY_OK : REPLY_ERROR, body);
	evbuffer_free(body);
	ctl_reply_free(r);
}

/* Take the request line out of the input, if it is complete. */
static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr eol;
	size_t len = evbuffer_get_length(in);
	char *line;

	if (cl->replied)
		return;
	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos < 0 || (size_t)eol.pos >= CTL_LINE_MAX) {
		if (len >= CTL_LINE_MAX || eol.pos >= 0) {
			client_log(cl, "command refused", NULL, 0,
			    "line too long");
			client_error(cl, 0, "request line longer than %d "
			    "bytes", CTL_LINE_MAX);
		}
		return;
	}
	line = xmalloc((size_t)eol.pos + 1);
	evbuffer_remove(in, line, (size_t)eol.pos);
	client_run(cl, line, (size_t)eol.pos);
	free(line);
}

/* EOF, error or timeout. */
static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	char *line;

	if (cl->magic != CTL_CLIENT_MAGIC)
		return;
	if (!cl->replied && (what & BEV_EVENT_EOF) && len > 0 &&
	    len < CTL_LINE_MAX) {
		/* Half-closed after a line without LF: that is the request. */
		line = xmalloc(len + 1);
		evbuffer_remove(in, line, len);
		client_run(cl, line, len);
		free(line);
		return;
	}
	if (!cl->replied)
		client_log(cl, "client dropped", NULL, 0, (what & BEV_EVENT_EOF) ?
		    "closed before a request" : "connection error");
	client_drop(cl);
}

/* Is the peer of fd, whose primary group is pgid, a member of gid? */
static int
peer_in_group(int fd, gid_t pgid, gid_t gid)
{
#ifdef SO_PEERGROUPS
	gid_t fixed[64], *v = fixed;
	socklen_t len = sizeof fixed;
	size_t i, n;
	int in = 0;

	if (pgid == gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, v, &len) == -1) {
		if (errno != ERANGE)
			return 0;
		v = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, v, &len) == -1) {
			free(v);
			return 0;
		}
	}
	n = len / sizeof *v;
	for (i = 0; i < n && !in; i++)
		in = v[i] == gid;
	if (v != fixed)
		free(v);
	return in;
#else
	/* Without the supplementary groups, only the primary one counts. */
	return pgid == gid;
#endif
}

/*
 * Served: root, the daemon's own user, and members of its control group.
 * The socket's mode says the same, but the check here also holds when
 * someone loosens the mode or the directory by hand.
 */
static int
peer_permitted(const struct ctl_server *s, int fd, int have, const struct
    ucred *uc)
{
	if (!have)
		return 0;
	if (uc->uid == 0 || uc->uid == geteuid())
		return 1;
	return peer_in_group(fd, uc->gid, s->gid);
}

/* Refuse cl with the reason and a log line (CTL_STATUS_DENIED). */
static void
client_deny(struct ctl_client *cl)
{
	struct ctl_server *s = cl->s;
	struct evbuffer *text = evbuffer_new();
	struct log_line l;

	log_begin(&l, LOG_LVL_WARN, "ctl", "client refused");
	log_kvs(&l, "reason", "not permitted");
	log_kv(&l, "uid", "%ld", cl->uid);
	log_kv(&l, "gid", "%ld", cl->gid);
	log_kv(&l, "client_pid", "%ld", cl->pid);
	log_kvs(&l, "group", s->group);
	log_end(&l);
	if (cl->uid < 0)
		evbuffer_add_printf(text, "permission denied: sipedged cannot "
		    "tell who you are\n");
	else
		evbuffer_add_printf(text, "permission denied: uid %ld is not "
		    "root, sipedged's user (uid %ld) or a member of group %s\n",
		    cl->uid, (long)geteuid(), s->group);
	client_reply(cl, REPLY_DENIED, text);
	evbuffer_free(text);
}

/* A new control connection: served, refused as busy, or denied. */
static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	static const char busy[] = CTL_STATUS_ERROR "\n"
	    "too many control connections; try again\n";
	struct ctl_server *s = arg;
	struct ctl_client *cl;
	struct timeval tv = { CTL_TIMEOUT, 0 };
	struct ucred uc = { 0, 0, 0 };
	socklen_t ul = sizeof uc;
	char scratch[CTL_LINE_MAX];
	ssize_t n;
	int have = 0;

	s->pause_ms = 0;
	if (s->nclients >= CTL_MAX_CLIENTS) {
		n = send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		/* Best effort: read what was sent already, so that the close
		 * is less likely to reset the connection before the client
		 * has read the answer. */
		n = recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
		(void)n;
		close(fd);
		log_event(LOG_LVL_WARN, "ctl", "client refused", "reason",
		    "too many control connections", NULL);
		return;
	}
	cl = xcalloc(1, sizeof *cl);
	cl->magic = CTL_CLIENT_MAGIC;
	cl->s = s;
	cl->uid = cl->gid = cl->pid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
		have = 1;
		cl->uid = (long)uc.uid;
		cl->gid = (long)uc.gid;
		cl->pid = (long)uc.pid;
	}
	cl->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	cl->free_ev = event_new(s->base, -1, 0, client_free_cb, cl);
	cl->timer = evtimer_new(s->base, client_timeout_cb, cl);
	evtimer_add(cl->timer, &tv);
	/* Read no more than one line can hold: a flood waits in the kernel. */
	bufferevent_setwatermark(cl->bev, EV_READ, 0, CTL_LINE_MAX);
	bufferevent_setcb(cl->bev, client_read_cb, NULL, client_event_cb, cl);
	bufferevent_enable(cl->bev, EV_READ);
	cl->next = s->clients;
	if (s->clients != NULL)
		s->clients->prev = cl;
	s->clients = cl;
	s->nclients++;
	if (!peer_permitted(s, fd, have, &uc))
		client_deny(cl);
}

/* A pause after running out of descriptors is over: accept again. */
static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_server *s = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(s->lev);
}

/*
 * accept() failed.  Out of descriptors (EMFILE...), the listening socket
 * stays readable: rather than spin on it, give the reserve descriptor to
 * the waiting operator (served as usual; the reserve comes back when that
 * client goes), or without one pause accepting for 100 ms doubling to 1 s.
 * Logged once per shortage, not per attempt.
 */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct ctl_server *s = arg;
	int err = EVUTIL_SOCKET_ERROR(), fd;
	struct timeval tv;

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_event(LOG_LVL_ERROR, "ctl", "accept failed", "path",
		    s->path, "reason", evutil_socket_error_to_string(err),
		    NULL);
		return;
	}
	if (s->reserve_fd >= 0) {
		close(s->reserve_fd);
		s->reserve_fd = -1;
		fd = accept4(evconnlistener_get_fd(lev), NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			accept_cb(lev, fd, NULL, 0, s);
			return;
		}
		s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (s->pause_ms == 0)
		log_event(LOG_LVL_ERROR, "ctl", "accept failed", "path",
		    s->path, "reason", evutil_socket_error_to_string(err),
		    NULL);
	s->pause_ms = s->pause_ms == 0 ? 100 :
	    s->pause_ms * 2 > 1000 ? 1000 : s->pause_ms * 2;
	tv.tv_sec = s->pause_ms / 1000;
	tv.tv_usec = (s->pause_ms % 1000) * 1000;
	evconnlistener_disable(lev);
	evtimer_add(s->pause_ev, &tv);
}

/* --- the socket ----------------------------------------------------- */

/* The name of group gid, or its number. */
static char *
group_name(gid_t gid)
{
	struct group *gr = getgrgid(gid);

	return gr != NULL ? xstrdup(gr->gr_name) : xasprintf("%ld", (long)gid);
}

/* Serve the members of another group (ctl_server.h). */
int
ctl_server_set_group(struct ctl_server *s, long gid, const char *name,
    char **cause)
{
	gid_t g = gid >= 0 ? (gid_t)gid : getegid();

	if (chown(s->path, (uid_t)-1, g) == -1) {
		*cause = xasprintf("cannot give control socket %s to group "
		    "%s: %s", s->path, name != NULL ? name : "(own)",
		    strerror(errno));
		return -1;
	}
	s->gid = g;
	free(s->group);
	s->group = name != NULL ? xstrdup(name) : group_name(g);
	return 0;
}

/* Open the control socket and serve it (ctl_server.h). */
struct ctl_server *
ctl_server_open(struct event_base *base, const char *path, long gid,
    const char *group, const struct ctl_command *cmds, void *arg,
    char **cause)
{
	struct ctl_server *s;
	struct stat st;
	int fd;

	if ((fd = ctl_socket_listen(path, &st, cause)) == -1)
		return NULL;
	s = xcalloc(1, sizeof *s);
	s->base = base;
	s->path = xstrdup(path);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->cmds = cmds;
	s->arg = arg;
	/* The group before the first accept: no moment with the wrong one. */
	if (ctl_server_set_group(s, gid, group, cause) == -1) {
		close(fd);
		unlink(path);
		free(s->path);
		free(s);
		return NULL;
	}
	s->lev = evconnlistener_new(base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (s->lev == NULL) {
		*cause = xasprintf("cannot listen on control socket %s", path);
		close(fd);
		unlink(path);
		free(s->group);
		free(s->path);
		free(s);
		return NULL;
	}
	evconnlistener_set_error_cb(s->lev, accept_error_cb);
	s->pause_ev = evtimer_new(base, accept_resume_cb, s);
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	log_event(LOG_LVL_INFO, "ctl", "control socket open", "path", path,
	    "group", s->group, NULL);
	return s;
}

/* Close the control socket and drop its clients (ctl_server.h). */
void
ctl_server_free(struct ctl_server *s)
{
	struct ctl_client *cl, *next;
	struct stat st;

	if (s == NULL)
		return;
	evconnlistener_free(s->lev);
	event_free(s->pause_ev);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	for (cl = s->clients; cl != NULL; cl = next) {
		next = cl->next;
		client_destroy(cl);
	}
	/* Leave a socket alone that someone else has put there since. */
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino) {
		if (unlink(s->path) == -1)
			log_event(LOG_LVL_WARN, "ctl", "control socket not "
			    "removed", "path", s->path, "reason",
			    strerror(errno), NULL);
		else
			log_event(LOG_LVL_INFO, "ctl", "control socket closed",
			    "path", s->path, NULL);
	}
	free(s->group);
	free(s->path);
	free(s);
}
