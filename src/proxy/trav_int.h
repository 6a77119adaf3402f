/*
 * trav_int.h: what trav.c (the zones and the client) and trav_server.c
 * (the server side) share; not for other files.
 */
#ifndef SE_TRAV_INT_H
#define SE_TRAV_INT_H

#include <time.h>

#include "conf/conf.h"
#include "net/net_addr.h"
#include "proxy/trav.h"

struct link;
struct zreg;
struct zreg_zone;

/* One traversal zone, client or server. */
struct tzone {
	struct trav		*tv;
	/* The settings, read from the zone registry it holds a reference
	 * to; the strings point into it. */
	const struct zreg	*zr;
	const struct zreg_zone	*cfg;
	const char		*name;
	int			 server;	/* traversal-server */
	const char		*username;
	const char		*peer_name;	/* expected identity, or NULL */
	time_t			 since;
	char			*failure;	/* last failure, or NULL */
	unsigned long		 count;		/* server: flows bound */

	/* server */
	unsigned long long	 flow;		/* bound connection id, 0 */
	char			 peer[NET_ADDRSTRLEN + 8];	/* its client */

	/* client */
	char *const		*peers;
	size_t			 npeers;
	int			 port;
	const char		*password;
	int			 keepalive;
	int			 pong_timeout;
	int			 retry_max;
	struct link		*link;		/* resolve, connect, keepalive */
	struct event		*regto;		/* REGISTER timeout */
	char			 call_id[40];
	char			 from_tag[20];
	int			 cseq;
	int			 authed;	/* sent credentials already */
	int			 answered;	/* the server answered REGISTER */
};

/* The traversal zones of the running configuration. */
struct trav {
	struct event_base	*base;
	struct sip_transport	*t;
	struct evdns_base	*dns;
	struct tzone		**v;
	size_t			 n;
	const struct zreg	*zr;		/* realm, credentials (a ref) */
	const char		*realm;
	const struct conf_cred	*creds;
	size_t			 ncreds;
	unsigned char		 key[32];	/* nonces */
};

/* z's last failure (copied), or none. */
void	trav_set_failure(struct tzone *z, const char *why);
/* Raise (with why) or clear the zone's alarm. */
void	trav_zone_alarm(struct tzone *z, int raise, const char *why);

/* trav_server.c */
/* A message on a server zone's port: 1 when handled there. */
int	trav_server_message(struct trav *tv, struct tzone *z,
	    const struct sip_origin *o, osip_message_t *m);
/* The server zone's bound flow, or NULL. */
struct sip_conn *trav_server_conn(struct trav *tv, const struct tzone *z);
/* Close the server zone's flow, if any (the zone goes away). */
void	trav_server_release(struct tzone *z, const char *why);
/* Borrow the realm and the credentials of configuration c (the caller
 * holds the registry c belongs to). */
void	trav_server_creds(struct trav *tv, const struct conf *c);

#endif
