/* Process address spaces, loaded binaries and frames, and the symbolizer.
 *
 * While converting, the sink reports what each process has loaded
 * (lttng_ust_statedump:bin_info/build_id/debug_link, lttng_ust_dl:*,
 * perf:mmap) and interns every ip it meets as a frame of the capture: the
 * frame gets its binary and offset at once when the mapping is known, so the
 * same code address in two processes with different images never shares a
 * frame.  At the end, cvt_symtab_resolve() opens each binary once with
 * elfutils (libdwfl) and fills function, file and line of every frame
 * (mpt_writer_set_frame), and writes the binaries table with build ids.
 *
 * Memory grows with processes, mappings and distinct (process image, ip)
 * pairs, never with the number of events.
 */
#ifndef MPA_CVT_SYMTAB_H
#define MPA_CVT_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

#include "cvt_wpipe.h"
#include "mpa/mpt.h"

struct cvt_symtab;

struct cvt_symstats {
	uint64_t frames;          /* distinct frames interned */
	uint64_t frames_in_binary;/* frames whose ip fell in a known mapping */
	uint64_t frames_func;     /* frames resolved to a function name */
	uint64_t frames_line;     /* frames resolved to file:line */
	uint64_t binaries;        /* mappings recorded */
	uint64_t binaries_missing;/* binaries that could not be opened */
	uint64_t build_id_mismatch; /* files whose build id differs from the trace's */
};

/* w and pipe are weak (must outlive the symtab); writer calls made while
 * converting take pipe's lock.  NULL on memory error. */
struct cvt_symtab *cvt_symtab_create(mpt_writer *w, struct cvt_wpipe *pipe);
void cvt_symtab_free(struct cvt_symtab *st);

/* A process image starts for pid (LTTng statedump start, perf exec):
 * forget its mappings. */
int cvt_symtab_new_image(struct cvt_symtab *st, int32_t pid);
/* pid was forked from ppid (perf:fork): pid starts with a copy of ppid's
 * mappings. */
int cvt_symtab_fork(struct cvt_symtab *st, int32_t pid, int32_t ppid);
/* A binary was mapped: [start, start+len) holds the file `path` whose load
 * base (address of file offset 0 / ELF vaddr 0 for PIC) is base. */
int cvt_symtab_map(struct cvt_symtab *st, int32_t pid, uint64_t start, uint64_t len,
		   uint64_t base, int is_pic, const char *path, size_t path_len);
/* Build id bytes (or hex when is_hex) of the binary mapped at base in pid. */
int cvt_symtab_build_id(struct cvt_symtab *st, int32_t pid, uint64_t base,
			const uint8_t *id, size_t len, int is_hex);
/* Debug link file name of the binary mapped at base in pid. */
int cvt_symtab_debug_link(struct cvt_symtab *st, int32_t pid, uint64_t base,
			  const char *name, size_t len);
/* The mapping at base in pid went away (dlclose). */
void cvt_symtab_unmap(struct cvt_symtab *st, int32_t pid, uint64_t base);

/* The current image id of pid (ids are unique over the conversion; a new
 * id is made for a pid seen for the first time).  0 on memory error. */
uint32_t cvt_symtab_image(struct cvt_symtab *st, int32_t pid);

/* Interns the frame for ip as seen in pid now.  exact = 1 for a sampled
 * instruction pointer, 0 for a return address (resolved at ip - 1).
 * Returns 0 and *id, or an mpt_status < 0 (err filled). */
int cvt_symtab_frame(struct cvt_symtab *st, int32_t pid, uint64_t ip, int exact,
		     uint32_t *id, struct mpt_error *err);

struct cvt_ksyms;
/* Kernel symbols (weak; may be NULL): frames of kernel addresses in no
 * mapping get their function from them at resolution. */
void cvt_symtab_set_ksyms(struct cvt_symtab *st, const struct cvt_ksyms *k);

/* Symbolizes every frame not yet written (when symbolize; else frames keep
 * only binary and offset) and writes them and the binaries not yet written
 * to the writer; stats are the totals so far.  It may run again as more
 * frames come (segments): a frame written stays as it is (one whose
 * mapping becomes known later keeps only its address). */
int cvt_symtab_resolve(struct cvt_symtab *st, int symbolize, struct cvt_symstats *stats,
		       struct mpt_error *err);

#endif /* MPA_CVT_SYMTAB_H */
