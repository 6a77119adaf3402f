/*
 * tls_ticket.c: the session ticket key ring and the table of peers the
 * gate accepted (tls_ticket.h).  All state is behind one mutex, because
 * OpenSSL may call the callbacks here from a handshake thread; they never
 * log and never touch the event loop.  A peer's certificate is never
 * trusted because of a ticket: the table only says which tickets may skip
 * the full handshake, and the gate checks every resumed peer again (with
 * the path it verified under the same generation, tls_peer_reuse).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tls/tls_ticket.h"

/* Peers kept, direct-mapped by their certificate's digest (a power of 2). */
#define TT_NPEERS	1024
/*
 * What a ticket carries: this, then the generation (8 bytes, big-endian),
 * then, when the peer had a certificate, its SHA-256 (the table's key).
 */
#define TT_MAGIC	"SEt2"
#define TT_APPLEN	12
#define TT_APPLEN_MD	(TT_APPLEN + 32)

/* One ticket key: its name on the wire, its AES and HMAC keys. */
struct tkey {
	unsigned char	 name[16];
	unsigned char	 aes[32];
	unsigned char	 hmac[32];
	time_t		 made;
	int		 live;
};

/* One accepted peer. */
struct tpeer {
	unsigned char		 md[32];	/* SHA-256 of its certificate */
	unsigned long long	 gen;
	time_t			 until;
	STACK_OF(X509)		*chain;		/* as presented, leaf first */
	struct tls_peer_record	 rec;		/* its verification */
};

/* AES-256-CBC, fetched once (tls_ticket_setup) rather than per ticket. */
static pthread_once_t aes_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aes_cbc;

static struct {
	pthread_mutex_t		 mu;
	struct tkey		 keys[2];	/* current, previous */
	int			 interval;	/* seconds */
	unsigned long long	 gen;
	struct tpeer		*peers;		/* TT_NPEERS, or NULL */
	struct tls_ticket_stats	 st;
} R = { PTHREAD_MUTEX_INITIALIZER, { { { 0 }, { 0 }, { 0 }, 0, 0 } }, 3600,
    1, NULL, { 0, 0, 0, 0, 0 } };

/* The SHA-256 of x's DER into md: 0, or -1. */
static int
leaf_md(X509 *x, unsigned char md[32])
{
	unsigned int n = 0;

	if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return -1;
	return 0;
}

/* A copy of chain holding its own references. */
static STACK_OF(X509) *
chain_dup(STACK_OF(X509) *chain)
{
	STACK_OF(X509) *c = sk_X509_new_null();
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		X509_up_ref(sk_X509_value(chain, i));
		sk_X509_push(c, sk_X509_value(chain, i));
	}
	return c;
}

/* The slot of md in the table, made on first use (the lock held). */
static struct tpeer *
slot(const unsigned char md[32])
{
	if (R.peers == NULL)
		R.peers = OPENSSL_zalloc(TT_NPEERS * sizeof *R.peers);
	if (R.peers == NULL)
		return NULL;
	return &R.peers[(md[0] | (md[1] << 8)) & (TT_NPEERS - 1)];
}

/* Empty a slot (the lock held); what it held goes into *old, for
 * freeing with tpeer_free once the lock is released. */
static void
slot_clear(struct tpeer *p, struct tpeer *old)
{
	if (p->chain != NULL)
		R.st.peers--;
	*old = *p;
	memset(p, 0, sizeof *p);
}

/* Free what a slot held (outside the lock). */
static void
tpeer_free(struct tpeer *old)
{
	sk_X509_pop_free(old->chain, X509_free);
	tls_peer_record_clear(&old->rec);
}

/* Shift the current key to previous and make a new one (the lock held). */
static void
rotate_locked(time_t now)
{
	struct tkey k;

	memset(&k, 0, sizeof k);
	if (RAND_bytes(k.name, sizeof k.name) == 1 &&
	    RAND_bytes(k.aes, sizeof k.aes) == 1 &&
	    RAND_bytes(k.hmac, sizeof k.hmac) == 1) {
		k.made = now;
		k.live = 1;
	}
	OPENSSL_cleanse(&R.keys[1], sizeof R.keys[1]);
	R.keys[1] = R.keys[0];
	R.keys[0] = k;
	OPENSSL_cleanse(&k, sizeof k);
	R.st.rotations++;
}

void
tls_ticket_rotate(time_t now)
{
	pthread_mutex_lock(&R.mu);
	rotate_locked(now);
	pthread_mutex_unlock(&R.mu);
}

int
tls_ticket_tick(int interval, time_t now)
{
	time_t due;

	pthread_mutex_lock(&R.mu);
	if (interval > 0)
		R.interval = interval;
	if (!R.keys[0].live || now - R.keys[0].made >= R.interval ||
	    now < R.keys[0].made)
		rotate_locked(now);
	due = R.keys[0].made + R.interval - now;
	if (due > R.interval)
		due = R.interval;
	pthread_mutex_unlock(&R.mu);
	return due < 1 ? 1 : (int)due;
}

/* Copy key k out; 1, or 2 when it is no longer the current key or older
 * than one interval (a new ticket then). */
static int
key_out(const struct tkey *k, unsigned char aes[32], unsigned char hmac[32],
    time_t now)
{
	memcpy(aes, k->aes, 32);
	memcpy(hmac, k->hmac, 32);
	return k == &R.keys[0] && now - k->made < R.interval ? 1 : 2;
}

int
tls_ticket_key(int enc, unsigned char name[16], unsigned char aes[32],
    unsigned char hmac[32], time_t now)
{
	int i, r = 0;

	pthread_mutex_lock(&R.mu);
	if (enc) {
		/* The loop's timer may be late: never encrypt with an old key. */
		if (!R.keys[0].live || now - R.keys[0].made >= R.interval ||
		    now < R.keys[0].made)
			rotate_locked(now);
		if (R.keys[0].live) {
			memcpy(name, R.keys[0].name, 16);
			r = key_out(&R.keys[0], aes, hmac, now);
		}
	} else {
		for (i = 0; i < 2 && r == 0; i++) {
			const struct tkey *k = &R.keys[i];

			if (k->live && memcmp(k->name, name, 16) == 0 &&
			    now >= k->made && now - k->made < 2 * R.interval)
				r = key_out(k, aes, hmac, now);
		}
	}
	pthread_mutex_unlock(&R.mu);
	return r;
}

void
tls_ticket_new_generation(void)
{
	struct tpeer old;
	size_t i;

	pthread_mutex_lock(&R.mu);
	R.gen++;
	for (i = 0; R.peers != NULL && i < TT_NPEERS; i++) {
		slot_clear(&R.peers[i], &old);
		tpeer_free(&old);
	}
	pthread_mutex_unlock(&R.mu);
}

unsigned long long
tls_ticket_generation(void)
{
	unsigned long long g;

	pthread_mutex_lock(&R.mu);
	g = R.gen;
	pthread_mutex_unlock(&R.mu);
	return g;
}

void
tls_ticket_accept(STACK_OF(X509) *chain, const struct tls_peer_record *rec,
    unsigned long long gen, time_t until)
{
	unsigned char md[32];
	struct tpeer new, old;
	struct tpeer *p;

	if (sk_X509_num(chain) < 1 || leaf_md(sk_X509_value(chain, 0), md) == -1)
		return;
	memset(&new, 0, sizeof new);
	memset(&old, 0, sizeof old);
	memcpy(new.md, md, sizeof md);
	new.gen = gen;
	new.until = until;
	new.chain = chain_dup(chain);
	if (rec != NULL)
		tls_peer_record_copy(&new.rec, rec);
	pthread_mutex_lock(&R.mu);
	if (gen == R.gen && (p = slot(md)) != NULL) {
		slot_clear(p, &old);
		*p = new;
		memset(&new, 0, sizeof new);
		R.st.peers++;
	}
	pthread_mutex_unlock(&R.mu);
	tpeer_free(&old);
	tpeer_free(&new);
}

/* The slot holding leaf under the current generation (the lock held). */
static struct tpeer *
find_locked(const unsigned char md[32])
{
	struct tpeer *p;

	if (R.peers == NULL)
		return NULL;
	p = &R.peers[(md[0] | (md[1] << 8)) & (TT_NPEERS - 1)];
	if (p->chain == NULL || p->gen != R.gen || memcmp(p->md, md, 32) != 0)
		return NULL;
	return p;
}

void
tls_ticket_forget(X509 *leaf)
{
	unsigned char md[32];
	struct tpeer old;
	struct tpeer *p;

	if (leaf_md(leaf, md) == -1)
		return;
	memset(&old, 0, sizeof old);
	pthread_mutex_lock(&R.mu);
	if ((p = find_locked(md)) != NULL)
		slot_clear(p, &old);
	pthread_mutex_unlock(&R.mu);
	tpeer_free(&old);
}

/* Whether a ticket naming the certificate of digest md (NULL: none),
 * issued under generation gen, may be used at now. */
static int
usable_md(const unsigned char *md, unsigned long long gen, time_t now)
{
	struct tpeer *p;
	int ok;

	pthread_mutex_lock(&R.mu);
	if (md == NULL)
		ok = gen == R.gen;	/* nothing to skip: the gate decides */
	else
		ok = gen == R.gen && (p = find_locked(md)) != NULL &&
		    now < p->until;
	pthread_mutex_unlock(&R.mu);
	return ok;
}

int
tls_ticket_usable(X509 *leaf, unsigned long long gen, time_t now)
{
	unsigned char md[32];

	if (leaf == NULL)
		return usable_md(NULL, gen, now);
	if (leaf_md(leaf, md) == -1)
		return 0;
	return usable_md(md, gen, now);
}

/* The chain kept for the certificate of digest md, and its record. */
static STACK_OF(X509) *
chain_by_md(const unsigned char md[32], struct tls_peer_record *rec)
{
	STACK_OF(X509) *c = NULL;
	struct tpeer *p;

	if (rec != NULL)
		tls_peer_record_clear(rec);
	pthread_mutex_lock(&R.mu);
	if ((p = find_locked(md)) != NULL) {
		c = chain_dup(p->chain);
		if (rec != NULL)
			tls_peer_record_copy(rec, &p->rec);
	}
	pthread_mutex_unlock(&R.mu);
	return c;
}

STACK_OF(X509) *
tls_ticket_chain(X509 *leaf, struct tls_peer_record *rec)
{
	unsigned char md[32];

	if (rec != NULL)
		tls_peer_record_clear(rec);
	if (leaf_md(leaf, md) == -1)
		return NULL;
	return chain_by_md(md, rec);
}

/* The generation and the certificate digest (NULL: none) a ticket's
 * session carries: 0, or -1 when it is not one of ours. */
static int
appdata(SSL_SESSION *ss, unsigned long long *gen, const unsigned char **md)
{
	void *data = NULL;
	size_t len = 0;
	const unsigned char *app;
	int i;

	if (ss == NULL || SSL_SESSION_get0_ticket_appdata(ss, &data, &len) != 1 ||
	    (len != TT_APPLEN && len != TT_APPLEN_MD) ||
	    memcmp(data, TT_MAGIC, 4) != 0)
		return -1;
	app = data;
	for (*gen = 0, i = 0; i < 8; i++)
		*gen = (*gen << 8) | app[4 + i];
	*md = len == TT_APPLEN_MD ? app + TT_APPLEN : NULL;
	return 0;
}

STACK_OF(X509) *
tls_ticket_resumed(SSL *ssl, struct tls_peer_record *rec, int *named)
{
	SSL_SESSION *ss = SSL_get0_session(ssl);
	const unsigned char *md = NULL;
	unsigned long long gen;
	unsigned char own[32];
	X509 *peer;

	*named = 0;
	if (rec != NULL)
		tls_peer_record_clear(rec);
	if (appdata(ss, &gen, &md) == -1)
		md = NULL;
	if (md == NULL && (peer = SSL_SESSION_get0_peer(ss)) != NULL &&
	    leaf_md(peer, own) == 0)
		md = own;
	if (md == NULL)
		return NULL;
	*named = 1;
	return chain_by_md(md, rec);
}

void
tls_ticket_stats(struct tls_ticket_stats *st)
{
	pthread_mutex_lock(&R.mu);
	*st = R.st;
	pthread_mutex_unlock(&R.mu);
}

void
tls_ticket_clear(void)
{
	struct tpeer old;
	size_t i;

	pthread_mutex_lock(&R.mu);
	for (i = 0; R.peers != NULL && i < TT_NPEERS; i++) {
		slot_clear(&R.peers[i], &old);
		tpeer_free(&old);
	}
	OPENSSL_free(R.peers);
	R.peers = NULL;
	OPENSSL_cleanse(R.keys, sizeof R.keys);
	pthread_mutex_unlock(&R.mu);
}

/* OpenSSL's ticket key callback: the ring's keys, AES-256-CBC and HMAC. */
static int
key_cb(SSL *s, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	unsigned char aes[32], hmac[32];
	OSSL_PARAM params[3];
	int r, ok;

	(void)s;
	r = tls_ticket_key(enc, name, aes, hmac, time(NULL));
	if (r == 0)
		return 0;
	if (enc && RAND_bytes(iv, 16) != 1) {
		OPENSSL_cleanse(aes, sizeof aes);
		OPENSSL_cleanse(hmac, sizeof hmac);
		return -1;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, hmac,
	    sizeof hmac);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	ok = aes_cbc != NULL && (enc ?
	    EVP_EncryptInit_ex2(cctx, aes_cbc, aes, iv, NULL) :
	    EVP_DecryptInit_ex2(cctx, aes_cbc, aes, iv, NULL)) == 1 &&
	    EVP_MAC_CTX_set_params(hctx, params) == 1;
	OPENSSL_cleanse(aes, sizeof aes);
	OPENSSL_cleanse(hmac, sizeof hmac);
	return ok ? r : -1;
}

/* A ticket being made: it carries the current generation and the digest
 * of the peer's certificate (the table's key, not computed again when the
 * ticket comes back). */
static int
gen_cb(SSL *s, void *arg)
{
	unsigned char app[TT_APPLEN_MD];
	SSL_SESSION *ss = SSL_get0_session(s);
	X509 *peer = SSL_SESSION_get0_peer(ss);
	size_t len = TT_APPLEN;
	unsigned long long g;
	int i;

	(void)arg;
	pthread_mutex_lock(&R.mu);
	g = R.gen;
	R.st.issued++;
	pthread_mutex_unlock(&R.mu);
	memcpy(app, TT_MAGIC, 4);
	for (i = 0; i < 8; i++)
		app[4 + i] = (unsigned char)(g >> (56 - 8 * i));
	if (peer != NULL && leaf_md(peer, app + TT_APPLEN) == 0)
		len = TT_APPLEN_MD;
	return SSL_SESSION_set1_ticket_appdata(ss, app, len);
}

/* Whether the session of a ticket decrypted may be resumed now. */
static int
session_usable(SSL_SESSION *ss)
{
	const unsigned char *md = NULL;
	unsigned long long g = 0;

	if (appdata(ss, &g, &md) == -1)
		return 0;
	if (md != NULL)
		return usable_md(md, g, time(NULL));
	return tls_ticket_usable(SSL_SESSION_get0_peer(ss), g, time(NULL));
}

/* A ticket offered: use it only under the policy it was issued under. */
static SSL_TICKET_RETURN
dec_cb(SSL *s, SSL_SESSION *ss, const unsigned char *keyname, size_t klen,
    SSL_TICKET_STATUS status, void *arg)
{
	int use = 0;

	(void)s;
	(void)keyname;
	(void)klen;
	(void)arg;
	switch (status) {
	case SSL_TICKET_FATAL_ERR_MALLOC:
	case SSL_TICKET_FATAL_ERR_OTHER:
		return SSL_TICKET_RETURN_ABORT;
	case SSL_TICKET_SUCCESS:
	case SSL_TICKET_SUCCESS_RENEW:
		use = session_usable(ss);
		break;
	default:	/* none offered, or not one of our keys */
		if (status == SSL_TICKET_EMPTY)
			return SSL_TICKET_RETURN_IGNORE_RENEW;
		break;
	}
	pthread_mutex_lock(&R.mu);
	if (use)
		R.st.used++;
	else
		R.st.ignored++;
	pthread_mutex_unlock(&R.mu);
	if (!use)
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	return status == SSL_TICKET_SUCCESS_RENEW ?
	    SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_USE;
}

/* The cipher of the tickets, once per process. */
static void
fetch_aes(void)
{
	aes_cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
}

void
tls_ticket_setup(SSL_CTX *ctx, int on, int interval)
{
	static const unsigned char sid[] = "sipedge";

	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (!on) {
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		return;
	}
	pthread_once(&aes_once, fetch_aes);
	/* A client certificate with a ticket needs a session id context. */
	SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_timeout(ctx, 2L * (interval > 0 ? interval : 3600));
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, key_cb);
	SSL_CTX_set_session_ticket_cb(ctx, gen_cb, dec_cb, NULL);
}
