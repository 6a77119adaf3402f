/*
 * digest.c: SIP digest authentication, RFC 7616 hashes.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proxy/digest.h"
#include "util/xmalloc.h"

/* Hash the ':'-joined strings into lower-case hex. */
static void
hash_join(int sha256, const char *const *parts, size_t n,
    char out[DIGEST_HEX_MAX])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	size_t k;

	EVP_DigestInit_ex(ctx, sha256 ? EVP_sha256() : EVP_md5(), NULL);
	for (k = 0; k < n; k++) {
		if (k > 0)
			EVP_DigestUpdate(ctx, ":", 1);
		EVP_DigestUpdate(ctx, parts[k], strlen(parts[k]));
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * mdlen] = '\0';
}

void
digest_ha1(int sha256, const char *user, const char *realm,
    const char *password, char out[DIGEST_HEX_MAX])
{
	const char *p[3] = { user, realm, password };

	hash_join(sha256, p, 3, out);
}

void
digest_response(int sha256, const char *ha1, const char *nonce,
    const char *nc, const char *cnonce, const char *qop, const char *method,
    const char *uri, char out[DIGEST_HEX_MAX])
{
	const char *a2[2] = { method, uri };
	char ha2[DIGEST_HEX_MAX];
	const char *p[6];

	hash_join(sha256, a2, 2, ha2);
	p[0] = ha1;
	p[1] = nonce;
	if (qop != NULL) {
		p[2] = nc;
		p[3] = cnonce;
		p[4] = qop;
		p[5] = ha2;
		hash_join(sha256, p, 6, out);
	} else {
		p[2] = ha2;
		hash_join(sha256, p, 3, out);
	}
}

static void
nonce_mac(const unsigned char *key, size_t keylen, const char *stamp,
    char hex[33])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)stamp,
	    strlen(stamp), mac, &maclen);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

void
digest_nonce(const unsigned char *key, size_t keylen, time_t now, char *buf,
    size_t bufsz)
{
	char stamp[32], mac[33];

	snprintf(stamp, sizeof stamp, "%llx", (unsigned long long)now);
	nonce_mac(key, keylen, stamp, mac);
	snprintf(buf, bufsz, "%s.%s", stamp, mac);
}

int
digest_nonce_check(const unsigned char *key, size_t keylen, const char *nonce,
    time_t now, int max_age)
{
	char stamp[32], mac[33];
	const char *dot;
	unsigned long long t;
	char *end;

	if (nonce == NULL || (dot = strchr(nonce, '.')) == NULL ||
	    (size_t)(dot - nonce) >= sizeof stamp || dot == nonce)
		return -1;
	memcpy(stamp, nonce, (size_t)(dot - nonce));
	stamp[dot - nonce] = '\0';
	t = strtoull(stamp, &end, 16);
	if (*end != '\0')
		return -1;
	nonce_mac(key, keylen, stamp, mac);
	if (strlen(dot + 1) != 32 || !digest_equal(dot + 1, mac))
		return -1;
	if ((long long)t > (long long)now + 5 ||
	    (long long)now - (long long)t > max_age)
		return 1;
	return 0;
}

int
digest_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

int
digest_algorithm(const char *algorithm)
{
	if (algorithm == NULL || strcasecmp(algorithm, "MD5") == 0)
		return 0;
	if (strcasecmp(algorithm, "SHA-256") == 0)
		return 1;
	return -1;
}

void
digest_params_clear(struct digest_params *p)
{
	free(p->username);
	free(p->realm);
	free(p->nonce);
	free(p->uri);
	free(p->response);
	free(p->algorithm);
	free(p->cnonce);
	free(p->qop);
	free(p->nc);
	free(p->opaque);
	memset(p, 0, sizeof *p);
}

static void
set_param(struct digest_params *p, const char *name, size_t nlen, char *val)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} map[] = {
		{ "username", offsetof(struct digest_params, username) },
		{ "realm", offsetof(struct digest_params, realm) },
		{ "nonce", offsetof(struct digest_params, nonce) },
		{ "uri", offsetof(struct digest_params, uri) },
		{ "response", offsetof(struct digest_params, response) },
		{ "algorithm", offsetof(struct digest_params, algorithm) },
		{ "cnonce", offsetof(struct digest_params, cnonce) },
		{ "qop", offsetof(struct digest_params, qop) },
		{ "nc", offsetof(struct digest_params, nc) },
		{ "opaque", offsetof(struct digest_params, opaque) },
	};
	size_t i;

	if (nlen == 5 && strncasecmp(name, "stale", 5) == 0) {
		p->stale = strcasecmp(val, "true") == 0;
		free(val);
		return;
	}
	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strlen(map[i].name) == nlen &&
		    strncasecmp(map[i].name, name, nlen) == 0) {
			char **f = (char **)((char *)p + map[i].off);

			free(*f);	/* the last one counts */
			*f = val;
			return;
		}
	}
	free(val);
}

int
digest_parse(const char *v, struct digest_params *p)
{
	const char *name;
	size_t nlen;
	char *val, *w;

	memset(p, 0, sizeof *p);
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, "Digest", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
		return -1;
	v += 6;
	for (;;) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '\0')
			return 0;
		name = v;
		while (isalnum((unsigned char)*v) || *v == '-' || *v == '_')
			v++;
		nlen = (size_t)(v - name);
		while (*v == ' ' || *v == '\t')
			v++;
		if (nlen == 0 || *v != '=')
			goto bad;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '"') {
			val = w = xmalloc(strlen(v) + 1);
			for (v++; *v != '"'; v++) {
				if (*v == '\0') {
					free(val);
					goto bad;
				}
				if (*v == '\\' && v[1] != '\0')
					v++;
				*w++ = *v;
			}
			*w = '\0';
			v++;
		} else {
			const char *s = v;

			while (*v != '\0' && *v != ',' && *v != ' ' &&
			    *v != '\t')
				v++;
			if (v == s)
				goto bad;
			val = xstrndup(s, (size_t)(v - s));
		}
		set_param(p, name, nlen, val);
	}
bad:
	digest_params_clear(p);
	return -1;
}
