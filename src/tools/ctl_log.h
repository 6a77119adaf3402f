/*
 * ctl_log.h: "sipedge-ctl log", which reads the daemon's event log file
 * (log.file) itself rather than asking the daemon, so it also works when
 * the daemon is stopped or stuck.
 */
#ifndef SE_TOOLS_CTL_LOG_H
#define SE_TOOLS_CTL_LOG_H

/*
 * Run "log" with its own arguments (argv[0] is "log"): the configuration
 * at conf_path names the file (conf_given: -c was given, for the hint
 * when it cannot be loaded); json: one JSON object per line.  Returns the
 * exit status: 0, 1 (no log file configured, unreadable), 2 (usage).
 */
int	ctl_log_main(const char *conf_path, int conf_given, int json,
	    int argc, char **argv);

#endif
