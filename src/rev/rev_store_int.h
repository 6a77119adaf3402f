/*
 * rev_store_int.h: the records of the CRL store, shared by its files:
 * rev_store.c (the store, admission of a CRL, the walk), rev_store_index.c
 * (a CRL's scope read, its signature verified, its entries indexed and
 * searched) and rev_store_lookup.c (the answer about one certificate).
 * Private: included only by those three files; callers use rev_store.h.
 */
#ifndef SE_REV_STORE_INT_H
#define SE_REV_STORE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "rev/rev_store.h"

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

/* rev_store.c */

/* The subject or issuer name n on one line (allocated). */
char		*rev_store_name_line(const X509_NAME *n);
/* A description of r for messages: "CRL 12 of X (manual, FILE)". */
char		*rev_store_rec_desc(const struct rec *r);
/* Turn r into the record of a refusal for why (taken), linked if not. */
void		 rev_store_refuse_rec(struct rev_store *st, struct rec *r,
		     char *why);

/* rev_store_index.c */

/* Seconds since the epoch of an ASN1_TIME (0 when absent or damaged). */
time_t		 rev_store_time(const ASN1_TIME *t);
/* Whether x holds the key that verified r. */
int		 rev_store_same_key(const struct rec *r, X509 *x);
/* Whether x's key is one r's signature was found not to verify with. */
int		 rev_store_tried_key(const struct rec *r, X509 *x);
/* Remember that x's key does not verify r. */
void		 rev_store_try_failed(struct rec *r, X509 *x);
/* The reasons in a ReasonFlags bit string, as bits 1 to 8. */
unsigned	 rev_store_reason_bits(const ASN1_BIT_STRING *bs);
/* Read crl's number, delta, scope and critical extensions into r. */
void		 rev_store_read_scope(struct rec *r, X509_CRL *crl);
/* Verify r->pending with issuer's key and index it: 0, or -1 with *why. */
int		 rev_store_verify_rec(struct rec *r, X509 *issuer, char **why);
/* The entry of r for serial issued by in, or NULL. */
const struct ent *rev_store_find_entry(const struct rec *r,
		     const ASN1_INTEGER *serial, const X509_NAME *in);

#endif
