/* mpa exports: folded stacks, speedscope, Chrome trace events (export.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "export.h"

static void errf(char *err, size_t len, const char *fmt, const char *a, const char *b)
{
	if (err && len)
		snprintf(err, len, fmt, a, b);
}

int mpa_export_parse(const char *list, unsigned *mask, char *err, size_t errlen)
{
	*mask = 0;
	const char *p = list;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		if (n == 6 && !strncmp(p, "folded", n))
			*mask |= MPA_EXPORT_FOLDED;
		else if (n == 10 && !strncmp(p, "speedscope", n))
			*mask |= MPA_EXPORT_SPEEDSCOPE;
		else if (n == 8 && !strncmp(p, "perfetto", n))
			*mask |= MPA_EXPORT_PERFETTO;
		else {
			char w[64];
			snprintf(w, sizeof w, "%.*s", (int)(n < 60 ? n : 60), p);
			errf(err, errlen, "--export: unknown format '%s' (folded, speedscope, perfetto)%s", w, "");
			return -1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (!*mask) {
		errf(err, errlen, "--export: no format given (folded, speedscope, perfetto)%s%s", "", "");
		return -1;
	}
	return 0;
}

/* ---- files ----------------------------------------------------------------- */

struct out {
	FILE *f;
	char path[4400], tmp[4500];
};

static int out_open(struct out *o, const char *dir, const char *name, char *err, size_t errlen)
{
	char d[4200];
	snprintf(d, sizeof d, "%s/export", dir);
	if (mkdir(d, 0777) != 0 && errno != EEXIST) {
		errf(err, errlen, "cannot create '%s': %s", d, strerror(errno));
		return -1;
	}
	snprintf(o->path, sizeof o->path, "%s/%s", d, name);
	snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", o->path, (long)getpid());
	if (!(o->f = fopen(o->tmp, "w"))) {
		errf(err, errlen, "cannot write '%s': %s", o->tmp, strerror(errno));
		return -1;
	}
	return 0;
}

static int out_commit(struct out *o, char *err, size_t errlen)
{
	int bad = fflush(o->f) != 0 || ferror(o->f);
	if (fclose(o->f) != 0)
		bad = 1;
	if (bad || rename(o->tmp, o->path) != 0) {
		errf(err, errlen, "cannot write '%s': %s", o->path, strerror(errno ? errno : EIO));
		unlink(o->tmp);
		return -1;
	}
	return 0;
}

static int dump_to(struct out *o, json_t *v, char *err, size_t errlen)
{
	int rc = json_dumpf(v, o->f, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
	fputc('\n', o->f);
	if (rc < 0) {
		fclose(o->f);
		unlink(o->tmp);
		errf(err, errlen, "cannot write '%s'%s", o->path, "");
		return -1;
	}
	return out_commit(o, err, errlen);
}

static json_t *load(const char *dir, const char *name, const char *why, char *err, size_t errlen)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	json_t *j = json_load_file(p, 0, NULL);
	if (!j)
		errf(err, errlen, "cannot export: %s is missing or unreadable (%s)", p, why);
	return j;
}

/* ---- folded and speedscope: from flame.json ----------------------------- */

/* A frame name for a folded line: no ';' (the separator) and no newline. */
static void put_frame(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == ';' ? ':' : *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static int export_folded(const char *dir, json_t *fl, char *err, size_t errlen)
{
	json_t *frames = json_object_get(fl, "frames"), *stacks = json_object_get(fl, "stacks");
	size_t w;
	json_t *m;
	json_array_foreach(json_object_get(fl, "metrics"), w, m) {
		const char *wn = json_string_value(json_object_get(m, "name"));
		if (!wn || strchr(wn, '/'))
			continue;
		char name[128];
		snprintf(name, sizeof name, "%s.folded", wn);
		struct out o;
		if (out_open(&o, dir, name, err, errlen) < 0)
			return -1;
		size_t i;
		json_t *r;
		json_array_foreach(stacks, i, r) {
			json_int_t v = json_integer_value(json_object_get(r, wn));
			if (v <= 0)
				continue;
			size_t k;
			json_t *ix;
			json_t *refs = json_object_get(r, "frames");
			if (!json_array_size(refs))
				fputs("[no stack]", o.f);
			json_array_foreach(refs, k, ix) {
				json_t *fr = json_array_get(frames, (size_t)json_integer_value(ix));
				if (k)
					fputc(';', o.f);
				put_frame(o.f, json_string_value(json_object_get(fr, "function")));
			}
			fprintf(o.f, " %" JSON_INTEGER_FORMAT "\n", v);
		}
		json_int_t ov = json_integer_value(json_object_get(json_object_get(fl, "other"), wn));
		if (ov > 0)
			fprintf(o.f, "[other stacks] %" JSON_INTEGER_FORMAT "\n", ov);
		if (out_commit(&o, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int export_speedscope(const char *dir, json_t *fl, json_t *summary, char *err, size_t errlen)
{
	json_t *frames = json_object_get(fl, "frames"), *stacks = json_object_get(fl, "stacks");
	json_t *sframes = json_array(), *profiles = json_array();
	size_t i;
	json_t *fr;
	json_array_foreach(frames, i, fr) {
		json_t *o = json_pack("{s:s}", "name", json_string_value(json_object_get(fr, "function"))
						       ? json_string_value(json_object_get(fr, "function"))
						       : "??");
		const char *file = json_string_value(json_object_get(fr, "file"));
		if (o && file && *file) {
			json_object_set_new(o, "file", json_string(file));
			json_int_t line = json_integer_value(json_object_get(fr, "line"));
			if (line > 0)
				json_object_set_new(o, "line", json_integer(line));
		}
		json_array_append_new(sframes, o);
	}
	size_t other = json_array_size(sframes);
	json_array_append_new(sframes, json_pack("{s:s}", "name", "[other stacks]"));
	size_t w;
	json_t *m;
	json_array_foreach(json_object_get(fl, "metrics"), w, m) {
		const char *wn = json_string_value(json_object_get(m, "name"));
		const char *unit = json_string_value(json_object_get(m, "unit"));
		json_t *samples = json_array(), *weights = json_array();
		json_int_t total = 0;
		json_t *r;
		json_array_foreach(stacks, i, r) {
			json_int_t v = json_integer_value(json_object_get(r, wn));
			if (v <= 0)
				continue;
			json_array_append(samples, json_object_get(r, "frames"));
			json_array_append_new(weights, json_integer(v));
			total += v;
		}
		json_int_t ov = json_integer_value(json_object_get(json_object_get(fl, "other"), wn));
		if (ov > 0) {
			json_array_append_new(samples, json_pack("[I]", (json_int_t)other));
			json_array_append_new(weights, json_integer(ov));
			total += ov;
		}
		json_array_append_new(
			profiles, json_pack("{s:s, s:s, s:s, s:i, s:I, s:o, s:o}", "type", "sampled", "name",
					    json_string_value(json_object_get(m, "label")), "unit",
					    unit && !strcmp(unit, "bytes") ? "bytes" : "none", "startValue",
					    0, "endValue", total, "samples", samples, "weights", weights));
	}
	const char *cap = json_string_value(json_object_get(json_object_get(summary, "capture"), "path"));
	json_t *doc = json_pack("{s:s, s:{s:o}, s:o, s:s, s:i, s:s}", "$schema",
				"https://www.speedscope.app/file-format-schema.json", "shared", "frames",
				sframes, "profiles", profiles, "name", cap ? cap : "mpa capture",
				"activeProfileIndex", 0, "exporter", "mpa-analyze");
	if (!doc) {
		errf(err, errlen, "out of memory%s%s", "", "");
		return -1;
	}
	struct out o;
	int rc = out_open(&o, dir, "speedscope.json", err, errlen) < 0 ? -1 : dump_to(&o, doc, err, errlen);
	json_decref(doc);
	return rc;
}

/* ---- perfetto: Chrome trace events from timeline.json, summary.json --------- */

static json_t *counter(const char *name, double ts_us, int64_t pid, const char *k1, double v1,
		       const char *k2, double v2)
{
	json_t *args = json_object();
	json_object_set_new(args, k1, json_real(v1));
	if (k2)
		json_object_set_new(args, k2, json_real(v2));
	return json_pack("{s:s, s:s, s:f, s:I, s:i, s:o}", "name", name, "ph", "C", "ts", ts_us, "pid",
			 (json_int_t)pid, "tid", 0, "args", args);
}

static json_t *proc_name(int64_t pid, const char *name)
{
	return json_pack("{s:s, s:s, s:I, s:i, s:{s:s}}", "name", "process_name", "ph", "M", "pid",
			 (json_int_t)pid, "tid", 0, "args", "name", name);
}

/* The per-process series (timeline_process_timeline.csv: every column a
 * number); a process image is pid * 1000 + image_seq as the trace's pid so
 * that an exec'd or reused pid gets its own tracks. */
static int per_process(const char *dir, json_t *ev, double bucket_s, char *err, size_t errlen)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/timeline_process_timeline.csv", dir);
	FILE *f = fopen(p, "r");
	if (!f)
		return 0; /* no CSV output: totals only */
	char line[1024];
	if (!fgets(line, sizeof line, f)) {
		fclose(f);
		return 0;
	}
	long long pid;
	unsigned long long seq, bucket, t, lmax, lend, bmax, allocs, frees;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%lld,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu", &pid, &seq, &bucket, &t,
			   &lmax, &lend, &bmax, &allocs, &frees) != 9) {
			fclose(f);
			errf(err, errlen, "cannot export: %s has a row that is not numbers%s", p, "");
			return -1;
		}
		int64_t tp = (int64_t)(pid * 1000 + (long long)(seq % 1000));
		double us = (double)t / 1e3;
		json_array_append_new(ev, counter("live heap", us, tp, "bytes", (double)lmax, NULL, 0));
		json_array_append_new(ev, counter("calls/s", us, tp, "allocs", bucket_s > 0 ? allocs / bucket_s : 0,
						  "frees", bucket_s > 0 ? frees / bucket_s : 0));
	}
	fclose(f);
	return 0;
}

static int export_perfetto(const char *dir, json_t *tl, json_t *summary, char *err, size_t errlen)
{
	json_t *ev = json_array();
	if (!ev)
		return -1;
	json_array_append_new(ev, proc_name(0, "all processes"));
	json_t *series = json_object_get(tl, "series");
	size_t i;
	json_t *r;
	json_array_foreach(series, i, r) {
		double us = (double)json_integer_value(json_object_get(r, "t_start_ns")) / 1e3;
		json_array_append_new(ev, counter("live heap", us, 0, "bytes",
						  (double)json_integer_value(json_object_get(r, "live_bytes_max")), NULL, 0));
		json_array_append_new(ev, counter("mapped", us, 0, "bytes",
						  (double)json_integer_value(json_object_get(r, "mapped_bytes_max")), NULL, 0));
		json_array_append_new(ev, counter("calls/s", us, 0, "allocs",
						  json_number_value(json_object_get(r, "allocs_per_s")), "frees",
						  json_number_value(json_object_get(r, "frees_per_s"))));
		json_array_append_new(ev, counter("bytes allocated/s", us, 0, "bytes",
						  json_number_value(json_object_get(r, "bytes_allocated_per_s")), NULL, 0));
	}
	json_array_foreach(json_object_get(tl, "processes"), i, r) {
		json_int_t pid = json_integer_value(json_object_get(r, "pid"));
		json_int_t seq = json_integer_value(json_object_get(r, "image_seq"));
		const char *img = json_string_value(json_object_get(r, "image"));
		char nm[600];
		snprintf(nm, sizeof nm, "%s [pid %" JSON_INTEGER_FORMAT "%s]", img && *img ? img : "process", pid,
			 seq ? ", after exec" : "");
		json_array_append_new(ev, proc_name((int64_t)pid * 1000 + seq % 1000, nm));
	}
	double bucket_s = (double)json_integer_value(json_object_get(json_object_get(tl, "settings"), "bucket_ns")) / 1e9;
	if (per_process(dir, ev, bucket_s, err, errlen) < 0) {
		json_decref(ev);
		return -1;
	}
	/* instant events: the peak, then every alert at the capture's end (alerts
	 * are about the whole run) */
	json_t *user = json_object_get(tl, "user");
	json_int_t peak_ns = json_integer_value(json_object_get(user, "peak_ns"));
	json_array_append_new(ev, json_pack("{s:s, s:s, s:s, s:f, s:i, s:i, s:{s:I}}", "name", "peak heap",
					    "ph", "i", "s", "g", "ts", (double)peak_ns / 1e3, "pid", 0, "tid",
					    0, "args", "bytes", json_integer_value(json_object_get(user, "peak_bytes"))));
	double end_us = (double)json_integer_value(json_object_get(json_object_get(summary, "capture"), "duration_ns")) / 1e3;
	json_array_foreach(json_object_get(summary, "alerts"), i, r) {
		json_t *args = json_pack("{s:O*, s:O*, s:O*, s:O*}", "message", json_object_get(r, "message"),
					 "advice", json_object_get(r, "advice"), "severity",
					 json_object_get(r, "severity"), "value", json_object_get(r, "value"));
		json_array_append_new(ev, json_pack("{s:s, s:s, s:s, s:f, s:i, s:i, s:o}", "name",
						    json_string_value(json_object_get(r, "name")) ?: "alert", "ph",
						    "i", "s", "g", "ts", end_us, "pid", 0, "tid", 0, "args", args));
	}
	json_t *doc = json_pack("{s:o, s:s, s:{s:s}}", "traceEvents", ev, "displayTimeUnit", "ms",
				"otherData", "exporter", "mpa-analyze");
	if (!doc) {
		errf(err, errlen, "out of memory%s%s", "", "");
		return -1;
	}
	struct out o;
	int rc = out_open(&o, dir, "trace.json", err, errlen) < 0 ? -1 : dump_to(&o, doc, err, errlen);
	json_decref(doc);
	return rc;
}

int mpa_export(const char *dir, unsigned mask, char *err, size_t errlen)
{
	int rc = -1;
	json_t *summary = NULL, *fl = NULL, *tl = NULL;
	if (!(summary = load(dir, "summary.json", "not a report directory", err, errlen)))
		goto out;
	if ((mask & (MPA_EXPORT_FOLDED | MPA_EXPORT_SPEEDSCOPE)) &&
	    !(fl = load(dir, "flame.json", "folded and speedscope need --flame and the json format", err, errlen)))
		goto out;
	if ((mask & MPA_EXPORT_PERFETTO) &&
	    !(tl = load(dir, "timeline.json", "perfetto needs --timeline and the json format", err, errlen)))
		goto out;
	if ((mask & MPA_EXPORT_FOLDED) && export_folded(dir, fl, err, errlen) < 0)
		goto out;
	if ((mask & MPA_EXPORT_SPEEDSCOPE) && export_speedscope(dir, fl, summary, err, errlen) < 0)
		goto out;
	if ((mask & MPA_EXPORT_PERFETTO) && export_perfetto(dir, tl, summary, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	json_decref(summary);
	json_decref(fl);
	json_decref(tl);
	return rc;
}
