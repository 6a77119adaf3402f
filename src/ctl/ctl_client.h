/*
 * ctl_client.h: talk to a running sipedged over its control socket
 * (daemon.control_socket).  One request line, one reply; see ctl_proto.h.
 */
#ifndef SE_CTL_CLIENT_H
#define SE_CTL_CLIENT_H

#include <stddef.h>

/*
 * Send command (e.g. "reload") to the daemon listening on socket_path and
 * wait at most timeout_ms for its whole reply.  Returns the reply status
 * (0 ok, 1 the daemon refused or failed the command) with the reply text
 * in *reply, or -1 with *cause when the daemon could not be reached ("is
 * sipedged running?" / permission denied / timed out).  Caller frees.
 */
int	ctl_request(const char *socket_path, const char *command,
	    int timeout_ms, char **reply, char **cause);

#endif
