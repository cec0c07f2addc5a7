/* A small allocation workload for the converter tests: every libc API the
 * LTTng-UST wrapper traces, from named functions at marked lines (the
 * tests find the `SITE:` markers in this file and expect the converted
 * frames to resolve to exactly these functions and lines).
 *
 *   cvt-workload N [fork]    N rounds; with `fork`, a child does the same
 *   cvt-workload N dl LIB    N rounds, then N allocations from LIB's
 *                            cvt_dlib_alloc (dlopened, then dlclosed)
 */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Keeps the compiler from eliding allocations (see FACTS.md). */
static volatile unsigned long sink_sum;

__attribute__((noinline)) static void *cvt_site_malloc(void)
{
	return malloc(12345); /* SITE:malloc */
}

__attribute__((noinline)) static void *cvt_site_calloc(void)
{
	return calloc(3, 1000); /* SITE:calloc */
}

__attribute__((noinline)) static void *cvt_site_realloc(void *p)
{
	return realloc(p, 23456); /* SITE:realloc */
}

__attribute__((noinline)) static void *cvt_site_memalign(void)
{
	return memalign(64, 3333); /* SITE:memalign */
}

__attribute__((noinline)) static void *cvt_site_posix_memalign(void)
{
	void *p = NULL;
	if (posix_memalign(&p, 128, 4444) != 0) /* SITE:posix_memalign */
		return NULL;
	return p;
}

__attribute__((noinline)) static void cvt_site_free(void *p)
{
	free(p); /* SITE:free */
}

static void rounds(int n)
{
	for (int i = 0; i < n; i++) {
		char *a = cvt_site_malloc();
		char *b = cvt_site_calloc();
		char *c = cvt_site_memalign();
		char *d = cvt_site_posix_memalign();
		if (!a || !b || !c || !d)
			exit(1);
		a[0] = (char)i;
		b[1] = (char)i;
		c[2] = (char)i;
		d[3] = (char)i;
		a = cvt_site_realloc(a);
		if (!a)
			exit(1);
		sink_sum += (unsigned long)a[0] + (unsigned long)b[1] + (unsigned long)c[2] +
			    (unsigned long)d[3];
		cvt_site_free(a);
		cvt_site_free(b);
		cvt_site_free(c);
		if (i + 1 < n)
			cvt_site_free(d); /* the last one stays live (a leak) */
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;
	int do_fork = argc > 2 && strcmp(argv[2], "fork") == 0;
	pid_t child = -1;
	if (do_fork) {
		child = fork();
		if (child < 0)
			return 1;
	}
	rounds(n);
	if (argc > 3 && strcmp(argv[2], "dl") == 0) {
		void *h = dlopen(argv[3], RTLD_NOW);
		if (!h)
			return 1;
		void *(*fn)(void) = (void *(*)(void))dlsym(h, "cvt_dlib_alloc");
		if (!fn)
			return 1;
		for (int i = 0; i < n; i++) {
			char *p = fn();
			if (!p)
				return 1;
			p[0] = 1;
			sink_sum += (unsigned long)p[0];
			free(p);
		}
		dlclose(h);
	}
	if (child > 0) {
		int st;
		waitpid(child, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	return sink_sum == 0xFFFFFFFF;
}
