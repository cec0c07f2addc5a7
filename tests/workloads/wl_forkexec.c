/* wl-forkexec: fork without exec, and fork + exec of itself.
 *   parent:         malloc(3333) + free, waits for both children, exit 0
 *   fork child:     malloc(1111) + free, then _exit(5)
 *   exec'd child:   (argv[1] = "child") malloc(4242), leaked; returns 0
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

void *volatile wl_sink;

NOINLINE void mpa_wl_alloc(size_t n, int keep)
{
	char *p = malloc(n);

	memset(p, 1, n);
	wl_sink = p;
	if (!keep)
		free(p);
}

int main(int argc, char **argv)
{
	pid_t a, b;
	int st;

	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		mpa_wl_alloc(4242, 1);
		return 0;
	}
	a = fork();
	if (a < 0)
		return 1;
	if (a == 0) {
		mpa_wl_alloc(1111, 0);
		_exit(5);
	}
	b = fork();
	if (b < 0)
		return 1;
	if (b == 0) {
		execl("/proc/self/exe", argv[0], "child", (char *)NULL);
		_exit(127);
	}
	mpa_wl_alloc(3333, 0);
	if (waitpid(a, &st, 0) != a || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
		return 2;
	if (waitpid(b, &st, 0) != b || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 3;
	return 0;
}
