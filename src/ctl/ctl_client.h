/*
 * ctl_client.h: talk to a running sipedged over its control socket
 * (daemon.control_socket).  One request line, one reply; see ctl_proto.h.
 * Blocking, with every wait bounded: for tools, never for the daemon.
 */
#ifndef SE_CTL_CLIENT_H
#define SE_CTL_CLIENT_H

#include <stddef.h>

/*
 * Send command (e.g. "reload") to the daemon listening on socket_path and
 * wait at most timeout_ms in all for its whole reply.  Returns the reply
 * status (0 ok, 1 the daemon refused or failed the command) with the reply
 * text (the lines after the status line, "" when none) in *reply, or -1
 * with *cause when the daemon could not be reached or did not answer:
 * "sipedged is not running (no socket at PATH)" (errno ENOENT),
 * "sipedged is not running (connection refused on PATH ...)"
 * (ECONNREFUSED), "permission denied on PATH (are you in group G?)" from
 * the filesystem or "permission denied on PATH: sipedged refused ..."
 * from the daemon's credential check (both EACCES), timed out, a reply
 * that is not of the protocol (other errno values).
 * Caller frees *reply or *cause; the other is set to NULL.
 */
int	ctl_request(const char *socket_path, const char *command,
	    int timeout_ms, char **reply, char **cause);

#endif
