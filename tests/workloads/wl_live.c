/* wl-live FIFO N SIZE: allocates N blocks of SIZE bytes in live_first(),
 * then reads one line from FIFO, allocates N more in live_second(), reads
 * another line, and exits without freeing: the test sees the live heap
 * grow by N*SIZE at each step, when it decides.
 *
 * The FIFO is opened once, read and write: a writer that closes never
 * makes a read see end-of-file (reopening it per line raced with the
 * test's writer still holding it: the second read saw EOF at once and the
 * program ended early, and the test's next write blocked for ever). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep[2][4096];

__attribute__((noinline)) static void live_first(int n, size_t size)
{
	for (int i = 0; i < n; i++) {
		keep[0][i] = malloc(size);
		memset(keep[0][i], 1, size);
	}
}

__attribute__((noinline)) static void live_second(int n, size_t size)
{
	for (int i = 0; i < n; i++) {
		keep[1][i] = malloc(size);
		memset(keep[1][i], 2, size);
	}
}

static int wait_line(FILE *f)
{
	char line[64];
	return fgets(line, sizeof line, f) != NULL ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	int n = atoi(argv[2]);
	size_t size = (size_t)atol(argv[3]);
	if (n <= 0 || n > 4096 || !size)
		return 2;
	FILE *f = fopen(argv[1], "r+");
	if (!f)
		return 3;
	live_first(n, size);
	if (wait_line(f) < 0)
		return 3;
	live_second(n, size);
	if (wait_line(f) < 0)
		return 3;
	fclose(f);
	return keep[0][0] && keep[1][0] ? 0 : 1;
}
