/*
 * ctl_conf.h: the settings sipedge-ctl needs from the daemon's
 * configuration, found even while the configuration on disk has errors.
 */
#ifndef SE_TOOLS_CTL_CONF_H
#define SE_TOOLS_CTL_CONF_H

enum ctl_conf_what {
	CTL_CONF_SOCKET,	/* daemon.control_socket */
	CTL_CONF_LOG_FILE	/* log.file */
};

/*
 * The setting what of the configuration at path (given: -c was given, for
 * the hint), resolved as the daemon resolves it, in *out (caller frees;
 * NULL when the setting is not set and has no default: log.file).  When
 * the configuration has errors the setting is read from the main file
 * alone and "sipedge-ctl: warning: PATH has errors (FILE:LINE: ...);
 * using control socket SOCKET" is printed on stderr; when the main file
 * has a syntax error the control socket is its default.  0, or -1 after
 * the errors and a sentence on stderr (the file cannot be read, or a log
 * file cannot be found in it).
 */
int	ctl_conf_get(const char *path, int given, enum ctl_conf_what what,
	    char **out);

#endif
