/* The topology file reader (see cvt_topo.h).
 *
 *   mpa-topology 1
 *   cpus N            1..4096
 *   nodes M           1..1024
 *   page_size B       a power of two, 512..1 GiB
 *   cache_line B      0 (unknown) or a power of two up to 4096
 *   l1d B / l2 B / l3 B   bytes, 0 = unknown
 *   cpu_node n0 n1 ...    N values, each -1 (unknown) or 0..M-1
 *   distance i d0 .. dM-1 optional; then one line per node, values 1..255
 *
 * Blank lines and lines starting with '#' are ignored; every other key
 * appears once; all but l1d, l2, l3 and distance are required. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvt_topo.h"

/* 1024 nodes' distances ("255 " each) fit with room to spare */
#define FILE_MAX_BYTES (8u << 20)

enum { K_CPUS, K_NODES, K_PAGE, K_LINE, K_L1D, K_L2, K_L3, K_CPU_NODE, K_COUNT };
static const char *const key_names[K_COUNT] = {
	"cpus", "nodes", "page_size", "cache_line", "l1d", "l2", "l3", "cpu_node"
};

struct rd {
	const char *path;
	unsigned line;
	char *err;
	size_t errlen;
};

static int fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct rd *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (r->line)
		snprintf(r->err, r->errlen, "'%s': line %u: %s", r->path, r->line, msg);
	else
		snprintf(r->err, r->errlen, "'%s': %s", r->path, msg);
	return -1;
}

/* Next integer of *p in [lo, hi] (decimal, optional '-'); 0 or -1. */
static int next_int(char **p, int64_t lo, int64_t hi, int64_t *v)
{
	char *s = *p, *end;
	long long x;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -1;
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || end == s || (*end && *end != ' ' && *end != '\t') || x < lo || x > hi)
		return -1;
	*v = x;
	*p = end;
	return 0;
}

static int at_end(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0';
}

/* strerror with a lower-case first letter (CLI message style) */
static const char *errstr(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

static int pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

void cvt_topo_release(struct mpt_topology *t)
{
	if (!t)
		return;
	free(t->cpu_node);
	free(t->distance);
	t->cpu_node = NULL;
	t->distance = NULL;
}

int cvt_topo_load(const char *path, struct mpt_topology *t, char *err, size_t errlen)
{
	struct rd r = { path, 0, err, errlen };
	int seen[K_COUNT] = { 0 };
	int64_t val[K_COUNT] = { 0 };
	uint32_t ndist = 0;
	uint8_t *dist_seen = NULL;
	char *buf = NULL, *line, *next;
	size_t size = 0;
	int rc = -1, header = 0;
	char ebuf[128];
	FILE *f;

	memset(t, 0, sizeof *t);
	f = fopen(path, "re");
	if (!f)
		return fail(&r, "%s", errstr(errno, ebuf, sizeof ebuf));
	buf = malloc(FILE_MAX_BYTES + 1);
	if (!buf) {
		fail(&r, "out of memory");
		goto out;
	}
	size = fread(buf, 1, FILE_MAX_BYTES + 1, f);
	if (ferror(f)) {
		fail(&r, "%s", errstr(errno, ebuf, sizeof ebuf));
		goto out;
	}
	if (size > FILE_MAX_BYTES) {
		fail(&r, "larger than %u bytes (not a topology file)", FILE_MAX_BYTES);
		goto out;
	}
	if (memchr(buf, '\0', size)) {
		fail(&r, "NUL byte (not a topology file)");
		goto out;
	}
	buf[size] = '\0';
	for (line = buf; *line; line = next) {
		char *p, *key;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		r.line++;
		if (!header) {
			if (strcmp(line, "mpa-topology 1") != 0) {
				fail(&r, "not an mpa topology file (expected 'mpa-topology 1' "
					"on the first line; write one with "
					"'mpa-record --save-topology FILE')");
				goto out;
			}
			header = 1;
			continue;
		}
		p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		key = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
		if (strcmp(key, "distance") == 0) {
			int64_t i, d;

			if (!seen[K_NODES]) {
				fail(&r, "distance before nodes");
				goto out;
			}
			if (next_int(&p, 0, val[K_NODES] - 1, &i)) {
				fail(&r, "distance: bad node number (0..%" PRId64 ")", val[K_NODES] - 1);
				goto out;
			}
			if (dist_seen[i]) {
				fail(&r, "distance %" PRId64 " given twice", i);
				goto out;
			}
			dist_seen[i] = 1;
			for (int64_t j = 0; j < val[K_NODES]; j++) {
				if (next_int(&p, 1, 255, &d)) {
					fail(&r, "distance %" PRId64 ": %" PRId64 " values of 1..255 expected",
					     i, val[K_NODES]);
					goto out;
				}
				t->distance[i * val[K_NODES] + j] = (uint32_t)d;
			}
			if (!at_end(p)) {
				fail(&r, "distance %" PRId64 ": more than %" PRId64 " values", i,
				     val[K_NODES]);
				goto out;
			}
			ndist++;
			continue;
		}
		int k;
		for (k = 0; k < K_COUNT && strcmp(key, key_names[k]) != 0; k++)
			;
		if (k == K_COUNT) {
			fail(&r, "unknown key '%.40s'", key);
			goto out;
		}
		if (seen[k]) {
			fail(&r, "'%s' given twice", key_names[k]);
			goto out;
		}
		seen[k] = 1;
		if (k == K_CPU_NODE) {
			if (!seen[K_CPUS] || !seen[K_NODES]) {
				fail(&r, "cpu_node before cpus and nodes");
				goto out;
			}
			for (int64_t i = 0; i < val[K_CPUS]; i++) {
				int64_t n;

				if (next_int(&p, -1, val[K_NODES] - 1, &n)) {
					fail(&r, "cpu_node: %" PRId64 " values of -1..%" PRId64 " expected",
					     val[K_CPUS], val[K_NODES] - 1);
					goto out;
				}
				t->cpu_node[i] = (int32_t)n;
			}
			if (!at_end(p)) {
				fail(&r, "cpu_node: more than %" PRId64 " values", val[K_CPUS]);
				goto out;
			}
			continue;
		}
		static const int64_t hi[K_COUNT] = { MPT_MAX_CPUS, MPT_MAX_NODES, INT64_C(1) << 30,
						     4096, INT64_MAX, INT64_MAX, INT64_MAX, 0 };
		static const int64_t lo[K_COUNT] = { 1, 1, 512, 0, 0, 0, 0, 0 };
		if (next_int(&p, lo[k], hi[k], &val[k]) || !at_end(p)) {
			fail(&r, "%s: one integer in %" PRId64 "..%" PRId64 " expected", key_names[k],
			     lo[k], hi[k]);
			goto out;
		}
		if ((k == K_PAGE && !pow2((uint64_t)val[k])) ||
		    (k == K_LINE && val[k] && !pow2((uint64_t)val[k]))) {
			fail(&r, "%s: %" PRId64 " is not a power of two", key_names[k], val[k]);
			goto out;
		}
		if (k == K_CPUS) {
			t->cpu_node = calloc((size_t)val[k], sizeof *t->cpu_node);
			if (!t->cpu_node) {
				fail(&r, "out of memory");
				goto out;
			}
		} else if (k == K_NODES) {
			t->distance = calloc((size_t)(val[k] * val[k]), sizeof *t->distance);
			dist_seen = calloc((size_t)val[k], 1);
			if (!t->distance || !dist_seen) {
				fail(&r, "out of memory");
				goto out;
			}
		}
	}
	r.line = 0;
	if (!header) {
		fail(&r, "empty file (not an mpa topology file)");
		goto out;
	}
	for (int k = 0; k < K_COUNT; k++) {
		if (!seen[k] && k != K_L1D && k != K_L2 && k != K_L3) {
			fail(&r, "'%s' missing", key_names[k]);
			goto out;
		}
	}
	if (ndist && ndist != (uint32_t)val[K_NODES]) {
		fail(&r, "distances for %" PRIu32 " of %" PRId64 " nodes", ndist, val[K_NODES]);
		goto out;
	}
	if (!ndist) {
		free(t->distance);
		t->distance = NULL;
	}
	t->ncpus = (uint32_t)val[K_CPUS];
	t->nnodes = (uint32_t)val[K_NODES];
	t->page_size = (uint32_t)val[K_PAGE];
	t->cache_line = (uint32_t)val[K_LINE];
	t->l1d_size = (uint64_t)val[K_L1D];
	t->l2_size = (uint64_t)val[K_L2];
	t->l3_size = (uint64_t)val[K_L3];
	rc = 0;
out:
	if (rc)
		cvt_topo_release(t);
	free(dist_seen);
	free(buf);
	fclose(f);
	return rc;
}
