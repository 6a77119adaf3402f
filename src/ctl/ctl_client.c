/*
 * ctl_client.c: control socket client (placeholder).
 */
#include "config.h"

#include "ctl/ctl_client.h"
#include "util/xmalloc.h"

int
ctl_request(const char *socket_path, const char *command, int timeout_ms,
    char **reply, char **cause)
{
	(void)command;
	(void)timeout_ms;
	*reply = NULL;
	*cause = xasprintf("%s: control socket not implemented yet",
	    socket_path);
	return -1;
}
