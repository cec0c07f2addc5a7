/* Shared declarations of mpa-record's modules (the CLI only; not a library):
 *   record_tools.c    running the lttng/perf/mpa-convert tools, small helpers
 *   record_session.c  recorder identity, session names, cleanup of what a
 *                     dead recorder left, the guardian, the fallback lock
 *   mpa_record.c      options and the recording itself
 * See doc/recording.md. */
#ifndef MPA_RECORD_H
#define MPA_RECORD_H

#include <stddef.h>
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

#endif
