/* The machine's topology from sysfs, and the topology file mpa-record
 * writes for the converter (see mpa_topo.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpa_topo.h"

/* Reads the first line of SYSFS/rel into buf; 0, or -1 when absent/empty. */
static int read_line(const char *sysfs, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	if (snprintf(path, sizeof path, "%s/%s", sysfs, rel) >= (int)sizeof path)
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] ? 0 : -1;
}

/* Calls fn(i) for each i of a sysfs list ("0-3,8,10-11"); values must be
 * below max.  Returns 0, or -1 when malformed. */
static int each_in_list(const char *s, uint32_t max, void (*fn)(uint32_t, void *), void *u)
{
	while (*s) {
		char *end;
		unsigned long a, b;

		if (!isdigit((unsigned char)*s))
			return -1;
		a = strtoul(s, &end, 10);
		b = a;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -1;
			b = strtoul(end + 1, &end, 10);
		}
		if (a > b || b >= max)
			return -1;
		for (unsigned long i = a; i <= b; i++)
			fn((uint32_t)i, u);
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return 0;
}

static void note_max(uint32_t i, void *u)
{
	uint32_t *m = u;

	if (i + 1 > *m)
		*m = i + 1;
}

struct set_node {
	struct mpa_topo *t;
	int32_t node;
};

static void set_node(uint32_t cpu, void *u)
{
	struct set_node *s = u;

	if (cpu < s->t->ncpus)
		s->t->cpu_node[cpu] = s->node;
}

/* "32K", "1024K", "32M", "65536" -> bytes; 0 when malformed. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return 0;
	switch (*end) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	default: break;
	}
	return *end ? 0 : (uint64_t)v;
}

static void read_caches(const char *sysfs, struct mpa_topo *t)
{
	for (unsigned k = 0; k < 16; k++) {
		char rel[96], buf[64], type[32];
		unsigned long level;
		uint64_t size;

		snprintf(rel, sizeof rel, "devices/system/cpu/cpu0/cache/index%u/level", k);
		if (read_line(sysfs, rel, buf, sizeof buf) != 0)
			continue;
		level = strtoul(buf, NULL, 10);
		snprintf(rel, sizeof rel, "devices/system/cpu/cpu0/cache/index%u/type", k);
		if (read_line(sysfs, rel, type, sizeof type) != 0)
			continue;
		if (strcmp(type, "Data") != 0 && strcmp(type, "Unified") != 0)
			continue;
		snprintf(rel, sizeof rel, "devices/system/cpu/cpu0/cache/index%u/size", k);
		if (read_line(sysfs, rel, buf, sizeof buf) != 0 || (size = parse_size(buf)) == 0)
			continue;
		if (level == 1) {
			t->l1d = size;
			snprintf(rel, sizeof rel,
				"devices/system/cpu/cpu0/cache/index%u/coherency_line_size", k);
			if (read_line(sysfs, rel, buf, sizeof buf) == 0) {
				unsigned long l = strtoul(buf, NULL, 10);

				if (l > 0 && l <= 4096)
					t->cache_line = (uint32_t)l;
			}
		} else if (level == 2) {
			t->l2 = size;
		} else if (level == 3) {
			t->l3 = size;
		}
	}
}

static uint64_t sysconf_u64(int name)
{
	long v = sysconf(name);

	return v > 0 ? (uint64_t)v : 0;
}

int mpa_topo_read(const char *sysfs, struct mpa_topo *t, char *err, size_t errlen)
{
	char buf[8192];
	int has_nodes;

	memset(t, 0, sizeof *t);
	if (read_line(sysfs, "devices/system/cpu/possible", buf, sizeof buf) != 0 &&
			read_line(sysfs, "devices/system/cpu/present", buf, sizeof buf) != 0) {
		snprintf(err, errlen, "'%s/devices/system/cpu/possible': cannot read the cpu list",
			sysfs);
		return -1;
	}
	if (each_in_list(buf, MPA_TOPO_MAX_CPUS, note_max, &t->ncpus) != 0 || t->ncpus == 0) {
		snprintf(err, errlen, "'%s/devices/system/cpu/possible': bad cpu list '%s' "
			"(at most %d cpus)", sysfs, buf, MPA_TOPO_MAX_CPUS);
		return -1;
	}
	for (uint32_t i = 0; i < t->ncpus; i++)
		t->cpu_node[i] = -1;

	/* online nodes (the ones with a nodeN folder and a distance row), else
	 * the possible ones */
	has_nodes = read_line(sysfs, "devices/system/node/online", buf, sizeof buf) == 0 ||
		read_line(sysfs, "devices/system/node/possible", buf, sizeof buf) == 0;
	if (!has_nodes) {
		/* a kernel without NUMA: one node */
		t->nnodes = 1;
		for (uint32_t i = 0; i < t->ncpus; i++)
			t->cpu_node[i] = 0;
	} else {
		if (each_in_list(buf, MPA_TOPO_MAX_NODES, note_max, &t->nnodes) != 0 ||
				t->nnodes == 0) {
			snprintf(err, errlen, "'%s/devices/system/node/online': bad node list "
				"'%s' (at most %d nodes)", sysfs, buf, MPA_TOPO_MAX_NODES);
			return -1;
		}
		t->has_distance = 1;
		for (uint32_t n = 0; n < t->nnodes; n++) {
			char rel[96];
			struct set_node sn = { t, (int32_t)n };
			char *p, *end;
			uint32_t j = 0;

			snprintf(rel, sizeof rel, "devices/system/node/node%" PRIu32 "/cpulist", n);
			if (read_line(sysfs, rel, buf, sizeof buf) == 0 &&
					each_in_list(buf, MPA_TOPO_MAX_CPUS, set_node, &sn) != 0) {
				snprintf(err, errlen, "'%s/%s': bad cpu list '%s'", sysfs, rel, buf);
				return -1;
			}
			snprintf(rel, sizeof rel, "devices/system/node/node%" PRIu32 "/distance", n);
			if (read_line(sysfs, rel, buf, sizeof buf) != 0) {
				t->has_distance = 0; /* an absent node: no full table */
				continue;
			}
			for (p = buf; *p; p = end) {
				unsigned long d;

				while (*p == ' ')
					p++;
				if (!*p)
					break;
				d = strtoul(p, &end, 10);
				if (end == p || d == 0 || d > 255 || j >= t->nnodes) {
					snprintf(err, errlen, "'%s/%s': bad distances '%s' (%" PRIu32
						" values of 1..255 expected)", sysfs, rel, buf, t->nnodes);
					return -1;
				}
				t->distance[n][j++] = (uint16_t)d;
			}
			if (j != t->nnodes)
				t->has_distance = 0;
		}
	}

	t->page_size = (uint32_t)sysconf_u64(_SC_PAGESIZE);
	read_caches(sysfs, t);
	if (strcmp(sysfs, "/sys") == 0) {
		/* glibc asks the cpu itself (cpuid) when sysfs has no cache folder */
		if (!t->l1d)
			t->l1d = sysconf_u64(_SC_LEVEL1_DCACHE_SIZE);
		if (!t->cache_line) {
			uint64_t l = sysconf_u64(_SC_LEVEL1_DCACHE_LINESIZE);

			t->cache_line = l <= 4096 ? (uint32_t)l : 0;
		}
		if (!t->l2)
			t->l2 = sysconf_u64(_SC_LEVEL2_CACHE_SIZE);
		if (!t->l3)
			t->l3 = sysconf_u64(_SC_LEVEL3_CACHE_SIZE);
	}
	return 0;
}

int mpa_topo_write(FILE *f, const struct mpa_topo *t)
{
	fprintf(f, "mpa-topology 1\n");
	fprintf(f, "cpus %" PRIu32 "\nnodes %" PRIu32 "\npage_size %" PRIu32 "\n"
		"cache_line %" PRIu32 "\nl1d %" PRIu64 "\nl2 %" PRIu64 "\nl3 %" PRIu64 "\n",
		t->ncpus, t->nnodes, t->page_size, t->cache_line, t->l1d, t->l2, t->l3);
	fputs("cpu_node", f);
	for (uint32_t i = 0; i < t->ncpus; i++)
		fprintf(f, " %" PRId32, t->cpu_node[i]);
	fputc('\n', f);
	for (uint32_t n = 0; t->has_distance && n < t->nnodes; n++) {
		fprintf(f, "distance %" PRIu32, n);
		for (uint32_t j = 0; j < t->nnodes; j++)
			fprintf(f, " %u", (unsigned)t->distance[n][j]);
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}
