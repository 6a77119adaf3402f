/*
 * snapshot.c: build a runtime configuration aside; all or nothing.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/snapshot.h"
#include "tls/tls_rev.h"
#include "util/xmalloc.h"

/* Snapshots built and not yet freed. */
static size_t alive;

/*
 * zreg_set_owner's hold and release: references on the snapshot.  Whoever
 * holds a snapshot does it through its zone registry (zreg_ref, zreg_unref),
 * so the proxy layer needs no daemon header.
 */
static void
hold_cb(void *owner)
{
	struct snapshot *s = owner;

	s->refs++;
}

static void
release_cb(void *owner)
{
	struct snapshot *s = owner;

	snapshot_unref(&s);
}

/*
 * The Record-Route keys: state_dir/route.key, made at the first start
 * (never under -t, which only checks a file that exists).  0, or -1 with
 * the error in dl.
 */
static int
load_keys(struct snapshot *s, enum tls_load_mode mode, struct diaglist *dl)
{
	struct stat st;
	char *path, *cause = NULL;
	int rv = 0;

	path = xasprintf("%s/%s", s->conf->state_dir.path, RRTOK_FILE);
	if (mode == TLS_LOAD_CHECK && stat(path, &st) == -1 && errno == ENOENT) {
		free(path);
		return 0;
	}
	s->keys = rrtok_keys_load(path, mode == TLS_LOAD_RUN,
	    &s->keys_created, &cause);
	if (s->keys == NULL) {
		diag_add(dl, DIAG_ERROR, NULL, 0, "%s", cause);
		free(cause);
		rv = -1;
	}
	free(path);
	return rv;
}

/* Add name to the names s answers for, once. */
static void
add_name(struct snapshot *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nnames; i++)
		if (strcasecmp(s->names[i], name) == 0)
			return;
	s->names = xreallocarray(s->names, s->nnames + 1, sizeof *s->names);
	s->names[s->nnames++] = xstrdup(name);
}

/* Build everything configuration path says, aside; NULL on any error. */
struct snapshot *
snapshot_build(const char *path, enum tls_load_mode mode, struct diaglist *dl)
{
	struct snapshot *s;
	struct conf *c;
	size_t i;

	if ((c = conf_load(path, dl)) == NULL)
		return NULL;
	s = xcalloc(1, sizeof *s);
	s->refs = 1;
	alive++;
	s->conf = c;
	s->loaded_at = time(NULL);
	if ((s->tls = tls_identity_load(c, mode, dl)) == NULL) {
		snapshot_unref(&s);
		return NULL;
	}
	if (load_keys(s, mode, dl) == -1) {
		snapshot_unref(&s);
		return NULL;
	}
	s->trust = tls_rev_trust(s->tls);
	s->zones = zreg_new(c);
	zreg_set_owner(s->zones, s, hold_cb, release_cb);
	s->profile = sip_profile_new(s->tls->ctx, (size_t)c->max_message_size,
	    c->read_timeout, c->idle_timeout, c->handshake_timeout, c->fqdn);
	/* Each connection holds the snapshot it started under. */
	s->profile->owner = s;
	s->profile->hold = hold_cb;
	s->profile->release = release_cb;
	/* Held at the gate: the handshake's time again plus one revocation
	 * fetch; a verdict that never comes closes the connection. */
	s->profile->gate_timeout = c->handshake_timeout + c->rev_timeout;
	sip_profile_set_max_headers(s->profile, (size_t)c->max_headers);
	add_name(s, c->fqdn);
	for (i = 0; i < c->aliases.n; i++)
		add_name(s, c->aliases.v[i]);
	for (i = 0; i < c->nlisten; i++)
		add_name(s, c->listen[i].address);
	return s;
}

/* Drop a reference (clearing *sp); the last one frees. */
void
snapshot_unref(struct snapshot **sp)
{
	struct snapshot *s = *sp;
	size_t i;

	*sp = NULL;
	if (s == NULL || --s->refs > 0)
		return;
	sip_profile_unref(s->profile);
	zreg_free(s->zones);
	X509_STORE_free(s->trust);
	tls_identity_free(s->tls);
	conf_free(s->conf);
	rrtok_keys_free(s->keys);
	for (i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s);
	alive--;
}

size_t
snapshot_alive(void)
{
	return alive;
}
