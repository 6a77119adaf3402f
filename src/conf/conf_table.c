/*
 * conf_table.c: one row per configuration setting.  Defaults that depend on
 * the installation prefix come from SE_STATEDIR and SE_RUNSTATEDIR.
 */
#include "config.h"

#include <stddef.h>
#include <syslog.h>

#include "conf/conf.h"
#include "conf/conf_table.h"

static const struct conf_enum levels[] = {
	{ "debug", LOG_LVL_DEBUG }, { "info", LOG_LVL_INFO },
	{ "notice", LOG_LVL_NOTICE }, { "warn", LOG_LVL_WARN },
	{ "error", LOG_LVL_ERROR }, { NULL, 0 }
};

static const struct conf_enum facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { NULL, 0 }
};

static const struct conf_enum tls_versions[] = {
	{ "1.2", 0 }, { "1.3", 1 }, { NULL, 0 }
};

static const struct conf_enum transports[] = {
	{ "udp", TP_UDP }, { "tcp", TP_TCP }, { "tls", TP_TLS }, { NULL, 0 }
};

static const struct conf_enum on_off[] = {
	{ "on", 1 }, { "off", 0 }, { NULL, 0 }
};

static const struct conf_enum fallbacks[] = {
	{ "treat-as-not-revoked", 0 }, { "treat-as-revoked", 1 }, { NULL, 0 }
};

/* Per zone: "default" (-1) takes revocation.fallback. */
static const struct conf_enum zone_fallbacks[] = {
	{ "default", -1 }, { "treat-as-not-revoked", 0 },
	{ "treat-as-revoked", 1 }, { NULL, 0 }
};

static const struct conf_enum zone_types[] = {
	{ "neighbor", ZONE_NEIGHBOR },
	{ "traversal-client", ZONE_TRAVERSAL_CLIENT },
	{ "traversal-server", ZONE_TRAVERSAL_SERVER },
	{ NULL, 0 }
};

static const struct conf_enum rule_matches[] = {
	{ "any", RULE_ANY }, { "exact", RULE_EXACT }, { "prefix", RULE_PREFIX },
	{ "suffix", RULE_SUFFIX }, { "regex", RULE_REGEX }, { NULL, 0 }
};

static const struct conf_enum rule_on_matches[] = {
	{ "stop", RULE_STOP }, { "continue", RULE_CONTINUE }, { NULL, 0 }
};

#define M(f)	offsetof(struct conf, f)
#define L(f)	offsetof(struct conf_listen, f)
#define R(f)	offsetof(struct conf_rule, f)
#define Z(f)	offsetof(struct conf_zone, f)

const char *const conf_main_groups[] = {
	"node", "daemon", "log", "sip", "tls", "revocation", "default_zone",
	"auth", "dns", NULL
};

const struct conf_opt conf_main_opts[] = {
	{ "node", "fqdn", OT_STRING, 0, 0, NULL, M(fqdn), NULL, 0 },
	{ "node", "aliases", OT_STRLIST, 0, 32, NULL, M(aliases), NULL, 0 },
	{ "node", "cluster_fqdn", OT_STRING, 0, 0, NULL, M(cluster_fqdn), NULL, 0 },
	{ "node", "cluster_peers", OT_STRLIST, 0, 16, NULL, M(cluster_peers),
	    NULL, 0 },

	{ "daemon", "state_dir", OT_PATH, 0, 0, NULL, M(state_dir), SE_STATEDIR, 0 },
	{ "daemon", "pid_file", OT_PATH, 0, 0, NULL, M(pid_file),
	    SE_RUNSTATEDIR "/sipedged.pid", 0 },
	{ "daemon", "zones_dir", OT_PATH, 0, 0, NULL, M(zones_dir), "zones", 0 },
	{ "daemon", "control_socket", OT_PATH, 0, 0, NULL, M(control_socket),
	    SE_RUNSTATEDIR "/sipedged.ctl", 0 },
	{ "daemon", "control_group", OT_STRING, 0, 0, NULL, M(control_group),
	    NULL, 0 },
	{ "daemon", "shutdown_grace", OT_INT, 0, 300, NULL, M(shutdown_grace), "5", 0 },

	{ "log", "level", OT_ENUM, 0, 0, levels, M(log_level), "info", 0 },
	{ "log", "file", OT_PATH, 0, 0, NULL, M(log_file), NULL, 0 },
	{ "log", "syslog", OT_BOOL, 0, 1, NULL, M(log_syslog), "false", 0 },
	{ "log", "syslog_facility", OT_ENUM, 0, 0, facilities, M(log_facility),
	    "daemon", 0 },
	{ "log", "rate_limit_burst", OT_INT, 0, 1000000, NULL,
	    M(log_rate_burst), "10", 0 },
	{ "log", "rate_limit_interval", OT_INT, 1, 3600, NULL,
	    M(log_rate_interval), "1", 0 },

	{ "sip", "max_message_size", OT_INT, 1024, 1048576, NULL,
	    M(max_message_size), "65535", 0 },
	{ "sip", "read_timeout", OT_INT, 1, 300, NULL, M(read_timeout), "10", 0 },
	{ "sip", "idle_timeout", OT_INT, 10, 86400, NULL, M(idle_timeout), "3600", 0 },
	{ "sip", "max_headers", OT_INT, 16, 1024, NULL, M(max_headers), "256", 0 },
	{ "sip", "max_transactions", OT_INT, 10, 10000000, NULL,
	    M(max_transactions), "100000", 0 },
	{ "auth", "credentials_file", OT_PATH, 0, 0, NULL,
	    M(auth_credentials), "credentials", 0 },
	{ "auth", "realm", OT_STRING, 0, 0, NULL, M(auth_realm), NULL, 0 },
	{ "default_zone", "accept", OT_BOOL, 0, 1, NULL, M(def_accept), "true",
	    0 },
	{ "default_zone", "tls_verify", OT_BOOL, 0, 1, NULL, M(def_tls_verify),
	    "false", 0 },
	{ "default_zone", "peer_names", OT_STRLIST, 0, 32, NULL,
	    M(def_peer_names), NULL, 0 },
	{ "default_zone", "log_messages", OT_BOOL, 0, 1, NULL,
	    M(def_log_messages), "false", 0 },
	{ "sip", "t1", OT_INT, 50, 5000, NULL, M(sip_t1), "500", 0 },
	{ "sip", "timer_c", OT_INT, 1, 3600, NULL, M(sip_timer_c), "181", 0 },
	{ "sip", "max_connections", OT_INT, 1, 16777216, NULL,
	    M(max_connections), "200000", 0 },
	{ "sip", "max_connections_per_source", OT_INT, 1, 16777216, NULL,
	    M(max_conns_per_source), "1000", 0 },
	{ "sip", "max_handshakes", OT_INT, 1, 1000000, NULL,
	    M(max_handshakes), "1000", 0 },

	{ "tls", "certificate", OT_PATH, 0, 0, NULL, M(tls_certificate),
	    "pki/server.pem", 0 },
	{ "tls", "private_key", OT_PATH, 0, 0, NULL, M(tls_private_key),
	    "pki/server.key", 0 },
	{ "tls", "trust", OT_PATH, 0, 0, NULL, M(tls_trust), "pki/trust.pem", 0 },
	{ "tls", "expiry_warning_days", OT_INT, 0, 365, NULL,
	    M(expiry_warning_days), "30", 0 },
	{ "tls", "extra_names", OT_STRLIST, 0, 64, NULL, M(extra_names), NULL, 0 },
	{ "tls", "handshake_timeout", OT_INT, 1, 120, NULL, M(handshake_timeout),
	    "10", 0 },
	{ "tls", "handshake_threads", OT_INT, -1, 1024, NULL,
	    M(handshake_threads), "-1", 0 },
	{ "tls", "min_version", OT_ENUM, 0, 0, tls_versions, M(tls_min_version),
	    "1.2", 0 },
	{ "tls", "security_level", OT_INT, 0, 5, NULL, M(security_level), "2", 0 },
	{ "tls", "resumption", OT_BOOL, 0, 1, NULL, M(tls_resumption), "true", 0 },
	{ "tls", "ticket_rotation", OT_INT, 1, 86400, NULL,
	    M(tls_ticket_interval), "3600", 0 },

	{ "revocation", "manual_crl", OT_PATH, 0, 0, NULL, M(manual_crl),
	    "pki/manual.crl", 0 },
	{ "revocation", "mode", OT_ENUM, 0, 0, on_off, M(rev_mode), "on", 0 },
	{ "revocation", "use_ocsp", OT_BOOL, 0, 1, NULL, M(rev_use_ocsp),
	    "true", 0 },
	{ "revocation", "use_crls", OT_BOOL, 0, 1, NULL, M(rev_use_crls),
	    "true", 0 },
	{ "revocation", "allow_cdp_download", OT_BOOL, 0, 1, NULL,
	    M(rev_allow_cdp), "true", 0 },
	{ "revocation", "fallback", OT_ENUM, 0, 0, fallbacks, M(rev_fallback),
	    "treat-as-not-revoked", 0 },
	{ "revocation", "ocsp_nonce", OT_BOOL, 0, 1, NULL, M(rev_ocsp_nonce),
	    "true", 0 },
	{ "revocation", "clock_skew", OT_INT, 0, 3600, NULL, M(rev_clock_skew),
	    "300", 0 },
	{ "revocation", "ocsp_max_age", OT_INT, 0, 30 * 86400, NULL,
	    M(rev_ocsp_max_age), "0", 0 },
	{ "revocation", "ocsp_cache_size", OT_INT, 0, 1000000, NULL,
	    M(rev_ocsp_cache_size), "10000", 0 },
	{ "revocation", "connect_timeout", OT_INT, 1, 60, NULL,
	    M(rev_connect_timeout), "3", 0 },
	{ "revocation", "timeout", OT_INT, 1, 300, NULL, M(rev_timeout), "5", 0 },
	{ "revocation", "max_download_size", OT_INT, 1024, 1073741824, NULL,
	    M(rev_max_download), "104857600", 0 },
	{ "revocation", "distribution_points", OT_STRLIST, 0, 64, NULL,
	    M(rev_dps), NULL, 0 },
	{ "revocation", "update_time", OT_STRING, 0, 0, NULL,
	    M(rev_update_time), "03:00", 0 },
	{ "revocation", "https_ca_file", OT_PATH, 0, 0, NULL,
	    M(rev_https_ca_file), NULL, 0 },

	{ "dns", "servers", OT_STRLIST, 0, 8, NULL, M(dns_servers), NULL, 0 },
	{ NULL, NULL, OT_INT, 0, 0, NULL, 0, NULL, 0 }
};

const struct conf_opt conf_listen_opts[] = {
	{ "listen", "transport", OT_ENUM, 0, 0, transports, L(transport), NULL, 1 },
	{ "listen", "address", OT_STRING, 0, 0, NULL, L(address), NULL, 1 },
	{ "listen", "port", OT_INT, 1, 65535, NULL, L(port), NULL, 0 },
	{ NULL, NULL, OT_INT, 0, 0, NULL, 0, NULL, 0 }
};

/* Zone names and the pattern are checked further by conf.c. */
const struct conf_opt conf_rule_opts[] = {
	{ "search_rules", "priority", OT_INT, 1, 65535, NULL, R(priority),
	    NULL, 1 },
	{ "search_rules", "name", OT_STRING, 0, 0, NULL, R(name), NULL, 0 },
	{ "search_rules", "match", OT_ENUM, 0, 0, rule_matches, R(match),
	    NULL, 1 },
	{ "search_rules", "pattern", OT_STRING, 0, 0, NULL, R(pattern), NULL, 0 },
	{ "search_rules", "source_zone", OT_STRING, 0, 0, NULL, R(source_zone),
	    NULL, 0 },
	{ "search_rules", "methods", OT_STRLIST, 0, 32, NULL, R(methods),
	    NULL, 0 },
	{ "search_rules", "rewrite", OT_TEXT, 0, 0, NULL, R(rewrite), NULL, 0 },
	{ "search_rules", "target_zone", OT_STRING, 0, 0, NULL, R(target_zone),
	    NULL, 1 },
	{ "search_rules", "on_match", OT_ENUM, 0, 0, rule_on_matches,
	    R(on_match), "stop", 0 },
	{ NULL, NULL, OT_INT, 0, 0, NULL, 0, NULL, 0 }
};

const struct conf_opt conf_zone_opts[] = {
	{ "", "name", OT_STRING, 0, 0, NULL, Z(name), NULL, 0 },
	{ "", "type", OT_ENUM, 0, 0, zone_types, Z(type), NULL, 1 },
	{ "", "transport", OT_ENUM, 0, 0, transports, Z(transport), "tls", 0 },
	{ "", "port", OT_INT, 1, 65535, NULL, Z(port), NULL, 0 },
	{ "", "peers", OT_STRLIST, 0, 6, NULL, Z(peers), NULL, 0 },
	{ "", "tls_verify", OT_BOOL, 0, 1, NULL, Z(tls_verify), "true", 0 },
	{ "", "peer_name", OT_STRING, 0, 0, NULL, Z(peer_name), NULL, 0 },
	{ "", "accept_wildcards", OT_BOOL, 0, 1, NULL, Z(accept_wildcards),
	    "false", 0 },
	{ "", "cn_compat", OT_BOOL, 0, 1, NULL, Z(cn_compat), "false", 0 },
	{ "", "relax_eku", OT_BOOL, 0, 1, NULL, Z(relax_eku), "false", 0 },
	{ "", "min_rsa_bits", OT_INT, 1024, 16384, NULL, Z(min_rsa_bits),
	    "2048", 0 },
	{ "", "revocation", OT_BOOL, 0, 1, NULL, Z(revocation), "true", 0 },
	{ "", "log_messages", OT_BOOL, 0, 1, NULL, Z(log_messages), "false", 0 },
	{ "", "username", OT_STRING, 0, 0, NULL, Z(username), NULL, 0 },
	{ "", "password_file", OT_PATH, 0, 0, NULL, Z(password_file), NULL, 0 },
	{ "", "address", OT_STRING, 0, 0, NULL, Z(address), NULL, 0 },
	{ "", "keepalive_interval", OT_INT, 1, 3600, NULL,
	    Z(keepalive_interval), "30", 0 },
	{ "", "pong_timeout", OT_INT, 1, 600, NULL, Z(pong_timeout), "10", 0 },
	{ "", "retry_max", OT_INT, 1, 3600, NULL, Z(retry_max), "60", 0 },
	{ "", "fallback_unknown", OT_ENUM, 0, 0, zone_fallbacks,
	    Z(fb_unknown), "default", 0 },
	{ "", "fallback_unreachable", OT_ENUM, 0, 0, zone_fallbacks,
	    Z(fb_unreachable), "default", 0 },
	{ "", "fallback_no_source", OT_ENUM, 0, 0, zone_fallbacks,
	    Z(fb_nosource), "default", 0 },
	{ NULL, NULL, OT_INT, 0, 0, NULL, 0, NULL, 0 }
};
