/* mpa-record: conversion while recording.  The session is rotated each
 * time its current trace chunk holds --rotate-size bytes; every chunk
 * LTTng archives (OUTPUT/archives/<begin>-<end>-<index>) is handed, in
 * index order, to one long-lived `mpa-convert --chunks` on its stdin,
 * which converts it while the program runs and removes it once read.
 * When more than --max-chunks archived chunks wait for the converter, the
 * traced tree is stopped (SIGSTOP) until it catches up: the bound on the
 * trace's disk use.  Also the discarded-events count, read from the
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

/* Sends the archived chunks that are next in order; counts those present. */
static int send_ready(struct mpa_rec_rot *r, unsigned *present)
{
	char dir[PATH_MAX + 16];
	int sent_one;

	snprintf(dir, sizeof dir, "%s/archives", r->tracedir);
	do {
		DIR *d = opendir(dir);
		struct dirent *de;

		sent_one = 0;
		*present = 0;
		while (d && (de = readdir(d)) != NULL) {
			long ix = archive_index(de->d_name);
			char path[PATH_MAX * 2];

			if (ix < 0)
				continue;
			(*present)++;
			if ((unsigned long)ix != r->next_index)
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			/* read before the converter may remove it */
			mpa_rec_count_discarded(path, &r->lost);
			if (r->conv_in >= 0) {
				size_t len = strlen(path);

				path[len] = '\n';
				if (write(r->conv_in, path, len + 1) != (ssize_t)(len + 1)) {
					closedir(d);
					return -1;
				}
			}
			r->next_index++;
			r->sent++;
			sent_one = 1;
		}
		if (d)
			closedir(d);
	} while (sent_one);
	return 0;
}

/* SIGSTOP or SIGCONT to the traced tree: every process of its UTS
 * namespace, or PROG alone without one. */
static void signal_tree(const struct mpa_rec_rot *r, int sig)
{
	struct stat ns;
	DIR *d;
	struct dirent *de;

	if (r->ns_fd < 0 || fstat(r->ns_fd, &ns) != 0 || (d = opendir("/proc")) == NULL) {
		kill(r->prog, sig);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[64];
		struct stat st;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof path, "/proc/%ld/ns/uts", pid);
		if (stat(path, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev)
			kill((pid_t)pid, sig);
	}
	closedir(d);
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

	if (send_ready(r, &present) != 0)
		return -1;
	if (present > r->peak_chunks)
		r->peak_chunks = present;
	if (!prog_running)
		return 0;
	/* wait for the converter: the disk bound */
	if (!r->paused && r->max_waiting && present > r->max_waiting) {
		signal_tree(r, SIGSTOP);
		r->paused = 1;
		r->pauses++;
	} else if (r->paused && present <= r->max_waiting / 2) {
		signal_tree(r, SIGCONT);
		r->paused = 0;
	}
	cur = current_chunk_bytes(r->tracedir);
	if (cur >= r->chunk_bytes && mpa_rec_ctl_rotate(r->session) == 0)
		r->rotations++;
	return 0;
}

void mpa_rec_rot_resume(struct mpa_rec_rot *r)
{
	if (r->paused)
		signal_tree(r, SIGCONT);
	r->paused = 0;
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
