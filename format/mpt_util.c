/* libmpt: growable buffers, error formatting, checksums, zstd frames,
 * in-place row gathering. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <zstd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "mpt_internal.h"

int mpt__buf_grow(struct mpt_buf *b, size_t add)
{
	if (b->oom)
		return -1;
	if (add <= b->cap - b->len)
		return 0;
	size_t need = b->len + add;
	if (need < b->len) {
		b->oom = 1;
		return -1;
	}
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void mpt__buf_free(struct mpt_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

enum mpt_status mpt__err(struct mpt_error *err, enum mpt_status code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		/* one line: never let a path with a newline break it */
		for (char *p = err->msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
	}
	return code;
}

uint64_t mpt__hash(const void *p, size_t n)
{
	return XXH64(p, n, 0);
}

void *mpt__scratch(struct mpt_work *w, unsigned slot, size_t bytes, int zero)
{
	if (!w || slot >= MPT_SL_COUNT_)
		return NULL;
	struct mpt_buf *b = &w->slot[slot];
	b->len = 0;
	if (mpt__buf_reserve(b, bytes ? bytes : 1)) {
		b->oom = 0; /* a later, smaller request may still succeed */
		return NULL;
	}
	if (zero)
		memset(b->p, 0, bytes);
	return b->p;
}

void mpt__work_free(struct mpt_work *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < MPT_SL_COUNT_; i++)
		mpt__buf_free(&w->slot[i]);
	mpt__ptr_state_free(w->ptr);
	w->ptr = NULL;
}

/* Grows a plain buffer to at least need bytes (doubling); -1 when out of
 * memory (the buffer is kept). */
int mpt__grow(void **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c = c > SIZE_MAX / 2 ? need : c * 2;
	void *n = realloc(*p, c);
	if (!n)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

/* Decompresses a single zstd frame of exactly `stored` bytes into exactly
 * `raw` bytes.  Returns NULL on success or the reason. */
const char *mpt__unzstd(ZSTD_DCtx *dctx, const uint8_t *in, size_t stored, uint8_t *out,
			size_t raw)
{
	unsigned long long cs = ZSTD_getFrameContentSize(in, stored);
	if (cs == ZSTD_CONTENTSIZE_ERROR)
		return "not a zstd frame";
	if (cs == ZSTD_CONTENTSIZE_UNKNOWN || cs != raw)
		return "zstd frame content size disagrees with the declared size";
	size_t fl = ZSTD_findFrameCompressedSize(in, stored);
	if (ZSTD_isError(fl) || fl != stored)
		return "zstd frame length disagrees with the stored size";
	size_t k = ZSTD_decompressDCtx(dctx, out, raw, in, stored);
	if (ZSTD_isError(k))
		return ZSTD_getErrorName(k);
	if (k != raw)
		return "zstd frame decodes to the wrong size";
	return NULL;
}

void mpt__gather(void *arr, unsigned width, const uint32_t *keep, uint32_t n)
{
	switch (width) {
	case 1:
		for (uint32_t i = 0; i < n; i++)
			((uint8_t *)arr)[i] = ((uint8_t *)arr)[keep[i]];
		break;
	case 2:
		for (uint32_t i = 0; i < n; i++)
			((uint16_t *)arr)[i] = ((uint16_t *)arr)[keep[i]];
		break;
	case 4:
		for (uint32_t i = 0; i < n; i++)
			((uint32_t *)arr)[i] = ((uint32_t *)arr)[keep[i]];
		break;
	default:
		for (uint32_t i = 0; i < n; i++)
			((uint64_t *)arr)[i] = ((uint64_t *)arr)[keep[i]];
		break;
	}
}
