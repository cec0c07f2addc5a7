/* The analyzers' fuzz target as a regression test: every committed input of
 * tests/fuzz/corpus/analyze/ goes through fuzz_analyze_one() (a capture
 * built from the input, every analyzer run on it), once with CSV + JSON and
 * once with the plot emitters on as well.  Under the ASan+UBSan pass of
 * `make check` a crash, UB or leak in an analyzer fails the test; a Criterion
 * worker that aborts is reported with the file being replayed on stderr.
 *
 * Inputs that still crash the analyzers live in tests/fuzz/findings/analyze/
 * (not replayed here); move one into the corpus once it is fixed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MPA_FUZZ_NO_ENTRY
#include "fuzz_analyze.c"

/* What the replayed inputs exercised, summed. */
struct tfa_sum {
	unsigned files, ok, failed, rows, from, to, pid;
	uint32_t kinds;
};

static uint8_t *tfa_load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_geq(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int tfa_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of the committed corpus, in name order. */
static void tfa_replay(struct tfa_sum *sum)
{
	const char *src = getenv("MPA_SRC");
	char dir[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/analyze", src ? src : ".");
	d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			cr_assert_not_null(names);
		}
		names[n] = strdup(de->d_name);
		cr_assert_not_null(names[n]);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), tfa_cmp);
	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		uint8_t *buf;
		size_t len;
		int pl = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		cr_assert(pl > 0 && (size_t)pl < sizeof(path), "path too long: %s", names[i]);
		free(names[i]);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		/* if an analyzer aborts, this names the input */
		fprintf(stderr, "test_fuzz_analyze: %s\n", path);
		buf = tfa_load(path, &len);
		fuzz_analyze_one(buf, len);
		free(buf);
		sum->files++;
		sum->rows += fa_last.rows;
		sum->kinds |= fa_last.kinds;
		sum->from += fa_last.from;
		sum->to += fa_last.to;
		sum->pid += fa_last.pid;
		if (fa_last.rc == 0)
			sum->ok++;
		else
			sum->failed++;
	}
	free(names);
	fuzz_analyze_cleanup();
}

/* The corpus must keep exercising what the target is for: every kind,
 * windows and pid filters, runs that succeed and runs that are refused. */
static void tfa_check_reach(const struct tfa_sum *s)
{
	cr_log_info("%u inputs: %u runs ok, %u refused, %u rows, kinds 0x%x, --from %u, --to %u, --pid %u",
		    s->files, s->ok, s->failed, s->rows, s->kinds, s->from, s->to, s->pid);
	cr_assert_geq(s->files, 20, "only %u inputs in tests/fuzz/corpus/analyze", s->files);
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++)
		cr_expect(s->kinds & MPT_KINDBIT(k), "no input of the corpus writes a %s record",
			  mpa_kind_name(k));
	cr_expect_geq(s->ok, s->files / 4, "only %u of %u runs succeeded", s->ok, s->files);
	cr_expect_geq(s->failed, 1, "no input makes mpa_run refuse its options");
	cr_expect_geq(s->from, 3, "--from in %u inputs only", s->from);
	cr_expect_geq(s->to, 3, "--to in %u inputs only", s->to);
	cr_expect_geq(s->pid, 3, "--pid in %u inputs only", s->pid);
	cr_expect_geq(s->rows, 1000, "%u rows in all", s->rows);
}

Test(fuzz_analyze, replay_committed_corpus, .timeout = 600)
{
	struct tfa_sum s;

	tfa_replay(&s);
	tfa_check_reach(&s);
}

/* The same inputs with plots: the plot emitters write their data and
 * scripts; MPA_GNUPLOT names a missing program, so nothing is rendered. */
Test(fuzz_analyze, replay_committed_corpus_with_plots, .timeout = 600)
{
	struct tfa_sum s;

	cr_assert_eq(setenv("FUZZ_ANALYZE_PLOTS", "1", 1), 0);
	tfa_replay(&s);
	cr_assert(fa_plots, "FUZZ_ANALYZE_PLOTS=1 did not turn the plots on");
	cr_assert_geq(s.files, 20);
}

/* The generator itself: fixed programs give the records they describe. */
Test(fuzz_analyze, generator_writes_what_the_program_says)
{
	/* header of zeros (one chunk, no options), no extra strings, frames or
	 * stacks; then alloc (op 0, mode 0: ts + 1, one selector byte per field:
	 * size 16, ptr from the fresh top, usable 0, align 0, api malloc,
	 * stack 0), free (op 1: the newest pointer, api free, stack 0), lost
	 * (op 18: 0 lost, string 0, end 0) */
	static const uint8_t prog[] = { 0, 0, 0,
		0, 0, 0, 0, 15, 0, 0, 0, 0,
		1, 0, 0, 4, 1, 0,
		MPA_KIND_LOST - 1, 0, 0, 0, 0, 0 };
	uint8_t in[FA_HDR + sizeof(prog)] = { 0 };

	memcpy(in + FA_HDR, prog, sizeof(prog));
	fuzz_analyze_one(in, sizeof(in));
	cr_assert_eq(fa_last.rc, 0, "mpa_run: %s", fa_last.err);
	cr_assert_eq(fa_last.kinds, MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) |
				    MPT_KINDBIT(MPA_KIND_LOST),
		     "kinds 0x%x", fa_last.kinds);
	cr_assert_eq(fa_last.rows, 3);
	cr_assert(!fa_last.from && !fa_last.to && !fa_last.pid);

	/* an empty input: an empty capture, analyzed fine */
	fuzz_analyze_one(in, 0);
	cr_assert_eq(fa_last.rc, 0, "mpa_run on an empty capture: %s", fa_last.err);
	cr_assert_eq(fa_last.rows, 0);
	fuzz_analyze_cleanup();
}
