/*
 * file.h: small filesystem helpers for state and configuration files.
 * Used before the loop starts or for small files only (never network).
 */
#ifndef SE_FILE_H
#define SE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: dir gets mode, missing parents 0755; 0 or -1 with *cause. */
int	file_mkdir_p(const char *dir, mode_t mode, char **cause);
/*
 * Replace path with data atomically: a temporary file in the same
 * directory, mode set before any byte is written, fsync, rename.
 * 0, or -1 with *cause (caller frees).
 */
int	file_write_atomic(const char *path, const void *data, size_t len,
	    mode_t mode, char **cause);

#endif
