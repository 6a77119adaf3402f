/*
 * fuzz_sip_datagram.c: libFuzzer harness for one UDP datagram, handled as
 * sip_listener.c udp_read_cb() does: too large is refused with 513, the
 * buffer is NUL-terminated, framed, and a framed message is parsed,
 * checked and answered (fuzz_sip.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_sip.h"
#include "sip/sip_frame.h"
#include "util/xmalloc.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libosip2's parser tables. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_sip_init();
	return 0;
}

/* One datagram, as udp_read_cb() handles it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame f;
	char *buf, *msg;

	if (size > FUZZ_SIP_MAX_DATAGRAM) {
		fuzz_sip_refuse((const char *)data, size, 513,
		    "datagram larger than the maximum message size");
		return 0;
	}
	buf = xmalloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	memset(&f, 0xa5, sizeof f);
	switch (sip_frame_datagram(buf, size, FUZZ_SIP_MAX_DATAGRAM, &f)) {
	case FRAME_KEEPALIVE:
	case FRAME_NEED_MORE:
		break;
	case FRAME_ERROR:
		if (f.reason == NULL || f.skip > size)
			abort();
		if (f.error != FRAME_GARBAGE)
			fuzz_sip_refuse(buf + f.skip, size - f.skip,
			    f.error == FRAME_TOO_LARGE ? 513 : 400, f.reason);
		break;
	case FRAME_MESSAGE:
		if (f.total == 0 || f.skip > size || f.total > size - f.skip)
			abort();
		msg = xmalloc(f.total);
		memcpy(msg, buf + f.skip, f.total);
		fuzz_sip_message(msg, f.total, 1);
		free(msg);
		break;
	default:
		abort();
	}
	free(buf);
	return 0;
}
