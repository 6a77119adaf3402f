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

#include "conf/conf.h"
#include "ctl/ctl_client.h"
#include "ctl/ctl_proto.h"
#include "tools/ctl_log.h"
#include "util/diag.h"
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

/* The control socket named by the configuration at path; NULL on errors. */
static char *
socket_of(const char *path, int given)
{
	struct diaglist dl = { 0 };
	struct conf *c = conf_load(path, &dl);
	char *sock = NULL;
	size_t i;

	if (c == NULL) {
		for (i = 0; i < dl.n; i++)
			fprintf(stderr, "%s\n", dl.v[i].text);
		fprintf(stderr, "sipedge-ctl: cannot use configuration %s%s\n",
		    path, given ? "" : " (give another with -c FILE, or the "
		    "socket with -s SOCKET)");
	} else
		sock = xstrdup(c->control_socket.path);
	diag_clear(&dl);
	conf_free(c);
	return sock;
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

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf = SE_CONFFILE, *sockarg = NULL;
	char *sock, *cmd = NULL, *reply = NULL, *cause = NULL, *end, *t;
	char *filters;
	int ch, i, rv, given = 0, json = 0, all = 0;
	long secs = 30;
	size_t offset = 0;

	while ((ch = getopt_long(argc, argv, "+c:s:t:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			given = 1;
			break;
		case 's':
			sockarg = optarg;
			break;
		case 't':
			secs = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || secs < 1 ||
			    secs > 3600) {
				fprintf(stderr, "sipedge-ctl: -t takes 1 to 3600 "
				    "seconds, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			json = 1;
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
	if (strcmp(argv[optind], "log") == 0) {
		if (sockarg != NULL) {
			fprintf(stderr, "sipedge-ctl: log reads the file of the "
			    "configuration: give -c FILE, not -s SOCKET\n");
			return EXIT_USAGE;
		}
		return ctl_log_main(conf, given, json, argc - optind,
		    argv + optind);
	}
	/* The command line, as one request line. */
	filters = xstrdup("");
	for (i = optind; i < argc; i++) {
		if (strchr(argv[i], '\n') != NULL) {
			fprintf(stderr, "sipedge-ctl: arguments cannot hold a "
			    "line break\n");
			free(filters);
			free(cmd);
			return EXIT_USAGE;
		}
		/* connections --all: paged here; the rest are filters. */
		if (i > optind && strcmp(argv[optind], "connections") == 0) {
			if (strcmp(argv[i], "--all") == 0 ||
			    strcmp(argv[i], "all") == 0) {
				all = 1;
				continue;
			}
			if ((strcmp(argv[i], "--offset") == 0 ||
			    strcmp(argv[i], "offset") == 0) && i + 1 < argc) {
				offset = strtoul(argv[i + 1], &end, 10);
				if (*argv[i + 1] < '0' || *argv[i + 1] > '9' ||
				    *end != '\0') {
					fprintf(stderr, "sipedge-ctl: --offset "
					    "takes a number, not '%s'\n",
					    argv[i + 1]);
					free(cmd);
					free(filters);
					return EXIT_USAGE;
				}
				i++;
				continue;
			}
			if ((strcmp(argv[i], "--limit") == 0 ||
			    strcmp(argv[i], "limit") == 0) && i + 1 < argc &&
			    strchr(argv[i + 1], '\n') == NULL) {
				/* --all ignores it: the daemon's page. */
				t = xasprintf("%s %s %s", cmd, argv[i],
				    argv[i + 1]);
				free(cmd);
				cmd = t;
				i++;
				continue;
			}
			t = xasprintf("%s %s", filters, argv[i]);
			free(filters);
			filters = t;
		}
		t = cmd == NULL ? xstrdup(argv[i]) :
		    xasprintf("%s %s", cmd, argv[i]);
		free(cmd);
		cmd = t;
	}
	if (offset > 0) {
		t = xasprintf("%s --offset %zu", cmd, offset);
		free(cmd);
		cmd = t;
	}
	if (json) {
		t = xasprintf("%s %s", CTL_JSON_PREFIX, cmd);
		free(cmd);
		cmd = t;
	}
	sock = sockarg != NULL ? xstrdup(sockarg) : socket_of(conf, given);
	if (sock == NULL) {
		free(cmd);
		free(filters);
		return EXIT_UNREACHED;
	}
	if (all) {
		rv = conns_all(sock, json, filters, offset, secs);
		free(cmd);
		free(filters);
		free(sock);
		return rv;
	}
	free(filters);
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
	free(cmd);
	free(sock);
	return rv;
}
