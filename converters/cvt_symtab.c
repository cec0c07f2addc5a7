/* Process images, mappings, frames and the end-of-conversion symbolizer.
 * See cvt_symtab.h. */
#include "cvt_symtab.h"
#include "cvt_ksyms.h"

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvt_hash.h"

/* Frames whose binary is not known when interned carry this tag in `line`
 * (plus their image id) so that the same ip in two processes stays two
 * frames; the tag is always replaced in cvt_symtab_resolve(). */
#define PROVISIONAL_TAG 0x80000000u

struct mapping {
	int32_t pid;
	uint32_t image;      /* image id the mapping belongs to */
	uint64_t start, end; /* [start, end) runtime range */
	uint64_t base;       /* runtime address of file offset 0 */
	char *path;          /* (owned by this) */
	uint32_t path_sid;   /* string id in the capture */
	char *build_id;      /* lower-case hex, NULL if unknown (owned by this) */
	char *debug_link;    /* (owned by this) */
	int is_pic;
	int active;          /* 0 after dlclose / a new image */
	int dso;             /* index in dsos during resolve, -1 = none */
};

struct proc {
	int32_t pid;
	uint32_t image;      /* current image id (unique over the conversion) */
	uint32_t *maps;      /* active mapping indexes (owned by this) */
	size_t nmaps, capmaps;
	size_t last;         /* last hit in maps, to try first */
	int mapped;          /* the current image has had a mapping */
};

struct frame {
	uint64_t ip;
	int32_t map;         /* mapping index, -1 = unknown */
	uint32_t image;
	uint8_t exact;
	uint8_t known;       /* the entry is filled (ids come from the writer) */
};

struct dso {
	char *path;          /* (owned by this) copied: a mapping's may change */
	char *build_id;      /* (owned by this) expected build id or NULL */
	Dwfl *dwfl;          /* (owned by this) NULL if it could not be opened */
	Dwfl_Module *mod;    /* weak (owned by dwfl) */
	int is_exec;         /* ET_EXEC: query with the runtime ip */
	int mismatch;        /* build id differs: do not symbolize */
};

struct cvt_symtab {
	mpt_writer *w;        /* weak */
	struct cvt_wpipe *pipe; /* weak: its lock guards w while converting */
	struct mapping *maps; /* (owned by this) */
	size_t nmaps, capmaps;
	struct proc *procs;   /* (owned by this) */
	size_t nprocs, capprocs;
	struct cvt_map pid_index;  /* pid -> index in procs */
	struct cvt_map frame_index;/* (image << 1 | exact, ip) -> frame id */
	struct frame *frames; /* indexed by frame id (owned by this) */
	size_t capframes;
	uint32_t max_frame;
	uint32_t next_image;
	int32_t last_pid;     /* cvt_symtab_image()'s cache; last_image 0 = empty */
	uint32_t last_image;
	const struct cvt_ksyms *ksyms; /* (weak) may be NULL */
	/* cvt_symtab_resolve() so far: it may run again (segments) */
	struct dso *dsos;     /* opened binaries (owned by this) */
	size_t ndsos, capdsos;
	uint32_t resolved;    /* frames 1..resolved are written */
	size_t maps_written;  /* binaries table entries written */
	struct cvt_symstats stats;
};

void cvt_symtab_set_ksyms(struct cvt_symtab *st, const struct cvt_ksyms *k)
{
	st->ksyms = k;
}

struct cvt_symtab *cvt_symtab_create(mpt_writer *w, struct cvt_wpipe *pipe)
{
	struct cvt_symtab *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->w = w;
	st->pipe = pipe;
	cvt_map_init(&st->pid_index);
	cvt_map_init(&st->frame_index);
	st->next_image = 1;
	return st;
}

void cvt_symtab_free(struct cvt_symtab *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nmaps; i++) {
		free(st->maps[i].path);
		free(st->maps[i].build_id);
		free(st->maps[i].debug_link);
	}
	free(st->maps);
	for (size_t i = 0; i < st->nprocs; i++)
		free(st->procs[i].maps);
	free(st->procs);
	cvt_map_release(&st->pid_index);
	cvt_map_release(&st->frame_index);
	free(st->frames);
	for (size_t i = 0; i < st->ndsos; i++) {
		if (st->dsos[i].dwfl)
			dwfl_end(st->dsos[i].dwfl);
		free(st->dsos[i].path);
		free(st->dsos[i].build_id);
	}
	free(st->dsos);
	free(st);
}

static int grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*arr, ncap * elem);
	if (!n)
		return -1;
	*arr = n;
	*cap = ncap;
	return 0;
}

/* The process entry for pid, created (with a fresh image) when new. */
static struct proc *get_proc(struct cvt_symtab *st, int32_t pid)
{
	uint64_t *ix = cvt_map_find(&st->pid_index, (uint32_t)pid, 0);
	if (ix)
		return &st->procs[*ix];
	if (grow_array((void **)&st->procs, &st->capprocs, st->nprocs + 1, sizeof(struct proc)))
		return NULL;
	if (cvt_map_put(&st->pid_index, (uint32_t)pid, 0, st->nprocs, NULL))
		return NULL;
	struct proc *p = &st->procs[st->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->image = st->next_image++;
	return p;
}

static void drop_active(struct cvt_symtab *st, struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		st->maps[p->maps[i]].active = 0;
	p->nmaps = 0;
	p->last = 0;
}

int cvt_symtab_new_image(struct cvt_symtab *st, int32_t pid)
{
	struct proc *p = get_proc(st, pid);
	if (!p)
		return -1;
	/* An image that never had a mapping is kept: events recorded before
	 * the first statedump of a process (the statedump runs on another
	 * thread) then still resolve at the end through its mappings. */
	if (!p->mapped)
		return 0;
	drop_active(st, p);
	p->image = st->next_image++;
	st->last_image = 0;
	p->mapped = 0;
	return 0;
}

static int add_active(struct proc *p, uint32_t mi)
{
	if (grow_array((void **)&p->maps, &p->capmaps, p->nmaps + 1, sizeof(uint32_t)))
		return -1;
	p->maps[p->nmaps++] = mi;
	return 0;
}

static int push_mapping(struct cvt_symtab *st, const struct mapping *src, int32_t pid,
			uint32_t image, uint32_t *out)
{
	if (grow_array((void **)&st->maps, &st->capmaps, st->nmaps + 1, sizeof(struct mapping)))
		return -1;
	struct mapping *m = &st->maps[st->nmaps];
	*m = *src;
	m->pid = pid;
	m->image = image;
	m->active = 1;
	m->dso = -1;
	m->path = strdup(src->path);
	m->build_id = src->build_id ? strdup(src->build_id) : NULL;
	m->debug_link = src->debug_link ? strdup(src->debug_link) : NULL;
	if (!m->path || (src->build_id && !m->build_id) || (src->debug_link && !m->debug_link)) {
		free(m->path);
		free(m->build_id);
		free(m->debug_link);
		return -1;
	}
	*out = (uint32_t)st->nmaps++;
	return 0;
}

int cvt_symtab_fork(struct cvt_symtab *st, int32_t pid, int32_t ppid)
{
	if (cvt_symtab_new_image(st, pid))
		return -1;
	uint64_t *pix = cvt_map_find(&st->pid_index, (uint32_t)ppid, 0);
	if (!pix)
		return 0;
	uint64_t cix = *cvt_map_find(&st->pid_index, (uint32_t)pid, 0);
	/* Copy by index: push_mapping may move st->maps and st->procs. */
	for (size_t i = 0; i < st->procs[*pix].nmaps; i++) {
		uint32_t src = st->procs[*pix].maps[i], mi;
		struct mapping copy = st->maps[src];
		if (push_mapping(st, &copy, pid, st->procs[cix].image, &mi))
			return -1;
		if (add_active(&st->procs[cix], mi))
			return -1;
		st->procs[cix].mapped = 1;
	}
	return 0;
}

int cvt_symtab_map(struct cvt_symtab *st, int32_t pid, uint64_t start, uint64_t len,
		   uint64_t base, int is_pic, const char *path, size_t path_len)
{
	struct proc *p = get_proc(st, pid);
	if (!p || len == 0 || start + len < start)
		return p ? 0 : -1;
	struct mapping m = { 0 };
	m.start = start;
	m.end = start + len;
	m.base = base;
	m.is_pic = is_pic;
	m.path = strndup(path, path_len);
	if (!m.path)
		return -1;
	cvt_wpipe_lock(st->pipe);
	enum mpt_status ws = mpt_writer_string(st->w, m.path, strlen(m.path), &m.path_sid, NULL);
	cvt_wpipe_unlock(st->pipe);
	if (ws != MPT_OK) {
		free(m.path);
		return -1;
	}
	uint32_t image = p->image, mi;
	int rc = push_mapping(st, &m, pid, image, &mi);
	free(m.path);
	if (rc)
		return -1;
	p = get_proc(st, pid);
	p->mapped = 1;
	return add_active(p, mi);
}

static struct mapping *find_active_at_base(struct cvt_symtab *st, int32_t pid, uint64_t base)
{
	uint64_t *ix = cvt_map_find(&st->pid_index, (uint32_t)pid, 0);
	if (!ix)
		return NULL;
	struct proc *p = &st->procs[*ix];
	for (size_t i = p->nmaps; i-- > 0;) {
		struct mapping *m = &st->maps[p->maps[i]];
		if (m->start == base || m->base == base)
			return m;
	}
	return NULL;
}

int cvt_symtab_build_id(struct cvt_symtab *st, int32_t pid, uint64_t base,
			const uint8_t *id, size_t len, int is_hex)
{
	struct mapping *m = find_active_at_base(st, pid, base);
	if (!m || len == 0 || len > 256)
		return 0;
	char *hex = malloc(is_hex ? len + 1 : len * 2 + 1);
	if (!hex)
		return -1;
	if (is_hex) {
		for (size_t i = 0; i < len; i++) {
			char c = (char)id[i];
			hex[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
		}
		hex[len] = 0;
	} else {
		static const char digits[] = "0123456789abcdef";
		for (size_t i = 0; i < len; i++) {
			hex[2 * i] = digits[id[i] >> 4];
			hex[2 * i + 1] = digits[id[i] & 15];
		}
		hex[len * 2] = 0;
	}
	free(m->build_id);
	m->build_id = hex;
	return 0;
}

int cvt_symtab_debug_link(struct cvt_symtab *st, int32_t pid, uint64_t base,
			  const char *name, size_t len)
{
	struct mapping *m = find_active_at_base(st, pid, base);
	if (!m)
		return 0;
	char *s = strndup(name, len);
	if (!s)
		return -1;
	free(m->debug_link);
	m->debug_link = s;
	return 0;
}

void cvt_symtab_unmap(struct cvt_symtab *st, int32_t pid, uint64_t base)
{
	uint64_t *ix = cvt_map_find(&st->pid_index, (uint32_t)pid, 0);
	if (!ix)
		return;
	struct proc *p = &st->procs[*ix];
	for (size_t i = p->nmaps; i-- > 0;) {
		struct mapping *m = &st->maps[p->maps[i]];
		if (m->start == base || m->base == base) {
			m->active = 0;
			p->maps[i] = p->maps[--p->nmaps];
			p->last = 0;
			return;
		}
	}
}

static int32_t lookup_active(struct cvt_symtab *st, struct proc *p, uint64_t ip)
{
	if (p->last < p->nmaps) {
		const struct mapping *m = &st->maps[p->maps[p->last]];
		if (ip >= m->start && ip < m->end)
			return (int32_t)p->maps[p->last];
	}
	/* Latest mapping wins if ranges overlap (a re-dlopen at the same spot). */
	for (size_t i = p->nmaps; i-- > 0;) {
		const struct mapping *m = &st->maps[p->maps[i]];
		if (ip >= m->start && ip < m->end) {
			p->last = i;
			return (int32_t)p->maps[i];
		}
	}
	return -1;
}

uint32_t cvt_symtab_image(struct cvt_symtab *st, int32_t pid)
{
	/* Asked once per event: a one-entry cache in front of the pid table
	 * (reset whenever an image changes). */
	if (st->last_image && st->last_pid == pid)
		return st->last_image;
	struct proc *p = get_proc(st, pid);
	if (!p)
		return 0;
	st->last_pid = pid;
	st->last_image = p->image;
	return p->image;
}

int cvt_symtab_frame(struct cvt_symtab *st, int32_t pid, uint64_t ip, int exact,
		     uint32_t *id, struct mpt_error *err)
{
	struct proc *p = get_proc(st, pid);
	if (!p)
		goto nomem;
	uint64_t key = ((uint64_t)p->image << 1) | (exact ? 1u : 0u);
	uint64_t *hit = cvt_map_find(&st->frame_index, key, ip);
	if (hit) {
		*id = (uint32_t)*hit;
		return 0;
	}
	int32_t mi = lookup_active(st, p, ip);
	struct mpt_frame f = { .ip = ip };
	if (mi >= 0) {
		f.bin = st->maps[mi].path_sid;
		f.bin_off = ip - st->maps[mi].base;
	} else {
		f.line = PROVISIONAL_TAG | p->image;
	}
	cvt_wpipe_lock(st->pipe);
	enum mpt_status s = mpt_writer_frame(st->w, &f, id, err);
	cvt_wpipe_unlock(st->pipe);
	if (s != MPT_OK)
		return s;
	if (*id >= st->capframes) {
		size_t old = st->capframes;
		if (grow_array((void **)&st->frames, &st->capframes, (size_t)*id + 1,
			       sizeof(struct frame)))
			goto nomem;
		memset(st->frames + old, 0, (st->capframes - old) * sizeof(struct frame));
	}
	struct frame *fr = &st->frames[*id];
	if (!fr->known) {
		fr->known = 1;
		fr->ip = ip;
		fr->map = mi;
		fr->image = p->image;
		fr->exact = (uint8_t)(exact != 0);
		if (*id > st->max_frame)
			st->max_frame = *id;
	}
	if (cvt_map_put(&st->frame_index, key, ip, *id, NULL))
		goto nomem;
	return 0;
nomem:
	if (err) {
		err->code = MPT_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory interning a frame");
	}
	return MPT_E_NOMEM;
}

/* ---- resolution ---------------------------------------------------------- */

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static void dso_open(struct dso *d, struct cvt_symstats *stats)
{
	d->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!d->dwfl)
		return;
	/* ET_DYN placed at 0: a module address is then the offset from the
	 * load base, which is what frames carry. */
	d->mod = dwfl_report_elf(d->dwfl, d->path, d->path, -1, 0, false);
	dwfl_report_end(d->dwfl, NULL, NULL);
	if (!d->mod) {
		dwfl_end(d->dwfl);
		d->dwfl = NULL;
		stats->binaries_missing++;
		return;
	}
	GElf_Addr bias;
	Elf *e = dwfl_module_getelf(d->mod, &bias);
	GElf_Ehdr eh;
	if (e && gelf_getehdr(e, &eh))
		d->is_exec = eh.e_type == ET_EXEC;
	if (d->build_id) {
		const unsigned char *bits;
		GElf_Addr vaddr;
		int n = dwfl_module_build_id(d->mod, &bits, &vaddr);
		char hex[2 * 256 + 1];
		static const char digits[] = "0123456789abcdef";
		if (n > 0 && n <= 256) {
			for (int i = 0; i < n; i++) {
				hex[2 * i] = digits[bits[i] >> 4];
				hex[2 * i + 1] = digits[bits[i] & 15];
			}
			hex[2 * n] = 0;
			if (strcmp(hex, d->build_id) != 0) {
				d->mismatch = 1;
				stats->build_id_mismatch++;
			}
		}
	}
}

static int intern(struct cvt_symtab *st, const char *s, uint32_t *id, struct mpt_error *err)
{
	if (!s || !*s) {
		*id = 0;
		return 0;
	}
	return mpt_writer_string(st->w, s, strlen(s), id, err);
}

static int32_t late_lookup(const struct cvt_symtab *st, const struct frame *fr)
{
	for (size_t i = st->nmaps; i-- > 0;) {
		const struct mapping *m = &st->maps[i];
		if (m->image == fr->image && fr->ip >= m->start && fr->ip < m->end)
			return (int32_t)i;
	}
	return -1;
}

int cvt_symtab_resolve(struct cvt_symtab *st, int symbolize, struct cvt_symstats *stats,
		       struct mpt_error *err)
{
	int rc = 0;
	struct cvt_symstats *ss = &st->stats;
	ss->binaries = st->nmaps;

	for (uint32_t id = st->resolved + 1; id <= st->max_frame; id++) {
		struct frame *fr = &st->frames[id];
		st->resolved = id;
		if (!fr->known)
			continue;
		ss->frames++;
		if (fr->map < 0)
			fr->map = late_lookup(st, fr);
		struct mpt_frame f = { .ip = fr->ip };
		if (fr->map < 0 && st->ksyms && cvt_ksyms_is_kernel(fr->ip)) {
			/* a kernel address: its function from kallsyms (a return
			 * address is looked up at ip - 1, like user frames) */
			const char *fn = cvt_ksyms_find(st->ksyms, fr->exact ? fr->ip : fr->ip - 1);
			if ((rc = intern(st, "[kernel.kallsyms]", &f.bin, err)) ||
			    (rc = intern(st, fn, &f.func, err)))
				goto end;
			ss->frames_func += fn != NULL;
			goto set;
		}
		if (fr->map < 0)
			goto set;
		struct mapping *m = &st->maps[fr->map];
		ss->frames_in_binary++;
		f.bin = m->path_sid;
		f.bin_off = fr->ip - m->base;
		if (!symbolize)
			goto set;
		if (m->dso < 0) {
			for (size_t i = 0; i < st->ndsos; i++) {
				const char *a = st->dsos[i].build_id, *b = m->build_id;
				if (strcmp(st->dsos[i].path, m->path) == 0 &&
				    ((!a && !b) || (a && b && strcmp(a, b) == 0))) {
					m->dso = (int)i;
					break;
				}
			}
		}
		if (m->dso < 0) {
			if (grow_array((void **)&st->dsos, &st->capdsos, st->ndsos + 1, sizeof(struct dso))) {
				rc = MPT_E_NOMEM;
				goto end;
			}
			struct dso *d = &st->dsos[st->ndsos];
			memset(d, 0, sizeof(*d));
			d->path = strdup(m->path);
			d->build_id = m->build_id ? strdup(m->build_id) : NULL;
			if (!d->path || (m->build_id && !d->build_id)) {
				free(d->path);
				free(d->build_id);
				rc = MPT_E_NOMEM;
				goto end;
			}
			/* Pseudo-files ([vdso], [heap], anon) have no ELF on disk. */
			if (m->path[0] == '/')
				dso_open(d, ss);
			m->dso = (int)st->ndsos++;
		}
		struct dso *d = &st->dsos[m->dso];
		if (!d->mod || d->mismatch)
			goto set;
		Dwarf_Addr a = d->is_exec ? fr->ip : f.bin_off;
		if (!fr->exact && a > 0)
			a--;
		GElf_Off off;
		GElf_Sym sym;
		const char *fn = dwfl_module_addrinfo(d->mod, a, &off, &sym, NULL, NULL, NULL);
		if ((rc = intern(st, fn, &f.func, err)))
			goto end;
		if (fn)
			ss->frames_func++;
		Dwfl_Line *line = dwfl_module_getsrc(d->mod, a);
		if (line) {
			int lineno = 0;
			const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
			if (file && lineno > 0) {
				if ((rc = intern(st, file, &f.file, err)))
					goto end;
				f.line = (uint32_t)lineno;
				ss->frames_line++;
			}
		}
set:
		if ((rc = mpt_writer_set_frame(st->w, id, &f, err)) != MPT_OK)
			goto end;
	}

	for (; st->maps_written < st->nmaps; st->maps_written++) {
		const struct mapping *m = &st->maps[st->maps_written];
		struct mpt_binary b = {
			.pid = m->pid, .path = m->path_sid,
			.base = m->base, .size = m->end - m->start,
		};
		if ((rc = intern(st, m->build_id, &b.build_id, err)))
			goto end;
		if ((rc = mpt_writer_binary(st->w, &b, err)) != MPT_OK)
			goto end;
	}
end:
	*stats = *ss;
	if (rc == MPT_E_NOMEM && err && !err->msg[0]) {
		err->code = MPT_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory while symbolizing");
	}
	return rc;
}
