/*
 * name.c: host names, IP literals, URIs and subjectAltName entries, one
 * rule for every caller (see name.h).  Only checks and canonical text: it
 * must not build certificates, look names up or know where a name came
 * from (the caller says that in front of the sentence).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/name.h"
#include "util/xmalloc.h"

#define NAME_MAX_LEN	253	/* RFC 1034 s.3.1, without the final dot */
#define LABEL_MAX	63

/* What is wrong with a host name. */
enum dns_problem {
	DNS_OK,
	DNS_EMPTY,
	DNS_LONG,
	DNS_NON_ASCII,
	DNS_CHAR,		/* a byte outside letters, digits, '-', '.' */
	DNS_EMPTY_LABEL,
	DNS_TRAILING_DOT,
	DNS_LONG_LABEL,
	DNS_HYPHEN,
	DNS_WILDCARD_PLACE,
	DNS_WILDCARD_HERE,	/* a wildcard where none is allowed */
	DNS_NUMERIC
};

/* Letters, digits and '-' in ASCII, independent of the locale. */
static int
ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/*
 * The first problem of s[0..len) as a host name; *at is the offending
 * byte's index for DNS_CHAR and DNS_NON_ASCII, *lablen the label length
 * for DNS_LONG_LABEL.
 */
static enum dns_problem
dns_problem(const unsigned char *s, size_t len, int flags, size_t *at,
    size_t *lablen)
{
	size_t i, start, n;
	int digits;

	if ((flags & NAME_DOMAIN) && len > 0 && s[0] == '.') {
		s++;
		len--;
	}
	if (len == 0)
		return DNS_EMPTY;
	if (len > NAME_MAX_LEN)
		return DNS_LONG;
	for (i = 0; i < len; i++) {
		*at = i;
		if (s[i] >= 0x80)
			return DNS_NON_ASCII;
		if (!ldh(s[i]) && s[i] != '.' && s[i] != '*')
			return DNS_CHAR;
	}
	for (start = 0; start <= len; start = i + 1) {
		for (i = start; i < len && s[i] != '.'; i++)
			continue;
		n = i - start;
		if (n == 0)
			return i == len && len > 0 ? DNS_TRAILING_DOT :
			    DNS_EMPTY_LABEL;
		if (n > LABEL_MAX) {
			*lablen = n;
			return DNS_LONG_LABEL;
		}
		if (memchr(s + start, '*', n) != NULL) {
			if (n != 1 || start != 0 || i == len)
				return DNS_WILDCARD_PLACE;
			if (!(flags & NAME_WILDCARD))
				return DNS_WILDCARD_HERE;
			continue;
		}
		if (s[start] == '-' || s[i - 1] == '-')
			return DNS_HYPHEN;
		if (i == len) {
			for (digits = 1; start < i; start++)
				if (s[start] < '0' || s[start] > '9')
					digits = 0;
			if (digits)
				return DNS_NUMERIC;
		}
	}
	return DNS_OK;
}

int
name_dns_ok(const unsigned char *s, size_t len, int flags)
{
	size_t at, lablen;

	if (len > 0 && memchr(s, '\0', len) != NULL)
		return 0;
	return dns_problem(s, len, flags, &at, &lablen) == DNS_OK;
}

/* The sentence for problem p of host name s; NULL for DNS_OK. */
static char *
dns_sentence(const char *s, enum dns_problem p, size_t at, size_t lablen)
{
	unsigned char c = (unsigned char)s[at];

	switch (p) {
	case DNS_OK:
		return NULL;
	case DNS_EMPTY:
		return xstrdup("the host name is empty");
	case DNS_LONG:
		return xasprintf("\"%.40s...\" is not a host name: it is %zu "
		    "characters long, at most %d are allowed", s, strlen(s),
		    NAME_MAX_LEN);
	case DNS_NON_ASCII:
		return xasprintf("\"%s\" is not a host name: it has non-ASCII "
		    "characters; give its xn-- (punycode) form", s);
	case DNS_CHAR:
		if (c < 0x20 || c == 0x7f)
			return xasprintf("\"%s\" is not a host name: it has a "
			    "control character; only letters, digits, "
			    "hyphens and dots are allowed", s);
		return xasprintf("\"%s\" is not a host name: it has the "
		    "character '%c'; only letters, digits, hyphens and dots are "
		    "allowed%s", s, c, c == '_' ? " (an underscore belongs to "
		    "service labels such as _sip._tcp, never to a host name, "
		    "RFC 1123)" : "");
	case DNS_EMPTY_LABEL:
		return xasprintf("\"%s\" is not a host name: it has an empty "
		    "label (a dot at the start or two dots in a row)", s);
	case DNS_TRAILING_DOT:
		return xasprintf("\"%s\" is not a host name: it ends with a dot; "
		    "leave the dot out", s);
	case DNS_LONG_LABEL:
		return xasprintf("\"%s\" is not a host name: it has a label of "
		    "%zu characters, at most %d are allowed", s, lablen,
		    LABEL_MAX);
	case DNS_HYPHEN:
		return xasprintf("\"%s\" is not a host name: a label starts or "
		    "ends with a hyphen", s);
	case DNS_WILDCARD_PLACE:
		return xasprintf("\"%s\" is not a host name: a wildcard must be "
		    "the whole leftmost label of a longer name "
		    "(*.example.com)", s);
	case DNS_WILDCARD_HERE:
		return xasprintf("\"%s\" is a wildcard; a single host name is "
		    "needed here", s);
	case DNS_NUMERIC:
		return xasprintf("\"%s\" is not a host name: its last label is "
		    "all digits, and it is no IP address either (RFC 1123 "
		    "s.2.1)", s);
	}
	return NULL;
}

int
name_host_check(const char *s, int flags, char **cause)
{
	size_t at = 0, lablen = 0;
	enum dns_problem p;

	p = dns_problem((const unsigned char *)s, strlen(s), flags, &at,
	    &lablen);
	if (p == DNS_OK)
		return 0;
	*cause = dns_sentence(s, p, at, lablen);
	return -1;
}

int
name_ip_parse(const char *s, unsigned char addr[16])
{
	unsigned char tmp[16];

	if (addr == NULL)
		addr = tmp;
	if (inet_pton(AF_INET, s, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return 16;
	return 0;
}

int
name_is_ip(const char *s)
{
	return name_ip_parse(s, NULL) != 0;
}

char *
name_ip_canonical(const char *s)
{
	unsigned char addr[16];
	char out[INET6_ADDRSTRLEN];
	int n = name_ip_parse(s, addr);

	if (n == 0)
		return NULL;
	if (inet_ntop(n == 4 ? AF_INET : AF_INET6, addr, out, sizeof out) ==
	    NULL)
		return NULL;
	return xstrdup(out);
}

/* Index of the first space, control or non-ASCII byte of s, or -1. */
static long
bad_byte(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return p - s;
	return -1;
}

/*
 * The host of sip(s) URI value v (after "sip:"/"sips:"): [user@] host
 * [:port] [;params] [?headers].  0, or -1 with a sentence for URI u.
 */
static int
sip_host_check(const char *u, const char *v, char **cause)
{
	const char *h, *end, *at = strchr(v, '@');
	char *host, *why = NULL;
	size_t n, i;
	int ok;

	h = at != NULL ? at + 1 : v;
	if (*h == '[') {
		if ((end = strchr(h, ']')) == NULL)
			goto bad;
		host = xstrndup(h + 1, (size_t)(end - h - 1));
		ok = name_ip_parse(host, NULL) == 16;
		end++;
	} else {
		n = strcspn(h, ":;?");
		end = h + n;
		host = xstrndup(h, n);
		ok = name_ip_parse(host, NULL) == 4 ||
		    name_host_check(host, 0, &why) == 0;
	}
	if (ok && *end == ':') {
		for (i = 1; end[i] >= '0' && end[i] <= '9'; i++)
			continue;
		ok = i > 1 && i <= 6;
		end += i;
	}
	if (ok && *end != '\0' && *end != ';' && *end != '?')
		ok = 0;
	if (ok) {
		free(host);
		return 0;
	}
	if (why != NULL) {
		*cause = xasprintf("the SIP URI \"%s\" has a host that is not a "
		    "host name or IP address: %s", u, why);
		free(why);
		free(host);
		return -1;
	}
	free(host);
bad:
	*cause = xasprintf("the SIP URI \"%s\" is not sip:host, sip:host:port "
	    "or sip:[IPv6 address]", u);
	return -1;
}

int
name_uri_check(const char *s, char **cause)
{
	const char *p = s;
	size_t n;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
		*cause = xasprintf("\"%s\" is not a URI: it must start with a "
		    "scheme such as sip: (URI:sip:example.com)", s);
		return -1;
	}
	while (ldh((unsigned char)*p) || *p == '+' || *p == '.')
		p++;
	if (*p != ':' || p[1] == '\0') {
		*cause = xasprintf("\"%s\" is not a URI: it must be "
		    "scheme:value, such as sip:example.com", s);
		return -1;
	}
	if (bad_byte(s) != -1) {
		*cause = xasprintf("\"%s\" is not a URI: it has a space, control "
		    "or non-ASCII character; percent-encode it", s);
		return -1;
	}
	n = (size_t)(p - s);
	if ((n == 3 && strncasecmp(s, "sip", 3) == 0) ||
	    (n == 4 && strncasecmp(s, "sips", 4) == 0))
		return sip_host_check(s, p + 1, cause);
	return 0;
}

int
name_url_check(const char *s, char **cause)
{
	const char *rest;

	if (strncasecmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		rest = s + 8;
	else {
		*cause = xasprintf("\"%s\" is not an http:// or https:// URL", s);
		return -1;
	}
	if (*rest == '\0' || *rest == '/') {
		*cause = xasprintf("the URL \"%s\" names no host", s);
		return -1;
	}
	if (bad_byte(s) != -1) {
		*cause = xasprintf("the URL \"%s\" has a space or a character "
		    "that is not printable ASCII (encode it as %%XX)", s);
		return -1;
	}
	return 0;
}

/* Schemes a bare URI entry may have. */
static const char *const bare_schemes[] = {
	"sip", "sips", "tel", "urn", "http", "https"
};

/* Whether s[0..n) is one of bare_schemes. */
static int
is_bare_scheme(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof bare_schemes / sizeof bare_schemes[0]; i++)
		if (strlen(bare_schemes[i]) == n &&
		    strncasecmp(s, bare_schemes[i], n) == 0)
			return 1;
	return 0;
}

/* "IP:" + the canonical text of ip, or NULL with a sentence. */
static char *
ip_entry(const char *ip, char **cause)
{
	char *c, *out;

	if ((c = name_ip_canonical(ip)) == NULL) {
		*cause = xasprintf("\"%s\" is not an IPv4 or IPv6 address", ip);
		return NULL;
	}
	out = xasprintf("IP:%s", c);
	free(c);
	return out;
}

/* "DNS:" + host name h in lower case (wildcard allowed), or NULL. */
static char *
dns_entry(const char *h, char **cause)
{
	char *out, *p;

	if (name_host_check(h, NAME_WILDCARD, cause) == -1)
		return NULL;
	out = xasprintf("DNS:%s", h);
	for (p = out + 4; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

char *
name_san_host(const char *host, char **cause)
{
	if (name_is_ip(host))
		return ip_entry(host, cause);
	if (strchr(host, ':') != NULL) {
		*cause = xasprintf("\"%s\" is neither a host name nor an IP "
		    "address", host);
		return NULL;
	}
	return dns_entry(host, cause);
}

char *
name_san_parse(const char *entry, char **cause)
{
	const char *colon = strchr(entry, ':');
	size_t tlen;

	/* Bare: an IP literal (IPv6 ones have colons) or a host name. */
	if (colon == NULL || name_is_ip(entry))
		return name_san_host(entry, cause);
	tlen = (size_t)(colon - entry);
	if (tlen == 3 && strncasecmp(entry, "DNS", 3) == 0)
		return dns_entry(colon + 1, cause);
	if (tlen == 2 && strncasecmp(entry, "IP", 2) == 0)
		return ip_entry(colon + 1, cause);
	if (tlen == 3 && strncasecmp(entry, "URI", 3) == 0)
		entry = colon + 1;
	else if (!is_bare_scheme(entry, tlen)) {
		*cause = xasprintf("\"%s\": \"%.*s\" is not a name type; write "
		    "DNS:name, IP:address or URI:scheme:value (e.g. "
		    "URI:sip:example.com)", entry, (int)tlen, entry);
		return NULL;
	}
	if (name_uri_check(entry, cause) == -1)
		return NULL;
	return xasprintf("URI:%s", entry);
}
