/*
 * sip_srctab.h: how many connections each source address has open, for
 * the per-source connection limit.  A hash table keyed by address (an IPv4
 * address, or the /64 prefix of an IPv6 address, since one host holds a
 * whole /64), O(1) per connection accepted or closed.  The hash is keyed
 * with a random secret, so that nobody outside can choose addresses that
 * pile up in one bucket.  No sockets here: addresses in, counts out.
 */
#ifndef SE_SIP_SRCTAB_H
#define SE_SIP_SRCTAB_H

#include <stddef.h>
#include <sys/socket.h>

struct sip_srctab;

struct sip_srctab	*sip_srctab_new(void);
/* Free the table and every entry; NULL is fine. */
void			 sip_srctab_free(struct sip_srctab *st);
/* The connections counted for sa's source now (0 for an unknown one). */
size_t			 sip_srctab_count(const struct sip_srctab *st,
			    const struct sockaddr *sa);
/* Count one more connection from sa's source; returns the new count. */
size_t			 sip_srctab_inc(struct sip_srctab *st,
			    const struct sockaddr *sa);
/* One connection from sa's source went away; its entry goes at zero. */
void			 sip_srctab_dec(struct sip_srctab *st,
			    const struct sockaddr *sa);
/*
 * TLS handshakes in progress from sa's source (0 for an unknown one);
 * sip_srctab_hs_add() counts one more (+1) or one fewer (-1), for a source
 * that has a connection counted.
 */
size_t			 sip_srctab_hs(const struct sip_srctab *st,
			    const struct sockaddr *sa);
void			 sip_srctab_hs_add(struct sip_srctab *st,
			    const struct sockaddr *sa, int delta);
/*
 * A pointer of the caller's kept with sa's source while it has a
 * connection counted (NULL when it has none; NULL at first): the
 * transport lists a source's authenticated connections there.
 */
void			**sip_srctab_user(struct sip_srctab *st,
			    const struct sockaddr *sa);
/* How many sources have at least one connection counted. */
size_t			 sip_srctab_sources(const struct sip_srctab *st);
/*
 * The source of sa as the table sees it ("192.0.2.1", "2001:db8::/64")
 * into buf.
 */
const char		*sip_srctab_name(const struct sockaddr *sa, char *buf,
			    size_t bufsz);

#endif
