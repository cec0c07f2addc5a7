/* mpa-record: record a program's memory activity with LTTng-UST (the `mpa`
 * hooks) and optionally perf, then convert the trace to a .mpt capture.
 *
 *   mpa-record [-o capture.mpt] [--keep-trace DIR] [--kernel] [--cache]
 *              [--stack-depth N] [--free-stack-depth N]
 *              [--unwind fp|libunwind] [--lossless]
 *              [--subbuf-size SIZE] [--num-subbuf N] [-q] -- PROG ARGS
 *
 * Drives the `lttng` and `perf` command-line tools (fork/exec); see
 * doc/recording.md for the equivalent manual recipe.  Exits with PROG's
 * status (128 + signal number if PROG was killed by a signal).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/file.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MPA_INSTALL_LIBDIR
#define MPA_INSTALL_LIBDIR "/usr/local/lib"
#endif

#define PROG_NAME "mpa-record"
#define MPA_LOCK_PATH "/tmp/.mpa-record.lock"

struct opts {
	const char *output;      /* .mpt to write (NULL = only keep the trace) */
	const char *keep_dir;    /* --keep-trace DIR */
	int kernel;
	int cache;
	int lossless;
	int no_leak_scan;        /* --no-leak-scan: no live-block set, no exit scan */
	int quiet;
	unsigned stack_depth;
	int free_stack_depth;    /* -1 = same as stack_depth */
	const char *unwind;
	const char *subbuf_size;
	const char *num_subbuf;
	char **argv;             /* PROG ARGS (weak: points into main's argv) */
};

static volatile sig_atomic_t got_signal;
static volatile pid_t child_pid;

/* A signal from the terminal (^C: si_code SI_KERNEL) already reached PROG,
 * which is in our process group; one sent to mpa-record alone (kill) is
 * passed on. */
static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	got_signal = sig;
	if (child_pid > 0 && (info == NULL || info->si_code != SI_KERNEL))
		kill(child_pid, sig);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG_NAME " [-o capture.mpt] [--keep-trace DIR] [--kernel] [--cache]\n"
		"                  [--stack-depth N] [--free-stack-depth N] [--unwind fp|libunwind]\n"
		"                  [--lossless] [--no-leak-scan] [--subbuf-size SIZE] [--num-subbuf N] [-q]\n"
		"                  -- PROG [ARGS...]\n");
}

/* strerror, lower-case first letter (CLI message style) */
static const char *errstr(int err)
{
	static char buf[128];

	snprintf(buf, sizeof buf, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* ---- running tools --------------------------------------------------------- */

/* Runs argv; its stdout and stderr go to a temporary file whose last line is
 * copied into `err` (for the one-line error message).  Returns the exit
 * status, or -1 if it could not run. */
static int run_quiet(char *const argv[], char *err, size_t errlen)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	pid_t pid;
	int status;

	if (err && errlen)
		err[0] = '\0';
	pid = fork();
	if (pid < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

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
	if (fd >= 0 && err && errlen) {
		char buf[4096];
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

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

/* Runs an lttng command; on failure prints one line and returns -1. */
static int lttng(const char *what, char *const argv[])
{
	char err[512];
	int rc = run_quiet(argv, err, sizeof err);

	if (rc != 0) {
		fprintf(stderr, PROG_NAME ": lttng %s failed%s%s\n", what,
			err[0] ? ": " : "", err);
		return -1;
	}
	return 0;
}

static int ensure_sessiond(void)
{
	char *list[] = { "lttng", "list", NULL };
	char *start[] = { "lttng-sessiond", "--daemonize", NULL };
	char err[512];

	if (run_quiet(list, NULL, 0) == 0)
		return 0;
	if (run_quiet(start, err, sizeof err) != 0 && run_quiet(list, NULL, 0) != 0) {
		fprintf(stderr, PROG_NAME ": cannot start 'lttng-sessiond'%s%s\n",
			err[0] ? ": " : "", err);
		return -1;
	}
	for (int i = 0; i < 50; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		if (run_quiet(list, NULL, 0) == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, PROG_NAME ": 'lttng-sessiond' does not answer\n");
	return -1;
}

/* ---- paths ------------------------------------------------------------------ */

static int self_dir(char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= len - 1) /* none, or possibly cut */
		return -1;
	out[n] = '\0';
	slash = strrchr(out, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	return 0;
}

static int find_preload(char *out, size_t len)
{
	const char *env = getenv("MPA_PRELOAD");
	char dir[PATH_MAX];

	if (env && *env) {
		if (access(env, R_OK) != 0) {
			fprintf(stderr, PROG_NAME ": 'MPA_PRELOAD=%s': %s\n", env,
				errstr(errno));
			return -1;
		}
		if (env[0] == '/')
			snprintf(out, len, "%s", env);
		else if (realpath(env, out) == NULL)
			return -1;
		return 0;
	}
	if (self_dir(dir, sizeof dir) == 0) {
		if (snprintf(out, len, "%s/../lib/libmpa-preload.so", dir) < (int)len &&
				access(out, R_OK) == 0)
			return 0;
	}
	snprintf(out, len, "%s/libmpa-preload.so", MPA_INSTALL_LIBDIR);
	if (access(out, R_OK) == 0)
		return 0;
	fprintf(stderr, PROG_NAME ": cannot find 'libmpa-preload.so' (set MPA_PRELOAD)\n");
	return -1;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- discarded events --------------------------------------------------------- */

/* LTTng-UST 2.13 stream files are sequences of packets whose header and
 * context have a fixed layout (see the trace's metadata):
 *   0 magic u32 (0xC1FC1FC1), 4 uuid[16], 20 stream_id u32,
 *   24 stream_instance_id u64, 32 timestamp_begin, 40 timestamp_end,
 *   48 content_size (bits), 56 packet_size (bits), 64 packet_seq_num,
 *   72 events_discarded (cumulative for the stream), 80 cpu_id u32.
 * The discarded count of a stream is the last packet's events_discarded. */
#define CTF_MAGIC 0xC1FC1FC1u
#define PKT_HDR_LEN 88

struct lost_sum {
	uint64_t discarded;
	unsigned streams;
	unsigned bad;
};

static struct lost_sum lost_acc;

static int metadata_sibling(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	snprintf(slash + 1, sizeof dir - (size_t)(slash + 1 - dir), "metadata");
	return access(dir, R_OK) == 0;
}

static int count_stream(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	unsigned char hdr[PKT_HDR_LEN];
	uint64_t off = 0, last = 0;
	int fd;

	if (flag != FTW_F || strcmp(base, "metadata") == 0 || base[0] == '.' ||
			!metadata_sibling(path))
		return 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	while (off + PKT_HDR_LEN <= (uint64_t)st->st_size) {
		uint32_t magic;
		uint64_t psize;

		if (pread(fd, hdr, sizeof hdr, (off_t)off) != (ssize_t)sizeof hdr)
			break;
		memcpy(&magic, hdr, 4);
		memcpy(&psize, hdr + 56, 8);
		if (magic != CTF_MAGIC || psize % 8 || psize / 8 < PKT_HDR_LEN ||
				psize / 8 > (uint64_t)st->st_size - off) {
			lost_acc.bad++;
			break;
		}
		memcpy(&last, hdr + 72, 8);
		off += psize / 8;
	}
	close(fd);
	lost_acc.discarded += last;
	lost_acc.streams++;
	return 0;
}

static struct lost_sum count_discarded(const char *dir)
{
	memset(&lost_acc, 0, sizeof lost_acc);
	nftw(dir, count_stream, 16, FTW_PHYS);
	return lost_acc;
}

/* ---- perf ---------------------------------------------------------------------- */

static pid_t start_perf(char *const argv[], const char *datafile)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		setpgid(0, 0); /* not hit by the terminal's ^C: we stop it ourselves */
		execvp(argv[0], argv);
		_exit(127);
	}
	/* perf writes its file header once the events are open */
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 30 * 1000 * 1000 };
		struct stat st;
		int status;

		if (stat(datafile, &st) == 0 && st.st_size > 0) {
			nanosleep(&ts, NULL);
			return pid;
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		nanosleep(&ts, NULL);
	}
	return pid;
}

static int stop_perf(pid_t pid)
{
	int status;

	if (pid <= 0)
		return -1;
	kill(pid, SIGINT);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int perf_convert(const char *data, const char *ctfdir)
{
	char to[PATH_MAX + 16];
	char *argv[] = { "perf", "data", "convert", "-i", (char *)data, to, NULL };
	char err[512];

	snprintf(to, sizeof to, "--to-ctf=%s", ctfdir);
	if (run_quiet(argv, err, sizeof err) != 0) {
		fprintf(stderr, PROG_NAME ": perf data convert of '%s' failed%s%s\n",
			data, err[0] ? ": " : "", err);
		return -1;
	}
	return 0;
}

/* Can this kernel count a hardware event?  (perf_event_open on ourselves) */
static int hw_event_works(uint32_t type, uint64_t config)
{
	struct perf_event_attr attr;
	long fd;

	memset(&attr, 0, sizeof attr);
	attr.size = sizeof attr;
	attr.type = type;
	attr.config = config;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0)
		return 0;
	close((int)fd);
	return 1;
}

/* Picks what --cache records, and says why. */
static const char *cache_event(void)
{
	if (access("/sys/bus/event_source/devices/cpu/events/mem-loads", R_OK) == 0 &&
			access("/sys/bus/event_source/devices/cpu/events/mem-stores", R_OK) == 0) {
		char *argv[] = { "perf", "stat", "-e", "cpu/mem-loads/,cpu/mem-stores/",
			"--", "true", NULL };

		if (run_quiet(argv, NULL, 0) == 0) {
			fprintf(stderr, PROG_NAME ": cache: the PMU has mem-loads and mem-stores: "
				"recording them with data addresses\n");
			return "cpu/mem-loads/pp,cpu/mem-stores/pp";
		}
	}
	if (hw_event_works(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES)) {
		fprintf(stderr, PROG_NAME ": cache: no mem-loads/mem-stores on this PMU; "
			"recording cache-misses with data addresses\n");
		return "cache-misses";
	}
	fprintf(stderr, PROG_NAME ": cache: no hardware PMU counters here "
		"(no mem-loads, mem-stores, cache-misses); recording page-faults "
		"with data addresses instead\n");
	return "page-faults";
}

/* ---- main ------------------------------------------------------------------------- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_KEEP = 1000, O_KERNEL, O_CACHE, O_DEPTH, O_LOSSLESS, O_UNWIND, O_NO_LEAK_SCAN,
		O_SUBBUF, O_NSUBBUF, O_FDEPTH };
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "keep-trace", required_argument, NULL, O_KEEP },
		{ "kernel", no_argument, NULL, O_KERNEL },
		{ "cache", no_argument, NULL, O_CACHE },
		{ "stack-depth", required_argument, NULL, O_DEPTH },
		{ "free-stack-depth", required_argument, NULL, O_FDEPTH },
		{ "unwind", required_argument, NULL, O_UNWIND },
		{ "lossless", no_argument, NULL, O_LOSSLESS },
		{ "no-leak-scan", no_argument, NULL, O_NO_LEAK_SCAN },
		{ "subbuf-size", required_argument, NULL, O_SUBBUF },
		{ "num-subbuf", required_argument, NULL, O_NSUBBUF },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof *o);
	o->stack_depth = 16;
	o->free_stack_depth = -1;
	o->subbuf_size = "4M";
	o->num_subbuf = "8";
	while ((c = getopt_long(argc, argv, "+o:qh", lopts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'o': o->output = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'h': usage(stdout); exit(0);
		case O_KEEP: o->keep_dir = optarg; break;
		case O_KERNEL: o->kernel = 1; break;
		case O_CACHE: o->cache = 1; break;
		case O_LOSSLESS: o->lossless = 1; break;
		case O_NO_LEAK_SCAN: o->no_leak_scan = 1; break;
		case O_SUBBUF: o->subbuf_size = optarg; break;
		case O_NSUBBUF: o->num_subbuf = optarg; break;
		case O_UNWIND:
			if (strcmp(optarg, "fp") != 0 && strcmp(optarg, "libunwind") != 0) {
				fprintf(stderr, PROG_NAME ": --unwind '%s': expected fp or libunwind\n",
					optarg);
				return -1;
			}
			o->unwind = optarg;
			break;
		case O_DEPTH:
		case O_FDEPTH:
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v > 128) {
				fprintf(stderr, PROG_NAME ": --%s '%s': expected 0 to 128\n",
					c == O_DEPTH ? "stack-depth" : "free-stack-depth", optarg);
				return -1;
			}
			if (c == O_DEPTH)
				o->stack_depth = (unsigned)v;
			else
				o->free_stack_depth = (int)v;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	o->argv = argv + optind;
	if (o->output == NULL && o->keep_dir == NULL)
		o->output = "capture.mpt";
	return 0;
}

/* -o, checked before anything runs: PATH must not be a directory, and its
 * folder must take a new file, as the converter will need (it writes
 * PATH.tmp.<pid> there, then renames it to PATH).  The probe file is
 * removed at once: no file appears under PATH before the capture is
 * complete. */
static int check_output(const char *path)
{
	char tmp[PATH_MAX];
	struct stat st;
	int fd;

	if (*path == '\0') {
		errno = ENOENT;
		goto fail;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	close(fd);
	unlink(tmp);
	return 0;
fail:
	fprintf(stderr, PROG_NAME ": cannot write '%s': %s\n", path, errstr(errno));
	return -1;
}

/* ---- the shallow-stack warning ------------------------------------------------- */

/* Every traced process appends "WALKS SHALLOW" at its exit to this file
 * (MPA_STACK_STATS, preload_stack.c): its frame-pointer walks, and those
 * that stopped after the caller's frame. */
static char stats_path[PATH_MAX];

static void stats_open(void)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	if (snprintf(stats_path, sizeof stats_path, "%s/mpa-stack-stats-XXXXXX",
			tmp && *tmp ? tmp : "/tmp") >= (int)sizeof stats_path ||
			(fd = mkstemp(stats_path)) < 0) {
		stats_path[0] = '\0';
		return;
	}
	close(fd);
	setenv("MPA_STACK_STATS", stats_path, 1);
}

static void stats_close(void)
{
	if (stats_path[0])
		unlink(stats_path);
	stats_path[0] = '\0';
}

/* Most walks stopped after one frame: the program (or the libraries that
 * allocate) was built without frame pointers, and every site will read
 * "xmalloc (bash)".  Says so, with the remedy; removes the file. */
static void stats_warn(const struct opts *o)
{
	FILE *f = stats_path[0] ? fopen(stats_path, "r") : NULL;
	unsigned long long w, sh, walks = 0, shallow = 0;

	if (f == NULL) {
		stats_close();
		return;
	}
	while (fscanf(f, "%llu %llu", &w, &sh) == 2) {
		walks += w;
		shallow += sh;
	}
	fclose(f);
	stats_close();
	if ((o->unwind == NULL || strcmp(o->unwind, "fp") == 0) && o->stack_depth > 1 &&
			walks >= 64 && shallow * 2 >= walks)
		fprintf(stderr, PROG_NAME ": warning: %llu of %llu call stacks stopped after one "
			"frame (code built without frame pointers): sites will name allocation "
			"wrappers, not their callers; record with '--unwind libunwind' for full "
			"stacks\n", shallow, walks);
}

/* Child side: wait for the go from the parent, then exec PROG. */
static void exec_child(const struct opts *o, const char *preload, int go_fd)
{
	char buf[PATH_MAX * 2];
	const char *old = getenv("LD_PRELOAD");
	char depth[16];
	char c;

	if (snprintf(buf, sizeof buf, "%s:liblttng-ust-fork.so:liblttng-ust-dl.so%s%s",
			preload, old && *old ? ":" : "", old && *old ? old : "") >= (int)sizeof buf) {
		/* a cut LD_PRELOAD would name a library that does not exist */
		fprintf(stderr, PROG_NAME ": LD_PRELOAD is too long\n");
		_exit(127);
	}
	setenv("LD_PRELOAD", buf, 1);
	snprintf(depth, sizeof depth, "%u", o->stack_depth);
	setenv("MPA_STACK_DEPTH", depth, 1);
	if (o->free_stack_depth >= 0) {
		snprintf(depth, sizeof depth, "%d", o->free_stack_depth);
		setenv("MPA_FREE_STACK_DEPTH", depth, 1);
	}
	if (o->unwind)
		setenv("MPA_UNWIND", o->unwind, 1);
	if (o->lossless)
		setenv("LTTNG_UST_ALLOW_BLOCKING", "1", 1);
	/* the exit-time reachability scan (leak kinds) is on by default */
	setenv("MPA_LEAK_SCAN", o->no_leak_scan ? "0" : "1", 1);
	/* lttng-ust waits this long (ms) at start for the session daemon to
	 * enable its events; past it the program runs untraced until then.
	 * The default, 3 s, is short on a loaded machine. */
	setenv("LTTNG_UST_REGISTER_TIMEOUT", "30000", 0);
	while (read(go_fd, &c, 1) < 0 && errno == EINTR)
		;
	close(go_fd);
	execvp(o->argv[0], o->argv);
	fprintf(stderr, PROG_NAME ": cannot run '%s': %s\n", o->argv[0], errstr(errno));
	_exit(127);
}

int main(int argc, char **argv)
{
	struct opts o;
	char preload[PATH_MAX], tracedir[PATH_MAX], session[128];
	char outarg[PATH_MAX + 16], kdata[PATH_MAX + 32], cdata[PATH_MAX + 32];
	char kctf[PATH_MAX + 32], cctf[PATH_MAX + 32];
	const char *cache_ev = NULL;
	pid_t kperf = -1, cperf = -1, pid;
	int go[2], status = 0, rc = 0, session_made = 0, exit_code;
	struct sigaction sa;
	struct lost_sum lost;
	int lock_fd;

	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	/* a bad -o is found now, not after PROG ran */
	if (o.output && check_output(o.output) != 0)
		return 2;
	if (find_preload(preload, sizeof preload) != 0)
		return 2;
	if (ensure_sessiond() != 0)
		return 2;

	if (o.keep_dir) {
		DIR *d;
		struct dirent *de;
		int used = 0;

		if (mkdir_p(o.keep_dir) != 0 || realpath(o.keep_dir, tracedir) == NULL) {
			fprintf(stderr, PROG_NAME ": '%s': %s\n", o.keep_dir, errstr(errno));
			return 2;
		}
		/* LTTng would add this session's streams to an older trace */
		d = opendir(tracedir);
		while (d && (de = readdir(d)) != NULL)
			used |= strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
		if (d)
			closedir(d);
		if (used) {
			fprintf(stderr, PROG_NAME ": '%s': not empty (--keep-trace wants a new "
				"or empty folder)\n", o.keep_dir);
			return 2;
		}
	} else {
		const char *tmp = getenv("TMPDIR");

		if (snprintf(tracedir, sizeof tracedir, "%s/mpa-record-XXXXXX",
				tmp && *tmp ? tmp : "/tmp") >= (int)sizeof tracedir) {
			fprintf(stderr, PROG_NAME ": TMPDIR is too long\n");
			return 2;
		}
		if (mkdtemp(tracedir) == NULL) {
			fprintf(stderr, PROG_NAME ": '%s': %s\n", tracedir, errstr(errno));
			return 2;
		}
	}
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(session, sizeof session, "mpa-record-%d-%lld%09ld", (int)getpid(),
			(long long)ts.tv_sec, ts.tv_nsec);
	}

	/* One mpa-record at a time on a host: an LTTng-UST session records
	 * every registered application whose events it enables, so two
	 * concurrent sessions enabling mpa:* would each record the other's
	 * program.  flock is released when we exit, whatever happens. */
	lock_fd = open(MPA_LOCK_PATH, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (lock_fd >= 0 && flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (!o.quiet)
			fprintf(stderr, PROG_NAME ": waiting for another " PROG_NAME
				" to finish ('%s')\n", MPA_LOCK_PATH);
		while (flock(lock_fd, LOCK_EX) != 0 && errno == EINTR)
			;
	}

	/* signals: forward to PROG, always clean up the session */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);

	{
		char outopt[PATH_MAX + 16];
		char subbuf[64], nsub[64];
		char *create[] = { "lttng", "create", session, outopt, NULL };
		char *chan[] = { "lttng", "enable-channel", "-u", "-s", session, subbuf,
			nsub, "mpa", NULL, NULL };
		char *ctx[] = { "lttng", "add-context", "-u", "-s", session, "-c", "mpa",
			"-t", "vpid", "-t", "vtid", "-t", "ip", NULL };
		char *ev[] = { "lttng", "enable-event", "-u", "-s", session, "-c", "mpa",
			"mpa:*,lttng_ust_statedump:*,lttng_ust_dl:*", NULL };
		char *start[] = { "lttng", "start", session, NULL };

		snprintf(outopt, sizeof outopt, "--output=%s", tracedir);
		snprintf(subbuf, sizeof subbuf, "--subbuf-size=%s", o.subbuf_size);
		snprintf(nsub, sizeof nsub, "--num-subbuf=%s", o.num_subbuf);
		if (o.lossless)
			chan[8] = "--blocking-timeout=inf";
		if (lttng("create", create) != 0) {
			rc = 2;
			goto out;
		}
		session_made = 1;
		if (lttng("enable-channel", chan) != 0 || lttng("add-context", ctx) != 0 ||
				lttng("enable-event", ev) != 0 || lttng("start", start) != 0) {
			rc = 2;
			goto out;
		}
	}

	if (got_signal) { /* interrupted while setting up: do not start PROG */
		rc = 128 + got_signal;
		goto out;
	}
	stats_open();
	if (pipe(go) != 0) {
		fprintf(stderr, PROG_NAME ": pipe: %s\n", errstr(errno));
		rc = 2;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, PROG_NAME ": fork: %s\n", errstr(errno));
		rc = 2;
		goto out;
	}
	if (pid == 0) {
		close(go[1]);
		exec_child(&o, preload, go[0]);
	}
	close(go[0]);
	child_pid = pid;

	if (o.kernel) {
		char *pargv[] = { "perf", "record", "-q", "-k", "mono", "-a", "-e",
			"kmem:kmalloc,kmem:kfree,kmem:kmem_cache_alloc,kmem:kmem_cache_free,"
			"kmem:mm_page_alloc,kmem:mm_page_free", "-o", kdata, NULL };

		snprintf(kdata, sizeof kdata, "%s/perf-kmem.data", tracedir);
		kperf = start_perf(pargv, kdata);
		if (kperf < 0)
			fprintf(stderr, PROG_NAME ": --kernel: 'perf record' did not start; "
				"recording without kernel events\n");
	}
	if (o.cache) {
		char pidbuf[32];
		char *pargv[] = { "perf", "record", "-q", "-k", "mono", "-d", "-e", NULL,
			"-p", pidbuf, "-o", cdata, NULL, NULL, NULL };

		cache_ev = cache_event();
		pargv[7] = (char *)cache_ev;
		if (strcmp(cache_ev, "page-faults") == 0) {
			/* software event: every fault, not a 4 kHz sample */
			pargv[12] = "-c";
			pargv[13] = "1";
		}
		snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
		snprintf(cdata, sizeof cdata, "%s/perf-cache.data", tracedir);
		cperf = start_perf(pargv, cdata);
		if (cperf < 0)
			fprintf(stderr, PROG_NAME ": --cache: 'perf record' did not start; "
				"recording without cache samples\n");
	}

	/* go */
	if (write(go[1], "g", 1) != 1) {
		/* the child reads EOF as go too */
	}
	close(go[1]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = 0;
			break;
		}
	}
	child_pid = 0;
	exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	if (kperf > 0)
		stop_perf(kperf);
	if (cperf > 0)
		stop_perf(cperf);
	{
		char *stop[] = { "lttng", "stop", session, NULL };

		if (lttng("stop", stop) != 0)
			rc = 2;
	}
	rc = rc ? rc : exit_code;
out:
	if (session_made) {
		char *destroy[] = { "lttng", "destroy", session, NULL };

		if (lttng("destroy", destroy) != 0 && rc == 0)
			rc = 2;
	}
	if (lock_fd >= 0)
		close(lock_fd);
	if (!session_made) {
		stats_close();
		if (!o.keep_dir)
			rm_rf(tracedir);
		return rc;
	}

	lost = count_discarded(tracedir);
	if (lost.streams == 0) {
		stats_close();
		fprintf(stderr, PROG_NAME ": nothing was recorded (did '%s' start?)\n",
			o.argv[0]);
		if (!o.keep_dir)
			rm_rf(tracedir);
		return rc ? rc : 2;
	}
	if (lost.discarded)
		fprintf(stderr, PROG_NAME ": warning: the tracer discarded %llu events "
			"(channel too small for the allocation rate: try --lossless or a "
			"larger --subbuf-size)\n", (unsigned long long)lost.discarded);
	else if (!o.quiet)
		fprintf(stderr, PROG_NAME ": %u streams, no events lost\n", lost.streams);
	if (lost.bad)
		fprintf(stderr, PROG_NAME ": warning: %u stream files in '%s' have "
			"unreadable packets\n", lost.bad, tracedir);
	stats_warn(&o);

	kctf[0] = cctf[0] = '\0';
	if (kperf > 0) {
		snprintf(kctf, sizeof kctf, "%s/kernel-ctf", tracedir);
		if (perf_convert(kdata, kctf) != 0)
			kctf[0] = '\0';
	}
	if (cperf > 0) {
		snprintf(cctf, sizeof cctf, "%s/cache-ctf", tracedir);
		if (perf_convert(cdata, cctf) != 0)
			cctf[0] = '\0';
	}

	if (o.output) {
		char conv[PATH_MAX + 32], ust[PATH_MAX + 8];
		int have = self_dir(conv, sizeof conv) == 0;

		if (have) {
			strncat(conv, "/mpa-convert", sizeof conv - strlen(conv) - 1);
			have = access(conv, X_OK) == 0;
		}
		snprintf(ust, sizeof ust, "%s/ust", tracedir);
		if (have) {
			char *cargv[8] = { conv, ust, NULL };
			int k = 2;
			char err[512];

			/* perf.data itself, not its CTF form: perf's CTF conversion
			 * drops sample addresses and weights; mpa-convert reads
			 * perf.data natively */
			if (kperf > 0)
				cargv[k++] = kdata;
			if (cperf > 0)
				cargv[k++] = cdata;
			cargv[k++] = "-o";
			snprintf(outarg, sizeof outarg, "%s", o.output);
			cargv[k++] = outarg;
			cargv[k] = NULL;
			if (run_quiet(cargv, err, sizeof err) != 0) {
				fprintf(stderr, PROG_NAME ": conversion to '%s' failed%s%s; "
					"trace kept in '%s'\n", o.output, err[0] ? ": " : "",
					err, tracedir);
				if (rc == 0)
					rc = 2;
				return rc;
			}
			if (!o.quiet)
				fprintf(stderr, PROG_NAME ": wrote '%s'\n", o.output);
			if (!o.keep_dir)
				rm_rf(tracedir);
		} else {
			fprintf(stderr, PROG_NAME ": 'mpa-convert' not found next to "
				PROG_NAME "; trace kept in '%s'\n", tracedir);
		}
	} else if (!o.quiet) {
		fprintf(stderr, PROG_NAME ": trace in '%s'\n", tracedir);
	}
	(void)cache_ev;
	return rc;
}
