/*
 * snapshot.c: build a runtime configuration aside; all or nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/snapshot.h"
#include "util/xmalloc.h"

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
	s->conf = c;
	s->loaded_at = time(NULL);
	if ((s->tls = tls_identity_load(c, mode, dl)) == NULL) {
		snapshot_unref(&s);
		return NULL;
	}
	s->profile = sip_profile_new(s->tls->ctx, (size_t)c->max_message_size,
	    c->read_timeout, c->idle_timeout, c->handshake_timeout, c->fqdn);
	sip_profile_set_max_headers(s->profile, (size_t)c->max_headers);
	add_name(s, c->fqdn);
	for (i = 0; i < c->aliases.n; i++)
		add_name(s, c->aliases.v[i]);
	for (i = 0; i < c->nlisten; i++)
		add_name(s, c->listen[i].address);
	return s;
}

void
snapshot_ref(struct snapshot *s)
{
	s->refs++;
}

void
snapshot_unref(struct snapshot **sp)
{
	struct snapshot *s = *sp;
	size_t i;

	*sp = NULL;
	if (s == NULL || --s->refs > 0)
		return;
	sip_profile_unref(s->profile);
	tls_identity_free(s->tls);
	conf_free(s->conf);
	for (i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s);
}
