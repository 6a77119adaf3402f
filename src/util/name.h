/*
 * name.h: the one syntax of the names sipedge writes into certificates
 * and reads from its configuration: host names (RFC 1034 s.3.5 preferred
 * name syntax as RFC 1123 s.2.1 relaxes it), IP literals, URIs (a sip: or
 * sips: one with a checked host) and subjectAltName entries ("DNS:x",
 * "IP:x", "URI:x").  conf, the CSR and CA code and the identity checks all
 * use it, so a name one accepts the others accept.  Pure: no I/O.
 *
 * Every cause is one sentence that names the value, the same whoever
 * calls; the caller puts where it came from in front.
 */
#ifndef SE_NAME_H
#define SE_NAME_H

#include <stddef.h>

/* Flags for name_dns_ok and name_host_check. */
#define NAME_WILDCARD	0x01	/* "*" as the whole first label, more after */
#define NAME_DOMAIN	0x02	/* one leading "." (a nameConstraints base) */

/*
 * Whether s[0..len) is a host name: dot-separated labels of 1 to 63
 * ASCII letters, digits and inner hyphens, at most 253 bytes, no empty
 * label (so no trailing dot), and a last label that is not all digits
 * (RFC 1123 s.2.1: a host name never looks like an IPv4 address).  No
 * underscore: it belongs to service labels (_sip._tcp), never to a host.
 * Returns 1 or 0; s need not be NUL-terminated (an embedded NUL is 0).
 */
int		 name_dns_ok(const unsigned char *s, size_t len, int flags);
/* The same for a string; 0, or -1 with the sentence in *cause. */
int		 name_host_check(const char *s, int flags, char **cause);

/*
 * s as an IPv4 dotted quad or an IPv6 address (inet_pton's forms, no
 * brackets) into addr; returns 4 or 16 (the address length), 0 when s is
 * no IP literal.  addr may be NULL.
 */
int		 name_ip_parse(const char *s, unsigned char addr[16]);
/* Whether s is an IP literal (as name_ip_parse). */
int		 name_is_ip(const char *s);
/* The canonical text of IP literal s (inet_ntop), or NULL (caller frees). */
char		*name_ip_canonical(const char *s);

/*
 * Whether s is a URI a certificate may carry: an RFC 3986 scheme, ':' and
 * a value of printable ASCII without spaces; for sip: and sips: the host
 * (after an optional user@) must be a host name without wildcard, an IPv4
 * literal or a bracketed IPv6 literal, optionally :port, then ;params or
 * ?headers.  0, or -1 with the sentence in *cause.
 */
int		 name_uri_check(const char *s, char **cause);
/*
 * Whether s is an http:// or https:// URL with a host and no space or
 * byte outside printable ASCII (a CRL distribution point, an OCSP
 * responder).  0, or -1 with the sentence in *cause.
 */
int		 name_url_check(const char *s, char **cause);

/*
 * One subjectAltName entry, as the configuration (tls.extra_names) and
 * the command line (--san) write it: "DNS:name", "IP:address" or
 * "URI:scheme:value" (type in any case), or bare: an IP literal, a name
 * without ':' (a host name), or a URI whose scheme is sip, sips, tel,
 * urn, http or https.  A DNS name may be a wildcard (*.example.com).
 * Returns the canonical entry ("DNS:" + the name in lower case, "IP:" +
 * inet_ntop's text, "URI:" + the URI as given; caller frees), or NULL
 * with the sentence in *cause.
 */
char		*name_san_parse(const char *entry, char **cause);
/*
 * A host setting (node.fqdn, a common name) as a subjectAltName entry:
 * an IP literal gives "IP:...", a host name (wildcard allowed) "DNS:...".
 * NULL with the sentence in *cause when it is neither.
 */
char		*name_san_host(const char *host, char **cause);

#endif
