/*
 * proxy_int.h: what the proxy core's files share: the proxy, a forward
 * and its targets, a verified Route pair, and the functions they call
 * across proxy.c (the object, messages in and out, local answers),
 * proxy_request.c (a new request and the ACK for a 2xx), proxy_fwd.c (a
 * forward's branches, responses and end), proxy_target.c (targets and
 * where the next branch or an ACK goes), proxy_edit.c (the forwarded
 * text), proxy_rr.c (Record-Route and Route) and proxy_loop.c (loop
 * detection).  Private: included only by those files; callers use
 * proxy.h.
 */
#ifndef SE_PROXY_INT_H
#define SE_PROXY_INT_H

#include <stdint.h>

#include <event2/event.h>
#include <osipparser2/osip_parser.h>

#include "conf/conf.h"
#include "proxy/proxy.h"
#include "proxy/rrtok.h"
#include "proxy/zreg.h"
#include "sip/sip_edit.h"
#include "sip/sip_msg.h"
#include "sip/sip_transport.h"
#include "sip/sip_txn.h"

#define MF_DEFAULT	70
#define PX_RETRY_AFTER	"30"

/* One place a request may go: a zone, a flow, or the R-URI's address. */
struct target {
	char			*zone;	/* neighbor zone, or NULL */
	char			*uri;	/* request-URI to send; NULL: as is */
	char			*rule;	/* "name (priority N)" for logs */
	unsigned long long	 flow;	/* in-dialog: the caller's connection */
	int			 direct;	/* in-dialog: the R-URI's address,
					   as the sealed entry says */
	int			 peer;	/* in-dialog: the zone peer of the
					   dialog, tried first; -1 */
};

/* A request being forwarded: its server transaction and its branches. */
struct fwd {
	struct proxy		*px;
	const struct zreg	*zr;		/* the configuration it started
						   under (a reference) */
	struct fwd		*prev, *next;
	struct txn		*st;		/* NULL once it ended */
	osip_message_t		*req;		/* after Route processing */
	char			*text;		/* the request to send: the
						   received text with Route,
						   Max-Forwards and the top Via
						   edited; branches add theirs */
	size_t			 textlen;
	char			*call_id;
	char			*method;
	char			*src_zone;
	char			*rr_in;		/* Record-Route facing the caller */
	uint64_t		 pair;		/* the pair id of ours */
	char			*dialog;	/* its Call-ID, as tokens bind it */
	uint64_t		 loop;		/* s.16.6 step 8 hash */
	struct target		*tg;
	size_t			 ntg;
	size_t			 ti;		/* the target being tried */
	size_t			 peer_from;	/* next peer index in its zone */
	struct txn		*ct;		/* the branch in flight */
	int			 cur_peer;	/* its zone peer index, -1 */
	char			*ct_zone;	/* its zone and peer, for logs */
	char			*ct_peer;
	struct event		*timer_c;
	int			 got_provisional;
	int			 cancelled;
	int			 final;		/* a final response went up */
	int			 fail_status;	/* 408 or 503: why the last
						   branch failed */
	char			*fail_reason;
};

struct proxy {
	struct event_base	*base;
	struct sip_transport	*t;
	struct zones		*zs;
	struct trav		*trav;
	struct txn_layer	*tl;
	const struct zreg	*zr;		/* the configuration: a
						   reference to its snapshot */
	const struct conf	*conf;		/* zr->conf; proxy_conf() */
	char *const		*names;		/* the snapshot's (held by zr) */
	size_t			  nnames;
	const struct rrtok_keys	 *keys;		/* Record-Route tokens */
	struct rrtok_keys	 *own_keys;	/* when given none */
	struct fwd		*fwds;
	struct proxy_stats	  st;
};

/* Where an in-dialog request (or ACK) goes, from its Route (proxy_rr.c). */
struct dialog_hop {
	int			 ours;		/* in-dialog and our Route entries
						   were there: verified, or
						   refused */
	const char		*refused;	/* why they are not followed */
	char			*detail;	/* more for the log, or NULL */
	/* where the request goes: the last entry popped */
	char			*zone;
	int			 peer;		/* zone peer index, -1 */
	unsigned long long	 flow;
	int			 direct;	/* the R-URI's own address */
	int			 strict;	/* the R-URI came from the last
						   Route (a strict router) */
	int			 popped;	/* Route entries removed from the
						   top */
};

/* The configuration in use: every reader goes through here. */
static inline const struct conf *
proxy_conf(const struct proxy *px)
{
	return px->conf;
}

/* proxy.c: messages, names, local answers. */
/* A URI as text, malloc'd ("" when it cannot be printed). */
char		*proxy_uri_text(const osip_uri_t *u);
/* The tag of a From or To header, or NULL. */
const char	*proxy_tag_of(osip_from_t *f);
/* The value of URI parameter name ("" without one), or NULL. */
const char	*proxy_uri_param(const osip_uri_t *u, const char *name);
/* Is host one of this node's names or addresses (or local)? */
int		 proxy_is_us(const struct proxy *px, const char *host,
		    const char *local);
/* The zone a message from o belongs to. */
const char	*proxy_source_zone(struct proxy *px,
		    const struct sip_origin *o);
/* With log_messages on for its zone, the whole text of a message. */
void		 proxy_log_message(struct proxy *px, const char *event,
		    int transport, const struct sockaddr *sa,
		    struct sip_conn *c, const char *buf, size_t len);
/* Answer the request of st here: status, a Warning with why, extra. */
void		 proxy_respond(struct proxy *px, struct txn *st,
		    const osip_message_t *req, const struct sip_src *src,
		    int status, const char *why, const char *const *extra);

/* proxy_request.c: the request callback of the transaction layer. */
void		 proxy_request_in(void *arg, struct txn *st, osip_message_t *m,
		    const struct sip_origin *o);

/* proxy_fwd.c: a forward's branches and end. */
/* Free f and drop it from its proxy; detaches its transactions. */
void		 proxy_fwd_free(struct fwd *f);
/* Why the last branch of f failed (status 4xx/5xx, why). */
void		 proxy_fwd_fail(struct fwd *f, int status, const char *why);
/* The final response of f made here, once, with a log line. */
void		 proxy_fwd_final(struct fwd *f, int status, const char *why);
/* Send one branch of f for tg to dest: 0 when under way. */
int		 proxy_fwd_send_branch(struct fwd *f, const struct target *tg,
		    struct txn_dest *dest, const char *zone, const char *peer,
		    const char *local_ip);
/* The transaction layer's response, server_failed and terminated. */
void		 proxy_fwd_response(void *arg, struct txn *ct,
		    enum txn_event ev, osip_message_t *resp,
		    const struct sip_origin *o);
void		 proxy_fwd_server_failed(void *arg, struct txn *st,
		    enum txn_event ev);
void		 proxy_fwd_terminated(void *arg, struct txn *t);

/* proxy_target.c: targets and next hops (forwarding and ACK). */
/* Free what a target holds. */
void		 proxy_target_clear(struct target *t);
/* "ip" or "[ip]" for a URI or Via, into buf. */
void		 proxy_target_host(const char *ip, char *buf, size_t bufsz);
/* This node's address toward transport / family af: 0, or -1. */
int		 proxy_target_local_addr(struct proxy *px, int transport,
		    int af, const char *fallback_ip, char *host, size_t hostsz,
		    int *port);
/* Try the next peer / target until a branch is under way or none is left. */
void		 proxy_target_next(struct fwd *f);
/* The targets of an out-of-dialog request from the search rules. */
int		 proxy_target_rules(struct fwd *f, char **cause);
/* The single target of an in-dialog request: 0, or -1 with *why. */
int		 proxy_target_dialog(struct fwd *f, const struct dialog_hop *dh,
		    const char **why);
/* Where the ACK m for a 2xx goes (dh from its Route): 0, or -1 with *why. */
int		 proxy_target_ack(struct proxy *px, osip_message_t *m,
		    const char *src, struct dialog_hop *dh,
		    struct txn_dest *dest, struct sip_conn **cp,
		    const char **why);

/* proxy_edit.c: the forwarded text (sip_edit). */
void		 proxy_edit_max_forwards(struct sip_edit *e, osip_message_t *m);
void		 proxy_edit_length(struct sip_edit *e);
void		 proxy_edit_request_line(struct sip_edit *e, const char *method,
		    const char *uri);
void		 proxy_edit_received(struct sip_edit *e,
		    const osip_message_t *m, const struct sip_origin *o);
void		 proxy_edit_mark_received(osip_message_t *m,
		    const struct sip_origin *o);
/* Our Via on top: transport, host, port, branch, ";rport" when asked. */
void		 proxy_edit_via(struct sip_edit *e, int transport,
		    const char *host, int port, const char *branch, int rport);

/* proxy_rr.c: Record-Route and Route. */
/* The Call-ID of m as one string (its dialog binding); malloc'd. */
char		*proxy_rr_dialog_id(const osip_message_t *m);
/* s.16.4 with DESIGN.md decision 14: Route processing of m from o. */
void		 proxy_rr_route(struct proxy *px, osip_message_t *m,
		    const struct sip_origin *o, const char *src,
		    struct dialog_hop *dh);
/* Free what proxy_rr_route() put in dh. */
void		 proxy_rr_hop_clear(struct dialog_hop *dh);
/* The same Route processing on the text. */
void		 proxy_rr_edit_routes(struct sip_edit *e,
		    const osip_message_t *m, const struct dialog_hop *dh);
/* The entry facing the caller of f (from o, zone): f->rr_in; 0 or -1. */
int		 proxy_rr_caller(struct fwd *f, const struct sip_origin *o,
		    const char *zone);
/* Both entries of f on the branch text e toward zone: 0 or -1. */
int		 proxy_rr_insert(struct fwd *f, struct sip_edit *e,
		    const char *host, int port, int transport,
		    const char *zone);

/* proxy_loop.c: loop detection (s.16.3 step 4, s.16.6 step 8). */
/* The loop-detection hash of a request as received. */
uint64_t	 proxy_loop_hash(const osip_message_t *m);
/* A Via of ours whose branch carries hash: the request looped. */
int		 proxy_loop_found(const struct proxy *px,
		    const osip_message_t *m, uint64_t hash);
/* A branch of ours for hash into buf: the cookie, our mark, the hash. */
void		 proxy_loop_branch(uint64_t hash, char *buf, size_t bufsz);

#endif
