/* Shared declarations of mpa-record's modules (the CLI only; not a library):
 *   record_tools.c    running the lttng/perf/mpa-convert tools, small helpers
 *   record_session.c  recorder identity, session names, cleanup of what a
 *                     dead recorder left, the guardian, the fallback lock
 *   record_lttng.c    the session through liblttng-ctl (set-up, stop, destroy,
 *                     rotate)
 *   record_rotate.c   conversion while recording (rotation, chunks handed to
 *                     mpa-convert --chunks), the discarded-events count
 *   mpa_record.c      options and the recording itself
 * See doc/recording.md. */
#ifndef MPA_RECORD_H
#define MPA_RECORD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROG_NAME "mpa-record"

/* strerror with a lower-case first letter (CLI message style); static buffer */
const char *mpa_rec_errstr(int err);

/* In a freshly forked child: die with `deathsig` when mpa-record dies
 * (PR_SET_PDEATHSIG; exits at once if it already did), default SIGPIPE. */
void mpa_rec_child_setup(int deathsig, pid_t parent);

/* Runs argv with stdin on /dev/null and stdout+stderr into a temporary
 * file; the last non-empty line is copied into err (if errlen), the whole
 * output (cut at outlen - 1) into out (if outlen).  The child dies with
 * `deathsig` if mpa-record dies first.  Returns the exit status (128 +
 * signal), or -1 if it could not run. */
int mpa_rec_run(char *const argv[], char *err, size_t errlen, char *out, size_t outlen,
	int deathsig);

/* Runs an lttng command; on failure prints "mpa-record: lttng WHAT failed:
 * REASON" (unless quiet) and returns -1. */
int mpa_rec_lttng(const char *what, char *const argv[], int quiet);

/* A session daemon answers `lttng list`, started if needed; -1 and one
 * line on stderr if not. */
int mpa_rec_ensure_sessiond(void);

void mpa_rec_rm_rf(const char *path);

/* Start time of a process (/proc/PID/stat field 22, clock ticks since
 * boot): with the pid, it names one process for the life of the host. */
int mpa_rec_proc_start(pid_t pid, unsigned long long *start);

/* ---- record_session.c ---------------------------------------------------- */

/* Who records: the recorder's pid and start time, and the inode of the
 * traced tree's UTS namespace (0 without isolation). */
struct mpa_rec_id {
	pid_t pid;
	unsigned long long start;
	unsigned long ns;
};

/* Session name "mpa-record-<pid>-<start>-<ns>". */
void mpa_rec_session_name(const struct mpa_rec_id *id, char *out, size_t len);

/* Prefix of the temporary trace folder "mpa-trace-<pid>-<start>-" (mkdtemp
 * adds six characters). */
void mpa_rec_trace_prefix(const struct mpa_rec_id *id, char *out, size_t len);

/* Destroys every mpa-record session whose recorder is gone (never self's)
 * and removes the temporary trace folders of dead recorders (named in such
 * a session, or found in tmpdir).  Sessions of live recorders and sessions
 * that are not mpa-record's are never touched.  Prints one line per thing
 * removed when verbose.  Returns the number of things removed, -1 when the
 * sessions could not be listed. */
int mpa_rec_cleanup(const struct mpa_rec_id *self, const char *tmpdir, int verbose);

/* What the guardian finishes if mpa-record dies without saying "done". */
struct mpa_rec_guard {
	const char *session;  /* weak */
	const char *tracedir; /* weak; removed when temp */
	int temp;             /* tracedir is mpa-record's temporary folder */
	int ns_fd;            /* the traced tree's /proc/PID/ns/uts, or -1 */
	pid_t child;          /* PROG */
};

/* Forks the guardian (its own process group, stdio on /dev/null): when
 * mpa-record dies without mpa_rec_guardian_done, it kills PROG and every
 * process in its UTS namespace, destroys the session and removes the
 * temporary trace.  Returns the write end of its pipe, or -1. */
int mpa_rec_guardian(const struct mpa_rec_guard *g);

/* Tells the guardian that everything is finished, and reaps it. */
void mpa_rec_guardian_done(int fd);

/* The host-wide lock /tmp/.mpa-record.lock (flock, exclusive), taken only
 * by recordings without isolation (and by hand-made sessions that must be
 * alone, like the test suite's).  Waits at most timeout_s seconds, saying
 * who holds it; returns its fd, or -1 after one error line. */
int mpa_rec_lock(const char *what, unsigned timeout_s, int quiet);

/* ---- record_lttng.c -------------------------------------------------------- */

struct mpa_rec_session_cfg {
	const char *session;      /* name */
	const char *tracedir;     /* output folder */
	const char *subbuf_size;  /* "4M" ... (rounded up to a power of two) */
	const char *num_subbuf;
	const char *filter;       /* every event rule's filter, or NULL */
	int lossless;             /* blocking channel */
	int with_ip;              /* add the ip context (some stack is off) */
};

/* Creates the session (*made = 1 once it exists), its channel `mpa`
 * (contexts vpid, vtid, and ip when with_ip), the event rules mpa:*, lttng_ust_statedump:*,
 * lttng_ust_dl:*, and starts it.  0, or -1 after one error line. */
int mpa_rec_ctl_setup(const struct mpa_rec_session_cfg *c, int *made);

/* Stops the session and waits until its data is written; 0 or -1 (one line). */
int mpa_rec_ctl_stop(const char *session);

/* Destroys the session, waiting for its end (and, for a session that was
 * rotated, the archiving of its last chunk); 0 or -1 (one line). */
int mpa_rec_ctl_destroy(const char *session);

/* The same in two steps: the destruction runs while the caller converts
 * (the trace is complete once stopped); NULL or -1 after one line. */
void *mpa_rec_ctl_destroy_start(const char *session);
int mpa_rec_ctl_destroy_wait(void *handle);

/* Asks for a rotation (no wait); 0 or -1 (one already pending, ...). */
int mpa_rec_ctl_rotate(const char *session);

/* Rotates a stopped session and waits until its last chunk is archived;
 * 0 or -1 (one line). */
int mpa_rec_ctl_rotate_wait(const char *session);

/* ---- record_rotate.c --------------------------------------------------------- */

/* The last events_discarded of each stream (by its path under the folder
 * counted), and packets that could not be read. */
struct mpa_rec_lost {
	char **rel;
	uint64_t *last;
	size_t n;
	unsigned bad;
};

/* Reads the packet headers of the stream files under dir into acc (a
 * stream seen again, in a later chunk, takes its later count). */
void mpa_rec_count_discarded(const char *dir, struct mpa_rec_lost *acc);
uint64_t mpa_rec_lost_total(const struct mpa_rec_lost *l);
void mpa_rec_lost_free(struct mpa_rec_lost *l);

/* Conversion while recording. */
struct mpa_rec_rot {
	/* set by the caller */
	const char *session;          /* weak */
	const char *tracedir;         /* weak */
	unsigned long long chunk_bytes; /* rotate when the current chunk holds this */
	unsigned long long first_bytes; /* ... and the first chunk this */
	char **argv;                  /* the converter (started at the first rotation), or NULL */
	/* state */
	pid_t conv;                   /* mpa-convert --chunks, or -1 (chunks kept) */
	int conv_in;                  /* its stdin, or -1 */
	char errfile[PATH_MAX];       /* its output */
	unsigned long next_index;     /* the next archive to hand over */
	unsigned sent, rotations, peak_chunks;
	unsigned long long sent_bytes; /* disk use of the chunks handed over */
	struct mpa_rec_lost lost;     /* of the chunks handed over */
};

/* Starts argv (mpa-convert --chunks ...) with its stdin on a pipe and its
 * output into a temporary file; 0 or -1. */
int mpa_rec_rot_start(struct mpa_rec_rot *r, char *const argv[]);

/* Every 20 ms: hands over the chunks archived in order and rotates when
 * the current chunk is full (only while prog_running), starting the
 * converter (argv) at the first rotation.  0, or -1 when the converter is
 * gone or could not start. */
int mpa_rec_rot_poll(struct mpa_rec_rot *r, int prog_running);

/* Hands over the last chunks (the session destroyed), ends the
 * converter's input and waits for it; with abort, SIGTERM instead.  0 when
 * the capture is complete; otherwise -1 with the converter's last line in
 * err. */
int mpa_rec_rot_finish(struct mpa_rec_rot *r, int abort, char *err, size_t errlen);

#endif
