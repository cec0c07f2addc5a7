/* mpa-convert --jobs: cuts an LTTng trace's stream files into pieces at
 * packet boundaries (from the LTTng index), each piece a folder with a
 * symbolic link to `metadata` and one stream file: the original (a link)
 * when the file is not cut and for the first piece of a cut file (read up
 * to its last packet), else a copy of its run of packets that the piece's
 * extract process makes (SHARD_RANGE_FILE), so copies run in parallel.  The sink
 * decodes each piece in its own process (cvt_shards.c).
 *
 * A cut must not change what babeltrace2 reports: it derives discarded
 * events and packets from consecutive packets of a stream, which a piece
 * starting mid-stream does not see.  So a trace whose index shows any
 * discarded event (events_discarded > 0) or packet (a gap in
 * packet_seq_num, or a file whose first packet is not the stream's first)
 * is not cut at all; the extract processes also fall back to one job on any
 * discarded-events message they see. */
#include "convert_shards.h"
#include "cvt_shards_proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_MAGIC 0xC1F1DCC1u
#define MAX_FILES 4096

struct sfile {
	char *name;          /* (owned) */
	uint64_t size;
	uint64_t *off;       /* packet offsets (owned), NULL without a usable index */
	size_t *cut;         /* first packet of each piece, then npk (owned) */
	size_t npk;
	unsigned k;          /* pieces */
};

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads index/<name>.idx: 0 with the packet offsets, 1 when there is no
 * usable index (the file stays whole), 2 when it shows a loss, -1 on
 * a system error. */
static int read_index(const char *dir, struct sfile *f)
{
	char path[2 * PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/index/%s.idx", dir, f->name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return 1;
	uint8_t hdr[16];
	int rc = 1;
	if (fread(hdr, 1, 16, fp) != 16 || be32(hdr) != IDX_MAGIC)
		goto end;
	uint32_t elen = be32(hdr + 12);
	if (elen < 56 || elen > 4096)
		goto end;
	uint8_t e[4096];
	uint64_t expect = 0, prev_seq = 0;
	size_t cap = 0;
	for (size_t i = 0;; i++) {
		size_t got = fread(e, 1, elen, fp);
		if (got == 0)
			break;
		if (got != elen)
			goto end;
		uint64_t off = be64(e), bits = be64(e + 8), discarded = be64(e + 40);
		if (off != expect || bits == 0 || bits % 8)
			goto end;
		if (discarded) {
			rc = 2;
			goto end;
		}
		if (elen >= 72) {
			uint64_t seq = be64(e + 64);
			/* a file not starting a stream (LTTng's tracefile
			 * rotation, overwritten packets) may follow a loss the
			 * reader reports between files: not cut either */
			if (i == 0 ? seq != 0 : seq != prev_seq + 1) {
				rc = 2;
				goto end;
			}
			prev_seq = seq;
		}
		if (f->npk == cap) {
			cap = cap ? cap * 2 : 64;
			uint64_t *n = realloc(f->off, cap * sizeof(*n));
			if (!n) {
				rc = -1;
				goto end;
			}
			f->off = n;
		}
		f->off[f->npk++] = off;
		expect = off + bits / 8;
	}
	if (f->npk && expect == f->size)
		rc = 0;
end:
	fclose(fp);
	if (rc != 0) {
		free(f->off);
		f->off = NULL;
		f->npk = 0;
	}
	return rc;
}

static int rm_cb(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(p);
	return 0;
}

void cvt_plan_free(struct cvt_plan *pl)
{
	if (pl->tmpdir) {
		nftw(pl->tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		free(pl->tmpdir);
	}
	bt_value_put_ref(pl->param);
	memset(pl, 0, sizeof(*pl));
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct sfile *)a)->name, ((const struct sfile *)b)->name);
}

int cvt_plan_make(const char *dir_in, unsigned jobs, struct cvt_plan *pl, char *why, size_t whylen)
{
	struct sfile *files = NULL;
	size_t nf = 0;
	int rc = 1;
	char dir[PATH_MAX], path[PATH_MAX + 512], piece[PATH_MAX + 64];

	memset(pl, 0, sizeof(*pl));
	if (jobs < 2 || !realpath(dir_in, dir)) {
		snprintf(why, whylen, "one job");
		return 1;
	}
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(why, whylen, "cannot list '%s'", dir);
		return 1;
	}
	files = calloc(MAX_FILES, sizeof(*files));
	if (!files) {
		closedir(d);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat sb;
		if (de->d_name[0] == '.' || strcmp(de->d_name, "metadata") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
			continue;
		if (nf == MAX_FILES) {
			snprintf(why, whylen, "more than %d stream files", MAX_FILES);
			goto out;
		}
		files[nf].name = strdup(de->d_name);
		files[nf].size = (uint64_t)sb.st_size;
		if (!files[nf++].name) {
			rc = -1;
			snprintf(why, whylen, "out of memory");
			goto out;
		}
	}
	closedir(d);
	d = NULL;
	qsort(files, nf, sizeof(*files), cmp_name);
	uint64_t total = 0;
	for (size_t i = 0; i < nf; i++) {
		int r = read_index(dir, &files[i]);
		if (r == 2) {
			snprintf(why, whylen, "the index of '%s' shows discarded events or packets",
				 files[i].name);
			goto out;
		}
		if (r < 0) {
			rc = -1;
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		total += files[i].size;
	}
	if (nf == 0) {
		snprintf(why, whylen, "no stream file");
		goto out;
	}
	uint64_t target = total / jobs + 1;
	for (size_t i = 0; i < nf; i++) {
		struct sfile *f = &files[i];
		uint64_t k = (f->size + target - 1) / target;
		if (k < 1 || !f->off)
			k = 1;
		if (k > f->npk)
			k = f->npk ? f->npk : 1;
		f->k = (unsigned)k;
		pl->pieces += f->k;
	}
	if (pl->pieces < 2) {
		snprintf(why, whylen, "a single piece");
		goto out;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/mpa-shards.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(path) || !(pl->tmpdir = strdup(path))) {
		rc = -1;
		snprintf(why, whylen, "cannot create a folder for the pieces ('%s'): %s", path,
			 strerror(errno));
		goto out;
	}
	pl->param = bt_value_array_create();
	if (!pl->param)
		goto nomem;
	for (size_t i = 0; i < nf; i++) {
		struct sfile *f = &files[i];
		bt_value *arr = NULL;
		if (bt_value_array_append_empty_array_element(pl->param, &arr))
			goto nomem;
		pl->streams++;
		/* piece j: packets [cut[j], cut[j + 1]), cut at the packets
		 * starting nearest below j/k of the file (at least one packet
		 * each: k is at most the number of packets) */
		size_t *cut = malloc((f->k + 1) * sizeof(*cut));
		if (!cut)
			goto nomem;
		cut[0] = 0;
		cut[f->k] = f->npk;
		for (unsigned j = 1; j < f->k; j++) {
			uint64_t want = f->size / f->k * j;
			size_t c = cut[j - 1] + 1;
			for (size_t p = c; p < f->npk && f->off[p] <= want; p++)
				c = p;
			/* leave a packet for each piece after this one */
			if (c > f->npk - (f->k - j))
				c = f->npk - (f->k - j);
			cut[j] = c;
		}
		f->cut = cut;
		for (unsigned j = 0; j < f->k; j++) {
			snprintf(piece, sizeof piece, "%s/s%04zu-p%02u", pl->tmpdir, i, j);
			char meta[PATH_MAX + 16], src[PATH_MAX + 512], dst[PATH_MAX + 600];
			snprintf(meta, sizeof meta, "%s/metadata", dir);
			snprintf(src, sizeof src, "%s/%s", dir, f->name);
			snprintf(path, sizeof path, "%s/metadata", piece);
			snprintf(dst, sizeof dst, "%s/%s", piece, f->name);
			if (mkdir(piece, 0700) != 0 || symlink(meta, path) != 0)
				goto syserr;
			if (f->k == 1) {
				if (symlink(src, dst) != 0)
					goto syserr;
			} else {
				size_t b = f->cut[j + 1];
				uint64_t from = f->off[f->cut[j]];
				uint64_t to = b < f->npk ? f->off[b] : f->size;
				if (j == 0) {
					/* the start of the file, read in place: the
					 * extract process stops after b packets */
					char cnt[PATH_MAX + 128];
					snprintf(cnt, sizeof cnt, "%s/" SHARD_PACKETS_FILE, piece);
					FILE *fp = fopen(cnt, "w");
					if (!fp)
						goto syserr;
					fprintf(fp, "%zu\n", b);
					if (fclose(fp) != 0 || symlink(src, dst) != 0)
						goto syserr;
				} else {
					/* copied by its extract process (the
					 * copies run in parallel): the original
					 * as .mpa-src, the range in .mpa-range */
					char lnk[PATH_MAX + 128], rng[PATH_MAX + 128];
					snprintf(lnk, sizeof lnk, "%s/" SHARD_SRC_FILE, piece);
					snprintf(rng, sizeof rng, "%s/" SHARD_RANGE_FILE, piece);
					if (symlink(src, lnk) != 0)
						goto syserr;
					FILE *fp = fopen(rng, "w");
					if (!fp)
						goto syserr;
					fprintf(fp, "%s %llu %llu\n", f->name, (unsigned long long)from,
						(unsigned long long)(to - from));
					if (fclose(fp) != 0)
						goto syserr;
					pl->copied += to - from;
				}
			}
			if (bt_value_array_append_string_element(arr, piece))
				goto nomem;
		}
	}
	rc = 0;
	goto out;
syserr:
	rc = -1;
	snprintf(why, whylen, "cannot write the pieces under '%s': %s", pl->tmpdir, strerror(errno));
	goto out;
nomem:
	rc = -1;
	snprintf(why, whylen, "out of memory");
out:
	if (d)
		closedir(d);
	for (size_t i = 0; i < nf; i++) {
		free(files[i].name);
		free(files[i].off);
		free(files[i].cut);
	}
	free(files);
	if (rc != 0)
		cvt_plan_free(pl);
	return rc;
}
