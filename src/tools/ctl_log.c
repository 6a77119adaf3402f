/*
 * ctl_log.c: sipedge-ctl log.  Reads the logfmt event log named by
 * log.file, prints the lines that pass every filter (unchanged, or as one
 * JSON object each), and with -f keeps reading as the daemon writes,
 * reopening the file when logrotate replaces it (another inode at the
 * path) or starting over when it is truncated.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "tools/ctl_conf.h"
#include "tools/ctl_log.h"
#include "util/json.h"
#include "util/log.h"
#include "util/logfmt.h"
#include "util/xmalloc.h"

#define FOLLOW_POLL_MS	200	/* how often -f looks for more */
#define LINE_MAX_BYTES	(1024 * 1024)	/* a "line" longer is cut */

/* A field filter: the field must be there with exactly this value. */
struct match {
	const char	*key;
	const char	*value;
};

struct filter {
	long long	 since, until;	/* ms; -1: none */
	int		 level;		/* minimum, -1: none */
	struct match	 m[8];
	size_t		 nm;
	int		 json;
};

/* The reader of one file, with the line that is not complete yet. */
struct reader {
	const char	*path;
	int		 fd;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 off;
	char		*buf;
	size_t		 len, cap;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: sipedge-ctl [-c FILE] [--json] log [-f] "
	    "[--since TIME] [--until TIME]\n"
	    "           [--level LEVEL] [--module M] [--event E] [--peer P] "
	    "[--zone Z] [--call-id ID]\n"
	    "  TIME is ISO 8601 UTC (2026-11-26T17:00:00Z) or a time ago "
	    "(30s, 10m, 2h, 1d)\n"
	    "  LEVEL is the minimum: debug, info, notice, warn or error\n");
}

static long long
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/*
 * Does the value of a "peer" field match want: exactly, or as the
 * address of an ADDRESS:PORT value when want has no port.
 */
static int
peer_matches(const char *v, size_t vlen, const char *want)
{
	size_t wl = strlen(want);

	if (vlen == wl && memcmp(v, want, wl) == 0)
		return 1;
	if (vlen > wl + 1 && memcmp(v, want, wl) == 0 && v[wl] == ':' &&
	    strchr(v + wl + 1, ':') == NULL)
		return 1;
	/* [v6]:port given as the bare v6 address */
	return vlen > wl + 3 && v[0] == '[' && memcmp(v + 1, want, wl) == 0 &&
	    v[wl + 1] == ']' && v[wl + 2] == ':';
}

/*
 * Does a "call_id" field match want: exactly; or, when want has no '@',
 * a value with that local part and any host (the whole Call-ID is
 * logged, people often copy only its first part); or, when want is
 * local@host, a value that is its local part alone (logs written before
 * the whole Call-ID was logged).
 */
static int
call_id_matches(const char *v, size_t vlen, const char *want)
{
	const char *at = strchr(want, '@');
	const char *vat = memchr(v, '@', vlen);
	size_t wl = strlen(want);

	if (vlen == wl && memcmp(v, want, wl) == 0)
		return 1;
	if (at == NULL)
		return vat != NULL && (size_t)(vat - v) == wl &&
		    memcmp(v, want, wl) == 0;
	return vat == NULL && vlen == (size_t)(at - want) &&
	    memcmp(v, want, vlen) == 0;
}

/* Does the line (len bytes, no newline) pass every filter? */
static int
passes(const struct filter *fl, const struct logfmt *lf)
{
	const struct logfmt_field *f;
	enum log_level lvl;
	long long ms;
	size_t i;

	if (fl->since >= 0 || fl->until >= 0) {
		if ((f = logfmt_get(lf, "ts")) == NULL ||
		    logfmt_time(f->val, 0, &ms) == -1)
			return 0;
		if ((fl->since >= 0 && ms < fl->since) ||
		    (fl->until >= 0 && ms > fl->until))
			return 0;
	}
	if (fl->level >= 0) {
		if ((f = logfmt_get(lf, "level")) == NULL ||
		    log_level_parse(f->val, &lvl) == -1 ||
		    (int)lvl < fl->level)
			return 0;
	}
	for (i = 0; i < fl->nm; i++) {
		if ((f = logfmt_get(lf, fl->m[i].key)) == NULL)
			return 0;
		if (strcmp(fl->m[i].key, "peer") == 0) {
			if (!peer_matches(f->val, f->vlen, fl->m[i].value))
				return 0;
		} else if (strcmp(fl->m[i].key, "call_id") == 0) {
			if (!call_id_matches(f->val, f->vlen, fl->m[i].value))
				return 0;
		} else if (f->vlen != strlen(fl->m[i].value) ||
		    memcmp(f->val, fl->m[i].value, f->vlen) != 0)
			return 0;
	}
	return 1;
}

/* Print line (len bytes, no newline) if it passes. */
static void
emit(const struct filter *fl, const char *line, size_t len)
{
	struct logfmt lf = { NULL, 0 };
	struct json *j;
	size_t i;
	int parsed;

	if (len == 0)
		return;
	parsed = logfmt_parse(line, len, &lf) == 0;
	if (!parsed && (fl->nm > 0 || fl->level >= 0 || fl->since >= 0 ||
	    fl->until >= 0))
		return;		/* not an event: no filter can pass it */
	if (parsed && !passes(fl, &lf)) {
		logfmt_clear(&lf);
		return;
	}
	if (fl->json) {
		j = json_new();
		json_object_begin(j, NULL);
		if (parsed)
			for (i = 0; i < lf.n; i++)
				json_stringn(j, lf.v[i].key, lf.v[i].val,
				    lf.v[i].vlen);
		else
			json_stringn(j, "unparsed", line, len);
		json_object_end(j);
		printf("%s\n", json_text(j, NULL));
		json_free(j);
	} else {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	}
	logfmt_clear(&lf);
}

/* Open r->path from its start; -1 with a message printed. */
static int
reader_open(struct reader *r, int quiet)
{
	struct stat st;
	int fd;

	if ((fd = open(r->path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		if (!quiet)
			fprintf(stderr, "sipedge-ctl: cannot read the log file "
			    "%s: %s\n", r->path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (r->fd != -1)
		close(r->fd);
	r->fd = fd;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->off = 0;
	r->len = 0;
	return 0;
}

/*
 * Read what is there and print every complete line that passes; a last
 * line without its newline waits for the rest (or for at_end).
 * Returns the bytes read, or -1 on a read error.
 */
static ssize_t
reader_drain(struct reader *r, const struct filter *fl, int at_end)
{
	ssize_t n, total = 0;
	char *nl, *p;

	for (;;) {
		if (r->cap - r->len < 65536) {
			r->cap = r->cap ? r->cap * 2 : 131072;
			r->buf = xrealloc(r->buf, r->cap);
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "sipedge-ctl: reading the log file %s: "
			    "%s\n", r->path, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		r->off += n;
		r->len += (size_t)n;
		total += n;
		p = r->buf;
		while ((nl = memchr(p, '\n', r->len - (size_t)(p - r->buf)))
		    != NULL) {
			emit(fl, p, (size_t)(nl - p));
			p = nl + 1;
		}
		r->len -= (size_t)(p - r->buf);
		memmove(r->buf, p, r->len);
		if (r->len > LINE_MAX_BYTES) {
			/* Not a line the daemon wrote: do not hoard it. */
			emit(fl, r->buf, r->len);
			r->len = 0;
		}
	}
	if (at_end && r->len > 0) {
		emit(fl, r->buf, r->len);
		r->len = 0;
	}
	fflush(stdout);
	return total;
}

/*
 * -f: read on as the file grows; runs until killed.  When the path is
 * another file now (rotated), the old one is read to its end first; when
 * the file shrank (truncated), reading starts over.
 */
static int
follow(struct reader *r, const struct filter *fl)
{
	struct stat st;

	for (;;) {
		if (reader_drain(r, fl, 0) == -1)
			return 1;
		poll(NULL, 0, FOLLOW_POLL_MS);
		if (stat(r->path, &st) == -1)
			continue;	/* moved away, not yet made again */
		if (st.st_dev != r->dev || st.st_ino != r->ino) {
			if (reader_drain(r, fl, 1) == -1)
				return 1;
			if (reader_open(r, 1) == -1)
				continue;
		} else if (st.st_size < r->off) {
			(void)lseek(r->fd, 0, SEEK_SET);
			r->off = 0;
			r->len = 0;
		}
	}
}

/* The log file of the configuration at path, or NULL with a message. */
static char *
log_file_of(const char *path, int given)
{
	char *file = NULL;

	if (ctl_conf_get(path, given, CTL_CONF_LOG_FILE, &file) == -1)
		return NULL;
	if (file == NULL)
		fprintf(stderr, "sipedge-ctl: the configuration %s has no "
		    "log.file, so there is no event log to read (sipedged logs "
		    "to stderr or syslog only)\n", path);
	return file;
}

/* Take --NAME's value as a field filter. */
static int
add_match(struct filter *fl, const char *key, const char *value)
{
	if (fl->nm == sizeof fl->m / sizeof fl->m[0])
		return -1;
	fl->m[fl->nm].key = key;
	fl->m[fl->nm].value = value;
	fl->nm++;
	return 0;
}

/* A filter option's value (ch as getopt_long returned it) into fl; 0 or
 * -1 after a message. */
static int
parse_value(struct filter *fl, int ch, const char *v, long long now)
{
	enum log_level lvl;
	const char *key = NULL;

	switch (ch) {
	case 'S':
	case 'U':
		if (logfmt_time(v, now, ch == 'S' ? &fl->since : &fl->until) ==
		    -1) {
			fprintf(stderr, "sipedge-ctl: log --%s takes an ISO 8601 "
			    "UTC time (2026-11-26T17:00:00Z) or a time ago (10m, "
			    "2h), not '%s'\n", ch == 'S' ? "since" : "until", v);
			return -1;
		}
		return 0;
	case 'l':
		if (log_level_parse(v, &lvl) == -1) {
			fprintf(stderr, "sipedge-ctl: log --level takes debug, "
			    "info, notice, warn or error, not '%s'\n", v);
			return -1;
		}
		fl->level = (int)lvl;
		return 0;
	case 'm': key = "module"; break;
	case 'e': key = "event"; break;
	case 'p': key = "peer"; break;
	case 'z': key = "zone"; break;
	case 'i': key = "call_id"; break;
	}
	if (add_match(fl, key, v) == -1) {
		fprintf(stderr, "sipedge-ctl: log takes at most %zu field "
		    "filters\n", sizeof fl->m / sizeof fl->m[0]);
		return -1;
	}
	return 0;
}

/*
 * The arguments of log into fl and *follow_on.  -1 to go on, or the exit
 * status (0 after --help, 2 after a message).
 */
static int
parse_args(struct filter *fl, int *follow_on, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "level", required_argument, NULL, 'l' },
		{ "module", required_argument, NULL, 'm' },
		{ "event", required_argument, NULL, 'e' },
		{ "peer", required_argument, NULL, 'p' },
		{ "zone", required_argument, NULL, 'z' },
		{ "call-id", required_argument, NULL, 'i' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long long now = now_ms();
	int ch;

	optind = 0;	/* glibc: start over, argv[0] is "log" */
	while ((ch = getopt_long(argc, argv, "fjh", opts, NULL)) != -1) {
		if (ch == 'f')
			*follow_on = 1;
		else if (ch == 'j')
			fl->json = 1;
		else if (ch == 'h') {
			usage(stdout);
			return 0;
		} else if (strchr("SUlmepzi", ch) == NULL || ch == 0) {
			usage(stderr);
			return 2;
		} else if (parse_value(fl, ch, optarg, now) == -1)
			return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "sipedge-ctl: log takes options only, not "
		    "'%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (fl->since >= 0 && fl->until >= 0 && fl->until < fl->since) {
		fprintf(stderr, "sipedge-ctl: log --until is before --since, so "
		    "no line can match\n");
		return 2;
	}
	return -1;
}

int
ctl_log_main(const char *conf_path, int conf_given, int json, int argc,
    char **argv)
{
	struct filter fl;
	struct reader r;
	char *file;
	int follow_on = 0, rv;

	memset(&fl, 0, sizeof fl);
	fl.since = fl.until = -1;
	fl.level = -1;
	fl.json = json;
	if ((rv = parse_args(&fl, &follow_on, argc, argv)) != -1)
		return rv;
	if ((file = log_file_of(conf_path, conf_given)) == NULL)
		return 1;
	memset(&r, 0, sizeof r);
	r.path = file;
	r.fd = -1;
	if (reader_open(&r, 0) == -1) {
		free(file);
		return 1;
	}
	if (follow_on)
		rv = follow(&r, &fl);
	else
		rv = reader_drain(&r, &fl, 1) == -1 ? 1 : 0;
	close(r.fd);
	free(r.buf);
	free(file);
	return rv;
}
