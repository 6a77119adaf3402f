/*
 * conf_table.h: the option table.  Every setting sipedge reads is one row:
 * where it lives, its type, its range or allowed words, and its default.
 * conf.c walks the table to apply defaults and to validate; the man page
 * sipedge.conf(5) documents the same rows (tests/unit check they agree).
 */
#ifndef SE_CONF_TABLE_H
#define SE_CONF_TABLE_H

#include <stddef.h>

enum conf_opt_type {
	OT_INT,		/* int field, min..max */
	OT_BOOL,	/* int field, 0/1 */
	OT_STRING,	/* char * field, non-empty */
	OT_TEXT,	/* char * field, may be empty */
	OT_PATH,	/* struct conf_path field */
	OT_ENUM,	/* int field: the value of the matching word */
	OT_STRLIST	/* struct conf_strlist field, at most max entries */
};

struct conf_enum {
	const char	*word;
	int		 value;
};

struct conf_opt {
	const char		*group;		/* "sip"; "" for the top level */
	const char		*name;
	enum conf_opt_type	 type;
	long			 min, max;	/* OT_INT range; OT_STRLIST max count */
	const struct conf_enum	*words;		/* OT_ENUM, ended by {NULL, 0} */
	size_t			 offset;	/* into the target struct */
	const char		*def;		/* default as text, NULL: none */
	int			 required;
};

/*
 * Main file groups, then one table each for listen entries, search rules
 * and zone files.
 */
extern const struct conf_opt conf_main_opts[];
extern const struct conf_opt conf_listen_opts[];
extern const struct conf_opt conf_rule_opts[];
extern const struct conf_opt conf_zone_opts[];
/*
 * Groups allowed at the top of the main file (besides the lists "listen"
 * and "search_rules").
 */
extern const char *const conf_main_groups[];

#endif
