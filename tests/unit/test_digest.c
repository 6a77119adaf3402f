/*
 * test_digest.c: SIP digest (RFC 7616) against the RFC's own example,
 * nonces (ours, forged, stale), and the header parser on good and bad
 * values.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/digest.h"

/* RFC 7616 s.3.9.1. */
#define U	"Mufasa"
#define R	"http-auth@example.org"
#define PW	"Circle of Life"
#define N	"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define CN	"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

static void
rfc7616_md5(void **state)
{
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];

	(void)state;
	digest_ha1(0, U, R, PW, ha1);
	digest_response(0, ha1, N, "00000001", CN, "auth", "GET",
	    "/dir/index.html", resp);
	assert_string_equal(resp, "8ca523f5e9506fed4657c9700eebdbec");
}

static void
rfc7616_sha256(void **state)
{
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];

	(void)state;
	digest_ha1(1, U, R, PW, ha1);
	assert_int_equal(strlen(ha1), 64);
	digest_response(1, ha1, N, "00000001", CN, "auth", "GET",
	    "/dir/index.html", resp);
	assert_string_equal(resp,
	    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

static void
no_qop(void **state)
{
	char ha1[DIGEST_HEX_MAX], a[DIGEST_HEX_MAX], b[DIGEST_HEX_MAX];

	(void)state;
	digest_ha1(0, U, R, PW, ha1);
	digest_response(0, ha1, N, NULL, NULL, NULL, "REGISTER", "sip:x", a);
	digest_response(0, ha1, N, "00000001", CN, "auth", "REGISTER",
	    "sip:x", b);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), 32);
}

static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";

static void
nonces(void **state)
{
	char n[128], forged[128];
	const unsigned char other[32] = { 1 };

	(void)state;
	digest_nonce(key, sizeof key, 1000000, n, sizeof n);
	assert_int_equal(digest_nonce_check(key, sizeof key, n, 1000010, 300), 0);
	assert_int_equal(digest_nonce_check(key, sizeof key, n, 1000400, 300), 1);
	assert_int_equal(digest_nonce_check(other, sizeof other, n, 1000010,
	    300), -1);
	/* a later timestamp with the old MAC */
	strcpy(forged, n);
	forged[0] = forged[0] == 'f' ? 'e' : 'f';
	assert_int_equal(digest_nonce_check(key, sizeof key, forged, 1000010,
	    300), -1);
	assert_int_equal(digest_nonce_check(key, sizeof key, "abc", 0, 300), -1);
	assert_int_equal(digest_nonce_check(key, sizeof key, ".", 0, 300), -1);
	assert_int_equal(digest_nonce_check(key, sizeof key, NULL, 0, 300), -1);
}

static void
parse_good(void **state)
{
	struct digest_params p;

	(void)state;
	assert_int_equal(digest_parse("Digest username=\"in\\\"side\", "
	    "realm=\"edge.example\",nonce=\"5f.ab\", uri=\"sip:edge.example\", "
	    "response=\"0a\", algorithm=SHA-256, cnonce=\"c\", qop=auth, "
	    "nc=00000001, opaque=\"o\", future=1, stale=TRUE", &p), 0);
	assert_string_equal(p.username, "in\"side");
	assert_string_equal(p.realm, "edge.example");
	assert_string_equal(p.nonce, "5f.ab");
	assert_string_equal(p.uri, "sip:edge.example");
	assert_string_equal(p.algorithm, "SHA-256");
	assert_string_equal(p.qop, "auth");
	assert_string_equal(p.nc, "00000001");
	assert_string_equal(p.opaque, "o");
	assert_int_equal(p.stale, 1);
	assert_int_equal(digest_algorithm(p.algorithm), 1);
	digest_params_clear(&p);
	assert_int_equal(digest_parse("digest realm=r", &p), 0);
	assert_null(p.algorithm);
	assert_int_equal(digest_algorithm(p.algorithm), 0);
	digest_params_clear(&p);
}

static void
parse_bad(void **state)
{
	struct digest_params p;

	(void)state;
	assert_int_equal(digest_parse("Basic dXNlcjpwYXNz", &p), -1);
	assert_int_equal(digest_parse("Digest realm=\"open", &p), -1);
	assert_int_equal(digest_parse("Digest =x", &p), -1);
	assert_int_equal(digest_parse("Digest realm", &p), -1);
	assert_int_equal(digest_parse("Digest realm=", &p), -1);
	assert_int_equal(digest_parse("Digestrealm=x", &p), -1);
	assert_int_equal(digest_algorithm("SHA-512-256"), -1);
}

static void
equal(void **state)
{
	(void)state;
	assert_true(digest_equal("abc", "abc"));
	assert_false(digest_equal("abc", "abd"));
	assert_false(digest_equal("abc", "abcd"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc7616_md5),
		cmocka_unit_test(rfc7616_sha256),
		cmocka_unit_test(no_qop),
		cmocka_unit_test(nonces),
		cmocka_unit_test(parse_good),
		cmocka_unit_test(parse_bad),
		cmocka_unit_test(equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
