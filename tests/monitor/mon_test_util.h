/* Helpers for the monitor tests: run a CLI of build/bin, and drive mpa-top
 * in a private tmux server (send keys, read the screen as a person sees it).
 */
#ifndef MPA_MON_TEST_UTIL_H
#define MPA_MON_TEST_UTIL_H

#include "../analyzers/analyze_test_util.h"

static inline const char *mon_build(void)
{
	const char *b = getenv("MPA_BUILD");
	cr_assert(b, "MPA_BUILD not set");
	return b;
}

static inline const char *mon_src(void)
{
	const char *s = getenv("MPA_SRC");
	cr_assert(s, "MPA_SRC not set");
	return s;
}

struct mon_proc {
	int status;      /* exit code, or 128+signal */
	char *out, *err; /* (owned) whole outputs */
};

static inline void mon_proc_release(struct mon_proc *p)
{
	free(p->out);
	free(p->err);
	p->out = p->err = NULL;
}

/* Runs build/bin/<prog> with args (NULL-terminated); stdout and stderr are
 * files (not a terminal).  Release p with mon_proc_release. */
static inline void mon_cli(struct mon_proc *p, const char *prog, const char *const *args)
{
	mon_proc_release(p);
	char bin[1024], outf[300], errf[300], tmp[256];
	snprintf(bin, sizeof bin, "%s/bin/%s", mon_build(), prog);
	au_mkdtemp(tmp, sizeof tmp);
	snprintf(outf, sizeof outf, "%s/out", tmp);
	snprintf(errf, sizeof errf, "%s/err", tmp);
	const char *argv[64];
	size_t n = 0;
	argv[n++] = prog;
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fi = open("/dev/null", O_RDONLY);
		if (fo < 0 || fe < 0 || fi < 0)
			_exit(125);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	p->out = au_slurp(outf, NULL);
	p->err = au_slurp(errf, NULL);
	if (!p->out)
		p->out = strdup("");
	if (!p->err)
		p->err = strdup("");
	cr_assert(p->out && p->err);
	au_rmrf(tmp);
}

/* ---- tmux ---------------------------------------------------------------------- */

struct tx {
	char sock[64];     /* a private tmux server (-L) */
	char screen[16384];
};

static inline int tx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int tx_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts "mpa-top ARGS" (args: shell words) in a cols x rows window. */
static inline void tx_start(struct tx *t, int cols, int rows, const char *args)
{
	static int seq;
	snprintf(t->sock, sizeof t->sock, "mpa-top-test-%d-%d", (int)getpid(), seq++);
	cr_assert_eq(tx_sh("tmux -L %s -f /dev/null new-session -d -s top -x %d -y %d "
			   "'env LANG=C.UTF-8 LC_ALL=C.UTF-8 %s/bin/mpa-top %s' >/dev/null 2>&1",
			   t->sock, cols, rows, mon_build(), args),
		     0, "tmux new-session failed (is tmux installed?)");
}

/* The screen as text (lines joined by \n).  0, or -1 when the session is gone. */
static inline int tx_capture(struct tx *t)
{
	char cmd[1024], tmp[256], path[300];
	au_mkdtemp(tmp, sizeof tmp);
	snprintf(path, sizeof path, "%s/screen", tmp);
	snprintf(cmd, sizeof cmd, "tmux -L %s capture-pane -p -t top > %s 2>/dev/null", t->sock,
		 path);
	int st = system(cmd);
	char *s = au_slurp(path, NULL);
	snprintf(t->screen, sizeof t->screen, "%s", s ? s : "");
	free(s);
	au_rmrf(tmp);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Waits until the screen shows text (the UI reads the capture first: no
 * tight timeout, a loaded host may be slow).  Fails with the screen. */
static inline void tx_wait(struct tx *t, const char *text)
{
	for (int i = 0; i < 1200; i++) {
		if (tx_capture(t) == 0 && strstr(t->screen, text))
			return;
		usleep(100000);
	}
	cr_assert_fail("the screen never showed \"%s\"; it shows:\n%s", text, t->screen);
}

/* Sends tmux key names ("2", "Enter", "Escape", "Right", "/", ...). */
static inline void tx_keys(struct tx *t, const char *keys)
{
	cr_assert_eq(tx_sh("tmux -L %s send-keys -t top %s", t->sock, keys), 0);
}

static inline void tx_stop(struct tx *t)
{
	tx_sh("tmux -L %s kill-server >/dev/null 2>&1", t->sock);
}

#endif /* MPA_MON_TEST_UTIL_H */
