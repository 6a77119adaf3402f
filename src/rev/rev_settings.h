/*
 * rev_settings.h: the revocation settings of one configuration, in the
 * units the fetcher, the engine and the distribution points use.  Built
 * with the configuration (the zone registry holds one) and borrowed, never
 * copied: whoever hands them to rev_fetch_set_limits, rev_engine_configure
 * or rev_dp_configure holds a reference on what owns them until it hands
 * over the next ones or frees the object.
 */
#ifndef SE_REV_SETTINGS_H
#define SE_REV_SETTINGS_H

#include <stddef.h>

#include "rev/rev_fetch.h"

struct rev_settings {
	struct rev_fetch_limits	 fetch;		/* every HTTP(S) transfer */
	size_t			 ocsp_cache_max; /* OCSP cache bound (entries) */
	const char		*https_ca_file;	/* https responders and points
						   chain to it; NULL: the
						   system's CAs */
	char *const		*dp_urls;	/* distribution points */
	size_t			 ndp;
	int			 dp_minute;	/* of the day (UTC): update */
	const char		*dp_cache_dir;	/* their cached copies */
};

#endif
