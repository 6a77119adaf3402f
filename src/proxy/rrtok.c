/*
 * rrtok.c: sealed Record-Route state and its key file.
 *
 * A token is base64url (no padding) of: the key id (1 byte), a random
 * nonce (12), the AES-256-GCM ciphertext of the claims, the tag (16).
 * The associated data is a label, the key id and the Call-ID, so a token
 * opens only under its key and for its dialog.  The claims: a version,
 * flags (side, direct), the pair id (8), the flow (8), the peer (2,
 * 0xffff for none), the zone name (length byte, bytes).  It must not log
 * (the proxy decides what a failure means) nor know SIP messages.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "proxy/rrtok.h"
#include "util/file.h"
#include "util/rnd.h"
#include "util/str.h"
#include "util/xmalloc.h"

#define TOK_VERSION	1
#define TOK_NONCE	12
#define TOK_TAG		16
#define TOK_AAD_LABEL	"sipedge-rr"
#define FLAG_CALLEE	0x01
#define FLAG_DIRECT	0x02
/* version, flags, pair, flow, peer, zone length */
#define CLAIMS_FIXED	(1 + 1 + 8 + 8 + 2 + 1)
#define TOK_BIN_MAX	(1 + TOK_NONCE + CLAIMS_FIXED + RRTOK_ZONE_MAX + TOK_TAG)

/* Room for the associated data on the stack; a longer one goes in two. */
#define AAD_STACK	256

/*
 * A key and its two AES-256-GCM contexts with the key schedule done
 * (NULL when OpenSSL could not make them: that key then fails to seal
 * and open); each use sets only the nonce.  The loop thread alone uses
 * them (rrtok.h).
 */
struct rrtok_key {
	int		 id;
	unsigned char	 key[RRTOK_KEY_LEN];
	EVP_CIPHER_CTX	*seal;
	EVP_CIPHER_CTX	*open;
};

struct rrtok_keys {
	struct rrtok_key	k[RRTOK_MAX_KEYS];
	size_t			n;	/* k[0] seals */
};

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of n bytes, no padding, into out (room for 4n/3+2). */
static size_t
b64_encode(const unsigned char *p, size_t n, char *out)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned)p[i] << 16;
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

/* Each base64url character's value plus one; 0 for any other byte. */
static const signed char b64_val[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31,
	['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41,
	['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46,
	['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51,
	['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61,
	['9'] = 62, ['-'] = 63, ['_'] = 64
};

/* The value of base64url character c, or -1. */
static int
b64_value(char c)
{
	return b64_val[(unsigned char)c] - 1;
}

/* Decode base64url text (no padding) into out (max bytes): length, -1. */
static long
b64_decode(const char *s, unsigned char *out, size_t max)
{
	size_t n = strlen(s), i, o = 0;
	unsigned v = 0;
	int bits = 0, d;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((d = b64_value(s[i])) < 0)
			return -1;
		v = (v << 6 | (unsigned)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == max)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	/* The unused low bits must be zero: one text per token. */
	if (bits > 0 && (v & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

static const struct rrtok_key *
key_by_id(const struct rrtok_keys *k, int id)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (k->k[i].id == id)
			return &k->k[i];
	return NULL;
}

/* AES-256-GCM, fetched once per process rather than at each token. */
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *gcm_cipher;

/* Fetch AES-256-GCM (pthread_once). */
static void
fetch_gcm(void)
{
	gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

/* A context for key that encrypts (enc) or decrypts, or NULL. */
static EVP_CIPHER_CTX *
ctx_new(const unsigned char *key, int enc)
{
	EVP_CIPHER_CTX *ctx;

	pthread_once(&gcm_once, fetch_gcm);
	if (gcm_cipher == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	if (EVP_CipherInit_ex2(ctx, gcm_cipher, NULL, NULL, enc, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TOK_NONCE,
	    NULL) != 1 ||
	    EVP_CipherInit_ex2(ctx, NULL, key, NULL, enc, NULL) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Both contexts of every key of k. */
static void
keys_ready(struct rrtok_keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		k->k[i].seal = ctx_new(k->k[i].key, 1);
		k->k[i].open = ctx_new(k->k[i].key, 0);
	}
}

/*
 * The associated data into ctx: label (with its NUL), key id, Call-ID;
 * in one piece when it fits on the stack, else in two (GCM hashes the
 * same bytes either way).  1 when OpenSSL took it.
 */
static int
put_aad(EVP_CIPHER_CTX *ctx, int id, const char *call_id)
{
	unsigned char a[AAD_STACK];
	size_t ll = sizeof TOK_AAD_LABEL, cl = strlen(call_id);
	int len;

	memcpy(a, TOK_AAD_LABEL, ll);
	a[ll] = (unsigned char)id;
	if (ll + 1 + cl <= sizeof a) {
		memcpy(a + ll + 1, call_id, cl);
		return EVP_CipherUpdate(ctx, NULL, &len, a, (int)(ll + 1 +
		    cl));
	}
	return EVP_CipherUpdate(ctx, NULL, &len, a, (int)(ll + 1)) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)call_id,
	    (int)cl) == 1;
}

/*
 * AES-256-GCM under key (its seal or open context, enc) with nonce and
 * the associated data of call_id, over in (n bytes) into out; the tag in
 * or out: 0, -1.
 */
static int
gcm(int enc, const struct rrtok_key *key, const unsigned char *nonce,
    const char *call_id, const unsigned char *in, size_t n,
    unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = enc ? key->seal : key->open;
	int len, ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, enc, NULL) == 1 &&
	    put_aad(ctx, key->id, call_id) == 1 &&
	    EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TOK_TAG,
		    tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &len) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TOK_TAG,
		    tag) == 1;
	return ok ? 0 : -1;
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int
rrtok_seal(const struct rrtok_keys *k, const struct rrtok *t,
    const char *call_id, char *buf, size_t bufsz)
{
	unsigned char claims[CLAIMS_FIXED + RRTOK_ZONE_MAX];
	unsigned char bin[TOK_BIN_MAX];
	size_t zl = strlen(t->zone), n;
	unsigned peer = t->peer >= 0 && t->peer < 0xffff ? (unsigned)t->peer :
	    0xffff;
	int rv;

	if (k == NULL || k->n == 0 || zl > RRTOK_ZONE_MAX ||
	    bufsz < (TOK_BIN_MAX * 4 + 2) / 3 + 1)
		return -1;
	claims[0] = TOK_VERSION;
	claims[1] = (t->side == RRTOK_CALLEE ? FLAG_CALLEE : 0) |
	    (t->direct ? FLAG_DIRECT : 0);
	put_u64(claims + 2, t->pair);
	put_u64(claims + 10, (uint64_t)t->flow);
	claims[18] = (unsigned char)(peer >> 8);
	claims[19] = (unsigned char)(peer & 0xff);
	claims[20] = (unsigned char)zl;
	memcpy(claims + CLAIMS_FIXED, t->zone, zl);
	n = CLAIMS_FIXED + zl;
	bin[0] = (unsigned char)k->k[0].id;
	rnd_bytes(bin + 1, TOK_NONCE);	/* 96 random bits, no syscall (rnd.h) */
	rv = gcm(1, &k->k[0], bin + 1, call_id, claims, n,
	    bin + 1 + TOK_NONCE, bin + 1 + TOK_NONCE + n);
	OPENSSL_cleanse(claims, sizeof claims);
	if (rv == -1)
		return -1;
	b64_encode(bin, 1 + TOK_NONCE + n + TOK_TAG, buf);
	return 0;
}

int
rrtok_open(const struct rrtok_keys *k, const char *text, const char *call_id,
    struct rrtok *t, const char **why)
{
	unsigned char bin[TOK_BIN_MAX], claims[TOK_BIN_MAX];
	const struct rrtok_key *key;
	size_t n, zl;
	unsigned peer;
	long len;
	int rv;

	memset(t, 0, sizeof *t);
	t->peer = -1;
	if (text == NULL || strlen(text) > RRTOK_TEXT_MAX ||
	    (len = b64_decode(text, bin, sizeof bin)) < 1 + TOK_NONCE +
	    CLAIMS_FIXED + TOK_TAG) {
		*why = "a malformed token";
		return -1;
	}
	if (k == NULL || (key = key_by_id(k, bin[0])) == NULL) {
		*why = "a token under a key this node does not hold";
		return -1;
	}
	n = (size_t)len - 1 - TOK_NONCE - TOK_TAG;
	rv = gcm(0, key, bin + 1, call_id, bin + 1 + TOK_NONCE, n,
	    claims, bin + 1 + TOK_NONCE + n);
	if (rv == -1) {
		*why = "a token that is not genuine for this dialog";
		return -1;
	}
	zl = claims[20];
	if (claims[0] != TOK_VERSION || CLAIMS_FIXED + zl != n) {
		*why = "a token of an unknown format";
		return -1;
	}
	t->side = claims[1] & FLAG_CALLEE ? RRTOK_CALLEE : RRTOK_CALLER;
	t->direct = (claims[1] & FLAG_DIRECT) != 0;
	t->pair = get_u64(claims + 2);
	t->flow = (unsigned long long)get_u64(claims + 10);
	peer = (unsigned)claims[18] << 8 | claims[19];
	t->peer = peer == 0xffff ? -1 : (int)peer;
	memcpy(t->zone, claims + CLAIMS_FIXED, zl);
	t->zone[zl] = '\0';
	OPENSSL_cleanse(claims, sizeof claims);
	return 0;
}

uint64_t
rrtok_pair_new(void)
{
	unsigned char b[8];

	rnd_bytes(b, sizeof b);
	return get_u64(b);
}

/* --- keys ------------------------------------------------------------ */

/* One "ID HEX" line into *key: 0, or -1 with *why. */
static int
parse_line(char *s, struct rrtok_key *key, const char **why)
{
	char *end;
	long id;
	size_t i;

	id = strtol(s, &end, 10);
	if (end == s || (*end != ' ' && *end != '\t') || id < 0 || id > 255) {
		*why = "expected a key id from 0 to 255, then the key";
		return -1;
	}
	for (s = end; *s == ' ' || *s == '\t'; s++)
		;
	for (end = s + strlen(s); end > s && (end[-1] == ' ' ||
	    end[-1] == '\t' || end[-1] == '\r'); end--)
		;
	if (end - s != 2 * RRTOK_KEY_LEN) {
		*why = "a key is 64 hex digits (32 random bytes)";
		return -1;
	}
	for (i = 0; i < RRTOK_KEY_LEN; i++) {
		int hi = str_hexval(s[2 * i]), lo = str_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			*why = "a key is 64 hex digits (32 random bytes)";
			return -1;
		}
		key->key[i] = (unsigned char)(hi << 4 | lo);
	}
	key->id = (int)id;
	return 0;
}

/* A new key file at path: one random key, id 1. */
static int
create_file(const char *path, char **cause)
{
	unsigned char key[RRTOK_KEY_LEN];
	char text[256], *copy, *dir;
	size_t i, o;
	int rv;

	copy = xstrdup(path);
	dir = dirname(copy);
	rv = file_mkdir_p(dir, 0750, cause);
	free(copy);
	if (rv == -1)
		return -1;
	if (RAND_bytes(key, sizeof key) != 1) {
		*cause = xasprintf("%s: no random bytes for a new key", path);
		return -1;
	}
	o = (size_t)snprintf(text, sizeof text, "# sipedge Record-Route keys "
	    "(sipedged(8)): ID HEX, the first seals.\n1 ");
	for (i = 0; i < sizeof key; i++)
		o += (size_t)snprintf(text + o, sizeof text - o, "%02x", key[i]);
	o += (size_t)snprintf(text + o, sizeof text - o, "\n");
	OPENSSL_cleanse(key, sizeof key);
	rv = file_write_atomic(path, text, o, 0600, cause);
	OPENSSL_cleanse(text, sizeof text);
	return rv;
}

struct rrtok_keys *
rrtok_keys_load(const char *path, int create, int *created, char **cause)
{
	struct rrtok_keys *k;
	struct stat st;
	const char *why;
	char line[512];
	FILE *fp;
	int lineno = 0;

	if (created != NULL)
		*created = 0;
	if (create && stat(path, &st) == -1 && errno == ENOENT) {
		if (create_file(path, cause) == -1)
			return NULL;
		if (created != NULL)
			*created = 1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: cannot read the Record-Route key file: "
		    "%s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == -1 || (st.st_mode & 077) != 0) {
		*cause = xasprintf("%s: the Record-Route key file must not be "
		    "accessible by group or others (chmod 600)", path);
		fclose(fp);
		return NULL;
	}
	k = xcalloc(1, sizeof *k);
	while (fgets(line, sizeof line, fp) != NULL) {
		char *s = line;
		struct rrtok_key key = { 0 };

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#' || *s == '\r')
			continue;
		if (parse_line(s, &key, &why) == -1)
			goto bad;
		if (key_by_id(k, key.id) != NULL) {
			why = "this key id is already used above";
			goto bad;
		}
		if (k->n == RRTOK_MAX_KEYS) {
			why = "too many keys (at most 16)";
			goto bad;
		}
		k->k[k->n++] = key;
		OPENSSL_cleanse(&key, sizeof key);
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(fp);
	if (k->n == 0) {
		*cause = xasprintf("%s: the Record-Route key file holds no key",
		    path);
		rrtok_keys_free(k);
		return NULL;
	}
	keys_ready(k);
	return k;
bad:
	OPENSSL_cleanse(line, sizeof line);
	*cause = xasprintf("%s:%d: %s", path, lineno, why);
	fclose(fp);
	rrtok_keys_free(k);
	return NULL;
}

struct rrtok_keys *
rrtok_keys_random(void)
{
	struct rrtok_keys *k = xcalloc(1, sizeof *k);

	if (RAND_bytes(k->k[0].key, RRTOK_KEY_LEN) != 1)
		abort();	/* no randomness: nothing is safe any more */
	k->k[0].id = 0;
	k->n = 1;
	keys_ready(k);
	return k;
}

void
rrtok_keys_free(struct rrtok_keys *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++) {
		EVP_CIPHER_CTX_free(k->k[i].seal);
		EVP_CIPHER_CTX_free(k->k[i].open);
	}
	OPENSSL_cleanse(k, sizeof *k);
	free(k);
}

int
rrtok_keys_current(const struct rrtok_keys *k)
{
	return k != NULL && k->n > 0 ? k->k[0].id : -1;
}

size_t
rrtok_keys_count(const struct rrtok_keys *k)
{
	return k != NULL ? k->n : 0;
}
