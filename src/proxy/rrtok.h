/*
 * rrtok.h: the opaque state in this node's Record-Route entries.
 *
 * Each Record-Route entry the proxy writes carries one URI parameter,
 * set=TOKEN: what the entry claims (the zone of its side, the zone peer,
 * the caller's connection, whether requests toward that side go to the
 * request-URI's own address, which side it faces, the id of the pair it
 * belongs to), sealed with AES-256-GCM under a key of the key file, with
 * a fresh random nonce per entry and the dialog's Call-ID as associated
 * data.  Nobody outside can read it, forge it, or move it to another
 * dialog.  The first byte of a token names its key, so that a rotated key
 * file (new key first, old ones kept) still opens the entries of the
 * dialogs in flight.  The key file (state_dir/route.key) is created with
 * random bytes at first start and read again at each reload; a cluster
 * may share it.  This module neither logs nor knows SIP messages.  A
 * key set keeps a cipher context per key and direction, so one thread at
 * a time seals and opens with it (the proxy's loop).
 */
#ifndef SE_RRTOK_H
#define SE_RRTOK_H

#include <stddef.h>
#include <stdint.h>

/* The URI parameter of our Record-Route entries. */
#define RRTOK_PARAM	"set"
/* The key file, relative to daemon.state_dir. */
#define RRTOK_FILE	"route.key"
#define RRTOK_KEY_LEN	32
/* Most keys a key file may hold. */
#define RRTOK_MAX_KEYS	16
/* Longest zone name a token holds. */
#define RRTOK_ZONE_MAX	255
/* Room for the text of any token, with its NUL. */
#define RRTOK_TEXT_MAX	512

/* Which side of the dialog an entry faces. */
enum rrtok_side {
	RRTOK_CALLER = 0,	/* the side the dialog-creating request came from */
	RRTOK_CALLEE = 1	/* the side it was forwarded to */
};

struct rrtok {
	enum rrtok_side		 side;
	int			 direct;	/* toward this side: the request-URI's
						   own address (UDP) */
	uint64_t		 pair;		/* shared by the two entries of a pair */
	unsigned long long	 flow;		/* the caller's connection, or 0 */
	int			 peer;		/* zone peer index, or -1 */
	char			 zone[RRTOK_ZONE_MAX + 1];
};

struct rrtok_keys;

/*
 * Read the key file at path.  When it does not exist and create is set,
 * make it first (one random key, id 1, mode 0600, atomically; its
 * directory too) and set *created.  A line is "ID HEX": ID 0-255, HEX 64
 * hex digits; '#' lines and blank lines are skipped; the first key seals,
 * all open.  The file must not be accessible by group or others.  NULL
 * with *cause ("path:line: ..."; caller frees) on any error.
 */
struct rrtok_keys	*rrtok_keys_load(const char *path, int create,
			    int *created, char **cause);
/* One random key, for a proxy that was given no key file. */
struct rrtok_keys	*rrtok_keys_random(void);
void			 rrtok_keys_free(struct rrtok_keys *k);
/* The id of the key that seals, and how many keys open. */
int			 rrtok_keys_current(const struct rrtok_keys *k);
size_t			 rrtok_keys_count(const struct rrtok_keys *k);

/*
 * Seal t for the dialog call_id into buf (base64url, no padding): 0, or
 * -1 when the zone name is too long or the cipher failed.
 */
int	rrtok_seal(const struct rrtok_keys *k, const struct rrtok *t,
	    const char *call_id, char *buf, size_t bufsz);
/*
 * Open the token text for the dialog call_id: 0 with *t, or -1 with *why
 * (a static string: malformed, unknown key, not genuine).
 */
int	rrtok_open(const struct rrtok_keys *k, const char *text,
	    const char *call_id, struct rrtok *t, const char **why);
/* A random pair id. */
uint64_t rrtok_pair_new(void);

#endif
