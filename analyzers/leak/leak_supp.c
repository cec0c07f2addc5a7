/* The leak analyzer: suppressions (built-in and the user's file), matched
 * LSan-style on a block's stack. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leak_internal.h"

/* Runtime-internal blocks that live until exit by design.  valgrind frees
 * most of them at exit (glibc's __libc_freeres, libstdc++'s __freeres); a
 * trace sees them as still allocated. */
static const struct {
	const char *pattern;
	int site_only;
	const char *reason;
} builtin_supps[] = {
	{"allocate_dtv", 0,
	 "glibc's per-thread dynamic thread vector (DTV) from pthread_create; released only by "
	 "libc's freeres at exit"},
	{"_dl_allocate_tls", 0,
	 "glibc's static TLS block of a new thread (pthread_create); reused by the thread cache"},
	{"liblttng-ust.so|liblttng-ust-tracepoint.so|liblttng-ust-common.so", 0,
	 "LTTng-UST's own allocations (e.g. the two 48-byte callocs of liblttng-ust-tracepoint.so "
	 "at registration), not the traced program's (not liblttng-ust-dl's dlopen wrapper, "
	 "which the program's own dlopen passes through)"},
	{"ld-linux|/libc.so.", 3,
	 "every frame in the dynamic loader (or libc): its own allocations at start-up (link "
	 "maps, search paths, TLS of the preloaded tracer's libraries): process-lifetime by "
	 "design; a dlopen by the program itself is the program's, as valgrind counts it"},
	{"_IO_file_doallocate", 0, "a stdio stream buffer, released by libc's freeres at exit"},
	{"^_nl_", 0, "locale data loaded by setlocale, released by libc's freeres at exit"},
	{"__gconv_", 0, "iconv/gconv conversion state cached by libc"},
	{"tzset_internal", 0, "timezone data cached by libc (localtime, tzset)"},
	{"__tzfile_read", 0, "timezone data cached by libc (localtime, tzset)"},
	{"__nss_", 0, "NSS module state (getpwnam, getaddrinfo...) cached by libc"},
	{"__new_exitfn", 0, "atexit/on_exit handler list, released by libc at exit"},
	{"_GLOBAL__sub_I_eh_alloc.cc", 0,
	 "libstdc++'s emergency exception-handling pool, released by __gnu_cxx::__freeres"},
	{"__cxa_get_globals", 0, "libstdc++'s per-thread exception globals"},
	{"new_composite_name", 0, "setlocale's composite locale name, released by libc's freeres"},
	{"set_binding_values", 0, "bindtextdomain's domain bindings, released by libc's freeres"},
	{"__wcsmbs_load_conv", 0, "the locale's multibyte conversion state, released by freeres"},
	{"__tzstring", 0, "timezone name strings cached by libc, released by freeres"},
	{"/libc.so.", 3,
	 "every frame inside libc (no caller outside it): libc's own process-lifetime state, e.g. "
	 "the locale names setlocale strdup's, released by freeres at exit"},
	{"libnuma.so|ld-linux", 3,
	 "every frame in libnuma or the loader: libnuma's constructor (numa_init) keeps its node "
	 "and CPU masks for the process's life; libnuma is loaded by liblttng-ust (the tracer), "
	 "so valgrind never sees them"},
	{"libstdc++.so|ld-linux", 3,
	 "every frame in libstdc++ or the loader: libstdc++'s constructor allocates the emergency "
	 "exception-handling pool, released by __gnu_cxx::__freeres at exit (matched by binary: "
	 "Debian's libstdc++ has no symbol for it)"},
};

/* Glob match of p against s: '*' is any run of characters.  With
 * anchor_end the whole of s must match, else a prefix of it. */
static int glob_at(const char *p, const char *s, int anchor_end)
{
	while (*p) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (!*p)
				return 1;
			for (;; s++) {
				if (glob_at(p, s, anchor_end))
					return 1;
				if (!*s)
					return 0;
			}
		}
		if (!*s || *p != *s)
			return 0;
		p++;
		s++;
	}
	return anchor_end ? !*s : 1;
}

/* LSan-style: the pattern matches anywhere in s unless anchored with a
 * leading ^ or a trailing $. */
static int pattern_match(const char *pat, const char *s)
{
	char buf[512];
	size_t pl = strlen(pat);
	if (!s || !*s || !pl || pl >= sizeof buf)
		return 0;
	memcpy(buf, pat, pl + 1);
	int end = buf[pl - 1] == '$';
	if (end)
		buf[pl - 1] = 0;
	if (buf[0] == '^')
		return glob_at(buf + 1, s, end);
	for (const char *q = s; *q; q++)
		if (glob_at(buf, q, end))
			return 1;
	return 0;
}

/* pattern_match() of any of the '|'-separated alternatives of pat. */
static int pattern_match_any(const char *pat, const char *s)
{
	char alt[512];

	for (const char *p = pat;;) {
		size_t l = strcspn(p, "|");
		if (l < sizeof alt) {
			memcpy(alt, p, l);
			alt[l] = 0;
			if (pattern_match(alt, s))
				return 1;
		}
		if (!p[l])
			return 0;
		p += l + 1;
	}
}

int32_t mpa_leak_suppression_of(struct leak *L, uint32_t stack)
{
	if (stack >= L->nsites)
		stack = 0;
	struct site *s = &L->sites[stack];
	if (s->supp != -2)
		return s->supp;
	s->supp = -1;
	uint32_t n = 0;
	const mpt_reader *r = L->ctx->reader;
	const uint32_t *fr = r ? mpt_reader_stack(r, stack, &n) : NULL;
	if (!fr || !n || !L->nsupps)
		return s->supp;
	int site = mpa_site_frame(L->ctx, stack);
	for (size_t k = 0; k < L->nsupps && s->supp < 0; k++) {
		const struct supp *sp = &L->supps[k];
		if (sp->site_only == 3) {
			uint32_t in = 0;
			for (uint32_t i = 0; i < n; i++) {
				const struct mpt_frame *f = mpt_reader_frame(r, fr[i]);
				const char *bin = f ? mpt_reader_string(r, f->bin, NULL) : NULL;
				/* the preload's own frames (its hooks) are neutral */
				if (bin && (pattern_match_any(sp->pattern, bin) ||
					    pattern_match("libmpa-preload", bin)))
					in++;
			}
			if (in == n)
				s->supp = (int32_t)k;
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (sp->site_only && (int)i != site)
				continue;
			const struct mpt_frame *f = mpt_reader_frame(r, fr[i]);
			if (!f)
				continue;
			if (pattern_match_any(sp->pattern, mpt_reader_string(r, f->func, NULL)) ||
			    pattern_match_any(sp->pattern, mpt_reader_string(r, f->bin, NULL)) ||
			    pattern_match_any(sp->pattern, mpt_reader_string(r, f->file, NULL))) {
				s->supp = (int32_t)k;
				break;
			}
		}
	}
	return s->supp;
}

int mpa_leak_add_supp(struct leak *L, const char *pattern, int site_only, const char *source,
		    const char *reason)
{
	struct supp *ns = realloc(L->supps, (L->nsupps + 1) * sizeof *ns);
	if (!ns)
		return -1;
	L->supps = ns;
	struct supp *s = &ns[L->nsupps];
	memset(s, 0, sizeof *s);
	s->pattern = strdup(pattern);
	s->source = strdup(source);
	s->reason = reason;
	s->site_only = site_only;
	if (!s->pattern || !s->source) {
		free(s->pattern);
		free(s->source);
		return -1;
	}
	L->nsupps++;
	return 0;
}

static int load_supp_file(struct leak *L, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		mpa_errf(err, errlen, "suppression file '%s': %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	unsigned ln = 0;
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		ln++;
		size_t n = strlen(line);
		if (n == sizeof line - 1 && line[n - 1] != '\n') {
			mpa_errf(err, errlen, "%s:%u: line too long", path, ln);
			rc = -1;
			break;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
			     line[n - 1] == '\t'))
			line[--n] = 0;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		int site_only;
		if (!strncmp(p, "leak:", 5)) {
			site_only = 0;
			p += 5;
		} else if (!strncmp(p, "leak-site:", 10)) {
			site_only = 1;
			p += 10;
		} else {
			mpa_errf(err, errlen, "%s:%u: expected 'leak:PATTERN' or 'leak-site:PATTERN'",
			       path, ln);
			rc = -1;
			break;
		}
		if (!*p || (*p == '^' && !p[1]) || !strcmp(p, "$")) {
			mpa_errf(err, errlen, "%s:%u: empty pattern", path, ln);
			rc = -1;
			break;
		}
		if (strlen(p) >= 500) {
			mpa_errf(err, errlen, "%s:%u: pattern too long", path, ln);
			rc = -1;
			break;
		}
		char src[600];
		snprintf(src, sizeof src, "%s:%u", path, ln);
		if (mpa_leak_add_supp(L, p, site_only, src, "") < 0) {
			mpa_errf(err, errlen, "out of memory");
			rc = -1;
			break;
		}
	}
	if (!rc && ferror(f)) {
		mpa_errf(err, errlen, "suppression file '%s': read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}


int mpa_leak_load_suppressions(struct leak *L, char *err, size_t errlen)
{
	const mpa_config *c = L->ctx->config;
	/* built-in first, then the user's */
	if (!c || mpa_config_bool(c, "leak", "default_suppressions")) {
		for (size_t k = 0; k < sizeof builtin_supps / sizeof *builtin_supps; k++) {
			if (mpa_leak_add_supp(L, builtin_supps[k].pattern, builtin_supps[k].site_only,
					      "builtin", builtin_supps[k].reason) < 0) {
				mpa_errf(err, errlen, "out of memory");
				return -1;
			}
		}
	}
	const char *uf = c ? mpa_config_string(c, "leak", "suppressions") : NULL;
	if (uf && *uf && load_supp_file(L, uf, err, errlen) < 0)
		return -1;
	return 0;
}
