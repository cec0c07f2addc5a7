/* wl-forkstress: fork safety.  4 threads run malloc(64)+free in a loop
 * (16 pairs, then 1 ms of sleep: enough to be inside malloc at fork time,
 * not so much that the trace becomes huge) while the main thread forks 30
 * children; each child does malloc(100) + free and _exit(7).  Exit 0 when
 * every child exited with 7.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile wl_sink;
static volatile int stop;

static void *worker(void *arg)
{
	(void)arg;
	for (unsigned n = 1; !__atomic_load_n(&stop, __ATOMIC_RELAXED); n++) {
		char *p = malloc(64);

		p[0] = 1;
		wl_sink = p;
		free(p);
		if (n % 16 == 0)
			usleep(1000);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[4];

	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < 30; i++) {
		pid_t c = fork();
		int st;

		if (c < 0)
			return 1;
		if (c == 0) {
			char *p = malloc(100);

			p[0] = 1;
			wl_sink = p;
			free(p);
			_exit(7);
		}
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			return 2;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	return 0;
}
