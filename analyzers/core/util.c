/* mpa analysis core — helpers every part uses. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpa/analyzer.h"
#include "util.h"

void mpa_errf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void mpa_fmt_double(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "nan");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v < 0 ? "-inf" : "inf");
		return;
	}
	if (v == 0)
		v = 0; /* no "-0" */
	/* %.9g, but never an exponent for ordinary magnitudes: readers of CSV
	 * and gnuplot both accept either; fixed-point reads better. */
	double a = fabs(v);
	if (a >= 1e-4 && a < 1e15) {
		snprintf(buf, len, "%.6f", v);
		/* trim trailing zeros of the fraction */
		char *dot = strchr(buf, '.');
		if (dot) {
			char *e = buf + strlen(buf) - 1;
			while (e > dot && *e == '0')
				*e-- = 0;
			if (e == dot)
				*e = 0;
		}
		if (!strcmp(buf, "-0"))
			snprintf(buf, len, "0");
	} else {
		snprintf(buf, len, "%.9g", v);
	}
}

/* A stable merge sort of an index array with a context (qsort has none). */
static void sort_idx(uint32_t *v, uint32_t *tmp, size_t n, const void *base, size_t sz,
		     int (*cmp)(const void *, const void *, void *), void *u)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	sort_idx(v, tmp, h, base, sz, cmp, u);
	sort_idx(v + h, tmp, n - h, base, sz, cmp, u);
	size_t i = 0, j = h, k = 0;
	const char *B = base;
	while (i < h && j < n)
		tmp[k++] = cmp(B + (size_t)v[j] * sz, B + (size_t)v[i] * sz, u) < 0 ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

uint32_t *mpa_sorted_index(size_t n, const void *base, size_t sz,
			int (*cmp)(const void *, const void *, void *), void *u)
{
	uint32_t *v = malloc((n ? n : 1) * sizeof *v), *tmp = malloc((n ? n : 1) * sizeof *tmp);
	if (!v || !tmp) {
		free(v);
		free(tmp);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (uint32_t)i;
	sort_idx(v, tmp, n, base, sz, cmp, u);
	free(tmp);
	return v;
}
