/* mpa-monitor --live and mpa-top --live against a real lttng-relayd
 * started here (free ports, a unique session name, both gone after, also
 * when a check fails: fini): a program whose allocations the test releases
 * step by step (tests/workloads/wl_live.c) shows while it runs; a relay
 * that does not answer and a session that does not exist give one clear
 * line.  A relay serves one viewer per session: one test per view.  No
 * tight wall-clock bound: every wait is for an event, with minutes of
 * slack on a loaded host. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "mon_test_util.h"

#define BLOCKS 200
#define SIZE 1000
#define STEP (BLOCKS * SIZE)
#define SLACK 65536 /* the program's own other blocks (stdio's buffers) */

static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t l = sizeof a;
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int answers(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static pid_t spawn(const char *const *argv, const char *outf, const char *const *env_add)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fi = open("/dev/null", O_RDONLY);
		if (fo < 0 || fi < 0)
			_exit(125);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fo, 2);
		for (size_t i = 0; env_add && env_add[i]; i += 2)
			setenv(env_add[i], env_add[i + 1], 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int run_q(const char *cmd)
{
	char c[2048];
	snprintf(c, sizeof c, "{ %s; } >/dev/null 2>&1", cmd);
	return system(c);
}

/* The last JSON line of the file whose live_bytes >= want, or NULL. */
static json_t *line_with(const char *path, long long want)
{
	char *s = au_slurp(path, NULL);
	json_t *best = NULL;
	for (char *p = s, *e; p && *p; p = e ? e + 1 : NULL) {
		e = strchr(p, '\n');
		if (!e)
			break; /* a line being written */
		json_t *j = json_loadb(p, (size_t)(e - p), 0, NULL);
		json_t *v = j ? json_object_get(j, "live_bytes") : NULL;
		if (v && json_integer_value(v) >= want) {
			best = j;
			break;
		}
		json_decref(j);
	}
	free(s);
	return best;
}

static json_t *wait_line(const char *path, long long want, pid_t mon)
{
	for (int i = 0; i < 6000; i++) { /* up to ten minutes: a loaded host */
		json_t *j = line_with(path, want);
		if (j)
			return j;
		int st;
		cr_assert_eq(waitpid(mon, &st, WNOHANG), 0, "mpa-monitor ended early: %s",
			     au_slurp(path, NULL));
		nap_ms(100);
	}
	cr_assert_fail("no interval with live_bytes >= %lld", want);
	return NULL;
}

/* One line to the program (it holds the fifo open, read and write: the
 * open does not block while it runs, and fails at once if it is gone). */
static void tell(const char *fifo)
{
	int fd = open(fifo, O_WRONLY | O_NONBLOCK);
	cr_assert(fd >= 0, "the program is not reading its fifo (%s): it ended early?",
		  strerror(errno));
	cr_assert_eq(write(fd, "go\n", 3), 3);
	close(fd);
}

/* Everything a test started, for the fini to end (by pid / name). */
static struct env {
	char dir[256], sess[96], host[128], fifo[300], url[512], attached[300];
	uint16_t pl, pc, pd;
	pid_t relayd, prog, viewer;
	int go;  /* write end of the program's go pipe, or -1 */
	struct tx tx;
	int have_tx, have_sess;
} E;

static void cleanup(void)
{
	if (E.have_tx)
		tx_stop(&E.tx);
	if (E.go > 0)
		close(E.go);
	if (E.prog > 0) {
		kill(E.prog, SIGKILL);
		waitpid(E.prog, NULL, 0);
	}
	if (E.have_sess) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "lttng destroy %s", E.sess);
		run_q(cmd);
	}
	if (E.viewer > 0) {
		kill(E.viewer, SIGTERM);
		waitpid(E.viewer, NULL, 0);
	}
	if (E.relayd > 0) {
		kill(E.relayd, SIGTERM);
		waitpid(E.relayd, NULL, 0);
	}
	if (E.dir[0])
		au_rmrf(E.dir);
	unsetenv("MPA_CONVERT_ATTACHED");
	memset(&E, 0, sizeof E);
}

/* The relay on free ports (the session is made per program: start_prog). */
static void setup(void)
{
	/* Known gap (doc/live.md, "What remains"): babeltrace2 2.0.4's live
	 * source crashes (SIGSEGV) at the end of a destroyed session, or
	 * takes an empty metadata packet for an error, in about one run of
	 * three here: run on request only until mpa-convert works around it
	 * (or babeltrace2 >= 2.0.5). */
	const char *want = getenv("MPA_LIVE_TESTS");
	if (!want || strcmp(want, "1") != 0)
		cr_skip_test("live tests run with MPA_LIVE_TESTS=1 (doc/live.md: babeltrace2 2.0.4's "
			     "lttng-live source crashes at a session's end in about one run of three)");
#if defined(__SANITIZE_ADDRESS__)
	/* Diagnosed (doc/live.md): under ASan, babeltrace2 2.0.4's lttng-live
	 * metadata path frees (g_free) a buffer glibc's open_memstream
	 * allocated outside ASan's allocator: "attempting free on address
	 * which was not malloc()-ed" aborts the converter (or the metadata
	 * update fails).  Not mpa's code, and ASan cannot suppress a bad free:
	 * the plain pass of make check runs these tests. */
	cr_skip_test("the live path is tested with the plain build (under ASan, babeltrace2's "
		     "lttng-live source frees an open_memstream buffer ASan did not allocate: "
		     "doc/live.md)");
#endif
	if (run_q("command -v lttng-relayd && command -v lttng && lttng list") != 0)
		cr_skip_test("no lttng-relayd, lttng or session daemon here");
	au_mkdtemp(E.dir, sizeof E.dir);
	char relay_log[300], rout[300], c[64], d[64], l[64];
	snprintf(relay_log, sizeof relay_log, "%s/relayd.log", E.dir);
	snprintf(E.fifo, sizeof E.fifo, "%s/fifo", E.dir);
	cr_assert_eq(mkfifo(E.fifo, 0600), 0);
	gethostname(E.host, sizeof E.host - 1);
	static int seq;
	snprintf(E.sess, sizeof E.sess, "mpa-live-test-%d-%ld-%d", (int)getpid(), (long)time(NULL),
		 seq++);
	E.pc = free_port();
	E.pd = free_port();
	E.pl = free_port();
	snprintf(c, sizeof c, "tcp://127.0.0.1:%u", E.pc);
	snprintf(d, sizeof d, "tcp://127.0.0.1:%u", E.pd);
	snprintf(l, sizeof l, "tcp://127.0.0.1:%u", E.pl);
	snprintf(rout, sizeof rout, "%s/relay", E.dir);
	E.relayd = spawn((const char *const[]){"lttng-relayd", "-C", c, "-D", d, "-L", l, "-o",
					       rout, NULL},
			 relay_log, NULL);
	for (int i = 0; i < 3000 && !answers(E.pl); i++) {
		int st;
		cr_assert_eq(waitpid(E.relayd, &st, WNOHANG), 0, "lttng-relayd ended: %s",
			     au_slurp(relay_log, NULL));
		nap_ms(100);
	}
	cr_assert(answers(E.pl), "lttng-relayd does not answer");
	snprintf(E.url, sizeof E.url, "net://127.0.0.1:%u/host/%s/%s", E.pl, E.host, E.sess);
}

/* A live session with mpa's events as doc/live.md's recipe, every event
 * filtered on the program's UTS namespace (as mpa-record isolates its
 * recordings): programs traced on this host at the same time, the other
 * live test's included, do not stream into it. */
static void make_session(unsigned long ns)
{
	char cmd[1536], f[96];
	snprintf(cmd, sizeof cmd, "lttng create %s --live=100000 --set-url=net://127.0.0.1:%u:%u",
		 E.sess, E.pc, E.pd);
	cr_assert_eq(run_q(cmd), 0, "%s", cmd);
	E.have_sess = 1;
	snprintf(f, sizeof f, "$ctx.uts_ns == %lu", ns);
	snprintf(cmd, sizeof cmd,
		 "lttng enable-channel -u -s %s --subbuf-size=1M --num-subbuf=4 mpa && "
		 "lttng add-context -u -s %s -c mpa -t vpid -t vtid -t ip && "
		 "lttng enable-event -u -s %s -c mpa 'mpa:*,lttng_ust_statedump:*,lttng_ust_dl:*' "
		 "--filter '%s' && lttng start %s",
		 E.sess, E.sess, E.sess, f, E.sess);
	cr_assert_eq(run_q(cmd), 0, "the lttng session could not be set up");
}

/* wl-live under the preload in a UTS namespace of its own, held (release)
 * until a viewer is attached to the session filtered on that namespace;
 * its pid */
static pid_t start_prog(void)
{
	char pre[1024], wl[512], n[16], sz[16], out[300];
	snprintf(pre, sizeof pre, "%s/lib/libmpa-preload.so:liblttng-ust-fork.so:liblttng-ust-dl.so",
		 mon_build());
	snprintf(wl, sizeof wl, "%s/tests/workloads/wl-live", mon_build());
	snprintf(n, sizeof n, "%d", BLOCKS);
	snprintf(sz, sizeof sz, "%d", SIZE);
	snprintf(out, sizeof out, "%s/prog.out", E.dir);
	int go[2], ok[2];
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(ok, O_CLOEXEC), 0);
	E.prog = fork();
	cr_assert(E.prog >= 0);
	if (E.prog == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fi = open("/dev/null", O_RDONLY);
		char c = unshare(CLONE_NEWUTS) == 0 ? 'y' : 'n';
		if (fo < 0 || fi < 0 || write(ok[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(125);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fo, 2);
		setenv("LD_PRELOAD", pre, 1);
		setenv("MPA_STACK_DEPTH", "16", 1);
		/* a loaded host: lttng-ust's default 3 s registration wait */
		setenv("LTTNG_UST_REGISTER_TIMEOUT", "30000", 1);
		execv(wl, (char *const[]){wl, E.fifo, n, sz, NULL});
		_exit(127);
	}
	close(go[0]);
	close(ok[1]);
	E.go = go[1];
	char c = 0;
	cr_assert_eq(read(ok[0], &c, 1), 1);
	close(ok[0]);
	if (c != 'y')
		cr_skip_test("no UTS namespace for the program here (unshare: not root?)");
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/ns/uts", (int)E.prog);
	cr_assert_eq(stat(path, &st), 0);
	make_session((unsigned long)st.st_ino);
	/* the viewer's converter says when it is attached */
	snprintf(E.attached, sizeof E.attached, "%s/attached", E.dir);
	setenv("MPA_CONVERT_ATTACHED", E.attached, 1);
	return E.prog;
}

/* Once the viewer is attached (the relay then sends the program's streams
 * from their first packet: the statedump is seen), the program runs. */
static void release_prog(pid_t viewer)
{
	for (int i = 0; i < 3000 && access(E.attached, F_OK) != 0; i++) {
		int st;
		if (viewer > 0)
			cr_assert_eq(waitpid(viewer, &st, WNOHANG), 0, "the viewer ended early");
		nap_ms(100);
	}
	cr_assert_eq(access(E.attached, F_OK), 0, "the viewer did not attach within 5 minutes");
	cr_assert_eq(write(E.go, "g", 1), 1);
	close(E.go);
	E.go = -1;
}

static void end_prog(void)
{
	tell(E.fifo);
	int st;
	cr_expect_eq(waitpid(E.prog, &st, 0), E.prog);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	E.prog = 0;
}

/* the session's end ends the stream */
static void destroy_session(void)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "lttng destroy %s", E.sess);
	cr_expect_eq(run_q(cmd), 0);
	E.have_sess = 0;
}

/* The viewer ends once the session is destroyed: within five minutes
 * (promptly on an idle host; the converter itself gives up on a session
 * the relay no longer lists after 5 s without news). */
static int wait_viewer(pid_t v, const char *out)
{
	int st;
	for (int i = 0; i < 3000; i++) {
		pid_t r = waitpid(v, &st, WNOHANG);
		if (r == v)
			return st;
		nap_ms(100);
	}
	cr_assert_fail("the viewer did not end within 5 minutes of the session's end: %s",
		       au_slurp(out, NULL));
	return -1;
}

TestSuite(live, .init = setup, .fini = cleanup, .timeout = 900);

Test(live, monitor_json_follows_a_program_that_allocates_when_told)
{
	/* errors first: a session that does not exist, a relay that is not there */
	start_prog(); /* the session exists, its program waits on the fifo */
	struct mon_proc p = {0};
	char url[600], capture[300], mon_out[300];
	snprintf(url, sizeof url, "%s-nosuch", E.url);
	mon_cli(&p, "mpa-monitor", (const char *const[]){"--live", url, "--no-config", NULL});
	cr_expect_eq(p.status, 1);
	cr_expect(strstr(p.err, "no such live session on the relay at 127.0.0.1:"), "%s", p.err);
	uint16_t none = free_port();
	snprintf(url, sizeof url, "net://127.0.0.1:%u/host/%s/%s", none, E.host, E.sess);
	mon_cli(&p, "mpa-monitor", (const char *const[]){"--live", url, "--no-config", NULL});
	cr_expect_eq(p.status, 1);
	cr_expect(strstr(p.err, "no LTTng relay daemon answers at 127.0.0.1:"), "%s", p.err);
	mon_proc_release(&p);

	snprintf(capture, sizeof capture, "%s/live.mpt", E.dir);
	snprintf(mon_out, sizeof mon_out, "%s/mon.out", E.dir);
	pid_t prog = E.prog;
	char bin[1024], pid[16];
	snprintf(bin, sizeof bin, "%s/bin/mpa-monitor", mon_build());
	snprintf(pid, sizeof pid, "%d", (int)prog);
	/* --pid: other programs traced on this host at the same time (issue
	 * 13) do not count */
	E.viewer = spawn((const char *const[]){bin, "--live", E.url, "--pid", pid, "--interval",
					       "200ms", "--format", "json", "--no-config", "-o",
					       capture, NULL},
			 mon_out, NULL);
	release_prog(E.viewer);
	json_t *j = wait_line(mon_out, STEP, E.viewer);
	cr_expect_lt(json_integer_value(json_object_get(j, "live_bytes")), STEP + SLACK);
	json_decref(j);
	tell(E.fifo);
	j = wait_line(mon_out, 2 * STEP, E.viewer);
	cr_expect_lt(json_integer_value(json_object_get(j, "live_bytes")), 2 * STEP + SLACK);
	/* the interval of the second step names its site */
	json_t *g = json_object_get(j, "top_growing_site");
	const char *site = json_string_value(json_object_get(g, "site"));
	char *line = json_dumps(j, JSON_COMPACT);
	cr_expect(site && strstr(site, "live_second"), "the interval: %s", line);
	free(line);
	cr_expect_geq(json_integer_value(json_object_get(j, "allocs")), 1);
	json_decref(j);
	end_prog();
	destroy_session();
	/* the monitor ends with the stream, the capture complete */
	int st = wait_viewer(E.viewer, mon_out);
	E.viewer = 0;
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", au_slurp(mon_out, NULL));
	mpt_reader *r = NULL;
	struct mpt_error e = {0};
	cr_expect_eq(mpt_reader_open(capture, &r, &e), MPT_OK, "%s", e.msg);
	if (r)
		mpt_reader_close(r);
}

Test(live, top_shows_the_sites_as_they_allocate)
{
	pid_t prog = start_prog();
	char targs[1024];
	snprintf(targs, sizeof targs, "--live %s --pid %d --interval 200ms --no-config", E.url,
		 (int)prog);
	tx_start(&E.tx, 100, 30, targs);
	E.have_tx = 1;
	release_prog(0);
	tx_wait(&E.tx, "LIVE");
	tx_keys(&E.tx, "2"); /* Sites */
	tx_wait(&E.tx, "live_first");
	cr_expect(!strstr(E.tx.screen, "live_second"), "%s", E.tx.screen);
	tell(E.fifo);
	tx_wait(&E.tx, "live_second");
	end_prog();
	destroy_session();
	tx_wait(&E.tx, "ENDED");
	cr_expect(strstr(E.tx.screen, "the live session ended"), "%s", E.tx.screen);
	tx_keys(&E.tx, "q");
}
