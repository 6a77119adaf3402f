/*
 * ctl_conf.c: the two settings sipedge-ctl needs from the daemon's
 * configuration, daemon.control_socket and log.file.  The configuration is
 * loaded and checked as a whole first; when it has errors (a file being
 * edited, a typo in a zone file) the two settings are read from the main
 * file alone, with a warning, because the daemon keeps running on the
 * configuration it loaded before and status, log or reload must still
 * reach it.  Never writes anything.
 */
#include "config.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_table.h"
#include "tools/ctl_conf.h"
#include "util/diag.h"
#include "util/xmalloc.h"

/* What the light reader found. */
enum light {
	LIGHT_OK,		/* the setting, or its default */
	LIGHT_UNOPENED,		/* the main file cannot be read at all */
	LIGHT_BROKEN		/* a syntax error, or the setting itself is bad */
};

/* The setting path ("daemon.control_socket") and its label. */
static const char *
setting_of(enum ctl_conf_what what)
{
	return what == CTL_CONF_SOCKET ? "daemon.control_socket" : "log.file";
}

/* What a successfully loaded configuration says (may be NULL: not set). */
static char *
from_conf(const struct conf *c, enum ctl_conf_what what)
{
	const struct conf_path *p = what == CTL_CONF_SOCKET ?
	    &c->control_socket : &c->log_file;

	return p->path != NULL ? xstrdup(p->path) : NULL;
}

/* value if absolute, else joined to the directory of file; caller frees. */
static char *
resolve(const char *file, const char *value)
{
	const char *slash = strrchr(file, '/');

	if (value[0] == '/' || slash == NULL)
		return xstrdup(value);
	return xasprintf("%.*s/%s", (int)(slash - file + (slash == file)),
	    file, value);
}

/* The table default of the setting, resolved as conf.c does; or NULL. */
static char *
table_default(const char *main_file, enum ctl_conf_what what)
{
	const char *group = what == CTL_CONF_SOCKET ? "daemon" : "log";
	const char *name = what == CTL_CONF_SOCKET ? "control_socket" : "file";
	const struct conf_opt *o;

	for (o = conf_main_opts; o->name != NULL; o++)
		if (strcmp(o->group, group) == 0 && strcmp(o->name, name) == 0)
			return o->def != NULL ? resolve(main_file, o->def) :
			    NULL;
	return NULL;
}

/*
 * Read one setting from the main file at path without checking anything
 * else: libconfig's syntax (with its @include), then the setting's value,
 * or its default when it is not written.  *why says what went wrong.
 */
static enum light
light_read(const char *path, enum ctl_conf_what what, char **out,
    char **why)
{
	config_t cfg;
	config_setting_t *s;
	const char *v, *file;
	char *dir;
	enum light rv = LIGHT_OK;
	FILE *f;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return LIGHT_UNOPENED;
	fclose(f);
	config_init(&cfg);
	config_set_options(&cfg, CONFIG_OPTION_COLON_ASSIGNMENT_FOR_GROUPS |
	    CONFIG_OPTION_SEMICOLON_SEPARATORS);
	dir = resolve(path, ".");
	config_set_include_dir(&cfg, dir);
	free(dir);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		*why = xasprintf("%s:%d: syntax error: %s", config_error_file(&cfg)
		    ? config_error_file(&cfg) : path, config_error_line(&cfg),
		    config_error_text(&cfg));
		rv = LIGHT_BROKEN;
	} else if ((s = config_lookup(&cfg, setting_of(what))) == NULL)
		*out = table_default(path, what);
	else if ((v = config_setting_get_string(s)) == NULL || *v == '\0') {
		*why = xasprintf("%s:%d: %s must be a file name",
		    config_setting_source_file(s) ? config_setting_source_file(s)
		    : path, config_setting_source_line(s), setting_of(what));
		rv = LIGHT_BROKEN;
	} else {
		file = config_setting_source_file(s);
		*out = resolve(file != NULL ? file : path, v);
	}
	config_destroy(&cfg);
	return rv;
}

/* The first error of dl and how many more there are, for the warning. */
static char *
errors_summary(const struct diaglist *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		if (dl->v[i].sev == DIAG_ERROR)
			break;
	if (i == dl->n)
		return xstrdup("unknown errors");
	if (dl->nerrors <= 1)
		return xstrdup(dl->v[i].text);
	return xasprintf("%s; %zu more", dl->v[i].text, dl->nerrors - 1);
}

/* The whole configuration cannot be used and nothing can be guessed. */
static int
refuse(const char *path, int given, const struct diaglist *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		fprintf(stderr, "%s\n", dl->v[i].text);
	fprintf(stderr, "sipedge-ctl: cannot use configuration %s%s\n", path,
	    given ? "" : " (give another with -c FILE, or the socket with -s "
	    "SOCKET)");
	return -1;
}

/* Loading failed: read the setting alone, with a warning. */
static int
fallback(const char *path, int given, enum ctl_conf_what what,
    const struct diaglist *dl, char **out)
{
	const char *label = what == CTL_CONF_SOCKET ? "control socket" :
	    "log file";
	char *errs, *why = NULL;
	enum light l = light_read(path, what, out, &why);

	if (l == LIGHT_UNOPENED)
		return refuse(path, given, dl);
	if (l == LIGHT_OK && *out == NULL)
		return 0;	/* not set and no default: the caller says so */
	errs = errors_summary(dl);
	if (l == LIGHT_BROKEN && what == CTL_CONF_SOCKET)
		*out = table_default(path, what);
	if (*out == NULL) {
		fprintf(stderr, "sipedge-ctl: %s has errors (%s), and %s cannot "
		    "be read from it%s%s (sipedged -t -c %s lists the errors)\n",
		    path, errs, setting_of(what), why ? ": " : "",
		    why ? why : "", path);
		free(errs);
		free(why);
		return -1;
	}
	/* A broken file or setting: the errors above name it. */
	fprintf(stderr, "sipedge-ctl: warning: %s has errors (%s); using %s"
	    "%s %s\n", path, errs, l == LIGHT_BROKEN ? "the default " : "",
	    label, *out);
	free(errs);
	free(why);
	return 0;
}

int
ctl_conf_get(const char *path, int given, enum ctl_conf_what what,
    char **out)
{
	struct diaglist dl = { 0 };
	struct conf *c = conf_load(path, &dl);
	int rv = 0;

	*out = NULL;
	if (c != NULL)
		*out = from_conf(c, what);
	else
		rv = fallback(path, given, what, &dl, out);
	diag_clear(&dl);
	conf_free(c);
	return rv;
}
