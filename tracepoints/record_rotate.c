/* mpa-record: conversion while recording.  The session is rotated each
 * time its current trace chunk holds --rotate-size bytes; every chunk
 * LTTng archives (OUTPUT/archives/<begin>-<end>-<index>) is handed, in
 * index order, to one long-lived `mpa-convert --chunks` on its stdin,
 * which converts it while the program runs and removes it once read: the
 * trace folder holds the chunks not converted yet.  (Stopping the traced
 * tree while the converter catches up was tried: the session daemon drops
 * an application that does not answer, and its events are lost without a
 * count.)  Also the discarded-events count, read from the
 * packet headers of each chunk (or of the whole trace without rotation).
 * See record.h and doc/recording.md ("Conversion while recording"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record.h"

/* ---- discarded events ------------------------------------------------------------ */

/* LTTng-UST 2.13 stream files are sequences of packets whose header and
 * context have a fixed layout (see the trace's metadata):
 *   0 magic u32 (0xC1FC1FC1), 4 uuid[16], 20 stream_id u32,
 *   24 stream_instance_id u64, 32 timestamp_begin, 40 timestamp_end,
 *   48 content_size (bits), 56 packet_size (bits), 64 packet_seq_num,
 *   72 events_discarded (cumulative for the stream), 80 cpu_id u32.
 * The discarded count of a stream is the last packet's events_discarded;
 * a stream split over chunks keeps counting, so the last chunk that holds
 * it has its total. */
#define CTF_MAGIC 0xC1FC1FC1u
#define PKT_HDR_LEN 88

static struct mpa_rec_lost *lost_acc;
static size_t lost_root_len;

static int metadata_sibling(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	snprintf(slash + 1, sizeof dir - (size_t)(slash + 1 - dir), "metadata");
	return access(dir, R_OK) == 0;
}

static int lost_set(struct mpa_rec_lost *l, const char *rel, uint64_t v)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->rel[i], rel) == 0) {
			l->last[i] = v;
			return 0;
		}
	char **nr = realloc(l->rel, (l->n + 1) * sizeof(*nr));
	uint64_t *nl = nr ? realloc(l->last, (l->n + 1) * sizeof(*nl)) : NULL;

	if (nr)
		l->rel = nr;
	if (!nl)
		return -1;
	l->last = nl;
	l->rel[l->n] = strdup(rel);
	if (!l->rel[l->n])
		return -1;
	l->last[l->n++] = v;
	return 0;
}

static int count_stream(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	unsigned char hdr[PKT_HDR_LEN];
	uint64_t off = 0, last = 0;
	int fd;

	if (flag != FTW_F || strcmp(base, "metadata") == 0 || base[0] == '.' ||
			!metadata_sibling(path))
		return 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	while (off + PKT_HDR_LEN <= (uint64_t)st->st_size) {
		uint32_t magic;
		uint64_t psize;

		if (pread(fd, hdr, sizeof hdr, (off_t)off) != (ssize_t)sizeof hdr)
			break;
		memcpy(&magic, hdr, 4);
		memcpy(&psize, hdr + 56, 8);
		if (magic != CTF_MAGIC || psize % 8 || psize / 8 < PKT_HDR_LEN ||
				psize / 8 > (uint64_t)st->st_size - off) {
			lost_acc->bad++;
			break;
		}
		memcpy(&last, hdr + 72, 8);
		off += psize / 8;
	}
	close(fd);
	if (lost_set(lost_acc, path + lost_root_len, last) != 0)
		lost_acc->bad++;
	return 0;
}

void mpa_rec_count_discarded(const char *dir, struct mpa_rec_lost *acc)
{
	lost_acc = acc;
	lost_root_len = strlen(dir);
	nftw(dir, count_stream, 16, FTW_PHYS);
}

uint64_t mpa_rec_lost_total(const struct mpa_rec_lost *l)
{
	uint64_t t = 0;

	for (size_t i = 0; i < l->n; i++)
		t += l->last[i];
	return t;
}

void mpa_rec_lost_free(struct mpa_rec_lost *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->rel[i]);
	free(l->rel);
	free(l->last);
	memset(l, 0, sizeof(*l));
}

/* ---- the chunks ----------------------------------------------------------------------- */

static unsigned long long du_acc;

static int du_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_D && ftw->level == 1 && strcmp(path + ftw->base, "archives") == 0)
		return FTW_SKIP_SUBTREE;
	if (flag == FTW_F)
		du_acc += (unsigned long long)st->st_blocks * 512;
	return FTW_CONTINUE;
}

static int du_all(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path; (void)ftw;
	if (flag == FTW_F)
		du_acc += (unsigned long long)st->st_blocks * 512;
	return 0;
}

/* Bytes of the chunk being written (the trace folder but its archives). */
static unsigned long long current_chunk_bytes(const char *tracedir)
{
	du_acc = 0;
	nftw(tracedir, du_entry, 16, FTW_PHYS | FTW_ACTIONRETVAL);
	return du_acc;
}

/* The index of an archive folder "<begin>-<end>-<index>", -1 otherwise. */
static long archive_index(const char *name)
{
	const char *dash = strrchr(name, '-');
	char *end;
	long v;

	if (!dash || name[0] == '.')
		return -1;
	errno = 0;
	v = strtol(dash + 1, &end, 10);
	return errno || end == dash + 1 || *end || v < 0 ? -1 : v;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Sends the archived chunks not sent yet, in index order (LTTng completes
 * one rotation before it starts the next, so an archive never appears
 * after a later one); counts those present. */
static int send_ready(struct mpa_rec_rot *r, unsigned *present)
{
	char dir[PATH_MAX + 16];
	long ix[256];
	size_t n = 0;
	DIR *d;
	struct dirent *de;

	snprintf(dir, sizeof dir, "%s/archives", r->tracedir);
	*present = 0;
	d = opendir(dir);
	while (d && (de = readdir(d)) != NULL) {
		long i = archive_index(de->d_name);

		if (i < 0)
			continue;
		(*present)++;
		if ((unsigned long)i >= r->next_index && n < sizeof ix / sizeof ix[0])
			ix[n++] = i;
	}
	if (d)
		closedir(d);
	qsort(ix, n, sizeof ix[0], cmp_long);
	for (size_t k = 0; k < n; k++) {
		char path[PATH_MAX * 2];
		int found = 0;

		if ((unsigned long)ix[k] != r->next_index)
			fprintf(stderr, PROG_NAME ": warning: LTTng archived trace chunk %ld after "
				"chunk %lu, without the ones between\n", ix[k], r->next_index - 1);
		/* its full name again */
		d = opendir(dir);
		while (d && (de = readdir(d)) != NULL)
			if (archive_index(de->d_name) == ix[k]) {
				snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
				found = 1;
				break;
			}
		if (d)
			closedir(d);
		if (!found)
			continue;
		/* read before the converter may remove it */
		mpa_rec_count_discarded(path, &r->lost);
		du_acc = 0;
		nftw(path, du_all, 16, FTW_PHYS);
		r->sent_bytes += du_acc;
		if (r->conv_in >= 0) {
			size_t len = strlen(path);

			path[len] = '\n';
			if (write(r->conv_in, path, len + 1) != (ssize_t)(len + 1))
				return -1;
		}
		r->next_index = (unsigned long)ix[k] + 1;
		r->sent++;
	}
	return 0;
}

int mpa_rec_rot_start(struct mpa_rec_rot *r, char *const argv[])
{
	const char *tmp = getenv("TMPDIR");
	pid_t self = getpid();
	int p[2], fd;

	r->conv = -1;
	r->conv_in = -1;
	snprintf(r->errfile, sizeof r->errfile, "%s/mpa-convert-err-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(r->errfile);
	if (fd < 0) {
		r->errfile[0] = 0;
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		close(fd);
		return -1;
	}
	r->conv = fork();
	if (r->conv < 0) {
		close(p[0]);
		close(p[1]);
		close(fd);
		return -1;
	}
	if (r->conv == 0) {
		/* SIGTERM: the converter removes its temporary capture */
		mpa_rec_child_setup(SIGTERM, self);
		dup2(p[0], 0);
		dup2(fd, 1);
		dup2(fd, 2);
		/* not hit by the terminal's ^C: it ends with its input */
		setpgid(0, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	close(fd);
	r->conv_in = p[1];
	return 0;
}

int mpa_rec_rot_poll(struct mpa_rec_rot *r, int prog_running)
{
	unsigned present = 0;
	unsigned long long cur;

	/* the end of a recording never rotated while it ran: the converter
	 * gets its one chunk now */
	if (!prog_running && r->argv && r->conv < 0 && mpa_rec_rot_start(r, r->argv) != 0)
		return -1;
	if (send_ready(r, &present) != 0)
		return -1;
	if (present > r->peak_chunks)
		r->peak_chunks = present;
	if (!prog_running)
		return 0;
	cur = current_chunk_bytes(r->tracedir);
	if (cur < (r->rotations ? r->chunk_bytes : r->first_bytes))
		return 0;
	/* the converter starts with the first chunk: a recording that never
	 * rotates is converted after the end, as without rotation */
	if (r->argv && r->conv < 0 && mpa_rec_rot_start(r, r->argv) != 0)
		return -1;
	if (mpa_rec_ctl_rotate(r->session) == 0)
		r->rotations++;
	return 0;
}

/* Copies the converter's last non-empty output line into err. */
static void last_line(const char *path, char *err, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	err[0] = 0;
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0])
			snprintf(err, len, "%s", line);
	}
	if (f)
		fclose(f);
}

int mpa_rec_rot_finish(struct mpa_rec_rot *r, int abort, char *err, size_t errlen)
{
	unsigned present;
	int st = 0, rc;

	err[0] = 0;
	if (!abort)
		rc = send_ready(r, &present);
	else
		rc = -1;
	if (r->conv_in >= 0)
		close(r->conv_in); /* end of input: the last window */
	r->conv_in = -1;
	if (r->conv > 0) {
		if (abort)
			kill(r->conv, SIGTERM);
		while (waitpid(r->conv, &st, 0) < 0 && errno == EINTR)
			;
		r->conv = -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = -1;
	} else {
		rc = -1;
	}
	if (r->errfile[0]) {
		if (rc != 0 && !abort)
			last_line(r->errfile, err, errlen);
		unlink(r->errfile);
		r->errfile[0] = 0;
	}
	return rc;
}
