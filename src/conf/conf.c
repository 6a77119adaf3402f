/*
 * conf.c: libconfig files -> struct conf, validated against the option
 * table.  Every problem is collected (not just the first) with its
 * file:line, so `sipedged -t` and a failed reload can list all of them.
 * This file reads the main file and applies the table's settings of each
 * group; conf_check.c checks the listeners and the settings that depend
 * on one another, conf_zone.c loads the zone files, conf_rule.c the
 * search rules.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

/* The file name kept in c->files for file (the main file for NULL). */
const char *
conf_intern_file(struct conf *c, const char *file)
{
	size_t i;

	if (file == NULL)
		file = c->main_file;
	for (i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i], file) == 0)
			return c->files[i];
	c->files = xreallocarray(c->files, c->nfiles + 1, sizeof *c->files);
	c->files[c->nfiles] = xstrdup(file);
	return c->files[c->nfiles++];
}

/* Where setting s is: its file (interned) and line. */
struct conf_loc
conf_loc_of(struct loader *ld, const config_setting_t *s)
{
	struct conf_loc loc;

	loc.file = conf_intern_file(ld->c, config_setting_source_file(s));
	loc.line = (int)config_setting_source_line(s);
	return loc;
}

/* An error at setting s, formatted, into the load's diag list. */
void
conf_err_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	struct conf_loc loc = conf_loc_of(ld, s);
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(ld->dl, DIAG_ERROR, loc.file, loc.line, "%s", msg);
	free(msg);
}

/* Directory part of a path ("." for a bare name); caller frees. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* path if absolute, else joined to the directory of file; caller frees. */
static char *
resolve_path(const char *file, const char *path)
{
	char *dir, *out;

	if (path[0] == '/')
		return xstrdup(path);
	dir = dir_of(file);
	out = strcmp(dir, ".") == 0 ? xstrdup(path) :
	    xasprintf("%s/%s", dir, path);
	free(dir);
	return out;
}

/* The name of a setting type for messages ("an integer", ...). */
const char *
conf_type_name(int t)
{
	switch (t) {
	case CONFIG_TYPE_GROUP:		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:		return "an integer";
	case CONFIG_TYPE_FLOAT:		return "a number with a fraction";
	case CONFIG_TYPE_STRING:	return "a string";
	case CONFIG_TYPE_BOOL:		return "a boolean";
	case CONFIG_TYPE_ARRAY:		return "an array";
	case CONFIG_TYPE_LIST:		return "a list";
	default:			return "something unknown";
	}
}

/* Edit distance, small inputs only: for "did you mean" hints. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[64], prev, tmp;

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		d[j] = j;
	for (i = 1; i <= la; i++) {
		prev = d[0];
		d[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = d[j];
			d[j] = prev + (a[i - 1] != b[j - 1]);
			if (d[j - 1] + 1 < d[j])
				d[j] = d[j - 1] + 1;
			if (tmp + 1 < d[j])
				d[j] = tmp + 1;
			prev = tmp;
		}
	}
	return d[lb];
}

/* The candidate closest to name (a typo's hint), or NULL. */
const char *
conf_closest(const char *name, const char *const *cands, size_t ncands)
{
	const char *best = NULL;
	size_t i, bd = 3, dd;

	for (i = 0; i < ncands; i++) {
		if ((dd = distance(name, cands[i])) < bd) {
			bd = dd;
			best = cands[i];
		}
	}
	return best;
}

static const char *
opt_label(const struct conf_opt *o, const char *prefix, char *buf, size_t bufsz)
{
	if (prefix != NULL && *prefix != '\0')
		snprintf(buf, bufsz, "%s.%s", prefix, o->name);
	else
		snprintf(buf, bufsz, "%s", o->name);
	return buf;
}

/* Store text value v (a default or a file value) into the target field. */
static int
store(const struct conf_opt *o, void *base, const char *v, const char *file,
    int line, const char **why)
{
	char *field = (char *)base + o->offset;
	const struct conf_enum *w;
	struct conf_path *p;

	switch (o->type) {
	case OT_INT:
		*(int *)field = atoi(v);
		return 0;
	case OT_BOOL:
		*(int *)field = strcmp(v, "true") == 0;
		return 0;
	case OT_STRING:
	case OT_TEXT:
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return 0;
	case OT_PATH:
		p = (struct conf_path *)field;
		free(p->path);
		p->path = resolve_path(file, v);
		p->loc.file = file;
		p->loc.line = line;
		return 0;
	case OT_ENUM:
		for (w = o->words; w->word != NULL; w++) {
			if (strcmp(w->word, v) == 0) {
				*(int *)field = w->value;
				return 0;
			}
		}
		*why = "word";
		return -1;
	case OT_STRLIST:
		return 0;
	}
	return -1;
}

/* Set the defaults of the rows of tbl for group in base. */
void
conf_apply_defaults(const struct conf_opt *tbl, const char *group, void *base,
    const char *file)
{
	const struct conf_opt *o;
	const char *why;

	for (o = tbl; o->name != NULL; o++) {
		if (group != NULL && strcmp(o->group, group) != 0)
			continue;
		if (o->def != NULL)
			(void)store(o, base, o->def, file, 0, &why);
	}
}

static void
enum_words(const struct conf_opt *o, char *buf, size_t bufsz)
{
	const struct conf_enum *w;
	size_t len = 0;

	buf[0] = '\0';
	for (w = o->words; w->word != NULL && len < bufsz; w++)
		len += (size_t)snprintf(buf + len, bufsz - len, "%s%s",
		    w == o->words ? "" : ", ", w->word);
}

/* A list of strings (OT_STRLIST) s for row o, appended to base's. */
static void
apply_strlist(struct loader *ld, const struct conf_opt *o, void *base,
    config_setting_t *s, const char *label)
{
	int t = config_setting_type(s);
	struct conf_strlist *sl;
	int i, n;

	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		conf_err_at(ld, s, "%s must be a list of strings like "
		    "[ \"a\", \"b\" ], not %s", label, conf_type_name(t));
		return;
	}
	n = config_setting_length(s);
	if (n > o->max) {
		conf_err_at(ld, s, "%s has %d entries; at most %ld are allowed",
		    label, n, o->max);
		return;
	}
	sl = (struct conf_strlist *)((char *)base + o->offset);
	for (i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    *config_setting_get_string(e) == '\0') {
			conf_err_at(ld, e, "%s[%d] must be a non-empty string",
			    label, i);
			continue;
		}
		sl->v = xreallocarray(sl->v, sl->n + 1, sizeof *sl->v);
		sl->v[sl->n++] = xstrdup(config_setting_get_string(e));
	}
}

/* Check one setting against its row and store it. */
static void
apply_setting(struct loader *ld, const struct conf_opt *o, void *base,
    config_setting_t *s, const char *label)
{
	int t = config_setting_type(s);
	struct conf_loc loc = conf_loc_of(ld, s);
	const char *why = NULL;
	char buf[256];
	long long iv;
	const char *sv;

	switch (o->type) {
	case OT_INT:
		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
			conf_err_at(ld, s, "%s must be an integer, not %s", label,
			    conf_type_name(t));
			return;
		}
		iv = config_setting_get_int64(s);
		if (iv < o->min || iv > o->max) {
			conf_err_at(ld, s, "%s = %lld is out of range (%ld to %ld)",
			    label, iv, o->min, o->max);
			return;
		}
		snprintf(buf, sizeof buf, "%lld", iv);
		(void)store(o, base, buf, loc.file, loc.line, &why);
		return;
	case OT_BOOL:
		if (t != CONFIG_TYPE_BOOL) {
			conf_err_at(ld, s, "%s must be true or false, not %s",
			    label, conf_type_name(t));
			return;
		}
		(void)store(o, base, config_setting_get_bool(s) ? "true" :
		    "false", loc.file, loc.line, &why);
		return;
	case OT_STRING:
	case OT_TEXT:
	case OT_PATH:
	case OT_ENUM:
		if (t != CONFIG_TYPE_STRING) {
			conf_err_at(ld, s, "%s must be a string, not %s", label,
			    conf_type_name(t));
			return;
		}
		sv = config_setting_get_string(s);
		if (*sv == '\0' && o->type != OT_TEXT) {
			conf_err_at(ld, s, "%s must not be empty", label);
			return;
		}
		if (store(o, base, sv, loc.file, loc.line, &why) == -1) {
			enum_words(o, buf, sizeof buf);
			conf_err_at(ld, s, "%s = \"%s\" is not one of: %s", label,
			    sv, buf);
		}
		return;
	case OT_STRLIST:
		apply_strlist(ld, o, base, s, label);
		return;
	}
}

/*
 * Apply every child of grp to base using the rows of tbl for group; report
 * unknown names (with a hint) and missing required ones.
 */
void
conf_apply_group(struct loader *ld, const struct conf_opt *tbl, const char *group,
    const char *prefix, void *base, config_setting_t *grp)
{
	const struct conf_opt *o;
	const char *cands[32];
	size_t ncands = 0;
	config_setting_t *s;
	const char *name, *hint;
	char label[128];
	int i, found;

	for (o = tbl; o->name != NULL && ncands < 32; o++)
		if (strcmp(o->group, group) == 0)
			cands[ncands++] = o->name;

	for (i = 0; (s = config_setting_get_elem(grp, (unsigned)i)) != NULL; i++) {
		name = config_setting_name(s);
		found = 0;
		for (o = tbl; o->name != NULL; o++) {
			if (strcmp(o->group, group) == 0 &&
			    strcmp(o->name, name) == 0) {
				apply_setting(ld, o, base, s,
				    opt_label(o, prefix, label, sizeof label));
				found = 1;
				break;
			}
		}
		if (found)
			continue;
		hint = conf_closest(name, cands, ncands);
		if (hint != NULL)
			conf_err_at(ld, s, "unknown setting '%s'%s%s (did you mean '%s'?)",
			    name, *prefix ? " in " : "", prefix, hint);
		else
			conf_err_at(ld, s, "unknown setting '%s'%s%s", name,
			    *prefix ? " in " : "", prefix);
	}
	for (o = tbl; o->name != NULL; o++) {
		if (strcmp(o->group, group) != 0 || !o->required)
			continue;
		if (config_setting_get_member(grp, o->name) == NULL)
			conf_err_at(ld, grp, "%s%srequired setting '%s' is missing",
			    prefix, *prefix ? ": " : "", o->name);
	}
}

/* Read path with libconfig; parse errors go to dl.  0 or -1. */
int
conf_read_file(struct loader *ld, config_t *cfg, const char *path)
{
	struct stat st;
	char *dir;
	int fd;

	config_init(cfg);
	config_set_options(cfg, CONFIG_OPTION_COLON_ASSIGNMENT_FOR_GROUPS |
	    CONFIG_OPTION_SEMICOLON_SEPARATORS);
	dir = dir_of(path);
	config_set_include_dir(cfg, dir);
	free(dir);

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		diag_add(ld->dl, DIAG_ERROR, path, 0, "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		diag_add(ld->dl, DIAG_ERROR, path, 0, "not a regular file");
		close(fd);
		return -1;
	}
	close(fd);
	if (st.st_size == 0) {
		diag_add(ld->dl, DIAG_ERROR, path, 0, "file is empty");
		return -1;
	}
	if (config_read_file(cfg, path) != CONFIG_TRUE) {
		diag_add(ld->dl, DIAG_ERROR,
		    config_error_file(cfg) ? config_error_file(cfg) : path,
		    config_error_line(cfg), "syntax error: %s",
		    config_error_text(cfg));
		return -1;
	}
	return 0;
}

/* Free the strings of sl and clear it. */
void
conf_free_strlist(struct conf_strlist *sl)
{
	size_t i;

	for (i = 0; i < sl->n; i++)
		free(sl->v[i]);
	free(sl->v);
	sl->v = NULL;
	sl->n = 0;
}

/* Whether name is a group of the main file (conf_table.c). */
static int
group_is_known(const char *name)
{
	size_t i;

	for (i = 0; conf_main_groups[i] != NULL; i++)
		if (strcmp(conf_main_groups[i], name) == 0)
			return 1;
	return 0;
}

/* Report setting s of the main file, which is no known group. */
static void
unknown_group(struct loader *ld, const config_setting_t *s, const char *name)
{
	const char *cands[16], *hint;
	size_t k, ngroups;

	for (ngroups = 0; conf_main_groups[ngroups] != NULL; ngroups++)
		;
	for (k = 0; k < ngroups && k < 14; k++)
		cands[k] = conf_main_groups[k];
	cands[k++] = "listen";
	cands[k++] = "search_rules";
	hint = conf_closest(name, cands, k);
	if (hint != NULL)
		conf_err_at(ld, s, "unknown setting '%s' (did you mean '%s'?)",
		    name, hint);
	else
		conf_err_at(ld, s, "unknown setting '%s'", name);
}

/* Load each top-level setting of the main file: the groups, the lists. */
static void
load_groups(struct loader *ld, config_setting_t *root)
{
	config_setting_t *s;
	const char *name;
	int i;

	for (i = 0; (s = config_setting_get_elem(root, (unsigned)i)) != NULL;
	    i++) {
		name = config_setting_name(s);
		if (strcmp(name, "listen") == 0) {
			conf_load_listen(ld, s);
		} else if (strcmp(name, "search_rules") == 0) {
			conf_load_rules(ld, s);
		} else if (group_is_known(name)) {
			if (config_setting_type(s) != CONFIG_TYPE_GROUP)
				conf_err_at(ld, s, "%s must be a group: %s: "
				    "{ ... };", name, name);
			else
				conf_apply_group(ld, conf_main_opts, name, name,
				    ld->c, s);
		} else
			unknown_group(ld, s, name);
	}
}

struct conf *
conf_load(const char *path, struct diaglist *dl)
{
	struct loader ld;
	struct conf *c;
	config_t cfg;
	config_setting_t *root;
	char host[256];
	size_t before = dl->nerrors;

	c = xcalloc(1, sizeof *c);
	c->main_file = xstrdup(path);
	(void)conf_intern_file(c, path);
	memset(&ld, 0, sizeof ld);
	ld.c = c;
	ld.dl = dl;

	conf_apply_defaults(conf_main_opts, NULL, c, c->files[0]);

	if (conf_read_file(&ld, &cfg, path) == -1) {
		config_destroy(&cfg);
		conf_free(c);
		return NULL;
	}
	root = config_root_setting(&cfg);
	if (config_setting_length(root) == 0)
		diag_add(dl, DIAG_ERROR, path, 0,
		    "no settings: the file holds only comments or blanks");
	load_groups(&ld, root);
	if (config_setting_length(root) > 0 && c->nlisten == 0 &&
	    config_lookup(&cfg, "listen") == NULL)
		diag_add(dl, DIAG_ERROR, path, 0,
		    "no listeners: add a listen = ( { transport = \"tls\"; "
		    "address = \"127.0.0.1\"; } ); list");
	conf_check_extra_names(&ld, config_lookup(&cfg, "tls.extra_names"));
	conf_check_revocation(&ld, &cfg);
	conf_check_control_group(&ld, &cfg);
	conf_check_dns_servers(&ld, config_lookup(&cfg, "dns.servers"));
	if (c->fqdn == NULL) {
		if (gethostname(host, sizeof host) == -1 || host[0] == '\0')
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		c->fqdn = xstrdup(host);
	}

	/* Rules name zones: check them once the zone files are loaded. */
	conf_load_zones(&ld);
	conf_check_rule_zones(&ld);
	if (c->auth_realm == NULL)
		c->auth_realm = xstrdup(c->fqdn);
	conf_load_credentials(&ld);
	conf_traversal_listeners(&ld);
	config_destroy(&cfg);
	free(ld.rule_set);
	conf_free_strlist(&ld.bad_zones);
	if (c->nrules > 1)
		qsort(c->rules, c->nrules, sizeof *c->rules, conf_rule_cmp);

	if (dl->nerrors != before) {
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->main_file);
	free(c->fqdn);
	conf_free_strlist(&c->aliases);
	conf_free_strlist(&c->def_peer_names);
	conf_free_strlist(&c->dns_servers);
	free(c->cluster_fqdn);
	conf_free_strlist(&c->cluster_peers);
	free(c->control_socket.path);
	free(c->control_group);
	conf_free_strlist(&c->extra_names);
	free(c->manual_crl.path);
	conf_free_strlist(&c->rev_dps);
	free(c->rev_update_time);
	free(c->rev_https_ca_file.path);
	free(c->state_dir.path);
	free(c->pid_file.path);
	free(c->zones_dir.path);
	free(c->log_file.path);
	free(c->tls_certificate.path);
	free(c->tls_private_key.path);
	free(c->tls_trust.path);
	for (i = 0; i < c->nlisten; i++) {
		free(c->listen[i].address);
		free(c->listen[i].zone);
	}
	for (i = 0; i < c->ncreds; i++) {
		free(c->creds[i].user);
		free(c->creds[i].realm);
		explicit_bzero(c->creds[i].ha1, strlen(c->creds[i].ha1));
		free(c->creds[i].ha1);
	}
	free(c->creds);
	free(c->auth_credentials.path);
	free(c->auth_realm);
	free(c->listen);
	for (i = 0; i < c->nzones; i++)
		conf_free_zone(&c->zones[i]);
	free(c->zones);
	for (i = 0; i < c->nrules; i++)
		conf_free_rule(&c->rules[i]);
	free(c->rules);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c);
}

const char *
conf_transport_name(int transport)
{
	switch (transport) {
	case TP_UDP:	return "udp";
	case TP_TCP:	return "tcp";
	case TP_TLS:	return "tls";
	default:	return "?";
	}
}

int
conf_default_port(int transport)
{
	return transport == TP_TLS ? 5061 : 5060;
}

const char *
conf_zone_type_name(int type)
{
	switch (type) {
	case ZONE_NEIGHBOR:		return "neighbor";
	case ZONE_TRAVERSAL_CLIENT:	return "traversal-client";
	case ZONE_TRAVERSAL_SERVER:	return "traversal-server";
	default:			return "?";
	}
}

const char *
conf_loc_str(const struct conf_loc *loc, char *buf, size_t bufsz)
{
	if (loc->line > 0)
		snprintf(buf, bufsz, "%s:%d", loc->file ? loc->file : "?", loc->line);
	else
		snprintf(buf, bufsz, "%s", loc->file ? loc->file : "(default)");
	return buf;
}
