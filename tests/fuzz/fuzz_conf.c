/*
 * fuzz_conf.c: libFuzzer harness for the configuration loader
 * (conf_load()).  The input is a main file, optionally followed by
 * sections that start with a line "%%zone", "%%creds" or "%%password":
 * a zone file (zones/z.conf), the credentials file (at the default
 * place, "credentials" beside the main file) and a file "password" for
 * a zone's password_file (beside the zone file).
 * They are written into a private directory made at start-up under
 * $TMPDIR, whose zones/ directory holds only that zone file.  Inputs of
 * more than MAX_INPUT bytes, or with a '/', are skipped: the loader reads
 * the files its settings name, and a path could leave the directory
 * (a zones_dir of /etc, an @include of a device) and make runs depend
 * on the machine.  The result must be a configuration with no error, or
 * NULL with at least one.  FUZZ_CONF_VERBOSE=1 prints the diagnostics
 * (to check that a new seed loads).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "util/diag.h"
#include "util/xmalloc.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT	8192

static char dir[4096];
static char mainpath[4200], zonepath[4200], credpath[4200], pwpath[4200];

/* Remove what the harness made (at exit; a crash leaves it for study). */
static void
cleanup(void)
{
	unlink(mainpath);
	unlink(zonepath);
	unlink(credpath);
	unlink(pwpath);
	snprintf(zonepath, sizeof zonepath, "%s/zones", dir);
	rmdir(zonepath);
	rmdir(dir);
}

/* The private directory and its zones/. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");
	char zdir[4200];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof dir, "%s/sipedge-fuzzconf-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("fuzz_conf: mkdtemp");
		abort();
	}
	snprintf(zdir, sizeof zdir, "%s/zones", dir);
	if (mkdir(zdir, 0700) == -1)
		abort();
	snprintf(mainpath, sizeof mainpath, "%s/sipedge.conf", dir);
	snprintf(zonepath, sizeof zonepath, "%s/zones/z.conf", dir);
	snprintf(credpath, sizeof credpath, "%s/credentials", dir);
	snprintf(pwpath, sizeof pwpath, "%s/zones/password", dir);
	atexit(cleanup);
	return 0;
}

/* Write n bytes to path (mode 0600), or remove it when p is NULL. */
static void
put(const char *path, const uint8_t *p, size_t n)
{
	FILE *f;

	unlink(path);
	if (p == NULL)
		return;
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (n > 0 && fwrite(p, 1, n, f) != n)
		abort();
	if (fclose(f) != 0)
		abort();
	chmod(path, 0600);
}

/* Where the next "\n%%" section line starts in p[0..n), or n. */
static size_t
section_end(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 3 <= n; i++)
		if (p[i] == '\n' && p[i + 1] == '%' && p[i + 2] == '%')
			return i + 1;
	return n;
}

/* Split the input into files, load, check the verdict, free. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[4] = { NULL, NULL, NULL, NULL };
	size_t plen[4] = { 0, 0, 0, 0 }, off, end, nl;
	struct diaglist dl;
	struct conf *c;
	int k;

	if (size > MAX_INPUT || memchr(data, '/', size) != NULL)
		return 0;
	/* The main file, then sections; a name seen twice: the last. */
	end = section_end(data, size);
	part[0] = data;
	plen[0] = end;
	for (off = end; off < size; off = end) {
		const uint8_t *s = data + off + 2;	/* after "%%" */
		size_t rest = size - off - 2;

		nl = 0;
		while (nl < rest && s[nl] != '\n')
			nl++;
		if (nl == 4 && memcmp(s, "zone", 4) == 0)
			k = 1;
		else if (nl == 5 && memcmp(s, "creds", 5) == 0)
			k = 2;
		else if (nl == 8 && memcmp(s, "password", 8) == 0)
			k = 3;
		else
			k = -1;
		s += nl < rest ? nl + 1 : nl;
		rest -= nl < rest ? nl + 1 : nl;
		end = (size_t)(s - data) + section_end(s, rest);
		if (k > 0) {
			part[k] = s;
			plen[k] = (size_t)(data + end - s);
		}
	}
	put(mainpath, part[0], plen[0]);
	put(zonepath, part[1], plen[1]);
	put(credpath, part[2], plen[2]);
	put(pwpath, part[3], plen[3]);

	memset(&dl, 0, sizeof dl);
	c = conf_load(mainpath, &dl);
	if ((c == NULL) != (dl.nerrors > 0)) {
		fprintf(stderr, "fuzz_conf: conf_load returned %s with %zu "
		    "errors\n", c == NULL ? "NULL" : "a configuration",
		    dl.nerrors);
		abort();
	}
	/* FUZZ_CONF_VERBOSE=1: what the loader said (to check a seed). */
	if (getenv("FUZZ_CONF_VERBOSE") != NULL) {
		size_t i;

		for (i = 0; i < dl.n; i++)
			fprintf(stderr, "%s\n", dl.v[i].text);
		fprintf(stderr, "fuzz_conf: %s\n", c != NULL ? "loaded" :
		    "refused");
	}
	conf_free(c);
	diag_clear(&dl);
	return 0;
}
