/*
 * rev_store.c: verified CRLs, indexed.  Once a CRL is verified its
 * revoked entries are copied into one sorted array of small records over
 * a byte arena, and the OpenSSL object is freed: a 1,000,000-entry CRL
 * then costs about 16 bytes plus the serial per entry (about the size of
 * its DER, where OpenSSL's object takes some 250 bytes an entry), and a
 * lookup is a binary search.  contrib/bench/bench_crl measures it all.
 *
 * CRLs are kept by issuer and scope (RFC 5280 s.6.3): complete and delta
 * CRLs, each issuingDistributionPoint, coexist; a newer CRL replaces an
 * older one of the same source, issuer and scope only.  A lookup takes
 * every CRL that covers the certificate (its issuer, directly or through
 * an indirect CRL its distribution point names; the distribution point,
 * the kind of certificate), applies the newest fitting delta to each
 * complete CRL, and adds up the reasons covered (onlySomeReasons) until
 * all are.  Every CRL of the issuer that could not be used is named, with
 * why, in the answer.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "rev/rev_crl.h"
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

/* Keys remembered per pending CRL as not verifying it (each one is
 * tried once, however many lookups come). */
#define MAX_TRIED	4

/* CRLs kept unverified although their issuer was known (the signature
 * failed with its key; another signer may come): at most this many, of
 * at most this many bytes of DER in all. */
#define MAX_AWAITING		16
#define MAX_AWAITING_BYTES	((size_t)256 << 20)

/* The reasons of ReasonFlags (RFC 5280 s.4.2.1.13), bits 1 to 8. */
#define ALL_REASONS	0x1feu

struct rec {
	struct rec	*next;
	X509_NAME	*issuer;
	char		*issuer_line;
	enum rev_source	 source;
	char		*origin;
	time_t		 this_update;
	time_t		 next_update;	/* 0: none */
	BIGNUM		*number;	/* cRLNumber, NULL if absent */
	int		 delta;		/* a delta CRL (deltaCRLIndicator) */
	BIGNUM		*base;		/* its BaseCRLNumber */
	ISSUING_DIST_POINT *idp;	/* NULL: none */
	unsigned char	*scope;		/* DER of the IDP: the scope key */
	size_t		 scopelen;
	unsigned	 reasons;	/* onlySomeReasons, else ALL_REASONS */
	int		 indirect;	/* indirectCRL */
	char		*fresh;		/* first http(s) URL of its own
					   freshestCRL, or NULL */
	char		*unusable;	/* why it can never be used, or NULL */
	int		 refused;	/* its signature failed: a reason only */
	unsigned long	 seen;		/* lookup generation that used it */
	X509_CRL	*pending;	/* not verified yet: kept whole */
	int		 awaiting;	/* pending although its issuer was
					   known: waits for another signer */
	size_t		 bytes;		/* DER size (awaiting ones) */
	unsigned char	*tried[MAX_TRIED]; /* keys that did not verify it */
	size_t		 triedlen[MAX_TRIED];
	int		 ntried;
	unsigned char	*key;		/* public key that verified it */
	size_t		 keylen;
	struct ent	*v;
	size_t		 n;
	unsigned char	*arena;
	/*
	 * Indirect CRLs: the issuer of each entry (certificateIssuer, which
	 * holds for the entries after it too) as an index into names;
	 * NULL when every entry is of the CRL's issuer.
	 */
	uint16_t	*iss;
	X509_NAME	**names;
	size_t		 nnames;
};

struct rev_store {
	struct rec	*head;
	size_t		 n;		/* records not refused */
	unsigned long	 gen;		/* lookups so far */
	STACK_OF(X509)	*certs;		/* came with CRLs */
	int		 inner;		/* a lookup of a CRL signer's own
					   status is under way */
};

/* Bound on the certificates kept from CRL sources. */
#define MAX_CERTS	1000

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
	struct rev_store *st = xcalloc(1, sizeof(struct rev_store));

	st->certs = sk_X509_new_null();
	return st;
}

void
rev_store_add_certs(struct rev_store *st, STACK_OF(X509) *certs)
{
	int i, j;

	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		for (j = 0; j < sk_X509_num(st->certs); j++)
			if (X509_cmp(sk_X509_value(st->certs, j), x) == 0)
				break;
		if (j < sk_X509_num(st->certs) ||
		    sk_X509_num(st->certs) >= MAX_CERTS)
			continue;
		X509_up_ref(x);
		sk_X509_push(st->certs, x);
	}
}

static void
rec_free(struct rec *r)
{
	size_t k;

	X509_NAME_free(r->issuer);
	free(r->issuer_line);
	free(r->origin);
	BN_free(r->number);
	BN_free(r->base);
	ISSUING_DIST_POINT_free(r->idp);
	free(r->scope);
	free(r->fresh);
	free(r->unusable);
	X509_CRL_free(r->pending);
	for (k = 0; k < (size_t)r->ntried; k++)
		free(r->tried[k]);
	free(r->key);
	free(r->v);
	free(r->arena);
	free(r->iss);
	for (k = 0; k < r->nnames; k++)
		X509_NAME_free(r->names[k]);
	free(r->names);
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
	sk_X509_pop_free(st->certs, X509_free);
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

/* Whether x's key is one r's signature was already found not to verify with. */
static int
tried_key(const struct rec *r, X509 *x)
{
	const ASN1_BIT_STRING *b = X509_get0_pubkey_bitstr(x);
	int i;

	for (i = 0; b != NULL && i < r->ntried; i++)
		if ((size_t)ASN1_STRING_length(b) == r->triedlen[i] &&
		    memcmp(ASN1_STRING_get0_data(b), r->tried[i],
		    r->triedlen[i]) == 0)
			return 1;
	return 0;
}

/* Remember that x's key does not verify r (the oldest one forgotten). */
static void
try_failed(struct rec *r, X509 *x)
{
	const ASN1_BIT_STRING *b = X509_get0_pubkey_bitstr(x);
	int i;

	if (b == NULL || tried_key(r, x))
		return;
	if (r->ntried == MAX_TRIED) {
		free(r->tried[0]);
		for (i = 1; i < MAX_TRIED; i++) {
			r->tried[i - 1] = r->tried[i];
			r->triedlen[i - 1] = r->triedlen[i];
		}
		r->ntried--;
	}
	r->triedlen[r->ntried] = (size_t)ASN1_STRING_length(b);
	r->tried[r->ntried] = xmalloc(r->triedlen[r->ntried] + 1);
	memcpy(r->tried[r->ntried++], ASN1_STRING_get0_data(b),
	    (size_t)ASN1_STRING_length(b));
}

/* The reasons in a ReasonFlags bit string. */
static unsigned
reason_bits(const ASN1_BIT_STRING *bs)
{
	unsigned m = 0;
	int i;

	for (i = 1; i <= 8; i++)
		if (ASN1_BIT_STRING_get_bit(bs, i))
			m |= 1u << i;
	return m;
}

/*
 * The first http(s) URL among the full names of the distribution points
 * of crl's freshestCRL extension (RFC 5280 s.5.2.6: where the delta CRLs
 * of this complete CRL are published), of at most REV_FRESH_URL_MAX - 1
 * bytes; NULL when there is none.
 */
static char *
fresh_url(X509_CRL *crl)
{
	return rev_crl_dp_url(X509_CRL_get_ext_d2i(crl, NID_freshest_crl,
	    NULL, NULL), REV_FRESH_URL_MAX);
}

/*
 * Read what decides where r may be used: cRLNumber, deltaCRLIndicator,
 * issuingDistributionPoint, and the critical extensions (RFC 5280 s.5.2:
 * a CRL with a critical extension it does not process must not be used).
 * Sets r->unusable when the CRL can never be used.
 */
static void
read_scope(struct rec *r, X509_CRL *crl)
{
	ASN1_INTEGER *num;
	char oid[80];
	int i, crit, n = X509_CRL_get_ext_count(crl);

	r->reasons = ALL_REASONS;
	for (i = 0; i < n && r->unusable == NULL; i++) {
		X509_EXTENSION *x = X509_CRL_get_ext(crl, i);
		ASN1_OBJECT *o = X509_EXTENSION_get_object(x);

		if (!X509_EXTENSION_get_critical(x))
			continue;
		switch (OBJ_obj2nid(o)) {
		case NID_authority_key_identifier:
		case NID_issuer_alt_name:
		case NID_delta_crl:
		case NID_issuing_distribution_point:
		case NID_freshest_crl:
		case NID_info_access:
			break;
		case NID_crl_number:
			r->unusable = xstrdup("its cRLNumber extension is "
			    "marked critical (RFC 5280 s.5.2.3: it must not "
			    "be)");
			break;
		default:
			OBJ_obj2txt(oid, sizeof oid, o, 1);
			r->unusable = xasprintf("it has a critical extension "
			    "sipedge does not process (%s; RFC 5280 s.5.2)",
			    oid);
			break;
		}
	}
	if ((num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL))
	    != NULL) {
		r->number = ASN1_INTEGER_to_BN(num, NULL);
		ASN1_INTEGER_free(num);
	} else if (crit != -1 && r->unusable == NULL)
		r->unusable = xstrdup("its cRLNumber extension is damaged or "
		    "repeated");
	if ((num = X509_CRL_get_ext_d2i(crl, NID_delta_crl, &crit, NULL))
	    != NULL) {
		r->delta = 1;
		r->base = ASN1_INTEGER_to_BN(num, NULL);
		ASN1_INTEGER_free(num);
		if (r->number == NULL && r->unusable == NULL)
			r->unusable = xstrdup("it is a delta CRL without a "
			    "cRLNumber (RFC 5280 s.5.2.3, s.5.2.4)");
	} else if (crit != -1) {
		r->delta = 1;
		if (r->unusable == NULL)
			r->unusable = xstrdup("its deltaCRLIndicator is damaged "
			    "or repeated");
	}
	if (!r->delta)
		r->fresh = fresh_url(crl);
	r->idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point,
	    &crit, NULL);
	if (r->idp == NULL && crit != -1 && r->unusable == NULL)
		r->unusable = xstrdup("its issuingDistributionPoint cannot be "
		    "parsed");
	if (r->idp != NULL) {
		unsigned char *der = NULL;
		int len = i2d_ISSUING_DIST_POINT(r->idp, &der);

		if (len > 0) {
			r->scope = xmalloc((size_t)len);
			memcpy(r->scope, der, (size_t)len);
			r->scopelen = (size_t)len;
		}
		OPENSSL_free(der);
		r->indirect = r->idp->indirectCRL != 0;
		if (r->idp->onlysomereasons != NULL)
			r->reasons = reason_bits(r->idp->onlysomereasons);
		if (r->unusable != NULL)
			;
		else if (r->idp->onlyattr)
			r->unusable = xstrdup("it covers attribute certificates "
			    "only (onlyContainsAttributeCerts)");
		else if (r->idp->onlyuser && r->idp->onlyCA)
			r->unusable = xstrdup("its issuingDistributionPoint "
			    "claims both user and CA certificates only");
		else if (r->reasons == 0)
			r->unusable = xstrdup("its onlySomeReasons names no "
			    "reason");
	}
	ERR_clear_error();
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

/* An entry and the issuer it speaks for, for sorting indirect CRLs. */
struct ent_iss {
	struct ent	 e;
	uint16_t	 iss;
};

/* qsort order of struct ent_iss: that of their entries. */
static int
ent_iss_cmp(const void *pa, const void *pb)
{
	const struct ent_iss *a = pa, *b = pb;

	return ent_cmp(&a->e, &b->e);
}

/*
 * The extensions of entry rv: its reason code into *reason, and the
 * issuer it names (certificateIssuer) into *issp (index into r->names,
 * added when new).  -1 with *why when the entry makes the CRL unusable:
 * a critical extension not processed here (RFC 5280 s.5.3), or a
 * certificateIssuer in a CRL that is not indirect.
 */
static int
entry_exts(struct rec *r, X509_REVOKED *rv, int8_t *reason, uint16_t *issp,
    char **why)
{
	int i, crit, n = X509_REVOKED_get_ext_count(rv);
	ASN1_ENUMERATED *rc;
	GENERAL_NAMES *gns;
	X509_NAME *nm = NULL;
	size_t k;
	char oid[80];

	for (i = 0; i < n; i++) {
		X509_EXTENSION *x = X509_REVOKED_get_ext(rv, i);
		ASN1_OBJECT *o = X509_EXTENSION_get_object(x);
		int nid = OBJ_obj2nid(o);

		if (!X509_EXTENSION_get_critical(x) || nid == NID_crl_reason ||
		    nid == NID_invalidity_date || nid == NID_certificate_issuer ||
		    nid == NID_hold_instruction_code)
			continue;
		OBJ_obj2txt(oid, sizeof oid, o, 1);
		*why = xasprintf("an entry has a critical extension sipedge "
		    "does not process (%s; RFC 5280 s.5.3)", oid);
		return -1;
	}
	if ((rc = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, &crit, NULL))
	    != NULL) {
		*reason = (int8_t)ASN1_ENUMERATED_get(rc);
		ASN1_ENUMERATED_free(rc);
	}
	gns = X509_REVOKED_get_ext_d2i(rv, NID_certificate_issuer, &crit, NULL);
	if (gns == NULL && crit == -1)
		return 0;
	if (!r->indirect) {
		GENERAL_NAMES_free(gns);
		*why = xstrdup("an entry names another issuer "
		    "(certificateIssuer) but the CRL is not indirect");
		return -1;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gns) && nm == NULL; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gns, i);

		if (g->type == GEN_DIRNAME)
			nm = g->d.directoryName;
	}
	if (nm == NULL) {
		GENERAL_NAMES_free(gns);
		*why = xstrdup("an entry's certificateIssuer is damaged or "
		    "holds no directory name");
		return -1;
	}
	for (k = 0; k < r->nnames; k++)
		if (X509_NAME_cmp(r->names[k], nm) == 0)
			break;
	if (k == r->nnames) {
		if (k >= UINT16_MAX) {
			GENERAL_NAMES_free(gns);
			*why = xstrdup("its entries name too many issuers");
			return -1;
		}
		r->names = xrealloc(r->names, (k + 1) * sizeof *r->names);
		r->names[r->nnames++] = X509_NAME_dup(nm);
	}
	*issp = (uint16_t)k;
	GENERAL_NAMES_free(gns);
	return 0;
}

/* Copy the revoked list of r->pending into the index; -1 with *why. */
static int
build_index(struct rec *r, char **why)
{
	STACK_OF(X509_REVOKED) *rl = X509_CRL_get_REVOKED(r->pending);
	size_t n = rl != NULL ? (size_t)sk_X509_REVOKED_num(rl) : 0;
	size_t i, used = 0, cap;
	unsigned char *arena;
	uint16_t cur = 0;

	/* A second try (another issuer of that name) starts afresh. */
	free(r->v);
	free(r->iss);
	r->iss = NULL;
	while (r->nnames > 0)
		X509_NAME_free(r->names[--r->nnames]);
	free(r->names);
	r->v = xcalloc(n + 1, sizeof *r->v);
	/* Entries before any certificateIssuer are of the CRL's issuer. */
	r->names = xcalloc(1, sizeof *r->names);
	r->names[0] = X509_NAME_dup(r->issuer);
	r->nnames = 1;
	cap = n * 12 + 16;	/* room for 20-byte serials (RFC 5280) */
	arena = xmalloc(cap);
	for (i = 0; i < n; i++) {
		X509_REVOKED *rv = sk_X509_REVOKED_value(rl, (int)i);
		const ASN1_INTEGER *s = X509_REVOKED_get0_serialNumber(rv);
		const unsigned char *sb = ASN1_STRING_get0_data(s);
		size_t len = (size_t)ASN1_STRING_length(s), tail;
		int8_t reason = -1;

		if (len > 255) {
			*why = xstrdup("it lists a serial number longer than "
			    "255 bytes");
			free(arena);
			return -1;
		}
		/* Most entries carry no extension: skip the lookups then. */
		if (X509_REVOKED_get0_extensions(rv) != NULL &&
		    entry_exts(r, rv, &reason, &cur, why) == -1) {
			free(arena);
			return -1;
		}
		if (cur != 0 && r->iss == NULL)
			r->iss = xcalloc(n + 1, sizeof *r->iss);
		if (r->iss != NULL)
			r->iss[i] = cur;
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
		r->v[i].reason = reason;
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
	if (i < n && r->iss == NULL)
		qsort(r->v, n, sizeof *r->v, ent_cmp);
	else if (i < n) {
		/* Indirect: the issuer of each entry moves with it. */
		struct ent_iss *w = xcalloc(n, sizeof *w);

		for (i = 0; i < n; i++) {
			w[i].e = r->v[i];
			w[i].iss = r->iss[i];
		}
		qsort(w, n, sizeof *w, ent_iss_cmp);
		for (i = 0; i < n; i++) {
			r->v[i] = w[i].e;
			r->iss[i] = w[i].iss;
		}
		free(w);
	}
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
		try_failed(r, issuer);
		*why = xasprintf("its signature does not verify with the key of "
		    "%s", r->issuer_line);
		return -1;
	}
	/* An unusable CRL is only named: its entries are not needed. */
	if (r->unusable == NULL && build_index(r, why) == -1)
		return -1;
	keep_key(r, issuer);
	X509_CRL_free(r->pending);
	r->pending = NULL;
	r->awaiting = 0;
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

/* Whether a and b have the same source, issuer and scope. */
static int
same_scope(const struct rec *a, const struct rec *b)
{
	return a->source == b->source && a->delta == b->delta &&
	    a->scopelen == b->scopelen &&
	    (a->scopelen == 0 || memcmp(a->scope, b->scope, a->scopelen) == 0) &&
	    X509_NAME_cmp(a->issuer, b->issuer) == 0;
}

/* Take r out of the store's list (not freed). */
static void
unlink_rec(struct rev_store *st, struct rec *r)
{
	struct rec **pp;

	for (pp = &st->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			if (!r->refused)
				st->n--;
			return;
		}
	}
}

/* Put r at the head of the store's list. */
static void
link_rec(struct rev_store *st, struct rec *r)
{
	r->next = st->head;
	st->head = r;
	if (!r->refused)
		st->n++;
}

/*
 * Turn r into the record of a refusal (the CRL is not kept, why is): a
 * lookup names it instead of saying there is no CRL.
 */
static void
refuse_rec(struct rev_store *st, struct rec *r, char *why)
{
	int linked = 0;
	struct rec *o;

	for (o = st->head; o != NULL; o = o->next)
		if (o == r)
			linked = 1;
	/* Left where it is: a lookup may be walking the list (a CRL
	 * signer's own status is looked up in the middle of another). */
	if (linked && !r->refused)
		st->n--;
	free(r->unusable);
	r->unusable = why;
	r->refused = 1;
	X509_CRL_free(r->pending);
	r->pending = NULL;
	free(r->v);
	r->v = NULL;
	r->n = 0;
	if (!linked)
		link_rec(st, r);
}

/* A description of r for messages: "CRL 12 of X (manual, FILE)". */
static char *
rec_desc(const struct rec *r)
{
	char *num = r->number != NULL ? BN_bn2dec(r->number) : NULL, *out;

	out = xasprintf("%s%s%s of %s (%s, %s)", r->delta ? "delta CRL" :
	    "CRL", num != NULL ? " " : "", num != NULL ? num : "",
	    r->issuer_line, rev_source_name(r->source), r->origin);
	OPENSSL_free(num);
	return out;
}

/*
 * Whether crl may be signed by a key none of issuers named name holds:
 * its authorityKeyIdentifier names a key identifier that none of them has
 * as its subjectKeyIdentifier, or it names no key at all.
 */
static int
signed_by_other_key(X509_CRL *crl, STACK_OF(X509) *issuers,
    const X509_NAME *name)
{
	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl,
	    NID_authority_key_identifier, NULL, NULL);
	const ASN1_OCTET_STRING *ski;
	int i, other = 1;

	if (akid == NULL || akid->keyid == NULL) {
		AUTHORITY_KEYID_free(akid);
		ERR_clear_error();
		return 1;
	}

	for (i = 0; i < sk_X509_num(issuers) && other; i++) {
		X509 *x = sk_X509_value(issuers, i);

		if (X509_NAME_cmp(X509_get_subject_name(x), name) == 0 &&
		    (ski = X509_get0_subject_key_id(x)) != NULL &&
		    ASN1_STRING_cmp(ski, akid->keyid) == 0)
			other = 0;
	}
	AUTHORITY_KEYID_free(akid);
	ERR_clear_error();
	return other;
}

int
rev_store_add(struct rev_store *st, X509_CRL *crl, enum rev_source source,
    const char *origin, STACK_OF(X509) *issuers, char **cause)
{
	struct rec *r = xcalloc(1, sizeof *r), *o, *next;
	char *why = NULL, *d, *t;
	size_t nawait = 0, awbytes = 0;
	int i, nis, found = 0, sig_ok = 0;

	r->issuer = X509_NAME_dup(X509_CRL_get_issuer(crl));
	r->issuer_line = name_line(r->issuer);
	r->source = source;
	r->origin = xstrdup(origin);
	r->this_update = asn1_to_time(X509_CRL_get0_lastUpdate(crl));
	r->next_update = asn1_to_time(X509_CRL_get0_nextUpdate(crl));
	read_scope(r, crl);
	r->pending = crl;

	for (o = st->head; o != NULL; o = next) {
		next = o->next;
		if (o->refused || !same_scope(o, r))
			continue;
		if (older(r, o)) {
			*cause = xasprintf("%s: %s is older than the one "
			    "of that scope already held (from %s)", origin,
			    d = rec_desc(r), o->origin);
			free(d);
			r->pending = NULL;	/* the caller keeps it */
			rec_free(r);
			return -1;
		}
	}
	/*
	 * The issuers given, then the certificates that came with CRLs (a
	 * CRL signer's; whether it may speak for a certificate is decided
	 * at lookup, by validating it).
	 */
	nis = sk_X509_num(issuers) > 0 ? sk_X509_num(issuers) : 0;
	for (i = 0; i < nis + sk_X509_num(st->certs) && r->pending != NULL;
	    i++) {
		X509 *x = i < nis ? sk_X509_value(issuers, i) :
		    sk_X509_value(st->certs, i - nis);

		if (X509_NAME_cmp(X509_get_subject_name(x), r->issuer) != 0)
			continue;
		found = 1;
		free(why);
		why = NULL;
		if (verify_rec(r, x, &why) == 0)
			break;
		if (!tried_key(r, x))
			sig_ok = 1;	/* x's key verified it: usage failed */
	}
	if (found && r->pending != NULL && !sig_ok && r->unusable == NULL &&
	    signed_by_other_key(crl, issuers, r->issuer)) {
		/*
		 * No known key verifies it and its authorityKeyIdentifier
		 * names another key, or none: a CA's new key or a separate
		 * CRL signer, whose certificate may come with a peer's chain.
		 * Kept unverified, within bounds; a lookup verifies it or says
		 * why, and keeps it waiting.  (One that could never be used
		 * anyway is refused for its signature: a forged CRL is not
		 * named as its issuer's.)
		 */
		for (o = st->head; o != NULL; o = o->next)
			if (o->pending != NULL && o->awaiting && !o->refused &&
			    !same_scope(o, r)) {
				nawait++;
				awbytes += o->bytes;
			}
		r->bytes = (size_t)i2d_X509_CRL(crl, NULL);
		if (nawait < MAX_AWAITING &&
		    awbytes + r->bytes <= MAX_AWAITING_BYTES) {
			r->awaiting = 1;
			found = 0;
		} else {
			t = xasprintf("%s; it cannot wait for another signer: "
			    "%zu CRLs (%zu bytes) already do, the most kept",
			    why, nawait, awbytes);
			free(why);
			why = t;
		}
	}
	if (found && r->pending != NULL) {
		*cause = xasprintf("%s: %s ignored: %s", origin,
		    d = rec_desc(r), why);
		free(d);
		r->pending = NULL;	/* the caller keeps ownership on error */
		/* Remembered, so that a lookup says why it is not used. */
		for (o = st->head; o != NULL; o = next) {
			next = o->next;
			if (o->refused && o->source == source &&
			    strcmp(o->origin, origin) == 0 &&
			    X509_NAME_cmp(o->issuer, r->issuer) == 0) {
				unlink_rec(st, o);
				rec_free(o);
			}
		}
		refuse_rec(st, r, why);
		return -1;
	}
	free(why);
	if (r->unusable != NULL) {
		/*
		 * Kept to be named, never used: the CRL itself is not (one
		 * whose signature failed was refused above, so that a forged
		 * CRL is not named as a CA's).
		 */
		X509_CRL_free(r->pending);
		r->pending = NULL;
	}
	/*
	 * Replace older CRLs of the same scope, and refusals of the origin;
	 * a CRL that waits for its signer replaces only CRLs that are not
	 * verified either (a forged one must not push a CA's CRL out).
	 */
	for (o = st->head; o != NULL; o = next) {
		next = o->next;
		if ((!o->refused && same_scope(o, r) && (!r->awaiting ||
		    o->pending != NULL)) || (o->refused &&
		    o->source == source && strcmp(o->origin, origin) == 0 &&
		    X509_NAME_cmp(o->issuer, r->issuer) == 0)) {
			unlink_rec(st, o);
			rec_free(o);
		}
	}
	link_rec(st, r);
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

/* The index of an entry for serial in r, or -1. */
static long
find_serial(const struct rec *r, const ASN1_INTEGER *serial)
{
	struct ent key;
	const unsigned char *kb = ASN1_STRING_get0_data(serial);
	size_t lo = 0, hi = r->n, mid;
	int c;

	if (ASN1_STRING_length(serial) > 255)
		return -1;
	key.len = (uint8_t)ASN1_STRING_length(serial);
	key.neg = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
	key.head = head_of(kb, key.len);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = ent_cmp_key(&key, kb + HEAD_LEN, &r->v[mid],
		    r->arena + r->v[mid].off);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * The entry of r for the certificate with serial issued by in, or NULL.
 * In an indirect CRL one serial may be listed for several issuers: the
 * equal entries around the one found are all looked at.
 */
static const struct ent *
find_entry(const struct rec *r, const ASN1_INTEGER *serial,
    const X509_NAME *in)
{
	long k = find_serial(r, serial), lo;
	size_t j;

	if (k < 0)
		return NULL;
	if (r->iss == NULL)
		return X509_NAME_cmp(r->issuer, in) == 0 ? &r->v[k] : NULL;
	sort_arena = r->arena;
	for (lo = k; lo > 0 && ent_cmp(&r->v[lo - 1], &r->v[k]) == 0; lo--)
		;
	for (j = (size_t)lo; j < r->n && ent_cmp(&r->v[j], &r->v[k]) == 0;
	    j++) {
		if (X509_NAME_cmp(r->names[r->iss[j]], in) == 0) {
			sort_arena = NULL;
			return &r->v[j];
		}
	}
	sort_arena = NULL;
	return NULL;
}

/* What the certificate says about the CRLs that may cover it. */
struct certinfo {
	X509		*cert;
	const X509_NAME	*issuer;
	int		 is_ca;
	int		 loaded;	/* the fields below are read */
	GENERAL_NAMES	*dpnames;	/* every distribution point name */
	unsigned	*dpreasons;	/* the reasons of each one's DP */
	STACK_OF(X509_NAME) *crlissuers; /* cRLIssuer of its DPs (shared) */
	int		 has_cdp;
};

/* Append the names of distribution point dpn (relative ones under base). */
static void
dpn_names(const DIST_POINT_NAME *dpn, const X509_NAME *base,
    GENERAL_NAMES *out)
{
	X509_NAME *nm;
	GENERAL_NAME *g;
	int i;

	if (dpn->type == 0) {
		for (i = 0; i < sk_GENERAL_NAME_num(dpn->name.fullname); i++)
			sk_GENERAL_NAME_push(out, GENERAL_NAME_dup(
			    sk_GENERAL_NAME_value(dpn->name.fullname, i)));
		return;
	}
	/* nameRelativeToCRLIssuer: the RDN appended to the CRL issuer. */
	nm = X509_NAME_dup(base);
	for (i = 0; i < sk_X509_NAME_ENTRY_num(dpn->name.relativename); i++)
		X509_NAME_add_entry(nm, sk_X509_NAME_ENTRY_value(
		    dpn->name.relativename, i), -1, i == 0 ? 0 : -1);
	g = GENERAL_NAME_new();
	GENERAL_NAME_set0_value(g, GEN_DIRNAME, nm);
	sk_GENERAL_NAME_push(out, g);
}

/* What a lookup needs of cert at once: its issuer, whether it is a CA. */
static void
certinfo_init(struct certinfo *ci, X509 *cert)
{
	memset(ci, 0, sizeof *ci);
	ci->cert = cert;
	ci->issuer = X509_get_issuer_name(cert);
	ci->is_ca = X509_check_ca(cert) == 1 &&
	    (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
}

/*
 * Read the certificate's distribution points, the first time a CRL needs
 * them (most CRLs have no IDP: a lookup in them does not pay for this).
 */
static void
certinfo_load(struct certinfo *ci)
{
	STACK_OF(DIST_POINT) *dps;
	int i, j, n, first;

	if (ci->loaded)
		return;
	ci->loaded = 1;
	ci->dpnames = sk_GENERAL_NAME_new_null();
	ci->crlissuers = sk_X509_NAME_new_null();
	dps = X509_get_ext_d2i(ci->cert, NID_crl_distribution_points, NULL,
	    NULL);
	ci->has_cdp = dps != NULL;
	for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		const X509_NAME *base = ci->issuer;

		for (j = 0; j < sk_GENERAL_NAME_num(dp->CRLissuer); j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(dp->CRLissuer, j);

			if (g->type != GEN_DIRNAME)
				continue;
			if (base == ci->issuer)
				base = g->d.directoryName;
			sk_X509_NAME_push(ci->crlissuers,
			    X509_NAME_dup(g->d.directoryName));
		}
		first = sk_GENERAL_NAME_num(ci->dpnames);
		if (dp->distpoint != NULL)
			dpn_names(dp->distpoint, base, ci->dpnames);
		else
			for (j = 0; j < sk_GENERAL_NAME_num(dp->CRLissuer); j++)
				sk_GENERAL_NAME_push(ci->dpnames,
				    GENERAL_NAME_dup(sk_GENERAL_NAME_value(
				    dp->CRLissuer, j)));
		/* A DP with reasons gets only those from its CRLs (s.6.3.3 d). */
		n = sk_GENERAL_NAME_num(ci->dpnames);
		ci->dpreasons = xrealloc(ci->dpreasons, ((size_t)n + 1) *
		    sizeof *ci->dpreasons);
		for (j = first; j < n; j++)
			ci->dpreasons[j] = dp->reasons != NULL ?
			    reason_bits(dp->reasons) : ALL_REASONS;
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
}

/* Free what certinfo_load() read. */
static void
certinfo_clear(struct certinfo *ci)
{
	sk_GENERAL_NAME_pop_free(ci->dpnames, GENERAL_NAME_free);
	free(ci->dpreasons);
	sk_X509_NAME_pop_free(ci->crlissuers, X509_NAME_free);
}

/*
 * Whether r may speak for certificates of ci's issuer: its own (the CRL
 * issuer is the certificate issuer), or through an indirect CRL whose
 * issuer is a cRLIssuer of the certificate's distribution points.
 */
static int
issuer_fits(const struct rec *r, struct certinfo *ci)
{
	int i;

	if (X509_NAME_cmp(r->issuer, ci->issuer) == 0)
		return 1;
	if (!r->indirect)
		return 0;
	certinfo_load(ci);
	for (i = 0; i < sk_X509_NAME_num(ci->crlissuers); i++)
		if (X509_NAME_cmp(sk_X509_NAME_value(ci->crlissuers, i),
		    r->issuer) == 0)
			return 1;
	return 0;
}

/* A distribution point name for messages. */
static char *
gn_text(const GENERAL_NAME *g)
{
	if (g->type == GEN_URI)
		return xstrndup((const char *)ASN1_STRING_get0_data(g->d.ia5),
		    (size_t)ASN1_STRING_length(g->d.ia5));
	if (g->type == GEN_DIRNAME)
		return name_line(g->d.directoryName);
	return xstrdup("(a name)");
}

/*
 * Why r does not cover the certificate (RFC 5280 s.6.3.3 b), or NULL:
 * the kind of certificate (onlyContainsUserCerts, onlyContainsCACerts)
 * and the distribution point its issuingDistributionPoint names.  When it
 * covers it, *reasons: the reasons it covers for it (onlySomeReasons, and
 * the reasons of the certificate's distribution points it matched).
 */
static char *
scope_why(const struct rec *r, struct certinfo *ci, unsigned *reasons)
{
	GENERAL_NAMES *names;
	char *t, *why = NULL;
	unsigned dpmask = 0;
	int i, j, hit = 0;

	*reasons = r->reasons;
	if (r->idp == NULL)
		return NULL;
	if (r->idp->onlyuser && ci->is_ca)
		return xstrdup("it covers end-entity certificates only "
		    "(onlyContainsUserCerts) and this is a CA certificate");
	if (r->idp->onlyCA && !ci->is_ca)
		return xstrdup("it covers CA certificates only "
		    "(onlyContainsCACerts) and this is not a CA certificate");
	if (r->idp->distpoint == NULL)
		return NULL;
	certinfo_load(ci);
	names = sk_GENERAL_NAME_new_null();
	dpn_names(r->idp->distpoint, r->issuer, names);
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++)
		for (j = 0; j < sk_GENERAL_NAME_num(ci->dpnames); j++)
			if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(names, i),
			    sk_GENERAL_NAME_value(ci->dpnames, j)) == 0) {
				hit = 1;
				dpmask |= ci->dpreasons[j];
			}
	*reasons &= dpmask;
	if (hit && *reasons == 0)
		why = xstrdup("the certificate's distribution point it "
		    "matches and its onlySomeReasons have no reason in "
		    "common");
	if (!hit) {
		t = sk_GENERAL_NAME_num(names) > 0 ?
		    gn_text(sk_GENERAL_NAME_value(names, 0)) : xstrdup("?");
		why = xasprintf("its issuingDistributionPoint (%s) is not %s",
		    t, ci->has_cdp ? "among the certificate's CRL "
		    "distribution points" : "named by the certificate, which "
		    "has no CRL distribution point");
		free(t);
	}
	sk_GENERAL_NAME_pop_free(names, GENERAL_NAME_free);
	return why;
}

/* Append "; what" to *notes. */
static void __attribute__((format(printf, 2, 3)))
note(char **notes, const char *fmt, ...)
{
	va_list ap;
	char *s, *t;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	if (*notes == NULL) {
		*notes = s;
		return;
	}
	t = xasprintf("%s; %s", *notes, s);
	free(*notes);
	free(s);
	*notes = t;
}

/* Note that r is not used for this certificate, and why. */
static void
note_rec(char **notes, const struct rec *r, const char *why)
{
	char *d = rec_desc(r);

	note(notes, "%s not used: %s", d, why);
	free(d);
}

/*
 * Whether signer validates to the anchor of sg at time now (its chain
 * built from the trust list, the peer's chain and the certificates that
 * came with CRLs).  *issuer: signer's issuer on that chain (up-referenced;
 * NULL when signer is the anchor itself).
 */
static int
validates(struct rev_store *st, X509 *signer, const struct rev_signers *sg,
    time_t now, X509 **issuer)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *unt = sk_X509_new_null(), *chain;
	int i, ok = 0;

	for (i = 0; i < sk_X509_num(sg->chain); i++)
		sk_X509_push(unt, sk_X509_value(sg->chain, i));
	for (i = 0; i < sk_X509_num(st->certs); i++)
		sk_X509_push(unt, sk_X509_value(st->certs, i));
	if (ctx != NULL && X509_STORE_CTX_init(ctx, sg->trust, signer, unt)) {
		X509_STORE_CTX_set_time(ctx, 0, now);
		if (X509_verify_cert(ctx) == 1 &&
		    (chain = X509_STORE_CTX_get0_chain(ctx)) != NULL &&
		    sk_X509_num(chain) > 0)
			ok = X509_cmp(sk_X509_value(chain,
			    sk_X509_num(chain) - 1), sg->anchor) == 0;
		if (ok && sk_X509_num(chain) > 1) {
			*issuer = sk_X509_value(chain, 1);
			X509_up_ref(*issuer);
		}
	}
	X509_STORE_CTX_free(ctx);
	sk_X509_free(unt);
	ERR_clear_error();
	return ok;
}

/* Whether x may sign CRLs: cRLSign when it has a keyUsage. */
static int
may_sign_crls(X509 *x)
{
	return (X509_get_extension_flags(x) & EXFLAG_KUSAGE) == 0 ||
	    (X509_get_key_usage(x) & KU_CRL_SIGN) != 0;
}

/*
 * Whether signer x, issued by xi, is revoked by the CRLs held (its path
 * is validated revocation included, RFC 5280 s.6.3.3 f and s.6.1.3 a 3):
 * one level only, the CRLs that answer for x are taken as they are,
 * without a look at their own signers' status.  A status other than
 * revoked (good, unknown, no CRL) lets x sign.  1 with *why when revoked.
 */
static int
signer_revoked(struct rev_store *st, X509 *x, X509 *xi,
    const struct rev_signers *sg, time_t now, char **why)
{
	struct rev_crl_answer a;
	BIGNUM *bn;
	char *subj, *hex;
	int revoked;

	if (st->inner || xi == NULL)
		return 0;
	st->inner = 1;
	rev_store_lookup_signers(st, x, xi, sg, now, &a);
	st->inner = 0;
	revoked = a.status == REV_CRL_REVOKED;
	if (revoked) {
		subj = name_line(X509_get_subject_name(x));
		bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		hex = bn != NULL ? BN_bn2hex(bn) : NULL;
		free(*why);
		*why = xasprintf("its signer's certificate %s (serial %s) is "
		    "revoked: %s", subj, hex != NULL ? hex : "?", a.detail);
		OPENSSL_free(hex);
		BN_free(bn);
		free(subj);
	}
	free(a.detail);
	return revoked;
}

/*
 * A signer of r other than the certificate's issuer (RFC 5280 s.6.3.3
 * f): a certificate named as r's issuer, with cRLSign, from the trust
 * list, the peer's chain or the certificates that came with CRLs, that
 * verifies r (when it waits for its signer) or holds the key that did,
 * validates to the anchor of the certificate's path and is not revoked
 * (signer_revoked).  1 when found; 0, with *revwhy when the only reason
 * is that such a signer is revoked.
 */
static int
other_signer(struct rev_store *st, struct rec *r, const struct rev_signers *sg,
    time_t now, char **revwhy)
{
	STACK_OF(X509) *all = sk_X509_new_null(), *anchors;
	char *why = NULL;
	int i, ok = 0;

	anchors = sg->trust != NULL ? X509_STORE_get1_all_certs(sg->trust) :
	    NULL;
	for (i = 0; i < sk_X509_num(anchors); i++)
		sk_X509_push(all, sk_X509_value(anchors, i));
	for (i = 0; i < sk_X509_num(sg->chain); i++)
		sk_X509_push(all, sk_X509_value(sg->chain, i));
	for (i = 0; i < sk_X509_num(st->certs); i++)
		sk_X509_push(all, sk_X509_value(st->certs, i));
	for (i = 0; i < sk_X509_num(all) && !ok && !r->refused; i++) {
		X509 *x = sk_X509_value(all, i), *xi = NULL;
		EVP_PKEY *pk;

		if (X509_NAME_cmp(X509_get_subject_name(x), r->issuer) != 0 ||
		    !may_sign_crls(x))
			continue;
		/* Verify with x, but keep it only if x validates. */
		if (r->pending != NULL && tried_key(r, x))
			continue;
		if (r->pending != NULL && ((pk = X509_get0_pubkey(x)) == NULL ||
		    X509_CRL_verify(r->pending, pk) != 1)) {
			ERR_clear_error();
			try_failed(r, x);
			continue;
		}
		if (r->pending == NULL && !same_key(r, x))
			continue;
		if (!validates(st, x, sg, now, &xi) ||
		    signer_revoked(st, x, xi, sg, now, revwhy)) {
			X509_free(xi);
			continue;
		}
		X509_free(xi);
		/* The lookup of x's status may have verified r already. */
		if (r->pending != NULL) {
			ok = verify_rec(r, x, &why) == 0;
			free(why);
			why = NULL;
		} else
			ok = !r->refused && same_key(r, x);
	}
	if (ok) {
		free(*revwhy);
		*revwhy = NULL;
	}
	sk_X509_free(all);
	sk_X509_pop_free(anchors, X509_free);
	ERR_clear_error();
	return ok;
}

/*
 * Whether r may speak for the certificate: verified with the key of its
 * issuer (verifying it now if it waited for its issuer), or with that of
 * another signer validated as other_signer() says.  A CRL of the
 * certificate's issuer whose signature fails becomes a refusal; without
 * sg, one verified with another key (another CA of the same name) is left
 * alone, and an indirect CRL of another issuer counts when it was
 * verified when added (its issuer was among the issuers given).
 */
static int
rec_ready(struct rev_store *st, struct rec *r, const struct certinfo *ci,
    X509 *issuer, const struct rev_signers *sg, time_t now, char **notes)
{
	char *why = NULL, *t, *revwhy = NULL;
	int direct = X509_NAME_cmp(r->issuer, ci->issuer) == 0;

	if (r->pending != NULL) {
		if (direct && !tried_key(r, issuer) &&
		    verify_rec(r, issuer, &why) == 0)
			return 1;
		if (direct && why == NULL)
			why = xasprintf("its signature does not verify with the "
			    "key of %s", r->issuer_line);
		if (sg != NULL && other_signer(st, r, sg, now, &revwhy)) {
			free(why);
			return 1;
		}
		if (revwhy != NULL) {
			/* Not refused: the signer's status may change. */
			note_rec(notes, r, revwhy);
			free(revwhy);
			free(why);
			return 0;
		}
		if (!direct) {
			note_rec(notes, r, "no certificate of its issuer that "
			    "verifies it (with cRLSign, leading to the "
			    "certificate's trust anchor) is known: not in the "
			    "trust list, the peer's chain or the CRL files");
			return 0;
		}
		if (sg != NULL) {
			t = xasprintf("%s, nor with any other certificate of "
			    "that name with cRLSign that leads to the same "
			    "trust anchor", why);
			free(why);
			why = t;
		}
		if (r->awaiting) {
			/* It waits for a chain that brings its signer. */
			t = xasprintf("%s (it waits for a certificate that "
			    "verifies it: a peer's chain may bring one)", why);
			note_rec(notes, r, t);
			free(t);
			free(why);
			return 0;
		}
		note_rec(notes, r, why);
		refuse_rec(st, r, why);
		return 0;
	}
	if (direct && same_key(r, issuer))
		return 1;
	if (sg == NULL)
		return !direct;
	if (other_signer(st, r, sg, now, &revwhy))
		return 1;
	if (revwhy != NULL) {
		note_rec(notes, r, revwhy);
		free(revwhy);
		return 0;
	}
	note_rec(notes, r, direct ? "it is signed by another key than the "
	    "certificate's issuer's, and no certificate of its issuer with "
	    "that key and cRLSign leads to the certificate's trust anchor" :
	    "its signer's certificate does not lead to the certificate's "
	    "trust anchor (or may not sign CRLs)");
	return 0;
}

/*
 * The delta CRL to apply to complete CRL base (RFC 5280 s.5.2.4): same
 * issuer, key and scope, current, newer than base, and made on a base
 * no newer than it.  Deltas of that scope that do not fit are noted.
 */
static struct rec *
find_delta(struct rev_store *st, struct rec *base, const struct certinfo *ci,
    X509 *issuer, const struct rev_signers *sg, time_t now, char **notes)
{
	struct rec *d, *next, *best = NULL;
	char *t;

	for (d = st->head; d != NULL; d = next) {
		next = d->next;
		if (!d->delta || d->refused || d->unusable != NULL ||
		    d->scopelen != base->scopelen || (d->scopelen > 0 &&
		    memcmp(d->scope, base->scope, d->scopelen) != 0) ||
		    X509_NAME_cmp(d->issuer, base->issuer) != 0)
			continue;
		d->seen = st->gen;
		if (!rec_ready(st, d, ci, issuer, sg, now, notes))
			continue;
		if (d->keylen != base->keylen || memcmp(d->key, base->key,
		    d->keylen) != 0)
			continue;
		d->seen = st->gen;
		if (base->number == NULL) {
			note_rec(notes, d, "the complete CRL has no cRLNumber "
			    "to match its BaseCRLNumber");
			continue;
		}
		if (BN_cmp(d->base, base->number) > 0) {
			char *b = BN_bn2dec(base->number), *w;

			t = BN_bn2dec(d->base);
			w = xasprintf("it applies to complete CRL %s or newer "
			    "(BaseCRLNumber) and the complete CRL held is %s",
			    t != NULL ? t : "?", b != NULL ? b : "?");
			note_rec(notes, d, w);
			free(w);
			OPENSSL_free(t);
			OPENSSL_free(b);
			continue;
		}
		if (BN_cmp(d->number, base->number) <= 0)
			continue;	/* older than the complete CRL */
		if (d->next_update != 0 && now > d->next_update) {
			note_rec(notes, d, "it is past its nextUpdate");
			continue;
		}
		if (best == NULL || BN_cmp(d->number, best->number) > 0)
			best = d;
	}
	return best;
}

/* The names of the reasons in mask, comma-separated. */
static char *
reasons_text(unsigned mask)
{
	static const char *const names[] = { "", "keyCompromise",
		"cACompromise", "affiliationChanged", "superseded",
		"cessationOfOperation", "certificateHold", "privilegeWithdrawn",
		"aACompromise" };
	char *out = xstrdup(""), *t;
	int i;

	for (i = 1; i <= 8; i++) {
		if ((mask & (1u << i)) == 0)
			continue;
		t = xasprintf("%s%s%s", out, *out != '\0' ? ", " : "", names[i]);
		free(out);
		out = t;
	}
	return out;
}

/* d, then "; notes" when there are notes; frees d. */
static char *
with_notes(char *d, const char *notes)
{
	char *t;

	if (notes == NULL)
		return d;
	t = xasprintf("%s; %s", d, notes);
	free(d);
	return t;
}

void
rev_store_lookup(struct rev_store *st, X509 *cert, X509 *issuer, time_t now,
    struct rev_crl_answer *a)
{
	rev_store_lookup_signers(st, cert, issuer, NULL, now, a);
}

void
rev_store_lookup_signers(struct rev_store *st, X509 *cert, X509 *issuer,
    const struct rev_signers *sg, time_t now, struct rev_crl_answer *a)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	struct certinfo ci;
	struct rec *r, *next, *d, *good = NULL, *gooddelta = NULL;
	struct rec *stale = NULL;
	const struct rec *from;
	const struct ent *e;
	unsigned covered = 0, mask;
	int ngood = 0;
	char *notes = NULL, *t, *why;

	memset(a, 0, sizeof *a);
	a->reason = -1;
	certinfo_init(&ci, cert);
	/* A signer's own status is looked up within a lookup: the same
	 * generation, so that the outer one's marks hold. */
	if (!st->inner)
		st->gen++;
	for (r = st->head; r != NULL; r = next) {
		next = r->next;
		if (r->delta || !issuer_fits(r, &ci))
			continue;
		if (r->unusable != NULL) {
			note_rec(&notes, r, r->unusable);
			continue;
		}
		if (!rec_ready(st, r, &ci, issuer, sg, now, &notes))
			continue;
		if ((why = scope_why(r, &ci, &mask)) != NULL) {
			note_rec(&notes, r, why);
			free(why);
			continue;
		}
		d = NULL;
		if (r->next_update == 0 || now <= r->next_update)
			d = find_delta(st, r, &ci, issuer, sg, now, &notes);
		/* The delta speaks first: removeFromCRL there lifts a hold. */
		from = d;
		if (d == NULL || (e = find_entry(d, serial, ci.issuer)) == NULL) {
			from = r;
			e = find_entry(r, serial, ci.issuer);
		}
		if (e != NULL && e->reason != 8) {
			t = str_time_iso_dup((time_t)e->when);
			a->status = REV_CRL_REVOKED;
			a->revoked_at = (time_t)e->when;
			a->reason = e->reason;
			a->next_update = from->next_update;
			a->source = from->source;
			a->detail = xasprintf("revoked by the %s of %s (%s, %s) "
			    "at %s, reason %s", from->delta ? "delta CRL" : "CRL",
			    from->issuer_line, rev_source_name(from->source),
			    from->origin, t, rev_reason_name(e->reason));
			free(t);
			free(notes);
			certinfo_clear(&ci);
			return;
		}
		if (r->next_update != 0 && now > r->next_update) {
			if (stale == NULL || r->next_update > stale->next_update)
				stale = r;
			continue;
		}
		covered |= mask;
		ngood++;
		if (good == NULL || (mask == ALL_REASONS &&
		    good->reasons != ALL_REASONS)) {
			good = r;
			gooddelta = d;
		}
	}
	/* Deltas that found no complete CRL to go with. */
	for (r = st->head; r != NULL; r = r->next)
		if (r->delta && r->seen != st->gen && issuer_fits(r, &ci))
			note_rec(&notes, r, r->unusable != NULL ? r->unusable :
			    "a delta CRL is used only with a complete CRL of "
			    "its scope and key, and none is held");
	if (covered == ALL_REASONS) {
		a->status = REV_CRL_GOOD;
		a->next_update = good->next_update;
		a->source = good->source;
		a->delta_used = gooddelta != NULL;
		if (gooddelta == NULL && good->fresh != NULL)
			snprintf(a->fresh_url, sizeof a->fresh_url, "%s",
			    good->fresh);
		t = gooddelta != NULL ? rec_desc(gooddelta) : NULL;
		a->detail = xasprintf("not in the CRL of %s (%s, %s)%s%s%s",
		    good->issuer_line, rev_source_name(good->source),
		    good->origin, t != NULL ? " nor in its " : "",
		    t != NULL ? t : "", ngood > 1 ?
		    " nor in the other CRLs that cover it" : "");
		free(t);
		a->detail = with_notes(a->detail, notes);
	} else if (stale != NULL) {
		t = str_time_iso_dup(stale->next_update);
		a->status = REV_CRL_EXPIRED;
		a->next_update = stale->next_update;
		a->source = stale->source;
		a->detail = with_notes(xasprintf("CRL of %s expired at %s "
		    "(%s, %s)", stale->issuer_line, t,
		    rev_source_name(stale->source), stale->origin), notes);
		free(t);
	} else if (covered != 0) {
		t = reasons_text(ALL_REASONS & ~covered);
		a->status = REV_CRL_UNKNOWN;
		a->source = good->source;
		a->detail = with_notes(xasprintf("the current CRLs of %s that "
		    "cover it leave out some revocation reasons (onlySomeReasons"
		    " or the distribution point's reasons; not covered: %s)", good->issuer_line, t), notes);
		free(t);
	} else if (notes != NULL) {
		t = name_line(ci.issuer);
		a->status = REV_CRL_UNKNOWN;
		a->detail = xasprintf("no usable CRL of %s: %s", t, notes);
		free(t);
	} else {
		t = name_line(ci.issuer);
		a->status = REV_CRL_NONE;
		a->detail = xasprintf("no CRL of %s", t);
		free(t);
	}
	free(notes);
	certinfo_clear(&ci);
}

int
rev_store_has_current(const struct rev_store *st, enum rev_source source,
    const char *origin, time_t now)
{
	const struct rec *r;

	for (r = st->head; r != NULL; r = r->next)
		if (r->source == source && strcmp(r->origin, origin) == 0 &&
		    (r->next_update == 0 || now <= r->next_update))
			return 1;
	return 0;
}

void
rev_store_walk(struct rev_store *st,
    void (*fn)(const struct rev_crl_info *, void *), void *arg)
{
	struct rev_crl_info info;
	struct rec *r;

	for (r = st->head; r != NULL; r = r->next) {
		if (r->refused)
			continue;
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
		info.verified = r->pending == NULL && r->unusable == NULL;
		info.delta = r->delta;
		info.unusable = r->unusable;
		fn(&info, arg);
	}
}

size_t
rev_store_count(const struct rev_store *st)
{
	return st->n;
}
