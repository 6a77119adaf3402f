/*
 * fuzz_sip_edit.c: libFuzzer harness for the line edits a proxy makes on
 * a received message (sip_edit.h).  Input: PROG bytes of edit program,
 * then a datagram.  The datagram is framed (sip_frame_datagram); the
 * framed message is split, checked to come out unchanged when nothing is
 * edited, then edited by the program (each byte: an operation in the low
 * four bits, a header name in the high four) while the contracts of
 * sip_edit.h are checked: counts after delete and replace, the new first
 * value after replace_first, the body never touched, the output still a
 * message that splits.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_edit.h"
#include "sip/sip_frame.h"
#include "util/xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROG	8
#define MAXMSG	65535

static const char *const names[16] = {
	"Via", "v", "Route", "Record-Route", "Max-Forwards", "Contact", "m",
	"Content-Length", "l", "To", "t", "From", "f", "Call-ID", "i",
	"X-Unknown"
};

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_sip_edit: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* Where touch() leaves its result, so that the reads stay. */
volatile char fuzz_edit_sink;

/* Read every byte of a value (ASan). */
static void
touch(const char *v, size_t n)
{
	char c = 0;
	size_t i;

	for (i = 0; i < n; i++)
		c ^= v[i];
	fuzz_edit_sink = c;
}

/* The output of e; it must end with the body, and split again. */
static void
check_output(const struct sip_edit *e, const char *body, size_t blen)
{
	struct sip_edit *again;
	size_t len = 0;
	char *out = sip_edit_output(e, &len);

	CHECK(out != NULL && out[len] == '\0');
	CHECK(len >= blen && memcmp(out + len - blen, body, blen) == 0);
	again = sip_edit_new(out, len);
	CHECK(again != NULL);
	CHECK(sip_edit_body_len(again) == blen);
	sip_edit_free(again);
	free(out);
}

/* Apply the PROG operations of prog to e, checking each. */
static void
run(struct sip_edit *e, const uint8_t *prog, const char *body, size_t blen)
{
	const char *name, *v, *lines[2];
	char l1[64], l2[64];
	size_t i, n, before;

	for (i = 0; i < PROG; i++) {
		name = names[prog[i] >> 4];
		snprintf(l1, sizeof l1, "%s: <sip:edge.example;lr>", name);
		snprintf(l2, sizeof l2, "%s: SIP/2.0/TLS 192.0.2.1;rport", name);
		before = sip_edit_count(e, name);
		switch (prog[i] & 0x0f) {
		case 0:
			sip_edit_start_line(e, "OPTIONS sip:x@edge.example SIP/2.0");
			break;
		case 1:
			sip_edit_insert(e, name, l1);
			CHECK(sip_edit_count(e, name) == before + 1);
			break;
		case 2:
			sip_edit_insert(e, NULL, l2);
			CHECK(sip_edit_count(e, name) == before + 1);
			break;
		case 3:
			sip_edit_append(e, l1);
			CHECK(sip_edit_count(e, name) == before + 1);
			break;
		case 4:
			CHECK(sip_edit_delete(e, name) == before);
			CHECK(sip_edit_count(e, name) == 0);
			break;
		case 5:
			lines[0] = l1;
			lines[1] = l2;
			sip_edit_replace(e, name, lines, 2);
			CHECK(sip_edit_count(e, name) == 2);
			break;
		case 6:
			v = sip_edit_first_value(e, name, &n);
			CHECK((v == NULL) == (before == 0));
			if (v != NULL)
				touch(v, n);
			break;
		case 7:
			CHECK((sip_edit_remove_first(e, name) == 0) ==
			    (before > 0));
			CHECK(sip_edit_count(e, name) + 1 >= before);
			break;
		case 8:
			CHECK((sip_edit_remove_last(e, name) == 0) ==
			    (before > 0));
			CHECK(sip_edit_count(e, name) + 1 >= before);
			break;
		case 9:
			if (sip_edit_replace_first(e, name, "<sip:a.example;lr>",
			    18) == 0) {
				v = sip_edit_first_value(e, name, &n);
				CHECK(v != NULL && n == 18 &&
				    memcmp(v, "<sip:a.example;lr>", 18) == 0);
			} else
				CHECK(before == 0);
			break;
		case 10:
			CHECK(sip_edit_body_len(e) == blen);
			break;
		default:
			check_output(e, body, blen);
			break;
		}
	}
	check_output(e, body, blen);
}

/* Frame, split, check the unedited output, edit. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_edit *e;
	struct frame f;
	char *buf, *msg, *out;
	size_t len, blen;

	if (size < PROG || size - PROG > MAXMSG)
		return 0;
	buf = xmalloc(size - PROG + 1);
	memcpy(buf, data + PROG, size - PROG);
	buf[size - PROG] = '\0';
	if (sip_frame_datagram(buf, size - PROG, MAXMSG, &f) != FRAME_MESSAGE) {
		free(buf);
		return 0;
	}
	msg = xmalloc(f.total);
	memcpy(msg, buf + f.skip, f.total);
	free(buf);
	if ((e = sip_edit_new(msg, f.total)) != NULL) {
		/* Nothing edited: every byte as received. */
		out = sip_edit_output(e, &len);
		CHECK(out != NULL && len == f.total &&
		    memcmp(out, msg, len) == 0);
		free(out);
		blen = sip_edit_body_len(e);
		CHECK(blen <= f.total);
		run(e, data, msg + f.total - blen, blen);
		sip_edit_free(e);
	}
	free(msg);
	return 0;
}
