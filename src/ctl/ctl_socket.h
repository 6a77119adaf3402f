/*
 * ctl_socket.h: the file of the control socket (ctl_server.h says how it
 * is served).
 */
#ifndef SE_CTL_SOCKET_H
#define SE_CTL_SOCKET_H

#include <sys/stat.h>

/*
 * A listening unix stream socket at path, mode 0660 from the start (the
 * group is the caller's to set): its directory is created (0750) when
 * missing, and a socket nobody listens on any more is replaced; a path
 * that is not a socket, or one that someone still listens on, is
 * refused.  Returns the descriptor (non-blocking, close-on-exec) with
 * the file's *st, or -1 with *cause (caller frees).
 */
int	ctl_socket_listen(const char *path, struct stat *st, char **cause);

#endif
