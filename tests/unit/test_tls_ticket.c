/*
 * test_tls_ticket.c: the session ticket key ring (rotation, decryption
 * with the previous key, expiry after two intervals) and the table of
 * accepted peers (generation, expiry, forgetting, the verification kept
 * with each) of tls/tls_ticket.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls/tls_ticket.h"

#define T0	1000000

/* A self-signed certificate named cn. */
static X509 *
make_cert(const char *cn, long serial)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(k);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	return x;
}

/* The current key's name and keys at now. */
static void
enc_key(unsigned char name[16], unsigned char aes[32], time_t now)
{
	unsigned char hmac[32];

	assert_int_equal(tls_ticket_key(1, name, aes, hmac, now), 1);
}

/* What decrypting a ticket named name gives at now (and its AES key). */
static int
dec_key(const unsigned char name[16], unsigned char aes[32], time_t now)
{
	unsigned char n[16], hmac[32];

	memcpy(n, name, 16);
	return tls_ticket_key(0, n, aes, hmac, now);
}

/* A key encrypts for one interval, decrypts (renew) for a second one. */
static void
test_rotation(void **state)
{
	unsigned char a[16], b[16], c[16], ka[32], kb[32], k[32];

	(void)state;
	tls_ticket_clear();
	assert_int_equal(tls_ticket_tick(10, T0), 10);
	enc_key(a, ka, T0);
	assert_int_equal(tls_ticket_tick(10, T0 + 4), 6);
	enc_key(b, kb, T0 + 4);
	assert_memory_equal(a, b, 16);		/* not rotated yet */
	assert_int_equal(dec_key(a, k, T0 + 5), 1);
	assert_memory_equal(k, ka, 32);

	assert_int_equal(tls_ticket_tick(10, T0 + 10), 10);	/* rotated */
	enc_key(b, kb, T0 + 10);
	assert_memory_not_equal(a, b, 16);
	assert_memory_not_equal(ka, kb, 32);
	/* The previous key still decrypts, and asks for a new ticket. */
	assert_int_equal(dec_key(a, k, T0 + 12), 2);
	assert_memory_equal(k, ka, 32);
	assert_int_equal(dec_key(b, k, T0 + 12), 1);
	assert_memory_equal(k, kb, 32);

	/* Two rotations later the first key is gone. */
	assert_int_equal(tls_ticket_tick(10, T0 + 20), 10);
	assert_int_equal(dec_key(a, k, T0 + 20), 0);
	assert_int_equal(dec_key(b, k, T0 + 20), 2);
	enc_key(c, k, T0 + 20);
	assert_memory_not_equal(c, a, 16);
	assert_memory_not_equal(c, b, 16);

	/* A rotation forced early: the key before it asks for renewal. */
	tls_ticket_rotate(T0 + 21);
	assert_int_equal(dec_key(c, k, T0 + 22), 2);
	assert_int_equal(dec_key(b, k, T0 + 22), 0);
	enc_key(a, k, T0 + 22);
	assert_memory_not_equal(a, c, 16);
	assert_int_equal(dec_key(a, k, T0 + 22), 1);
	tls_ticket_clear();
}

/* Without the timer, a key still stops decrypting two intervals after it
 * was made, and a late timer never lets an old key encrypt. */
static void
test_expiry(void **state)
{
	unsigned char a[16], b[16], x[16], ka[32], k[32];
	struct tls_ticket_stats st;

	(void)state;
	tls_ticket_clear();
	tls_ticket_tick(10, T0);
	enc_key(a, ka, T0);
	assert_int_equal(dec_key(a, k, T0 + 15), 2);
	assert_int_equal(dec_key(a, k, T0 + 19), 2);
	/* At T0 + 20 the ring still holds it (no tick), but it has expired. */
	assert_int_equal(dec_key(a, k, T0 + 20), 0);
	/* A clock gone back does not make it valid either. */
	assert_int_equal(dec_key(a, k, T0 - 1), 0);
	/* An unknown name. */
	memset(x, 0x5a, sizeof x);
	assert_int_equal(dec_key(x, k, T0 + 1), 0);
	/* Encrypting at T0 + 30 with no tick: a new key first. */
	tls_ticket_stats(&st);
	enc_key(b, k, T0 + 30);
	assert_memory_not_equal(a, b, 16);
	assert_int_equal(dec_key(a, k, T0 + 30), 0);
	tls_ticket_stats(&st);
	assert_true(st.rotations >= 2);
	tls_ticket_clear();
}

/* An accepted peer's tickets are usable under its generation only, until
 * its time, and not once forgotten. */
static void
test_peers(void **state)
{
	X509 *x = make_cert("peer one", 1), *y = make_cert("peer two", 2);
	STACK_OF(X509) *chain = sk_X509_new_null(), *got;
	unsigned long long g;
	struct tls_ticket_stats st;

	(void)state;
	tls_ticket_clear();
	sk_X509_push(chain, x);
	g = tls_ticket_generation();
	assert_int_equal(tls_ticket_usable(x, g, T0), 0);
	tls_ticket_accept(chain, NULL, tls_ticket_generation(), T0 + 100);
	assert_int_equal(tls_ticket_usable(x, g, T0), 1);
	assert_int_equal(tls_ticket_usable(x, g, T0 + 99), 1);
	assert_int_equal(tls_ticket_usable(x, g, T0 + 100), 0);	/* expired */
	assert_int_equal(tls_ticket_usable(x, g + 1, T0), 0);	/* other gen */
	assert_int_equal(tls_ticket_usable(y, g, T0), 0);	/* other peer */
	/* No client certificate: usable in its generation only. */
	assert_int_equal(tls_ticket_usable(NULL, g, T0), 1);
	assert_int_equal(tls_ticket_usable(NULL, g - 1, T0), 0);
	tls_ticket_stats(&st);
	assert_int_equal(st.peers, 1);

	got = tls_ticket_chain(x, NULL);
	assert_non_null(got);
	assert_int_equal(sk_X509_num(got), 1);
	assert_int_equal(X509_cmp(sk_X509_value(got, 0), x), 0);
	sk_X509_pop_free(got, X509_free);
	assert_null(tls_ticket_chain(y, NULL));

	/* A new generation: nothing so far is usable, the table is empty. */
	tls_ticket_new_generation();
	assert_int_equal(tls_ticket_generation(), g + 1);
	assert_int_equal(tls_ticket_usable(x, g, T0), 0);
	assert_int_equal(tls_ticket_usable(x, g + 1, T0), 0);
	assert_int_equal(tls_ticket_usable(NULL, g, T0), 0);
	assert_null(tls_ticket_chain(x, NULL));
	tls_ticket_stats(&st);
	assert_int_equal(st.peers, 0);

	/* Accepted again under it, then refused by the gate: forgotten. */
	tls_ticket_accept(chain, NULL, tls_ticket_generation(), T0 + 100);
	assert_int_equal(tls_ticket_usable(x, g + 1, T0), 1);
	tls_ticket_forget(y);
	assert_int_equal(tls_ticket_usable(x, g + 1, T0), 1);
	tls_ticket_forget(x);
	assert_int_equal(tls_ticket_usable(x, g + 1, T0), 0);
	tls_ticket_stats(&st);
	assert_int_equal(st.peers, 0);

	tls_ticket_accept(chain, NULL, tls_ticket_generation(), T0 + 100);
	tls_ticket_clear();		/* frees what the table holds */
	sk_X509_pop_free(chain, X509_free);
	X509_free(y);
}

/*
 * The verification kept with a peer comes back with its chain, under its
 * generation only; a peer accepted under a generation that is gone (a
 * check begun before a reload) is not kept.
 */
static void
test_records(void **state)
{
	X509 *x = make_cert("peer one", 1);
	STACK_OF(X509) *chain = sk_X509_new_null(), *got;
	struct tls_peer_record rec, out;
	unsigned long long g;

	(void)state;
	tls_ticket_clear();
	sk_X509_push(chain, x);
	memset(&rec, 0, sizeof rec);
	memset(&out, 0, sizeof out);
	rec.path = X509_chain_up_ref(chain);
	rec.pp.role = TLS_PEER_CLIENT;
	rec.pp.security_level = 2;
	rec.at = T0;
	rec.until = T0 + 50;
	g = tls_ticket_generation();
	tls_ticket_accept(chain, &rec, g, T0 + 100);
	got = tls_ticket_chain(x, &out);
	assert_non_null(got);
	assert_non_null(out.path);
	assert_int_equal(X509_cmp(sk_X509_value(out.path, 0), x), 0);
	assert_int_equal(out.at, T0);
	assert_int_equal(out.until, T0 + 50);
	assert_int_equal(out.pp.security_level, 2);
	sk_X509_pop_free(got, X509_free);

	/* Without a record: the chain, and out cleared. */
	tls_ticket_accept(chain, NULL, g, T0 + 100);
	got = tls_ticket_chain(x, &out);
	assert_non_null(got);
	assert_null(out.path);
	sk_X509_pop_free(got, X509_free);

	/* A generation that is gone: nothing kept, nothing usable. */
	tls_ticket_new_generation();
	tls_ticket_accept(chain, &rec, g, T0 + 100);
	assert_int_equal(tls_ticket_usable(x, g + 1, T0), 0);
	assert_null(tls_ticket_chain(x, &out));
	assert_null(out.path);

	tls_ticket_accept(chain, &rec, g + 1, T0 + 100);
	assert_int_equal(tls_ticket_usable(x, g + 1, T0), 1);
	tls_peer_record_clear(&rec);
	tls_ticket_clear();
	sk_X509_pop_free(chain, X509_free);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
