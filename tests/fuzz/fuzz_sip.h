/*
 * fuzz_sip.h: what the SIP harnesses share: one framed message through
 * the same steps as sip_transport.c sip_transport_deliver() (parse,
 * check, the error responses) and the answers the proxy builds for a checked request.
 */
#ifndef SE_FUZZ_SIP_H
#define SE_FUZZ_SIP_H

#include <stddef.h>

/*
 * The sip.max_message_size of the harnesses: smaller than the default
 * (65535) so that inputs of a few KB reach the size limits and the
 * high-water mark.
 */
#define FUZZ_SIP_MAX_STREAM	4096
#define FUZZ_SIP_MAX_DATAGRAM	8192

/* Once, from LLVMFuzzerInitialize. */
void	fuzz_sip_init(void);

/*
 * Handle one framed message of len bytes (a private, exactly sized copy,
 * so that a read past its end is an ASan report).  has_length: whether
 * the framer saw a Content-Length (streams answer 400 without one).
 */
void	fuzz_sip_message(const char *msg, size_t len, int has_length);

/*
 * The answer to bytes the framer refused: buf..len as sip_transport.c's
 * sip_transport_refuse() sees them.
 */
void	fuzz_sip_refuse(const char *buf, size_t len, int status,
	    const char *reason);

#endif
