/* wl-vfork: a vfork child whose exec fails and that calls _exit(127), as
 * a spawning program does.  The child shares the parent's memory (and
 * libmpa-preload.so's state): its _exit must not be taken for the
 * parent's.  The parent then allocates and frees 8765 bytes and frees its
 * 4321-byte block; exit 0 when the child exited with 127.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

void *volatile wl_sink;
static char *volatile kept; /* a global: vfork may clobber locals */

NOINLINE char *mpa_wl_vfork_alloc(size_t n)
{
	char *p = malloc(n);

	if (p == NULL)
		exit(1);
	memset(p, 1, n);
	wl_sink = p;
	return p;
}

int main(void)
{
	pid_t c;
	int st;

	kept = mpa_wl_vfork_alloc(4321);
	c = vfork();
	if (c < 0)
		return 1;
	if (c == 0) {
		execl("/nonexistent/mpa-wl-vfork", "x", (char *)NULL);
		_exit(127);
	}
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 127)
		return 2;
	free(mpa_wl_vfork_alloc(8765));
	free(kept);
	return 0;
}
