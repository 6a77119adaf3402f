/*
 * proxy_loop.c: loop detection (RFC 3261 s.16.3 step 4, s.16.6 step 8).
 * The hash of what a request's loop depends on goes into the branch of
 * every Via this node adds; a request that comes back unchanged carries
 * it in a Via naming one of our listeners.  Pure apart from asking the
 * transport which addresses it listens on.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy_int.h"
#include "util/str.h"

/* Our branches: the cookie, this mark, 16 hex of the loop hash, 16 random. */
#define BRANCH_MARK	"se"

/* FNV-1a (64 bits) of s, then a field separator. */
static uint64_t
fnv(uint64_t h, const char *s)
{
	if (s == NULL)
		s = "";
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff;		/* field separator */
	h *= 0x100000001b3ULL;
	return h;
}

/* One step of FNV-1a for a missing value (NULL, not ""). */
static uint64_t
fnv_none(uint64_t h)
{
	h ^= 0xfe;
	h *= 0x100000001b3ULL;
	return h;
}

/* The parameters or headers of a URI (name, value or none) into h. */
static uint64_t
fnv_params(uint64_t h, const osip_list_t *l)
{
	osip_list_iterator_t it;
	osip_uri_param_t *p;

	for (p = osip_list_get_first((osip_list_t *)l, &it); p != NULL;
	    p = osip_list_get_next(&it)) {
		h = fnv(h, p->gname);
		h = p->gvalue != NULL ? fnv(h, p->gvalue) : fnv_none(h);
	}
	return fnv_none(h);		/* the end of the list */
}

/*
 * A parsed URI into h, field by field: two URIs hash alike when they
 * would print alike (what the hash was of before), without printing them.
 */
static uint64_t
fnv_uri(uint64_t h, const osip_uri_t *u)
{
	if (u == NULL)
		return fnv_none(h);
	h = fnv(h, u->scheme);
	h = fnv(h, u->username);
	h = fnv(h, u->password);
	h = fnv(h, u->host);
	h = fnv(h, u->port);
	h = fnv_params(h, &u->url_params);
	h = fnv_params(h, &u->url_headers);
	return fnv(h, u->string);
}

/* The length of that prefix: the cookie, our mark, 16 hex digits. */
#define BRANCH_PREFIX_LEN	(sizeof TXN_COOKIE BRANCH_MARK - 1 + 16)

/*
 * Our branch prefix for hash into buf (BRANCH_PREFIX_LEN + 1 bytes): the
 * cookie, our mark, 16 lowercase hex digits (what "%016" PRIx64 prints).
 */
static void
branch_prefix(uint64_t hash, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = sizeof TXN_COOKIE BRANCH_MARK - 1;
	int i;

	memcpy(buf, TXN_COOKIE BRANCH_MARK, o);
	for (i = 15; i >= 0; i--, hash >>= 4)
		buf[o + (size_t)i] = hex[hash & 0xf];
	buf[o + 16] = '\0';
}

/* The value of Via parameter name ("" without one), or NULL. */
static const char *
vparam(const osip_via_t *v, const char *name)
{
	osip_generic_param_t *p = NULL;

	if (osip_via_param_get_byname((osip_via_t *)v, (char *)name, &p) != 0 ||
	    p == NULL)
		return NULL;
	return p->gvalue != NULL ? p->gvalue : "";
}

/* The loop-detection hash of a request as received (s.16.3 step 4). */
uint64_t
proxy_loop_hash(const osip_message_t *m)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	osip_list_iterator_t it;
	osip_header_t *hd;
	osip_route_t *r;

	h = fnv_uri(h, m->req_uri);
	h = fnv(h, proxy_tag_of(m->from));
	h = fnv(h, proxy_tag_of(m->to));
	h = fnv(h, m->call_id != NULL ? m->call_id->number : NULL);
	h = fnv(h, m->cseq != NULL ? m->cseq->number : NULL);
	/* Each list walked once: never an indexed get inside a loop. */
	for (r = osip_list_get_first(&m->routes, &it); r != NULL;
	    r = osip_list_get_next(&it))
		h = fnv_uri(h, r->url);
	for (hd = osip_list_get_first(&m->headers, &it); hd != NULL;
	    hd = osip_list_get_next(&it))
		if (hd->hname != NULL &&
		    osip_strcasecmp(hd->hname, "proxy-require") == 0)
			h = fnv(h, hd->hvalue);
	return h;
}

/* A Via of ours whose branch carries hash: the request looped. */
int
proxy_loop_found(const struct proxy *px, const osip_message_t *m, uint64_t hash)
{
	osip_list_iterator_t it;
	char want[BRANCH_PREFIX_LEN + 1];
	osip_via_t *v;
	const char *b;

	branch_prefix(hash, want);
	for (v = osip_list_get_first(&m->vias, &it); v != NULL;
	    v = osip_list_get_next(&it)) {
		/* Our Vias carry a listener's address and port: two nodes
		 * on one host are not one node. */
		if (v->host == NULL || !sip_transport_listens(px->t, v->host,
		    v->port != NULL ? atoi(v->port) : 5060))
			continue;
		b = vparam(v, "branch");
		if (b != NULL && strncasecmp(b, want, strlen(want)) == 0)
			return 1;
	}
	return 0;
}

/* A branch of ours for hash: the cookie, our mark, the hash, 16 random hex. */
void
proxy_loop_branch(uint64_t hash, char *buf, size_t bufsz)
{
	char b[BRANCH_PREFIX_LEN + 17];
	size_t n = sizeof b;

	branch_prefix(hash, b);
	str_random_hex(b + BRANCH_PREFIX_LEN, 16);
	if (bufsz == 0)
		return;
	if (n > bufsz)
		n = bufsz;	/* cut as snprintf would */
	memcpy(buf, b, n - 1);
	buf[n - 1] = '\0';
}
