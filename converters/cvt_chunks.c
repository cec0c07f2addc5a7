/* mpa-convert --chunks: one capture from the trace chunks of a rotating
 * LTTng session (lttng rotate / enable-rotation), read one after the other.
 *
 * A rotation switches every stream to the next chunk one stream after the
 * other, so the chunks overlap in time by a few microseconds: an event of
 * chunk k+1 on one CPU may be older than the last events of chunk k on
 * another.  Converting chunk after chunk would write those out of order.
 * So the capture is written by time windows instead:
 *
 *   C(k)     = the earliest packet beginning of chunk k (every event of
 *              chunks >= k is at or after it: a stream's packets are in
 *              time order, and chunk k-1 ended before chunk k+1 began);
 *   window k = the events with C(k) <= ts < C(k+1), read from chunk k and
 *              the TAIL of chunk k-1 (for each stream, its packets ending
 *              at or after C(k), the one before them and its last one,
 *              copied into a temporary folder).
 *
 * Window k runs once chunk k+1 names C(k+1); the last one at the end of
 * the input.  Each window is one babeltrace2 graph (one src.ctf.fs per
 * trace over the tail and the chunk, which share the trace's UUID, so
 * their streams are merged; the muxer; the sink), and the sink carries
 * the capture from one graph to the next (struct mpa_sink_carry): the
 * records, their order, interning and ids are those of one conversion of
 * all the chunks at once.  With --remove-chunks a chunk is removed as soon
 * as its window and its tail are done.
 *
 * Packet headers are read with LTTng 2.13's fixed layout (the same as
 * mpa-record's discarded-events count): magic at 0, timestamp_begin at
 * 32, timestamp_end at 40, packet_size (bits) at 56.
 */
#include "cvt_chunks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "mpa-convert"
#define CTF_MAGIC 0xC1FC1FC1u
#define PKT_HDR_LEN 88
#define MAX_TRACES 64

struct trace_dir {
	char rel[PATH_MAX];       /* relative to the chunk (or tail) root */
	uint64_t freq;
	int64_t off_ns;           /* clock offset from origin, ns */
};

struct chunk {
	char root[PATH_MAX];
	struct trace_dir t[MAX_TRACES];
	size_t nt;
	uint64_t first_ns;        /* C: earliest packet beginning, UINT64_MAX if none */
};

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

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t to_ns(const struct trace_dir *t, uint64_t cycles)
{
	__int128 ns = t->freq == 1000000000u ? (__int128)cycles :
		(__int128)cycles * 1000000000 / (t->freq ? t->freq : 1);
	ns += t->off_ns;
	return ns < 0 ? 0 : ns > (__int128)INT64_MAX ? (uint64_t)INT64_MAX : (uint64_t)ns;
}

int cvt_clock_value(const char *text, const char *key, int64_t *out)
{
	const char *c = strstr(text, "clock {");
	const char *end = c ? strstr(c, "};") : NULL;
	size_t kl = strlen(key);

	for (const char *p = c; p && (!end || p < end); p = strchr(p + 1, '\n')) {
		const char *q = p;

		while (*q == '\n' || *q == '\t' || *q == ' ')
			q++;
		if (strncmp(q, key, kl) == 0 && (q[kl] == ' ' || q[kl] == '=')) {
			q = strchr(q, '=');
			if (!q)
				return -1;
			errno = 0;
			*out = strtoll(q + 1, NULL, 10);
			return errno ? -1 : 0;
		}
	}
	return -1;
}

/* The trace's clock, from its metadata (src.ctf.fs's metadata-info query). */
static int trace_clock(struct cvt_chunks_env *env, const char *path, struct trace_dir *t)
{
	bt_value *params = bt_value_map_create();
	const bt_value *res = NULL;
	bt_query_executor *q = NULL;
	int64_t freq = 1000000000, off_s = 0, off = 0;
	int rc = -1;

	if (!params || bt_value_map_insert_string_entry(params, "path", path))
		goto end;
	q = bt_query_executor_create(bt_component_class_source_as_component_class_const(env->fs_cls),
				     "metadata-info", params);
	if (!q || bt_query_executor_query(q, &res) != BT_QUERY_EXECUTOR_QUERY_STATUS_OK) {
		env->report(path);
		goto end;
	}
	const bt_value *tv = bt_value_map_borrow_entry_value_const(res, "text");
	const char *text = tv && bt_value_is_string(tv) ? bt_value_string_get(tv) : "";
	cvt_clock_value(text, "freq", &freq);
	cvt_clock_value(text, "offset_s", &off_s);
	cvt_clock_value(text, "offset", &off);
	if (freq <= 0 || off_s < 0 || off_s > INT64_MAX / 2000000000 || off < 0 ||
	    off / freq > INT64_MAX / 4000000000) {
		errorf("'%s': clock frequency or offset out of range", path);
		goto end;
	}
	t->freq = (uint64_t)freq;
	t->off_ns = off_s * 1000000000 + (int64_t)((__int128)off * 1000000000 / freq);
	rc = 0;
end:
	bt_value_put_ref(res);
	bt_query_executor_put_ref(q);
	bt_value_put_ref(params);
	return rc;
}

/* Data stream files of a trace folder: regular, not metadata, not hidden
 * (the index/ folder is not searched). */
static int is_stream_file(const char *dir, const char *name, char *path, size_t len)
{
	struct stat st;

	if (name[0] == '.' || strcmp(name, "metadata") == 0)
		return 0;
	if (snprintf(path, len, "%s/%s", dir, name) >= (int)len)
		return 0;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Calls fn for each packet of a stream file: offset, size, tb, te (cycles). */
typedef int (*packet_fn)(void *user, uint64_t off, uint64_t size, uint64_t tb, uint64_t te);

static int each_packet(const char *path, packet_fn fn, void *user)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char h[PKT_HDR_LEN];
	struct stat st;
	uint64_t off = 0;
	int rc = 0;

	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return errorf("'%s': %s", path, strerror(errno));
	}
	while (off + PKT_HDR_LEN <= (uint64_t)st.st_size) {
		uint32_t magic;
		uint64_t tb, te, bits;

		if (pread(fd, h, sizeof h, (off_t)off) != (ssize_t)sizeof h)
			break;
		memcpy(&magic, h, 4);
		memcpy(&tb, h + 32, 8);
		memcpy(&te, h + 40, 8);
		memcpy(&bits, h + 56, 8);
		if (magic != CTF_MAGIC || bits % 8 || bits / 8 < PKT_HDR_LEN ||
		    bits / 8 > (uint64_t)st.st_size - off || te < tb) {
			rc = errorf("'%s': packet at offset %" PRIu64 " is not an LTTng 2.13 packet "
				    "(a chunk of an mpa-record session is expected)", path, off);
			break;
		}
		if ((rc = fn(user, off, bits / 8, tb, te)) != 0)
			break;
		off += bits / 8;
	}
	close(fd);
	return rc;
}

struct first_acc {
	const struct trace_dir *t;
	uint64_t *min;
};

static int first_packet(void *user, uint64_t off, uint64_t size, uint64_t tb, uint64_t te)
{
	struct first_acc *a = user;
	uint64_t ns = to_ns(a->t, tb);

	(void)off; (void)size; (void)te;
	if (ns < *a->min)
		*a->min = ns;
	return 1; /* only the first packet of a file */
}

static struct chunk *g_load; /* nftw has no user data */
static struct cvt_chunks_env *g_env;
static int g_fail;

static int find_trace(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	struct chunk *c = g_load;
	size_t rl = strlen(c->root);

	(void)sb;
	if (type != FTW_F || strcmp(fpath + ftw->base, "metadata") != 0)
		return 0;
	if (c->nt == MAX_TRACES) {
		g_fail = errorf("'%s': more than %d traces in one chunk", c->root, MAX_TRACES);
		return 1;
	}
	struct trace_dir *t = &c->t[c->nt];
	int dl = ftw->base > 0 ? ftw->base - 1 : 0;
	if (dl < (int)rl) {
		g_fail = errorf("'%s': a metadata file at the chunk's top (a chunk holds "
				"ust/... or kernel/ traces)", c->root);
		return 1;
	}
	snprintf(t->rel, sizeof t->rel, "%.*s", dl - (int)rl, fpath + rl);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%.*s", dl, fpath);
	if (trace_clock(g_env, dir, t)) {
		g_fail = -1;
		return 1;
	}
	c->nt++;
	return 0;
}

static int cmp_trace(const void *a, const void *b)
{
	return strcmp(((const struct trace_dir *)a)->rel, ((const struct trace_dir *)b)->rel);
}

/* Finds the traces of a chunk and its earliest packet beginning. */
static int load_chunk(struct cvt_chunks_env *env, const char *root, struct chunk *c)
{
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->first_ns = UINT64_MAX;
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return errorf("'%s': not a chunk folder%s%s", root, errno ? ": " : "",
			      errno ? strerror(errno) : "");
	if (!realpath(root, c->root))
		return errorf("'%s': %s", root, strerror(errno));
	g_load = c;
	g_env = env;
	g_fail = 0;
	if (nftw(c->root, find_trace, 16, FTW_PHYS) != 0 && !g_fail)
		return errorf("'%s': cannot search the folder: %s", root, strerror(errno));
	if (g_fail)
		return -1;
	qsort(c->t, c->nt, sizeof(c->t[0]), cmp_trace);
	for (size_t i = 0; i < c->nt; i++) {
		char dir[PATH_MAX * 2], path[PATH_MAX * 3];
		DIR *d;
		struct dirent *de;

		snprintf(dir, sizeof dir, "%s/%s", c->root, c->t[i].rel);
		d = opendir(dir);
		while (d && (de = readdir(d)) != NULL) {
			struct first_acc a = { &c->t[i], &c->first_ns };

			if (is_stream_file(dir, de->d_name, path, sizeof path) &&
			    each_packet(path, first_packet, &a) < 0) {
				closedir(d);
				return -1;
			}
		}
		if (d)
			closedir(d);
	}
	return 0;
}

/* ---- the tail of a chunk ----------------------------------------------------- */

struct tail_scan {
	const struct trace_dir *t;
	uint64_t from_ns;
	uint64_t n, last_off, start_off;
	int have_late;
	uint64_t prev_off;
};

static int tail_packet(void *user, uint64_t off, uint64_t size, uint64_t tb, uint64_t te)
{
	struct tail_scan *s = user;

	(void)size; (void)tb;
	if (!s->have_late && to_ns(s->t, te) >= s->from_ns) {
		s->have_late = 1;
		/* and the packet before: its pair with this one says what was
		 * discarded between them */
		s->start_off = s->n ? s->prev_off : off;
	}
	s->prev_off = off;
	s->last_off = off;
	s->n++;
	return 0;
}

static int copy_range(const char *from, const char *to, uint64_t off)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = in >= 0 ? open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	char buf[1 << 16];
	int rc = 0;

	if (in < 0 || out < 0) {
		rc = errorf("'%s': %s", in < 0 ? from : to, strerror(errno));
		goto end;
	}
	for (;;) {
		ssize_t n = pread(in, buf, sizeof buf, (off_t)off);

		if (n < 0) {
			rc = errorf("'%s': %s", from, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (write(out, buf, (size_t)n) != n) {
			rc = errorf("'%s': %s", to, strerror(errno ? errno : ENOSPC));
			break;
		}
		off += (uint64_t)n;
	}
end:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && rc == 0)
		rc = errorf("'%s': %s", to, strerror(errno));
	return rc;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX * 2];

	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Copies into `tail` (an empty folder) what window k+1 reads again of chunk
 * c: per stream, the packets ending at or after from_ns, the one before,
 * and the last one; the metadata comes from the next chunk when it has the
 * same trace (LTTng writes the whole metadata again in every chunk, so the
 * next one holds at least as much: both inputs of one src.ctf.fs agree). */
static int make_tail(const struct chunk *c, const struct chunk *next, uint64_t from_ns,
		     const char *tail)
{
	for (size_t i = 0; i < c->nt; i++) {
		char dir[PATH_MAX * 2], tdir[PATH_MAX * 2], path[PATH_MAX * 3], tpath[PATH_MAX * 3];
		const char *meta_root = c->root;
		DIR *d;
		struct dirent *de;

		for (size_t j = 0; j < next->nt; j++)
			if (strcmp(next->t[j].rel, c->t[i].rel) == 0)
				meta_root = next->root;
		snprintf(dir, sizeof dir, "%s/%s", c->root, c->t[i].rel);
		snprintf(tdir, sizeof tdir, "%s/%s", tail, c->t[i].rel);
		if (mkdir_p(tdir) != 0)
			return errorf("'%s': %s", tdir, strerror(errno));
		snprintf(path, sizeof path, "%s/%s/metadata", meta_root, c->t[i].rel);
		snprintf(tpath, sizeof tpath, "%s/metadata", tdir);
		if (copy_range(path, tpath, 0))
			return -1;
		d = opendir(dir);
		if (!d)
			return errorf("'%s': %s", dir, strerror(errno));
		while ((de = readdir(d)) != NULL) {
			struct tail_scan s = { .t = &c->t[i], .from_ns = from_ns };

			if (!is_stream_file(dir, de->d_name, path, sizeof path))
				continue;
			if (each_packet(path, tail_packet, &s) < 0) {
				closedir(d);
				return -1;
			}
			if (s.n == 0)
				continue;
			snprintf(tpath, sizeof tpath, "%s/%s", tdir, de->d_name);
			if (copy_range(path, tpath, s.have_late ? s.start_off : s.last_off)) {
				closedir(d);
				return -1;
			}
		}
		closedir(d);
	}
	return 0;
}

/* ---- one window ---------------------------------------------------------------- */

static int has_trace(const struct chunk *c, const char *rel)
{
	for (size_t i = 0; c && i < c->nt; i++)
		if (strcmp(c->t[i].rel, rel) == 0)
			return 1;
	return 0;
}

static int add_source(struct cvt_chunks_env *env, bt_graph *g, const bt_component_filter *mux,
		      uint64_t *next_in, const char *a, const char *b)
{
	bt_value *params = bt_value_map_create(), *arr = NULL;
	const bt_component_source *src = NULL;
	int rc = -1;

	if (!params || bt_value_map_insert_empty_array_entry(params, "inputs", &arr) ||
	    (a && bt_value_array_append_string_element(arr, a)) ||
	    (b && bt_value_array_append_string_element(arr, b))) {
		errorf("out of memory");
		goto end;
	}
	if (bt_graph_add_source_component(g, env->fs_cls, b ? b : a, params, env->log_level, &src) !=
	    BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		env->report(b ? b : a);
		goto end;
	}
	for (uint64_t i = 0; i < bt_component_source_get_output_port_count(src); i++) {
		const bt_port_input *in = bt_component_filter_borrow_input_port_by_index_const(mux, *next_in);

		if (!in || bt_graph_connect_ports(g, bt_component_source_borrow_output_port_by_index_const(src, i),
						  in, NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
			env->report("connecting ports");
			goto end;
		}
		(*next_in)++;
	}
	rc = 0;
end:
	bt_value_put_ref(params);
	return rc;
}

/* Runs the graph of one window: the tail of the previous chunk (folder
 * `tail`, traces of `prev`) and chunk c. */
static int run_window(struct cvt_chunks_env *env, const struct chunk *prev, const char *tail,
		      const struct chunk *c)
{
	bt_graph *g = bt_graph_create(0);
	const bt_component_filter *mux = NULL;
	const bt_component_sink *sink = NULL;
	uint64_t next_in = 0;
	char a[PATH_MAX * 2], b[PATH_MAX * 2];
	int rc = -1;

	if (!g)
		return errorf("out of memory");
	if (bt_graph_add_filter_component(g, env->mux_cls, "muxer", NULL, env->log_level, &mux) !=
	    BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		env->report("muxer");
		goto end;
	}
	for (size_t i = 0; prev && i < prev->nt; i++) {
		if (has_trace(c, prev->t[i].rel))
			continue;
		snprintf(a, sizeof a, "%s/%s", tail, prev->t[i].rel);
		if (add_source(env, g, mux, &next_in, a, NULL))
			goto end;
	}
	for (size_t i = 0; i < c->nt; i++) {
		int t = prev && has_trace(prev, c->t[i].rel);

		snprintf(a, sizeof a, "%s/%s", tail ? tail : "", c->t[i].rel);
		snprintf(b, sizeof b, "%s/%s", c->root, c->t[i].rel);
		if (add_source(env, g, mux, &next_in, t ? a : b, t ? b : NULL))
			goto end;
	}
	if (bt_graph_add_sink_component_with_initialize_method_data(
		    g, env->sink_cls, env->out, env->sink_params, env->hooks, env->log_level, &sink) !=
	    BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		env->report(env->out);
		goto end;
	}
	if (bt_graph_connect_ports(g, bt_component_filter_borrow_output_port_by_name_const(mux, "out"),
				   bt_component_sink_borrow_input_port_by_name_const(sink, "in"), NULL) !=
	    BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
		env->report("connecting the sink");
		goto end;
	}
	*env->interrupter = bt_graph_borrow_default_interrupter(g);
	if (*env->stop)
		bt_interrupter_set(*env->interrupter);
	for (;;) {
		bt_graph_run_status st = bt_graph_run(g);

		if (st == BT_GRAPH_RUN_STATUS_OK)
			break;
		if (st == BT_GRAPH_RUN_STATUS_AGAIN && !bt_interrupter_is_set(*env->interrupter)) {
			usleep(1000);
			continue;
		}
		if (bt_interrupter_is_set(*env->interrupter))
			errorf("'%s': interrupted, no capture written", env->out);
		else
			env->report(env->out);
		goto end;
	}
	rc = 0;
end:
	*env->interrupter = NULL;
	bt_graph_put_ref(g); /* the sink's state stays in the carry when more follow */
	return rc;
}

/* ---- the loop ------------------------------------------------------------------------ */

/* One line of input: a chunk folder.  0, 1 at the end, -1 interrupted. */
static int next_line(FILE *in, volatile sig_atomic_t *stop, char *line, size_t len)
{
	for (;;) {
		if (*stop)
			return -1;
		errno = 0;
		if (fgets(line, (int)len, in)) {
			line[strcspn(line, "\n")] = 0;
			if (line[0])
				return 0;
			continue;
		}
		if (errno == EINTR && !*stop) {
			clearerr(in);
			continue;
		}
		return *stop ? -1 : 1;
	}
}

int cvt_chunks_run(struct cvt_chunks_env *env, FILE *in)
{
	struct chunk *prev = calloc(1, sizeof(*prev)), *cur = calloc(1, sizeof(*cur)),
		     *next = calloc(1, sizeof(*next));
	struct mpa_sink_carry carry = { .lo = 0, .first = 1 };
	char line[PATH_MAX], tail[PATH_MAX] = "", ntail[PATH_MAX] = "";
	const char *tmp = getenv("TMPDIR");
	int have_cur = 0, have_prev = 0, rc = -1, r;

	if (!prev || !cur || !next) {
		errorf("out of memory");
		goto end;
	}
	env->hooks->carry = &carry;
	while ((r = next_line(in, env->stop, line, sizeof line)) == 0) {
		struct chunk *t;

		if (load_chunk(env, line, next))
			goto end;
		if (next->first_ns == UINT64_MAX) {
			/* no packet at all: nothing to read */
			if (env->remove)
				rm_rf(next->root);
			continue;
		}
		if (!have_cur) {
			t = cur, cur = next, next = t;
			have_cur = 1;
			continue;
		}
		/* window of cur: up to the next chunk's first packet */
		carry.hi = next->first_ns > carry.lo ? next->first_ns : carry.lo;
		carry.more = 1;
		if (run_window(env, have_prev ? prev : NULL, have_prev ? tail : NULL, cur))
			goto end;
		/* what the next window reads again of cur */
		if (snprintf(ntail, sizeof ntail, "%s/mpa-chunk-tail-XXXXXX",
			     tmp && *tmp ? tmp : "/tmp") >= (int)sizeof ntail || !mkdtemp(ntail)) {
			errorf("cannot create a temporary folder: %s", strerror(errno));
			ntail[0] = 0;
			goto end;
		}
		if (make_tail(cur, next, carry.hi, ntail))
			goto end;
		if (tail[0])
			rm_rf(tail);
		memcpy(tail, ntail, sizeof tail);
		ntail[0] = 0;
		if (env->remove)
			rm_rf(cur->root);
		carry.lo = carry.hi;
		carry.first = 0;
		t = prev, prev = cur, cur = next, next = t;
		have_prev = 1;
	}
	if (r < 0) {
		errorf("'%s': interrupted, no capture written", env->out);
		goto end;
	}
	if (!have_cur) {
		errorf("no chunk with events in the input");
		goto end;
	}
	carry.hi = UINT64_MAX;
	carry.more = 0;
	if (run_window(env, have_prev ? prev : NULL, have_prev ? tail : NULL, cur))
		goto end;
	if (env->remove)
		rm_rf(cur->root);
	rc = 0;
end:
	if (carry.state && carry.release)
		carry.release(&carry); /* interrupted between windows: no capture */
	env->hooks->carry = NULL;
	if (tail[0])
		rm_rf(tail);
	if (ntail[0])
		rm_rf(ntail);
	free(prev);
	free(cur);
	free(next);
	return rc;
}
