/* The reference address model (tests/format/mpt_ptr_ref.c). */
#ifndef MPT_PTR_REF_H
#define MPT_PTR_REF_H
#include "../../format/mpt_internal.h"
int ref_ptr_encode(const uint64_t *v, uint32_t n, const struct mpt_codec_ctx *ctx,
		   struct mpt_buf *out);
int ref_ptr_decode(const uint8_t *in, size_t len, uint64_t *v, uint32_t n,
		   const struct mpt_codec_ctx *ctx, const char **why);
#endif
