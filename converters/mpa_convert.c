/* mpa-convert — convert LTTng / perf traces into one .mpt capture.
 *
 *   mpa-convert TRACE... -o capture.mpt [--topology FILE] [--chunk-rows N]
 *               [--level N] [-q]
 *
 * Builds a Babeltrace2 graph with the library API: one src.ctf.fs per CTF
 * trace found under each TRACE (the folder holding `metadata`; LTTng
 * session folders are searched recursively), one source.mpa.perf per
 * perf.data file, flt.utils.muxer, and sink.mpa.mpt from our plugin (loaded
 * from ../lib/babeltrace2/plugins next to this binary, $MPA_PLUGIN_PATH, or
 * babeltrace2's system plugin directory).  See doc/converting.md.
 */
#include <babeltrace2/babeltrace.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cvt_chunks.h"
#include "convert_shards.h"
#include "cvt_shards_proto.h"
#include "cvt_sink_hooks.h"
#include "cvt_live.h"
#include "cvt_topo.h"

#define PROG "mpa-convert"
/* The sink's cause when upstream failed: the root cause says more. */
#define UPSTREAM_FAILED "Failed to get the next messages from upstream"
#define PLUGIN_FILE "babeltrace-plugin-mpa.so"
/* The child's status when the shards cannot reproduce the sequential
 * order (CVT_SHARDS_FALLBACK): convert again with one job. */
#define FALLBACK_STATUS 75
/* a live session off the relay's list this long with nothing new has
 * ended (cvt_live.h) */
#define LIVE_END_GRACE_NS UINT64_C(5000000000)
#ifndef MPA_SYS_PLUGIN_DIR
#define MPA_SYS_PLUGIN_DIR "/usr/lib/x86_64-linux-gnu/babeltrace2/plugins"
#endif
#ifndef MPA_PREFIX_PLUGIN_DIR
#define MPA_PREFIX_PLUGIN_DIR "/usr/local/lib/babeltrace2/plugins"
#endif

enum input_kind { IN_CTF, IN_PERF_DATA, IN_LIVE };

struct input {
	char *path;          /* CTF: folder holding metadata; perf: the file (owned) */
	const char *arg;     /* the command-line argument it came from (weak) */
	enum input_kind kind;
	int is_perf_ctf;     /* CTF written by `perf data convert` */
	int is_lttng;
	int64_t clock_offset_ns; /* LTTng: offset of its clock from the epoch */
	int has_offset;
	char uuid[40];       /* CTF: the trace's UUID from its metadata, "" if none */
	size_t group;        /* CTF: the first input of the same UUID (one src.ctf.fs) */
};

struct inputs {
	struct input *v;
	size_t n, cap;
};

struct progress {
	int show;
	struct timespec start, last;
	uint64_t events;
	struct mpa_sink_summary sum;
	int done;
};

static bt_interrupter *g_interrupter;
static volatile sig_atomic_t g_stop; /* --chunks: stop between windows too */
static pid_t g_parent_pid;
/* Components log nothing unless -v: errors come back as causes, reported
 * as one line. */
static bt_logging_level g_log_level = BT_LOGGING_LEVEL_NONE;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
	if (g_interrupter)
		bt_interrupter_set(g_interrupter);
}

static int errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int errorf(const char *fmt, ...)
{
	va_list ap;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* strerror in the house style: lower-case first letter. */
static const char *lc_strerror(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static int add_input(struct inputs *in, const char *path, const char *arg, enum input_kind k)
{
	for (size_t i = 0; i < in->n; i++)
		if (strcmp(in->v[i].path, path) == 0)
			return 0; /* the same trace reached twice */
	if (in->n == in->cap) {
		size_t ncap = in->cap ? in->cap * 2 : 8;
		struct input *nv = realloc(in->v, ncap * sizeof(*nv));
		if (!nv)
			return errorf("out of memory");
		in->v = nv;
		in->cap = ncap;
	}
	struct input *x = &in->v[in->n];
	memset(x, 0, sizeof(*x));
	x->path = strdup(path);
	if (!x->path)
		return errorf("out of memory");
	x->arg = arg;
	x->kind = k;
	in->n++;
	return 0;
}

/* nftw cannot carry user data: the walk state lives here. */
static struct {
	struct inputs *in;
	const char *arg;
	int found;
	int failed;
} g_walk;

static int walk_cb(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	if (type != FTW_F)
		return 0;
	if (strcmp(fpath + ftw->base, "metadata") != 0)
		return 0;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%.*s", ftw->base > 0 ? ftw->base - 1 : 0, fpath);
	if (add_input(g_walk.in, dir, g_walk.arg, IN_CTF)) {
		g_walk.failed = 1;
		return 1;
	}
	g_walk.found++;
	return 0;
}

static int is_ctf_metadata(const char *path)
{
	unsigned char b[8] = { 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(b, 1, sizeof(b), f);
	fclose(f);
	if (n >= 4 && ((b[0] == 0x57 && b[1] == 0x1d && b[2] == 0xd1 && b[3] == 0x75) ||
		       (b[0] == 0x75 && b[1] == 0xd1 && b[2] == 0x1d && b[3] == 0x57)))
		return 1; /* packetized metadata */
	return n >= 6 && memcmp(b, "/* CTF", 6) == 0;
}

static int collect(struct inputs *in, const char *arg)
{
	struct stat sb;
	char eb[128];
	/* an LTTng live session on a relay daemon (src.ctf.lttng-live) */
	if (strncmp(arg, "net://", 6) == 0 || strncmp(arg, "net4://", 7) == 0 ||
	    strncmp(arg, "net6://", 7) == 0) {
		if (!strstr(arg, "/host/"))
			return errorf("'%s': a live session is net://RELAY[:PORT]/host/HOSTNAME/SESSION",
				      arg);
		return add_input(in, arg, arg, IN_LIVE);
	}
	if (stat(arg, &sb) != 0)
		return errorf("'%s': %s", arg, lc_strerror(errno, eb, sizeof(eb)));
	char real[PATH_MAX];
	if (!realpath(arg, real))
		return errorf("'%s': %s", arg, lc_strerror(errno, eb, sizeof(eb)));
	if (S_ISREG(sb.st_mode)) {
		unsigned char magic[8] = { 0 };
		FILE *f = fopen(real, "rb");
		if (!f)
			return errorf("'%s': %s", arg, lc_strerror(errno, eb, sizeof(eb)));
		size_t n = fread(magic, 1, sizeof(magic), f);
		fclose(f);
		if (n == 8 && memcmp(magic, "PERFILE2", 8) == 0)
			return add_input(in, real, arg, IN_PERF_DATA);
		const char *base = strrchr(real, '/');
		if (base && strcmp(base + 1, "metadata") == 0) {
			if (!is_ctf_metadata(real))
				return errorf("'%s': not CTF metadata", arg);
			real[base - real] = 0;
			return add_input(in, real, arg, IN_CTF);
		}
		if (sb.st_size == 0)
			return errorf("'%s': empty file", arg);
		return errorf("'%s': not a trace (neither a CTF trace folder nor a perf.data file)", arg);
	}
	if (!S_ISDIR(sb.st_mode))
		return errorf("'%s': not a file or folder", arg);
	size_t before = in->n;
	g_walk.in = in;
	g_walk.arg = arg;
	g_walk.found = 0;
	g_walk.failed = 0;
	if (nftw(real, walk_cb, 32, FTW_PHYS) != 0 && !g_walk.failed)
		return errorf("'%s': cannot search the folder: %s", arg, lc_strerror(errno, eb, sizeof(eb)));
	if (g_walk.failed)
		return -1;
	if (g_walk.found == 0)
		return errorf("'%s': no CTF trace found (no 'metadata' file inside)", arg);
	for (size_t i = before; i < in->n; i++) {
		char mp[PATH_MAX + 16];
		snprintf(mp, sizeof(mp), "%s/metadata", in->v[i].path);
		if (!is_ctf_metadata(mp))
			return errorf("'%s': not CTF metadata", mp);
	}
	return 0;
}

/* ---- errors from libbabeltrace2 ------------------------------------------- */

/* Prints the root cause of the current thread's error as one line, naming
 * the component (each is named after its input or output path). */
static int report_bt_error(const char *what)
{
	const bt_error *err = bt_current_thread_take_error();
	if (!err || bt_error_get_cause_count(err) == 0) {
		bt_error_release(err);
		return errorf("%s", what);
	}
	/* Cause 0 is the first appended: the root.  Prefer our own components'
	 * message (the clearest) when one of them took part. */
	const bt_error_cause *pick = bt_error_borrow_cause_by_index(err, 0);
	for (uint64_t i = 0; i < bt_error_get_cause_count(err); i++) {
		const bt_error_cause *c = bt_error_borrow_cause_by_index(err, i);
		if (bt_error_cause_get_actor_type(c) == BT_ERROR_CAUSE_ACTOR_TYPE_COMPONENT &&
		    strcmp(bt_error_cause_component_actor_get_plugin_name(c), "mpa") == 0 &&
		    strncmp(bt_error_cause_get_message(c), UPSTREAM_FAILED, strlen(UPSTREAM_FAILED)) != 0) {
			pick = c;
			break;
		}
	}
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s", bt_error_cause_get_message(pick));
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = 0;
	size_t l = strlen(msg);
	while (l && (msg[l - 1] == '.' || msg[l - 1] == ' '))
		msg[--l] = 0;
	msg[0] = (char)tolower((unsigned char)msg[0]);
	const char *who = NULL;
	if (bt_error_cause_get_actor_type(pick) == BT_ERROR_CAUSE_ACTOR_TYPE_COMPONENT)
		who = bt_error_cause_component_actor_get_component_name(pick);
	/* babeltrace2 2.0's muxer only logs why it cannot order its inputs
	 * (clock classes it cannot compare); its cause is generic. */
	if (who && strcmp(who, "muxer") == 0 && strstr(msg, "youngest upstream message"))
		snprintf(msg, sizeof(msg), "cannot merge the inputs by time: their clocks are not "
			 "comparable (see 'One timeline' in doc/converting.md; -v shows why)");
	if (who)
		errorf("'%s': %s", who, msg);
	else
		errorf("'%s': %s", what, msg);
	bt_error_release(err);
	return -1;
}

/* Whether the current thread's error is the shards' fallback (then it is
 * released), else it stays for report_bt_error. */
static int error_is_fallback(void)
{
	const bt_error *err = bt_current_thread_take_error();
	if (!err)
		return 0;
	for (uint64_t i = 0; i < bt_error_get_cause_count(err); i++) {
		const char *m = bt_error_cause_get_message(bt_error_borrow_cause_by_index(err, i));
		if (strstr(m, CVT_SHARDS_FALLBACK)) {
			if (g_log_level != BT_LOGGING_LEVEL_NONE)
				fprintf(stderr, PROG ": %s\n", m);
			bt_error_release(err);
			return 1;
		}
	}
	bt_current_thread_move_error(err);
	return 0;
}

/* ---- plugins and queries ----------------------------------------------- */

static const bt_plugin *load_mpa_plugin(const bt_plugin_set **set_out)
{
	char cands[4][PATH_MAX + 64];
	int n = 0;
	const char *env = getenv("MPA_PLUGIN_PATH");
	if (env && *env)
		snprintf(cands[n++], sizeof(cands[0]), "%s/%s", env, PLUGIN_FILE);
	char exe[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l > 0) {
		exe[l] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(cands[n++], sizeof(cands[0]), "%s/../lib/babeltrace2/plugins/%s", exe,
				 PLUGIN_FILE);
		}
	}
	snprintf(cands[n++], sizeof(cands[0]), "%s/%s", MPA_PREFIX_PLUGIN_DIR, PLUGIN_FILE);
	snprintf(cands[n++], sizeof(cands[0]), "%s/%s", MPA_SYS_PLUGIN_DIR, PLUGIN_FILE);
	for (int i = 0; i < n; i++) {
		if (access(cands[i], R_OK) != 0)
			continue;
		const bt_plugin_set *set = NULL;
		if (bt_plugin_find_all_from_file(cands[i], BT_TRUE, &set) != BT_PLUGIN_FIND_ALL_FROM_FILE_STATUS_OK) {
			report_bt_error(cands[i]);
			return NULL;
		}
		for (uint64_t k = 0; k < bt_plugin_set_get_plugin_count(set); k++) {
			const bt_plugin *p = bt_plugin_set_borrow_plugin_by_index_const(set, k);
			if (strcmp(bt_plugin_get_name(p), "mpa") == 0) {
				*set_out = set;
				return p;
			}
		}
		bt_plugin_set_put_ref(set);
	}
	errorf("cannot find the mpa babeltrace2 plugin ('%s'); set MPA_PLUGIN_PATH", PLUGIN_FILE);
	return NULL;
}


/* Reads the trace's metadata through src.ctf.fs's `metadata-info` query:
 * tells perf CTF from LTTng and finds LTTng's clock offset. */
static int inspect_ctf(const bt_component_class_source *fs, struct input *x)
{
	bt_value *params = bt_value_map_create();
	const bt_value *res = NULL;
	bt_query_executor *q = NULL;
	int rc = -1;
	if (!params || bt_value_map_insert_string_entry(params, "path", x->path))
		goto end;
	q = bt_query_executor_create(bt_component_class_source_as_component_class_const(fs),
				     "metadata-info", params);
	if (!q || bt_query_executor_query(q, &res) != BT_QUERY_EXECUTOR_QUERY_STATUS_OK) {
		report_bt_error(x->path);
		goto end;
	}
	const bt_value *tv = bt_value_map_borrow_entry_value_const(res, "text");
	const char *text = tv && bt_value_is_string(tv) ? bt_value_string_get(tv) : "";
	x->is_perf_ctf = strstr(text, "tracer_name = \"perf\"") != NULL;
	x->is_lttng = strstr(text, "tracer_name = \"lttng") != NULL;
	/* trace { ... uuid = "..."; }: the chunks of a rotated session share it */
	const char *tr = strstr(text, "trace {");
	const char *u = tr ? strstr(tr, "uuid = \"") : NULL;
	const char *ue = u ? strchr(u + 8, '"') : NULL;
	if (u && ue && ue - (u + 8) < (ptrdiff_t)sizeof(x->uuid) && !memchr(u, '}', (size_t)(ue - u)))
		snprintf(x->uuid, sizeof(x->uuid), "%.*s", (int)(ue - (u + 8)), u + 8);
	int64_t freq = 1000000000, off_s = 0, off = 0;
	cvt_clock_value(text, "freq", &freq);
	int have = cvt_clock_value(text, "offset_s", &off_s) == 0;
	have |= cvt_clock_value(text, "offset", &off) == 0;
	/* Hostile metadata may hold any numbers: no overflow on the way. */
	int64_t s_ns, c_ns;
	__int128 c128 = (__int128)off * 1000000000 / (freq > 0 ? freq : 1);
	if (have && freq > 0 && c128 <= INT64_MAX && c128 >= INT64_MIN &&
	    !__builtin_mul_overflow(off_s, (int64_t)1000000000, &s_ns) &&
	    !__builtin_add_overflow(s_ns, (c_ns = (int64_t)c128), &x->clock_offset_ns))
		x->has_offset = 1;
	rc = 0;
end:
	bt_value_put_ref(res);
	bt_query_executor_put_ref(q);
	bt_value_put_ref(params);
	return rc;
}

/* ---- progress ------------------------------------------------------------- */

static double secs_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void on_progress(void *user, uint64_t events, uint64_t last_ts)
{
	struct progress *p = user;
	(void)last_ts;
	p->events = events;
	if (!p->show)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (secs_between(&p->last, &now) < 0.25)
		return;
	p->last = now;
	double t = secs_between(&p->start, &now);
	fprintf(stderr, "\r" PROG ": %" PRIu64 " events, %.1f s, %.2f M events/s   ", events, t,
		t > 0 ? (double)events / t / 1e6 : 0.0);
}

static void on_done(void *user, const struct mpa_sink_summary *sum)
{
	struct progress *p = user;
	p->sum = *sum;
	p->done = 1;
}

/* ---- live ------------------------------------------------------------------ */

/* The first run of the graph has made the sources' iterators: lttng-live
 * is attached to its session.  $MPA_CONVERT_ATTACHED names a file to
 * create then: a wrapper (mpa-record --live, the tests) releases the
 * traced program only after it, so the viewer reads every stream from its
 * beginning (the relay sends streams created after the attach from their
 * first packet; babeltrace2 2.0.4 attaches at the newest packet of the
 * streams already there). */
static void say_attached(void)
{
	const char *p = getenv("MPA_CONVERT_ATTACHED");
	if (!p || !*p)
		return;
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

/* ---- isolation ------------------------------------------------------------- */

static pid_t g_child;

static void forward_signal(int sig)
{
	if (g_child > 0)
		kill(g_child, sig);
}

/* Forks.  In the parent, waits and returns the exit status to use (the
 * child's, or 1 after a crash, with the child's temporary file removed).
 * In the child, returns -1. */
static int run_in_child(const char *out, const struct inputs *in)
{
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		char eb[128];
		errorf("cannot fork: %s", lc_strerror(errno, eb, sizeof(eb)));
		return 1;
	}
	if (pid == 0)
		return -1;
	g_child = pid;
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			errorf("cannot wait for the converter process");
			return 1;
		}
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)pid);
	unlink(tmp);
	int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	if (sig == SIGINT || sig == SIGTERM)
		errorf("'%s': interrupted, no capture written", out);
	else {
		char sn[64];
		snprintf(sn, sizeof(sn), "%s", strsignal(sig));
		sn[0] = (char)tolower((unsigned char)sn[0]);
		errorf("'%s': babeltrace2 crashed reading the input (%s), no capture written; "
		       "the trace is probably corrupt", in->n == 1 ? in->v[0].arg : "inputs", sn);
	}
	return 1;
}

/* GLib (under libbabeltrace2) prints its own criticals on stderr when a
 * reader chokes on a corrupt trace; without -v they are noise next to our
 * one-line error.  Found at run time: we do not link GLib ourselves. */
static void glib_silent(const char *domain, int level, const char *msg, void *user)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)user;
}

static void quiet_glib(int quiet)
{
	typedef void (*log_fn)(const char *, int, const char *, void *);
	typedef void *(*set_fn)(log_fn, void *);
	if (!quiet)
		return;
	set_fn set = (set_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "g_log_set_default_handler");
	if (set)
		set(glib_silent, NULL);
}

/* ---- graph ------------------------------------------------------------------ */

static int connect_all_outputs(bt_graph *g, const bt_component *src_comp, int is_filter,
			       const bt_component_filter *mux, uint64_t *next_in)
{
	uint64_t n = is_filter ? 0 : bt_component_source_get_output_port_count(
		(const bt_component_source *)src_comp);
	for (uint64_t i = 0; i < n; i++) {
		const bt_port_output *out = bt_component_source_borrow_output_port_by_index_const(
			(const bt_component_source *)src_comp, i);
		const bt_port_input *in = bt_component_filter_borrow_input_port_by_index_const(mux, *next_in);
		if (!in || bt_graph_connect_ports(g, out, in, NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK)
			return report_bt_error("connecting ports");
		(*next_in)++;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " TRACE... -o capture.mpt [--topology FILE] [--chunk-rows N] [--level N]"
		   " [--no-symbolize] [--kallsyms FILE] [--meta record.KEY=VALUE]... [-q] [-v]\n"
		   "       [--segments DIR [--segment-interval MS]] [--jobs N]\n"
		   "       " PROG " --chunks [--remove-chunks] -o capture.mpt [OPTIONS]   (chunk folders on stdin)\n"
		   "  TRACE: an LTTng session/trace folder (searched for CTF traces), a perf CTF\n"
		   "         folder (perf data convert --to-ctf), a perf.data file, or a live\n"
		   "         session net://RELAY/host/HOSTNAME/SESSION (lttng create --live)\n"
		   "  --topology FILE  the traced host's topology ('mpa-record --save-topology FILE'\n"
		   "         there)\n"
		   "  --segments DIR  also cut DIR/seg-NNNNNN.mpt every MS ms (default 500) of\n"
		   "         new events (the capture so far, for mpa-monitor/mpa-top --live),\n"
		   "         and DIR/done at the end\n"
		   "  --chunks  read the trace chunks of a rotating LTTng session from stdin, one\n"
		   "         folder a line in archive order, converting each as the next one\n"
		   "         arrives (end of input: the last); --remove-chunks removes each once read\n"
		   "  --kallsyms FILE  the traced host's /proc/kallsyms (read as root there):\n"
		   "         names kernel call sites and sampled kernel ips\n"
		   "  --jobs N  decode one LTTng trace with N processes (pieces of its stream\n"
		   "         files, merged in time order; the capture is the same as with 1);\n"
		   "         default: the number of online CPUs\n");
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

struct sink_opts {
	const char *out, *kallsyms, *topology, *segments;
	int symbolize, have_level;
	int64_t chunk_rows, level, seg_ms;
	bt_value *extra_meta;
	bt_value *shards; /* --jobs: the pieces the sink merges (borrowed) */
};

/* The sink's parameters (NULL after one error line). */
static bt_value *sink_params(int argc, char **argv, const struct sink_opts *o)
{
	/* The conversion command, for the capture's metadata. */
	size_t cl = 1;
	for (int i = 0; i < argc; i++)
		cl += strlen(argv[i]) + 3;
	char *cmd = malloc(cl);
	if (!cmd) {
		errorf("out of memory");
		return NULL;
	}
	cmd[0] = 0;
	for (int i = 0; i < argc; i++) {
		/* --jobs changes how, not what: a capture is the same whatever
		 * the number of jobs, its metadata too */
		if (strcmp(argv[i], "--jobs") == 0) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--jobs=", 7) == 0)
			continue;
		strcat(cmd, i ? " " : "");
		strcat(cmd, argv[i]);
	}
	bt_value *params = bt_value_map_create();
	int perr = !params || bt_value_map_insert_string_entry(params, "path", o->out) ||
		   bt_value_map_insert_string_entry(params, "command", cmd) ||
		   bt_value_map_insert_bool_entry(params, "symbolize", o->symbolize ? BT_TRUE : BT_FALSE) ||
		   (o->kallsyms && bt_value_map_insert_string_entry(params, "kallsyms", o->kallsyms)) ||
		   (o->topology && bt_value_map_insert_string_entry(params, "topology", o->topology)) ||
		   (o->chunk_rows && bt_value_map_insert_unsigned_integer_entry(params, "chunk-rows", (uint64_t)o->chunk_rows)) ||
		   (o->have_level && bt_value_map_insert_signed_integer_entry(params, "compression-level", o->level)) ||
		   (o->segments && bt_value_map_insert_string_entry(params, "segments", o->segments)) ||
		   (o->seg_ms && bt_value_map_insert_unsigned_integer_entry(params, "segment-interval-ns",
									  (uint64_t)o->seg_ms * 1000000u)) ||
		   (o->extra_meta && bt_value_map_insert_entry(params, "meta", o->extra_meta)) ||
		   (o->shards && bt_value_map_insert_entry(params, "shards", o->shards));
	free(cmd);
	if (perr) {
		errorf("out of memory");
		bt_value_put_ref(params);
		return NULL;
	}
	return params;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *topology = NULL;
	int64_t chunk_rows = 0, level = 0;
	int have_level = 0, quiet = 0, symbolize = 1, chunks = 0, remove_chunks = 0;
	const char *kallsyms = NULL;
	const char *segments = NULL;
	int64_t seg_ms = 0;
	int64_t jobs = -1;
	struct cvt_plan plan = { 0 };
	bt_value *extra_meta = NULL; /* --meta record.KEY=VALUE (owned) */
	struct inputs in = { 0 };
	const bt_plugin_set *mpa_set = NULL;
	const bt_plugin *ctf = NULL, *utils = NULL;
	bt_graph *g = NULL;
	bt_value *params = NULL;
	int rc = 1;
	struct progress prog = { 0 };
	struct cvt_live_watch **watch = NULL; /* one per live input */
	size_t nwatch = 0;
	struct mpa_sink_hooks hooks = {
		.magic = MPA_SINK_HOOKS_MAGIC, .user = &prog,
		.progress = on_progress, .done = on_done,
	};
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "chunk-rows", required_argument, NULL, 'c' },
		{ "level", required_argument, NULL, 'l' },
		{ "no-symbolize", no_argument, NULL, 'S' },
		{ "kallsyms", required_argument, NULL, 'K' },
		{ "segments", required_argument, NULL, 'G' },
		{ "chunks", no_argument, NULL, 'C' },
		{ "remove-chunks", no_argument, NULL, 'R' },
		{ "segment-interval", required_argument, NULL, 'I' },
		{ "topology", required_argument, NULL, 'T' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "meta", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	g_parent_pid = getpid();
	while ((opt = getopt_long(argc, argv, "o:qvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'c':
			if (parse_i64(optarg, 1, 1 << 24, &chunk_rows)) {
				errorf("'%s': --chunk-rows wants an integer in [1, 16777216]", optarg);
				rc = 2;
				goto end;
			}
			break;
		case 'l':
			if (parse_i64(optarg, -7, 22, &level)) {
				errorf("'%s': --level wants an integer in [-7, 22]", optarg);
				rc = 2;
				goto end;
			}
			have_level = 1;
			break;
		case 'S': symbolize = 0; break;
		case 'K': kallsyms = optarg; break;
		case 'G': segments = optarg; break;
		case 'C': chunks = 1; break;
		case 'R': remove_chunks = 1; break;
		case 'I':
			if (parse_i64(optarg, 1, 3600000, &seg_ms)) {
				errorf("'%s': --segment-interval wants milliseconds in [1, 3600000]", optarg);
				rc = 2;
				goto end;
			}
			break;
		case 'T': topology = optarg; break;
		case 'j':
			if (parse_i64(optarg, 1, 256, &jobs)) {
				errorf("'%s': --jobs wants an integer in [1, 256]", optarg);
				rc = 2;
				goto end;
			}
			break;
		case 'm': {
			/* record.KEY=VALUE: labels from the recorder (mpa-record) */
			const char *eq = strchr(optarg, '=');
			char key[128];
			if (!eq || strncmp(optarg, "record.", 7) != 0 || eq - optarg <= 7 ||
			    (size_t)(eq - optarg) >= sizeof(key)) {
				errorf("'%s': --meta wants record.KEY=VALUE", optarg);
				rc = 2;
				goto end;
			}
			memcpy(key, optarg, (size_t)(eq - optarg));
			key[eq - optarg] = '\0';
			if ((!extra_meta && !(extra_meta = bt_value_map_create())) ||
			    bt_value_map_insert_string_entry(extra_meta, key, eq + 1)) {
				errorf("out of memory");
				goto end;
			}
			break;
		}
		case 'q': quiet = 1; break;
		case 'v': g_log_level = BT_LOGGING_LEVEL_WARNING; break;
		case 'h': usage(stdout); rc = 0; goto end;
		default: usage(stderr); rc = 2; goto end;
		}
	}
	if (chunks && (optind < argc || segments)) {
		errorf(segments ? "--chunks and --segments do not go together" :
		       "--chunks reads its chunk folders from stdin: no TRACE argument");
		usage(stderr);
		rc = 2;
		goto end;
	}
	if (remove_chunks && !chunks) {
		errorf("--remove-chunks goes with --chunks");
		rc = 2;
		goto end;
	}
	if (!out || (optind >= argc && !chunks)) {
		errorf(!out ? "missing -o capture.mpt" : "no input trace");
		usage(stderr);
		rc = 2;
		goto end;
	}
	if (topology) {
		/* checked now: a bad file is one line before any decoding */
		struct mpt_topology t;
		char terr[512];
		if (cvt_topo_load(topology, &t, terr, sizeof terr) != 0) {
			errorf("%s", terr);
			rc = 2;
			goto end;
		}
		cvt_topo_release(&t);
	}
	for (int i = optind; i < argc; i++)
		if (collect(&in, argv[i]))
			goto end;
	if (segments && mkdir(segments, 0755) != 0 && errno != EEXIST) {
		char eb[128];
		errorf("'%s': cannot create the segment folder: %s", segments,
		       lc_strerror(errno, eb, sizeof(eb)));
		goto end;
	}
	/* The decoding runs in a child: a crash inside babeltrace2's readers
	 * on a corrupt trace becomes one error line here, and the child's
	 * temporary capture is removed. */
	if (jobs < 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = n > 0 ? (n > 256 ? 256 : n) : 1;
	}
	/* Parallel decoding: one LTTng trace folder, cut into pieces (the
	 * child's sink decodes each in its own process); not with segments, a
	 * live session or several inputs, and not without a child to run it. */
	if (jobs > 1 && !segments && !chunks && in.n == 1 && in.v[0].kind == IN_CTF &&
	    !getenv("MPA_CONVERT_NO_FORK")) {
		char why[PATH_MAX + 128];
		/* a plan that cannot be made (no room for the pieces under
		 * $TMPDIR...) leaves one job */
		int pr = cvt_plan_make(in.v[0].path, (unsigned)jobs, &plan, why, sizeof why);
		if (pr != 0 && g_log_level != BT_LOGGING_LEVEL_NONE)
			fprintf(stderr, PROG ": one job: %s\n", why);
	}
	if (!getenv("MPA_CONVERT_NO_FORK")) {
		rc = run_in_child(out, &in);
		if (rc == FALLBACK_STATUS && plan.param) {
			/* the pieces cannot give the sequential order: once more
			 * with one job */
			if (g_log_level != BT_LOGGING_LEVEL_NONE)
				fprintf(stderr, PROG ": converting again with one job\n");
			cvt_plan_free(&plan);
			rc = run_in_child(out, &in);
		}
		if (rc >= 0)
			goto end;
		rc = 1; /* child role: go on */
	}
	quiet_glib(g_log_level == BT_LOGGING_LEVEL_NONE);
	if (chunks) {
		/* no SA_RESTART: a signal ends the wait for the next chunk */
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}

	if (bt_plugin_find("ctf", BT_TRUE, BT_FALSE, BT_TRUE, BT_TRUE, BT_TRUE, &ctf) != BT_PLUGIN_FIND_STATUS_OK ||
	    bt_plugin_find("utils", BT_TRUE, BT_FALSE, BT_TRUE, BT_TRUE, BT_TRUE, &utils) != BT_PLUGIN_FIND_STATUS_OK) {
		errorf("cannot load babeltrace2's ctf and utils plugins");
		goto end;
	}
	const bt_plugin *mpa = load_mpa_plugin(&mpa_set);
	if (!mpa)
		goto end;
	const bt_component_class_source *fs_cls = bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs");
	const bt_component_class_filter *mux_cls = bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer");
	const bt_component_class_sink *sink_cls = bt_plugin_borrow_sink_component_class_by_name_const(mpa, "mpt");
	const bt_component_class_source *perf_cls = bt_plugin_borrow_source_component_class_by_name_const(mpa, "perf");
	const bt_component_class_source *live_cls = bt_plugin_borrow_source_component_class_by_name_const(ctf, "lttng-live");
	if (!fs_cls || !mux_cls || !sink_cls) {
		errorf("babeltrace2 plugins lack source.ctf.fs, filter.utils.muxer or sink.mpa.mpt");
		goto end;
	}

	/* One timeline: LTTng's clocks count from the Unix epoch; perf -k mono
	 * counts the same monotonic clock from boot.  Shift perf CTF by LTTng's
	 * offset (and declare its origin the epoch) so both sort together. */
	int64_t lttng_off = 0;
	int have_lttng = 0, have_perf_ctf = 0;
	for (size_t i = 0; i < in.n; i++) {
		if (in.v[i].kind != IN_CTF)
			continue;
		if (inspect_ctf(fs_cls, &in.v[i]))
			goto end;
		if (in.v[i].is_lttng && in.v[i].has_offset && !have_lttng) {
			lttng_off = in.v[i].clock_offset_ns;
			have_lttng = 1;
		}
		have_perf_ctf |= in.v[i].is_perf_ctf;
	}
	/* CTF traces with the same UUID are parts of one trace (the chunks
	 * of a rotated LTTng session): one src.ctf.fs reads them together,
	 * merging their streams, as babeltrace2's command line does */
	for (size_t i = 0; i < in.n; i++) {
		in.v[i].group = i;
		for (size_t j = 0; j < i && in.v[i].kind == IN_CTF && in.v[i].uuid[0]; j++)
			if (in.v[j].kind == IN_CTF && strcmp(in.v[j].uuid, in.v[i].uuid) == 0) {
				in.v[i].group = j;
				break;
			}
	}

	struct sink_opts sp = {
		.out = out, .kallsyms = kallsyms, .topology = topology, .segments = segments,
		.symbolize = symbolize, .have_level = have_level, .chunk_rows = chunk_rows,
		.level = level, .seg_ms = seg_ms, .extra_meta = extra_meta,
	};
	prog.show = !quiet && isatty(2);
	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	prog.last = prog.start;
	if (chunks) {
		struct cvt_chunks_env env = {
			.fs_cls = fs_cls, .mux_cls = mux_cls, .sink_cls = sink_cls,
			.hooks = &hooks, .out = out, .log_level = g_log_level,
			.remove = remove_chunks, .report = report_bt_error,
			.interrupter = &g_interrupter, .stop = &g_stop,
		};

		params = sink_params(argc, argv, &sp);
		env.sink_params = params;
		if (!params || cvt_chunks_run(&env, stdin))
			goto end;
		goto done;
	}
	g = bt_graph_create(0);
	if (!g) {
		errorf("out of memory");
		goto end;
	}
	g_interrupter = bt_graph_borrow_default_interrupter(g);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	const bt_component_filter *mux = NULL;
	if (plan.param)
		goto sink; /* the sink reads the pieces itself */
	if (bt_graph_add_filter_component(g, mux_cls, "muxer", NULL, g_log_level, &mux) !=
	    BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		report_bt_error("muxer");
		goto end;
	}
	const bt_component_source **srcs = calloc(in.n, sizeof(*srcs));
	if (!srcs) {
		errorf("out of memory");
		goto end;
	}
	for (size_t i = 0; i < in.n; i++) {
		struct input *x = &in.v[i];
		bt_value *arr = NULL;
		if (x->group != i)
			continue; /* read by the source of its group */
		params = bt_value_map_create();
		if (!params || bt_value_map_insert_empty_array_entry(params, "inputs", &arr) ||
		    bt_value_array_append_string_element(arr, x->path)) {
			errorf("out of memory");
			free(srcs);
			goto end;
		}
		for (size_t j = i + 1; j < in.n; j++)
			if (in.v[j].group == i && bt_value_array_append_string_element(arr, in.v[j].path)) {
				errorf("out of memory");
				free(srcs);
				goto end;
			}
		const bt_component_class_source *cls = fs_cls;
		if (x->kind == IN_PERF_DATA) {
			if (!perf_cls) {
				errorf("'%s': perf.data input needs source.mpa.perf, which this "
				       "build of the mpa plugin lacks", x->arg);
				free(srcs);
				goto end;
			}
			cls = perf_cls;
		}
		if (x->kind == IN_LIVE) {
			/* a session that does not exist (yet) is an error, not a wait */
			if (!live_cls) {
				errorf("'%s': babeltrace2 lacks src.ctf.lttng-live", x->arg);
				free(srcs);
				goto end;
			}
			if (bt_value_map_insert_string_entry(params, "session-not-found-action",
							     "fail")) {
				errorf("out of memory");
				free(srcs);
				goto end;
			}
			cls = live_cls;
		}
		/* perf.data gets the same parameters: source.mpa.perf is meant to
		 * honour them like src.ctf.fs (ignored by a version that does not). */
		if ((x->is_perf_ctf || x->kind == IN_PERF_DATA) && have_lttng) {
			int64_t s = lttng_off / 1000000000, ns = lttng_off % 1000000000;
			if (bt_value_map_insert_signed_integer_entry(params, "clock-class-offset-s", s) ||
			    bt_value_map_insert_signed_integer_entry(params, "clock-class-offset-ns", ns) ||
			    bt_value_map_insert_bool_entry(params, "force-clock-class-origin-unix-epoch", BT_TRUE)) {
				errorf("out of memory");
				free(srcs);
				goto end;
			}
		}
		if (bt_graph_add_source_component(g, cls, x->path, params, g_log_level,
						  &srcs[i]) != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
			report_bt_error(x->path);
			free(srcs);
			goto end;
		}
		bt_value_put_ref(params);
		params = NULL;
	}
	uint64_t next_in = 0;
	for (size_t i = 0; i < in.n; i++) {
		if (srcs[i] && connect_all_outputs(g, bt_component_source_as_component_const(srcs[i]), 0, mux, &next_in)) {
			free(srcs);
			goto end;
		}
	}
	free(srcs);

sink:
	sp.shards = plan.param;
	params = sink_params(argc, argv, &sp);
	if (!params)
		goto end;
	const bt_component_sink *sink = NULL;
	if (bt_graph_add_sink_component_with_initialize_method_data(
		    g, sink_cls, out, params, &hooks, g_log_level, &sink) !=
	    BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		report_bt_error(out);
		goto end;
	}
	if (!plan.param &&
	    bt_graph_connect_ports(g, bt_component_filter_borrow_output_port_by_name_const(mux, "out"),
				   bt_component_sink_borrow_input_port_by_name_const(sink, "in"), NULL) !=
	    BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
		report_bt_error("connecting the sink");
		goto end;
	}

	/* live inputs: their end as the relay sees it (cvt_live.h) */
	size_t nlive = 0, ngone = 0;
	for (size_t i = 0; i < in.n; i++)
		nlive += in.v[i].kind == IN_LIVE;
	if (nlive && !(watch = calloc(nlive, sizeof *watch))) {
		errorf("out of memory");
		goto end;
	}
	nlive = 0;
	for (size_t i = 0; i < in.n; i++)
		if (in.v[i].kind == IN_LIVE && (watch[nlive] = cvt_live_watch_new(live_cls, in.v[i].arg)))
			nlive++;
	nwatch = nlive;
	for (int runs = 0;; runs++) {
		bt_graph_run_status st = bt_graph_run(g);
		if (!runs && nwatch &&
		    (st == BT_GRAPH_RUN_STATUS_OK || st == BT_GRAPH_RUN_STATUS_AGAIN))
			say_attached();
		if (st == BT_GRAPH_RUN_STATUS_OK)
			break;
		if (st == BT_GRAPH_RUN_STATUS_AGAIN && !bt_interrupter_is_set(g_interrupter)) {
			if (nlive && !hooks.end_when_idle) {
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
				ngone = 0;
				for (size_t i = 0; i < nlive; i++)
					ngone += cvt_live_watch_idle(watch[i], hooks.messages, now,
								     LIVE_END_GRACE_NS) == 1;
				if (ngone == nlive) {
					hooks.end_when_idle = 1;
					if (!quiet)
						fprintf(stderr, "%s" PROG ": the relay no longer lists the live "
							"session and nothing came for %d s: the stream ended\n",
							prog.show ? "\n" : "", (int)(LIVE_END_GRACE_NS / 1000000000u));
				}
			}
			usleep(1000);
			continue;
		}
		if (prog.show)
			fputc('\n', stderr);
		if (bt_interrupter_is_set(g_interrupter))
			errorf("'%s': interrupted, no capture written", out);
		else if (plan.param && error_is_fallback())
			rc = FALLBACK_STATUS; /* the parent converts again, one job */
		else
			report_bt_error(out);
		goto end;
	}
done:
	if (!prog.done) {
		errorf("'%s': the conversion ended without completing the capture", out);
		goto end;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!quiet) {
		double t = secs_between(&prog.start, &now);
		fprintf(stderr, "%s" PROG ": '%s': %" PRIu64 " events -> %" PRIu64 " records in %.2f s"
			" (%.2f M events/s); %" PRIu64 " unknown, %" PRIu64 " lost; %" PRIu64 "/%"
			PRIu64 " frames with function, %" PRIu64 " with file:line\n",
			prog.show ? "\r" : "", out, prog.sum.events_in, prog.sum.records, t,
			t > 0 ? (double)prog.sum.events_in / t / 1e6 : 0.0, prog.sum.unknown_events,
			prog.sum.lost_events, prog.sum.frames_func,
			prog.sum.frames, prog.sum.frames_line);
	}
	rc = 0;
end:
	g_interrupter = NULL;
	for (size_t i = 0; i < nwatch; i++)
		cvt_live_watch_free(watch[i]);
	free(watch);
	/* Finalizes the sink: an incomplete capture is removed there. */
	bt_graph_put_ref(g);
	bt_value_put_ref(params);
	if (plan.param && plan.tmpdir) {
		/* the child leaves the pieces to the parent */
		if (getpid() != g_parent_pid) {
			free(plan.tmpdir);
			plan.tmpdir = NULL;
		}
		cvt_plan_free(&plan);
	}
	bt_value_put_ref(extra_meta);
	bt_plugin_set_put_ref(mpa_set);
	bt_plugin_put_ref(ctf);
	bt_plugin_put_ref(utils);
	for (size_t i = 0; i < in.n; i++)
		free(in.v[i].path);
	free(in.v);
	return rc;
}
