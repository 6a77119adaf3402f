/*
 * conf_int.h: what the configuration loader's files share (conf.c,
 * conf_check.c, conf_zone.c, conf_rule.c): the state of one load and the
 * functions they call across them.  Private: included only by those
 * files; callers use conf.h.
 */
#ifndef SE_CONF_INT_H
#define SE_CONF_INT_H

#include <libconfig.h>

#include "conf/conf.h"
#include "conf/conf_table.h"
#include "util/diag.h"

/* State of one load: the result being built and where problems go. */
struct loader {
	struct conf		*c;
	struct diaglist		*dl;
	config_setting_t	**rule_set;	/* the entry of each c->rules[i] */
	struct conf_strlist	  bad_zones;	/* zone files with errors */
};

/* conf.c */

/* The file name kept in c->files for file (the main file for NULL). */
const char	*conf_intern_file(struct conf *c, const char *file);
/* Where setting s is: its file (interned) and line. */
struct conf_loc	 conf_loc_of(struct loader *ld, const config_setting_t *s);
/* An error at setting s, formatted, into the load's diag list. */
void		 conf_err_at(struct loader *ld, const config_setting_t *s,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The name of a setting type for messages ("an integer", ...). */
const char	*conf_type_name(int t);
/* The candidate closest to name (a typo's hint), or NULL. */
const char	*conf_closest(const char *name, const char *const *cands,
		     size_t ncands);
/* Set the defaults of the rows of tbl for group in base. */
void		 conf_apply_defaults(const struct conf_opt *tbl,
		     const char *group, void *base, const char *file);
/*
 * Apply every child of grp to base using the rows of tbl for group; report
 * unknown names (with a hint) and missing required ones.
 */
void		 conf_apply_group(struct loader *ld, const struct conf_opt *tbl,
		     const char *group, const char *prefix, void *base,
		     config_setting_t *grp);
/* Read path with libconfig; parse errors go to dl.  0 or -1. */
int		 conf_read_file(struct loader *ld, config_t *cfg,
		     const char *path);
/* Free the strings of sl and clear it. */
void		 conf_free_strlist(struct conf_strlist *sl);

/* conf_check.c */

/* The listen list: one group per listener. */
void		 conf_load_listen(struct loader *ld, config_setting_t *list);
/* tls.extra_names entries are subjectAltName entries, kept canonical. */
void		 conf_check_extra_names(struct loader *ld,
		     config_setting_t *list);
/* revocation.update_time is HH:MM; distribution points are http(s) URLs. */
void		 conf_check_revocation(struct loader *ld, config_t *cfg);
/* daemon.control_group names a group of this system. */
void		 conf_check_control_group(struct loader *ld, config_t *cfg);
/* dns.servers entries are IP, IP:port, [IPv6] or [IPv6]:port. */
void		 conf_check_dns_servers(struct loader *ld,
		     config_setting_t *list);
/* 0 when the secret file path is private, -1 with a sentence in why. */
int		 conf_check_private(const char *path, char *why, size_t whysz);
/* auth.credentials_file, read when a traversal-server zone needs it. */
void		 conf_load_credentials(struct loader *ld);
/* A listener entry for each traversal-server zone's TLS port. */
void		 conf_traversal_listeners(struct loader *ld);

/* conf_zone.c */

/* Load zones_dir/ *.conf in name order. */
void		 conf_load_zones(struct loader *ld);
/* Everything a zone holds (not z itself). */
void		 conf_free_zone(struct conf_zone *z);

/* conf_rule.c */

/* The list search_rules: one group per rule. */
void		 conf_load_rules(struct loader *ld, config_setting_t *list);
/* The zones the rules name exist; run once the zone files are loaded. */
void		 conf_check_rule_zones(struct loader *ld);
/* By priority, for qsort: the order in which rules are tried. */
int		 conf_rule_cmp(const void *a, const void *b);
/* Everything a rule holds, its compiled pattern too. */
void		 conf_free_rule(struct conf_rule *r);

#endif
