/*
 * rev_store_index.c: one CRL made ready for lookups.  Its scope is read
 * (cRLNumber, deltaCRLIndicator, issuingDistributionPoint, the critical
 * extensions); once its signature verifies, its revoked entries are
 * copied into one sorted array of small records over a byte arena and
 * the OpenSSL object is freed; a lookup is a binary search.  The keys
 * that verified a CRL, or failed to, are remembered here.  No I/O.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "rev/rev_crl.h"
#include "rev/rev_store_int.h"
#include "util/xmalloc.h"

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

time_t
rev_store_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (time_t)epoch_of(&tm);
}

/*
 * Whether x holds the key that verified r.  The key bits are compared
 * directly: hashing them took most of the time of a lookup.
 */
int
rev_store_same_key(const struct rec *r, X509 *x)
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
int
rev_store_tried_key(const struct rec *r, X509 *x)
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
void
rev_store_try_failed(struct rec *r, X509 *x)
{
	const ASN1_BIT_STRING *b = X509_get0_pubkey_bitstr(x);
	int i;

	if (b == NULL || rev_store_tried_key(r, x))
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
unsigned
rev_store_reason_bits(const ASN1_BIT_STRING *bs)
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
 * Set r->unusable when crl has a critical extension not processed here
 * (RFC 5280 s.5.2), or a critical cRLNumber (s.5.2.3).
 */
static void
read_critical(struct rec *r, X509_CRL *crl)
{
	char oid[80];
	int i, n = X509_CRL_get_ext_count(crl);

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
}

/*
 * Read r->idp (issuingDistributionPoint): the scope key, indirectCRL,
 * onlySomeReasons, and the scopes that make the CRL unusable.
 */
static void
read_idp(struct rec *r)
{
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
		r->reasons = rev_store_reason_bits(r->idp->onlysomereasons);
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

/*
 * Read what decides where r may be used: cRLNumber, deltaCRLIndicator,
 * issuingDistributionPoint, and the critical extensions (RFC 5280 s.5.2:
 * a CRL with a critical extension it does not process must not be used).
 * Sets r->unusable when the CRL can never be used.
 */
void
rev_store_read_scope(struct rec *r, X509_CRL *crl)
{
	ASN1_INTEGER *num;
	int crit;

	r->reasons = ALL_REASONS;
	read_critical(r, crl);
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
	if (r->idp != NULL)
		read_idp(r);
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

/*
 * Sort the entries of r by serial.  CAs usually list the serials in order
 * (OpenSSL sorts them before signing), and the order here is the same for
 * positive serials: a pass that finds them sorted saves the sort and its
 * scratch memory.
 */
static void
sort_index(struct rec *r)
{
	size_t i, n = r->n;

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
		r->v[i].when = rev_store_time(
		    X509_REVOKED_get0_revocationDate(rv));
		r->v[i].reason = reason;
		used += tail;
	}
	ERR_clear_error();
	r->arena = xrealloc(arena, used + 1);	/* give the slack back */
	r->n = n;
	sort_index(r);
	return 0;
}

/*
 * Verify r->pending against issuer and index it.  0 verified, -1 with
 * *why when issuer is the named CA but the CRL does not check out.
 */
int
rev_store_verify_rec(struct rec *r, X509 *issuer, char **why)
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
		rev_store_try_failed(r, issuer);
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
const struct ent *
rev_store_find_entry(const struct rec *r, const ASN1_INTEGER *serial,
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
