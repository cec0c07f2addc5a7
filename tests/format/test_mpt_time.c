/* libmpt: time arguments (mpt_time_parse), the capture's span and times
 * resolved against it (mpt_reader_time_span, mpt_reader_resolve_time). */
#include "mpt_test_util.h"

#define BAD_SUFFIX "' (expected seconds like 1.5, 1.5s, 200ms, 30us, 100ns, or @NS)"

static void good(const char *s, uint64_t want, int want_abs)
{
	uint64_t v = 12345;
	int abs = -1;
	struct mpt_error err = { 0 };
	cr_assert_eq(mpt_time_parse(s, &v, &abs, &err), MPT_OK, "'%s': %s", s, err.msg);
	cr_assert_eq(v, want, "'%s': %llu, not %llu", s, (unsigned long long)v,
		     (unsigned long long)want);
	cr_assert_eq(abs, want_abs, "'%s'", s);
}

static void bad(const char *s)
{
	uint64_t v = 12345;
	int abs = -1;
	struct mpt_error err = { 0 };
	char want[160];
	cr_assert_eq(mpt_time_parse(s, &v, &abs, &err), MPT_E_ARG, "'%s' accepted", s);
	snprintf(want, sizeof want, "bad time '%s" BAD_SUFFIX, s);
	cr_assert_str_eq(err.msg, want);
	cr_assert_eq(err.code, MPT_E_ARG);
	cr_assert_eq(v, 12345, "'%s': value written on failure", s);
	cr_assert_eq(abs, -1, "'%s': absolute written on failure", s);
	/* err is optional */
	cr_assert_eq(mpt_time_parse(s, &v, &abs, NULL), MPT_E_ARG);
}

Test(mpt_time, durations)
{
	good("1.5", 1500000000, 0);
	good("1.5s", 1500000000, 0);
	good("200ms", 200000000, 0);
	good("30us", 30000, 0);
	good("100ns", 100, 0);
	good("7ns", 7, 0);
	good("0", 0, 0);
	good("0s", 0, 0);
	good("1.", 1000000000, 0);
	good("007", 7000000000, 0);
	good("2.25ms", 2250000, 0);
	good("0.000000001", 1, 0);
	good("0.001us", 1, 0);
	/* a fraction of a ns: rounded half up */
	good("0.0000000005", 1, 0);
	good("0.00000000049999", 0, 0);
	good("1.4ns", 1, 0);
	good("1.5ns", 2, 0);
	good("0.0005us", 1, 0);
	good("1.123456789123s", 1123456789, 0);
	/* exact, no floating point: 2^64-1 ns */
	good("18446744073.709551615", UINT64_MAX, 0);
	good("18446744073709551615ns", UINT64_MAX, 0);
	good("18446744073709551.615us", UINT64_MAX, 0);
	good("18446744073709.551615ms", UINT64_MAX, 0);
	good("18446744073.7095516154", UINT64_MAX, 0);
}

Test(mpt_time, absolute)
{
	good("@0", 0, 1);
	good("@123456789012", 123456789012ull, 1);
	good("@1795770708032709305", 1795770708032709305ull, 1);
	good("@18446744073709551615", UINT64_MAX, 1);
}

Test(mpt_time, refused)
{
	const char *const cases[] = {
		"", "-1", "+1", " 1", "1 ", "1h", "x", "@", "@-5", "@ 5", "@+5", "@1s", "@1.5",
		"1e3", "1E3", "0x10", "nan", "inf", ".5", "1.5.2", "1ms5", "1S", "1 s", "s",
		"ms", "1.5e-3s", "1,5", "--1",
		/* past 2^64-1 ns */
		"18446744073.709551616", "18446744073.7095516155", "18446744074",
		"18446744073709551616ns", "99999999999999999999999999s", "@18446744073709551616",
		"@99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		bad(cases[i]);
	uint64_t v;
	int abs;
	struct mpt_error err = { 0 };
	cr_assert_eq(mpt_time_parse(NULL, &v, &abs, &err), MPT_E_ARG);
	cr_assert_str_eq(err.msg, "bad time '" BAD_SUFFIX);
	cr_assert_eq(mpt_time_parse("1", NULL, &abs, &err), MPT_E_ARG);
	cr_assert_eq(mpt_time_parse("1", &v, NULL, &err), MPT_E_ARG);
}

static char *write_ts(char *dir, const char *name, const uint64_t *ts, unsigned n,
		      uint32_t chunk_rows)
{
	char *p = tu_path(dir, name);
	struct mpt_writer_opts o = { .chunk_rows = chunk_rows };
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, &o, &w, &err), MPT_OK, "%s", err.msg);
	for (unsigned i = 0; i < n; i++) {
		struct mpa_event e = { .kind = MPA_KIND_THREAD_EXIT, .ts = ts[i], .pid = 1, .tid = 1 };
		cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	return p;
}

Test(mpt_time, span_and_resolve)
{
	char *dir = tu_tmpdir();
	/* chunks out of time order: the span is over every chunk */
	const uint64_t ts[] = { 5000000000, 5000000100, 4000000000, 9000000000, 4500000000 };
	char *p = write_ts(dir, "t.mpt", ts, 5, 2);
	mpt_reader *r;
	struct mpt_error err = { 0 };
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	uint64_t first = 0, last = 0, t = 0;
	cr_assert_eq(mpt_reader_time_span(r, &first, &last), MPT_OK);
	cr_assert_eq(first, 4000000000);
	cr_assert_eq(last, 9000000000);
	cr_assert_eq(mpt_reader_time_span(r, NULL, NULL), MPT_OK);

	cr_assert_eq(mpt_reader_resolve_time(r, "0", &t, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(t, 4000000000);
	cr_assert_eq(mpt_reader_resolve_time(r, "1.5", &t, &err), MPT_OK);
	cr_assert_eq(t, 5500000000);
	cr_assert_eq(mpt_reader_resolve_time(r, "250ms", &t, &err), MPT_OK);
	cr_assert_eq(t, 4250000000);
	cr_assert_eq(mpt_reader_resolve_time(r, "@5000000100", &t, &err), MPT_OK);
	cr_assert_eq(t, 5000000100);
	cr_assert_eq(mpt_reader_resolve_time(r, "@1", &t, &err), MPT_OK);
	cr_assert_eq(t, 1);
	/* the largest duration that fits, then one ns more */
	cr_assert_eq(mpt_reader_resolve_time(r, "18446744069709551615ns", &t, &err), MPT_OK);
	cr_assert_eq(t, UINT64_MAX);
	t = 77;
	cr_assert_eq(mpt_reader_resolve_time(r, "18446744069709551616ns", &t, &err), MPT_E_ARG);
	cr_assert_str_eq(err.msg, "time '18446744069709551616ns' is beyond the clock's range");
	cr_assert_eq(t, 77);
	cr_assert_eq(mpt_reader_resolve_time(r, "1h", &t, &err), MPT_E_ARG);
	cr_assert_str_eq(err.msg, "bad time '1h" BAD_SUFFIX);
	cr_assert_eq(mpt_reader_resolve_time(r, "1", NULL, &err), MPT_E_ARG);
	mpt_reader_close(r);
	free(p);

	/* no record: no span, durations count from 0 */
	p = write_ts(dir, "e.mpt", ts, 0, 2);
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	first = last = 9;
	cr_assert_eq(mpt_reader_time_span(r, &first, &last), MPT_END);
	cr_assert_eq(first, 0);
	cr_assert_eq(last, 0);
	cr_assert_eq(mpt_reader_resolve_time(r, "2s", &t, &err), MPT_OK);
	cr_assert_eq(t, 2000000000);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}
