/*
 * fuzz_sip_stream.c: libFuzzer harness for a stream connection's input.
 * The input is what a TCP or TLS peer sends; it arrives in pieces (their
 * size follows from the input's length, so a run is deterministic) and
 * after each piece the buffer is framed (resuming where the last read
 * stopped) and drained exactly as sip_stream.c sip_stream_read_cb() does
 * for an inbound connection: bare CR/LF always drained (but a possible ping
 * prefix), CRLF keepalives, messages (parsed, checked, answered:
 * fuzz_sip.c), and a framing error closes the connection.  A connection whose buffer reached
 * the read high-water mark (max_message_size + 4096) while the framer
 * still asks for more can never make progress again: that is a finding.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_sip.h"
#include "sip/sip_frame.h"
#include "util/xmalloc.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* sip_conn_bev_setup(): bufferevent_setwatermark(EV_READ, 0, max + 4096). */
#define HIGH_WATER	(FUZZ_SIP_MAX_STREAM + 4096)

/* libosip2's parser tables. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_sip_init();
	return 0;
}

/*
 * The connection's input buffer: the unread bytes are p[off .. off+len),
 * and the allocation ends with them, so that ASan sees a read past the
 * end.  Draining moves off (no copy: a stream of keepalives stays cheap).
 */
struct inbuf {
	char			*p;
	size_t			 off;
	size_t			 len;
	struct frame_scan	 scan;	/* the connection's framing state */
};

/* Consume n bytes (evbuffer_drain). */
static void
drain(struct inbuf *b, size_t n)
{
	if (n > b->len)
		abort();	/* the framer claimed more than there is */
	b->off += n;
	b->len -= n;
}

/* Append n bytes (a read), compacting the buffer first. */
static void
append(struct inbuf *b, const uint8_t *data, size_t n)
{
	char *p = xmalloc(b->len + n);

	if (b->len > 0)
		memcpy(p, b->p + b->off, b->len);
	memcpy(p + b->len, data, n);
	free(b->p);
	b->p = p;
	b->off = 0;
	b->len += n;
}

/* One read callback; -1 when the connection is closed. */
static int
read_cb(struct inbuf *b)
{
	struct frame f;
	char *msg;

	while (b->len > 0) {
		memset(&f, 0xa5, sizeof f);
		switch (sip_frame_stream_from(b->p + b->off, b->len,
		    FUZZ_SIP_MAX_STREAM, &b->scan, &f)) {
		case FRAME_NEED_MORE:
			if (f.skip > b->len)
				abort();
			if (f.skip == b->len && b->len < 4 &&
			    memcmp(b->p + b->off, "\r\n\r\n", b->len) == 0)
				return 0;	/* maybe the start of a ping */
			if (f.skip > 0) {
				drain(b, f.skip);	/* bare CR/LF */
				continue;
			}
			return 0;
		case FRAME_KEEPALIVE:
			if (f.skip == 0)
				abort();	/* would loop for ever */
			drain(b, f.skip);
			continue;
		case FRAME_ERROR:
			if (f.reason == NULL || f.skip > b->len)
				abort();
			if (f.error == FRAME_TOO_LARGE)
				fuzz_sip_refuse(b->p + b->off + f.skip,
				    b->len - f.skip, 513, f.reason);
			else if (f.error == FRAME_BAD_LENGTH)
				fuzz_sip_refuse(b->p + b->off + f.skip,
				    b->len - f.skip, 400, f.reason);
			return -1;
		case FRAME_MESSAGE:
			if (f.total == 0 || f.skip > b->len ||
			    f.total > b->len - f.skip ||
			    f.hdr_len + f.body_len != f.total ||
			    f.total > FUZZ_SIP_MAX_STREAM)
				abort();
			msg = xmalloc(f.total);
			memcpy(msg, b->p + b->off + f.skip, f.total);
			fuzz_sip_message(msg, f.total, f.has_length);
			free(msg);
			drain(b, f.skip + f.total);
			continue;
		default:
			abort();
		}
	}
	return 0;
}

/* The input as a connection's reads, each followed by read_cb(). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inbuf b = { NULL, 0, 0, { 0, 0 } };
	size_t off = 0, piece, n;

	/* Pieces of 1..1460 bytes, or everything at once. */
	piece = size % 3 == 0 ? size : 1 + (size * 2654435761u >> 7) % 1460;
	while (off < size) {
		n = size - off < piece ? size - off : piece;
		/* Like libevent: no more than the high-water mark is read. */
		if (b.len + n > HIGH_WATER)
			n = HIGH_WATER - b.len;
		append(&b, data + off, n);
		off += n;
		if (read_cb(&b) == -1)
			break;
		if (b.len >= HIGH_WATER) {
			fprintf(stderr, "fuzz_sip_stream: stalled: %zu bytes "
			    "buffered (the read high-water mark) and the "
			    "framer still wants more: the connection is never "
			    "read again\n", b.len);
			abort();
		}
	}
	free(b.p);
	return 0;
}
