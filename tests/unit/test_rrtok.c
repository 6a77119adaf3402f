/*
 * test_rrtok.c: sealed Record-Route state.  A token opens to what was
 * sealed, only for its Call-ID and under a key the set holds; any one
 * character changed spoils it; a rotated key file (new key first, old
 * kept) opens old tokens and seals with the new key; the key file is
 * created 0600 and its errors name their line.  A token is the format
 * rrtok.c describes, whatever the Call-ID's length (checked here with
 * OpenSSL directly).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "proxy/rrtok.h"
#include "util/xmalloc.h"

static char dir[4096];

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof dir, "%s/sipedge-rrtok-XXXXXX",
	    t != NULL ? t : "/tmp");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rv = system(cmd);

	(void)state;
	free(cmd);
	return rv == 0 ? 0 : -1;
}

/* A file in dir with text and mode; its path (caller frees). */
static char *
put(const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void
sample(struct rrtok *t)
{
	memset(t, 0, sizeof *t);
	t->side = RRTOK_CALLEE;
	t->direct = 0;
	t->pair = 0x0123456789abcdefULL;
	t->flow = 42;
	t->peer = 3;
	snprintf(t->zone, sizeof t->zone, "partner");
}

static void
test_roundtrip(void **state)
{
	struct rrtok_keys *k = rrtok_keys_random();
	struct rrtok t, u;
	char tok[RRTOK_TEXT_MAX], bad[RRTOK_TEXT_MAX];
	const char *why = NULL;
	size_t i, n;

	(void)state;
	sample(&t);
	assert_int_equal(rrtok_seal(k, &t, "abc@host", tok, sizeof tok), 0);
	assert_null(strstr(tok, "partner"));
	assert_int_equal(rrtok_open(k, tok, "abc@host", &u, &why), 0);
	assert_int_equal(u.side, RRTOK_CALLEE);
	assert_int_equal(u.direct, 0);
	assert_true(u.pair == t.pair);
	assert_true(u.flow == 42);
	assert_int_equal(u.peer, 3);
	assert_string_equal(u.zone, "partner");
	/* Another dialog: refused. */
	assert_int_equal(rrtok_open(k, tok, "abc@hosT", &u, &why), -1);
	assert_non_null(why);
	/* Every single character changed: refused. */
	n = strlen(tok);
	for (i = 0; i < n; i++) {
		memcpy(bad, tok, n + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_int_equal(rrtok_open(k, bad, "abc@host", &u, &why), -1);
	}
	/* Truncated, extended, not base64url. */
	memcpy(bad, tok, n + 1);
	bad[n - 1] = '\0';
	assert_int_equal(rrtok_open(k, bad, "abc@host", &u, &why), -1);
	snprintf(bad, sizeof bad, "%sA", tok);
	assert_int_equal(rrtok_open(k, bad, "abc@host", &u, &why), -1);
	assert_int_equal(rrtok_open(k, "a=b", "abc@host", &u, &why), -1);
	assert_int_equal(rrtok_open(k, "", "abc@host", &u, &why), -1);
	/* Two seals of the same claims differ (random nonce). */
	assert_int_equal(rrtok_seal(k, &t, "abc@host", bad, sizeof bad), 0);
	assert_string_not_equal(tok, bad);
	/* No peer, no flow, direct, the caller's side. */
	t.peer = -1;
	t.flow = 0;
	t.direct = 1;
	t.side = RRTOK_CALLER;
	assert_int_equal(rrtok_seal(k, &t, "", tok, sizeof tok), 0);
	assert_int_equal(rrtok_open(k, tok, "", &u, &why), 0);
	assert_int_equal(u.peer, -1);
	assert_int_equal(u.direct, 1);
	assert_int_equal(u.side, RRTOK_CALLER);
	rrtok_keys_free(k);
}

static void
test_key_file(void **state)
{
	struct rrtok_keys *k, *k2, *other;
	struct rrtok t, u;
	struct stat st;
	char tok[RRTOK_TEXT_MAX], *path, *text, *cause = NULL;
	const char *why;
	int created = 0;
	FILE *f;
	long n;

	(void)state;
	path = xasprintf("%s/state/route.key", dir);
	/* Not there, not to be created. */
	assert_null(rrtok_keys_load(path, 0, &created, &cause));
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	/* Created with its directory, 0600, one key, id 1. */
	k = rrtok_keys_load(path, 1, &created, &cause);
	assert_non_null(k);
	assert_int_equal(created, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rrtok_keys_current(k), 1);
	assert_int_equal(rrtok_keys_count(k), 1);
	/* Loaded again: the same key opens what the first sealed. */
	k2 = rrtok_keys_load(path, 1, &created, &cause);
	assert_non_null(k2);
	assert_int_equal(created, 0);
	sample(&t);
	assert_int_equal(rrtok_seal(k, &t, "c", tok, sizeof tok), 0);
	assert_int_equal(rrtok_open(k2, tok, "c", &u, &why), 0);
	rrtok_keys_free(k2);
	/* Rotated: a new key first, the old one kept. */
	f = fopen(path, "r");
	assert_non_null(f);
	text = xcalloc(1, 4096);
	n = (long)fread(text, 1, 4095, f);
	fclose(f);
	assert_true(n > 0);
	{
		char *rot = xasprintf("9 %s\n%s", "00112233445566778899aabbccddeeff"
		    "00112233445566778899aabbccddeeff", text);
		char *p2 = put("rotated.key", rot, 0600);

		k2 = rrtok_keys_load(p2, 0, NULL, &cause);
		assert_non_null(k2);
		assert_int_equal(rrtok_keys_current(k2), 9);
		assert_int_equal(rrtok_keys_count(k2), 2);
		assert_int_equal(rrtok_open(k2, tok, "c", &u, &why), 0);
		assert_int_equal(rrtok_seal(k2, &t, "c", tok, sizeof tok), 0);
		/* The old set does not hold key 9. */
		assert_int_equal(rrtok_open(k, tok, "c", &u, &why), -1);
		assert_string_equal(why,
		    "a token under a key this node does not hold");
		rrtok_keys_free(k2);
		free(rot);
		free(p2);
	}
	/* A different key with the same id: not genuine. */
	other = rrtok_keys_random();
	assert_int_equal(rrtok_seal(other, &t, "c", tok, sizeof tok), 0);
	assert_int_equal(rrtok_open(k, tok, "c", &u, &why), -1);
	rrtok_keys_free(other);
	rrtok_keys_free(k);
	free(text);
	free(path);
}

/* load must fail with a cause containing want. */
static void
bad_file(const char *text, mode_t mode, const char *want)
{
	char *path = put("bad.key", text, mode), *cause = NULL;

	assert_null(rrtok_keys_load(path, 0, NULL, &cause));
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\" lacks \"%s\"", cause, want);
	free(cause);
	free(path);
}

static void
test_bad_files(void **state)
{
	const char *hex = "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff";
	char *two;

	(void)state;
	bad_file("# nothing\n\n", 0600, "holds no key");
	bad_file("1 abcd\n", 0600, "bad.key:1: a key is 64 hex digits");
	bad_file("# c\n300 00\n", 0600, "bad.key:2: expected a key id");
	bad_file("x 00\n", 0600, "bad.key:1: expected a key id");
	two = xasprintf("1 %s\n1 %s\n", hex, hex);
	bad_file(two, 0600, "bad.key:2: this key id is already used");
	bad_file(two + 0, 0640, "must not be accessible by group or others");
	free(two);
	two = xasprintf("1 %.63sg\n", hex);
	bad_file(two, 0600, "bad.key:1: a key is 64 hex digits");
	free(two);
}

/* The 6-bit value of a base64url character (the test's own decoder). */
static unsigned
b64v(char c)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_", *p = strchr(a, c);

	assert_non_null(p);
	return (unsigned)(p - a);
}

/* base64url text (no padding) into out: its length. */
static size_t
unb64(const char *s, unsigned char *out)
{
	unsigned v = 0;
	size_t o = 0;
	int bits = 0;

	for (; *s != '\0'; s++) {
		v = v << 6 | b64v(*s);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	return o;
}

/*
 * Open tok (sealed under key id with key) with one-shot OpenSSL calls
 * and the associated data "sipedge-rr" NUL, id, call_id: the zone it
 * holds must be zone.
 */
static void
open_by_hand(const char *tok, int id, const unsigned char *key,
    const char *call_id, const char *zone)
{
	unsigned char bin[1024], aad[1024], out[1024];
	size_t n = unb64(tok, bin), cl = strlen(call_id), al;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len, m = (int)n - 1 - 12 - 16;

	assert_int_equal(bin[0], id);
	memcpy(aad, "sipedge-rr", 11);
	aad[11] = (unsigned char)id;
	memcpy(aad + 12, call_id, cl);
	al = 12 + cl;
	assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
	    bin + 1), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)al), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, out, &len, bin + 13, m), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
	    bin + 13 + m), 1);
	assert_int_equal(EVP_DecryptFinal_ex(ctx, out + len, &len), 1);
	EVP_CIPHER_CTX_free(ctx);
	assert_int_equal(out[0], 1);		/* version */
	assert_int_equal(out[20], strlen(zone));
	assert_memory_equal(out + 21, zone, strlen(zone));
}

/* Tokens for a short and a long Call-ID, opened by hand and by rrtok. */
static void
test_format(void **state)
{
	static const unsigned char key[32] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	char *path, *cause = NULL, tok[RRTOK_TEXT_MAX], cid[700];
	const char *cids[3] = { "abc@host", cid + 400, cid }, *why;
	struct rrtok_keys *k;
	struct rrtok t, u;
	size_t i;

	(void)state;
	memset(cid, 'x', sizeof cid - 1);
	cid[sizeof cid - 1] = '\0';
	path = put("format.key", "7 00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff\n", 0600);
	k = rrtok_keys_load(path, 0, NULL, &cause);
	assert_non_null(k);
	sample(&t);
	for (i = 0; i < 3; i++) {
		assert_int_equal(rrtok_seal(k, &t, cids[i], tok, sizeof tok), 0);
		open_by_hand(tok, 7, key, cids[i], "partner");
		assert_int_equal(rrtok_open(k, tok, cids[i], &u, &why), 0);
		assert_string_equal(u.zone, "partner");
		assert_int_equal(rrtok_open(k, tok, cids[(i + 1) % 3], &u,
		    &why), -1);
	}
	rrtok_keys_free(k);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
