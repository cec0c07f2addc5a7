/* libmpt: time arguments ("1.5s", "200ms", "@N") and the capture's span.
 * The one parser of every mpa command line; exact integer arithmetic (no
 * floating point), every step checked against 2^64-1 ns.  Uses the public
 * reader API only. */
#include "mpt_internal.h"

#define BAD_TIME "bad time '%s' (expected seconds like 1.5, 1.5s, 200ms, 30us, 100ns, or @NS)"

/* v = v * 10 + d; 0, or -1 on overflow (v unchanged then). */
static int push_digit(uint64_t *v, unsigned d)
{
	if (*v > (UINT64_MAX - d) / 10)
		return -1;
	*v = *v * 10 + d;
	return 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

enum mpt_status mpt_time_parse(const char *s, uint64_t *value, int *absolute,
			       struct mpt_error *err)
{
	if (!value || !absolute)
		return mpt__err(err, MPT_E_ARG, "mpt_time_parse: NULL argument");
	if (!s)
		return mpt__err(err, MPT_E_ARG, BAD_TIME, "");
	const char *p = s;
	uint64_t v = 0;
	if (*p == '@') {
		if (!is_digit(*++p))
			goto bad;
		for (; is_digit(*p); p++)
			if (push_digit(&v, (unsigned)(*p - '0')))
				goto bad;
		if (*p)
			goto bad;
		*value = v;
		*absolute = 1;
		return MPT_OK;
	}
	if (!is_digit(*p))
		goto bad;
	const char *ip = p, *fp = NULL;
	size_t il = 0, fl = 0;
	while (is_digit(p[il]))
		il++;
	p += il;
	if (*p == '.') {
		fp = ++p;
		while (is_digit(p[fl]))
			fl++;
		p += fl;
	}
	unsigned scale; /* the unit is 10^scale ns */
	if (!*p || !strcmp(p, "s"))
		scale = 9;
	else if (!strcmp(p, "ms"))
		scale = 6;
	else if (!strcmp(p, "us"))
		scale = 3;
	else if (!strcmp(p, "ns"))
		scale = 0;
	else
		goto bad;
	/* the integer part, then the first `scale` fraction digits (missing
	 * ones are 0), make the ns; the next digit rounds half up */
	for (size_t i = 0; i < il; i++)
		if (push_digit(&v, (unsigned)(ip[i] - '0')))
			goto bad;
	for (unsigned i = 0; i < scale; i++)
		if (push_digit(&v, i < fl ? (unsigned)(fp[i] - '0') : 0))
			goto bad;
	if (fl > scale && fp[scale] >= '5') {
		if (v == UINT64_MAX)
			goto bad;
		v++;
	}
	*value = v;
	*absolute = 0;
	return MPT_OK;
bad:
	return mpt__err(err, MPT_E_ARG, BAD_TIME, s);
}

enum mpt_status mpt_reader_time_span(const mpt_reader *r, uint64_t *first, uint64_t *last)
{
	uint64_t lo = 0, hi = 0;
	int any = 0;
	for (uint32_t c = 0; c < mpt_reader_chunk_count(r); c++) {
		struct mpt_chunk_info ci;
		if (mpt_reader_chunk_info(r, c, &ci) != MPT_OK || !ci.rows)
			continue;
		if (!any || ci.ts_min < lo)
			lo = ci.ts_min;
		if (!any || ci.ts_max > hi)
			hi = ci.ts_max;
		any = 1;
	}
	if (first)
		*first = lo;
	if (last)
		*last = hi;
	return any ? MPT_OK : MPT_END;
}

enum mpt_status mpt_reader_resolve_time(const mpt_reader *r, const char *s, uint64_t *ts,
					struct mpt_error *err)
{
	if (!ts)
		return mpt__err(err, MPT_E_ARG, "mpt_reader_resolve_time: NULL argument");
	uint64_t v, first = 0;
	int absolute;
	enum mpt_status st = mpt_time_parse(s, &v, &absolute, err);
	if (st != MPT_OK)
		return st;
	if (absolute) {
		*ts = v;
		return MPT_OK;
	}
	mpt_reader_time_span(r, &first, NULL);
	if (v > UINT64_MAX - first)
		return mpt__err(err, MPT_E_ARG, "time '%s' is beyond the clock's range", s);
	*ts = first + v;
	return MPT_OK;
}
