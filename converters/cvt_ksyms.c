/* Kernel symbols from a kallsyms file (see cvt_ksyms.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvt_ksyms.h"

struct ksym {
	uint64_t addr;
	size_t name; /* offset in names */
};

struct cvt_ksyms {
	struct ksym *v;
	size_t n, cap;
	char *names;
	size_t nlen, ncap;
};

#define MAX_LINE 1024
#define MAX_SYMS (UINT64_C(1) << 24)
#define MAX_GAP (UINT64_C(1) << 20)

static int by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

static int add(struct cvt_ksyms *k, uint64_t addr, const char *name, size_t len)
{
	if (k->n == k->cap) {
		size_t nc = k->cap ? k->cap * 2 : 4096;
		struct ksym *v = realloc(k->v, nc * sizeof *v);
		if (!v)
			return -1;
		k->v = v;
		k->cap = nc;
	}
	if (k->nlen + len + 1 > k->ncap) {
		size_t nc = k->ncap ? k->ncap * 2 : 65536;
		while (nc < k->nlen + len + 1)
			nc *= 2;
		char *s = realloc(k->names, nc);
		if (!s)
			return -1;
		k->names = s;
		k->ncap = nc;
	}
	memcpy(k->names + k->nlen, name, len);
	k->names[k->nlen + len] = 0;
	k->v[k->n++] = (struct ksym){.addr = addr, .name = k->nlen};
	k->nlen += len + 1;
	return 0;
}

struct cvt_ksyms *cvt_ksyms_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open kallsyms '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct cvt_ksyms *k = calloc(1, sizeof *k);
	char line[MAX_LINE + 2];
	unsigned long long lineno = 0;
	if (!k)
		goto oom;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		else if (!feof(f))
			goto bad; /* longer than any kallsyms line */
		if (!len)
			continue;
		/* ADDR TYPE NAME[\t[MODULE]] */
		char *end;
		errno = 0;
		unsigned long long addr = strtoull(line, &end, 16);
		if (end == line || errno || *end != ' ' || !end[1] || end[2] != ' ' || !end[3])
			goto bad;
		char type = end[1];
		char *name = end + 3, *tab = strchr(name, '\t');
		if (!strchr("tTwW", type) || !addr)
			continue;
		char buf[MAX_LINE + 8];
		if (tab) {
			*tab = 0;
			snprintf(buf, sizeof buf, "%s %s", name, tab + 1);
			name = buf;
		}
		if (k->n >= MAX_SYMS) {
			snprintf(err, errlen, "kallsyms '%s': more than %llu symbols", path,
				 (unsigned long long)MAX_SYMS);
			goto fail;
		}
		if (add(k, addr, name, strlen(name)) < 0)
			goto oom;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read kallsyms '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (!k->n) {
		snprintf(err, errlen,
			 "kallsyms '%s' has no text symbol with an address (read /proc/kallsyms "
			 "as root, with kernel.kptr_restrict <= 1)",
			 path);
		goto fail;
	}
	fclose(f);
	qsort(k->v, k->n, sizeof *k->v, by_addr);
	return k;
bad:
	snprintf(err, errlen, "kallsyms '%s' line %llu: expected 'ADDRESS TYPE NAME [MODULE]'", path,
		 lineno);
	goto fail;
oom:
	snprintf(err, errlen, "out of memory reading kallsyms '%s'", path);
fail:
	fclose(f);
	cvt_ksyms_free(k);
	return NULL;
}

void cvt_ksyms_free(struct cvt_ksyms *k)
{
	if (!k)
		return;
	free(k->v);
	free(k->names);
	free(k);
}

size_t cvt_ksyms_count(const struct cvt_ksyms *k)
{
	return k ? k->n : 0;
}

const char *cvt_ksyms_find(const struct cvt_ksyms *k, uint64_t ip)
{
	if (!k || !k->n)
		return NULL;
	size_t lo = 0, hi = k->n; /* first symbol with addr > ip */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->v[mid].addr <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || ip - k->v[lo - 1].addr > MAX_GAP)
		return NULL;
	return k->names + k->v[lo - 1].name;
}
