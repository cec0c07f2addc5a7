/* mpa-record: record a program's memory activity with LTTng-UST (the `mpa`
 * hooks) and optionally perf, then convert the trace to a .mpt capture.
 *
 *   mpa-record [-o capture.mpt] [--keep-trace DIR] [--kernel] [--cache]
 *              [--kernel-scope tree|system] [--stack-depth N]
 *              [--free-stack-depth N] [--stack-sample N] [--numa-sample N]
 *              [--unwind auto|fp|libunwind] [--lossless]
 *              [--subbuf-size SIZE] [--num-subbuf N] [--fail-on-loss]
 *              [--no-isolation] [--lock-timeout SEC] [-q] -- PROG ARGS
 *   mpa-record --cleanup
 *   mpa-record --save-topology FILE [--sysfs DIR]
 *
 * Only PROG's process tree is recorded: PROG starts in a UTS namespace of
 * its own (inherited by its children, kept across exec) and every event of
 * the session is filtered on `$ctx.uts_ns`.  A guardian process finishes
 * the job if mpa-record is killed; the sessions and traces of dead
 * recorders are removed at the next start.  Drives the `lttng` and `perf`
 * command-line tools (fork/exec); see doc/recording.md.  Exits with PROG's
 * status (128 + signal number if PROG was killed by a signal), or one of
 * mpa-record's own codes (doc/man/mpa-record.1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"

#include "mpa_topo.h"

#ifndef MPA_INSTALL_LIBDIR
#define MPA_INSTALL_LIBDIR "/usr/local/lib"
#endif

/* exit codes of mpa-record's own (PROG's status otherwise) */
#define EXIT_SETUP 2     /* usage, output, setup or conversion failure */
#define EXIT_LOSS 3      /* --fail-on-loss and the tracer discarded events */
#define EXIT_RESOURCE 4  /* the recording failed while PROG ran: no capture */

/* Below this much free space the trace's file system is full: the consumer
 * daemon's last write failed (it writes whole packets). */
#define FULL_BELOW (64 * 1024)

/* --rotate-size by default: the current trace chunk is archived and handed
 * to the converter each time it holds this much (bench/README.md) */
#define MPA_REC_ROTATE_DEFAULT (32ULL << 20)
/* ... once the trace holds this much (the first chunk), by default */
#define MPA_REC_ROTATE_AFTER (1ULL << 30)

struct opts {
	const char *output;      /* .mpt to write (NULL = only keep the trace) */
	const char *keep_dir;    /* --keep-trace DIR */
	int kernel;
	int kernel_system;       /* --kernel-scope system */
	int cache;
	int lossless;
	int no_leak_scan;        /* --no-leak-scan: no live-block set, no exit scan */
	int quiet;
	int cleanup;             /* --cleanup */
	int fail_on_loss;
	int no_isolation;
	unsigned lock_timeout;   /* seconds */
	unsigned long long max_trace; /* --max-trace bytes, 0 = no cap */
	unsigned long long rotate_size; /* --rotate-size: chunk bytes (conversion while recording) */
	unsigned long long rotate_after; /* --rotate-after: the first chunk's bytes */
	int rotate_explicit;     /* --rotate-size given */
	int no_rotate;           /* --no-rotate: convert after the end */
	unsigned stack_depth;
	int free_stack_depth;    /* -1 = same as stack_depth */
	const char *unwind;
	const char *stack_sample;  /* --stack-sample N: MPA_STACK_SAMPLE (NULL = the preload's) */
	const char *numa_sample;   /* --numa-sample N: MPA_NUMA_SAMPLE */
	const char *subbuf_size;
	const char *num_subbuf;
	const char *save_topology; /* --save-topology FILE: write it and exit */
	const char *sysfs;         /* --sysfs DIR (default /sys) */
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
		"                  [--kernel-scope tree|system] [--stack-depth N]\n"
		"                  [--free-stack-depth N] [--unwind auto|fp|libunwind] [--lossless]\n"
		"                  [--stack-sample N] [--numa-sample N] [--no-leak-scan]\n"
		"                  [--subbuf-size SIZE] [--num-subbuf N] [--fail-on-loss]\n"
		"                  [--no-isolation] [--lock-timeout SEC] [--max-trace SIZE]\n"
		"                  [--rotate-size SIZE] [--rotate-after SIZE] [--no-rotate] [-q]\n"
		"                  -- PROG [ARGS...]\n"
		"       " PROG_NAME " --cleanup\n"
		"       " PROG_NAME " --save-topology FILE [--sysfs DIR]\n");
}

#define errstr mpa_rec_errstr

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

/* ---- perf ---------------------------------------------------------------------- */

static pid_t start_perf(char *const argv[], const char *datafile)
{
	pid_t self = getpid();
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		/* SIGINT: perf completes its file when mpa-record dies */
		mpa_rec_child_setup(SIGINT, self);
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
	if (mpa_rec_run(argv, err, sizeof err, NULL, 0, SIGKILL) != 0) {
		fprintf(stderr, PROG_NAME ": perf data convert of '%s' failed%s%s\n",
			data, err[0] ? ": " : "", err);
		return -1;
	}
	return 0;
}

/* Copies the text symbols of /proc/kallsyms to path, for mpa-convert
 * --kallsyms (kernel call sites and sampled kernel ips get names).  0 when
 * at least one symbol with an address was copied (kptr_restrict hides them
 * from non-root users: then nothing is written). */
static int copy_kallsyms(const char *path)
{
	FILE *in = fopen("/proc/kallsyms", "r"), *out;
	char line[1024];
	unsigned long n = 0;

	if (!in)
		return -1;
	out = fopen(path, "w");
	if (!out) {
		fclose(in);
		return -1;
	}
	while (fgets(line, sizeof line, in)) {
		char *sp = strchr(line, ' ');

		if (!sp || !strchr("tTwW", sp[1]) || sp[1] == 0 || strspn(line, "0") == (size_t)(sp - line))
			continue;
		if (fputs(line, out) == EOF)
			break;
		n++;
	}
	fclose(in);
	if (fclose(out) != 0 || !n) {
		unlink(path);
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

		if (mpa_rec_run(argv, NULL, 0, NULL, 0, SIGKILL) == 0) {
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

/* ---- topology -------------------------------------------------------------------- */

/* Writes this machine's topology (sysfs under o->sysfs) to path, through a
 * temporary file renamed at the end.  0, or -1 after one error line
 * (ending with `tail`). */
static int save_topology(const struct opts *o, const char *path, const char *tail)
{
	char err[512], tmp[PATH_MAX];
	struct mpa_topo *t = calloc(1, sizeof *t);
	FILE *f;
	int bad;

	if (!t) {
		fprintf(stderr, PROG_NAME ": out of memory\n");
		return -1;
	}
	if (mpa_topo_read(o->sysfs, t, err, sizeof err) != 0) {
		fprintf(stderr, PROG_NAME ": topology: %s%s\n", err, tail);
		free(t);
		return -1;
	}
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		fprintf(stderr, PROG_NAME ": '%s': name too long%s\n", path, tail);
		free(t);
		return -1;
	}
	f = fopen(tmp, "we");
	if (!f) {
		fprintf(stderr, PROG_NAME ": cannot write '%s': %s%s\n", path, errstr(errno), tail);
		free(t);
		return -1;
	}
	bad = mpa_topo_write(f, t) != 0;
	bad |= fclose(f) != 0;
	free(t);
	if (bad || rename(tmp, path) != 0) {
		fprintf(stderr, PROG_NAME ": cannot write '%s': %s%s\n", path, errstr(errno), tail);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- main ------------------------------------------------------------------------- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_KEEP = 1000, O_KERNEL, O_CACHE, O_DEPTH, O_LOSSLESS, O_UNWIND, O_NO_LEAK_SCAN,
		O_SUBBUF, O_NSUBBUF, O_FDEPTH, O_CLEANUP, O_FAILLOSS, O_NOISO,
		O_LOCKTO, O_KSCOPE, O_MAXTRACE, O_SAVE_TOPO, O_SYSFS, O_SSAMPLE, O_NSAMPLE,
		O_ROTATE, O_NOROTATE, O_ROTAFTER };
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "keep-trace", required_argument, NULL, O_KEEP },
		{ "kernel", no_argument, NULL, O_KERNEL },
		{ "kernel-scope", required_argument, NULL, O_KSCOPE },
		{ "cache", no_argument, NULL, O_CACHE },
		{ "stack-depth", required_argument, NULL, O_DEPTH },
		{ "free-stack-depth", required_argument, NULL, O_FDEPTH },
		{ "no-leak-scan", no_argument, NULL, O_NO_LEAK_SCAN },
		{ "unwind", required_argument, NULL, O_UNWIND },
		{ "lossless", no_argument, NULL, O_LOSSLESS },
		{ "save-topology", required_argument, NULL, O_SAVE_TOPO },
		{ "stack-sample", required_argument, NULL, O_SSAMPLE },
		{ "numa-sample", required_argument, NULL, O_NSAMPLE },
		{ "sysfs", required_argument, NULL, O_SYSFS },
		{ "subbuf-size", required_argument, NULL, O_SUBBUF },
		{ "num-subbuf", required_argument, NULL, O_NSUBBUF },
		{ "cleanup", no_argument, NULL, O_CLEANUP },
		{ "fail-on-loss", no_argument, NULL, O_FAILLOSS },
		{ "no-isolation", no_argument, NULL, O_NOISO },
		{ "lock-timeout", required_argument, NULL, O_LOCKTO },
		{ "max-trace", required_argument, NULL, O_MAXTRACE },
		{ "rotate-size", required_argument, NULL, O_ROTATE },
		{ "no-rotate", no_argument, NULL, O_NOROTATE },
		{ "rotate-after", required_argument, NULL, O_ROTAFTER },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof *o);
	o->sysfs = "/sys";
	o->stack_depth = 16;
	o->free_stack_depth = -1;
	o->subbuf_size = "4M";
	o->num_subbuf = "8";
	o->lock_timeout = 300;
	o->max_trace = 16ULL << 30;
	o->rotate_size = MPA_REC_ROTATE_DEFAULT;
	o->rotate_after = ~0ULL; /* the default: --rotate-size, or 1G */
	while ((c = getopt_long(argc, argv, "+o:qh", lopts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case O_SAVE_TOPO: o->save_topology = optarg; break;
		case O_SYSFS: o->sysfs = optarg; break;
		case O_SSAMPLE:
		case O_NSAMPLE:
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-' || v > UINT32_MAX) {
				fprintf(stderr, PROG_NAME ": --%s '%s': expected 0 (off) to 4294967295\n",
					c == O_SSAMPLE ? "stack-sample" : "numa-sample", optarg);
				return -1;
			}
			if (c == O_SSAMPLE)
				o->stack_sample = optarg;
			else
				o->numa_sample = optarg;
			break;
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
		case O_CLEANUP: o->cleanup = 1; break;
		case O_FAILLOSS: o->fail_on_loss = 1; break;
		case O_NOISO: o->no_isolation = 1; break;
		case O_KSCOPE:
			if (strcmp(optarg, "tree") != 0 && strcmp(optarg, "system") != 0) {
				fprintf(stderr, PROG_NAME ": --kernel-scope '%s': expected tree or "
					"system\n", optarg);
				return -1;
			}
			o->kernel_system = strcmp(optarg, "system") == 0;
			break;
		case O_UNWIND:
			if (strcmp(optarg, "fp") != 0 && strcmp(optarg, "libunwind") != 0 &&
					strcmp(optarg, "auto") != 0) {
				fprintf(stderr, PROG_NAME ": --unwind '%s': expected auto, fp or "
					"libunwind\n", optarg);
				return -1;
			}
			o->unwind = optarg;
			break;
		case O_NOROTATE: o->no_rotate = 1; break;
		case O_ROTATE:
		case O_ROTAFTER:
		case O_MAXTRACE: {
			unsigned long long m = 1;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (*end == 'k' || *end == 'K')
				m = 1ULL << 10;
			else if (*end == 'M')
				m = 1ULL << 20;
			else if (*end == 'G')
				m = 1ULL << 30;
			if (m > 1)
				end++;
			if (errno || *end || end == optarg || v > (1UL << 40) / m * 1024 ||
					(c != O_MAXTRACE && (unsigned long long)v * m < 65536)) {
				fprintf(stderr, PROG_NAME ": --%s '%s': expected a size (bytes, or "
					"with k, M, G)%s\n", c == O_ROTATE ? "rotate-size" :
					c == O_ROTAFTER ? "rotate-after" : "max-trace",
					optarg, c != O_MAXTRACE ? " of at least 64k" : ", 0 for no cap");
				return -1;
			}
			if (c == O_ROTAFTER) {
				o->rotate_after = (unsigned long long)v * m;
			} else if (c == O_ROTATE) {
				o->rotate_size = (unsigned long long)v * m;
				o->rotate_explicit = 1;
			} else {
				o->max_trace = (unsigned long long)v * m;
			}
			break;
		}
		case O_LOCKTO:
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v > 86400) {
				fprintf(stderr, PROG_NAME ": --lock-timeout '%s': expected 0 to 86400 "
					"seconds\n", optarg);
				return -1;
			}
			o->lock_timeout = (unsigned)v;
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
	if (o->cleanup) {
		if (optind < argc) {
			fprintf(stderr, PROG_NAME ": --cleanup takes no program\n");
			return -1;
		}
		return 0;
	}
	if (o->save_topology) {
		if (optind < argc) {
			fprintf(stderr, PROG_NAME ": --save-topology records nothing: "
				"no program expected\n");
			return -1;
		}
		return 0;
	}
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	o->argv = argv + optind;
	/* rotation from the start when --rotate-size is given; by default
	 * only a trace past 1G is converted while recording (shorter ones are
	 * converted faster after the end: bench/README.md) */
	if (o->rotate_after == ~0ULL)
		o->rotate_after = o->rotate_explicit ? o->rotate_size : MPA_REC_ROTATE_AFTER;
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

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* PROG's own UTS namespace: as root directly; otherwise inside a user
 * namespace mapping only our own uid and gid (same ids inside).  0 or the
 * errno of the first way. */
static int isolate(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int err;

	if (unshare(CLONE_NEWUTS) == 0)
		return 0;
	err = errno;
	if (unshare(CLONE_NEWUSER | CLONE_NEWUTS) != 0)
		return err;
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) != 0)
		return errno ? errno : EPERM;
	if (write_file("/proc/self/setgroups", "deny") != 0)
		return errno ? errno : EPERM;
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (write_file("/proc/self/gid_map", map) != 0)
		return errno ? errno : EPERM;
	return 0;
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

/* Most stacks stayed one frame deep: the program (or the libraries that
 * allocate) was built without frame pointers (--unwind fp), or without
 * unwind tables either (auto: the DWARF walk failed too), and every site
 * will read "xmalloc (bash)".  Says so, with the remedy; removes the file. */
static void stats_warn(const struct opts *o)
{
	FILE *f = stats_path[0] ? fopen(stats_path, "r") : NULL;
	unsigned long long w, sh, walks = 0, shallow = 0;
	int fp = o->unwind && strcmp(o->unwind, "fp") == 0;

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
	if ((o->unwind == NULL || strcmp(o->unwind, "libunwind") != 0) && o->stack_depth > 1 &&
			walks >= 64 && shallow * 2 >= walks)
		fprintf(stderr, PROG_NAME ": warning: %llu of %llu call stacks stopped after one "
			"frame (%s): sites will name allocation wrappers, not their callers%s\n",
			shallow, walks, fp ? "code built without frame pointers" :
			"code without frame pointers nor unwind tables",
			fp ? "; record without '--unwind fp' for full stacks" : "");
}

/* Child side: isolate, say how it went on st_fd, wait for the go from the
 * parent, then exec PROG. */
static void exec_child(const struct opts *o, const char *preload, int go_fd, int st_fd,
	pid_t parent)
{
	char buf[PATH_MAX * 2];
	const char *old = getenv("LD_PRELOAD");
	char depth[16];
	int err = 0;
	char c;

	mpa_rec_child_setup(SIGKILL, parent);
	if (!o->no_isolation) {
		err = isolate();
		/* a credential change may have cleared it */
		mpa_rec_child_setup(SIGKILL, parent);
	}
	if (write(st_fd, &err, sizeof err) != (ssize_t)sizeof err)
		_exit(127);
	close(st_fd);
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
	if (o->stack_sample)
		setenv("MPA_STACK_SAMPLE", o->stack_sample, 1);
	if (o->numa_sample)
		setenv("MPA_NUMA_SAMPLE", o->numa_sample, 1);
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

/* What went wrong with the trace folder while PROG ran (0: nothing). */
enum fault { F_NONE, F_FULL, F_GONE, F_CAP, F_CONV };

static unsigned long long du_acc;

static int du_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path; (void)ftw;
	if (flag == FTW_F)
		du_acc += (unsigned long long)st->st_blocks * 512;
	return 0;
}

/* Disk space used under dir (bytes). */
static unsigned long long du(const char *dir)
{
	du_acc = 0;
	nftw(dir, du_entry, 16, FTW_PHYS);
	return du_acc;
}

static enum fault check_trace(const char *dir, const struct stat *was)
{
	struct stat st;
	struct statvfs vfs;

	if (stat(dir, &st) != 0 || st.st_ino != was->st_ino || st.st_dev != was->st_dev)
		return F_GONE;
	if (statvfs(dir, &vfs) == 0 &&
			(unsigned long long)vfs.f_bavail * vfs.f_frsize < FULL_BELOW)
		return F_FULL;
	return F_NONE;
}

static void report_fault(enum fault f, const char *dir, const char *prog)
{
	fprintf(stderr, PROG_NAME ": %s '%s': recording stopped, no capture written%s%s%s\n",
		f == F_FULL ? "no space left on the file system of the trace folder" :
		f == F_CAP ? "the trace reached its --max-trace size (raise it, or record "
		"less: --free-stack-depth 0, a smaller --stack-depth) in" :
		f == F_CONV ? "the converter of the trace chunks ended early (see "
		"'mpa-record --no-rotate') for" :
		"the trace folder was removed:", dir,
		prog ? "; '" : "", prog ? prog : "", prog ? "' ended (SIGTERM)" : "");
}

static int cleanup_only(const struct opts *o)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (mpa_rec_ensure_sessiond() != 0)
		return EXIT_SETUP;
	n = mpa_rec_cleanup(NULL, tmp && *tmp ? tmp : "/tmp", 1);
	if (n < 0) {
		fprintf(stderr, PROG_NAME ": cannot list the LTTng sessions\n");
		return EXIT_SETUP;
	}
	if (!o->quiet)
		fprintf(stderr, PROG_NAME ": %s\n", n ? "cleanup done" :
			"nothing left by dead recorders");
	return 0;
}

/* The converter's command line into cargv (at most 32 entries): mode 0
 * converts the given inputs after the end, 1 reads chunks on its stdin
 * (--chunks), 2 also removes them (--remove-chunks). */
static void conv_args(const struct opts *o, const struct mpa_rec_id *id, char *conv,
	const char *ust, const char *kdata, const char *cdata, const char *ksyms,
	const char *topofile, int mode, char *outarg, size_t outlen, char **cargv)
{
	int k = 0;

	cargv[k++] = conv;
	if (mode == 0) {
		/* perf.data itself, not its CTF form: perf's CTF conversion
		 * drops sample addresses and weights; mpa-convert reads
		 * perf.data natively */
		cargv[k++] = (char *)ust;
		if (kdata)
			cargv[k++] = (char *)kdata;
		if (cdata)
			cargv[k++] = (char *)cdata;
	} else {
		cargv[k++] = "--chunks";
		if (mode == 2)
			cargv[k++] = "--remove-chunks";
	}
	if (ksyms) {
		cargv[k++] = "--kallsyms";
		cargv[k++] = (char *)ksyms;
	}
	if (topofile[0]) {
		cargv[k++] = "--topology";
		cargv[k++] = (char *)topofile;
	}
	/* what the capture holds, said in it */
	cargv[k++] = "--meta";
	cargv[k++] = id->ns ? "record.isolation=uts-namespace" : "record.isolation=none";
	cargv[k++] = "--meta";
	cargv[k++] = id->ns ? "record.scope.ust=process-tree" : "record.scope.ust=host";
	if (kdata) {
		cargv[k++] = "--meta";
		cargv[k++] = o->kernel_system ? "record.scope.kernel=host" :
			"record.scope.kernel=process-tree";
	}
	if (cdata) {
		cargv[k++] = "--meta";
		cargv[k++] = "record.scope.cache=process-tree";
	}
	cargv[k++] = "-o";
	snprintf(outarg, outlen, "%s", o->output);
	cargv[k++] = outarg;
	cargv[k] = NULL;
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* MPA_RECORD_TIMES: where the time went (make bench reads it). */
static void print_times(const struct timespec *start, const struct timespec *go,
	const struct timespec *end, const struct timespec *conv, const struct mpa_rec_rot *r)
{
	fprintf(stderr, PROG_NAME ": times: setup %.3f s, program %.3f s, after the program "
		"%.3f s (stop, destroy, conversion)", secs(start, go), secs(go, end),
		secs(end, conv));
	if (r)
		fprintf(stderr, "; %u chunks (%.1f MiB), %u rotations, at most %u chunks on disk",
			r->sent, (double)r->sent_bytes / (1 << 20), r->rotations, r->peak_chunks);
	fputc('\n', stderr);
}

/* Waits for the session's destruction started at the end of a complete
 * recording, then lets go of the namespace; rc, or EXIT_SETUP when the
 * destruction failed. */
static int end_session(void *destroying, int ns_fd, int rc)
{
	if (destroying && mpa_rec_ctl_destroy_wait(destroying) != 0 && rc == 0)
		rc = EXIT_SETUP;
	if (ns_fd >= 0)
		close(ns_fd);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct mpa_rec_id id = { 0 };
	char preload[PATH_MAX], tracedir[PATH_MAX], session[160], filter[96];
	char outarg[PATH_MAX + 16], kdata[PATH_MAX + 32], cdata[PATH_MAX + 32];
	char kctf[PATH_MAX + 32], cctf[PATH_MAX + 32], topofile[PATH_MAX + 16];
	char ksyms[PATH_MAX + 32] = "";
	const char *tmp = getenv("TMPDIR");
	pid_t kperf = -1, cperf = -1, pid = -1;
	int go[2] = { -1, -1 }, st[2];
	int status = 0, rc = 0, session_made = 0, exit_code = 0, iso_err = 0;
	int lock_fd = -1, ns_fd = -1, guard_fd = -1, temp_trace = 0;
	enum fault fault = F_NONE;
	unsigned polls = 0, term_poll = 0;
	int started = 0; /* PROG was released */
	struct stat trace_st;
	struct sigaction sa;
	struct mpa_rec_lost lost = { 0 };
	struct mpa_rec_rot rot = { .conv = -1, .conv_in = -1 };
	int rotating = 0;  /* conversion while recording */
	char conv[PATH_MAX + 32], *cargv[32];
	int have_conv = 0;
	void *destroying = NULL; /* the session's destruction, under way */
	uint64_t discarded;
	struct timespec t_start, t_go, t_end;

	clock_gettime(CLOCK_MONOTONIC, &t_start);
	if (parse_opts(argc, argv, &o) != 0)
		return EXIT_SETUP;
	if (o.cleanup)
		return cleanup_only(&o);
	if (o.save_topology)
		return save_topology(&o, o.save_topology, "") == 0 ? 0 : EXIT_SETUP;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	/* a bad -o is found now, not after PROG ran */
	if (o.output && check_output(o.output) != 0)
		return EXIT_SETUP;
	if (find_preload(preload, sizeof preload) != 0)
		return EXIT_SETUP;
	if (mpa_rec_ensure_sessiond() != 0)
		return EXIT_SETUP;
	id.pid = getpid();
	if (mpa_rec_proc_start(id.pid, &id.start) != 0) {
		fprintf(stderr, PROG_NAME ": cannot read '/proc/self/stat'\n");
		return EXIT_SETUP;
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
	signal(SIGPIPE, SIG_IGN);

	/* PROG first, held on a pipe: its namespace names what we record */
	if (pipe2(go, O_CLOEXEC) != 0 || pipe2(st, O_CLOEXEC) != 0) {
		fprintf(stderr, PROG_NAME ": pipe: %s\n", errstr(errno));
		return EXIT_SETUP;
	}
	stats_open();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, PROG_NAME ": fork: %s\n", errstr(errno));
		stats_close();
		return EXIT_SETUP;
	}
	if (pid == 0) {
		close(go[1]);
		close(st[0]);
		exec_child(&o, preload, go[0], st[1], id.pid);
	}
	close(go[0]);
	close(st[1]);
	child_pid = pid;
	{
		ssize_t n;

		while ((n = read(st[0], &iso_err, sizeof iso_err)) < 0 && errno == EINTR)
			;
		close(st[0]);
		if (n != (ssize_t)sizeof iso_err) {
			fprintf(stderr, PROG_NAME ": the child that runs '%s' died at start\n",
				o.argv[0]);
			rc = EXIT_SETUP;
			goto out;
		}
	}
	if (!o.no_isolation && iso_err == 0) {
		char path[64];
		struct stat ns;

		snprintf(path, sizeof path, "/proc/%d/ns/uts", (int)pid);
		ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (ns_fd < 0 || fstat(ns_fd, &ns) != 0) {
			fprintf(stderr, PROG_NAME ": '%s': %s\n", path, errstr(errno));
			rc = EXIT_SETUP;
			goto out;
		}
		id.ns = (unsigned long)ns.st_ino;
	} else if (!o.no_isolation) {
		fprintf(stderr, PROG_NAME ": warning: cannot give '%s' a UTS namespace "
			"of its own (%s): recording without isolation, one recording at a "
			"time, and other programs running with the mpa preload may appear in "
			"the capture\n", o.argv[0], errstr(iso_err));
	}
	if (id.ns == 0) {
		char what[512];
		size_t len = 0;

		for (char **a = o.argv; *a && len + 2 < sizeof what; a++)
			len += (size_t)snprintf(what + len, sizeof what - len, "%s%s",
				a == o.argv ? "" : " ", *a);
		/* without a namespace every session enabling mpa:* records every
		 * process with the preload: such a recording is alone (isolated
		 * ones need no lock: their filters keep them apart) */
		lock_fd = mpa_rec_lock(what, o.lock_timeout, o.quiet);
		if (lock_fd < 0) {
			rc = EXIT_SETUP;
			goto out;
		}
	}

	if (o.keep_dir) {
		DIR *d;
		struct dirent *de;
		int used = 0;

		if (mkdir_p(o.keep_dir) != 0 || realpath(o.keep_dir, tracedir) == NULL) {
			fprintf(stderr, PROG_NAME ": '%s': %s\n", o.keep_dir, errstr(errno));
			rc = EXIT_SETUP;
			goto out;
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
			rc = EXIT_SETUP;
			goto out;
		}
	} else {
		char prefix[96];

		mpa_rec_trace_prefix(&id, prefix, sizeof prefix);
		if (snprintf(tracedir, sizeof tracedir, "%s/%sXXXXXX", tmp, prefix) >=
				(int)sizeof tracedir) {
			fprintf(stderr, PROG_NAME ": TMPDIR is too long\n");
			rc = EXIT_SETUP;
			goto out;
		}
		if (mkdtemp(tracedir) == NULL) {
			fprintf(stderr, PROG_NAME ": '%s': %s\n", tracedir, errstr(errno));
			rc = EXIT_SETUP;
			goto out;
		}
		temp_trace = 1;
	}
	if (stat(tracedir, &trace_st) != 0) {
		fprintf(stderr, PROG_NAME ": '%s': %s\n", tracedir, errstr(errno));
		rc = EXIT_SETUP;
		goto out;
	}

	/* what dead recorders left (their sessions would go on recording,
	 * their traces would stay) */
	mpa_rec_cleanup(&id, tmp, !o.quiet);

	mpa_rec_session_name(&id, session, sizeof session);
	{
		struct mpa_rec_guard g = {
			.session = session, .tracedir = tracedir, .temp = temp_trace,
			.ns_fd = ns_fd, .child = pid,
		};

		guard_fd = mpa_rec_guardian(&g);
		if (guard_fd < 0) {
			fprintf(stderr, PROG_NAME ": cannot start the guardian: %s\n",
				errstr(errno));
			rc = EXIT_SETUP;
			goto out;
		}
	}
	/* the machine the program runs on, for the capture's topology table
	 * (kept with the trace: `mpa-convert --topology` reads it) */
	snprintf(topofile, sizeof topofile, "%s/topology", tracedir);
	if (save_topology(&o, topofile, " (recording without the topology)") != 0)
		topofile[0] = '\0';
	{
		/* ip only when some stack is off: with a stack, its first frame
		 * is the ip (the converter reads ip only for empty stacks), and
		 * each context costs every event a ring-buffer write */
		struct mpa_rec_session_cfg cfg = {
			.session = session, .tracedir = tracedir, .subbuf_size = o.subbuf_size,
			.num_subbuf = o.num_subbuf, .lossless = o.lossless,
			.with_ip = o.stack_depth == 0 || o.free_stack_depth == 0,
		};

		if (id.ns) {
			/* the tree's namespace: every event, statedump included,
			 * from the very first of each process */
			snprintf(filter, sizeof filter, "$ctx.uts_ns == %lu", id.ns);
			cfg.filter = filter;
		}
		if (mpa_rec_ctl_setup(&cfg, &session_made) != 0) {
			rc = EXIT_SETUP;
			goto out;
		}
	}
	/* the converter, next to mpa-record */
	have_conv = self_dir(conv, sizeof conv) == 0;
	if (have_conv) {
		strncat(conv, "/mpa-convert", sizeof conv - strlen(conv) - 1);
		have_conv = access(conv, X_OK) == 0;
	}
	/* conversion while recording: chunks need no perf data (merged in time
	 * order with the whole trace) and, with --keep-trace, an explicit
	 * --rotate-size (the kept trace is then in chunks) */
	rotating = !o.no_rotate && !o.kernel && !o.cache &&
		((o.output && have_conv && !o.keep_dir) || o.rotate_explicit);
	if (rotating) {
		rot.session = session;
		rot.tracedir = tracedir;
		rot.chunk_bytes = o.rotate_size;
		rot.first_bytes = o.rotate_after;
		if (o.output && have_conv) {
			conv_args(&o, &id, conv, NULL, NULL, NULL, NULL, topofile,
				  temp_trace ? 2 : 1, outarg, sizeof outarg, cargv);
			rot.argv = cargv;
		}
	}

	if (o.kernel) {
		char pidbuf[32];
		char *pargv[] = { "perf", "record", "-q", "-k", "mono", "-e",
			"kmem:kmalloc,kmem:kfree,kmem:kmem_cache_alloc,kmem:kmem_cache_free,"
			"kmem:mm_page_alloc,kmem:mm_page_free", "-o", kdata, "-p", pidbuf, NULL };

		snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
		if (o.kernel_system) {
			pargv[9] = "-a";
			pargv[10] = NULL;
		}
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
		const char *cache_ev = cache_event();

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

	if (got_signal) { /* interrupted while setting up: do not start PROG */
		rc = 128 + got_signal;
		goto out;
	}
	/* go */
	if (write(go[1], "g", 1) != 1) {
		/* the child reads EOF as go too */
	}
	close(go[1]);
	go[1] = -1;
	started = 1;
	clock_gettime(CLOCK_MONOTONIC, &t_go);

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			status = 0;
			break;
		}
		if (fault == F_NONE && o.max_trace && polls % 10 == 9 &&
				du(tracedir) > o.max_trace)
			fault = F_CAP;
		if (fault == F_NONE)
			fault = check_trace(tracedir, &trace_st);
		if (rotating && fault == F_NONE && session_made && term_poll == 0 &&
				mpa_rec_rot_poll(&rot, 1) != 0)
			fault = F_CONV;
		if (fault != F_NONE && session_made) {
			/* --no-wait: the trace is dropped, its flush may never end */
			char *destroy[] = { "lttng", "destroy", "--no-wait", session, NULL };

			report_fault(fault, tracedir, o.argv[0]);
			if (rotating) {
				char e[8];

				mpa_rec_rot_finish(&rot, 1, e, sizeof e);
			}
			mpa_rec_lttng("destroy", destroy, 1);
			session_made = 0;
			if (kperf > 0)
				kill(kperf, SIGKILL);
			if (cperf > 0)
				kill(cperf, SIGKILL);
			/* the recording is lost: PROG is ended too (with
			 * --lossless it is stuck in the tracer, waiting for room
			 * that will never come) */
			kill(pid, SIGTERM);
			term_poll = polls + 1;
		}
		if (term_poll && polls + 1 - term_poll == 100)
			kill(pid, SIGKILL); /* 10 s after SIGTERM */
		polls++;
		/* rotating: the current chunk is measured every 20 ms, so it
		 * outgrows --rotate-size by at most what 20 ms of tracing
		 * writes */
		for (int k = 0; rotating && fault == F_NONE && session_made && term_poll == 0 &&
				k < 4; k++) {
			struct timespec t20 = { 0, 20 * 1000 * 1000 };

			nanosleep(&t20, NULL);
			if (mpa_rec_rot_poll(&rot, 1) != 0)
				fault = F_CONV;
			ts.tv_nsec = 20 * 1000 * 1000;
		}
		nanosleep(&ts, NULL);
	}
	pid = -1;
	child_pid = 0;
	exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	if (kperf > 0)
		stop_perf(kperf);
	if (cperf > 0)
		stop_perf(cperf);
	clock_gettime(CLOCK_MONOTONIC, &t_end);
	/* never rotated (a short recording): converted after the end, as
	 * without rotation (a kept trace with --rotate-size is chunks anyway) */
	if (rotating && rot.rotations == 0 && !o.rotate_explicit)
		rotating = 0;
	if (session_made) {
		if (mpa_rec_ctl_stop(session) != 0 ||
				(rotating && mpa_rec_ctl_rotate_wait(session) != 0)) {
			fault = check_trace(tracedir, &trace_st);
			if (fault != F_NONE)
				report_fault(fault, tracedir, NULL);
			else
				fprintf(stderr, PROG_NAME ": the recording did not end cleanly "
					"(session daemon gone?): no capture written\n");
			fault = fault != F_NONE ? fault : F_GONE;
		}
	}
	rc = exit_code;
out:
	if (pid > 0) { /* PROG never started: it is held on the pipe */
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		child_pid = 0;
	}
	if (go[1] >= 0)
		close(go[1]);
	/* a complete recording: the trace is whole once stopped, so the
	 * conversion does not wait for the session's end (ns_fd stays open
	 * until then: the filter names the namespace by its inode) */
	if (session_made && started && fault == F_NONE)
		destroying = mpa_rec_ctl_destroy_start(session);
	else if (session_made && mpa_rec_ctl_destroy(session) != 0 && rc == 0)
		rc = EXIT_SETUP;
	if (!destroying && ns_fd >= 0) {
		/* the session is gone: its namespace inode may be reused */
		close(ns_fd);
		ns_fd = -1;
	}
	if (lock_fd >= 0) {
		/* the holder line is ours: not for the next waiter */
		if (ftruncate(lock_fd, 0) != 0) {
			/* a read-only lock file holds no line of ours */
		}
		close(lock_fd);
	}
	if (rotating && (!started || !session_made || fault != F_NONE)) {
		char e[8];

		mpa_rec_rot_finish(&rot, 1, e, sizeof e);
	}
	if (!started || !session_made || fault != F_NONE) {
		stats_close();
		if (temp_trace)
			mpa_rec_rm_rf(tracedir);
		mpa_rec_guardian_done(guard_fd);
		if (fault != F_NONE)
			return end_session(destroying, ns_fd, EXIT_RESOURCE);
		return end_session(destroying, ns_fd, rc);
	}

	if (rotating) {
		/* the last chunks (destroy archived the current one) */
		if (mpa_rec_rot_poll(&rot, 0) != 0)
			fprintf(stderr, PROG_NAME ": the converter ended early\n");
		lost = rot.lost;
		memset(&rot.lost, 0, sizeof rot.lost);
	} else {
		mpa_rec_count_discarded(tracedir, &lost);
	}
	discarded = mpa_rec_lost_total(&lost);
	{
		struct statvfs vfs;

		/* the consumer's last writes failed: packets cut short */
		if (lost.bad && statvfs(tracedir, &vfs) == 0 &&
				(unsigned long long)vfs.f_bavail * vfs.f_frsize < FULL_BELOW) {
			report_fault(F_FULL, tracedir, NULL);
			if (rotating) {
				char e[8];

				mpa_rec_rot_finish(&rot, 1, e, sizeof e);
			}
			if (temp_trace)
				mpa_rec_rm_rf(tracedir);
			mpa_rec_guardian_done(guard_fd);
			mpa_rec_lost_free(&lost);
			return end_session(destroying, ns_fd, EXIT_RESOURCE);
		}
	}
	/* from here on, nothing records: mpa-record's death loses only the
	 * conversion (the guardian would remove the temporary trace) */
	mpa_rec_guardian_done(guard_fd);
	if (lost.n == 0) {
		stats_close();
		fprintf(stderr, PROG_NAME ": nothing was recorded (did '%s' start?)\n",
			o.argv[0]);
		if (rotating) {
			char e[8];

			mpa_rec_rot_finish(&rot, 1, e, sizeof e);
		}
		if (temp_trace)
			mpa_rec_rm_rf(tracedir);
		mpa_rec_lost_free(&lost);
		return end_session(destroying, ns_fd, rc ? rc : EXIT_SETUP);
	}
	if (discarded)
		fprintf(stderr, PROG_NAME ": %s: the tracer discarded %llu events "
			"(channel too small for the allocation rate: try --lossless or a "
			"larger --subbuf-size)\n", o.fail_on_loss ? "error" : "warning",
			(unsigned long long)discarded);
	else if (!o.quiet)
		fprintf(stderr, PROG_NAME ": %zu streams, no events lost\n", lost.n);
	if (lost.bad)
		fprintf(stderr, PROG_NAME ": warning: %u stream files in '%s' have "
			"unreadable packets\n", lost.bad, tracedir);
	mpa_rec_lost_free(&lost);
	stats_warn(&o);
	if (discarded && o.fail_on_loss)
		rc = EXIT_LOSS;
	if (rotating) {
		char err[512];
		struct timespec t_conv;

		if (rot.conv < 0) {
			/* --keep-trace --rotate-size without -o: the chunks stay */
			if (!o.quiet)
				fprintf(stderr, PROG_NAME ": trace in '%s' (%u chunks)\n", tracedir,
					rot.sent);
			return end_session(destroying, ns_fd, rc);
		}
		if (mpa_rec_rot_finish(&rot, 0, err, sizeof err) != 0) {
			fprintf(stderr, PROG_NAME ": conversion to '%s' failed%s%s; what was not "
				"converted yet is in '%s'\n", o.output, err[0] ? ": " : "", err,
				tracedir);
			return end_session(destroying, ns_fd, rc == 0 || rc == EXIT_LOSS ? EXIT_SETUP : rc);
		}
		clock_gettime(CLOCK_MONOTONIC, &t_conv);
		if (getenv("MPA_RECORD_TIMES"))
			print_times(&t_start, &t_go, &t_end, &t_conv, &rot);
		if (!o.quiet)
			fprintf(stderr, PROG_NAME ": wrote '%s' (converted while recording: %u "
				"chunks)\n", o.output, rot.sent);
		if (temp_trace)
			mpa_rec_rm_rf(tracedir);
		return end_session(destroying, ns_fd, rc);
	}

	kctf[0] = cctf[0] = '\0';
	if (kperf > 0 || cperf > 0) {
		snprintf(ksyms, sizeof ksyms, "%s/kallsyms", tracedir);
		if (copy_kallsyms(ksyms) != 0) {
			ksyms[0] = '\0';
			if (!o.quiet)
				fprintf(stderr, PROG_NAME ": /proc/kallsyms shows no addresses here; "
					"kernel call sites stay unnamed\n");
		}
	}
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
		char ust[PATH_MAX + 8];

		snprintf(ust, sizeof ust, "%s/ust", tracedir);
		if (have_conv) {
			char err[512];

			conv_args(&o, &id, conv, ust, kperf > 0 ? kdata : NULL,
				  cperf > 0 ? cdata : NULL, ksyms[0] ? ksyms : NULL, topofile, 0,
				  outarg, sizeof outarg, cargv);
			/* SIGTERM: the converter removes its temporary file */
			if (mpa_rec_run(cargv, err, sizeof err, NULL, 0, SIGTERM) != 0) {
				fprintf(stderr, PROG_NAME ": conversion to '%s' failed%s%s; "
					"trace kept in '%s'\n", o.output, err[0] ? ": " : "",
					err, tracedir);
				return end_session(destroying, ns_fd, rc == 0 || rc == EXIT_LOSS ? EXIT_SETUP : rc);
			}
			if (getenv("MPA_RECORD_TIMES")) {
				struct timespec t_conv;

				clock_gettime(CLOCK_MONOTONIC, &t_conv);
				print_times(&t_start, &t_go, &t_end, &t_conv, NULL);
			}
			if (!o.quiet)
				fprintf(stderr, PROG_NAME ": wrote '%s'\n", o.output);
			if (temp_trace)
				mpa_rec_rm_rf(tracedir);
		} else {
			fprintf(stderr, PROG_NAME ": 'mpa-convert' not found next to "
				PROG_NAME "; trace kept in '%s'\n", tracedir);
		}
	} else if (!o.quiet) {
		fprintf(stderr, PROG_NAME ": trace in '%s'\n", tracedir);
	}
	return end_session(destroying, ns_fd, rc);
}
