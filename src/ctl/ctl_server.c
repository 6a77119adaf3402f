/*
 * ctl_server.c: the control socket (placeholder).
 */
#include "config.h"

#include "ctl/ctl_server.h"
