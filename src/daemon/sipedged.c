/*
 * sipedged.c: the daemon: options, -t, pid file, signals, the event loop.
 * Reload is in reload.c, the control socket commands in ctl_cmd.c and
 * ctl_peers.c; the state they share in sipedged.h.
 * Signals arrive as loop events; handlers only start work on the loop.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "daemon/sipedged.h"
#include "util/alarm.h"
#include "util/file.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct daemon d;

/* The usage text, to f. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: sipedged [-c FILE] [-f] [-t] [-V] [-h]\n"
	    "  -c FILE  main configuration file (default %s)\n"
	    "  -f       stay in the foreground\n"
	    "  -t       check the configuration and exit\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n", SE_CONFFILE);
}

/*
 * The log events that unauthenticated input can trigger at will, rate
 * limited per kind (log.h): whoever floods the edge with garbage,
 * handshakes or refused certificates writes a bounded number of lines a
 * second.  The counts stay true (sipedge-ctl status).  A level limits
 * that kind from that level up only (an ordinary "connection closed" is
 * info and not limited; one that closes on bad input is warn).
 */
static const struct {
	const char	*module;
	const char	*event;
	enum log_level	 min_level;
} limited_events[] = {
	{ "sip", "bad message", LOG_LVL_DEBUG },
	{ "sip", "connection closed", LOG_LVL_WARN },
	{ "sip", "send failed", LOG_LVL_DEBUG },
	{ "sip", "connections refused", LOG_LVL_DEBUG },
	{ "net", "accept failed", LOG_LVL_DEBUG },
	{ "net", "libevent", LOG_LVL_DEBUG },
	{ "net", "connections refused", LOG_LVL_DEBUG },
	{ "tls", "handshake failed", LOG_LVL_DEBUG },
	{ "tls", "handshake timeout", LOG_LVL_DEBUG },
	{ "tls", "peer refused", LOG_LVL_DEBUG },
	{ "tls", "connections refused", LOG_LVL_DEBUG },
	{ "proxy", "request refused", LOG_LVL_DEBUG },
	{ NULL, NULL, LOG_LVL_DEBUG }
};

/* Register the limited event kinds (once, at start). */
static void
register_limited_events(void)
{
	size_t i;

	for (i = 0; limited_events[i].module != NULL; i++)
		log_limit_register(limited_events[i].module,
		    limited_events[i].event, limited_events[i].min_level);
}

/* For the heap trimmer: connections opened and closed so far. */
static void
conn_counts(void *arg, struct heap_counts *out)
{
	(void)arg;
	out->opened = out->closed = 0;
	if (d.transport != NULL) {
		out->closed = sip_transport_closed(d.transport);
		out->opened = out->closed + sip_transport_nconns(d.transport);
	}
}

/* Each second: the summaries of rate-limited kinds whose interval ended. */
static void
logflush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush_suppressed();
}

/* LOG_DELAY_MS after a line went into the empty batch: write it all. */
static void
logwrite_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush();
}

/*
 * A line went into the empty log batch: write the batch LOG_DELAY_MS
 * later, with whatever lines came meanwhile.  Under load that is one
 * write(2) for many messages' lines instead of one a loop turn (at 500
 * calls a second, about two a call: 3% of the daemon's CPU); an error line
 * and everything before it are written at once (util/log.c), and so is
 * the batch at exit and before the log file changes.
 */
#define LOG_DELAY_MS	10

static void
logwrite_kick(void *arg)
{
	struct timeval tv = { 0, LOG_DELAY_MS * 1000 };

	if (!evtimer_pending(arg, NULL))
		evtimer_add(arg, &tv);
}

/* The transport has closed every connection: leave the loop. */
static void
stopped_cb(void *arg)
{
	event_base_loopexit(d.base, NULL);
}

/* shutdown_grace is over: leave the loop with what is left open. */
static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	char n[16];

	snprintf(n, sizeof n, "%zu", sip_transport_nconns(d.transport));
	log_event(LOG_LVL_WARN, "daemon", "grace time over", "connections", n,
	    "reason", "closing what is left", NULL);
	event_base_loopexit(d.base, NULL);
}

/* Stop on signal sig: no more commands or zones, connections close. */
static void
stop(const char *sig)
{
	struct timeval tv = { d.current->conf->shutdown_grace, 0 };

	if (d.stopping)
		return;
	d.stopping = 1;
	log_event(LOG_LVL_NOTICE, "daemon", "stopping", "signal", sig, NULL);
	alarm_reset();		/* what goes away now is not an incident */
	/* No more commands: a reload now would reopen what is closing. */
	ctl_server_free(d.ctl);
	d.ctl = NULL;
	/* Zone connections close with the rest, without reconnecting; the
	 * proxy forwards nothing more. */
	proxy_attach(d.proxy, d.transport, NULL, NULL);
	gate_on_refused(d.gate, NULL, NULL);
	trav_free(d.trav);
	d.trav = NULL;
	zones_free(d.zones);
	d.zones = NULL;
	rev_dp_free(d.dp);
	d.dp = NULL;
	/* The transport closes the sockets. */
	reload_free_slots(d.slots, d.nslots);
	d.slots = NULL;
	d.nslots = 0;
	d.grace_timer = evtimer_new(d.base, grace_cb, NULL);
	evtimer_add(d.grace_timer, &tv);
	sip_transport_shutdown(d.transport, stopped_cb, NULL);
}

/* HUP: reload; TERM, INT: stop; USR1: reopen the log file. */
static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	char *cause = NULL;

	switch (sig) {
	case SIGHUP:
		if (!d.stopping) {
			struct diaglist dl = { 0 };

			reload_config("SIGHUP", &dl);
			diag_clear(&dl);
		}
		break;
	case SIGTERM:
		stop("TERM");
		break;
	case SIGINT:
		stop("INT");
		break;
	case SIGUSR1:
		switch (log_reopen(&cause)) {
		case -1:
			log_event(LOG_LVL_ERROR, "daemon", "log reopen failed",
			    "reason", cause, NULL);
			free(cause);
			break;
		case 1:
			log_event(LOG_LVL_INFO, "daemon", "log reopened", NULL);
			break;
		}
		break;
	}
}

/* Refuse to start when the pid file names a live process. */
static int
pid_file_check(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) == 0) {
		fprintf(stderr, "sipedged: already running as pid %ld (%s)\n",
		    pid, path);
		return -1;
	}
	return 0;
}

/* Write our pid to path (its directory made if needed); -1 on stderr. */
static int
pid_file_write(const char *path)
{
	char *dir = xstrdup(path), *slash, *cause = NULL, buf[32];

	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (file_mkdir_p(dir, 0755, &cause) == -1) {
			fprintf(stderr, "sipedged: pid file: %s\n", cause);
			free(cause);
			free(dir);
			return -1;
		}
	}
	free(dir);
	snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (file_write_atomic(path, buf, strlen(buf), 0644, &cause) == -1) {
		fprintf(stderr, "sipedged: pid file: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Detach from the terminal: the listeners are bound already, so a start
 * that fails has failed in the foreground; the parents exit at once. */
static void
daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		fatal("setsid: %s", strerror(errno));
	if ((pid = fork()) == -1)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	/* Every path in the snapshot is absolute already. */
	if (chdir("/") == -1)
		fatal("chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/*
 * Raise the soft limit on open files to the hard one (each connection is
 * a descriptor) and log what we got, in one line.  A hard limit of
 * "unlimited" is capped by the kernel's fs.nr_open.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;
	unsigned long long was, n = 0;
	struct log_line l;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	was = (unsigned long long)rl.rlim_cur;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
		    (f = fopen("/proc/sys/fs/nr_open", "r")) != NULL) {
			if (fscanf(f, "%llu", &n) == 1 && n > was &&
			    (rl.rlim_max == RLIM_INFINITY ||
			    n < (unsigned long long)rl.rlim_max)) {
				rl.rlim_cur = (rlim_t)n;
				(void)setrlimit(RLIMIT_NOFILE, &rl);
			}
			fclose(f);
		}
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return;
	}
	log_begin(&l, LOG_LVL_INFO, "daemon", "descriptor limit");
	if (rl.rlim_cur == RLIM_INFINITY)
		log_kvs(&l, "soft", "unlimited");
	else
		log_kv(&l, "soft", "%llu", (unsigned long long)rl.rlim_cur);
	if (rl.rlim_max == RLIM_INFINITY)
		log_kvs(&l, "hard", "unlimited");
	else
		log_kv(&l, "hard", "%llu", (unsigned long long)rl.rlim_max);
	log_kv(&l, "was", "%llu", was);
	log_end(&l);
}

/* -t: check the configuration, print its diagnostics; the exit status. */
static int
check_only(void)
{
	struct diaglist dl = { 0 };
	struct snapshot *s;
	size_t i;

	s = snapshot_build(d.conf_path, TLS_LOAD_CHECK, &dl);
	for (i = 0; i < dl.n; i++)
		fprintf(stderr, "%s\n", dl.v[i].text);
	diag_clear(&dl);
	if (s == NULL) {
		fprintf(stderr, "sipedged: configuration %s has errors\n",
		    d.conf_path);
		return 1;
	}
	printf("configuration OK\n");
	snapshot_unref(&s);
	return 0;
}

/*
 * The options: 0 and *test set to run on, or the exit status (1 and up,
 * or 0 after -V and -h) with *status.
 */
static int
parse_options(int argc, char **argv, int *test, int *status)
{
	int ch;

	while ((ch = getopt(argc, argv, "c:ftVh")) != -1) {
		switch (ch) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 'f':
			d.foreground = 1;
			break;
		case 't':
			*test = 1;
			break;
		case 'V':
			printf("sipedged %s\n", PACKAGE_VERSION);
			*status = 0;
			return -1;
		case 'h':
			usage(stdout);
			*status = 0;
			return -1;
		default:
			usage(stderr);
			*status = 2;
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		*status = 2;
		return -1;
	}
	return 0;
}

/*
 * The first snapshot, its diagnostics printed (and kept in dl for the log
 * once it is open), the pid file checked, the log pointed at its sinks and
 * the descriptor limit raised; NULL when sipedged must not start.
 */
static struct snapshot *
start_config(struct diaglist *dl)
{
	struct snapshot *snap;
	char *cause = NULL;
	size_t k;

	snap = snapshot_build(d.conf_path, TLS_LOAD_RUN, dl);
	for (k = 0; k < dl->n; k++)
		fprintf(stderr, "%s\n", dl->v[k].text);
	if (snap == NULL) {
		fprintf(stderr, "sipedged: not started: configuration %s has "
		    "errors\n", d.conf_path);
		diag_clear(dl);
		return NULL;
	}
	if (pid_file_check(snap->conf->pid_file.path) == -1)
		return NULL;
	register_limited_events();
	if (reload_apply_log(snap->conf, &cause) == -1)
		fatal("%s", cause);
	raise_nofile();
	return snap;
}

/* The event loop and what runs on it: proxy, transport, gate, zones... */
static void
start_loop(void)
{
	struct timeval hour = { 3600, 0 }, sec = { 1, 0 };

	signal(SIGPIPE, SIG_IGN);
	if ((d.base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	d.proxy = proxy_new(d.base);
	d.transport = sip_transport_new(d.base, proxy_on_message, d.proxy);
	sip_transport_set_lean(d.transport, proxy_lean_ok);
	d.gate = gate_new(d.base, d.transport);
	d.zones = zones_new(d.base, d.transport);
	d.trav = trav_new(d.base, d.transport, zones_dns(d.zones));
	proxy_attach(d.proxy, d.transport, d.zones, d.trav);
	gate_on_refused(d.gate, trav_peer_refused, d.trav);
	gate_set_zones(d.gate, d.zones);
	d.dp = rev_dp_new(d.base, gate_fetcher(d.gate), gate_store(d.gate),
	    reload_dp_updated, NULL);
	d.alarm_timer = event_new(d.base, -1, EV_PERSIST, reload_alarm_timer_cb,
	    NULL);
	evtimer_add(d.alarm_timer, &hour);
	d.heap = heap_trimmer_new(d.base, conn_counts, NULL);
	d.logflush_timer = event_new(d.base, -1, EV_PERSIST, logflush_cb, NULL);
	evtimer_add(d.logflush_timer, &sec);
	d.logwrite = event_new(d.base, -1, 0, logwrite_cb, NULL);
}

/* Say why the start failed: in the log, and on stderr unless that is it. */
static void
start_failed(const struct conf *c, const char *cause)
{
	log_event(LOG_LVL_ERROR, "daemon", "start failed", "reason", cause,
	    NULL);
	if (!d.foreground || c->log_file.path != NULL)
		fprintf(stderr, "sipedged: not started: %s\n", cause);
}

/*
 * Bind the listeners and the control socket before detaching, so that a
 * busy port or a bad socket path fails the start visibly; -1 then.
 */
static int
start_sockets(const struct conf *c)
{
	char *cause = NULL;

	if (reload_listeners(c, &cause) == -1) {
		start_failed(c, cause);
		return -1;
	}
	if (c->control_socket.path == NULL)
		return 0;
	d.ctl_path = xstrdup(c->control_socket.path);
	d.ctl_gid = c->control_gid;
	d.ctl = ctl_server_open(d.base, d.ctl_path, c->control_gid,
	    c->control_group, ctl_cmd_table, NULL, &cause);
	if (d.ctl == NULL) {
		start_failed(c, cause);
		return -1;
	}
	return 0;
}

/* After the loop: free everything, remove the pid file, close the log. */
static void
stop_all(struct event **sigs, int nsigs)
{
	int i;

	log_batch_stop();	/* from here every line is written at once */
	ctl_server_free(d.ctl);
	free(d.ctl_path);
	alarm_reset();
	proxy_attach(d.proxy, d.transport, NULL, NULL);
	gate_on_refused(d.gate, NULL, NULL);
	trav_free(d.trav);
	zones_free(d.zones);
	rev_dp_free(d.dp);
	event_free(d.alarm_timer);
	event_free(d.logflush_timer);
	event_free(d.logwrite);
	heap_trimmer_free(d.heap);
	gate_free(d.gate);
	sip_transport_free(d.transport);
	proxy_free(d.proxy);
	reload_free_slots(d.slots, d.nslots);
	for (i = 0; i < nsigs; i++)
		event_free(sigs[i]);
	if (d.grace_timer != NULL)
		event_free(d.grace_timer);
	/*
	 * A bufferevent freed while one of its deferred callbacks was queued
	 * (a peer's EOF in the last turn) keeps a reference until that
	 * callback runs, and event_base_free drops queued callbacks without
	 * running them: one more turn lets them run (our callbacks are
	 * already unset) and release the connections' SSL and buffers.
	 */
	event_base_loop(d.base, EVLOOP_NONBLOCK);
	event_base_free(d.base);
	snapshot_unref(&d.current);
	if (unlink(d.pid_file) == -1 && errno != ENOENT)
		log_event(LOG_LVL_WARN, "daemon", "pid file not removed",
		    "file", d.pid_file, "reason", strerror(errno), NULL);
	free(d.pid_file);
	log_flush_suppressed_all();	/* what the last interval dropped */
	log_event(LOG_LVL_NOTICE, "daemon", "stopped", NULL);
	log_close();
	log_limit_reset();
}

/* Options, the first configuration, the loop, and back when it ends. */
int
main(int argc, char **argv)
{
	struct diaglist dl = { 0 };
	struct snapshot *snap;
	struct event *sigs[4];
	const int signums[4] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	char pid[16], *abs_conf, *cause = NULL;
	int test = 0, status, i;

	d.conf_path = SE_CONFFILE;
	heap_tune();
	if (parse_options(argc, argv, &test, &status) == -1)
		return status;
	/* Absolute, so that a daemon that changes directory finds it again. */
	if ((abs_conf = realpath(d.conf_path, NULL)) != NULL)
		d.conf_path = abs_conf;
	if (test)
		return check_only();
	if ((snap = start_config(&dl)) == NULL)
		return 1;
	start_loop();
	if (reload_prepare(snap, &cause) == -1) {
		start_failed(snap->conf, cause);
		free(cause);
		return 1;
	}
	if (start_sockets(snap->conf) == -1)
		return 1;
	if (!d.foreground)
		daemonize();
	if (event_reinit(d.base) == -1)
		fatal("cannot reinitialise the event loop");
	/* After the forks, so that no queued line is written twice. */
	log_batch_start(logwrite_kick, d.logwrite);
	d.pid_file = xstrdup(snap->conf->pid_file.path);
	if (pid_file_write(d.pid_file) == -1) {
		ctl_server_free(d.ctl);
		return 1;
	}
	d.started = time(NULL);
	reload_install(snap);
	for (i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(d.base, signums[i], signal_cb, NULL);
		evsignal_add(sigs[i], NULL);
	}
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	log_event(LOG_LVL_NOTICE, "daemon", "started", "version",
	    PACKAGE_VERSION, "config", d.conf_path, "pid", pid, NULL);
	reload_log_diags(&dl);
	diag_clear(&dl);
	reload_announce(d.current);

	event_base_dispatch(d.base);

	stop_all(sigs, 4);
	free(abs_conf);
	return 0;
}
