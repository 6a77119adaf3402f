/*
 * sip_txn_int.h: what the transaction layer's files share: the records
 * (struct txn, its tables, the layer) and the functions they call across
 * sip_txn.c (tables, timers, life and death, the one state change),
 * sip_txn_client.c (client transactions, s.17.1) and sip_txn_server.c
 * (server transactions, s.17.2).  Private: included only by those three;
 * callers use sip_txn.h.
 */
#ifndef SE_SIP_TXN_INT_H
#define SE_SIP_TXN_INT_H

#include <sys/queue.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <osipparser2/osip_parser.h>

#include "sip/sip_txn.h"

enum txn_kind {
	IST,		/* INVITE server, s.17.2.1 */
	NIST,		/* non-INVITE server, s.17.2.2 */
	ICT,		/* INVITE client, s.17.1.1 */
	NICT		/* non-INVITE client, s.17.1.2 */
};

struct txn {
	LIST_ENTRY(txn)		 link;		/* in its table's bucket */
	struct txn_layer	*tl;
	unsigned long long	 id;		/* txn= in the log */
	enum txn_kind		 kind;
	enum txn_state		 state;		/* txn_enter_state() only */
	int			 started;	/* a state was entered */
	unsigned		 hash;
	int			 linked;	/* in a table */
	int			 reliable;	/* TCP or TLS */
	int			 rfc3261;	/* the branch has the cookie */
	int			 detached;	/* the TU wants no callbacks */
	int			 internal;	/* our own CANCEL: never reported */
	int			 cancel;	/* client: CANCEL asked for */
	int			 cancel_sent;
	int			 failed;	/* a send failed; ev_err pending */
	char			*method;
	char			*branch;	/* "" for an RFC 2543 request */
	char			*log_call_id;	/* the Call-ID, for the log */
	/* Server, s.17.2.3: the top Via's sent-by. */
	char			*sent_host;
	char			*sent_port;	/* NULL when absent */
	/* Server, RFC 2543 matching (branch without the cookie). */
	char			*ruri;
	char			*call_id;
	char			*cseq_num;
	char			*from_tag;
	char			*to_tag;
	char			*via;
	char			*resp_tag;	/* To tag of our final response */
	struct txn_dest		 dest;
	/* Client: the request; server: the last response sent. */
	char			*out;
	size_t			 outlen;
	int			 out_status;
	char			*trying;	/* INVITE server: 100 not sent yet */
	size_t			 tryinglen;
	char			*ack;		/* INVITE client: ACK for non-2xx */
	size_t			 acklen;
	osip_message_t		*req;		/* client: the request, owned */
	int64_t			 retx_due;	/* us, monotonic */
	int			 retx_ms;	/* the interval just scheduled */
	struct event		*ev_retx;
	struct event		*ev_end;
	struct event		*ev_aux;
	struct event		*ev_err;
	void			*user;
	struct event		 end_ev;	/* ev_end's storage */
	/* Strings kept with t in the same allocation (txn_keep). */
	char			*mem_cur;
	char			*mem_end;
	char			 mem[];
};

LIST_HEAD(txn_list, txn);

/* Chained hash table; grows by doubling, never shrinks. */
struct txn_table {
	struct txn_list	*b;
	size_t		 nb;		/* a power of two */
	size_t		 n;
};

struct txn_layer {
	struct event_base	*base;
	struct txn_config	 cfg;
	struct txn_cbs		 cbs;
	struct txn_table	 server;	/* by branch, or Call-ID (RFC 2543) */
	struct txn_table	 client;	/* by our branch */
	unsigned long long	 next_id;	/* the last id given */
};

#define T1(t)	((t)->tl->cfg.t1)
#define T2(t)	((t)->tl->cfg.t2)
#define T4(t)	((t)->tl->cfg.t4)

/* sip_txn.c: hashing, tables and message pieces. */
/* FNV-1a over the lower-cased s. */
unsigned		 txn_hash_str(const char *s);
/* Insert t (its hash set) into tb. */
void			 txn_table_add(struct txn_table *tb, struct txn *t);
/* The bucket of tb for hash. */
struct txn_list		*txn_bucket(struct txn_table *tb, unsigned hash);
/* An osip string into our own allocation, the osip one freed. */
char			*txn_from_osip(char *s);
/* The topmost Via of m, or NULL. */
osip_via_t		*txn_top_via(const osip_message_t *m);
/* The value of Via parameter name, or NULL. */
const char		*txn_via_param(const osip_via_t *v, const char *name);
/* The tag of a From or To header, or NULL. */
const char		*txn_tag_of(const osip_from_t *f);
/* Does branch begin with the magic cookie (s.17.2.3)? */
int			 txn_is_cookie(const char *branch);
/* The text of m, malloc'd, its length in *lenp; NULL on failure. */
char			*txn_msg_text(osip_message_t *m, size_t *lenp);

/* sip_txn.c: timers. */
/* Start (or restart) the timer *evp (made on first use) ms from now. */
void			 txn_arm(struct txn *t, struct event **evp,
			    event_callback_fn cb, int ms);
/* The end timer of t (B D F H I J K L M, the CANCEL wait) ms from now. */
void			 txn_arm_end(struct txn *t, int ms);
/* Stop a timer, if it was ever made. */
void			 txn_disarm(struct event *ev);
/* The first retransmission ms from now (A, E, G). */
void			 txn_retx_start(struct txn *t, int ms);
/* The next retransmission ms after the one just due. */
void			 txn_retx_next(struct txn *t, int ms);

/* sip_txn.c: life and death. */
/* A new transaction of kind toward d with the Call-ID of m; no table. */
struct txn		*txn_alloc(struct txn_layer *tl, enum txn_kind kind,
			    const struct txn_dest *d, const osip_message_t *m);
/* The same with room bytes more for txn_keep (the Call-ID is kept there). */
struct txn		*txn_alloc_room(struct txn_layer *tl,
			    enum txn_kind kind, const struct txn_dest *d,
			    const osip_message_t *m, size_t room);
/* A copy of s for t: in its room when it fits, else malloc'd. */
char			*txn_keep(struct txn *t, const char *s);
/* Every state change of t: logs old -> new at debug level. */
void			 txn_enter_state(struct txn *t, enum txn_state s);
/* Does the TU want to hear about t? */
int			 txn_reportable(const struct txn *t);
/* The Terminated state: the terminated callback, then freed.  Timers only. */
void			 txn_terminate(struct txn *t);
/* Hand buf to the transport; a failure is reported on a later turn. */
void			 txn_transmit(struct txn *t, const char *buf,
			    size_t len);

/* sip_txn_client.c: the client side of the timers. */
/* Timers A and E fired. */
void			 txn_client_retx(struct txn *t);
/* Timers B D F K M or the CANCEL wait fired. */
void			 txn_client_end(struct txn *t);
/* A send failed earlier (s.17.1.4). */
void			 txn_client_err(struct txn *t);

/* sip_txn_server.c: the server side of the timers. */
/* Timer G fired. */
void			 txn_server_retx(struct txn *t);
/* Timers H I J L fired. */
void			 txn_server_end(struct txn *t);
/* A send failed earlier (s.17.2.4, RFC 6026 Figure 5). */
void			 txn_server_err(struct txn *t);

#endif
