/*
 * sipedged.h: the daemon's state and the functions its files share
 * (sipedged.c: start, signals, stop; reload.c: applying a configuration;
 * ctl_cmd.c and ctl_peers.c: the control socket commands).  Private to
 * the sipedged program: not part of libsipedge.a, included by no other
 * file.
 */
#ifndef SIPEDGED_H
#define SIPEDGED_H

#include <stddef.h>
#include <time.h>

#include <event2/event.h>

#include "ctl/ctl_server.h"
#include "daemon/heap.h"
#include "daemon/snapshot.h"
#include "proxy/gate.h"
#include "proxy/proxy.h"
#include "proxy/trav.h"
#include "proxy/zone.h"
#include "rev/rev_dp.h"
#include "sip/sip_transport.h"
#include "util/diag.h"

/* One open listener and the configuration entry it serves. */
struct slot {
	int			 transport;
	char			*address;
	int			 port;
	struct sip_listener	*l;
};

/* The daemon: what runs, and the configuration it runs under. */
struct daemon {
	const char		*conf_path;
	int			 foreground;
	struct event_base	*base;
	struct snapshot		*current;
	struct sip_transport	*transport;
	struct proxy		*proxy;
	struct gate		*gate;
	struct zones		*zones;
	struct trav		*trav;
	struct rev_dp		*dp;
	struct event		*alarm_timer;	/* hourly certificate alarms */
	struct event		*logflush_timer; /* "similar events suppressed" */
	struct heap_trimmer	*heap;		/* gives waves' memory back */
	struct slot		*slots;
	size_t			 nslots;
	char			*pid_file;
	struct event		*grace_timer;
	int			 stopping;
	struct ctl_server	*ctl;		/* the control socket */
	char			*ctl_path;	/* its path, fixed at start */
	long			 ctl_gid;	/* its group, -1: our own */
	time_t			 started;
};

extern struct daemon d;

/* reload.c */

/* Free n listener slots (not their listeners: the transport owns those). */
void free_slots(struct slot *, size_t);
/* Make the open listeners match conf c; -1 with *cause: nothing changed. */
int reconcile_listeners(const struct conf *, char **);
/* Log each diagnostic; errors at level error, warnings at warn. */
void log_diags(const struct diaglist *);
/* Point the log at the sinks the configuration names. */
int apply_log(const struct conf *, char **);
/* Log the identity in use: certificate, alarms, trust list and CRLs. */
void announce_identity(const struct snapshot *);
/* The alarms that follow from time passing (certificates, CAs, CRLs). */
void refresh_alarms(void);
/* Hourly: the alarms that follow from time passing. */
void alarm_timer_cb(evutil_socket_t, short, void *);
/* Make snapshot s current (takes the caller's reference). */
void install(struct snapshot *);
/* Reload the configuration; 0: the new one serves, -1: refused (res). */
int reload(const char *, struct diaglist *);
/* New CRLs from a distribution point: check the open connections. */
void dp_updated(const char *, void *);

/* ctl_cmd.c */

/* The control socket's commands. */
extern const struct ctl_command ctl_cmds[];
/* Append item to the "; "-separated list *out. */
void join(char **, const char *);

/* ctl_peers.c */

/* zones: every neighbor zone's peers, their state and why. */
int ctl_zones(const char *, struct ctl_reply *, void *);
/* zone NAME: one zone's peers, with their addresses and failures. */
int ctl_zone(const char *, struct ctl_reply *, void *);
/* connections: a summary of the TLS connections, then a page of them. */
int ctl_connections(const char *, struct ctl_reply *, void *);

#endif
