/*
 * alarm.c: a short list of raised alarms, in the order they were raised.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/alarm.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct alarm {
	struct alarm	*next;
	char		*key;
	char		*text;
	time_t		 since;
};

static struct alarm *alarms;

static struct alarm *
find(const char *key, struct alarm ***prevp)
{
	struct alarm **pp, *a;

	for (pp = &alarms; (a = *pp) != NULL; pp = &a->next)
		if (strcmp(a->key, key) == 0) {
			if (prevp != NULL)
				*prevp = pp;
			return a;
		}
	return NULL;
}

void
alarm_raise(const char *key, const char *fmt, ...)
{
	struct alarm *a, **pp;
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if ((a = find(key, NULL)) != NULL) {
		if (strcmp(a->text, text) != 0) {
			free(a->text);
			a->text = text;
			log_event(LOG_LVL_WARN, "alarm", "alarm updated", "alarm",
			    key, "reason", text, NULL);
		} else
			free(text);
		return;
	}
	a = xcalloc(1, sizeof *a);
	a->key = xstrdup(key);
	a->text = text;
	a->since = time(NULL);
	for (pp = &alarms; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = a;
	log_event(LOG_LVL_WARN, "alarm", "alarm raised", "alarm", key, "reason",
	    text, NULL);
}

static void
drop(struct alarm **pp, int logit)
{
	struct alarm *a = *pp;

	*pp = a->next;
	if (logit)
		log_event(LOG_LVL_NOTICE, "alarm", "alarm cleared", "alarm",
		    a->key, NULL);
	free(a->key);
	free(a->text);
	free(a);
}

void
alarm_clear(const char *key)
{
	struct alarm **pp;

	if (find(key, &pp) != NULL)
		drop(pp, 1);
}

void
alarm_clear_prefix(const char *prefix)
{
	struct alarm **pp = &alarms;
	size_t n = strlen(prefix);

	while (*pp != NULL) {
		if (strncmp((*pp)->key, prefix, n) == 0)
			drop(pp, 1);
		else
			pp = &(*pp)->next;
	}
}

void
alarm_walk(void (*fn)(const struct alarm_info *, void *), void *arg)
{
	struct alarm_info info;
	struct alarm *a;

	for (a = alarms; a != NULL; a = a->next) {
		info.key = a->key;
		info.text = a->text;
		info.since = a->since;
		fn(&info, arg);
	}
}

size_t
alarm_count(void)
{
	struct alarm *a;
	size_t n = 0;

	for (a = alarms; a != NULL; a = a->next)
		n++;
	return n;
}

void
alarm_reset(void)
{
	while (alarms != NULL)
		drop(&alarms, 0);
}
