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
	struct event		*logwrite;	 /* writes the log batch (log.h) */
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
void		 reload_free_slots(struct slot *v, size_t n);
/* Make the open listeners match conf c; -1 and *cause: nothing changed. */
int		 reload_listeners(const struct conf *c, char **cause);
/* Log each diagnostic; errors at level error, warnings at warn. */
void		 reload_log_diags(const struct diaglist *dl);
/* Point the log at the sinks c names; -1 and *cause when it cannot. */
int		 reload_apply_log(const struct conf *c, char **cause);
/* Log the identity in use: certificate, alarms, trust list and CRLs. */
void		 reload_announce(const struct snapshot *s);
/* The alarms that follow from time passing (certificate, CAs, CRLs). */
void		 reload_alarms(void);
/* The hourly timer's callback: reload_alarms(). */
void		 reload_alarm_timer_cb(evutil_socket_t fd, short what,
		    void *arg);
/* Whether s can be committed (what can fail, tried aside); -1, *cause. */
int		 reload_prepare(const struct snapshot *s, char **cause);
/* Make snapshot s current (takes the caller's reference). */
void		 reload_install(struct snapshot *s);
/* Reload the configuration file; 0: the new one serves, -1: refused.  The
 * errors and warnings are logged and added to res. */
int		 reload_config(const char *trigger, struct diaglist *res);
/* New CRLs from a distribution point: check the open connections. */
void		 reload_dp_updated(const char *url, void *arg);

/* ctl_cmd.c */

/* The control socket's commands, for ctl_server_open(). */
extern const struct ctl_command ctl_cmd_table[];
/* Append item to the "; "-separated list *out (NULL: empty). */
void		 ctl_cmd_join(char **out, const char *item);

/* ctl_peers.c */

/* zones: every neighbor zone's peers, their state and why. */
int		 ctl_peers_zones(const char *args, struct ctl_reply *r,
		    void *arg);
/* zone NAME: one zone's peers, with their addresses and failures. */
int		 ctl_peers_zone(const char *args, struct ctl_reply *r, void *arg);
/* connections: a summary of the TLS connections, then a page of them. */
int		 ctl_peers_connections(const char *args, struct ctl_reply *r,
		    void *arg);

#endif
