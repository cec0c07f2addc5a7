/* libmpt: growable buffers, error formatting, checksums. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

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
