/*
 * sipedge_ctl.c: sipedge-ctl, the command line of a running sipedged.
 * Sends one command over the control socket (ctl_proto.h) and prints the
 * reply: the text on stdout when the daemon says "ok", on stderr when it
 * says "error"; with --json the daemon's JSON object on stdout either
 * way.  "log" is the exception: it reads the event log file itself
 * (ctl_log.c).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_client.h"
#include "ctl/ctl_proto.h"
#include "tools/ctl_conf.h"
#include "tools/ctl_log.h"
#include "util/xmalloc.h"

#define EXIT_OK		0	/* the daemon did it */
#define EXIT_REFUSED	1	/* the daemon answered "error"; log: no file */
#define EXIT_USAGE	2
#define EXIT_UNREACHED	3	/* not running, no permission, no answer */

#define CONNS_PAGES_MAX	100000	/* connections --all: pages at most */

static void
usage(FILE *f)
{
	fprintf(f, "usage: sipedge-ctl [-c FILE | -s SOCKET] [-t SECONDS] "
	    "[--json] COMMAND [ARGS...]\n"
	    "  -c FILE     the daemon's configuration, for its control socket "
	    "and log file\n"
	    "              (default %s)\n"
	    "  -s SOCKET   the control socket itself\n"
	    "  -t SECONDS  how long to wait for the answer (default 30)\n"
	    "  -j, --json  answer in JSON, for scripts\n"
	    "commands: status, alarms, certs, zones, zone NAME, revocation,\n"
	    "          connections [--limit N] [--offset N] [--all] "
	    "[--zone NAME] [--peer ADDR],\n"
	    "          crl update, reload, help (the daemon lists them), "
	    "log [FILTERS] (sipedge-ctl log --help)\n"
	    "See sipedge-ctl(8).\n", SE_CONFFILE);
}

/*
 * connections --all: the daemon answers a page at a time (at most
 * CTL_CONNS_PAGE_MAX), so ask for the summary, then page on by offset
 * until a page comes back empty, printing each as it arrives: never the
 * whole list in memory here or in the daemon.  Text: the summary lines,
 * then one line per connection.  JSON: one object per line (JSON Lines),
 * the summary's first, then one per page.  filters is the rest of the
 * request ("" or " zone NAME ..."); offset where to start.
 */
static int
conns_all(const char *sock, int json, const char *filters, size_t offset,
    long secs)
{
	char *cmd, *reply = NULL, *cause = NULL, *p;
	size_t n, pages;
	int rv;

	cmd = xasprintf("%sconnections all limit 0%s", json ? "json " : "",
	    filters);
	rv = ctl_request(sock, cmd, (int)(secs * 1000), &reply, &cause);
	free(cmd);
	for (pages = 0; rv == 0; pages++) {
		fputs(reply, stdout);
		free(reply);
		reply = NULL;
		if (pages >= CONNS_PAGES_MAX)
			break;
		cmd = xasprintf("%sconnections all nosummary offset %zu%s",
		    json ? "json " : "", offset, filters);
		rv = ctl_request(sock, cmd, (int)(secs * 1000), &reply, &cause);
		free(cmd);
		if (rv != 0)
			break;
		/* How many came back: text lines, or JSON "returned". */
		n = 0;
		if (json) {
			if ((p = strstr(reply, "\"returned\":")) != NULL)
				n = strtoul(p + strlen("\"returned\":"), NULL,
				    10);
		} else
			for (p = reply; *p != '\0'; p++)
				n += *p == '\n';
		if (n == 0)
			break;
		offset += n;
	}
	fflush(stdout);
	if (rv == -1) {
		fprintf(stderr, "sipedge-ctl: %s\n", cause);
		rv = EXIT_UNREACHED;
	} else if (rv == 1) {
		fputs(reply, json ? stdout : stderr);
		rv = EXIT_REFUSED;
	} else
		rv = EXIT_OK;
	free(reply);
	free(cause);
	return rv;
}

/* What the options before the command asked for. */
struct args {
	const char	*conf;		/* -c, or the installed default */
	int		 given;		/* -c was given */
	const char	*sockarg;	/* -s, or NULL */
	long		 secs;		/* -t */
	int		 json;		/* --json */
};

/* The request built from the command and its arguments. */
struct request {
	char		*cmd;		/* the request line */
	char		*filters;	/* connections: "" or " zone NAME ..." */
	int		 all;		/* connections --all: paged here */
	size_t		 offset;	/* connections --offset */
};

/*
 * The options before the command, into a; optind then points at the
 * command.  -1 to go on, or the exit status when there is nothing more to
 * do (help, version, a wrong option).
 */
static int
parse_options(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "+c:s:t:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a->conf = optarg;
			a->given = 1;
			break;
		case 's':
			a->sockarg = optarg;
			break;
		case 't':
			a->secs = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || a->secs < 1 ||
			    a->secs > 3600) {
				fprintf(stderr, "sipedge-ctl: -t takes 1 to 3600 "
				    "seconds, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			a->json = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("sipedge-ctl %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "sipedge-ctl: give a command\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* Append " a" or " a b" to *s (a new string; *s NULL: without the space). */
static void
append(char **s, const char *a, const char *b)
{
	char *part = b != NULL ? xasprintf("%s %s", a, b) : xstrdup(a), *t;

	t = *s == NULL ? xstrdup(part) : xasprintf("%s %s", *s, part);
	free(part);
	free(*s);
	*s = t;
}

/*
 * One argument of connections that sipedge-ctl handles itself (--all,
 * --offset N, --limit N) at argv[*i]: 1 when taken (*i moved past a
 * value), 0 when it is a filter for the daemon, -1 after a message.
 */
static int
conns_arg(struct request *rq, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	char *end;

	if (strcmp(a, "--all") == 0 || strcmp(a, "all") == 0) {
		rq->all = 1;
		return 1;
	}
	if ((strcmp(a, "--offset") == 0 || strcmp(a, "offset") == 0) &&
	    v != NULL) {
		rq->offset = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0') {
			fprintf(stderr, "sipedge-ctl: --offset takes a number, "
			    "not '%s'\n", v);
			return -1;
		}
		(*i)++;
		return 1;
	}
	if ((strcmp(a, "--limit") == 0 || strcmp(a, "limit") == 0) &&
	    v != NULL && strchr(v, '\n') == NULL) {
		/* --all ignores it: the daemon's page. */
		append(&rq->cmd, a, v);
		(*i)++;
		return 1;
	}
	append(&rq->filters, a, NULL);
	return 0;
}

/*
 * The command line from argv[first] on, as one request line; connections
 * --all, --offset and --limit are taken apart for conns_all().  -1 to go
 * on, or EXIT_USAGE after a message.
 */
static int
build_request(struct request *rq, int json, int first, int argc,
    char **argv)
{
	char *t;
	int i, r;

	rq->filters = xstrdup("");
	for (i = first; i < argc; i++) {
		if (strchr(argv[i], '\n') != NULL) {
			fprintf(stderr, "sipedge-ctl: arguments cannot hold a "
			    "line break\n");
			return EXIT_USAGE;
		}
		if (i > first && strcmp(argv[first], "connections") == 0) {
			if ((r = conns_arg(rq, argc, argv, &i)) == -1)
				return EXIT_USAGE;
			if (r == 1)
				continue;
		}
		append(&rq->cmd, argv[i], NULL);
	}
	if (rq->offset > 0) {
		t = xasprintf("%s --offset %zu", rq->cmd, rq->offset);
		free(rq->cmd);
		rq->cmd = t;
	}
	if (json) {
		t = xasprintf("%s %s", CTL_JSON_PREFIX, rq->cmd);
		free(rq->cmd);
		rq->cmd = t;
	}
	return -1;
}

/* Send one request and print the answer; the exit status. */
static int
send_one(const char *sock, const char *cmd, int json, long secs)
{
	char *reply = NULL, *cause = NULL;
	int rv;

	rv = ctl_request(sock, cmd, (int)(secs * 1000), &reply, &cause);
	if (rv == -1) {
		fprintf(stderr, "sipedge-ctl: %s\n", cause);
		rv = EXIT_UNREACHED;
	} else if (rv == 0) {
		fputs(reply, stdout);
		rv = EXIT_OK;
	} else {
		/* A script reads the JSON error where it reads the data. */
		fputs(reply, json ? stdout : stderr);
		rv = EXIT_REFUSED;
	}
	free(reply);
	free(cause);
	return rv;
}

int
main(int argc, char **argv)
{
	struct args a = { SE_CONFFILE, 0, NULL, 30, 0 };
	struct request rq = { NULL, NULL, 0, 0 };
	char *sock = NULL;
	int rv;

	if ((rv = parse_options(argc, argv, &a)) != -1)
		return rv;
	if (strcmp(argv[optind], "log") == 0) {
		if (a.sockarg != NULL) {
			fprintf(stderr, "sipedge-ctl: log reads the file of the "
			    "configuration: give -c FILE, not -s SOCKET\n");
			return EXIT_USAGE;
		}
		return ctl_log_main(a.conf, a.given, a.json, argc - optind,
		    argv + optind);
	}
	if ((rv = build_request(&rq, a.json, optind, argc, argv)) != -1)
		goto out;
	if (a.sockarg != NULL)
		sock = xstrdup(a.sockarg);
	else if (ctl_conf_get(a.conf, a.given, CTL_CONF_SOCKET, &sock) == -1 ||
	    sock == NULL) {
		rv = EXIT_UNREACHED;
		goto out;
	}
	if (rq.all)
		rv = conns_all(sock, a.json, rq.filters, rq.offset, a.secs);
	else
		rv = send_one(sock, rq.cmd, a.json, a.secs);
out:
	free(rq.cmd);
	free(rq.filters);
	free(sock);
	return rv;
}
