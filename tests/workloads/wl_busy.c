/* wl-busy: a known number of allocations of a size that names the program,
 * for the isolation tests (two recordings at once, a recording beside
 * unrecorded programs with the preload, kill -9 of the recorder).
 *
 *   wl-busy SIZE COUNT tree   COUNT malloc(SIZE)+free pairs; then forks a
 *                             child that makes COUNT pairs of SIZE + 1 and
 *                             execs `wl-busy SIZE+2 COUNT leaf`; waits
 *   wl-busy SIZE COUNT leaf   COUNT pairs of SIZE
 *   wl-busy SIZE SECONDS loop pairs of SIZE for about SECONDS seconds
 *                             (a 1 ms pause every 256 pairs); with a 4th
 *                             argument FILE, writes its pid there first
 *                             and forks a child that does the same loop
 *                             (SIZE + 1) and writes its pid to FILE.child
 *   wl-busy SIZE COUNT paced  COUNT pairs of SIZE, 256 at a time with a
 *                             2 ms pause between (COUNT / 128 ms at least,
 *                             however fast the machine: a recording long
 *                             enough for several rotations)
 *   wl-busy SIZE SECONDS slow 16 pairs of SIZE every 50 ms for SECONDS
 *                             (a steady background: ~40 KB/s of trace)
 * Exit status 0 (tree: 2 if the child failed).  Prints nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

void *volatile wl_sink;

NOINLINE static void pairs(size_t size, long count)
{
	for (long i = 0; i < count; i++) {
		char *p = malloc(size);

		if (p == NULL)
			exit(1);
		p[0] = (char)i;
		wl_sink = p;
		free(p);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_pid(const char *path)
{
	char tmp[4096];
	FILE *f;

	/* written then renamed: a reader never sees half a number */
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		exit(1);
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		exit(1);
}

static void loop(size_t size, double seconds, long burst, long pause_ns)
{
	double end = now() + seconds;
	struct timespec pause = { 0, pause_ns };

	while (now() < end) {
		pairs(size, burst);
		nanosleep(&pause, NULL);
	}
}

int main(int argc, char **argv)
{
	size_t size;
	long count;

	if (argc < 4)
		return 2;
	size = strtoul(argv[1], NULL, 10);
	count = strtol(argv[2], NULL, 10);
	if (strcmp(argv[3], "leaf") == 0) {
		pairs(size, count);
		return 0;
	}
	if (strcmp(argv[3], "paced") == 0) {
		struct timespec pause = { 0, 2 * 1000 * 1000 };

		for (long done = 0; done < count; done += 256) {
			pairs(size, count - done < 256 ? count - done : 256);
			nanosleep(&pause, NULL);
		}
		return 0;
	}
	if (strcmp(argv[3], "loop") == 0) {
		if (argc > 4) {
			char child_file[4096];
			pid_t pid;

			write_pid(argv[4]);
			snprintf(child_file, sizeof child_file, "%s.child", argv[4]);
			pid = fork();
			if (pid < 0)
				return 1;
			if (pid == 0) {
				write_pid(child_file);
				loop(size + 1, (double)count, 256, 1000 * 1000);
				return 0;
			}
		}
		loop(size, (double)count, 256, 1000 * 1000);
		return 0;
	}
	if (strcmp(argv[3], "slow") == 0) {
		loop(size, (double)count, 16, 50 * 1000 * 1000);
		return 0;
	}
	if (strcmp(argv[3], "tree") == 0) {
		char next[32];
		pid_t pid;
		int st;

		pairs(size, count);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			pairs(size + 1, count);
			snprintf(next, sizeof next, "%zu", size + 2);
			execl("/proc/self/exe", argv[0], next, argv[2], "leaf", (char *)NULL);
			_exit(1);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 2;
		return 0;
	}
	return 2;
}
