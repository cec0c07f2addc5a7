/* mpa-monitor — one line (--format human) or one JSON object (--format
 * json) per interval: live heap and mapped bytes, rates, pressure, the top
 * growing site, lost events.  It replays a capture at a chosen speed
 * through the same pass as mpa-analyze (monitor/session.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "live.h"
#include "session.h"

#define PROG "mpa-monitor"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " CAPTURE.mpt [--interval DUR] [--format human|json] [--speed X]\n"
		"                   [--pid P] [--config FILE | --no-config] [--set S.K=V]\n"
		"Prints the state of the traced program once per interval while replaying\n"
		"the capture (the same analysis as mpa-analyze, one pass).\n"
		"  --interval DUR   interval length: 500ms, 2s, 100us (default: the capture's\n"
		"                   span / 200, rounded to 1-2-5)\n"
		"  --format F       human (one line per interval, default) or json (one object\n"
		"                   per line)\n"
		"  --speed X        replay X times faster than recorded (default 1; 0 = as\n"
		"                   fast as possible)\n"
		"  --pid P          only this process\n"
		"  --config FILE    configuration file (default ./.mpa.toml when present)\n"
		"  --no-config      ignore ./.mpa.toml\n"
		"  --set S.K=V      set configuration key K of table [S]\n"
		"  --live URL|NAME  instead of CAPTURE: a running LTTng live session\n"
		"                   (net://RELAY[:PORT]/host/HOSTNAME/SESSION, or a session\n"
		"                   name on the local relay), until it ends; interval 500ms\n"
		"  -o FILE          with --live: also write the capture there\n"
		"  --segments DIR   instead of CAPTURE: follow a capture being written as\n"
		"                   segments (mpa-convert --segments DIR), printing each\n"
		"                   interval as its events arrive, until DIR/done\n"
		"Live sessions: see mpa-top(1) and doc/live.md.\n");
}

struct out {
	int json;
	double speed;
	uint64_t first;
	struct timespec t0;
	size_t printed;       /* intervals printed (dropped ones included) */
	uint64_t lost_total;
};

static void pace(const struct out *o, uint64_t t1)
{
	if (!(o->speed > 0))
		return;
	double due = (double)(t1 - o->first) / o->speed / 1e9;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double el = (double)(now.tv_sec - o->t0.tv_sec) + (double)(now.tv_nsec - o->t0.tv_nsec) / 1e9;
	if (due > el) {
		double d = due - el;
		struct timespec ts = {(time_t)d, (long)((d - floor(d)) * 1e9)};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

/* The site of the interval that grew most (growth > 0), NULL when none. */
static const struct mpa_snap_site *top_growing(const struct mpa_snap_iv *v)
{
	const struct mpa_snap_site *best = NULL;
	for (uint32_t k = 0; k < v->nsites; k++) {
		const struct mpa_snap_site *s = &v->sites[k];
		if (s->growth > 0 && (!best || s->growth > best->growth))
			best = s;
	}
	return best;
}

static int print_iv(struct out *o, const struct mpa_ctx *ctx, const struct mpa_snap *sn,
		    const struct mpa_snap_iv *v)
{
	double secs = (double)(v->t1 - v->t0) / 1e9;
	uint64_t thr = mpa_snap_pressure_threshold(sn);
	const struct mpa_snap_site *g = top_growing(v);
	char site[512] = "";
	if (g)
		mpa_site_name(ctx, g->stack_id, site, sizeof site);
	o->lost_total += v->lost;
	if (o->json) {
		json_t *j = json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:I}",
			"t_ns", (json_int_t)(v->t1 - o->first), "interval_ns",
			(json_int_t)(v->t1 - v->t0), "live_bytes", (json_int_t)v->live_bytes,
			"live_blocks", (json_int_t)v->live_blocks, "peak_bytes",
			(json_int_t)v->peak_bytes, "mapped_bytes", (json_int_t)v->mapped_bytes,
			"kernel_bytes", (json_int_t)v->kernel_bytes, "allocs", (json_int_t)v->allocs,
			"frees", (json_int_t)v->frees, "alloc_bytes", (json_int_t)v->alloc_bytes,
			"free_bytes", (json_int_t)v->free_bytes, "alloc_rate_per_s",
			(double)v->allocs / secs, "free_rate_per_s", (double)v->frees / secs,
			"alloc_bytes_per_s", (double)v->alloc_bytes / secs, "free_bytes_per_s",
			(double)v->free_bytes / secs, "lost_events", (json_int_t)v->lost,
			"lost_events_total", (json_int_t)o->lost_total, "threads",
			(json_int_t)v->threads);
		if (!j)
			return -1;
		json_object_set_new(j, "pressure", thr ? json_boolean(v->pressure) : json_null());
		json_object_set_new(j, "pressure_threshold_bytes",
				    thr ? json_integer((json_int_t)thr) : json_null());
		if (!thr)
			json_object_set_new(j, "pressure_reason",
					    json_string("[alerts] memory_pressure_threshold is 0 (off)"));
		json_object_set_new(j, "top_growing_site",
				    g ? json_pack("{s:s, s:I, s:I}", "site", site, "stack_id",
						  (json_int_t)g->stack_id, "growth_bytes",
						  (json_int_t)g->growth)
				      : json_null());
		char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(j);
		if (!s)
			return -1;
		puts(s);
		free(s);
	} else {
		char t[32], live[32], peak[32], map[32], ab[32], gb[32];
		mpa_mon_dur(t, sizeof t, v->t1 - o->first);
		mpa_mon_bytes(live, sizeof live, (double)v->live_bytes);
		mpa_mon_bytes(peak, sizeof peak, (double)v->peak_bytes);
		mpa_mon_bytes(map, sizeof map, (double)v->mapped_bytes);
		mpa_mon_bytes(ab, sizeof ab, (double)v->alloc_bytes / secs);
		printf("%10s  live %10s  peak %10s  mapped %10s  alloc %9.0f/s %10s/s  free %9.0f/s"
		       "  pressure %s  lost %" PRIu64,
		       t, live, peak, map, (double)v->allocs / secs, ab, (double)v->frees / secs,
		       !thr ? "off" : v->pressure ? "YES" : "no", v->lost);
		if (g) {
			mpa_mon_bytes(gb, sizeof gb, (double)g->growth);
			printf("  growing %s (+%s)", site, gb);
		}
		putchar('\n');
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

/* Prints every interval closed since the last call. */
static int drain(struct out *o, struct mpa_mon *m)
{
	const struct mpa_snap *sn = mpa_mon_snap(m);
	uint64_t dropped = mpa_snap_dropped(sn);
	size_t n = mpa_snap_count(sn);
	if (o->printed < dropped)
		o->printed = (size_t)dropped; /* a ring smaller than one batch: skip */
	while (o->printed < dropped + n) {
		const struct mpa_snap_iv *v = mpa_snap_get(sn, o->printed - dropped);
		pace(o, v->t1);
		if (print_iv(o, mpa_mon_ctx(m), sn, v) < 0)
			return -1;
		o->printed++;
	}
	return 0;
}

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* between polls of a segment directory */
static void nap(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

/* Waits for DIR's first segment (the converter may be starting). */
static int wait_first_segment(const char *dir)
{
	char p[4096], done[4096];
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": --segments %s: not a directory\n", dir);
		return -1;
	}
	if (mpa_mon_segment_path(p, sizeof p, dir, 1) < 0 ||
	    snprintf(done, sizeof done, "%s/done", dir) >= (int)sizeof done) {
		fprintf(stderr, PROG ": --segments: name too long\n");
		return -1;
	}
	while (access(p, F_OK) != 0) {
		if (access(done, F_OK) == 0) {
			fprintf(stderr, PROG ": %s: the capture ended without a segment\n", dir);
			return -1;
		}
		nap();
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *segments = NULL, *v;
	struct mpa_live *lv = NULL;
	struct mpa_mon_cli cli = {0};
	struct out o = {.speed = 1};
	struct mpa_mon_opts mo = {0};
	char err[1024] = "";
	int t;
#define TAKE(name) ((t = mpa_mon_cli_take(argc, argv, &i, name, &v, err, sizeof err)) != 0)
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (TAKE("--format")) {
			if (t < 0 || (strcmp(v, "human") && strcmp(v, "json"))) {
				if (t > 0)
					snprintf(err, sizeof err, "--format '%s': want human or json", v);
				fprintf(stderr, PROG ": %s\n", err);
				return 2;
			}
			o.json = !strcmp(v, "json");
		} else if (TAKE("--speed")) {
			char *end = NULL;
			if (t > 0)
				o.speed = strtod(v, &end);
			if (t < 0 || end == v || *end || !(o.speed >= 0) || o.speed > 1e9) {
				if (t > 0)
					snprintf(err, sizeof err, "--speed '%s': want a number >= 0 "
						 "(0 = as fast as possible)", v);
				fprintf(stderr, PROG ": %s\n", err);
				return 2;
			}
		} else if (TAKE("--segments")) {
			if (t < 0) {
				fprintf(stderr, PROG ": %s\n", err);
				return 2;
			}
			segments = v;
		} else {
			int r = mpa_mon_cli_arg(&cli, &mo, argc, argv, &i, err, sizeof err);
			if (r < 0) {
				fprintf(stderr, PROG ": %s\n", err);
				return 2;
			}
			if (r == 0) {
				fprintf(stderr, PROG ": unknown option '%s' (see --help)\n", a);
				return 2;
			}
		}
	}
#undef TAKE
	const char *capture = cli.capture, *live = cli.live, *outp = cli.outp;
	if (!!capture + !!segments + !!live != 1) {
		if (capture || segments || live)
			fprintf(stderr, PROG ": one of a capture, --live or --segments\n");
		else
			usage(stderr);
		return 2;
	}
	if (outp && !live) {
		fprintf(stderr, PROG ": -o goes with --live (a capture is already written)\n");
		return 2;
	}
	if (live) {
		if (!mo.interval_ns)
			mo.interval_ns = UINT64_C(500000000);
		signal(SIGINT, on_stop);
		signal(SIGTERM, on_stop);
		if (!(lv = mpa_live_start(live, mo.interval_ns, outp, err, sizeof err))) {
			fprintf(stderr, PROG ": %s\n", err);
			return 1;
		}
		if (mpa_live_wait_first(lv, err, sizeof err) < 0) {
			fprintf(stderr, PROG ": %s\n", g_stop ? "interrupted" : err);
			mpa_live_stop(lv);
			return 1;
		}
		segments = mpa_live_dir(lv);
		o.speed = 0;
		capture = live;
	} else
	if (segments) {
		o.speed = 0; /* the events come at their own pace */
		capture = segments;
		if (wait_first_segment(segments) < 0)
			return 1;
	}
	mpa_config *cfg = mpa_mon_cli_config(&cli, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	mo.capture = segments ? NULL : capture;
	mo.segments = segments;
	mo.remove_segments = lv != NULL;
	mo.config = cfg;
	int rc = 1;
	struct mpa_mon *m = mpa_mon_open(&mo, err, sizeof err);
	if (!m)
		goto out;
	uint64_t last;
	mpa_mon_span(m, &o.first, &last);
	clock_gettime(CLOCK_MONOTONIC, &o.t0);
	for (;;) {
		int s = mpa_mon_step(m, err, sizeof err);
		if (s < 0)
			goto out;
		if (drain(&o, m) < 0) {
			snprintf(err, sizeof err, "cannot write to stdout: %s", strerror(errno));
			goto out;
		}
		if (s == 0)
			break;
		if (s == 2) {
			if (lv && mpa_live_check(lv, err, sizeof err) < 0)
				goto out;
			if (g_stop)
				break; /* the intervals so far are printed */
			nap();
		}
	}
	if (mpa_mon_lost(m) && !o.json)
		printf("WARNING: the capture lost %" PRIu64 " events: the numbers may be partial\n",
		       mpa_mon_lost(m));
	rc = 0;
out:
	if (rc)
		fprintf(stderr, PROG ": %s: %s\n", capture, err);
	mpa_mon_close(m);
	mpa_live_stop(lv);
	mpa_config_free(cfg);
	return rc;
}
