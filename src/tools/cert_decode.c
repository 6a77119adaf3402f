/*
 * cert_decode.c: sipedge-cert decode and convert (placeholder).
 */
#include "config.h"

#include "tools/cert.h"

int
cert_cmd_decode(struct cert_env *env, int argc, char **argv)
{
	(void)env;
	(void)argc;
	cert_err("%s: not implemented yet", argv[0]);
	return CERT_FAIL;
}

int
cert_cmd_convert(struct cert_env *env, int argc, char **argv)
{
	(void)env;
	(void)argc;
	cert_err("%s: not implemented yet", argv[0]);
	return CERT_FAIL;
}
