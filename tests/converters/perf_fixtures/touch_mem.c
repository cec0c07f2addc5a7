/*
 * perf-touch-mem — a small workload for perf recordings in the tests:
 * touches N pages (argument, default 256) of a fresh mapping so that
 * `perf record -e page-faults -d` sees page faults with data addresses.
 * Prints the touched range (hex address, bytes), a checksum, and the
 * CLOCK_REALTIME time in ns just before exiting, to stdout or to the file
 * named by the second argument (perf record -o - owns stdout).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long pages = argc > 1 ? strtol(argv[1], NULL, 10) : 256;
	long psz = sysconf(_SC_PAGESIZE), i;
	volatile unsigned char *p;
	unsigned long sum = 0;
	struct timespec now;

	if (pages <= 0 || pages > 1L << 20) {
		fprintf(stderr, "perf-touch-mem: bad page count '%s'\n", argv[1]);
		return 2;
	}
	p = mmap(NULL, (size_t)(pages * psz), PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("perf-touch-mem: mmap");
		return 1;
	}
	/* one fault per page: no transparent huge pages */
	madvise((void *)p, (size_t)(pages * psz), MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		p[i * psz] = (unsigned char)i;
	for (i = 0; i < pages; i++)
		sum += p[i * psz];
	/* the touched range, for the tests; sum keeps the reads alive */
	if (argc > 2 && !freopen(argv[2], "w", stdout)) {
		perror("perf-touch-mem: output file");
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	printf("%lx %lu %lu %lld\n", (unsigned long)p, (unsigned long)(pages * psz),
		sum, (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
	return 0;
}
