/*
 * dns_srv_int.h: what the lookups (dns_srv.c) use of the wire format
 * (dns_srv_msg.c).  Private: included only by those two files; callers
 * use dns_srv.h.
 */
#ifndef SE_DNS_SRV_INT_H
#define SE_DNS_SRV_INT_H

#define DNS_MAXNAME	253	/* text form, without the trailing dot */

/*
 * name without one trailing dot into out (DNS_MAXNAME + 1 bytes): 0, or -1
 * when it is empty, too long, or has an empty, long or odd label.
 */
int		 dns_srv_name_normalize(const char *name, char *out);

#endif
