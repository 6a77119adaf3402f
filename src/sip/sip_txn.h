/*
 * sip_txn.h: SIP transactions (RFC 3261 s.17, with the Accepted state of
 * RFC 6026) for the proxy core.  A server transaction per incoming request,
 * a client transaction per forwarded branch; retransmissions, timers A-M
 * on the loop, ACK for non-2xx final responses, request and response
 * matching (s.17.1.3, s.17.2.3, with the RFC 2543 fallback), and the
 * CANCEL lookup of s.9.2.
 *
 * No sockets: messages leave through the send callback the user gives,
 * and come in through txn_recv_request() / txn_recv_response() with the
 * transport's origin of the message (struct sip_origin), which the
 * callbacks get back as an argument.  Whether a
 * destination is reliable (TCP, TLS) or not (UDP) is read from its
 * transport and changes the timers as s.17 says.  The transaction user
 * (the proxy core, "TU" in the RFC) hears about requests, responses,
 * timeouts and transport errors through callbacks.
 *
 * A transaction never terminates inside a call the user makes: every
 * termination happens from a timer on the loop (zero-delay for reliable
 * transports), after the terminated callback.  So a pointer the user got
 * is valid until its terminated callback, and callbacks may call back
 * into this module.
 */
#ifndef SE_SIP_TXN_H
#define SE_SIP_TXN_H

#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <osipparser2/osip_parser.h>

/* s.17.2.3: a branch that begins with it was made by an RFC 3261 client. */
#define TXN_COOKIE		"z9hG4bK"
/* Length of the branches txn_branch_new() makes: the cookie + 24 hex. */
#define TXN_BRANCH_LEN		(sizeof(TXN_COOKIE) - 1 + 24)

/*
 * Where a message goes.  For a server transaction, where its responses go
 * (s.18.2.2: the connection the request came on, or the address it came
 * from; txn_recv_request() takes it from the origin, flow being the
 * connection's sip_conn_id()); for a client transaction, the next hop.
 * Copied by the transaction; flow is a handle for the send callback (a
 * connection id) and is never dereferenced here.
 */
struct txn_dest {
	int			 transport;	/* enum transport; TP_UDP is unreliable */
	struct sockaddr_storage	 addr;		/* the peer; addrlen 0 if unknown */
	socklen_t		 addrlen;
	void			*flow;
};

struct txn;
struct txn_layer;
struct sip_origin;

enum txn_state {
	TXN_CALLING,		/* INVITE client: request sent, nothing back */
	TXN_TRYING,		/* non-INVITE: request sent / being processed */
	TXN_PROCEEDING,		/* a provisional response was received / sent */
	TXN_COMPLETED,		/* a final (non-2xx for INVITE) response */
	TXN_CONFIRMED,		/* INVITE server: the ACK came */
	TXN_ACCEPTED,		/* INVITE, RFC 6026: a 2xx passed through */
	TXN_TERMINATED
};

/* Why the TU hears about a client transaction. */
enum txn_event {
	TXN_EV_RESPONSE,	/* a response from the network */
	TXN_EV_TIMEOUT,		/* timer B or F fired (or the CANCEL wait of
				   s.9.1): the response is a local 408 */
	TXN_EV_TRANSPORT	/* the request could not be sent (s.17.1.4):
				   the response is a local 503 (s.16.9) */
};

/* What txn_recv_request() and txn_recv_response() did with a message. */
enum txn_recv {
	TXN_RECV_NEW,		/* request: a new server transaction; the
				   request callback ran */
	TXN_RECV_ABSORBED,	/* a retransmission or an ACK for a non-2xx
				   final, handled by its transaction */
	TXN_RECV_ACK,		/* an ACK outside any transaction (for a 2xx):
				   the request callback ran with st NULL */
	TXN_RECV_MATCHED,	/* response: passed to its client transaction */
	TXN_RECV_STRAY,		/* response matching no client transaction:
				   dropped, not forwarded statelessly (RFC
				   6026 s.7.2 for UACs, s.7.3 for proxies) */
	TXN_RECV_BAD,		/* no Via, CSeq or Call-ID: not handled */
	TXN_RECV_FULL		/* a new request while max_server server
				   transactions live: no transaction made,
				   no callback; the caller answers statelessly */
};

struct txn_cbs {
	/*
	 * Send buf to dest: 0 when the transport took it, -1 on a transport
	 * error (reported later through server_failed or response, never
	 * from inside the call that sent).
	 */
	int	(*send)(void *arg, const struct txn_dest *dest, const char *buf,
		    size_t len);
	/*
	 * A request for the core.  st is its new server transaction, to be
	 * answered with txn_respond(); st is NULL for an ACK that belongs to
	 * no transaction (the ACK for a 2xx, forwarded end to end, s.16.7 /
	 * RFC 6026 s.7.1).  m and o (where it came from, as given to
	 * txn_recv_request()) are the caller's, valid during the call.
	 */
	void	(*request)(void *arg, struct txn *st, osip_message_t *m,
		    const struct sip_origin *o);
	/*
	 * A response for client transaction ct: each provisional, the 2xx
	 * and each 2xx after it (RFC 6026 Accepted state), the first
	 * non-2xx final; or a local 408 / 503 (ev).  Retransmissions of a
	 * non-2xx final are absorbed.  resp is valid during the call; NULL
	 * only when a local response could not be built.  o is the origin
	 * given to txn_recv_response() (its raw text is resp's), NULL for a
	 * local response.
	 */
	void	(*response)(void *arg, struct txn *ct, enum txn_event ev,
		    osip_message_t *resp, const struct sip_origin *o);
	/*
	 * Server transaction st failed: TXN_EV_TIMEOUT when timer H fired
	 * without an ACK (s.17.2.1), TXN_EV_TRANSPORT when a response could
	 * not be sent (s.17.2.4).  Its terminated callback follows, except
	 * for an INVITE server transaction in the Proceeding or Accepted
	 * state, which lives on (RFC 6026 s.7.1, Figure 5).
	 */
	void	(*server_failed)(void *arg, struct txn *st, enum txn_event ev);
	/* t is about to be freed; drop every pointer to it.  May be NULL. */
	void	(*terminated)(void *arg, struct txn *t);
	void	*arg;
};

/* Send the 100 (Trying) of an INVITE server transaction at once. */
#define TXN_TRYING_NOW		(-1)

/* Timer values in milliseconds; 0 takes the default. */
struct txn_config {
	int	t1;		/* RTT estimate, s.17.1.1.1: 500 */
	int	t2;		/* retransmission cap, s.17.1.2.2: 4000 */
	int	t4;		/* network clearing time, s.17.1.2.2: 5000 */
	int	timer_d;	/* INVITE client Completed on UDP, s.17.1.1.2:
				   32000, the least the RFC allows; smaller
				   values are for tests */
	int	trying;		/* an INVITE server transaction sends 100
				   itself when the TU has sent nothing for
				   this long, s.17.2.1: 200; TXN_TRYING_NOW */
	size_t	max_server;	/* server transactions at once; 0: no limit */
};

/*
 * cbs is copied; send and request are required, response when client
 * transactions are used.  Never returns NULL.
 */
struct txn_layer	*txn_layer_new(struct event_base *base,
			    const struct txn_config *cfg,
			    const struct txn_cbs *cbs);
/* Free every transaction (no callbacks run) and the layer.  NULL is fine. */
void			 txn_layer_free(struct txn_layer *tl);
/* T1 for timers armed from now on (a reload). */
void			 txn_layer_set_t1(struct txn_layer *tl, int t1);
/* A new cap on server transactions (0: none); live ones are kept. */
void			 txn_layer_set_max_server(struct txn_layer *tl,
			    size_t max);
/* Live transactions (server and client). */
size_t			 txn_layer_count(const struct txn_layer *tl);

/*
 * A request from the network (checked by sip_msg_check()).  Matches it to
 * a server transaction (s.17.2.3) and absorbs retransmissions and ACKs for
 * non-2xx responses; otherwise creates the server transaction and runs the
 * request callback, or passes an ACK on with st NULL.  o is where m came
 * from: its connection or address is where responses go, and the
 * callback gets it back.  m and o are not kept.  A server transaction
 * has no timer before its first final response (s.17.2.1, s.17.2.2): the
 * TU must answer every request, as a proxy does when its branches end
 * (timers B, F, C).
 */
enum txn_recv		 txn_recv_request(struct txn_layer *tl,
			    osip_message_t *m, const struct sip_origin *o);
/*
 * A response from the network: matched by the top Via branch and the CSeq
 * method (s.17.1.3) to a client transaction, which may run the response
 * callback with o (NULL allowed).  m and o are not kept.
 */
enum txn_recv		 txn_recv_response(struct txn_layer *tl,
			    osip_message_t *m, const struct sip_origin *o);

/*
 * Answer on server transaction st.  resp is serialised (it may have been
 * edited: its text is always rebuilt) and not kept.  Returns 0 when the
 * response was handed to the transport (a transport error comes later
 * through server_failed), -1 when the state does not take it: after a
 * final response only the 2xx of an INVITE in the Accepted state passes
 * (RFC 6026 s.7.1); any other is discarded (s.17.2.2).
 */
int			 txn_respond(struct txn *st, osip_message_t *resp);
/* The same with a response as text (sip_msg_response()). */
int			 txn_respond_text(struct txn *st, const char *buf,
			    size_t len);
/*
 * The same with buf (len bytes) sent as it is: resp is its parsed form,
 * read for the status and the To tag only (a proxy forwards the text it
 * received, edited).
 */
int			 txn_respond_as(struct txn *st, const osip_message_t *resp,
			    const char *buf, size_t len);

/*
 * s.9.2: the server transaction a CANCEL request cancels, found by the
 * s.17.2.3 rules as if the CANCEL had the method of the request it
 * cancels; NULL when there is none.  Any state: txn_state() tells whether
 * a final response was sent already.
 */
struct txn		*txn_find_cancelled(struct txn_layer *tl,
			    const osip_message_t *cancel);

/*
 * Start a client transaction for req to dest.  req is taken (freed with
 * the transaction, or at once on failure).  Its top Via is ours: without
 * a branch one is made (txn_branch_new()); a branch without the magic
 * cookie is refused.  ACK has no client transaction (s.17.1): NULL.
 * Returns NULL with *cause (caller frees) when req cannot be sent.
 */
struct txn		*txn_client_new(struct txn_layer *tl,
			    osip_message_t *req, const struct txn_dest *dest,
			    void *user, char **cause);
/*
 * The same, sending text (len bytes, malloc'd; taken like req) as it is:
 * req is its parsed form, kept for matching responses and for the CANCEL
 * and the non-2xx ACK, so its top Via must carry our branch already.
 */
struct txn		*txn_client_new_text(struct txn_layer *tl,
			    osip_message_t *req, char *text, size_t len,
			    const struct txn_dest *dest, void *user,
			    char **cause);
/*
 * The same from text alone (taken; method not ACK, its top Via carrying
 * branch, which must begin with z9hG4bK; call_id for the log): the text
 * is parsed only if the non-2xx ACK, a CANCEL or a local 408/503 needs it,
 * so txn_request() is NULL until then.  The caller vouches that it parses
 * (a proxy forwarding what it parsed, with its edits).
 */
struct txn		*txn_client_new_raw(struct txn_layer *tl, char *text,
			    size_t len, const char *method, const char *branch,
			    const char *call_id, const struct txn_dest *dest,
			    void *user, char **cause);
/*
 * CANCEL an INVITE client transaction (s.9.1): the CANCEL goes to the
 * same destination with the same branch once a provisional response has
 * come, through a transaction of its own whose responses are absorbed.
 * If no final response comes 64*T1 after it, the INVITE transaction ends
 * with a TXN_EV_TIMEOUT.  0 when sent or pending (or already done), -1
 * when there is nothing to cancel (not an INVITE client transaction, or a
 * final response already came).
 */
int			 txn_client_cancel(struct txn *ct);

/* A new branch: TXN_COOKIE + 24 random hex digits, into TXN_BRANCH_LEN + 1 bytes. */
void			 txn_branch_new(char *buf);

/* The TU's pointer for t. */
void			*txn_user(const struct txn *t);
void			 txn_set_user(struct txn *t, void *user);
/*
 * The TU forgets t: no more callbacks for it; it runs to its end alone
 * (retransmissions, absorbing, ACKs) and is freed then.
 */
void			 txn_detach(struct txn *t);

enum txn_state		 txn_state(const struct txn *t);
/* The id of t in the log (txn=), unique in the layer. */
unsigned long long	 txn_id(const struct txn *t);
int			 txn_is_server(const struct txn *t);
int			 txn_is_invite(const struct txn *t);
/* The request method, and the top Via branch ("" for an RFC 2543 one). */
const char		*txn_method(const struct txn *t);
const char		*txn_branch(const struct txn *t);
/* Client: the request as sent (owned by t); NULL while one started by
   txn_client_new_raw() has not needed it parsed. */
const osip_message_t	*txn_request(const struct txn *t);
/* Server: the status of the last response sent, 0 if none. */
int			 txn_last_status(const struct txn *t);

#endif
