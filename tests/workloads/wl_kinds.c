/* wl-kinds: one block of each of valgrind's leak kinds at exit (issue 11):
 *   100 bytes still reachable (a global points to its start);
 *    64 bytes possibly lost (a global points into its interior only);
 *    32 bytes definitely lost, pointing to 32 bytes indirectly lost;
 *    77 bytes definitely lost (nothing points to it).
 * Everything else is freed.  The pointers are cleared through volatile
 * stores and a scrubbed stack, so no stale copy keeps a lost block alive. */
#include <stdlib.h>
#include <string.h>

struct node {
	struct node *next;
	char pad[24];
};

void *volatile keep;  /* reachable */
char *volatile inner; /* possibly lost: interior pointer only */

static __attribute__((noinline)) void make(void)
{
	keep = malloc(100);
	char *p = malloc(64);
	inner = p + 8;
	struct node *volatile a = malloc(sizeof *a);
	struct node *volatile b = malloc(sizeof *b);
	a->next = b;
	b->next = NULL;
	void *volatile d = malloc(77);
	memset(d, 1, 77);
	void *volatile tmp = malloc(500);
	free(tmp);
	a = NULL;
	b = NULL;
	d = NULL;
}

static __attribute__((noinline)) void scrub(void)
{
	volatile char buf[8192];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = 0;
}

int main(void)
{
	make();
	scrub();
	return 0;
}
