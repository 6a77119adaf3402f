/*
 * conf.h: the parsed configuration, plain data.  conf_load() reads the main
 * file and the zone files with libconfig, checks every setting against the
 * option table (conf_table.c) and returns a struct conf, or NULL with every
 * problem in a diaglist as "file:line: message".  No sockets, no TLS here:
 * files named by settings are only resolved, not opened (tls/ loads them).
 */
#ifndef SE_CONF_H
#define SE_CONF_H

#include <stddef.h>
#include <regex.h>

#include "util/diag.h"
#include "util/log.h"

enum transport {
	TP_UDP,
	TP_TCP,
	TP_TLS
};

enum zone_type {
	ZONE_NEIGHBOR,
	ZONE_TRAVERSAL_CLIENT,
	ZONE_TRAVERSAL_SERVER
};

/* Where a setting was written, for messages about it. */
struct conf_loc {
	const char	*file;	/* points into struct conf's file list */
	int		 line;	/* 0 when the setting was not written (default) */
};

/*
 * A path setting, resolved against the directory of its file.  A default
 * (loc.line == 0) is resolved against the main file's directory; for the
 * PKI files a default that does not exist means "not installed yet".
 */
struct conf_path {
	char		*path;	/* NULL when not set */
	struct conf_loc	 loc;
};

#define CONF_PATH_IS_DEFAULT(p)	((p)->loc.line == 0)

struct conf_strlist {
	char		**v;
	size_t		  n;
};

struct conf_listen {
	int		 transport;	/* enum transport */
	char		*address;	/* IPv4 or IPv6 literal */
	int		 port;		/* 0 in the file: transport default */
	char		*zone;		/* a traversal-server zone's own, or NULL */
	struct conf_loc	 loc;		/* the list entry */
};

/* A line of the credentials file: an HA1 hash, never a password. */
struct conf_cred {
	char		*user;
	char		*realm;
	int		 sha256;	/* 1: SHA-256, 0: MD5 */
	char		*ha1;		/* lower-case hex */
};

/* The zone name of traffic that comes from no zone's peer. */
#define CONF_DEFAULT_ZONE	"default"

/* How a search rule compares the alias of a request-URI (route.h). */
enum rule_match {
	RULE_ANY,
	RULE_EXACT,
	RULE_PREFIX,
	RULE_SUFFIX,
	RULE_REGEX
};

/* What a search rule does when its target fails. */
enum rule_on_match {
	RULE_STOP,	/* the request fails */
	RULE_CONTINUE	/* the next matching rule is tried */
};

/*
 * A search rule (main file, list search_rules), validated: its zones
 * exist, its regular expression is compiled, its rewrite refers only to
 * groups the expression has.  struct conf holds them sorted by priority.
 */
struct conf_rule {
	int			 priority;	/* 1..65535, unique; 1 first */
	char			*name;		/* for logs; NULL: none */
	int			 match;		/* enum rule_match */
	char			*pattern;	/* NULL for RULE_ANY */
	regex_t			*re;		/* compiled RULE_REGEX pattern */
	char			*source_zone;	/* NULL: any */
	struct conf_strlist	 methods;	/* empty: any */
	char			*rewrite;	/* NULL: URI unchanged */
	char			*target_zone;
	int			 on_match;	/* enum rule_on_match */
	struct conf_loc		 loc;		/* the list entry */
};

struct conf_zone {
	char			*name;
	int			 type;		/* enum zone_type */
	int			 transport;	/* enum transport */
	int			 port;		/* transport default if unset */
	int			 port_set;	/* written: no SRV lookup */
	struct conf_strlist	 peers;		/* FQDN or IP literal, 0..6 */
	int			 tls_verify;	/* peer certificate checked by name */
	char			*peer_name;	/* expected identity; NULL: peers */
	int			 accept_wildcards;
	int			 cn_compat;	/* CN even with a SAN */
	int			 relax_eku;
	int			 min_rsa_bits;
	int			 revocation;	/* 0: no revocation checks */
	int			 fb_unknown;	/* -1 global, 0 not revoked, 1 */
	int			 fb_unreachable;
	int			 fb_nosource;
	int			 log_messages;	/* each SIP message, debug level */
	/* traversal zones */
	char			*username;	/* digest user (client: ours;
						   server: whom it accepts) */
	struct conf_path	 password_file;	/* client: holds the password */
	char			*password;	/* client: read from it */
	char			*address;	/* server: listen address */
	int			 keepalive_interval;	/* client: s */
	int			 pong_timeout;		/* client: s */
	int			 retry_max;		/* client: backoff cap, s */
	struct conf_loc		 loc;		/* the zone file */
};

struct conf {
	char			*main_file;	/* as given */
	char			**files;	/* every file read (for locations) */
	size_t			  nfiles;

	/* node */
	char			*fqdn;		/* this node's name */
	struct conf_strlist	 aliases;	/* other names it answers for */
	char			*cluster_fqdn;	/* NULL: not clustered */
	struct conf_strlist	 cluster_peers;	/* FQDNs of the other nodes */

	/* daemon */
	struct conf_path	 state_dir;	/* temp CA, caches */
	struct conf_path	 pid_file;
	struct conf_path	 zones_dir;
	struct conf_path	 control_socket;
	char			*control_group;	/* NULL: the daemon's own */
	long			 control_gid;	/* its gid, -1 when NULL */
	int			 shutdown_grace;	/* seconds */

	/* log */
	int			 log_level;	/* enum log_level */
	struct conf_path	 log_file;	/* NULL: no file */
	int			 log_syslog;
	int			 log_facility;	/* syslog facility value */
	int			 log_rate_burst;	/* per kind and interval; 0 off */
	int			 log_rate_interval;	/* s */

	/* sip */
	int			 max_message_size;	/* bytes */
	int			 read_timeout;		/* seconds */
	int			 idle_timeout;		/* seconds */
	int			 max_headers;		/* header fields per message */
	int			 max_transactions;	/* server transactions at once */
	int			 sip_t1;		/* ms, RFC 3261 T1 */
	int			 sip_timer_c;		/* s, s.16.6 timer C */
	int			 max_connections;	/* in total, in and out */
	int			 max_conns_per_source;	/* inbound, per address */
	int			 max_handshakes;	/* inbound TLS in progress */

	/* tls */
	struct conf_path	 tls_certificate;	/* default missing: temporary */
	struct conf_path	 tls_private_key;
	struct conf_path	 tls_trust;
	int			 expiry_warning_days;
	struct conf_strlist	 extra_names;	/* "DNS:x" "URI:x" "IP:x" for CSRs */
	int			 handshake_timeout;	/* seconds */
	int			 handshake_threads;	/* -1: one per CPU, 0: loop */
	int			 tls_min_version;	/* 0: 1.2, 1: 1.3 */
	int			 security_level;	/* OpenSSL 0..5 */
	int			 tls_resumption;	/* 1: session tickets */
	int			 tls_ticket_interval;	/* s, key rotation */

	/* revocation */
	struct conf_path	 manual_crl;	/* `sipedge-cert crl import` */
	int			 rev_mode;	/* 1 on, 0 off */
	int			 rev_use_ocsp;
	int			 rev_use_crls;
	int			 rev_allow_cdp;
	int			 rev_fallback;	/* 0 not revoked, 1 revoked */
	int			 rev_ocsp_nonce;
	int			 rev_clock_skew;	/* seconds */
	int			 rev_ocsp_max_age;	/* seconds, 0: none */
	int			 rev_ocsp_cache_size;
	int			 rev_connect_timeout;	/* seconds */
	int			 rev_timeout;		/* seconds */
	int			 rev_max_download;	/* bytes */
	struct conf_strlist	 rev_dps;	/* CRL distribution point URLs */
	char			*rev_update_time;	/* "HH:MM" UTC */
	int			 rev_update_minute;	/* of the day, UTC */
	struct conf_path	 rev_https_ca_file;

	/* auth: SIP digest for traversal clients (RFC 7616) */
	struct conf_path	 auth_credentials;
	char			*auth_realm;	/* default: node.fqdn */
	struct conf_cred	*creds;
	size_t			 ncreds;

	/* default_zone: traffic from no zone's peer */
	int			 def_accept;	/* 0: refused */
	int			 def_tls_verify;	/* a certificate is required */
	struct conf_strlist	 def_peer_names;	/* one must match; empty: any */
	int			 def_log_messages;

	/* dns */
	struct conf_strlist	 dns_servers;	/* "IP[:port]"; empty: resolv.conf */

	struct conf_listen	*listen;
	size_t			 nlisten;

	struct conf_zone	*zones;		/* sorted by file name */
	size_t			 nzones;

	struct conf_rule	*rules;		/* sorted by priority */
	size_t			 nrules;
};

/*
 * Load and validate the configuration whose main file is path.  Errors and
 * warnings (e.g. a non-.conf file in the zones directory) are added to dl.
 * Returns the configuration, or NULL when dl holds at least one error.
 */
struct conf	*conf_load(const char *path, struct diaglist *dl);
void		 conf_free(struct conf *c);

const char	*conf_transport_name(int transport);
/* The port of a listener or zone, with the transport default applied. */
int		 conf_default_port(int transport);
const char	*conf_zone_type_name(int type);
/*
 * Is a (len bytes, not terminated) an alias as search rules see and write
 * them: user@host or host, either with :port; the user part without ':'
 * and the host a name or [IPv6].  0 with the host at a + *host, *hostlen
 * bytes, and the port (0: none); -1 when it is not.
 */
int		 conf_alias_parse(const char *a, size_t len, size_t *host,
		    size_t *hostlen, int *port);
/* "file:line" of a location into buf. */
const char	*conf_loc_str(const struct conf_loc *loc, char *buf, size_t bufsz);

#endif
