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
	    "commands: status, alarms, certs, connections, zones, zone NAME, "
	    "revocation,\n"
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
	int ch, i, rv, given = 0, json = 0;
	long secs = 30;

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
	for (i = optind; i < argc; i++) {
		if (strchr(argv[i], '\n') != NULL) {
			fprintf(stderr, "sipedge-ctl: arguments cannot hold a "
			    "line break\n");
			free(cmd);
			return EXIT_USAGE;
		}
		t = cmd == NULL ? xstrdup(argv[i]) :
		    xasprintf("%s %s", cmd, argv[i]);
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
		return EXIT_UNREACHED;
	}
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
