/*
 * cert_csr.c: sipedge-cert csr (placeholder until it is written).
 */
#include "config.h"

#include "tools/cert.h"

int
cert_cmd_csr(struct cert_env *env, int argc, char **argv)
{
	(void)env;
	(void)argc;
	cert_err("%s: not implemented yet", argv[0]);
	return CERT_FAIL;
}
