/*
 * sip_msg_int.h: what the files of the SIP message module share
 * (sip_msg.c, sip_msg_check.c, sip_msg_reply.c).  Private: included only
 * by those files; callers use sip_msg.h.
 */
#ifndef SE_SIP_MSG_INT_H
#define SE_SIP_MSG_INT_H

#include <stddef.h>

/*
 * Fill why and return status.  Peer text goes into reasons quoted with
 * single quotes and cut with "%.60s"; double quotes, backslashes and
 * control bytes are replaced afterwards, so that the sentence can go into
 * the quoted string of a Warning header and the log as it is (sip_msg.c).
 */
int		 sip_msg_fail(char *why, size_t whysz, int status,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* 1 when s is a token (RFC 3261 s.25.1): not empty, token bytes only
 * (sip_msg_check.c). */
int		 sip_msg_is_token(const char *s);

/*
 * Headers whose grammar is not a comma-separated list, so that a second
 * row is an error (s.7.3.1), with their compact forms (sip_msg_check.c).
 */
struct sip_msg_single {
	const char	*name;
	const char	*compact;	/* or NULL */
};
#define SIP_MSG_NSINGLES	9
extern const struct sip_msg_single sip_msg_singles[SIP_MSG_NSINGLES];

#endif
