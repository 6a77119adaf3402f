/*
 * dns_probe.c: drives net/dns_srv (and evdns for A/AAAA) on a real loop
 * for tests/integ/dns_srv.sh.  Not installed.
 *
 *   dns_probe [-s server]... [-t ms] [-n tries] [-a host]... [-c name]...
 *             [srvname]...
 *
 * -s points the evdns_base at the server with dns_configure() (as the
 * dns.servers setting does), -t and -n set the per-try timeout and the
 * number of tries, -a resolves a host with evdns_getaddrinfo on the same
 * evdns_base, -c starts an SRV lookup and cancels it after 100 ms (its
 * callback must never run).  Each result is one block on stdout:
 *
 *   srv NAME ok N MS        then N lines "rr PRIO WEIGHT PORT TARGET"
 *   srv NAME error CODE MS: TEXT
 *   addr HOST IP            (one per address) or "addr HOST error TEXT"
 *
 * Exit 0 when every lookup finished (whatever its result), 1 on a usage
 * error or a callback after cancel, 2 when the 20 s deadline passed.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "net/dns_srv.h"
#include "net/net_addr.h"
#include "util/xmalloc.h"

struct probe {
	struct event_base	*base;
	struct dns_srv		*d;
	const char		*name;
	struct timeval		 start;
	int			 cancelled;
	int			 keep;		/* -c: freed by main */
	int			 finished;
};

static int pending;
static int ncancelled;
static int status;

/* Milliseconds since p started. */
static long
elapsed(const struct probe *p)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	return (now.tv_sec - p->start.tv_sec) * 1000L +
	    (now.tv_usec - p->start.tv_usec) / 1000L;
}

/* One lookup is over; the last one ends the loop after a grace period. */
static void
done(struct event_base *base)
{
	struct timeval grace = { 0, 500000 };

	/* with a cancelled lookup, wait for its late answer to be ignored */
	if (--pending == 0)
		event_base_loopexit(base, ncancelled > 0 ? &grace : NULL);
}

/* The result of an SRV lookup. */
static void
on_srv(int err, const struct dns_srv_rr *rrs, size_t n, void *arg)
{
	struct probe *p = arg;
	size_t i;

	if (p->cancelled) {
		printf("srv %s CALLBACK AFTER CANCEL\n", p->name);
		status = 1;
		return;
	}
	if (err == DNS_SRV_OK) {
		printf("srv %s ok %zu %ld\n", p->name, n, elapsed(p));
		for (i = 0; i < n; i++)
			printf("rr %u %u %u %s\n", rrs[i].priority,
			    rrs[i].weight, rrs[i].port, rrs[i].target);
	} else
		printf("srv %s error %d %ld: %s\n", p->name, err, elapsed(p),
		    dns_srv_strerror(err));
	fflush(stdout);
	done(p->base);
	p->finished = 1;
	if (!p->keep)
		free(p);
}

/* The result of an A/AAAA lookup. */
static void
on_addr(int err, struct evutil_addrinfo *res, void *arg)
{
	struct probe *p = arg;
	struct evutil_addrinfo *ai;
	char ip[NET_ADDRSTRLEN];

	if (err != 0)
		printf("addr %s error %s\n", p->name, evutil_gai_strerror(err));
	for (ai = res; err == 0 && ai != NULL; ai = ai->ai_next)
		printf("addr %s %s\n", p->name,
		    net_addr_ip(ai->ai_addr, ip, sizeof ip, NULL));
	if (res != NULL)
		evutil_freeaddrinfo(res);
	fflush(stdout);
	done(p->base);
	free(p);
}

struct cancel {
	struct dns_srv_req	*req;
	struct probe		*p;
};

/* -c: cancel the lookup; nothing may be called back for it. */
static void
on_cancel(evutil_socket_t fd, short what, void *arg)
{
	struct cancel *c = arg;

	(void)fd;
	(void)what;
	if (c->p->finished) {
		printf("srv %s finished before cancel\n", c->p->name);
		fflush(stdout);
		return;
	}
	dns_srv_cancel(c->req);
	c->p->cancelled = 1;
	ncancelled++;
	printf("srv %s cancelled\n", c->p->name);
	fflush(stdout);
	done(c->p->base);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	printf("deadline\n");
	status = 2;
	event_base_loopbreak(arg);
}

static struct probe *
probe_new(struct event_base *base, struct dns_srv *d, const char *name)
{
	struct probe *p = xcalloc(1, sizeof *p);

	p->base = base;
	p->d = d;
	p->name = name;
	gettimeofday(&p->start, NULL);
	pending++;
	return p;
}

int
main(int argc, char **argv)
{
	struct conf_strlist servers = { NULL, 0 };
	struct cancel cancels[8];
	struct timeval tv;
	struct event_base *base;
	struct evdns_base *dns;
	struct dns_srv *d;
	struct evutil_addrinfo hints;
	struct event *deadline, *cev[8];
	const char *hosts[16], *cnames[8];
	char *cause = NULL;
	size_t nhosts = 0, ncnames = 0, i;
	int ch, timeout = 0, tries = 0;

	while ((ch = getopt(argc, argv, "s:t:n:a:c:")) != -1) {
		switch (ch) {
		case 's':
			servers.v = xreallocarray(servers.v, servers.n + 1,
			    sizeof *servers.v);
			servers.v[servers.n++] = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'n':
			tries = atoi(optarg);
			break;
		case 'a':
			if (nhosts < 16)
				hosts[nhosts++] = optarg;
			break;
		case 'c':
			if (ncnames < 8)
				cnames[ncnames++] = optarg;
			break;
		default:
			fprintf(stderr, "usage: dns_probe [-s server]... [-t ms] "
			    "[-n tries] [-a host]... [-c name]... [srvname]...\n");
			return 1;
		}
	}
	base = event_base_new();
	dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (dns == NULL)
		dns = evdns_base_new(base, 0);
	if (dns_configure(dns, &servers, &cause) == -1) {
		fprintf(stderr, "dns_probe: %s\n", cause);
		free(cause);
		free(servers.v);
		evdns_base_free(dns, 0);
		event_base_free(base);
		return 1;
	}
	free(servers.v);
	d = dns_srv_new(base, dns);
	dns_srv_set_timing(d, timeout, tries);

	for (i = (size_t)optind; i < (size_t)argc; i++)
		(void)dns_srv_lookup(d, argv[i], on_srv,
		    probe_new(base, d, argv[i]));
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	for (i = 0; i < nhosts; i++)
		(void)evdns_getaddrinfo(dns, hosts[i], NULL, &hints, on_addr,
		    probe_new(base, d, hosts[i]));
	for (i = 0; i < ncnames; i++) {
		cancels[i].p = probe_new(base, d, cnames[i]);
		cancels[i].p->keep = 1;
		cancels[i].req = dns_srv_lookup(d, cnames[i], on_srv,
		    cancels[i].p);
		cev[i] = evtimer_new(base, on_cancel, &cancels[i]);
		tv.tv_sec = 0;
		tv.tv_usec = 100000;
		evtimer_add(cev[i], &tv);
	}
	deadline = evtimer_new(base, on_deadline, base);
	tv.tv_sec = 20;
	tv.tv_usec = 0;
	evtimer_add(deadline, &tv);
	if (pending > 0)
		event_base_dispatch(base);

	for (i = 0; i < ncnames; i++) {
		event_free(cev[i]);
		free(cancels[i].p);
	}
	event_free(deadline);
	dns_srv_free(d);
	evdns_base_free(dns, 0);
	event_base_free(base);
	return status;
}
