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
