/* wl-fork: fork without exec, with an exactly known heap on both sides.
 *   parent: 5 blocks of 1111, 2222, 3333, 4444 and 5555 bytes, then fork;
 *           waits for the child, frees its own copies of the 5, exit 0
 *   child:  frees 4 of the inherited blocks (1111..4444), allocates 7777
 *           bytes and leaks them, returns 0 from main (a normal exit:
 *           atexit handlers and destructors run)
 * Exit status: 0 when the child exited with 0, else 2.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define NBLOCKS 5

void *volatile wl_sink;
static char *volatile blocks[NBLOCKS];

NOINLINE void mpa_wl_fork_alloc(void)
{
	for (int i = 0; i < NBLOCKS; i++) {
		size_t n = (size_t)(i + 1) * 1111;
		char *p = malloc(n);

		if (p == NULL)
			exit(1);
		memset(p, i + 1, n);
		blocks[i] = p;
	}
}

NOINLINE void mpa_wl_fork_child(void)
{
	char *p;

	for (int i = 0; i < NBLOCKS - 1; i++)
		free(blocks[i]);
	p = malloc(7777);
	if (p == NULL)
		exit(1);
	memset(p, 7, 7777);
	wl_sink = p; /* leaked */
}

NOINLINE void mpa_wl_fork_parent_free(void)
{
	for (int i = 0; i < NBLOCKS; i++)
		free(blocks[i]);
}

int main(void)
{
	pid_t c;
	int st;

	mpa_wl_fork_alloc();
	c = fork();
	if (c < 0)
		return 1;
	if (c == 0) {
		mpa_wl_fork_child();
		return 0;
	}
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 2;
	mpa_wl_fork_parent_free();
	return 0;
}
