/* mpa analysis core — the site functions of the analyzer API
 * (include/mpa/analyzer.h), on the pass's site classifier. */
#include <stdio.h>

#include "mpa/analyzer.h"
#include "sites.h"

/* The pass's classifier, or one made for this call when the context has
 * none (a context built by hand). */
static mpa_sites *sites_of(const struct mpa_ctx *ctx, mpa_sites **own)
{
	*own = NULL;
	if (ctx && ctx->sites)
		return ctx->sites;
	if (ctx && ctx->reader)
		return *own = mpa_sites_create(ctx->reader, NULL, 0);
	return NULL;
}

const char *mpa_site_name(const struct mpa_ctx *ctx, uint32_t stack_id, char *buf, size_t len)
{
	if (!len)
		return buf;
	mpa_sites *own, *s = sites_of(ctx, &own);
	snprintf(buf, len, "%s", s ? mpa_sites_name(s, stack_id) : "??");
	mpa_sites_free(own);
	return buf;
}

int mpa_site_frame(const struct mpa_ctx *ctx, uint32_t stack_id)
{
	mpa_sites *own, *s = sites_of(ctx, &own);
	int i = s ? mpa_sites_site_frame(s, stack_id) : -1;
	mpa_sites_free(own);
	return i;
}

int mpa_site_is_tracer(const struct mpa_ctx *ctx, uint32_t stack_id)
{
	mpa_sites *own, *s = sites_of(ctx, &own);
	int t = s ? mpa_sites_is_tracer(s, stack_id) : 0;
	mpa_sites_free(own);
	return t;
}

const char *mpa_site_label(const struct mpa_ctx *ctx, uint32_t stack_id, size_t width, char *buf,
			   size_t len)
{
	if (!len)
		return buf;
	mpa_sites *own, *s = sites_of(ctx, &own);
	if (s)
		mpa_sites_label(s, stack_id, width, buf, len);
	else
		snprintf(buf, len, "??");
	mpa_sites_free(own);
	return buf;
}

json_t *mpa_site_stack_json(const struct mpa_ctx *ctx, uint32_t stack_id)
{
	mpa_sites *own, *s = sites_of(ctx, &own);
	json_t *j = s ? mpa_sites_stack_json(s, stack_id) : json_array();
	mpa_sites_free(own);
	return j;
}
