/* The fragmentation analyzer: what its files share (nothing outside
 * analyzers/frag/ includes this).  Metrics: doc/analyzers-frag.md. */
#ifndef MPA_FRAG_INTERNAL_H
#define MPA_FRAG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mpa/analyzer.h"

#define FRAG_NCLASS 4          /* page occupancy classes: [0,¼) [¼,½) [½,¾) [¾,1] */
#define FRAG_MAX_POINTS 10000

/* The address space of one image at one moment: what the walk in address
 * order measures plus the running counters (see doc/analyzers-frag.md). */
struct fsnap {
	uint64_t ts;               /* capture clock (ns) */
	uint64_t live_bytes;       /* Σ requested size of the program's live blocks */
	uint64_t live_blocks;
	uint64_t usable_bytes;     /* Σ usable of the blocks whose usable size is known */
	uint64_t usable_req;       /* Σ requested size of those blocks */
	uint64_t unknown_blocks;   /* blocks without a usable size */
	uint64_t span;             /* Σ segment spans (bytes) */
	uint64_t free_bytes;       /* gaps of at least min_gap inside segments */
	uint64_t overhead_bytes;   /* shorter gaps inside segments (headers, alignment) */
	uint64_t largest_gap;
	uint64_t segments;
	uint64_t free_pages;       /* whole pages inside the segments' free gaps */
	uint64_t pages;            /* pages touched by live blocks */
	uint64_t fill_bytes;       /* Σ over touched pages of min(page, live bytes on it) */
	uint64_t cls[FRAG_NCLASS]; /* touched pages per occupancy class */
	int valid;
};

/* Block visits the walks may make (doc/analyzers-frag.md): per kind of
 * walk (bucket ends, peaks), ALLOWANCE plus one per ROWS_PER_VISIT rows. */
#define FRAG_WALK_ALLOWANCE (UINT64_C(1) << 18)
#define FRAG_WALK_ROWS_PER_VISIT 16
/* The buckets never widen below this many (or `points` when fewer): a
 * large live heap then costs its bucket walks past the budget, but the
 * series still shows the run's course. */
#define FRAG_MIN_BUCKETS 20

/* One running image's derived counters (keyed by the heap model's image
 * id; the blocks themselves are the model's). */
struct fimg {
	uint32_t id;
	int32_t pid;
	uint32_t seq, path;
	uint64_t start_ts;
	const struct mpa_image *img; /* the model's (weak; valid until its end) */
	/* counters of the program's live blocks (tracer and start-up left out) */
	uint64_t live_bytes, live_blocks, usable_bytes, usable_req, unknown_blocks;
	int dirty;                 /* changed since last_snap */
	struct fsnap last_snap;    /* the latest walk */
	uint64_t max_live, max_ts; /* the largest live_bytes and when */
	struct fsnap peak;         /* the walk at the (largest measured) peak */
	uint64_t rows_since_peak;
	struct fimg *next;         /* hash chain (weak) */
};

/* An ended image's results. */
struct fres {
	uint32_t id, seq, path;
	int32_t pid;
	uint8_t how;
	uint64_t start_ts, end_ts;
	uint64_t max_live, max_ts;
	struct fsnap peak, end;
	uint64_t pin_blocks, pin_pages;
	double pin_retained;
	/* the image's mappings at its end (the program's; the heap model's) */
	uint64_t maps, map_bytes, brk_bytes;
};

/* Per allocation stack: the blocks that pinned sparse pages at image ends. */
struct fsite {
	uint64_t blocks, live, pages;
	double retained;
	uint64_t max_age;
	uint64_t last_page;  /* dedups pages within one walk */
	uint32_t last_img;
};

/* A block's bytes on the page being laid (weak: valid during a walk). */
struct fpart {
	const struct mpa_block *b;
	uint64_t bytes;
};

/* The series: all running images summed, per time bucket. */
struct fbucket {
	uint64_t images;
	uint64_t live_bytes, usable_bytes, usable_req, unknown_blocks;
	uint64_t span, free_bytes, overhead_bytes, largest_gap, segments;
	uint64_t pages, fill_bytes, free_pages, cls[FRAG_NCLASS];
};

struct frag {
	const struct mpa_ctx *ctx; /* (weak) */
	/* options */
	uint32_t points;
	uint64_t segment_gap, min_gap, min_pages, recommend_bytes;
	double sparse_fill, threshold;
	uint32_t top_sites;
	uint64_t page_size;
	int page_size_known;       /* from the capture's topology */
	/* time buckets: `points` of `width` ns, widened by `stride` */
	uint64_t t0, width;
	struct fbucket *bk;        /* points (owned); the first nbk in use */
	uint64_t nbk, stride, cur; /* cur: the bucket in progress */
	uint64_t next_edge;        /* rows before this ts are in bucket cur */
	struct fimg *last;         /* the image of the last row (weak) */
	uint32_t widened;
	uint64_t visits_bucket, visits_peak; /* block visits of each kind of walk */
	/* running images */
	struct fimg **ih;          /* id hash (owned, with its images) */
	uint32_t ihcap, nimg;
	/* ended images */
	struct fres *res;          /* (owned) */
	uint32_t nres, capres;
	/* sites */
	struct fsite *sites;       /* nsites (owned) */
	uint32_t nsites;
	struct fpart *parts;       /* the walk's current page (owned) */
	uint32_t nparts, capparts;
	/* capture-wide */
	uint64_t rows, blocks_seen, usable_blocks_seen;
	uint64_t total_rows;       /* of the capture (chunk index), 0 unknown */
	uint64_t walks, walk_blocks;
	/* results (end) */
	int have_main;
	uint32_t main;             /* index into res of the image with the largest peak */
	int alert;
	double alert_value;
	uint32_t alert_img;
};

static inline uint64_t frag_sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* A block's extent in the address space: [ptr, ptr + max(size, usable, 1)). */
static inline uint64_t frag_extent(const struct mpa_block *b)
{
	uint64_t e = b->size > b->usable ? b->size : b->usable;
	if (!e)
		e = 1;
	if (e > UINT64_MAX - b->ptr)
		e = UINT64_MAX - b->ptr; /* clipped at the top of the space (0 at its last byte) */
	return e;
}

static inline int frag_program(const struct mpa_block *b)
{
	return b && !(b->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP));
}

/* frag_walk.c */
/* The image's address space and pages measured into s, in the state before
 * the current row (the live block at skip's address left out, the `add`
 * blocks — up to 2 — put in).  With pin (an image's end), the blocks on
 * sparse pages are also charged to their sites and to pin.  0, or -1 when
 * out of memory. */
int mpa_frag_walk(struct frag *F, const struct fimg *f, const struct mpa_image *img, uint64_t ts,
		  const struct mpa_block *skip, const struct mpa_block *const *add, unsigned nadd,
		  struct fsnap *s, struct fres *pin);

/* frag_emit.c */
int mpa_frag_emit(void *state, mpa_out *out, char *errbuf, size_t errlen);
void mpa_frag_headline(void *state, char *line, size_t len);
/* Fractions of a snapshot; NAN when undefined. */
double mpa_frag_internal(const struct fsnap *s);
double mpa_frag_external(const struct fsnap *s);
double mpa_frag_external_gap(const struct fsnap *s);
/* 0..100, or -1 when the span is below min_pages. */
int mpa_frag_health(const struct frag *F, const struct fsnap *s);

#endif /* MPA_FRAG_INTERNAL_H */
