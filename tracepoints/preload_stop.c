/* libmpa-preload.so: stopping the other threads of the process for the
 * exit-time reachability scan (preload_scan.c), the way LeakSanitizer's
 * StopTheWorld does it, but from inside the process: every other thread
 * (/proc/self/task) that does not block the signal is sent MPA_STOP_SIG;
 * its handler records the registers it was interrupted with and its stack
 * pointer, says it is parked, and waits until the scan is over.  The scan
 * then reads each parked thread's stack from that stack pointer (less the
 * x86-64 red zone) to the top, and its registers: a pointer held only in a
 * register of a running thread is seen, and no thread moves memory while
 * the scan reads it.  A thread that blocks the signal (lttng-ust's own
 * threads block them all) or does not park within the time limit is read
 * as before, whole stack, running.
 *
 * Async-signal-safe: the handler uses atomics, gettid and futex only.  It
 * stays installed after the scan (the process is ending): a signal still
 * pending must never meet the default action of a real-time signal, which
 * would end the process with another status.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "preload.h"

/* A real-time signal programs rarely use (LeakSanitizer uses ptrace, Boehm
 * GC SIGPWR/SIGXCPU). */
#define MPA_STOP_SIG (SIGRTMAX - 1)
#define STOP_WAIT_NS (200u * 1000 * 1000) /* for all threads to park */

enum { P_ASKED = 1, P_PARKED = MPA_PARKED, P_LEFT = 3 };
_Static_assert(MPA_PARKED_REGS == NGREG, "the registers of a parked thread");

static struct mpa_parked *parked; /* mmap'd, nparked entries */
static int nparked;
static int release;               /* futex word: 1 = the scan is over */

static long futex(int *w, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

static void park_handler(int sig, siginfo_t *si, void *ucv)
{
	const ucontext_t *uc = ucv;
	int saved_errno = errno;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	struct mpa_parked *p = NULL;
	struct mpa_tls *t = &mpa_tls;

	(void)sig;
	(void)si;
	for (int k = 0; k < __atomic_load_n(&nparked, __ATOMIC_ACQUIRE); k++)
		if (parked[k].tid == tid)
			p = &parked[k];
	/* inside a shard lock of the live set: parking would hold it while
	 * the scan waits for it; this thread stays running */
	if (p != NULL && t->in_live &&
			__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) == P_ASKED)
		__atomic_store_n(&p->state, 0, __ATOMIC_RELEASE);
	if (p == NULL || __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != P_ASKED) {
		errno = saved_errno;
		return;
	}
	p->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	memcpy(p->regs, uc->uc_mcontext.gregs, sizeof p->regs);
	p->self = (uintptr_t)pthread_self();
	if (t->stack_state == 1 && p->sp >= t->stack_lo && p->sp < t->stack_hi) {
		p->lo = t->stack_lo;
		p->hi = t->stack_hi;
	}
	__atomic_store_n(&p->state, P_PARKED, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&release, __ATOMIC_ACQUIRE))
		futex(&release, FUTEX_WAIT_PRIVATE, 0, NULL);
	__atomic_store_n(&p->state, P_LEFT, __ATOMIC_RELEASE);
	errno = saved_errno;
}

static long read_small(const char *path, char *buf, size_t len)
{
	long fd = syscall(SYS_open, path, O_RDONLY | O_CLOEXEC), got, n = 0;

	if (fd < 0)
		return -1;
	while ((size_t)n + 1 < len && (got = syscall(SYS_read, fd, buf + n, len - 1 - n)) > 0)
		n += got;
	syscall(SYS_close, fd);
	buf[n] = '\0';
	return n;
}

static char *put_dec(char *o, unsigned long v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*o++ = tmp[--n];
	return o;
}

/* Whether thread tid blocks sig (its /proc status, SigBlk); 1 when unknown. */
static int blocks_signal(pid_t tid, int sig)
{
	char path[64], buf[2048], *o = path;
	const char *s;
	uint64_t mask = 0;

	memcpy(o, "/proc/self/task/", 16);
	o = put_dec(o + 16, (unsigned long)tid);
	memcpy(o, "/status", 8);
	if (read_small(path, buf, sizeof buf) <= 0 || (s = strstr(buf, "SigBlk:")) == NULL)
		return 1;
	for (s += 7; *s == ' ' || *s == '\t'; s++)
		;
	for (;; s++) {
		if (*s >= '0' && *s <= '9')
			mask = mask << 4 | (uint64_t)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			mask = mask << 4 | (uint64_t)(*s - 'a' + 10);
		else
			break;
	}
	return (int)(mask >> (sig - 1) & 1);
}

struct dirent64_ {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

int mpa_stop_threads(struct mpa_parked **out, int max, char *buf, size_t buflen)
{
	struct sigaction sa;
	pid_t self = (pid_t)syscall(SYS_gettid), pid = (pid_t)syscall(SYS_getpid);
	long fd, got;
	int n = 0, sig = MPA_STOP_SIG;
	struct timespec t0, now;

	*out = NULL;
	if (parked == NULL) {
		void *m = (void *)syscall(SYS_mmap, NULL, (size_t)max * sizeof *parked,
			PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			return 0;
		parked = m;
	}
	fd = syscall(SYS_open, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (n < max && (got = syscall(SYS_getdents64, fd, buf, buflen)) > 0) {
		for (long off = 0; off < got && n < max;) {
			const struct dirent64_ *d = (const void *)(buf + off);
			pid_t tid = 0;

			off += d->reclen;
			for (const char *c = d->name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (*c - '0');
			if (tid <= 0 || tid == self || blocks_signal(tid, sig))
				continue;
			memset(&parked[n], 0, sizeof parked[n]);
			parked[n].tid = tid;
			parked[n].state = P_ASKED;
			n++;
		}
	}
	syscall(SYS_close, fd);
	if (n == 0)
		return 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = park_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	__atomic_store_n(&release, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&nparked, n, __ATOMIC_RELEASE);
	if (sigaction(sig, &sa, NULL) != 0) {
		__atomic_store_n(&nparked, 0, __ATOMIC_RELEASE);
		return 0;
	}
	for (int k = 0; k < n; k++)
		if (syscall(SYS_tgkill, pid, parked[k].tid, sig) != 0)
			parked[k].state = 0; /* gone */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int waiting = 0;

		for (int k = 0; k < n; k++)
			waiting += __atomic_load_n(&parked[k].state, __ATOMIC_ACQUIRE) == P_ASKED;
		if (!waiting)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((uint64_t)(now.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)now.tv_nsec -
				(uint64_t)t0.tv_nsec > STOP_WAIT_NS)
			break;
		sched_yield();
	}
	*out = parked;
	return n;
}

void mpa_resume_threads(void)
{
	int n = __atomic_load_n(&nparked, __ATOMIC_ACQUIRE), inside = 0;
	struct timespec t0, now;

	if (n == 0)
		return;
	__atomic_store_n(&release, 1, __ATOMIC_RELEASE);
	futex(&release, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		inside = 0;
		for (int k = 0; k < n; k++) {
			int st = __atomic_load_n(&parked[k].state, __ATOMIC_ACQUIRE);

			inside += st == P_PARKED || st == P_ASKED;
		}
		if (!inside)
			break;
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((uint64_t)(now.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)now.tv_nsec -
			(uint64_t)t0.tv_nsec < STOP_WAIT_NS);
}
