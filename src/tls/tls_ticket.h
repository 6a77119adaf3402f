/*
 * tls_ticket.h: TLS session resumption for inbound TLS (RFC 5077 tickets
 * in TLS 1.2, RFC 8446 s.4.6.1 tickets in TLS 1.3), stateless, under the
 * peer gate's policy.
 *
 * One process-wide key ring: a current key that encrypts new tickets and
 * the previous one, which still decrypts (and asks for a new ticket); a
 * key is rotated out every interval, so a ticket lives one to two
 * intervals.  And one table of the peers the gate accepted, keyed by the
 * SHA-256 of their certificate, with the generation they were accepted
 * under and the chain they presented.  A ticket carries the generation it
 * was issued under; it is used only when that generation is the current
 * one and its peer is in the table under it (or the session has no client
 * certificate), otherwise the handshake is a full one.  The gate starts a new generation whenever the trust list,
 * the zones or the CRLs may have changed (every reload, every CRL update),
 * which empties the table.  The gate checks a resumed peer again with the
 * chain the table kept; under the same generation the path it verified
 * is reused while no certificate's validity changed (tls_peer_reuse),
 * and its zone, name and revocation status are checked as for every
 * other peer.
 *
 * A ticket names the peer's certificate by its SHA-256 besides carrying
 * it (OpenSSL puts it in every ticket): the table's key, not computed
 * again when the ticket comes back.
 *
 * The OpenSSL callbacks installed here may run on any thread: they read
 * only the state below under its mutex, never log and never touch the
 * event loop.  Everything else is called from the loop.
 */
#ifndef SE_TLS_TICKET_H
#define SE_TLS_TICKET_H

#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls/tls_peer.h"

/*
 * Set ctx up for inbound TLS: resumption on (stateless tickets through
 * the key ring, a session lifetime of two intervals) or, with on 0, off
 * (no tickets, no session cache: every connection shows its whole chain).
 */
void		 tls_ticket_setup(SSL_CTX *ctx, int on, int interval);

/*
 * Set the rotation interval (seconds, > 0) and rotate when the current
 * key is that old or there is none yet; returns the seconds until the next
 * rotation is due.  Called by the loop's timer and after each reload.
 */
int		 tls_ticket_tick(int interval, time_t now);

/* Make a new current key at once (the previous one still decrypts). */
void		 tls_ticket_rotate(time_t now);

/*
 * The key for a ticket: with enc 1, the current key (its name into name);
 * with enc 0, the key named name if it still decrypts at now.  Its AES-256
 * and HMAC-SHA256 keys into aes and hmac.  Returns 1 (use it), 2 (use it,
 * and issue a new ticket: an older key), 0 (no such key: full handshake).
 */
int		 tls_ticket_key(int enc, unsigned char name[16],
		    unsigned char aes[32], unsigned char hmac[32], time_t now);

/* A new generation: tickets and accepted peers so far are not used. */
void		 tls_ticket_new_generation(void);

/*
 * The gate accepted the peer whose chain (leaf first) is chain, with the
 * verification rec (NULL: none to reuse; tls_peer.h), under generation
 * gen, until until (at most): tickets of this generation that name its
 * certificate may be used.  Nothing is kept when gen is no longer the
 * current one (the gate's check began before a reload or a CRL update).
 * The table takes its own references; a full table forgets an older
 * peer.
 */
void		 tls_ticket_accept(STACK_OF(X509) *chain,
		    const struct tls_peer_record *rec, unsigned long long gen,
		    time_t until);

/* The gate refused the peer of leaf: no ticket of it is used. */
void		 tls_ticket_forget(X509 *leaf);

/*
 * Whether a ticket of leaf, issued under generation gen, may be used at
 * now: 1 or 0.  A session without a client certificate (leaf NULL) has
 * nothing the gate could skip: its ticket is usable in its generation.
 */
int		 tls_ticket_usable(X509 *leaf, unsigned long long gen,
		    time_t now);

/* The current generation (what a ticket issued now carries). */
unsigned long long tls_ticket_generation(void);

/*
 * The chain the gate accepted for leaf under the current generation (a
 * new stack of new references, leaf first; the caller frees it), or NULL
 * when the table has none.  rec, when not NULL, receives a copy of the
 * verification kept with it (clear when none; the caller clears it).
 */
STACK_OF(X509)	*tls_ticket_chain(X509 *leaf, struct tls_peer_record *rec);

/*
 * The peer of ssl, a TLS session resumed from a ticket: the chain the
 * table holds for the certificate its ticket names (a new stack of new
 * references, leaf first; the caller frees it) and, when rec is not
 * NULL, a copy of the verification kept with it.  NULL with *named 0 when
 * the ticket names no certificate, with *named 1 when the table no
 * longer holds it.  (A ticket names the certificate by its digest, so
 * that it is not computed again.)
 */
STACK_OF(X509)	*tls_ticket_resumed(SSL *ssl, struct tls_peer_record *rec,
		    int *named);

/* Counters for status. */
struct tls_ticket_stats {
	unsigned long	 issued;	/* tickets made */
	unsigned long	 used;		/* tickets accepted: resumed */
	unsigned long	 ignored;	/* tickets refused: full handshake */
	unsigned long	 rotations;
	size_t		 peers;		/* in the table */
};
void		 tls_ticket_stats(struct tls_ticket_stats *st);

/* Forget the keys and the table (at exit). */
void		 tls_ticket_clear(void);

#endif
