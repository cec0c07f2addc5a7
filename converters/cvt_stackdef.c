/* The mpa provider's interned stacks (tracepoints/preload_stacks.c): an
 * mpa:stack { id, stack[] } event defines a stack once per process image,
 * and the events made from it afterwards carry only `stack_id`.
 *
 * Ids are the preload's, per process image: they are kept per pid under an
 * epoch that changes when the pid's image does (mpa:proc_exec, and the
 * preload drops its table in a fork child: mpa:proc_fork) and when it ends
 * (mpa:proc_exit: a later process may get the same pid).  A definition's
 * frames are interned into the capture's stack table when it is read, so a
 * reference costs one map lookup.
 *
 * A reference to an id that has no definition (its mpa:stack was discarded
 * by a full ring buffer, or a session started after the stack was defined)
 * is never guessed: the record gets the one-frame stack "[unknown: stack
 * definition lost]" and is counted (metadata stacks.by_id_unknown).
 */
#include <inttypes.h>
#include <stdio.h>

#include "cvt_sink.h"

#define APPEND_CAUSE(s, ...)                                                   \
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(                   \
		bt_self_component_sink_as_self_component((s)->self), __VA_ARGS__)

static const char unknown_name[] = "[unknown: stack definition lost]";

/* pid's current epoch (made at its first sight); 0 on memory error. */
static uint64_t epoch_of(struct cvt_sink *s, int32_t pid)
{
	uint64_t *e = cvt_map_find(&s->stack_epochs, (uint32_t)pid, 0);
	if (e)
		return *e;
	uint64_t n = ++s->stack_epoch_next;
	if (cvt_map_put(&s->stack_epochs, (uint32_t)pid, 0, n, NULL))
		return 0;
	return n;
}

static int nomem(struct cvt_sink *s)
{
	APPEND_CAUSE(s, "Out of memory recording an interned stack.");
	return -1;
}

int cvt_stackdef_reset(struct cvt_sink *s, int32_t pid)
{
	/* only pids that used interning have an epoch to renew */
	if (!cvt_map_find(&s->stack_epochs, (uint32_t)pid, 0))
		return 0;
	if (cvt_map_put(&s->stack_epochs, (uint32_t)pid, 0, ++s->stack_epoch_next, NULL))
		return nomem(s);
	return 0;
}

int cvt_stackdef_define(struct cvt_sink *s, int32_t pid, uint64_t id, uint32_t stack_id)
{
	uint64_t e = epoch_of(s, pid);
	s->stack_defs_read++;
	if (!e || cvt_map_put(&s->stack_defs, e, id, stack_id, NULL))
		return nomem(s);
	return 0;
}

int cvt_stackdef_ref(struct cvt_sink *s, int32_t pid, uint64_t id, uint32_t *stack_id)
{
	uint64_t e = epoch_of(s, pid);
	if (!e)
		return nomem(s);
	s->stack_refs++;
	uint64_t *v = cvt_map_find(&s->stack_defs, e, id);
	if (v) {
		*stack_id = (uint32_t)*v;
		return 0;
	}
	s->stack_refs_unknown++;
	if (!s->stack_unknown_id) {
		struct mpt_error err = { 0 };
		struct mpt_frame f = { .ip = 0 };
		uint32_t fid;
		if (cvt_intern(s, unknown_name, sizeof unknown_name - 1, &f.func))
			return -1;
		cvt_wpipe_lock(s->pipe);
		enum mpt_status st = mpt_writer_frame(s->w, &f, &fid, &err);
		if (st == MPT_OK)
			st = mpt_writer_stack(s->w, &fid, 1, &s->stack_unknown_id, &err);
		cvt_wpipe_unlock(s->pipe);
		if (st != MPT_OK) {
			APPEND_CAUSE(s, "Failed to intern a stack: %s", err.msg);
			return -1;
		}
	}
	*stack_id = s->stack_unknown_id;
	return 0;
}

static int meta_u64(struct cvt_sink *s, const char *key, uint64_t v)
{
	struct mpt_error err = { 0 };
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	if (mpt_writer_meta(s->w, key, buf, &err) != MPT_OK) {
		APPEND_CAUSE(s, "Failed to set metadata `%s`: %s", key, err.msg);
		return -1;
	}
	return 0;
}

int cvt_stackdef_meta(struct cvt_sink *s)
{
	if (!s->stack_defs_read && !s->stack_refs)
		return 0;
	if (meta_u64(s, "stacks.interned", s->stack_defs_read) ||
	    meta_u64(s, "stacks.by_id", s->stack_refs) ||
	    meta_u64(s, "stacks.by_id_unknown", s->stack_refs_unknown))
		return -1;
	return 0;
}
