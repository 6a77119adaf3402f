/*
 * conf_zone.c: the zone files (the *.conf files of zones_dir): each one
 * a zone of the table's settings, with the checks of a traversal zone; a
 * file with errors is remembered so that rules naming its zone do not add
 * noise.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "conf/conf_table.h"
#include "util/name.h"
#include "util/xmalloc.h"

/* Everything a zone holds (not z itself). */
void
conf_free_zone(struct conf_zone *z)
{
	free(z->name);
	free(z->peer_name);
	conf_free_strlist(&z->peers);
	free(z->username);
	free(z->password_file.path);
	if (z->password != NULL) {
		explicit_bzero(z->password, strlen(z->password));
		free(z->password);
	}
	free(z->address);
}

/*
 * A zone file with errors is left out of c->zones; its name (taken) is
 * kept so that the rules naming it are not also reported as wrong.
 */
static void
remember_bad_zone(struct loader *ld, char *name)
{
	struct conf_strlist *sl = &ld->bad_zones;

	sl->v = xreallocarray(sl->v, sl->n + 1, sizeof *sl->v);
	sl->v[sl->n++] = name;
}

/* The settings of a traversal zone, and the client's password file. */
static void
check_traversal_zone(struct loader *ld, struct conf_zone *z,
    config_setting_t *root)
{
	const char *file = z->loc.file;
	const char *kind = conf_zone_type_name(z->type);
	char why[512], buf[1024];
	size_t n;
	FILE *fp;

	if (z->transport != TP_TLS)
		diag_add(ld->dl, DIAG_ERROR, file, 1, "zone '%s': a %s zone "
		    "runs over TLS: transport must be \"tls\"", z->name, kind);
	if (z->username == NULL)
		diag_add(ld->dl, DIAG_ERROR, file, 1, "zone '%s': a %s zone "
		    "needs username (the SIP digest user %s)", z->name, kind,
		    z->type == ZONE_TRAVERSAL_CLIENT ? "it authenticates as" :
		    "its client must authenticate as");
	if (z->type == ZONE_TRAVERSAL_SERVER) {
		if (config_setting_get_member(root, "port") == NULL)
			diag_add(ld->dl, DIAG_ERROR, file, 1, "zone '%s': a "
			    "traversal-server zone needs the port its "
			    "clients connect to (port = 7001;), apart from "
			    "the listeners", z->name);
		if (z->tls_verify && z->peer_name == NULL)
			diag_add(ld->dl, DIAG_ERROR, file, 1, "zone '%s': a "
			    "traversal-server zone needs peer_name, the name "
			    "its clients' certificates must show (TLS verify "
			    "subject name)", z->name);
		if (z->peers.n > 0)
			diag_add(ld->dl, DIAG_ERROR, file, 1, "zone '%s': a "
			    "traversal-server zone has no peers: its client "
			    "connects in", z->name);
		if (z->address != NULL && !name_is_ip(z->address))
			diag_add(ld->dl, DIAG_ERROR, file, 1, "zone '%s': address "
			    "'%s' is not an IPv4 or IPv6 address", z->name,
			    z->address);
		return;
	}
	if (z->password_file.path == NULL) {
		diag_add(ld->dl, DIAG_ERROR, file, 1, "zone '%s': a "
		    "traversal-client zone needs password_file (a file, mode "
		    "0600, holding the digest password)", z->name);
		return;
	}
	if (conf_check_private(z->password_file.path, why, sizeof why) == -1) {
		diag_add(ld->dl, DIAG_ERROR, file, z->password_file.loc.line,
		    "zone '%s': password_file: %s", z->name, why);
		return;
	}
	if ((fp = fopen(z->password_file.path, "r")) == NULL ||
	    fgets(buf, sizeof buf, fp) == NULL) {
		diag_add(ld->dl, DIAG_ERROR, file, z->password_file.loc.line,
		    "zone '%s': password_file: %s %s", z->name,
		    z->password_file.path, fp == NULL ? "cannot be read" :
		    "is empty: its first line must hold the password");
		if (fp != NULL)
			fclose(fp);
		return;
	}
	fclose(fp);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0)
		diag_add(ld->dl, DIAG_ERROR, file, z->password_file.loc.line,
		    "zone '%s': password_file: the first line of %s is empty",
		    z->name, z->password_file.path);
	else
		z->password = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
}

/* Load one zone file into a new entry of c->zones. */
static void
load_zone(struct loader *ld, const char *path, const char *base)
{
	struct conf *c = ld->c;
	struct conf_zone z;
	config_t cfg;
	config_setting_t *root;
	size_t before = ld->dl->nerrors, i;

	memset(&z, 0, sizeof z);
	z.type = -1;
	z.loc.file = conf_intern_file(c, path);
	if (conf_read_file(ld, &cfg, path) == -1) {
		config_destroy(&cfg);
		remember_bad_zone(ld, xstrndup(base, strlen(base) -
		    strlen(".conf")));
		return;
	}
	conf_apply_defaults(conf_zone_opts, NULL, &z, z.loc.file);
	root = config_root_setting(&cfg);
	z.loc.line = 1;
	conf_apply_group(ld, conf_zone_opts, "", "", &z, root);
	if (z.name == NULL)
		z.name = xstrndup(base, strlen(base) - strlen(".conf"));
	if (z.type == ZONE_TRAVERSAL_SERVER || z.type == ZONE_TRAVERSAL_CLIENT)
		check_traversal_zone(ld, &z, root);
	z.port_set = z.port != 0;
	if (z.port == 0)
		z.port = conf_default_port(z.transport);
	if ((z.type == ZONE_NEIGHBOR || z.type == ZONE_TRAVERSAL_CLIENT) &&
	    z.peers.n == 0)
		diag_add(ld->dl, DIAG_ERROR, z.loc.file, 1,
		    "zone '%s': a %s zone needs at least one address in peers",
		    z.name, conf_zone_type_name(z.type));
	if (strcmp(z.name, CONF_DEFAULT_ZONE) == 0)
		diag_add(ld->dl, DIAG_ERROR, z.loc.file, 1,
		    "zone name '%s' is reserved for traffic from no zone's "
		    "peers; give this zone another name", z.name);
	for (i = 0; i < c->nzones; i++) {
		if (strcmp(c->zones[i].name, z.name) == 0) {
			diag_add(ld->dl, DIAG_ERROR, z.loc.file, 1,
			    "zone name '%s' is already used by %s", z.name,
			    c->zones[i].loc.file);
			break;
		}
	}
	config_destroy(&cfg);
	if (ld->dl->nerrors != before) {
		remember_bad_zone(ld, z.name);
		z.name = NULL;
		conf_free_zone(&z);
		return;
	}
	c->zones = xreallocarray(c->zones, c->nzones + 1, sizeof *c->zones);
	c->zones[c->nzones++] = z;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls > lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Load zones_dir/ *.conf in name order; other entries are noted and skipped. */
void
conf_load_zones(struct loader *ld)
{
	struct conf *c = ld->c;
	struct dirent **ents = NULL;
	struct stat st;
	char *path;
	int n, i;

	n = scandir(c->zones_dir.path, &ents, NULL, alphasort);
	if (n == -1) {
		/* The default directory may be absent: no zones then. */
		if (errno == ENOENT && c->zones_dir.loc.line == 0)
			return;
		diag_add(ld->dl, DIAG_ERROR, c->zones_dir.loc.file,
		    c->zones_dir.loc.line, "daemon.zones_dir: cannot read %s: %s",
		    c->zones_dir.path, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;

		if (name[0] == '.')
			goto next;
		path = xasprintf("%s/%s", c->zones_dir.path, name);
		if (!has_suffix(name, ".conf")) {
			diag_add(ld->dl, DIAG_WARN, path, 0,
			    "ignored: zone files must end in .conf");
		} else if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
			diag_add(ld->dl, DIAG_WARN, path, 0,
			    "ignored: not a regular file");
		} else
			load_zone(ld, path, name);
		free(path);
next:
		free(ents[i]);
	}
	free(ents);
}
