/* mpa-record: who records (pid + start time + UTS namespace), the session
 * names that say it, the cleanup of what a dead recorder left, the guardian
 * that finishes a recorder killed with SIGKILL, and the host-wide lock of
 * recordings without isolation.  See record.h and doc/recording.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lttng/lttng.h>

#include "record.h"

#define SESSION_PREFIX "mpa-record-"
#define TRACE_PREFIX "mpa-trace-"
#define LOCK_PATH "/tmp/.mpa-record.lock"

void mpa_rec_session_name(const struct mpa_rec_id *id, char *out, size_t len)
{
	snprintf(out, len, SESSION_PREFIX "%d-%llu-%lu", (int)id->pid, id->start, id->ns);
}

void mpa_rec_trace_prefix(const struct mpa_rec_id *id, char *out, size_t len)
{
	snprintf(out, len, TRACE_PREFIX "%d-%llu-", (int)id->pid, id->start);
}

/* Parses "PREFIX<pid>-<start>" (then '-' or end); the rest in *rest. */
static int parse_id(const char *s, const char *prefix, struct mpa_rec_id *id,
	const char **rest)
{
	size_t pl = strlen(prefix);
	char *end;
	unsigned long long v;

	if (strncmp(s, prefix, pl) != 0)
		return -1;
	s += pl;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '-' || v == 0 || v > 0x7fffffff)
		return -1;
	id->pid = (pid_t)v;
	s = end + 1;
	v = strtoull(s, &end, 10);
	if (errno || end == s || (*end != '-' && *end != '\0'))
		return -1;
	id->start = v;
	*rest = end;
	return 0;
}

/* Is the recorder that owns this id still running? */
static int recorder_alive(const struct mpa_rec_id *id)
{
	unsigned long long start;

	if (mpa_rec_proc_start(id->pid, &start) != 0)
		return 0;
	return start == id->start;
}

/* Removes PATH if it is a temporary trace folder of the (dead) recorder id. */
static int remove_trace_of(const char *path, const struct mpa_rec_id *id, int verbose)
{
	char prefix[96];
	const char *base = strrchr(path, '/');
	struct stat st;

	base = base ? base + 1 : path;
	mpa_rec_trace_prefix(id, prefix, sizeof prefix);
	if (strncmp(base, prefix, strlen(prefix)) != 0 || strlen(base) != strlen(prefix) + 6)
		return 0;
	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	mpa_rec_rm_rf(path);
	if (verbose)
		fprintf(stderr, PROG_NAME ": removed '%s' (trace of dead recorder %d)\n", path,
			(int)id->pid);
	return 1;
}

int mpa_rec_cleanup(const struct mpa_rec_id *self, const char *tmpdir, int verbose)
{
	struct lttng_session *list = NULL;
	int removed = 0, n;
	DIR *d;
	struct dirent *de;

	/* through liblttng-ctl: no `lttng --mi xml list` process */
	n = lttng_list_sessions(&list);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char name[256], path[4096];
		struct mpa_rec_id id;
		const char *rest;

		snprintf(name, sizeof name, "%s", list[i].name);
		snprintf(path, sizeof path, "%s", list[i].path);
		if (parse_id(name, SESSION_PREFIX, &id, &rest) != 0)
			continue;
		/* <pid>-<start>-<ns>; older mpa-record: <pid>-<realtime ns> */
		if (*rest == '-') {
			char *e;

			errno = 0;
			(void)strtoul(rest + 1, &e, 10);
			if (errno || e == rest + 1 || *e != '\0')
				continue;
		}
		if (self && id.pid == self->pid && id.start == self->start)
			continue;
		if (*rest == '\0') {
			/* old name: the start field is a time, not a start time */
			if (kill(id.pid, 0) == 0 || errno != ESRCH)
				continue;
		} else if (recorder_alive(&id)) {
			/* a live recorder's namespace is held open by it: its
			 * inode cannot be ours, so this is never a conflict */
			continue;
		}
		{
			/* --no-wait: a session whose writer was killed in the
			 * middle of an event never completes its flush, and
			 * `lttng destroy` would wait for it for ever */
			char *destroy[] = { "lttng", "destroy", "--no-wait", name, NULL };

			if (mpa_rec_lttng("destroy", destroy, 1) != 0)
				continue; /* another cleanup was faster */
		}
		removed++;
		if (verbose)
			fprintf(stderr, PROG_NAME ": destroyed session '%s' of dead recorder %d\n",
				name, (int)id.pid);
		if (path[0])
			removed += remove_trace_of(path, &id, verbose);
	}
	free(list);

	/* temporary traces whose session is already gone */
	d = tmpdir ? opendir(tmpdir) : NULL;
	while (d && (de = readdir(d)) != NULL) {
		struct mpa_rec_id id;
		const char *rest;
		char path[4096];

		if (parse_id(de->d_name, TRACE_PREFIX, &id, &rest) != 0 || *rest != '-')
			continue;
		if ((self && id.pid == self->pid && id.start == self->start) ||
				recorder_alive(&id))
			continue;
		if (snprintf(path, sizeof path, "%s/%s", tmpdir, de->d_name) >= (int)sizeof path)
			continue;
		removed += remove_trace_of(path, &id, verbose);
	}
	if (d)
		closedir(d);
	return removed;
}

/* ---- the guardian ----------------------------------------------------------- */

static pid_t guardian_pid = -1;

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_kill(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* SIGKILL to every process whose UTS namespace is ns_fd's (held open, so
 * its inode names it alone); returns how many were signalled. */
static int kill_namespace(int ns_fd)
{
	struct stat ns;
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (fstat(ns_fd, &ns) != 0 || (d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[64];
		struct stat st;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int pfd;

		if (*end || pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof path, "/proc/%ld/ns/uts", pid);
		if (stat(path, &st) != 0 || st.st_ino != ns.st_ino || st.st_dev != ns.st_dev)
			continue;
		/* pin the process, then check again: the pid may have been reused */
		pfd = pidfd_open_((pid_t)pid);
		if (pfd < 0)
			continue;
		if (stat(path, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev &&
				pidfd_kill(pfd, SIGKILL) == 0)
			n++;
		close(pfd);
	}
	closedir(d);
	return n;
}

static void guardian_main(const struct mpa_rec_guard *g, int rfd, int child_fd)
{
	char c = 0;
	ssize_t r;

	for (;;) {
		r = read(rfd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	if (r == 1 && c == 'd')
		_exit(0);
	/* mpa-record died: finish its job */
	if (child_fd >= 0)
		pidfd_kill(child_fd, SIGKILL);
	if (g->ns_fd >= 0) {
		/* forks may race with the scan: repeat until none is left */
		for (int round = 0; round < 100 && kill_namespace(g->ns_fd) > 0; round++) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	{
		/* --no-wait: see mpa_rec_cleanup */
		char *destroy[] = { "lttng", "destroy", "--no-wait", (char *)g->session, NULL };

		mpa_rec_lttng("destroy", destroy, 1);
	}
	if (g->temp)
		mpa_rec_rm_rf(g->tracedir);
	_exit(0);
}

int mpa_rec_guardian(const struct mpa_rec_guard *g)
{
	int p[2];
	int child_fd;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	/* pinned now, while PROG is surely our child and alive */
	child_fd = pidfd_open_(g->child);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		if (child_fd >= 0)
			close(child_fd);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		int keep[3] = { p[0], child_fd, g->ns_fd };

		setsid(); /* not hit by a signal to mpa-record's process group */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGPIPE, SIG_DFL);
		if (nul >= 0) {
			/* holds no terminal or pipe of the caller's open */
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		/* nothing else of mpa-record's: no lock, no pipe of PROG's */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != keep[0] && fd != keep[1] && fd != keep[2])
				close(fd);
		guardian_main(g, p[0], child_fd);
	}
	close(p[0]);
	if (child_fd >= 0)
		close(child_fd);
	guardian_pid = pid;
	return p[1];
}

void mpa_rec_guardian_done(int fd)
{
	if (fd < 0)
		return;
	if (write(fd, "d", 1) != 1) {
		/* the guardian is gone: nothing to tell */
	}
	close(fd);
	if (guardian_pid > 0)
		while (waitpid(guardian_pid, NULL, 0) < 0 && errno == EINTR)
			;
	guardian_pid = -1;
}

/* ---- the host-wide recording lock ------------------------------------------------- */

int mpa_rec_lock(const char *what, unsigned timeout_s, int quiet)
{
	int fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	struct timespec t0, now;
	int said = 0;

	/* another user's lock file: flock works on a read-only descriptor
	 * (the holder line is then not written) */
	if (fd < 0 && errno == EACCES)
		fd = open(LOCK_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, PROG_NAME ": '%s': %s\n", LOCK_PATH, mpa_rec_errstr(errno));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char holder[512];
		ssize_t n;

		if (errno != EWOULDBLOCK && errno != EINTR) {
			fprintf(stderr, PROG_NAME ": '%s': %s\n", LOCK_PATH, mpa_rec_errstr(errno));
			close(fd);
			return -1;
		}
		n = pread(fd, holder, sizeof holder - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= (time_t)timeout_s) {
			fprintf(stderr, PROG_NAME ": gave up after %u s waiting for the recording "
				"lock '%s' held by %s\n", timeout_s, LOCK_PATH,
				holder[0] ? holder : "another process (hand-made sessions do not sign it)");
			close(fd);
			return -1;
		}
		if (!said && !quiet)
			fprintf(stderr, PROG_NAME ": waiting (up to %u s) for the recording lock "
				"'%s' held by %s\n", timeout_s, LOCK_PATH,
				holder[0] ? holder : "another process (hand-made sessions do not sign it)");
		said = 1;
		{
			struct timespec ts = { 0, 200 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	/* say who holds it, for the next one who waits */
	if (ftruncate(fd, 0) == 0) {
		char line[600];
		int len = snprintf(line, sizeof line, "pid %d ('%s')\n", (int)getpid(), what);

		if (pwrite(fd, line, (size_t)len, 0) != len) {
			/* only a courtesy to the next waiter */
		}
	}
	return fd;
}
