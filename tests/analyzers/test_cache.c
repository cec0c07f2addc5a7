/* The cache analyzer on writer-built captures: counters, the sampled hit
 * ratio and its alert, exactly. */
#include "analyze_test_util.h"

static void sample(struct au_cap *c, uint64_t ts, uint8_t counter, uint64_t period,
		   uint64_t weight, uint64_t addr)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_CACHE_SAMPLE;
	e.ts = ts;
	e.pid = e.tid = 7;
	e.counter = counter;
	e.period = period;
	e.weight = weight;
	e.ptr = addr;
	au_ev(c, &e);
}

Test(cache, counters_hit_ratio_and_alert)
{
	struct au_cap c;
	au_open(&c);
	sample(&c, 10, MPA_CTR_CACHE_REF, 1000, 0, 0);
	sample(&c, 20, MPA_CTR_CACHE_REF, 1000, 0, 0);
	sample(&c, 30, MPA_CTR_CACHE_MISS, 500, 0, 0);
	sample(&c, 40, MPA_CTR_MEM_LOAD, 0, 30, 0x1000); /* no period: counts 1 */
	sample(&c, 50, MPA_CTR_MEM_LOAD, 0, 50, 0);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "cache", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *cs = json_object_get(json_object_get(s, "analyzers"), "cache");
	cr_assert_eq(json_integer_value(json_object_get(cs, "samples")), 5);
	json_t *hr = json_object_get(cs, "hit_ratio");
	cr_assert_eq(json_integer_value(json_object_get(hr, "references")), 2000);
	cr_assert_eq(json_integer_value(json_object_get(hr, "misses")), 500);
	cr_assert_float_eq(json_real_value(json_object_get(hr, "hit_ratio")), 0.75, 1e-12);
	/* 0.75 < the default threshold 0.9: one alert, collected at the top */
	json_t *al = json_object_get(s, "alerts");
	cr_assert_eq(json_array_size(al), 1);
	json_t *a0 = json_array_get(al, 0);
	cr_assert_str_eq(json_string_value(json_object_get(a0, "name")), "cache_hit_ratio");
	/* a typed alert: who, how bad, against what, and what to do */
	cr_assert_str_eq(json_string_value(json_object_get(a0, "analyzer")), "cache");
	cr_assert_str_eq(json_string_value(json_object_get(a0, "severity")), "warning");
	cr_assert_float_eq(json_real_value(json_object_get(a0, "value")), 0.75, 1e-12);
	cr_assert_float_eq(json_real_value(json_object_get(a0, "threshold")), 0.9, 1e-12);
	cr_assert_str_eq(json_string_value(json_object_get(a0, "unit")), "fraction");
	cr_assert(strlen(json_string_value(json_object_get(a0, "advice"))) > 20);
	json_t *doc = au_json(out, "cache.json");
	json_t *ctrs = json_object_get(doc, "counters");
	cr_assert_eq(json_array_size(ctrs), 3);
	json_t *ml = json_array_get(ctrs, 2);
	cr_assert_str_eq(json_string_value(json_object_get(ml, "counter")), "mem_load");
	cr_assert_eq(json_integer_value(json_object_get(ml, "events")), 2);
	cr_assert_float_eq(json_real_value(json_object_get(ml, "mean_weight")), 40.0, 1e-12);
	cr_assert_eq(json_integer_value(json_object_get(ml, "samples_with_address")), 1);
	json_decref(doc);
	json_decref(s);
	au_rmrf(out);

	/* a lower threshold: no alert */
	cr_assert_eq(au_lib_run(c.path, out, "cache", "[alerts]\ncache_hit_ratio_threshold = 0.5\n",
				&s, err, sizeof err), 0, "%s", err);
	cr_assert_eq(json_array_size(json_object_get(s, "alerts")), 0);
	json_decref(s);
	au_rmrf(c.dir);
}

Test(cache, no_references_no_ratio)
{
	struct au_cap c;
	au_open(&c);
	sample(&c, 10, MPA_CTR_PAGE_FAULT, 1, 0, 0x5000);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "cache", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *cs = json_object_get(json_object_get(s, "analyzers"), "cache");
	cr_assert(json_is_null(json_object_get(cs, "hit_ratio")));
	cr_assert_eq(json_array_size(json_object_get(s, "alerts")), 0);
	json_decref(s);
	au_rmrf(c.dir);
}
