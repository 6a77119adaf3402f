/*
 * net_addr.h: socket address helpers: text forms for logs and messages,
 * and parsing of IP literals.  Never resolves names (that is evdns's job).
 */
#ifndef SE_NET_ADDR_H
#define SE_NET_ADDR_H

#include <sys/socket.h>
#include <netinet/in.h>

#define NET_ADDRSTRLEN	64	/* "[ffff:...]:65535" fits */

/*
 * An IPv4 or IPv6 socket address, all a SIP peer can have: 28 bytes where
 * a struct sockaddr_storage takes 128, in every connection's record.
 */
union net_sockaddr {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

/* "127.0.0.1:5060" or "[::1]:5060" into buf. */
const char	*net_addr_str(const struct sockaddr *sa, char *buf, size_t bufsz);
/* Address only ("::1") into buf, and the port into *port when not NULL. */
const char	*net_addr_ip(const struct sockaddr *sa, char *buf, size_t bufsz,
		    int *port);
/* An IPv4/IPv6 literal and port into ss; 0, or -1 when not a literal. */
int		 net_addr_parse(const char *ip, int port,
		    struct sockaddr_storage *ss, socklen_t *lenp);

#endif
