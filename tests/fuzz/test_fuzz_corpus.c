/* The fuzz target as a regression test: every file of the committed corpus
 * (tests/fuzz/corpus/) and of the generated seeds ($MPA_BUILD/fuzz/seeds/)
 * goes through the same entry function as under libFuzzer, then a fixed set
 * of mutations of each seed (truncations, bit flips, overwritten words).
 * Under the ASan+UBSan pass of `make check` this catches reader regressions
 * without a fuzzing run. */
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
#include "fuzz_reader.c"

static uint8_t *load(const char *path, size_t *len)
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

/* Calls fn on every regular file of dir (not on subfolders); returns how many. */
static int each_file(const char *dir, void (*fn)(const char *path))
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct stat st;
		int len;

		if (de->d_name[0] == '.')
			continue;
		len = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		cr_assert(len > 0 && (size_t)len < sizeof(path), "path too long: %s", de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue; /* corpus/analyze/ is the analyzers' target's */
		fn(path);
		n++;
	}
	closedir(d);
	return n;
}

static void replay(const char *path)
{
	size_t len;
	uint8_t *buf = load(path, &len);

	fuzz_reader_one(buf, len);
	free(buf);
}

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)((rng >> 11) % n) : 0;
}

static void mutate(const char *path)
{
	size_t len;
	uint8_t *orig = load(path, &len);
	uint8_t *buf = malloc(len + 1);

	cr_assert_not_null(buf);
	rng = 0x2545f4914f6cdd1du ^ len;
	/* every truncation of the last 64 bytes and a spread of the rest */
	for (size_t cut = 0; cut < len; cut += (len - cut > 64 ? 1 + len / 97 : 1)) {
		memcpy(buf, orig, cut);
		fuzz_reader_one(buf, cut);
	}
	for (int i = 0; len && i < 300; i++) {
		memcpy(buf, orig, len);
		size_t at = rnd((uint32_t)len);

		switch (i % 3) {
		case 0: /* one bit */
			buf[at] ^= (uint8_t)(1u << rnd(8));
			break;
		case 1: /* a lying length/count/offset: an extreme 32-bit word */
			for (int k = 0; k < 4 && at + (size_t)k < len; k++)
				buf[at + (size_t)k] = (uint8_t)(i & 4 ? 0xff : (k == 3 ? 0x7f : 0xff));
			break;
		default: /* a small count bumped */
			buf[at] = (uint8_t)(buf[at] + 1 + rnd(3));
			break;
		}
		fuzz_reader_one(buf, len);
		fix_checksums(buf, len);
		fuzz_reader_one(buf, len);
	}
	free(buf);
	free(orig);
}

static const char *src_dir(void)
{
	const char *s = getenv("MPA_SRC");

	return s ? s : ".";
}

Test(fuzz_corpus, replay_committed_corpus, .timeout = 300)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus", src_dir());
	each_file(dir, replay);
}

/* The checksum repair follows doc/format.md: on an intact file it changes
 * nothing (so the spec and the writer agree on every checksum). */
static void repair_is_identity(const char *path)
{
	size_t len;
	uint8_t *orig = load(path, &len);
	uint8_t *buf = malloc(len + 1);

	cr_assert_not_null(buf);
	memcpy(buf, orig, len);
	fix_checksums(buf, len);
	cr_assert_eq(memcmp(buf, orig, len), 0, "%s: checksums differ from doc/format.md", path);
	free(buf);
	free(orig);
}

Test(fuzz_corpus, checksums_follow_the_spec)
{
	char dir[PATH_MAX];
	const char *b = getenv("MPA_BUILD");

	cr_assert_not_null(b, "MPA_BUILD is not set (run through make check)");
	snprintf(dir, sizeof(dir), "%s/fuzz/seeds", b);
	cr_assert_geq(each_file(dir, repair_is_identity), 6);
}

Test(fuzz_corpus, replay_and_mutate_generated_seeds, .timeout = 300)
{
	char dir[PATH_MAX];
	const char *b = getenv("MPA_BUILD");
	int n;

	cr_assert_not_null(b, "MPA_BUILD is not set (run through make check)");
	snprintf(dir, sizeof(dir), "%s/fuzz/seeds", b);
	n = each_file(dir, replay);
	cr_assert_geq(n, 6, "expected the generated seeds in %s", dir);
	each_file(dir, mutate);
}
