/*
 * conf_check.c: the listeners (listen) and the checks of settings that
 * depend on one another or on the system: tls.extra_names, revocation,
 * control.group, dns.servers, auth.credentials, the listeners traversal
 * zones add.  Problems go to the load's diag list (conf.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "conf/conf_table.h"
#include "util/name.h"
#include "util/xmalloc.h"

/* The listen list: one group per listener. */
void
conf_load_listen(struct loader *ld, config_setting_t *list)
{
	struct conf *c = ld->c;
	struct conf_listen *l;
	config_setting_t *e;
	char prefix[32];
	int i, n, t;
	size_t j;

	t = config_setting_type(list);
	if (t != CONFIG_TYPE_LIST) {
		conf_err_at(ld, list, "listen must be a list of groups like "
		    "( { transport = \"tls\"; address = \"127.0.0.1\"; } ), "
		    "not %s", conf_type_name(t));
		return;
	}
	n = config_setting_length(list);
	if (n == 0)
		conf_err_at(ld, list, "listen is empty: sipedged needs at least one "
		    "listener, e.g. listen = ( { transport = \"tls\"; "
		    "address = \"127.0.0.1\"; } );");
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(list, (unsigned)i);
		snprintf(prefix, sizeof prefix, "listen[%d]", i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			conf_err_at(ld, e, "%s must be a group { ... }", prefix);
			continue;
		}
		c->listen = xreallocarray(c->listen, c->nlisten + 1,
		    sizeof *c->listen);
		l = &c->listen[c->nlisten++];
		memset(l, 0, sizeof *l);
		l->transport = -1;
		l->loc = conf_loc_of(ld, e);
		conf_apply_group(ld, conf_listen_opts, "listen", prefix, l, e);
		if (l->address != NULL && !name_is_ip(l->address))
			conf_err_at(ld, config_setting_get_member(e, "address"),
			    "%s.address: '%s' is not an IPv4 or IPv6 address",
			    prefix, l->address);
		if (l->transport >= 0 && l->port == 0)
			l->port = conf_default_port(l->transport);
		for (j = 0; j + 1 < c->nlisten && l->address != NULL; j++) {
			struct conf_listen *o = &c->listen[j];

			if (o->address != NULL && o->transport == l->transport &&
			    o->port == l->port && strcmp(o->address, l->address) == 0)
				conf_err_at(ld, e, "%s duplicates the listener at line %d "
				    "(%s %s port %d)", prefix, o->loc.line,
				    conf_transport_name(l->transport), l->address,
				    l->port);
		}
	}
}

/*
 * tls.extra_names entries are subjectAltName entries (util/name.h); each
 * good one is kept in its canonical form ("sip:x" becomes "URI:sip:x"), so
 * that every reader sees one spelling.
 */
void
conf_check_extra_names(struct loader *ld, config_setting_t *list)
{
	struct conf_strlist *sl = &ld->c->extra_names;
	char *e, *cause;
	const char *v;
	size_t k;
	int i, n;

	for (k = 0; k < sl->n; k++) {
		cause = NULL;
		if ((e = name_san_parse(sl->v[k], &cause)) != NULL) {
			free(sl->v[k]);
			sl->v[k] = e;
		}
		free(cause);
	}

	if (list == NULL || (config_setting_type(list) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(list) != CONFIG_TYPE_LIST))
		return;
	n = config_setting_length(list);
	for (i = 0; i < n; i++) {
		config_setting_t *el = config_setting_get_elem(list,
		    (unsigned)i);

		if ((v = config_setting_get_string(el)) == NULL)
			continue;
		cause = NULL;
		if ((e = name_san_parse(v, &cause)) == NULL)
			conf_err_at(ld, el, "tls.extra_names[%d]: %s", i, cause);
		free(e);
		free(cause);
	}
}

/* revocation.update_time is HH:MM; distribution points are http(s) URLs. */
void
conf_check_revocation(struct loader *ld, config_t *cfg)
{
	config_setting_t *s = config_lookup(cfg, "revocation.update_time");
	struct conf *c = ld->c;
	unsigned int h, m;
	char extra;
	int i, n;

	if (c->rev_update_time != NULL) {
		if (sscanf(c->rev_update_time, "%2u:%2u%c", &h, &m, &extra) != 2 ||
		    h > 23 || m > 59 || strlen(c->rev_update_time) != 5)
			conf_err_at(ld, s, "revocation.update_time = \"%s\" must be "
			    "HH:MM (UTC), e.g. \"03:00\"", c->rev_update_time);
		else
			c->rev_update_minute = (int)(h * 60 + m);
	}
	if ((s = config_lookup(cfg, "revocation.distribution_points")) == NULL ||
	    (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST))
		return;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_get_string(e);

		char *cause = NULL;

		if (v != NULL && name_url_check(v, &cause) == -1)
			conf_err_at(ld, e, "revocation.distribution_points[%d]: %s",
			    i, cause);
		free(cause);
	}
}

/*
 * daemon.control_group names a group of this system: the control socket
 * is given to it.  Resolved here so that a typo is a configuration error
 * with its line, not a failed start.
 */
void
conf_check_control_group(struct loader *ld, config_t *cfg)
{
	struct conf *c = ld->c;
	struct group *gr;

	c->control_gid = -1;
	if (c->control_group == NULL)
		return;
	if ((gr = getgrnam(c->control_group)) == NULL)
		conf_err_at(ld, config_lookup(cfg, "daemon.control_group"),
		    "daemon.control_group = \"%s\" is not a group of this "
		    "system (see getent group)", c->control_group);
	else
		c->control_gid = (long)gr->gr_gid;
}

/* dns.servers entries are IP, IP:port, [IPv6] or [IPv6]:port. */
void
conf_check_dns_servers(struct loader *ld, config_setting_t *list)
{
	char ip[64], extra;
	const char *v, *end;
	unsigned int port;
	size_t len;
	int i, n, good;

	if (list == NULL || (config_setting_type(list) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(list) != CONFIG_TYPE_LIST))
		return;
	n = config_setting_length(list);
	for (i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(list, (unsigned)i);

		if ((v = config_setting_get_string(e)) == NULL)
			continue;
		good = 0;
		end = v[0] == '[' ? strchr(v, ']') : strchr(v, ':');
		if (name_ip_parse(v, NULL) == 16)
			good = 1;
		else if (v[0] == '[' && end != NULL) {
			len = (size_t)(end - v - 1);
			if (len > 0 && len < sizeof ip) {
				memcpy(ip, v + 1, len);
				ip[len] = '\0';
				good = name_ip_parse(ip, NULL) == 16 &&
				    (end[1] == '\0' || (end[1] == ':' &&
				    sscanf(end + 2, "%5u%c", &port, &extra) == 1 &&
				    end[2] >= '0' && end[2] <= '9' &&
				    port >= 1 && port <= 65535));
			}
		} else if (v[0] != '[') {
			len = end != NULL ? (size_t)(end - v) : strlen(v);
			if (len > 0 && len < sizeof ip) {
				memcpy(ip, v, len);
				ip[len] = '\0';
				good = name_ip_parse(ip, NULL) == 4 &&
				    (end == NULL || (sscanf(end + 1, "%5u%c",
				    &port, &extra) == 1 && end[1] >= '0' &&
				    end[1] <= '9' && port >= 1 && port <= 65535));
			}
		}
		if (!good)
			conf_err_at(ld, e, "dns.servers[%d] = \"%s\" must be an IP "
			    "address, IP:port or [IPv6]:port", i, v);
	}
}

/*
 * A secret file (a password, digest hashes) must not be readable by group
 * or others: 0 when it is private, -1 with a sentence in why.
 */
int
conf_check_private(const char *path, char *why, size_t whysz)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(why, whysz, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(why, whysz, "%s is readable by group or others "
		    "(mode %04o): chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/*
 * auth.credentials_file: "USER REALM ALGORITHM HA1" lines (ALGORITHM MD5
 * or SHA-256), '#' comments; read when a traversal-server zone needs it.
 */
void
conf_load_credentials(struct loader *ld)
{
	struct conf *c = ld->c;
	const struct conf_path *cp = &c->auth_credentials;
	char why[512], line[1024], user[256], realm[256], algo[32], ha1[128];
	int lineno = 0, need = 0;
	size_t i, hl;
	FILE *fp;

	for (i = 0; i < c->nzones; i++)
		if (c->zones[i].type == ZONE_TRAVERSAL_SERVER)
			need = 1;
	if (!need)
		return;
	if (access(cp->path, F_OK) == -1 && errno == ENOENT) {
		/* Not an error: the first credential is added after the zone
		 * (sipedge-cert reads this configuration to know where). */
		diag_add(ld->dl, DIAG_WARN, cp->loc.file, cp->loc.line,
		    "auth.credentials_file %s does not exist: traversal "
		    "clients cannot authenticate until a credential is added "
		    "(sipedge-cert credential add USER)", cp->path);
		return;
	}
	if (conf_check_private(cp->path, why, sizeof why) == -1) {
		diag_add(ld->dl, DIAG_ERROR, cp->loc.file, cp->loc.line,
		    "auth.credentials_file (needed by traversal-server zones): "
		    "%s; add one with sipedge-cert credential add", why);
		return;
	}
	if ((fp = fopen(cp->path, "r")) == NULL) {
		diag_add(ld->dl, DIAG_ERROR, cp->loc.file, cp->loc.line,
		    "auth.credentials_file: cannot read %s: %s", cp->path,
		    strerror(errno));
		return;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		struct conf_cred *cr;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[strspn(line, " \t")] == '\0' ||
		    line[strspn(line, " \t")] == '#')
			continue;
		if (sscanf(line, "%255s %255s %31s %127s", user, realm, algo,
		    ha1) != 4 || (strcmp(algo, "MD5") != 0 &&
		    strcmp(algo, "SHA-256") != 0) ||
		    (hl = strlen(ha1)) != (strcmp(algo, "MD5") == 0 ? 32 : 64) ||
		    strspn(ha1, "0123456789abcdef") != hl) {
			diag_add(ld->dl, DIAG_ERROR, conf_intern_file(c, cp->path),
			    lineno, "not a credential: want USER REALM MD5|SHA-256 "
			    "HA1 (lower-case hex), as sipedge-cert credential "
			    "add writes");
			continue;
		}
		c->creds = xreallocarray(c->creds, c->ncreds + 1,
		    sizeof *c->creds);
		cr = &c->creds[c->ncreds++];
		cr->user = xstrdup(user);
		cr->realm = xstrdup(realm);
		cr->sha256 = strcmp(algo, "SHA-256") == 0;
		cr->ha1 = xstrdup(ha1);
	}
	fclose(fp);
	explicit_bzero(line, sizeof line);
	explicit_bzero(ha1, sizeof ha1);
}

/*
 * Each traversal-server zone listens on its own TLS port: a listener
 * entry for it, so that reloads open and close it like the others.
 */
void
conf_traversal_listeners(struct loader *ld)
{
	struct conf *c = ld->c;
	struct conf_listen *l;
	const char *addr;
	size_t i, j;

	for (i = 0; i < c->nzones; i++) {
		const struct conf_zone *z = &c->zones[i];

		if (z->type != ZONE_TRAVERSAL_SERVER)
			continue;
		addr = z->address;
		for (j = 0; addr == NULL && j < c->nlisten; j++)
			if (c->listen[j].transport == TP_TLS &&
			    c->listen[j].zone == NULL)
				addr = c->listen[j].address;
		if (addr == NULL) {
			diag_add(ld->dl, DIAG_ERROR, z->loc.file, 1, "zone '%s': "
			    "set address (no TLS listener to take it from)",
			    z->name);
			continue;
		}
		for (j = 0; j < c->nlisten; j++)
			if (c->listen[j].port == z->port &&
			    c->listen[j].transport != TP_UDP &&
			    c->listen[j].address != NULL &&
			    strcmp(c->listen[j].address, addr) == 0)
				diag_add(ld->dl, DIAG_ERROR, z->loc.file, 1,
				    "zone '%s': port %d on %s is already a "
				    "listener (%s)", z->name, z->port, addr,
				    c->listen[j].zone != NULL ?
				    c->listen[j].zone : "listen");
		c->listen = xreallocarray(c->listen, c->nlisten + 1,
		    sizeof *c->listen);
		l = &c->listen[c->nlisten++];
		memset(l, 0, sizeof *l);
		l->transport = TP_TLS;
		l->address = xstrdup(addr);
		l->port = z->port;
		l->zone = xstrdup(z->name);
		l->loc = z->loc;
	}
}
