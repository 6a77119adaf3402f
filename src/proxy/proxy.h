/*
 * proxy.h: what sipedged does with a checked SIP message.  For now: answer
 * OPTIONS addressed to this node with 200 OK, absorb ACK, and give every
 * other request the final response of a proxy with no route for it.
 * The transaction-stateful proxy core (RFC 3261 s.16) grows here.
 */
#ifndef SE_PROXY_H
#define SE_PROXY_H

#include <stddef.h>

#include "sip/sip_transport.h"

struct proxy;

struct proxy	*proxy_new(void);
void		 proxy_free(struct proxy *px);
/*
 * The names and addresses this node answers for (request-URI hosts);
 * copied.  The local address a message arrived on always counts too.
 */
void		 proxy_set_names(struct proxy *px, char *const *names, size_t n);
/* sip_message_cb for sip_transport_new(); arg is the proxy. */
void		 proxy_on_message(const struct sip_origin *o, osip_message_t *m,
		    void *arg);

/* Methods listed in Allow, for OPTIONS answers. */
#define PROXY_ALLOW	"INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, " \
			"PRACK, REFER, NOTIFY, SUBSCRIBE, MESSAGE"

#endif
