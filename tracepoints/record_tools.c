/* mpa-record: running the tools it drives (lttng, lttng-sessiond, perf,
 * mpa-convert) and small helpers.  See record.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"

const char *mpa_rec_errstr(int err)
{
	static char buf[128];

	snprintf(buf, sizeof buf, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

void mpa_rec_child_setup(int deathsig, pid_t parent)
{
	signal(SIGPIPE, SIG_DFL);
	if (deathsig)
		prctl(PR_SET_PDEATHSIG, deathsig);
	/* mpa-record died between fork and prctl: nobody would send it */
	if (getppid() != parent)
		_exit(127);
}

int mpa_rec_run(char *const argv[], char *err, size_t errlen, char *out, size_t outlen,
	int deathsig)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	pid_t self = getpid(), pid;
	int status;

	if (err && errlen)
		err[0] = '\0';
	if (out && outlen)
		out[0] = '\0';
	pid = fork();
	if (pid < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		mpa_rec_child_setup(deathsig, self);
		if (nul >= 0)
			dup2(nul, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		} else if (nul >= 0) {
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (fd >= 0 && out && outlen) {
		size_t got = 0;
		ssize_t n;

		while (got + 1 < outlen &&
				(n = pread(fd, out + got, outlen - 1 - got, (off_t)got)) > 0)
			got += (size_t)n;
		out[got] = '\0';
	}
	if (fd >= 0 && err && errlen) {
		char buf[4096];
		struct stat st;
		off_t from = 0;
		ssize_t n;

		/* the last line is in the file's tail */
		if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof buf - 1)
			from = st.st_size - (off_t)sizeof buf + 1;
		n = pread(fd, buf, sizeof buf - 1, from);
		if (n > 0) {
			char *line, *save = NULL, *last = NULL;

			buf[n] = '\0';
			for (line = strtok_r(buf, "\n", &save); line;
					line = strtok_r(NULL, "\n", &save))
				if (*line)
					last = line;
			if (last)
				snprintf(err, errlen, "%s", last);
		}
	}
	if (fd >= 0)
		close(fd);
	if (status == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int mpa_rec_lttng(const char *what, char *const argv[], int quiet)
{
	char err[512];
	int rc = mpa_rec_run(argv, err, sizeof err, NULL, 0, SIGKILL);

	if (rc != 0) {
		if (!quiet)
			fprintf(stderr, PROG_NAME ": lttng %s failed%s%s\n", what,
				err[0] ? ": " : "", err);
		return -1;
	}
	return 0;
}

int mpa_rec_ensure_sessiond(void)
{
	char *list[] = { "lttng", "list", NULL };
	char *start[] = { "lttng-sessiond", "--daemonize", NULL };
	char err[512];
	int rc;

	rc = mpa_rec_run(list, NULL, 0, NULL, 0, SIGKILL);
	if (rc == 0)
		return 0;
	if (rc == 127 || rc == -1) {
		fprintf(stderr, PROG_NAME ": cannot run 'lttng' (is lttng-tools installed?)\n");
		return -1;
	}
	/* the daemon outlives us: no death signal.  When it fails because
	 * another recorder started one a moment before us ("already
	 * running"), that daemon may not answer yet: wait for it as for ours */
	int started = mpa_rec_run(start, err, sizeof err, NULL, 0, 0) == 0;
	int racing = !started && strstr(err, "already running") != NULL;
	for (int i = 0; (started || racing) && i < 100; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		if (mpa_rec_run(list, NULL, 0, NULL, 0, SIGKILL) == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	if (!started) {
		fprintf(stderr, PROG_NAME ": no LTTng session daemon is running and "
			"'lttng-sessiond --daemonize' failed%s%s%s\n", err[0] ? ": " : "", err,
			geteuid() == 0 ? "" : " (start one as root for the host, or let "
			"this user run its own)");
		return -1;
	}
	fprintf(stderr, PROG_NAME ": 'lttng-sessiond' started but does not answer "
		"'lttng list' after 10 s\n");
	return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

void mpa_rec_rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int mpa_rec_proc_start(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024];
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: fields start
	 * after the last ')'; starttime is field 22, the 20th after it */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return -1;
	}
	return sscanf(p, " %llu", start) == 1 ? 0 : -1;
}
