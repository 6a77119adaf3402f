/*
 * ctl_server.h: the daemon's control socket.  A unix stream socket on the
 * event loop that reads one request line per connection, runs the command
 * from a table the daemon registers, writes the reply and closes (the
 * protocol is in ctl_proto.h).  It knows no command but "help": what
 * "reload" or "status" do is the daemon's business, reached through the
 * handlers, so this layer never includes daemon/.
 */
#ifndef SE_CTL_SERVER_H
#define SE_CTL_SERVER_H

#include <event2/event.h>

#include "ctl/ctl_reply.h"

struct ctl_server;

/*
 * Run a command: add the text of the reply to r with ctl_reply_add() and
 * return 0 (reply "ok") or -1 (reply "error").  args is the rest of the
 * request line after the command, spaces trimmed ("" when none).  Runs on
 * the loop, so it must not block; it must not free the server.
 */
typedef int (*ctl_handler)(const char *args, struct ctl_reply *r, void *arg);

struct ctl_command {
	const char	*name;		/* NULL ends the table */
	const char	*args;		/* for help: "" or e.g. "NAME" */
	const char	*help;		/* for help: one line */
	int		 takes_args;	/* 0: anything after the name is refused */
	ctl_handler	 fn;
};

/*
 * Listen on the unix socket at path: its directory is created (0750) if
 * missing, a stale socket left by a process that died is replaced, the
 * socket gets mode 0660 and group gid (named group, for messages), or
 * the daemon's own group when gid is -1 (group NULL).  A path that
 * exists and is not a socket, or a socket someone still listens on, is
 * refused.  Only peers (SO_PEERCRED) that are root, the daemon's user or
 * members of that group are served; others get CTL_STATUS_DENIED and a
 * log line.  cmds (ended by a NULL name, not copied: it must outlive the
 * server) is served with "help" added; arg goes to every handler.
 * Returns the server, or NULL with *cause (caller frees).
 */
struct ctl_server	*ctl_server_open(struct event_base *base,
			    const char *path, long gid, const char *group,
			    const struct ctl_command *cmds, void *arg,
			    char **cause);
/*
 * Give the socket to another group (gid -1: the daemon's own) and serve
 * its members from now on: for a reload.  -1 with *cause when the socket
 * cannot be chowned; the previous group then stays.
 */
int			 ctl_server_set_group(struct ctl_server *s, long gid,
			    const char *group, char **cause);
/*
 * Stop listening, remove the socket file (when it is still the one we
 * made), and drop every connection without an answer.  Accepts NULL.
 * Must not be called from a handler.
 */
void			 ctl_server_free(struct ctl_server *s);

#endif
