/*
 * rev_store.c: verified CRLs, indexed.  Once a CRL is verified its
 * revoked entries are copied into one sorted array of small records over
 * a byte arena, and the OpenSSL object is freed: a 1,000,000-entry CRL
 * then costs about 16 bytes plus the serial per entry (about the size of
 * its DER, where OpenSSL's object takes some 250 bytes an entry), and a
 * lookup is a binary search.  contrib/bench/bench_crl measures it all.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "rev/rev_store.h"
#include "util/str.h"
#include "util/xmalloc.h"

/*
 * One revoked serial.  Its first 8 bytes are kept here so that a step of
 * the binary search reads one record, not the record and the arena too
 * (at 1,000,000 entries a lookup is mostly cache misses); the arena holds
 * only the bytes after the 8th, so the memory is the same.
 */
#define HEAD_LEN	8
struct ent {
	uint64_t	 head;		/* first bytes, big-endian, 0-padded */
	int64_t		 when;		/* revocation date */
	uint32_t	 off;		/* bytes after the head, in the arena */
	uint8_t		 len;		/* whole serial */
	uint8_t		 neg;
	int8_t		 reason;	/* -1: no reason code */
};

struct rec {
	struct rec	*next;
	X509_NAME	*issuer;
	char		*issuer_line;
	enum rev_source	 source;
	char		*origin;
	time_t		 this_update;
	time_t		 next_update;	/* 0: none */
	BIGNUM		*number;	/* cRLNumber, NULL if absent */
	char		*unsupported;	/* why it cannot be used, or NULL */
	X509_CRL	*pending;	/* not verified yet: kept whole */
	unsigned char	*key;		/* public key that verified it */
	size_t		 keylen;
	struct ent	*v;
	size_t		 n;
	unsigned char	*arena;
};

struct rev_store {
	struct rec	*head;
	size_t		 n;
};

const char *
rev_source_name(enum rev_source s)
{
	switch (s) {
	case REV_SRC_MANUAL:	return "manual";
	case REV_SRC_TRUST:	return "trust file";
	case REV_SRC_DP:	return "distribution point";
	case REV_SRC_CDP:	return "cdp";
	case REV_SRC_CLI:	return "file";
	}
	return "?";
}

const char *
rev_reason_name(int reason)
{
	static const char *const names[] = {
		"unspecified", "keyCompromise", "cACompromise",
		"affiliationChanged", "superseded", "cessationOfOperation",
		"certificateHold", "?", "removeFromCRL", "privilegeWithdrawn",
		"aACompromise"
	};

	if (reason < 0 || reason > 10)
		return "none";
	return names[reason];
}

struct rev_store *
rev_store_new(void)
{
	return xcalloc(1, sizeof(struct rev_store));
}

static void
rec_free(struct rec *r)
{
	X509_NAME_free(r->issuer);
	free(r->issuer_line);
	free(r->origin);
	BN_free(r->number);
	free(r->unsupported);
	X509_CRL_free(r->pending);
	free(r->key);
	free(r->v);
	free(r->arena);
	free(r);
}

void
rev_store_free(struct rev_store *st)
{
	struct rec *r, *next;

	if (st == NULL)
		return;
	for (r = st->head; r != NULL; r = next) {
		next = r->next;
		rec_free(r);
	}
	free(st);
}

/*
 * Seconds since the epoch of a UTC calendar date, by counting days from
 * 0000-03-01 (so that the leap day ends a year); timegm(3) does the same
 * but several times slower, and a large CRL holds a million dates.
 */
static int64_t
epoch_of(const struct tm *tm)
{
	int64_t y = (int64_t)tm->tm_year + 1900, m = tm->tm_mon + 1;
	int64_t era, yoe, doy, days;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;				/* 0..399 */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + tm->tm_mday - 1;
	days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days -= 719468;				/* 0000-03-01 to 1970-01-01 */
	return days * 86400 + tm->tm_hour * 3600 + tm->tm_min * 60 +
	    tm->tm_sec;
}

static time_t
asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (time_t)epoch_of(&tm);
}

static char *
name_line(const X509_NAME *n)
{
	char *s = X509_NAME_oneline(n, NULL, 0), *out;

	out = xstrdup(s != NULL ? s : "?");
	OPENSSL_free(s);
	return out;
}

/*
 * Whether x holds the key that verified r.  The key bits are compared
 * directly: hashing them took most of the time of a lookup.
 */
static int
same_key(const struct rec *r, X509 *x)
{
	const ASN1_BIT_STRING *b = X509_get0_pubkey_bitstr(x);

	return b != NULL && r->key != NULL &&
	    (size_t)ASN1_STRING_length(b) == r->keylen &&
	    memcmp(ASN1_STRING_get0_data(b), r->key, r->keylen) == 0;
}

static void
keep_key(struct rec *r, X509 *x)
{
	const ASN1_BIT_STRING *b = X509_get0_pubkey_bitstr(x);

	free(r->key);
	r->key = NULL;
	r->keylen = 0;
	if (b == NULL)
		return;
	r->keylen = (size_t)ASN1_STRING_length(b);
	r->key = xmalloc(r->keylen + 1);
	memcpy(r->key, ASN1_STRING_get0_data(b), r->keylen);
}

/* Why this CRL cannot be used by the simple rules here, or NULL. */
static char *
unsupported_why(X509_CRL *crl)
{
	ISSUING_DIST_POINT *idp;
	char *why = NULL;
	int crit;

	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0)
		return xstrdup("it is a delta CRL");
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
	    NULL);
	if (idp != NULL) {
		if (idp->indirectCRL)
			why = xstrdup("it is an indirect CRL");
		else if (idp->onlysomereasons != NULL)
			why = xstrdup("it covers only some revocation reasons");
		else if (idp->onlyattr)
			why = xstrdup("it covers attribute certificates only");
		ISSUING_DIST_POINT_free(idp);
	} else if (crit != -1) {
		why = xstrdup("its issuingDistributionPoint cannot be parsed");
	}
	ERR_clear_error();
	return why;
}

static const unsigned char *sort_arena;

/* The first HEAD_LEN bytes of a serial as a number that sorts like them. */
static uint64_t
head_of(const unsigned char *p, size_t len)
{
	uint64_t h = 0;
	size_t k;

	for (k = 0; k < HEAD_LEN; k++)
		h = h << 8 | (k < len ? p[k] : 0);
	return h;
}

/*
 * Serial order: negative before positive, shorter before longer, then
 * byte by byte (the head, then the tails a and b point to).  For positive
 * serials this is the order OpenSSL sorts a CRL in.
 */
static int
ent_cmp_key(const struct ent *a, const unsigned char *atail,
    const struct ent *b, const unsigned char *btail)
{
	if (a->neg != b->neg)
		return a->neg ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->head != b->head)
		return a->head < b->head ? -1 : 1;
	if (a->len <= HEAD_LEN)
		return 0;
	return memcmp(atail, btail, a->len - HEAD_LEN);
}

static int
ent_cmp(const void *pa, const void *pb)
{
	const struct ent *a = pa, *b = pb;

	return ent_cmp_key(a, sort_arena + a->off, b, sort_arena + b->off);
}

/* Copy the revoked list of r->pending into the index; -1 with *why. */
static int
build_index(struct rec *r, char **why)
{
	STACK_OF(X509_REVOKED) *rl = X509_CRL_get_REVOKED(r->pending);
	const STACK_OF(X509_EXTENSION) *exts;
	size_t n = rl != NULL ? (size_t)sk_X509_REVOKED_num(rl) : 0;
	size_t i, used = 0, cap;
	unsigned char *arena;

	r->v = xcalloc(n + 1, sizeof *r->v);
	cap = n * 12 + 16;	/* room for 20-byte serials (RFC 5280) */
	arena = xmalloc(cap);
	for (i = 0; i < n; i++) {
		X509_REVOKED *rv = sk_X509_REVOKED_value(rl, (int)i);
		const ASN1_INTEGER *s = X509_REVOKED_get0_serialNumber(rv);
		ASN1_ENUMERATED *reason;
		const unsigned char *sb = ASN1_STRING_get0_data(s);
		size_t len = (size_t)ASN1_STRING_length(s), tail;
		int crit;

		if (len > 255) {
			*why = xstrdup("it lists a serial number longer than "
			    "255 bytes");
			free(arena);
			return -1;
		}
		exts = X509_REVOKED_get0_extensions(rv);
		if (exts != NULL && X509_REVOKED_get_ext_by_NID(rv,
		    NID_certificate_issuer, -1) >= 0) {
			*why = xstrdup("its entries name other issuers "
			    "(indirect CRL)");
			free(arena);
			return -1;
		}
		tail = len > HEAD_LEN ? len - HEAD_LEN : 0;
		if (used + tail > cap) {
			cap = cap * 2 + tail;
			arena = xrealloc(arena, cap);
		}
		if (used + tail > UINT32_MAX) {
			*why = xstrdup("it is too large");
			free(arena);
			return -1;
		}
		if (tail > 0)
			memcpy(arena + used, sb + HEAD_LEN, tail);
		r->v[i].head = head_of(sb, len);
		r->v[i].off = (uint32_t)used;
		r->v[i].len = (uint8_t)len;
		r->v[i].neg = ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER;
		r->v[i].when = asn1_to_time(
		    X509_REVOKED_get0_revocationDate(rv));
		r->v[i].reason = -1;
		/* Most entries carry no extension: skip the lookups then. */
		if (exts != NULL && (reason = X509_REVOKED_get_ext_d2i(rv,
		    NID_crl_reason, &crit, NULL)) != NULL) {
			r->v[i].reason = (int8_t)ASN1_ENUMERATED_get(reason);
			ASN1_ENUMERATED_free(reason);
		}
		used += tail;
	}
	ERR_clear_error();
	r->arena = xrealloc(arena, used + 1);	/* give the slack back */
	r->n = n;
	/*
	 * CAs usually list the serials in order (OpenSSL sorts them before
	 * signing), and the order here is the same for positive serials: a
	 * pass that finds them sorted saves the sort and its scratch memory.
	 */
	sort_arena = r->arena;
	for (i = 1; i < n; i++)
		if (ent_cmp(&r->v[i - 1], &r->v[i]) > 0)
			break;
	if (i < n)
		qsort(r->v, n, sizeof *r->v, ent_cmp);
	sort_arena = NULL;
	return 0;
}

/*
 * Verify r->pending against issuer and index it.  0 verified, -1 with
 * *why when issuer is the named CA but the CRL does not check out.
 */
static int
verify_rec(struct rec *r, X509 *issuer, char **why)
{
	EVP_PKEY *pk = X509_get0_pubkey(issuer);

	if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0 &&
	    (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0) {
		*why = xasprintf("its issuer %s may not sign CRLs (no cRLSign "
		    "in its key usage)", r->issuer_line);
		return -1;
	}
	if (pk == NULL || X509_CRL_verify(r->pending, pk) != 1) {
		ERR_clear_error();
		*why = xasprintf("its signature does not verify with the key of "
		    "%s", r->issuer_line);
		return -1;
	}
	if (build_index(r, why) == -1)
		return -1;
	keep_key(r, issuer);
	X509_CRL_free(r->pending);
	r->pending = NULL;
	return 0;
}

/* Whether a is older than b (CRL number first, else thisUpdate). */
static int
older(const struct rec *a, const struct rec *b)
{
	if (a->number != NULL && b->number != NULL)
		return BN_cmp(a->number, b->number) < 0;
	return a->this_update < b->this_update;
}

static void
unlink_rec(struct rev_store *st, struct rec *r)
{
	struct rec **pp;

	for (pp = &st->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			st->n--;
			return;
		}
	}
}

int
rev_store_add(struct rev_store *st, X509_CRL *crl, enum rev_source source,
    const char *origin, STACK_OF(X509) *issuers, char **cause)
{
	struct rec *r = xcalloc(1, sizeof *r), *o, *next;
	ASN1_INTEGER *num;
	char *why = NULL;
	int i, found = 0;

	r->issuer = X509_NAME_dup(X509_CRL_get_issuer(crl));
	r->issuer_line = name_line(r->issuer);
	r->source = source;
	r->origin = xstrdup(origin);
	r->this_update = asn1_to_time(X509_CRL_get0_lastUpdate(crl));
	r->next_update = asn1_to_time(X509_CRL_get0_nextUpdate(crl));
	if ((num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL))
	    != NULL) {
		r->number = ASN1_INTEGER_to_BN(num, NULL);
		ASN1_INTEGER_free(num);
	}
	ERR_clear_error();
	r->unsupported = unsupported_why(crl);
	r->pending = crl;

	for (o = st->head; o != NULL; o = next) {
		next = o->next;
		if (o->source != source || X509_NAME_cmp(o->issuer,
		    r->issuer) != 0)
			continue;
		if (older(r, o)) {
			*cause = xasprintf("%s: CRL of %s is older than the one "
			    "already held (from %s)", origin, r->issuer_line,
			    o->origin);
			r->pending = NULL;	/* the caller keeps it */
			rec_free(r);
			return -1;
		}
	}
	for (i = 0; i < sk_X509_num(issuers) && r->unsupported == NULL; i++) {
		X509 *x = sk_X509_value(issuers, i);

		if (X509_NAME_cmp(X509_get_subject_name(x), r->issuer) != 0)
			continue;
		found = 1;
		free(why);
		why = NULL;
		if (verify_rec(r, x, &why) == 0)
			break;
	}
	if (found && r->pending != NULL) {
		*cause = xasprintf("%s: CRL of %s ignored: %s", origin,
		    r->issuer_line, why);
		free(why);
		r->pending = NULL;	/* the caller keeps ownership on error */
		rec_free(r);
		return -1;
	}
	free(why);
	/* Replace older CRLs of the same issuer and source. */
	for (o = st->head; o != NULL; o = next) {
		next = o->next;
		if (o->source == source && X509_NAME_cmp(o->issuer,
		    r->issuer) == 0) {
			unlink_rec(st, o);
			rec_free(o);
		}
	}
	r->next = st->head;
	st->head = r;
	st->n++;
	return 0;
}

void
rev_store_clear_source(struct rev_store *st, enum rev_source source)
{
	struct rec *r, *next;

	for (r = st->head; r != NULL; r = next) {
		next = r->next;
		if (r->source == source) {
			unlink_rec(st, r);
			rec_free(r);
		}
	}
}

static const struct ent *
find_serial(const struct rec *r, const ASN1_INTEGER *serial)
{
	struct ent key;
	const unsigned char *kb = ASN1_STRING_get0_data(serial);
	size_t lo = 0, hi = r->n, mid;
	int c;

	if (ASN1_STRING_length(serial) > 255)
		return NULL;
	key.len = (uint8_t)ASN1_STRING_length(serial);
	key.neg = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
	key.head = head_of(kb, key.len);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = ent_cmp_key(&key, kb + HEAD_LEN, &r->v[mid],
		    r->arena + r->v[mid].off);
		if (c == 0)
			return &r->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void
rev_store_lookup(struct rev_store *st, X509 *cert, X509 *issuer, time_t now,
    struct rev_crl_answer *a)
{
	const X509_NAME *in = X509_get_issuer_name(cert);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	struct rec *r, *next, *current = NULL, *stale = NULL;
	const char *unsupported = NULL;
	char *why = NULL, *t, *bad = NULL;

	memset(a, 0, sizeof *a);
	a->reason = -1;
	for (r = st->head; r != NULL; r = next) {
		next = r->next;
		if (X509_NAME_cmp(r->issuer, in) != 0)
			continue;
		if (r->unsupported != NULL) {
			unsupported = r->unsupported;
			continue;
		}
		if (r->pending != NULL) {
			if (verify_rec(r, issuer, &why) == -1) {
				/* Bad CRL: drop it, say so once. */
				free(bad);
				bad = xasprintf("CRL of %s from %s ignored: %s",
				    r->issuer_line, r->origin, why);
				free(why);
				why = NULL;
				unlink_rec(st, r);
				rec_free(r);
				continue;
			}
		} else if (!same_key(r, issuer))
			continue;	/* another CA with the same name */
		{
			const struct ent *e = find_serial(r, serial);

			if (e != NULL) {
				t = str_time_iso_dup((time_t)e->when);
				a->status = REV_CRL_REVOKED;
				a->revoked_at = (time_t)e->when;
				a->reason = e->reason;
				a->next_update = r->next_update;
				a->source = r->source;
				a->detail = xasprintf("revoked by the CRL of %s "
				    "(%s, %s) at %s, reason %s", r->issuer_line,
				    rev_source_name(r->source), r->origin, t,
				    rev_reason_name(e->reason));
				free(t);
				free(bad);
				return;
			}
		}
		if (r->next_update == 0 || now <= r->next_update) {
			if (current == NULL ||
			    r->next_update > current->next_update)
				current = r;
		} else if (stale == NULL || r->next_update > stale->next_update)
			stale = r;
	}
	if (current != NULL) {
		a->status = REV_CRL_GOOD;
		a->next_update = current->next_update;
		a->source = current->source;
		a->detail = xasprintf("not in the CRL of %s (%s, %s)",
		    current->issuer_line, rev_source_name(current->source),
		    current->origin);
	} else if (stale != NULL) {
		t = str_time_iso_dup(stale->next_update);
		a->status = REV_CRL_EXPIRED;
		a->next_update = stale->next_update;
		a->source = stale->source;
		a->detail = xasprintf("CRL of %s expired at %s (%s, %s)",
		    stale->issuer_line, t, rev_source_name(stale->source),
		    stale->origin);
		free(t);
	} else if (unsupported != NULL) {
		t = name_line(in);
		a->status = REV_CRL_UNSUPPORTED;
		a->detail = xasprintf("the only CRL of %s cannot be used: %s",
		    t, unsupported);
		free(t);
	} else {
		t = name_line(in);
		a->status = REV_CRL_NONE;
		a->detail = bad != NULL ? xstrdup(bad) :
		    xasprintf("no CRL of %s", t);
		free(t);
	}
	free(bad);
}

void
rev_store_walk(struct rev_store *st,
    void (*fn)(const struct rev_crl_info *, void *), void *arg)
{
	struct rev_crl_info info;
	struct rec *r;

	for (r = st->head; r != NULL; r = r->next) {
		info.issuer = r->issuer_line;
		info.source = r->source;
		info.origin = r->origin;
		info.this_update = r->this_update;
		info.next_update = r->next_update;
		info.entries = r->n;
		if (r->pending != NULL &&
		    X509_CRL_get_REVOKED(r->pending) != NULL)
			info.entries = (size_t)sk_X509_REVOKED_num(
			    X509_CRL_get_REVOKED(r->pending));
		info.verified = r->pending == NULL;
		fn(&info, arg);
	}
}

size_t
rev_store_count(const struct rev_store *st)
{
	return st->n;
}
