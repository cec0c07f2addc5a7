/* mpa monitor — live (live.h): mpa-convert on an LTTng live session,
 * cutting segments for the monitoring session to follow.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../analyzers/core/config.h"
#include "live.h"
#include "session.h"

struct mpa_live {
	char dir[PATH_MAX];       /* private temporary directory */
	char segs[PATH_MAX + 8];  /* dir/segs */
	char url[1024];
	char relay[300];          /* "HOST:PORT" */
	pid_t pid;                /* the converter, 0 once reaped */
	int status;               /* its exit status once reaped */
};

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

/* net://HOST[:PORT]/host/... -> host and port (default 5344, the live
 * port of lttng-relayd). */
static int parse_relay(const char *url, char *host, size_t hl, char *port, size_t pl)
{
	const char *p = strstr(url, "://");
	if (!p)
		return -1;
	p += 3;
	const char *slash = strchr(p, '/');
	if (!slash || slash == p || (size_t)(slash - p) >= hl)
		return -1;
	const char *colon = memchr(p, ':', (size_t)(slash - p));
	if (*p == '[') /* [v6]:port */
		colon = memchr(p, ']', (size_t)(slash - p)) ? strchr(memchr(p, ']', (size_t)(slash - p)), ':') : NULL;
	size_t n = (size_t)((colon && colon < slash ? colon : slash) - p);
	if (n >= hl)
		return -1;
	memcpy(host, p, n);
	host[n] = 0;
	if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = 0;
	}
	if (colon && colon < slash) {
		size_t k = (size_t)(slash - colon - 1);
		if (!k || k >= pl)
			return -1;
		memcpy(port, colon + 1, k);
		port[k] = 0;
	} else {
		snprintf(port, pl, "5344");
	}
	return 0;
}

/* 0 when something accepts a TCP connection at host:port */
static int relay_answers(const char *host, const char *port, char *why, size_t wl)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(why, wl, "%s", gai_strerror(rc));
		return -1;
	}
	int ok = -1;
	for (struct addrinfo *a = res; a && ok < 0; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			ok = 0;
		else
			snprintf(why, wl, "%s", strerror(errno));
		close(fd);
	}
	freeaddrinfo(res);
	return ok;
}

/* mpa-convert: $MPA_CONVERT, else next to this program, else on PATH */
static void convert_path(char *buf, size_t len)
{
	const char *e = getenv("MPA_CONVERT");
	if (e && *e) {
		snprintf(buf, len, "%s", e);
		return;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = 0;
		char *s = strrchr(self, '/');
		if (s) {
			*s = 0;
			if (snprintf(buf, len, "%s/mpa-convert", self) < (int)len &&
			    access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "mpa-convert");
}

struct mpa_live *mpa_live_start(const char *target, uint64_t interval_ns, const char *out,
				char *err, size_t errlen)
{
	struct mpa_live *l = calloc(1, sizeof *l);
	if (!l) {
		mpa_errf(err, errlen, "out of memory");
		return NULL;
	}
	if (strstr(target, "://")) {
		snprintf(l->url, sizeof l->url, "%s", target);
	} else {
		char host[256] = "";
		if (!*target || strchr(target, '/') || gethostname(host, sizeof host - 1) != 0) {
			mpa_errf(err, errlen,
				 "'%s': give a session name or net://RELAY[:PORT]/host/HOSTNAME/SESSION",
				 target);
			free(l);
			return NULL;
		}
		snprintf(l->url, sizeof l->url, "net://localhost/host/%s/%s", host, target);
	}
	char host[256], port[32], why[256] = "";
	if (strncmp(l->url, "net", 3) || !strstr(l->url, "/host/") ||
	    parse_relay(l->url, host, sizeof host, port, sizeof port) < 0) {
		mpa_errf(err, errlen, "'%s': a live session is net://RELAY[:PORT]/host/HOSTNAME/SESSION",
			 l->url);
		free(l);
		return NULL;
	}
	snprintf(l->relay, sizeof l->relay, "%s:%s", host, port);
	if (relay_answers(host, port, why, sizeof why) < 0) {
		mpa_errf(err, errlen,
			 "no LTTng relay daemon answers at %s (%s): start lttng-relayd there "
			 "(the session must be made with lttng create NAME --live)", l->relay, why);
		free(l);
		return NULL;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(l->dir, sizeof l->dir, "%s/mpa-live.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(l->dir)) {
		mpa_errf(err, errlen, "cannot create a temporary directory: %s", strerror(errno));
		free(l);
		return NULL;
	}
	snprintf(l->segs, sizeof l->segs, "%s/segs", l->dir);
	char conv[PATH_MAX], outp[PATH_MAX + 16], ms[32], logp[PATH_MAX + 16];
	convert_path(conv, sizeof conv);
	snprintf(outp, sizeof outp, "%s/all.mpt", l->dir);
	snprintf(logp, sizeof logp, "%s/convert.log", l->dir);
	uint64_t m = interval_ns / 1000000;
	snprintf(ms, sizeof ms, "%" PRIu64, m < 1 ? 1 : m > 3600000 ? 3600000 : m);
	pid_t pid = fork();
	if (pid < 0) {
		mpa_errf(err, errlen, "cannot fork: %s", strerror(errno));
		nftw(l->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
		free(l);
		return NULL;
	}
	if (pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int in = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0 && in >= 0) {
			dup2(in, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* the terminal's Ctrl-C goes to the monitor, which stops us */
		setpgid(0, 0);
		execlp(conv, "mpa-convert", l->url, "--segments", l->segs, "--segment-interval",
		       ms, "-q", "-o", out ? out : outp, (char *)NULL);
		dprintf(2, "mpa-convert: cannot run '%s': %s\n", conv, strerror(errno));
		_exit(127);
	}
	l->pid = pid;
	return l;
}

const char *mpa_live_dir(const struct mpa_live *l)
{
	return l->segs;
}

const char *mpa_live_url(const struct mpa_live *l)
{
	return l->url;
}

/* The converter's last non-empty output line. */
static void last_line(const struct mpa_live *l, char *buf, size_t len)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/convert.log", l->dir);
	buf[0] = 0;
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0])
			snprintf(buf, len, "%s", line);
	}
	fclose(f);
}

int mpa_live_check(struct mpa_live *l, char *err, size_t errlen)
{
	if (l->pid) {
		int st;
		pid_t r = waitpid(l->pid, &st, WNOHANG);
		if (r == 0)
			return 0;
		l->pid = 0;
		l->status = r < 0 ? 1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	if (!l->status)
		return 0;
	char line[1024];
	last_line(l, line, sizeof line);
	char first[PATH_MAX + 16];
	mpa_mon_segment_path(first, sizeof first, l->segs, 1);
	if (access(first, F_OK) != 0 && strstr(line, "upstream message iterator"))
		mpa_errf(err, errlen,
			 "%s: no such live session on the relay at %s (lttng list on the traced host; "
			 "it must be made with lttng create NAME --live and started)", l->url, l->relay);
	else
		mpa_errf(err, errlen, "%s: the live stream failed: %s", l->url,
			 line[0] ? line : "mpa-convert failed");
	return -1;
}

int mpa_live_wait_first(struct mpa_live *l, char *err, size_t errlen)
{
	char first[PATH_MAX + 16], done[PATH_MAX + 16];
	mpa_mon_segment_path(first, sizeof first, l->segs, 1);
	snprintf(done, sizeof done, "%s/done", l->segs);
	while (access(first, F_OK) != 0) {
		if (mpa_live_check(l, err, errlen) < 0)
			return -1;
		if (!l->pid) {
			mpa_errf(err, errlen, "%s: the session ended without memory events", l->url);
			return -1;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

void mpa_live_stop(struct mpa_live *l)
{
	if (!l)
		return;
	if (l->pid) {
		kill(l->pid, SIGINT);
		int st;
		while (waitpid(l->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	nftw(l->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(l);
}
