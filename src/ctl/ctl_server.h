/*
 * ctl_server.h: the daemon's control socket (placeholder).
 */
#ifndef SE_CTL_SERVER_H
#define SE_CTL_SERVER_H

#endif
