/*
 * sip_frame.h: where one SIP message ends in a byte stream (RFC 3261
 * s.18.3: Content-Length frames messages on stream transports), and the
 * same checks for a datagram.  Pure: no I/O, no allocation.
 */
#ifndef SE_SIP_FRAME_H
#define SE_SIP_FRAME_H

#include <stddef.h>

enum frame_result {
	FRAME_NEED_MORE,	/* wait for more bytes */
	FRAME_MESSAGE,		/* a whole message: skip, then total bytes */
	FRAME_KEEPALIVE,	/* RFC 5626 CRLFCRLF ping: consume skip bytes, answer CRLF */
	FRAME_ERROR		/* the stream cannot be resynchronised */
};

enum frame_error {
	FRAME_OK,
	FRAME_GARBAGE,		/* not a SIP start line */
	FRAME_TOO_LARGE,	/* headers or body exceed the maximum */
	FRAME_BAD_LENGTH,	/* Content-Length unparseable or conflicting */
	FRAME_SHORT_BODY	/* datagram: Content-Length beyond the packet */
};

struct frame {
	size_t		 skip;		/* leading CRLF bytes to drop first */
	size_t		 hdr_len;	/* start line + headers + empty line */
	size_t		 body_len;	/* bytes of body */
	size_t		 total;		/* hdr_len + body_len */
	int		 has_length;	/* a Content-Length header was present */
	enum frame_error error;
	const char	*reason;	/* a sentence for the log, on error */
};

/*
 * Stream framing state between calls: after FRAME_NEED_MORE, how many
 * bytes of the message were searched (resume) and where its start line
 * ends (line_end, 0 when not yet complete), so that the next call on the
 * same buffer (grown, and drained of at most skip bytes) looks at each
 * byte once, however slowly the message arrives.  Any other result
 * clears it.  Zero it before the first call on a stream.
 */
struct frame_scan {
	size_t		 resume;
	size_t		 line_end;
};

/*
 * Frame the next message of a stream buffer of len bytes; a message may be
 * at most max bytes.  On FRAME_MESSAGE the message is buf[skip .. skip+total).
 * A missing Content-Length yields FRAME_MESSAGE with has_length 0 and an
 * empty body: the caller answers 400 (required on streams) and goes on.
 */
enum frame_result	sip_frame_stream(const char *buf, size_t len, size_t max,
			    struct frame *f);
/* The same, resuming where the previous call on this stream stopped. */
enum frame_result	sip_frame_stream_from(const char *buf, size_t len,
			    size_t max, struct frame_scan *st, struct frame *f);

/*
 * Frame a whole datagram: FRAME_MESSAGE (body per Content-Length, or the
 * rest of the packet without one; extra bytes are dropped, s.18.3),
 * FRAME_KEEPALIVE for a datagram of only CRLFs, or FRAME_ERROR.
 */
enum frame_result	sip_frame_datagram(const char *buf, size_t len,
			    size_t max, struct frame *f);

#endif
