/*
 * sipedge_ctl.c: sipedge-ctl, the command line of a running sipedged.
 * Sends one command over the control socket (ctl_proto.h) and prints the
 * reply: the text on stdout when the daemon says "ok", on stderr when it
 * says "error".
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "ctl/ctl_client.h"
#include "util/diag.h"
#include "util/xmalloc.h"

#define EXIT_OK		0	/* the daemon did it */
#define EXIT_REFUSED	1	/* the daemon answered "error" */
#define EXIT_USAGE	2
#define EXIT_UNREACHED	3	/* not running, no permission, no answer */

static void
usage(FILE *f)
{
	fprintf(f, "usage: sipedge-ctl [-c FILE | -s SOCKET] [-t SECONDS] "
	    "COMMAND [ARGS...]\n"
	    "  -c FILE     the daemon's configuration, for its control socket "
	    "(default %s)\n"
	    "  -s SOCKET   the control socket itself\n"
	    "  -t SECONDS  how long to wait for the answer (default 30)\n"
	    "commands: status, alarms, certs, connections, zones, revocation, reload, help (the daemon lists them)\n"
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
	const char *conf = SE_CONFFILE, *sockarg = NULL;
	char *sock, *cmd = NULL, *reply = NULL, *cause = NULL, *end, *t;
	int ch, i, rv, given = 0;
	long secs = 30;

	while ((ch = getopt(argc, argv, "+c:s:t:hV")) != -1) {
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
		fputs(reply, stderr);
		rv = EXIT_REFUSED;
	}
	free(reply);
	free(cause);
	free(cmd);
	free(sock);
	return rv;
}
