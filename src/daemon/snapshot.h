/*
 * snapshot.h: one complete, validated runtime configuration and
 * everything derived from it: the parsed conf, the zone registry (zones,
 * peers, expected identities, TLS and revocation policies, search rules
 * through its conf), the TLS identity with its SSL_CTX and initial CRLs,
 * the trust store peer chains are verified against, the connection
 * profile, the names this node answers for and the Record-Route keys.
 * Built aside (at start, -t, SIGHUP), used only when all of it is valid,
 * never modified after that (except its reference count); whoever started
 * under it keeps it: the proxy core and each request it forwards, the
 * gate's record of each TLS connection, each neighbor and traversal zone
 * (through zreg_ref, which counts here).
 */
#ifndef SE_SNAPSHOT_H
#define SE_SNAPSHOT_H

#include <time.h>

#include "conf/conf.h"
#include "proxy/rrtok.h"
#include "proxy/zreg.h"
#include "sip/sip_transport.h"
#include "tls/tls_ctx.h"
#include "util/diag.h"

struct snapshot {
	int			 refs;
	struct conf		*conf;
	struct tls_identity	*tls;		/* NULL ctx under -t before first
						   start; its crls: the initial
						   CRLs of tls.trust and
						   revocation.manual_crl */
	X509_STORE		*trust;		/* peer chains verify against it */
	struct zreg		*zones;		/* the zone registry */
	struct sip_profile	*profile;	/* what new connections take */
	char			**names;	/* node names and listener addresses */
	size_t			 nnames;
	time_t			 loaded_at;
	/* state_dir/route.key (proxy/rrtok); NULL under -t when absent */
	struct rrtok_keys	*keys;
	int			 keys_created;	/* this build made the file */
};

/*
 * Build a snapshot from the main file at path.  Every problem goes to dl;
 * NULL when there is at least one error.
 */
struct snapshot	*snapshot_build(const char *path, enum tls_load_mode mode,
		    struct diaglist *dl);
/*
 * Drop a reference and clear *sp; frees at zero.  References are taken
 * through the snapshot's zone registry (zreg_ref on s->zones).
 */
void		 snapshot_unref(struct snapshot **sp);
/* Snapshots not freed yet (the current one and those still held). */
size_t		 snapshot_alive(void);

#endif
