/* wl-intern: exactly known call stacks for the stack-interning tests
 * (tests/tracepoints/test_stack_intern.c).
 *   SITES call paths, site k reaching malloc through k + 1 frames of
 *   mpa_wl_intern_down: ROUNDS times malloc(base + k) then free, so each
 *   site has one allocation stack and one free stack;
 *   main thread: base 1000; a second thread at the same time: base 3000;
 *   then fork: the child runs the sites with base 5000 and exits 0.
 * Exit status: 0 when the child exited with 0, else 2.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noipa))
#define SITES 24
#define ROUNDS 8

void *volatile wl_sink;
volatile int wl_depth_sum;

NOINLINE static void mpa_wl_intern_leaf(size_t n)
{
	char *p = malloc(n);

	if (p == NULL)
		exit(1);
	p[0] = 1;
	wl_sink = p;
	free(p);
}

NOINLINE static void mpa_wl_intern_down(int k, size_t n)
{
	if (k > 0)
		mpa_wl_intern_down(k - 1, n);
	else
		mpa_wl_intern_leaf(n);
	wl_depth_sum += k; /* no tail call: every level keeps its frame */
}

NOINLINE static void mpa_wl_intern_sites(size_t base)
{
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < SITES; k++)
			mpa_wl_intern_down(k, base + (size_t)k);
}

static void *thread_main(void *arg)
{
	(void)arg;
	mpa_wl_intern_sites(3000);
	return NULL;
}

int main(void)
{
	pthread_t th;
	pid_t pid;
	int st;

	if (pthread_create(&th, NULL, thread_main, NULL) != 0)
		return 1;
	mpa_wl_intern_sites(1000);
	pthread_join(th, NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		mpa_wl_intern_sites(5000);
		return 0;
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 2;
	return 0;
}
