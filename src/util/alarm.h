/*
 * alarm.h: the daemon's alarms: conditions an operator must act on (a zone
 * down, a distribution point failing, a certificate expiring...).  Each
 * has a key ("zone partner", "crl-dp http://..."); raising one that is
 * already raised only updates its text, clearing one that is not raised
 * does nothing, and both changes are logged once (module=alarm, event
 * "alarm raised" / "alarm cleared").  One process-wide list, like the log.
 */
#ifndef SE_ALARM_H
#define SE_ALARM_H

#include <time.h>

/* Raise (or update) the alarm key with a sentence saying what is wrong. */
void	alarm_raise(const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	alarm_clear(const char *key);
/* Clear every alarm whose key starts with prefix (e.g. "trusted-ca "). */
void	alarm_clear_prefix(const char *prefix);

struct alarm_info {
	const char	*key;
	const char	*text;
	time_t		 since;
};
void	alarm_walk(void (*fn)(const struct alarm_info *, void *), void *arg);
size_t	alarm_count(void);
/* Forget every alarm without logging (at exit). */
void	alarm_reset(void);

#endif
