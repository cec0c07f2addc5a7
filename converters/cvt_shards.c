/* sink.mpa.mpt with param `shards`: parallel decoding (doc/converting.md,
 * "Parallel decoding").
 *
 * mpa-convert cuts the stream files of one LTTng trace into pieces at
 * packet boundaries (converters/convert_shards.c), each piece a folder
 * holding `metadata` and one stream file.  The sink forks one extract
 * process per piece: src.ctf.fs on the piece, and a simple sink that turns
 * every event into a plain record (class, time, registers, stack
 * addresses, strings, build id bytes) written to a pipe (the first piece
 * of each stream) or to a spill file (the later ones, read once their
 * process has ended).  The sink merges the streams by time — the pieces of
 * one stream one after the other — and maps each record with the mapping
 * of the sequential run (cvt_map_in), so the capture is the same byte for
 * byte.
 *
 * What the merge cannot reproduce makes the conversion fail with the
 * cause CVT_SHARDS_FALLBACK (mpa-convert then converts again with one
 * job): discarded events or packets, an event without a time, a time going
 * back in a stream, and two mapped events of different streams at the same
 * nanosecond (flt.utils.muxer orders those by its own rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvt_shards_proto.h"
#include "cvt_sink.h"

#define APPEND_CAUSE(s, ...) \
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT( \
		bt_self_component_sink_as_self_component((s)->self), __VA_ARGS__)

#define STEP_RECORDS 4096
#define PROGRESS_EVERY 65536

struct piece {
	char *dir;            /* (owned) */
	pid_t pid;            /* 0 once reaped */
	int fd;               /* pipe or spill file, -1 when closed */
	int spill;
	int status;           /* wait status once reaped */
};

struct stream {
	struct piece *p;
	size_t np, cur;
	uint8_t *buf;         /* reader of the current piece (owned) */
	size_t len, pos, cap;
	size_t mark;          /* start of the record being read (kept by need) */
	struct cvt_class **local; /* the piece's class ids -> classes (weak) */
	uint8_t *nregs, *ts_only; /* per piece class: registers, no other member */
	size_t nlocal;
	unsigned nregs_head;
	int ended;
	/* the head: the next mapped event of this stream */
	int has_head;
	size_t stack_at;      /* offset of the head's stack in buf */
	uint32_t stack_ref;   /* or the head's stack in stk (SHARD_STACK_INLINE: none) */
	uint64_t key_sc, key_id; /* stream class id, stream id (SHARD_STREAM) */
	int key_ok;              /* ids from the trace, not assigned by the reader */
	uint64_t *arena;      /* the piece's stacks (SHARD_STACK), one after another (owned) */
	size_t arena_len, arena_cap;
	struct { size_t off; uint32_t n; } *stk; /* (owned) */
	size_t nstk, capstk;
	size_t regs_at;       /* offset of the head's registers in buf */
	struct cvt_class *hc;
	struct cvt_in in;
	uint64_t last_ts;
};

struct cvt_shards {
	struct stream *st;
	size_t ns;
	struct cvt_map class_index;   /* (stream class id, event class id) -> class index */
	uint64_t regs[R_COUNT_];
	uint64_t *stack;              /* aligned copy of the head's stack (owned) */
	size_t stack_cap;
	int started;
};

/* ---- extract process ------------------------------------------------------ */

void cvt_shards_free(struct cvt_shards *sh)
{
	if (!sh)
		return;
	for (size_t i = 0; i < sh->ns; i++) {
		struct stream *st = &sh->st[i];
		for (size_t j = 0; j < st->np; j++) {
			struct piece *p = &st->p[j];
			if (p->pid > 0) {
				kill(p->pid, SIGKILL);
				while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
					;
			}
			if (p->fd >= 0)
				close(p->fd);
			free(p->dir);
		}
		free(st->p);
		free(st->buf);
		free(st->local);
		free(st->nregs);
		free(st->arena);
		free(st->stk);
		free(st->ts_only);
	}
	free(sh->st);
	free(sh->stack);
	cvt_map_release(&sh->class_index);
	free(sh);
}

static int spill_file(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* O_TMPFILE unsupported there: a named file, unlinked at once */
	size_t n = strlen(dir) + 32;
	char *path = malloc(n);
	if (!path)
		return -1;
	snprintf(path, n, "%s/.spill-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

static int start_piece(struct cvt_sink *s, struct piece *p, int spill)
{
	int fds[2];
	p->spill = spill;
	if (spill) {
		fds[0] = spill_file(p->dir);
		fds[1] = fds[0] >= 0 ? dup(fds[0]) : -1;
		if (fds[1] < 0) {
			if (fds[0] >= 0)
				close(fds[0]);
			APPEND_CAUSE(s, "Cannot create a spill file in '%s': %s", p->dir, strerror(errno));
			return -1;
		}
	} else {
		if (pipe2(fds, O_CLOEXEC) != 0) {
			APPEND_CAUSE(s, "Cannot create a pipe: %s", strerror(errno));
			return -1;
		}
		fcntl(fds[0], F_SETPIPE_SZ, 1 << 20); /* fewer switches; best effort */
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		APPEND_CAUSE(s, "Cannot fork an extract process: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* no extract process outlives the sink's (a crash included) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(fds[0]);
		_exit(cvt_shard_extract(p->dir, fds[1]));
	}
	close(fds[1]);
	p->pid = pid;
	p->fd = fds[0];
	return 0;
}

int cvt_shards_start(struct cvt_sink *s)
{
	struct cvt_shards *sh = calloc(1, sizeof(*sh));
	const bt_value *v = s->shard_param;
	if (!sh)
		goto nomem;
	s->shards = sh;
	cvt_map_init(&sh->class_index);
	uint64_t ns = bt_value_array_get_length(v);
	sh->st = calloc(ns, sizeof(*sh->st));
	if (!sh->st)
		goto nomem;
	sh->ns = ns;
	for (uint64_t i = 0; i < ns; i++) {
		const bt_value *a = bt_value_array_borrow_element_by_index_const(v, i);
		struct stream *st = &sh->st[i];
		uint64_t np = bt_value_array_get_length(a);
		st->p = calloc(np, sizeof(*st->p));
		if (!st->p)
			goto nomem;
		st->np = np;
		for (uint64_t j = 0; j < np; j++) {
			st->p[j].fd = -1;
			st->p[j].dir = strdup(bt_value_string_get(
				bt_value_array_borrow_element_by_index_const(a, j)));
			if (!st->p[j].dir)
				goto nomem;
		}
	}
	for (size_t i = 0; i < sh->ns; i++)
		for (size_t j = 0; j < sh->st[i].np; j++)
			if (start_piece(s, &sh->st[i].p[j], j > 0))
				return -1;
	return 0;
nomem:
	APPEND_CAUSE(s, "Out of memory starting the shards.");
	return -1;
}

/* ---- reading the records -------------------------------------------------- */

static int fallback(struct cvt_sink *s, const char *why);

static int reap(struct cvt_sink *s, struct piece *p)
{
	if (p->pid <= 0)
		return 0;
	int st;
	while (waitpid(p->pid, &st, 0) < 0) {
		if (errno != EINTR) {
			APPEND_CAUSE(s, "Cannot wait for an extract process: %s", strerror(errno));
			return -1;
		}
	}
	p->pid = 0;
	p->status = st;
	return 0;
}

/* The piece's process ended without its end record. */
static int piece_failed(struct cvt_sink *s, struct piece *p)
{
	if (reap(s, p))
		return -1;
	if (WIFSIGNALED(p->status)) {
		char sn[64];
		snprintf(sn, sizeof sn, "%s", strsignal(WTERMSIG(p->status)));
		if (sn[0] >= 'A' && sn[0] <= 'Z')
			sn[0] = (char)(sn[0] - 'A' + 'a');
		APPEND_CAUSE(s, "babeltrace2 crashed reading the input (%s), no capture written; "
			     "the trace is probably corrupt", sn);
	} else if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 3) {
		return fallback(s, "an extract process could not write its records");
	} else {
		APPEND_CAUSE(s, "An extract process ended early (status %d) reading '%s'.",
			     WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1, p->dir);
	}
	return -1;
}

/* Makes n bytes available at st->buf + st->pos: 1, 0 at the end of the
 * piece's data, -1 on error. */
static int need(struct cvt_sink *s, struct stream *st, size_t n)
{
	while (st->len - st->pos < n) {
		/* keep the record being read (from mark) */
		if (st->mark > 0) {
			memmove(st->buf, st->buf + st->mark, st->len - st->mark);
			st->len -= st->mark;
			st->pos -= st->mark;
			st->mark = 0;
		}
		if (n > st->cap || st->cap - st->len < 65536) {
			size_t ncap = st->cap ? st->cap : (1 << 18);
			while (ncap < n || ncap - st->len < 65536)
				ncap *= 2;
			uint8_t *b = realloc(st->buf, ncap);
			if (!b) {
				APPEND_CAUSE(s, "Out of memory reading a shard.");
				return -1;
			}
			st->buf = b;
			st->cap = ncap;
		}
		ssize_t r = read(st->p[st->cur].fd, st->buf + st->len, st->cap - st->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			APPEND_CAUSE(s, "Cannot read a shard: %s", strerror(errno));
			return -1;
		}
		if (r == 0)
			return 0;
		st->len += (size_t)r;
	}
	return 1;
}

#define GET(T, st) ({ T v_; memcpy(&v_, (st)->buf + (st)->pos, sizeof v_); (st)->pos += sizeof v_; v_; })

/* Moves to the next piece of the stream (its process has to end first
 * when it wrote a spill file); 0 or -1. */
static int next_piece(struct cvt_sink *s, struct stream *st)
{
	struct piece *p = &st->p[st->cur];
	if (reap(s, p))
		return -1;
	close(p->fd);
	p->fd = -1;
	st->len = st->pos = st->mark = 0;
	st->arena_len = st->nstk = 0; /* stack ids are per piece */
	st->nlocal = 0;
	if (++st->cur == st->np) {
		st->ended = 1;
		return 0;
	}
	p = &st->p[st->cur];
	if (p->spill) {
		if (reap(s, p))
			return -1;
		if (lseek(p->fd, 0, SEEK_SET) != 0) {
			APPEND_CAUSE(s, "Cannot read a spill file: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int fallback(struct cvt_sink *s, const char *why)
{
	APPEND_CAUSE(s, "%s: %s", CVT_SHARDS_FALLBACK, why);
	return -1;
}

static struct cvt_class *define_class(struct cvt_sink *s, struct stream *st)
{
	struct cvt_shards *sh = s->shards;
	struct shard_class_def d = GET(struct shard_class_def, st);
	if (need(s, st, d.name_len) <= 0)
		return NULL;
	uint64_t *ix = cvt_map_find(&sh->class_index, d.sc_id, d.ec_id);
	struct cvt_class *c;
	if (ix) {
		c = s->classes[*ix];
	} else {
		c = calloc(1, sizeof(*c));
		if (!c || !(c->name = strndup((const char *)st->buf + st->pos, d.name_len))) {
			free(c);
			goto nomem;
		}
		c->mapper = (enum cvt_mapper)d.mapper;
		c->domain = d.domain;
		c->counter = d.counter;
		c->has_clock = d.has_clock;
		c->present = d.present;
		c->stack_index = d.stack_index;
		c->str_index = d.str_index;
		c->str2_index = d.str2_index;
		c->bytes_index = d.bytes_index;
		if (s->nclasses == s->capclasses) {
			size_t ncap = s->capclasses ? s->capclasses * 2 : 32;
			void *n = realloc(s->classes, ncap * sizeof(*s->classes));
			if (!n) {
				cvt_class_free(c);
				goto nomem;
			}
			s->classes = n;
			s->capclasses = ncap;
		}
		if (cvt_map_put(&sh->class_index, d.sc_id, d.ec_id, s->nclasses, NULL)) {
			cvt_class_free(c);
			goto nomem;
		}
		s->classes[s->nclasses++] = c;
	}
	st->pos += d.name_len;
	if (d.local_id != st->nlocal) {
		APPEND_CAUSE(s, "A shard's class ids are out of order.");
		return NULL;
	}
	void *n = realloc(st->local, (st->nlocal + 1) * sizeof(*st->local));
	if (!n)
		goto nomem;
	st->local = n;
	if (!(n = realloc(st->nregs, st->nlocal + 1)))
		goto nomem;
	st->nregs = n;
	if (!(n = realloc(st->ts_only, st->nlocal + 1)))
		goto nomem;
	st->ts_only = n;
	st->nregs[st->nlocal] = (uint8_t)__builtin_popcountll(c->present);
	st->ts_only[st->nlocal] = c->stack_index < 0 && c->str_index < 0 && c->str2_index < 0 &&
				  c->bytes_index < 0;
	st->local[st->nlocal++] = c;
	return c;
nomem:
	APPEND_CAUSE(s, "Out of memory reading a shard's classes.");
	return NULL;
}

static int read_trace(struct cvt_sink *s, struct stream *st)
{
	struct shard_trace_def d = GET(struct shard_trace_def, st);
	if (need(s, st, (size_t)d.desc_len + d.clock_len + d.host_len + d.tracer_len) <= 0)
		return -1;
	char *p = (char *)st->buf + st->pos;
	char *desc = strndup(p, d.desc_len);
	char *clock = d.has_clock ? strndup(p + d.desc_len, d.clock_len) : NULL;
	char *host = d.has_host ? strndup(p + d.desc_len + d.clock_len, d.host_len) : NULL;
	char *tracer = d.has_tracer ? strndup(p + d.desc_len + d.clock_len + d.host_len, d.tracer_len) : NULL;
	st->pos += (size_t)d.desc_len + d.clock_len + d.host_len + d.tracer_len;
	int rc = -1;
	if (desc && (clock || !d.has_clock) && (host || !d.has_host) && (tracer || !d.has_tracer))
		rc = cvt_trace_add(s, NULL, desc, clock, host, tracer);
	free(desc);
	free(clock);
	free(host);
	free(tracer);
	if (rc)
		APPEND_CAUSE(s, "Out of memory recording a trace.");
	return rc;
}

/* Reads the stream's records up to its next mapped event (the head), or to
 * its end; unknown events are counted on the way.  0 or -1. */
static int advance(struct cvt_sink *s, struct stream *st)
{
	st->has_head = 0;
	while (!st->ended) {
		int r = need(s, st, 1);
		if (r < 0)
			return -1;
		if (r == 0)
			return piece_failed(s, &st->p[st->cur]);
		st->mark = st->pos;
		uint8_t tag = st->buf[st->pos++];
		switch (tag) {
		case SHARD_CLASS:
			if (need(s, st, sizeof(struct shard_class_def)) <= 0 || !define_class(s, st))
				return piece_failed(s, &st->p[st->cur]);
			break;
		case SHARD_STREAM: {
			if (need(s, st, 17) <= 0)
				return piece_failed(s, &st->p[st->cur]);
			uint64_t sc = GET(uint64_t, st), id = GET(uint64_t, st);
			uint8_t ok = GET(uint8_t, st);
			if (st->cur > 0 && (!st->key_ok || !ok || sc != st->key_sc || id != st->key_id))
				return fallback(s, "the pieces of a stream file name different streams");
			st->key_sc = sc;
			st->key_id = id;
			st->key_ok = ok;
			break;
		}
		case SHARD_TRACE:
			if (need(s, st, sizeof(struct shard_trace_def)) <= 0 || read_trace(s, st))
				return -1;
			break;
		case SHARD_UNKNOWN: {
			if (need(s, st, 2) <= 0)
				return piece_failed(s, &st->p[st->cur]);
			uint16_t id = GET(uint16_t, st);
			if (id >= st->nlocal) {
				APPEND_CAUSE(s, "A shard names an undefined class.");
				return -1;
			}
			st->local[id]->count++;
			s->events_in++;
			break;
		}
		case SHARD_EVENT: {
			if (need(s, st, SHARD_EVENT_HEAD) <= 0)
				return piece_failed(s, &st->p[st->cur]);
			uint16_t id = GET(uint16_t, st);
			uint64_t ts = GET(uint64_t, st);
			if (id >= st->nlocal) {
				APPEND_CAUSE(s, "A shard names an undefined class.");
				return -1;
			}
			struct cvt_class *c = st->local[id];
			unsigned nregs = st->nregs[id];
			if (need(s, st, nregs * 8u) <= 0)
				return piece_failed(s, &st->p[st->cur]);
			/* the registers stay in the buffer until the event is mapped */
			struct cvt_in *in = &st->in;
			*in = (struct cvt_in){ .ts = ts, .ts_ok = 1, .is_plain = 1 };
			st->regs_at = st->pos - st->mark; /* offsets from the record's start */
			st->pos += nregs * 8u;
			st->nregs_head = nregs;
			st->stack_ref = SHARD_STACK_INLINE;
			if (st->ts_only[id])
				goto head;
			uint32_t n = 0;
			if (c->stack_index >= 0) {
				if (need(s, st, 4) <= 0)
					return piece_failed(s, &st->p[st->cur]);
				uint32_t ref = GET(uint32_t, st);
				if (ref != SHARD_STACK_INLINE) {
					if (ref >= st->nstk) {
						APPEND_CAUSE(s, "A shard names an undefined stack.");
						return -1;
					}
					st->stack_ref = ref;
					n = st->stk[ref].n;
				} else {
					if (need(s, st, 4) <= 0)
						return piece_failed(s, &st->p[st->cur]);
					n = GET(uint32_t, st);
				}
			}
			size_t stack_at = st->pos - st->mark;
			if (st->stack_ref == SHARD_STACK_INLINE) {
				if (need(s, st, (size_t)n * 8) <= 0 && n)
					return piece_failed(s, &st->p[st->cur]);
				st->pos += (size_t)n * 8;
			}
			uint32_t l1 = 0, l2 = 0, nb = 0;
			size_t s1 = 0, s2 = 0, b = 0;
			if (c->str_index >= 0) {
				if (need(s, st, 4) <= 0)
					return piece_failed(s, &st->p[st->cur]);
				l1 = GET(uint32_t, st);
				s1 = st->pos - st->mark;
				if (need(s, st, l1) <= 0 && l1)
					return piece_failed(s, &st->p[st->cur]);
				st->pos += l1;
			}
			if (c->str2_index >= 0) {
				if (need(s, st, 4) <= 0)
					return piece_failed(s, &st->p[st->cur]);
				l2 = GET(uint32_t, st);
				s2 = st->pos - st->mark;
				if (need(s, st, l2) <= 0 && l2)
					return piece_failed(s, &st->p[st->cur]);
				st->pos += l2;
			}
			if (c->bytes_index >= 0) {
				if (need(s, st, 4) <= 0)
					return piece_failed(s, &st->p[st->cur]);
				nb = GET(uint32_t, st);
				b = st->pos - st->mark;
				size_t blen = nb <= CVT_MAX_BUILD_ID ? nb : 0;
				if (need(s, st, blen) <= 0 && blen)
					return piece_failed(s, &st->p[st->cur]);
				st->pos += blen;
			}
			/* pointers only now: need() may move the buffer */
			const uint8_t *base = st->buf + st->mark;
			/* stacks of different streams' heads: copied out (aligned)
			 * when this one is mapped, see cvt_shards_step */
			in->stack = NULL;
			in->nstack = n;
			st->stack_at = stack_at;
			in->str = (const char *)base + s1;
			in->str_len = l1;
			in->str2 = (const char *)base + s2;
			in->str2_len = l2;
			in->bytes = base + b;
			in->nbytes = nb;
head:
			if (ts < st->last_ts)
				return fallback(s, "a time goes back in a stream");
			st->last_ts = ts;
			st->hc = c;
			st->has_head = 1;
			return 0;
		}
		case SHARD_STACK: {
			/* a stack this piece refers to by id from now on */
			if (need(s, st, 8) <= 0)
				return piece_failed(s, &st->p[st->cur]);
			uint32_t sid = GET(uint32_t, st), n = GET(uint32_t, st);
			if (sid != st->nstk || n > CVT_MAX_STACK) {
				APPEND_CAUSE(s, "A shard's stacks are out of order.");
				return -1;
			}
			if (need(s, st, (size_t)n * 8) <= 0 && n)
				return piece_failed(s, &st->p[st->cur]);
			if (st->arena_len + n > st->arena_cap) {
				size_t ncap = st->arena_cap ? st->arena_cap * 2 : 4096;
				while (ncap < st->arena_len + n)
					ncap *= 2;
				uint64_t *na = realloc(st->arena, ncap * sizeof(*na));
				if (!na)
					goto nomem;
				st->arena = na;
				st->arena_cap = ncap;
			}
			if (st->nstk == st->capstk) {
				size_t ncap = st->capstk ? st->capstk * 2 : 256;
				void *ns = realloc(st->stk, ncap * sizeof(*st->stk));
				if (!ns)
					goto nomem;
				st->stk = ns;
				st->capstk = ncap;
			}
			memcpy(st->arena + st->arena_len, st->buf + st->pos, (size_t)n * 8);
			st->pos += (size_t)n * 8;
			st->stk[st->nstk].off = st->arena_len;
			st->stk[st->nstk++].n = n;
			st->arena_len += n;
			break;
		}
		case SHARD_END:
			if (next_piece(s, st))
				return -1;
			break;
		case SHARD_ERROR:
		case SHARD_FALLBACK: {
			if (need(s, st, 2) <= 0)
				return piece_failed(s, &st->p[st->cur]);
			uint16_t l = GET(uint16_t, st);
			if (need(s, st, l) <= 0)
				return piece_failed(s, &st->p[st->cur]);
			char msg[600];
			snprintf(msg, sizeof msg, "%.*s", (int)(l < 500 ? l : 500), (const char *)st->buf + st->pos);
			if (tag == SHARD_FALLBACK)
				return fallback(s, msg);
			APPEND_CAUSE(s, "%s", msg);
			return -1;
		}
		default:
			APPEND_CAUSE(s, "A shard holds an unknown record (%u).", tag);
			return -1;
		}
	}
	return 0;
nomem:
	APPEND_CAUSE(s, "Out of memory reading a shard's stacks.");
	return -1;
}

/* The events of several streams at one nanosecond: flt.utils.muxer puts
 * the one of the lower (stream class id, stream id) first (same trace:
 * same UUID and name).  NULL when the ids cannot tell (ids assigned by the
 * reader, or equal) and two of the events change the capture. */
static struct stream *tie_break(struct cvt_shards *sh, uint64_t ts)
{
	struct stream *best = NULL;
	unsigned relevant = 0;
	int ok = 1;
	for (size_t i = 0; i < sh->ns; i++) {
		struct stream *st = &sh->st[i];
		if (!st->has_head || st->in.ts != ts)
			continue;
		relevant += st->hc->mapper != M_SD_OTHER;
		if (!st->key_ok) {
			ok = 0;
		} else if (best && st->key_sc == best->key_sc && st->key_id == best->key_id) {
			ok = 0;
		}
		if (!best || (st->key_sc < best->key_sc ||
			      (st->key_sc == best->key_sc && st->key_id < best->key_id)))
			best = st;
	}
	return ok || relevant < 2 ? best : NULL;
}

int cvt_shards_step(struct cvt_sink *s)
{
	struct cvt_shards *sh = s->shards;
	if (!sh->started) {
		/* first step: every stream's first head */
		sh->started = 1;
		for (size_t i = 0; i < sh->ns; i++)
			if (advance(s, &sh->st[i]))
				return -1;
	}
	for (unsigned k = 0; k < STEP_RECORDS; k++) {
		struct stream *best = NULL;
		unsigned same = 0;
		for (size_t i = 0; i < sh->ns; i++) {
			struct stream *st = &sh->st[i];
			if (!st->has_head)
				continue;
			if (!best || st->in.ts < best->in.ts) {
				best = st;
				same = 1;
			} else if (st->in.ts == best->in.ts) {
				same++;
			}
		}
		if (!best)
			return 1;
		if (same > 1 && !(best = tie_break(sh, best->in.ts)))
			return fallback(s, "two streams have events at the same time and "
				     "no stream ids to order them");
		struct cvt_class *c = best->hc;
		if (best->stack_ref != SHARD_STACK_INLINE) {
			best->in.stack = best->arena + best->stk[best->stack_ref].off;
		} else if (best->in.nstack) {
			if (best->in.nstack > sh->stack_cap) {
				uint64_t *n = realloc(sh->stack, best->in.nstack * sizeof(*n));
				if (!n) {
					APPEND_CAUSE(s, "Out of memory reading a stack.");
					return -1;
				}
				sh->stack = n;
				sh->stack_cap = best->in.nstack;
			}
			memcpy(sh->stack, best->buf + best->mark + best->stack_at,
			       best->in.nstack * sizeof(uint64_t));
			best->in.stack = sh->stack;
		}
		/* the registers (the class's, shared by the streams) now */
		uint64_t *r = sh->regs;
		memcpy(r, best->buf + best->mark + best->regs_at, (size_t)best->nregs_head * 8u);
		unsigned k = 0;
		for (uint64_t m = c->present; m; m &= m - 1)
			c->r[__builtin_ctzll(m)] = r[k++];
		c->count++;
		s->events_in++;
		if (s->hooks && s->hooks->progress && (s->events_in % PROGRESS_EVERY) == 0)
			s->hooks->progress(s->hooks->user, s->events_in, s->last_ts);
		if (cvt_map_in(s, c, &best->in))
			return -1;
		if (advance(s, best))
			return -1;
	}
	return 0;
}
