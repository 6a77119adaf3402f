/*
 * ctl_proto.h: the protocol of the control socket, shared by the daemon
 * (ctl_server.c) and its clients (ctl_client.c, sipedge-ctl).  Plain
 * constants only: a client may include it without linking anything else.
 *
 * The socket is a unix stream socket (daemon.control_socket), mode 0660,
 * group daemon.control_group (default: the daemon's own group).  The
 * filesystem decides who may connect; the daemon then checks the peer's
 * credentials (SO_PEERCRED) itself and serves only root, its own user and
 * members of that group.  One connection carries one request:
 *
 *   request  = [ "json" SP ] command [ SP args ] LF
 *   reply    = status LF *( text LF )    then the daemon closes
 *   status   = "ok" / "error" / "denied"
 *
 * - "denied" (CTL_PROTO_VERSION 2) is sent at once, before the request is
 *   read, to a peer that is not served; one text line says why.
 * - With the "json" prefix the text of the reply is one JSON object on one
 *   line: the command's data as members, "ok" (true or false), and
 *   "error" (a failure's reason) or "message" (a note) when the command
 *   said one.  The members per command are listed in sipedge-ctl(8).
 *   Strings are UTF-8; bytes that were not become U+FFFD.  A line that
 *   is too long is answered in text, as its prefix was not read.
 * - The request line is at most CTL_LINE_MAX bytes including the LF; a CR
 *   before the LF is ignored, as are spaces around the command.  A client
 *   that half-closes its end (shutdown(SHUT_WR)) may omit the LF.
 * - The command is a word of lower-case letters; args are the rest of the
 *   line.  The text lines of the reply are human-readable and end in LF;
 *   a reply is complete when the daemon closes the connection (EOF).
 * - "error" means the daemon refused or failed the command: an unknown
 *   command, a line that is too long, a reload with configuration errors
 *   (the text then lists every error as file:line: message).
 * - The daemon closes a connection that sends no complete line within
 *   CTL_TIMEOUT seconds (in all, however it drips), without a reply, and
 *   one that has not read the reply and closed within CTL_TIMEOUT more.
 *   What the client sends after its line is read and dropped.  It serves
 *   at most CTL_MAX_CLIENTS connections at once; one more gets
 *   "error" and "too many control connections" at once.
 *
 * Commands (CTL_PROTO_VERSION 3; "zone", "crl", "denied" and "json" are
 * new in 2, the arguments of "connections" in 3):
 *   help     the commands, one per line: name, arguments, what it does
 *   status   "name: value" lines: version, protocol, pid, started, uptime,
 *            config, loaded_at, snapshots, certificate, subject,
 *            not_before,
 *            not_after, temporary, alarms ("none" or a "; " list),
 *            connections, requests, forwarded, failovers,
 *            local_responses, pending, transactions, overload (counters),
 *            inbound, handshakes, sources, limits ("max_connections N
 *            per_source N handshakes N"), refused ("max_connections N
 *            per_source N handshakes N descriptors N"), deadlines
 *            ("connect N handshake N gate N partial N idle N flush N"),
 *            accept_paused (yes/no), bad_messages (refused input, all
 *            kinds), bad_messages_by_kind ("KIND N ..." words,
 *            sip_bad_name()), heap ("trims N last_ms N longest_ms N"),
 *            log_suppressed, then "log_limit: MODULE
 *            \"EVENT\" total N suppressed S" per rate-limited log kind
 *   alarms   "TIME KEY: REASON" per raised alarm, oldest first, or "none"
 *   certs    "server FILE", "  subject", "  names", "  expires", then
 *            "trust FILE: N CAs" and one "  SUBJECT expires TIME" each
 *   connections [ARGS]  (ARGS new in 3; version 2 took none) a summary
 *            of the TLS connections that match the filters, then one
 *            page of them.  ARGS are words, each also accepted with a
 *            leading "--": "limit N" (page size, default
 *            CTL_CONNS_DEFAULT, at most CTL_CONNS_PAGE_MAX), "offset N"
 *            (skip N matching connections, newest first), "all" (a page
 *            of CTL_CONNS_PAGE_MAX and no hint line), "zone NAME", "peer
 *            ADDR" (ADDR or ADDR:PORT), "nosummary" (the page alone).
 *            A page also stops after about CTL_CONNS_BYTES_MAX bytes, so
 *            a reply stays under CTL_REPLY_MAX; the client pages on with
 *            offset (connections that open or close meanwhile shift it).
 *            Text: "connections: N (in N, out N; held N, open N)",
 *            "zones: NAME N ...", "tls: VERSION N ..." ("handshake" while
 *            not done), then one line per connection: peer, "in"/"out",
 *            "zone" NAME, "held"/"open", "since" TIME, "age" Ns, "tls"
 *            VERSION CIPHER, "subject" SUBJECT, and "verdict" TEXT once
 *            decided; then, unless "all", "N more: ..." when the page did
 *            not reach the end.  JSON: "summary" {total, in, out, held,
 *            open, zones {NAME: N}, tls_versions {V: N}} (left out with
 *            nosummary), "connections" [...], "offset", "limit",
 *            "returned", "more".
 *   zones    one line per neighbor zone peer: zone, transport, peer:port,
 *            state ("idle", "resolving", "connecting", "active", "failed"),
 *            "since" and an ISO time, then ": reason" when failed
 *   zone NAME  "zone NAME type TYPE transport T peers N", then per peer
 *            "  PEER:PORT STATE since TIME address ADDR[ reason REASON]";
 *            "error" for a zone the configuration does not have
 *   crl update  fetch every CRL distribution point now; "ok" with the
 *            number started, "error" when none is configured
 *   revocation  "peers verified N refused N held N revalidated N dropped
 *            N", "ocsp cache N hits N misses N hit_rate P%" (P "-" before
 *            any lookup), then one line per CRL distribution point
 *   reload   like SIGHUP: "ok" when the new configuration is serving,
 *            "error" when it was refused (the previous one keeps serving);
 *            either way the text holds every error and warning, then one
 *            line summing up
 */
#ifndef SE_CTL_PROTO_H
#define SE_CTL_PROTO_H

#define CTL_PROTO_VERSION	3
#define CTL_LINE_MAX		4096	/* bytes of a request line, LF included */
#define CTL_TIMEOUT		10	/* s for the request line, then for the reply */
#define CTL_MAX_CLIENTS		64	/* connections served at once */
#define CTL_REPLY_MAX		(1024 * 1024)	/* clients stop reading here */
#define CTL_CONNS_DEFAULT	100	/* connections per page by default */
#define CTL_CONNS_PAGE_MAX	1000	/* per reply, at most ("all") */
#define CTL_CONNS_BYTES_MAX	(512 * 1024)	/* a page stops growing here */

#define CTL_STATUS_OK		"ok"
#define CTL_STATUS_ERROR	"error"
#define CTL_STATUS_DENIED	"denied"	/* not served (version 2) */
#define CTL_JSON_PREFIX		"json"		/* before the command */

#endif
