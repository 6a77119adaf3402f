/*
 * sip_msg.h: libosip2 wrapper: parse, check, and build responses.
 * libosip2's parser accepts many malformed messages; sip_msg_check() adds
 * the message rules of RFC 3261 s.7, s.8.2, s.16.3 and s.20 that a proxy
 * must enforce, and sip_msg_parse_error() names what made the parser give
 * up.  Pure: no sockets, no loop.
 */
#ifndef SE_SIP_MSG_H
#define SE_SIP_MSG_H

#include <stddef.h>
#include <osipparser2/osip_parser.h>

/* Once per process, before any parse. */
void		 sip_msg_init(void);

/*
 * Parse the header section of the len bytes at buf; NULL when libosip2
 * cannot make sense of it.  The body is never parsed (bodies are opaque:
 * m->bodies stays empty whatever Content-Type says, and the value of
 * m->content_length reads zero: libosip2 saw no body); callers that need
 * the body or its length take them from the text (or the framer).
 */
osip_message_t	*sip_msg_parse(const char *buf, size_t len);

/*
 * The same for a message that is relayed, not read: a response is parsed
 * for the fields the transaction layer and sip_msg_check() read (Via,
 * From, To, Call-ID, CSeq, the single-value and numeric fields) and its
 * other fields are left unparsed (they pass on as they came, in the text);
 * a request is parsed whole.  sip_msg_is_lean() tells such a response, which
 * must never be serialised: its text is what goes on.
 */
osip_message_t	*sip_msg_parse_lean(const char *buf, size_t len);
int		 sip_msg_is_lean(const osip_message_t *m);

/* Length of the header section (through the empty line), or len. */
size_t		 sip_msg_header_len(const char *buf, size_t len);

/*
 * Parameters allowed in one header value (or the request-URI): ';', '?'
 * and '&' outside quoted strings, each of which libosip2 turns into a
 * list entry.
 */
#define SIP_MSG_MAX_PARAMS	64

/*
 * The cost of parsing buf, measured in one linear pass before libosip2
 * sees it: header fields (each header line, continuation lines
 * included, plus each comma between values outside quotes and angle
 * brackets) and parameters per value.
 * 0 when there are at most max_fields and max_params; otherwise 400 with
 * a sentence in why saying how many and the limit.
 */
int		 sip_msg_scan(const char *buf, size_t len, size_t max_fields,
		    size_t max_params, char *why, size_t whysz);

/*
 * Why sip_msg_parse() refused buf: a sentence in why naming the line or
 * header at fault (a repeated single-value header, a From that is not a
 * name-addr, ...), and the status to answer a request with: 505 for a
 * version other than SIP/2.0, 400 otherwise.  Call it only after
 * sip_msg_parse() returned NULL.
 */
int		 sip_msg_parse_error(const char *buf, size_t len, char *why,
		    size_t whysz);

/*
 * Check a parsed message.  Returns 0 when acceptable; otherwise the status
 * code to answer with (400, 416, 505) and a sentence in why, which quotes
 * peer text only with double quotes, backslashes and control bytes
 * replaced, so that it fits in a Warning header.  The checks that depend on
 * what the proxy does with a request (Max-Forwards 0, Proxy-Require) are
 * the proxy's: see sip_msg_unsupported().
 */
int		 sip_msg_check(const osip_message_t *m, char *why, size_t whysz);

/*
 * The option-tags of the header hname ("Proxy-Require" for a proxy,
 * s.16.3 step 5; "Require" for a UAS, s.8.2.2.3) that are not among the
 * nsupported names in supported[], joined by ", " as the value of the
 * Unsupported header of a 420 response.  NULL when there are none.  The
 * result is malloc'd; the caller frees it.
 */
char		*sip_msg_unsupported(const osip_message_t *m, const char *hname,
		    const char *const *supported, size_t nsupported);

/* Where a request came from, for Via received/rport (RFC 3261 s.18.2.1, RFC 3581). */
struct sip_src {
	const char	*ip;	/* textual address */
	int		 port;
};

/*
 * Build a response to req as text.  phrase NULL: the standard reason
 * phrase.  to_tag is added to To when it has none (status > 100).  headers
 * is a NULL-ended list of "Name", "value" pairs.  Returns a malloc'd,
 * NUL-terminated message (caller frees) and its length, or NULL.
 */
char		*sip_msg_response(const osip_message_t *req, const struct sip_src *src,
		    int status, const char *phrase, const char *to_tag,
		    const char *const *headers, size_t *lenp);

/*
 * Build a response from the raw text of a message that could not be parsed
 * or checked, by echoing its Via lines and the first of its From, To,
 * Call-ID and CSeq lines (s.8.2.6).  NULL when any of them is missing,
 * when the text is a response, or when it is an ACK (never answered).
 * Control bytes in echoed lines become '?'.  The top Via gets received
 * (and rport's value) from src when src is not NULL (s.18.2.1, RFC 3581);
 * a To without a tag gets a fresh random one (s.19.3).  warning, when
 * set, goes into a Warning: 399 header so the sender learns what was
 * wrong.  Linear in len.
 */
char		*sip_msg_raw_response(const char *buf, size_t len, int status,
		    const struct sip_src *src, const char *warn_host,
		    const char *warning, size_t *lenp);

/*
 * The whole Call-ID (libosip2 keeps the part after '@' apart), "-" when
 * there is none, in buf; returns buf.  For logs: one call is one value.
 */
#define SIP_CALL_ID_MAX	512
const char	*sip_msg_call_id(const osip_message_t *m, char *buf, size_t bufsz);

/* 1 when the request-URI host is one of names[] (case-insensitive). */
int		 sip_msg_uri_host_is(const osip_message_t *m,
		    const char *const *names, size_t nnames);

#endif
