/*
 * conf.c: libconfig files -> struct conf, validated against the option
 * table.  Every problem is collected (not just the first) with its
 * file:line, so `sipedged -t` and a failed reload can list all of them.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/conf_table.h"
#include "util/name.h"
#include "util/xmalloc.h"

/* State of one load: the result being built and where problems go. */
struct loader {
	struct conf		*c;
	struct diaglist		*dl;
	config_setting_t	**rule_set;	/* the entry of each c->rules[i] */
	struct conf_strlist	  bad_zones;	/* zone files with errors */
};

static const char *
intern_file(struct conf *c, const char *file)
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

static struct conf_loc
loc_of(struct loader *ld, const config_setting_t *s)
{
	struct conf_loc loc;

	loc.file = intern_file(ld->c, config_setting_source_file(s));
	loc.line = (int)config_setting_source_line(s);
	return loc;
}

static void
err_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
err_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	struct conf_loc loc = loc_of(ld, s);
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

static const char *
type_name(int t)
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

static const char *
closest(const char *name, const char *const *cands, size_t ncands)
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

static void
apply_defaults(const struct conf_opt *tbl, const char *group, void *base,
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

/* Check one setting against its row and store it. */
static void
apply_setting(struct loader *ld, const struct conf_opt *o, void *base,
    config_setting_t *s, const char *label)
{
	int t = config_setting_type(s);
	struct conf_loc loc = loc_of(ld, s);
	const char *why = NULL;
	char buf[256];
	long long iv;
	const char *sv;
	struct conf_strlist *sl;
	int i, n;

	switch (o->type) {
	case OT_INT:
		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
			err_at(ld, s, "%s must be an integer, not %s", label,
			    type_name(t));
			return;
		}
		iv = config_setting_get_int64(s);
		if (iv < o->min || iv > o->max) {
			err_at(ld, s, "%s = %lld is out of range (%ld to %ld)",
			    label, iv, o->min, o->max);
			return;
		}
		snprintf(buf, sizeof buf, "%lld", iv);
		(void)store(o, base, buf, loc.file, loc.line, &why);
		return;
	case OT_BOOL:
		if (t != CONFIG_TYPE_BOOL) {
			err_at(ld, s, "%s must be true or false, not %s",
			    label, type_name(t));
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
			err_at(ld, s, "%s must be a string, not %s", label,
			    type_name(t));
			return;
		}
		sv = config_setting_get_string(s);
		if (*sv == '\0' && o->type != OT_TEXT) {
			err_at(ld, s, "%s must not be empty", label);
			return;
		}
		if (store(o, base, sv, loc.file, loc.line, &why) == -1) {
			enum_words(o, buf, sizeof buf);
			err_at(ld, s, "%s = \"%s\" is not one of: %s", label,
			    sv, buf);
		}
		return;
	case OT_STRLIST:
		if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
			err_at(ld, s, "%s must be a list of strings like "
			    "[ \"a\", \"b\" ], not %s", label, type_name(t));
			return;
		}
		n = config_setting_length(s);
		if (n > o->max) {
			err_at(ld, s, "%s has %d entries; at most %ld are allowed",
			    label, n, o->max);
			return;
		}
		sl = (struct conf_strlist *)((char *)base + o->offset);
		for (i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

			if (config_setting_type(e) != CONFIG_TYPE_STRING ||
			    *config_setting_get_string(e) == '\0') {
				err_at(ld, e, "%s[%d] must be a non-empty string",
				    label, i);
				continue;
			}
			sl->v = xreallocarray(sl->v, sl->n + 1, sizeof *sl->v);
			sl->v[sl->n++] = xstrdup(config_setting_get_string(e));
		}
		return;
	}
}

/*
 * Apply every child of grp to base using the rows of tbl for group; report
 * unknown names (with a hint) and missing required ones.
 */
static void
apply_group(struct loader *ld, const struct conf_opt *tbl, const char *group,
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
		hint = closest(name, cands, ncands);
		if (hint != NULL)
			err_at(ld, s, "unknown setting '%s'%s%s (did you mean '%s'?)",
			    name, *prefix ? " in " : "", prefix, hint);
		else
			err_at(ld, s, "unknown setting '%s'%s%s", name,
			    *prefix ? " in " : "", prefix);
	}
	for (o = tbl; o->name != NULL; o++) {
		if (strcmp(o->group, group) != 0 || !o->required)
			continue;
		if (config_setting_get_member(grp, o->name) == NULL)
			err_at(ld, grp, "%s%srequired setting '%s' is missing",
			    prefix, *prefix ? ": " : "", o->name);
	}
}

/* Read path with libconfig; parse errors go to dl.  0 or -1. */
static int
read_file(struct loader *ld, config_t *cfg, const char *path)
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

static void
load_listen(struct loader *ld, config_setting_t *list)
{
	struct conf *c = ld->c;
	struct conf_listen *l;
	config_setting_t *e;
	char prefix[32];
	int i, n, t;
	size_t j;

	t = config_setting_type(list);
	if (t != CONFIG_TYPE_LIST) {
		err_at(ld, list, "listen must be a list of groups like "
		    "( { transport = \"tls\"; address = \"127.0.0.1\"; } ), "
		    "not %s", type_name(t));
		return;
	}
	n = config_setting_length(list);
	if (n == 0)
		err_at(ld, list, "listen is empty: sipedged needs at least one "
		    "listener, e.g. listen = ( { transport = \"tls\"; "
		    "address = \"127.0.0.1\"; } );");
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(list, (unsigned)i);
		snprintf(prefix, sizeof prefix, "listen[%d]", i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			err_at(ld, e, "%s must be a group { ... }", prefix);
			continue;
		}
		c->listen = xreallocarray(c->listen, c->nlisten + 1,
		    sizeof *c->listen);
		l = &c->listen[c->nlisten++];
		memset(l, 0, sizeof *l);
		l->transport = -1;
		l->loc = loc_of(ld, e);
		apply_group(ld, conf_listen_opts, "listen", prefix, l, e);
		if (l->address != NULL && !name_is_ip(l->address))
			err_at(ld, config_setting_get_member(e, "address"),
			    "%s.address: '%s' is not an IPv4 or IPv6 address",
			    prefix, l->address);
		if (l->transport >= 0 && l->port == 0)
			l->port = conf_default_port(l->transport);
		for (j = 0; j + 1 < c->nlisten && l->address != NULL; j++) {
			struct conf_listen *o = &c->listen[j];

			if (o->address != NULL && o->transport == l->transport &&
			    o->port == l->port && strcmp(o->address, l->address) == 0)
				err_at(ld, e, "%s duplicates the listener at line %d "
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
static void
check_extra_names(struct loader *ld, config_setting_t *list)
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
			err_at(ld, el, "tls.extra_names[%d]: %s", i, cause);
		free(e);
		free(cause);
	}
}

/* revocation.update_time is HH:MM; distribution points are http(s) URLs. */
static void
check_revocation(struct loader *ld, config_t *cfg)
{
	config_setting_t *s = config_lookup(cfg, "revocation.update_time");
	struct conf *c = ld->c;
	unsigned int h, m;
	char extra;
	int i, n;

	if (c->rev_update_time != NULL) {
		if (sscanf(c->rev_update_time, "%2u:%2u%c", &h, &m, &extra) != 2 ||
		    h > 23 || m > 59 || strlen(c->rev_update_time) != 5)
			err_at(ld, s, "revocation.update_time = \"%s\" must be "
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
			err_at(ld, e, "revocation.distribution_points[%d]: %s",
			    i, cause);
		free(cause);
	}
}

/*
 * daemon.control_group names a group of this system: the control socket
 * is given to it.  Resolved here so that a typo is a configuration error
 * with its line, not a failed start.
 */
static void
check_control_group(struct loader *ld, config_t *cfg)
{
	struct conf *c = ld->c;
	struct group *gr;

	c->control_gid = -1;
	if (c->control_group == NULL)
		return;
	if ((gr = getgrnam(c->control_group)) == NULL)
		err_at(ld, config_lookup(cfg, "daemon.control_group"),
		    "daemon.control_group = \"%s\" is not a group of this "
		    "system (see getent group)", c->control_group);
	else
		c->control_gid = (long)gr->gr_gid;
}

/* dns.servers entries are IP, IP:port, [IPv6] or [IPv6]:port. */
static void
check_dns_servers(struct loader *ld, config_setting_t *list)
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
			err_at(ld, e, "dns.servers[%d] = \"%s\" must be an IP "
			    "address, IP:port or [IPv6]:port", i, v);
	}
}

static void
free_strlist(struct conf_strlist *sl)
{
	size_t i;

	for (i = 0; i < sl->n; i++)
		free(sl->v[i]);
	free(sl->v);
	sl->v = NULL;
	sl->n = 0;
}

static void
free_zone(struct conf_zone *z)
{
	free(z->name);
	free(z->peer_name);
	free_strlist(&z->peers);
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

/*
 * A secret file (a password, digest hashes) must not be readable by group
 * or others: 0 when it is private, -1 with a sentence in why.
 */
static int
check_private(const char *path, char *why, size_t whysz)
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
	if (check_private(z->password_file.path, why, sizeof why) == -1) {
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

/*
 * auth.credentials_file: "USER REALM ALGORITHM HA1" lines (ALGORITHM MD5
 * or SHA-256), '#' comments; read when a traversal-server zone needs it.
 */
static void
load_credentials(struct loader *ld)
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
	if (check_private(cp->path, why, sizeof why) == -1) {
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
			diag_add(ld->dl, DIAG_ERROR, intern_file(c, cp->path),
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
static void
traversal_listeners(struct loader *ld)
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
	z.loc.file = intern_file(c, path);
	if (read_file(ld, &cfg, path) == -1) {
		config_destroy(&cfg);
		remember_bad_zone(ld, xstrndup(base, strlen(base) -
		    strlen(".conf")));
		return;
	}
	apply_defaults(conf_zone_opts, NULL, &z, z.loc.file);
	root = config_root_setting(&cfg);
	z.loc.line = 1;
	apply_group(ld, conf_zone_opts, "", "", &z, root);
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
		free_zone(&z);
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
static void
load_zones(struct loader *ld)
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

/* --- search rules ------------------------------------------------------ */

/* The methods of RFC 3261 and its extensions, to catch "invite". */
static const char *const sip_methods[] = {
	"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK",
	"SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
	NULL
};

/* A token of RFC 3261 s.25.1: what a method name is made of. */
static int
is_token(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("-.!%*_+`'~", *s) == NULL)
			return 0;
	return 1;
}

/* Printable ASCII but space, '<', '>' and '"': what a URI may hold. */
static int
is_uri_char(int ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '<' && ch != '>' && ch != '"';
}

/* Is every character of s one a URI may hold? */
static int
is_uri_text(const char *s)
{
	for (; *s != '\0'; s++)
		if (!is_uri_char((unsigned char)*s))
			return 0;
	return 1;
}

int
conf_alias_parse(const char *a, size_t len, size_t *host, size_t *hostlen,
    int *port)
{
	const char *end = a + len, *at = memchr(a, '@', len), *h, *p;
	long v = 0;

	h = at != NULL ? at + 1 : a;
	if (at != NULL) {
		if (at == a || memchr(h, '@', (size_t)(end - h)) != NULL)
			return -1;
		for (p = a; p < at; p++)
			if (!is_uri_char((unsigned char)*p) || *p == ':')
				return -1;
	}
	if (h < end && *h == '[') {
		for (p = h + 1; p < end && (isxdigit((unsigned char)*p) ||
		    *p == ':' || *p == '.'); p++)
			;
		if (p == end || *p != ']' || p == h + 1)
			return -1;
		p++;
	} else {
		for (p = h; p < end && (isalnum((unsigned char)*p) ||
		    *p == '-' || *p == '.' || *p == '_'); p++)
			;
		if (p == h)
			return -1;
	}
	*host = (size_t)(h - a);
	*hostlen = (size_t)(p - h);
	*port = 0;
	if (p == end)
		return 0;
	if (*p++ != ':' || p == end || end - p > 5)
		return -1;
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* The pattern of a rule: compiled when a regex, checked otherwise. */
static void
check_pattern(struct loader *ld, struct conf_rule *r, config_setting_t *e,
    const char *prefix)
{
	config_setting_t *ps = config_setting_get_member(e, "pattern");
	const char *p;
	char buf[256];
	size_t h, hl;
	int rc, port;

	if (r->match == RULE_ANY) {
		if (ps != NULL)
			err_at(ld, ps, "%s.pattern is not used with match = "
			    "\"any\"; remove it or choose another match", prefix);
		return;
	}
	if (r->match < 0)
		return;		/* missing or wrong: already reported */
	if (ps == NULL) {
		err_at(ld, e, "%s: match = \"%s\" needs a pattern", prefix,
		    conf_rule_match_name(r->match));
		return;
	}
	if (r->pattern == NULL)
		return;
	p = r->pattern + (r->match == RULE_REGEX && r->pattern[0] == '^');
	if (strncasecmp(p, "sip:", 4) == 0 || strncasecmp(p, "sips:", 5) == 0) {
		err_at(ld, ps, "%s.pattern = \"%s\" starts with a URI scheme, "
		    "but rules match the request-URI without it (user@host): "
		    "leave out \"%.*s\"", prefix, r->pattern,
		    (int)(strchr(p, ':') - p + 1), p);
		return;
	}
	if (r->match == RULE_REGEX) {
		r->re = xmalloc(sizeof *r->re);
		if ((rc = regcomp(r->re, r->pattern, REG_EXTENDED)) != 0) {
			regerror(rc, r->re, buf, sizeof buf);
			free(r->re);
			r->re = NULL;
			err_at(ld, ps, "%s.pattern = \"%s\" is not a valid "
			    "regular expression: %s", prefix, r->pattern, buf);
		}
		return;
	}
	if (!is_uri_text(r->pattern))
		err_at(ld, ps, "%s.pattern = \"%s\" must not contain spaces, "
		    "control characters, '<', '>', '\"' or non-ASCII "
		    "characters", prefix, r->pattern);
	else if (r->match == RULE_EXACT && (conf_alias_parse(r->pattern,
	    strlen(r->pattern), &h, &hl, &port) == -1 || port != 0))
		err_at(ld, ps, "%s.pattern = \"%s\" can never match: the alias "
		    "of a request-URI is user@host or host, without a port",
		    prefix, r->pattern);
}

/* The rewrite of a rule: \0..\9 only for a regex, and groups it has. */
static void
check_rewrite(struct loader *ld, struct conf_rule *r, config_setting_t *e,
    const char *prefix)
{
	config_setting_t *s = config_setting_get_member(e, "rewrite");
	size_t ngroups = r->re != NULL ? r->re->re_nsub : 0, h, hl;
	const char *p;
	int port;

	if (r->rewrite == NULL || r->match < 0)
		return;
	if (r->match == RULE_ANY) {
		err_at(ld, s, "%s.rewrite cannot be used with match = \"any\", "
		    "which matches nothing to replace; use match = \"regex\" "
		    "and pattern = \"(.*)\"", prefix);
		return;
	}
	if (!is_uri_text(r->rewrite)) {
		err_at(ld, s, "%s.rewrite = \"%s\" must not contain spaces, "
		    "control characters, '<', '>', '\"' or non-ASCII "
		    "characters", prefix, r->rewrite);
		return;
	}
	for (p = r->rewrite; *p != '\0'; p++) {
		if (*p != '\\')
			continue;
		if (!isdigit((unsigned char)p[1])) {
			err_at(ld, s, "%s.rewrite = \"%s\": a backslash must be "
			    "followed by a digit, the number of a group of the "
			    "pattern (\\0 for all of it)", prefix, r->rewrite);
			return;
		}
		p++;
		if (r->match != RULE_REGEX) {
			err_at(ld, s, "%s.rewrite = \"%s\" refers to \\%c, but "
			    "only a regex pattern has groups (match is \"%s\")",
			    prefix, r->rewrite, *p,
			    conf_rule_match_name(r->match));
			return;
		}
		if (r->re != NULL && (size_t)(*p - '0') > ngroups) {
			err_at(ld, s, "%s.rewrite = \"%s\" refers to \\%c, but "
			    "the pattern has %zu group%s", prefix, r->rewrite,
			    *p, ngroups, ngroups == 1 ? "" : "s");
			return;
		}
	}
	if ((r->match == RULE_EXACT || r->match == RULE_REGEX) &&
	    *r->rewrite == '\0')
		err_at(ld, s, "%s.rewrite must not be empty with match = \"%s\" "
		    "(it replaces the whole alias)", prefix,
		    conf_rule_match_name(r->match));
	else if (r->match == RULE_EXACT && conf_alias_parse(r->rewrite,
	    strlen(r->rewrite), &h, &hl, &port) == -1)
		err_at(ld, s, "%s.rewrite = \"%s\" is not an alias: write "
		    "user@host, host, or either with :port", prefix, r->rewrite);
}

/* Method names are tokens, and case-sensitive: "invite" is refused. */
static void
check_methods(struct loader *ld, struct conf_rule *r, config_setting_t *e,
    const char *prefix)
{
	config_setting_t *s = config_setting_get_member(e, "methods");
	size_t i, k;

	for (i = 0; i < r->methods.n; i++) {
		const char *m = r->methods.v[i];

		if (!is_token(m)) {
			err_at(ld, s, "%s.methods: \"%s\" is not a method name "
			    "(a token such as \"INVITE\")", prefix, m);
			continue;
		}
		for (k = 0; sip_methods[k] != NULL; k++)
			if (strcasecmp(m, sip_methods[k]) == 0 &&
			    strcmp(m, sip_methods[k]) != 0)
				err_at(ld, s, "%s.methods: \"%s\" matches no "
				    "request: method names are case-sensitive "
				    "(write \"%s\")", prefix, m, sip_methods[k]);
	}
}

/* One rule of the list, checked but for its zones (see check_rule_zones). */
static void
load_rule(struct loader *ld, config_setting_t *e, const char *prefix)
{
	struct conf *c = ld->c;
	struct conf_rule *r;
	config_setting_t *ps;
	size_t i;

	c->rules = xreallocarray(c->rules, c->nrules + 1, sizeof *c->rules);
	ld->rule_set = xreallocarray(ld->rule_set, c->nrules + 1,
	    sizeof *ld->rule_set);
	ld->rule_set[c->nrules] = e;
	r = &c->rules[c->nrules++];
	memset(r, 0, sizeof *r);
	r->match = -1;
	r->loc = loc_of(ld, e);
	apply_defaults(conf_rule_opts, NULL, r, r->loc.file);
	apply_group(ld, conf_rule_opts, "search_rules", prefix, r, e);
	check_pattern(ld, r, e, prefix);
	check_rewrite(ld, r, e, prefix);
	check_methods(ld, r, e, prefix);
	if (r->priority == 0)
		return;
	for (i = 0; i + 1 < c->nrules; i++) {
		if (c->rules[i].priority != r->priority)
			continue;
		ps = config_setting_get_member(e, "priority");
		err_at(ld, ps, "%s.priority = %d is already used by the rule at "
		    "line %d; priorities must be unique", prefix, r->priority,
		    c->rules[i].loc.line);
		break;
	}
}

/* The list search_rules: one group per rule. */
static void
load_rules(struct loader *ld, config_setting_t *list)
{
	config_setting_t *e;
	char prefix[32];
	int i, n, t;

	t = config_setting_type(list);
	if (t != CONFIG_TYPE_LIST) {
		err_at(ld, list, "search_rules must be a list of groups like "
		    "( { priority = 10; match = \"any\"; target_zone = "
		    "\"partner\"; } ), not %s", type_name(t));
		return;
	}
	n = config_setting_length(list);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(list, (unsigned)i);
		snprintf(prefix, sizeof prefix, "search_rules[%d]", i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			err_at(ld, e, "%s must be a group { ... }", prefix);
			continue;
		}
		load_rule(ld, e, prefix);
	}
}

/* Is name a zone (loaded, or left out for errors already reported)? */
static int
zone_exists(struct loader *ld, const char *name)
{
	size_t i;

	for (i = 0; i < ld->c->nzones; i++)
		if (strcmp(ld->c->zones[i].name, name) == 0)
			return 1;
	for (i = 0; i < ld->bad_zones.n; i++)
		if (strcmp(ld->bad_zones.v[i], name) == 0)
			return 1;
	return 0;
}

/* Report a rule's zone setting that names no zone, with a hint. */
static void
unknown_zone(struct loader *ld, config_setting_t *s, const char *label,
    const char *name, int with_default)
{
	const char **cands, *hint;
	size_t i, n = 0;

	cands = xcalloc(ld->c->nzones + 1, sizeof *cands);
	for (i = 0; i < ld->c->nzones; i++)
		cands[n++] = ld->c->zones[i].name;
	if (with_default)
		cands[n++] = CONF_DEFAULT_ZONE;
	hint = closest(name, cands, n);
	if (hint != NULL)
		err_at(ld, s, "%s = \"%s\" is not a zone (did you mean '%s'?)",
		    label, name, hint);
	else if (ld->c->nzones == 0)
		err_at(ld, s, "%s = \"%s\" is not a zone: there are no zone "
		    "files in %s", label, name, ld->c->zones_dir.path);
	else
		err_at(ld, s, "%s = \"%s\" is not a zone of %s", label, name,
		    ld->c->zones_dir.path);
	free(cands);
}

/* The zones the rules name exist; run once the zone files are loaded. */
static void
check_rule_zones(struct loader *ld)
{
	struct conf_rule *r;
	config_setting_t *e;
	char label[64];
	size_t i;
	int idx;

	for (i = 0; i < ld->c->nrules; i++) {
		r = &ld->c->rules[i];
		e = ld->rule_set[i];
		idx = config_setting_index(e);
		if (r->source_zone != NULL &&
		    strcmp(r->source_zone, CONF_DEFAULT_ZONE) != 0 &&
		    !zone_exists(ld, r->source_zone)) {
			snprintf(label, sizeof label,
			    "search_rules[%d].source_zone", idx);
			unknown_zone(ld, config_setting_get_member(e,
			    "source_zone"), label, r->source_zone, 1);
		}
		if (r->target_zone == NULL)
			continue;
		snprintf(label, sizeof label, "search_rules[%d].target_zone",
		    idx);
		if (strcmp(r->target_zone, CONF_DEFAULT_ZONE) == 0)
			err_at(ld, config_setting_get_member(e, "target_zone"),
			    "%s cannot be \"%s\": that is where traffic from "
			    "no zone's peers comes from; name a zone of %s",
			    label, CONF_DEFAULT_ZONE, ld->c->zones_dir.path);
		else if (!zone_exists(ld, r->target_zone))
			unknown_zone(ld, config_setting_get_member(e,
			    "target_zone"), label, r->target_zone, 0);
	}
}

/* By priority, for qsort: the order in which rules are tried. */
static int
rule_cmp(const void *a, const void *b)
{
	const struct conf_rule *ra = a, *rb = b;

	return (ra->priority > rb->priority) - (ra->priority < rb->priority);
}

/* Everything a rule holds, its compiled pattern too. */
static void
free_rule(struct conf_rule *r)
{
	free(r->name);
	free(r->pattern);
	if (r->re != NULL) {
		regfree(r->re);
		free(r->re);
	}
	free(r->source_zone);
	free_strlist(&r->methods);
	free(r->rewrite);
	free(r->target_zone);
}

static int
group_is_known(const char *name)
{
	size_t i;

	for (i = 0; conf_main_groups[i] != NULL; i++)
		if (strcmp(conf_main_groups[i], name) == 0)
			return 1;
	return 0;
}

struct conf *
conf_load(const char *path, struct diaglist *dl)
{
	struct loader ld;
	struct conf *c;
	config_t cfg;
	config_setting_t *root, *s;
	const char *name, *hint;
	char host[256];
	size_t before = dl->nerrors, ngroups;
	int i;

	c = xcalloc(1, sizeof *c);
	c->main_file = xstrdup(path);
	(void)intern_file(c, path);
	memset(&ld, 0, sizeof ld);
	ld.c = c;
	ld.dl = dl;

	apply_defaults(conf_main_opts, NULL, c, c->files[0]);

	if (read_file(&ld, &cfg, path) == -1) {
		config_destroy(&cfg);
		conf_free(c);
		return NULL;
	}
	root = config_root_setting(&cfg);
	if (config_setting_length(root) == 0)
		diag_add(dl, DIAG_ERROR, path, 0,
		    "no settings: the file holds only comments or blanks");
	for (ngroups = 0; conf_main_groups[ngroups] != NULL; ngroups++)
		;
	for (i = 0; (s = config_setting_get_elem(root, (unsigned)i)) != NULL; i++) {
		name = config_setting_name(s);
		if (strcmp(name, "listen") == 0) {
			load_listen(&ld, s);
		} else if (strcmp(name, "search_rules") == 0) {
			load_rules(&ld, s);
		} else if (group_is_known(name)) {
			if (config_setting_type(s) != CONFIG_TYPE_GROUP)
				err_at(&ld, s, "%s must be a group: %s: { ... };",
				    name, name);
			else
				apply_group(&ld, conf_main_opts, name, name, c, s);
		} else {
			const char *cands[16];
			size_t k;

			for (k = 0; k < ngroups && k < 14; k++)
				cands[k] = conf_main_groups[k];
			cands[k++] = "listen";
			cands[k++] = "search_rules";
			hint = closest(name, cands, k);
			if (hint != NULL)
				err_at(&ld, s, "unknown setting '%s' (did you mean '%s'?)",
				    name, hint);
			else
				err_at(&ld, s, "unknown setting '%s'", name);
		}
	}
	if (config_setting_length(root) > 0 && c->nlisten == 0 &&
	    config_lookup(&cfg, "listen") == NULL)
		diag_add(dl, DIAG_ERROR, path, 0,
		    "no listeners: add a listen = ( { transport = \"tls\"; "
		    "address = \"127.0.0.1\"; } ); list");
	check_extra_names(&ld, config_lookup(&cfg, "tls.extra_names"));
	check_revocation(&ld, &cfg);
	check_control_group(&ld, &cfg);
	check_dns_servers(&ld, config_lookup(&cfg, "dns.servers"));
	if (c->fqdn == NULL) {
		if (gethostname(host, sizeof host) == -1 || host[0] == '\0')
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		c->fqdn = xstrdup(host);
	}

	/* Rules name zones: check them once the zone files are loaded. */
	load_zones(&ld);
	check_rule_zones(&ld);
	if (c->auth_realm == NULL)
		c->auth_realm = xstrdup(c->fqdn);
	load_credentials(&ld);
	traversal_listeners(&ld);
	config_destroy(&cfg);
	free(ld.rule_set);
	free_strlist(&ld.bad_zones);
	if (c->nrules > 1)
		qsort(c->rules, c->nrules, sizeof *c->rules, rule_cmp);

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
	free_strlist(&c->aliases);
	free_strlist(&c->def_peer_names);
	free_strlist(&c->dns_servers);
	free(c->cluster_fqdn);
	free_strlist(&c->cluster_peers);
	free(c->control_socket.path);
	free(c->control_group);
	free_strlist(&c->extra_names);
	free(c->manual_crl.path);
	free_strlist(&c->rev_dps);
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
		free_zone(&c->zones[i]);
	free(c->zones);
	for (i = 0; i < c->nrules; i++)
		free_rule(&c->rules[i]);
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
conf_rule_match_name(int match)
{
	switch (match) {
	case RULE_ANY:		return "any";
	case RULE_EXACT:	return "exact";
	case RULE_PREFIX:	return "prefix";
	case RULE_SUFFIX:	return "suffix";
	case RULE_REGEX:	return "regex";
	default:		return "?";
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
