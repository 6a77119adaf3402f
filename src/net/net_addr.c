/*
 * net_addr.c: textual forms of socket addresses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net/net_addr.h"

const char *
net_addr_ip(const struct sockaddr *sa, char *buf, size_t bufsz, int *port)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	buf[0] = '\0';
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)bufsz);
		if (port)
			*port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)bufsz);
		if (port)
			*port = ntohs(s6->sin6_port);
	} else {
		snprintf(buf, bufsz, "?");
		if (port)
			*port = 0;
	}
	return buf;
}

const char *
net_addr_str(const struct sockaddr *sa, char *buf, size_t bufsz)
{
	char ip[INET6_ADDRSTRLEN];
	int port;

	net_addr_ip(sa, ip, sizeof ip, &port);
	if (sa->sa_family == AF_INET6)
		snprintf(buf, bufsz, "[%s]:%d", ip, port);
	else
		snprintf(buf, bufsz, "%s:%d", ip, port);
	return buf;
}

int
net_addr_parse(const char *ip, int port, struct sockaddr_storage *ss,
    socklen_t *lenp)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		*lenp = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		*lenp = sizeof *s6;
		return 0;
	}
	return -1;
}
