/* The leak analyzer on captures built with the libmpt writer: exact numbers
 * for every class, process lifecycle, realloc chains, anomalies,
 * suppressions, resources and growth (fragmentation: test_frag.c). */
#include "analyze_test_util.h"

/* The group of leak.json's "sites" (or "resources") with this class and a
 * site starting with func (and image when not NULL); NULL if none. */
static json_t *find_group(json_t *leak, const char *arr, const char *cls, const char *func,
			  const char *image)
{
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(leak, arr), i, g) {
		const char *c = json_string_value(json_object_get(g, "class"));
		const char *s = json_string_value(json_object_get(g, "site"));
		const char *im = json_string_value(json_object_get(g, "image"));
		if (strcmp(c, cls) || strncmp(s, func, strlen(func)))
			continue;
		if (image && strcmp(im, image))
			continue;
		return g;
	}
	return NULL;
}

static long long gi(json_t *g, const char *k)
{
	cr_assert(g);
	json_t *v = json_object_get(g, k);
	cr_assert(json_is_integer(v), "no %s", k);
	return (long long)json_integer_value(v);
}

struct run {
	struct au_cap cap;
	char out[400];
	json_t *summary;
	json_t *leak;
};

static void run_leak(struct run *r, const char *config)
{
	char err[1024];
	snprintf(r->out, sizeof r->out, "%s/report", r->cap.dir);
	int rc = au_lib_run(r->cap.path, r->out, "leak", config, &r->summary, err, sizeof err);
	cr_assert_eq(rc, 0, "run failed: %s", err);
	r->leak = au_json(r->out, "leak.json");
}

static void run_done(struct run *r)
{
	json_decref(r->summary);
	json_decref(r->leak);
	au_rmrf(r->cap.dir);
}

Test(leak, definite_vs_live_at_end)
{
	struct run r;
	au_open(&r.cap);
	uint32_t f1 = au_site(&r.cap, "make_a", 10), f2 = au_site(&r.cap, "make_b", 20);
	uint32_t f3 = au_site(&r.cap, "make_c", 30);
	au_alloc(&r.cap, 1000, 100, 0x1000, 100, f1);
	au_alloc(&r.cap, 1100, 100, 0x2000, 200, f2);
	au_alloc(&r.cap, 1200, 100, 0x3000, 50, f1);
	au_alloc(&r.cap, 1250, 200, 0x1000, 1000, f3); /* same address, other process */
	au_free(&r.cap, 1300, 100, 0x2000);
	au_exit(&r.cap, 5000, 100);
	au_alloc(&r.cap, 6000, 200, 0x9000, 8, f3);
	au_free(&r.cap, 6100, 200, 0x9000);
	au_close(&r.cap);
	run_leak(&r, NULL);

	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), 150);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "sites"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "live_at_end", "bytes"), 1000);
	cr_assert_eq(au_get(r.summary, "leak", "live_at_end", "blocks"), 1);
	json_t *g = find_group(r.leak, "sites", "not_freed_at_exit", "make_a (prog.c:10)", NULL);
	cr_assert(g, "no definite group for make_a");
	cr_assert_eq(gi(g, "blocks"), 2);
	cr_assert_eq(gi(g, "bytes"), 150);
	cr_assert_eq(gi(g, "first_alloc_ns"), 0);   /* times count from the first event */
	cr_assert_eq(gi(g, "last_alloc_ns"), 200);
	cr_assert_eq(gi(g, "max_age_ns"), 4000);    /* exit at 5000, oldest alloc at 1000 */
	cr_assert_eq(gi(g, "processes"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(g, "state")), "exit");
	g = find_group(r.leak, "sites", "live_at_end", "make_c", NULL);
	cr_assert(g);
	cr_assert_eq(gi(g, "bytes"), 1000);
	cr_assert_str_eq(json_string_value(json_object_get(g, "state")), "capture_end");
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "unknown_free"), 0);
	cr_assert_eq(au_get(r.summary, "leak", "processes", "seen"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "processes", "exited"), 1);
	/* the CSV has the same rows */
	char path[600];
	snprintf(path, sizeof path, "%s/leak_sites.csv", r.out);
	char *csv = au_slurp(path, NULL);
	cr_assert(csv);
	cr_assert(strstr(csv, "\"class\",\"state\",\"image\",\"site\""), "%s", csv);
	cr_assert(strstr(csv, "\"not_freed_at_exit\",\"exit\",\"\",\"make_a (prog.c:10)\","), "%s", csv);
	free(csv);
	run_done(&r);
}

Test(leak, exec_ends_old_image_and_pid_reuse)
{
	struct run r;
	au_open(&r.cap);
	uint32_t f1 = au_site(&r.cap, "old_work", 11), f2 = au_site(&r.cap, "new_work", 22);
	au_exec(&r.cap, 100, 300, "/bin/old");
	au_alloc(&r.cap, 200, 300, 0x5000, 64, f1);
	au_alloc(&r.cap, 210, 300, 0x6000, 16, f1);
	au_free(&r.cap, 220, 300, 0x6000);
	au_exec(&r.cap, 300, 300, "/bin/new");
	au_alloc(&r.cap, 400, 300, 0x7000, 32, f2);
	au_free(&r.cap, 410, 300, 0x5000); /* the old image's block: unknown here */
	au_exit(&r.cap, 500, 300);
	/* pid 300 reused by a new process (more than 1 s later): its block at
	 * 0x7000 is its own */
	au_alloc(&r.cap, 2 * AU_SEC, 300, 0x7000, 8, f2);
	au_free(&r.cap, 2 * AU_SEC + 10, 300, 0x7000);
	au_exit(&r.cap, 2 * AU_SEC + 20, 300);
	au_close(&r.cap);
	run_leak(&r, NULL);

	/* exec released the old image's block: never a leak */
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), 32);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "released_by_exec", "bytes"), 64);
	cr_assert_eq(au_get(r.summary, "leak", "released_by_exec", "blocks"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "released_by_exec", "sites"), 1);
	cr_assert_null(find_group(r.leak, "sites", "not_freed_at_exit", "old_work", NULL));
	json_t *g = find_group(r.leak, "released_by_exec", "released_by_exec", "old_work", "/bin/old");
	cr_assert(g, "the old image's block must be reported as the old image's");
	cr_assert_eq(gi(g, "bytes"), 64);
	cr_assert_str_eq(json_string_value(json_object_get(g, "state")), "exec");
	cr_assert_eq(gi(g, "max_age_ns"), 100);
	g = find_group(r.leak, "sites", "not_freed_at_exit", "new_work", "/bin/new");
	cr_assert(g);
	cr_assert_eq(gi(g, "bytes"), 32);
	cr_assert_null(find_group(r.leak, "sites", "not_freed_at_exit", "old_work", "/bin/new"));
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "unknown_free"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "double_free"), 0);
	cr_assert_eq(au_get(r.summary, "leak", "processes", "exec"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "processes", "exited"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "processes", "seen"), 3);
	run_done(&r);
}

/* `bash -c "exec prog"` and a shell that forks a child which execs: the
 * blocks live at each exec (the shell's own, and the child's inherited
 * copies) are released by exec, never leaks; the exec'd images start empty
 * and only their own unfreed blocks are definite. The gate ignores the
 * released blocks. */
Test(leak, exec_releases_the_heap)
{
	struct run r;
	au_open(&r.cap);
	uint32_t sx = au_site(&r.cap, "xmalloc_user", 7), sp = au_site(&r.cap, "prog_leak", 9);
	au_exec(&r.cap, 100, 400, "/bin/bash");
	for (int k = 0; k < 10; k++)
		au_alloc(&r.cap, 110 + (uint64_t)k, 400, 0x10000 + 0x100 * (uint64_t)k, 24, sx);
	struct mpa_event e = {0};
	e.kind = MPA_KIND_MAP, e.ts = 130, e.pid = 400, e.tid = 400, e.ptr = 0x7f0000,
	e.size = 8192, e.api = MPA_API_MMAP;
	au_ev(&r.cap, &e);
	/* fork: the child inherits the ten blocks and the mapping, then execs */
	memset(&e, 0, sizeof e);
	e.kind = MPA_KIND_PROC_FORK, e.ts = 140, e.pid = 401, e.tid = 401, e.ppid = 400;
	au_ev(&r.cap, &e);
	au_exec(&r.cap, 150, 401, "/usr/bin/gzip");
	au_alloc(&r.cap, 160, 401, 0x10000, 5, sp); /* the new image: empty, own block */
	au_exit(&r.cap, 170, 401);
	/* the shell itself execs its last command */
	au_exec(&r.cap, 200, 400, "/usr/bin/gzip");
	au_alloc(&r.cap, 210, 400, 0x10100, 3, sp);
	au_free(&r.cap, 220, 400, 0x10000); /* the old image's block: unknown in the new one */
	au_exit(&r.cap, 300, 400);
	au_close(&r.cap);
	run_leak(&r, NULL);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), 8);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "released_by_exec", "blocks"), 20);
	cr_assert_eq(au_get(r.summary, "leak", "released_by_exec", "bytes"), 480);
	cr_assert_eq(au_get(r.summary, "leak", "released_by_exec", "maps"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "released_by_exec", "map_bytes"), 16384);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(
			     json_object_get(json_object_get(r.summary, "analyzers"), "leak"),
			     "resource"), "maps"), "count")), 0);
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "unknown_free"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "processes", "exec"), 2);
	json_t *g = find_group(r.leak, "released_by_exec", "released_by_exec", "xmalloc_user",
			       "/bin/bash");
	cr_assert(g);
	cr_assert_eq(gi(g, "blocks"), 20);
	cr_assert_eq(gi(g, "processes"), 2);
	cr_assert_null(find_group(r.leak, "sites", "not_freed_at_exit", "xmalloc_user", NULL));
	/* no released block in the largest unfreed blocks either */
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(r.leak, "top_blocks"), i, b)
		cr_assert_str_eq(json_string_value(json_object_get(b, "class")), "not_freed_at_exit");
	run_done(&r);

	/* the gate: the released bytes never trip it */
	au_open(&r.cap);
	sx = au_site(&r.cap, "xmalloc_user", 7);
	au_exec(&r.cap, 100, 400, "/bin/bash");
	au_alloc(&r.cap, 110, 400, 0x10000, 600, sx);
	au_exec(&r.cap, 200, 400, "/usr/bin/true");
	au_exit(&r.cap, 300, 400);
	au_close(&r.cap);
	char out[400];
	snprintf(out, sizeof out, "%s/r", r.cap.dir);
	struct au_proc p;
	au_cli(&p, NULL, NULL,
	       (const char *[]){r.cap.path, "--leak", "-o", out, "--fail-on-leak", "0", NULL});
	cr_assert_eq(p.status, 0, "stderr: %s", p.err);
	cr_assert(strstr(p.out, "600 bytes in 1 blocks released by exec (not leaks)"), "%s", p.out);
	au_rmrf(r.cap.dir);
}

/* Sites that name the real caller: a perl-like capture whose stacks are
 * one frame deep in a wrapper of the program ("arena_get", two callers
 * merged into one site) warns in summary.json (scan.stacks, an alert) and
 * on the terminal; [sites] alloc_fns names the wrapper, and deep stacks
 * then give the two real callers apart. */
Test(leak, shallow_stacks_warn_and_alloc_fns_name_the_caller)
{
	struct run r;
	au_open(&r.cap);
	uint32_t hook = au_frame(&r.cap, "malloc", "/usr/lib/libmpa-preload.so", NULL, 0);
	uint32_t w = au_frame(&r.cap, "arena_get", "/usr/bin/prog", NULL, 0);
	uint32_t c1 = au_frame(&r.cap, "load_a", "/usr/bin/prog", "a.c", 1);
	uint32_t c2 = au_frame(&r.cap, "load_b", "/usr/bin/prog", "b.c", 2);
	uint32_t sh[5];
	for (int k = 0; k < 5; k++) /* distinct shallow stacks (their ips differ) */
		sh[k] = au_stack(&r.cap, 2, hook, au_frame(&r.cap, "arena_get", "/usr/bin/prog",
							     NULL, 0));
	uint32_t d1 = au_stack(&r.cap, 3, hook, w, c1), d2 = au_stack(&r.cap, 3, hook, w, c2);
	for (int k = 0; k < 5; k++)
		au_alloc(&r.cap, 10 + (uint64_t)k, 7, 0x1000 + 0x100 * (uint64_t)k, 10, sh[k]);
	au_alloc(&r.cap, 20, 7, 0x9000, 100, d1);
	au_alloc(&r.cap, 21, 7, 0x9100, 200, d2);
	au_exit(&r.cap, 30, 7);
	au_close(&r.cap);
	run_leak(&r, "[sites]\nalloc_fns = \"arena_get\"\n");
	json_t *st = json_object_get(json_object_get(r.summary, "scan"), "stacks");
	cr_assert_eq(json_integer_value(json_object_get(st, "stacks")), 7);
	cr_assert_eq(json_integer_value(json_object_get(st, "one_frame")), 5);
	const char *wmsg = json_string_value(json_object_get(st, "warning"));
	cr_assert(wmsg && strstr(wmsg, "5 of 7 call stacks"), "%s", wmsg ? wmsg : "(null)");
	int seen = 0;
	size_t i;
	json_t *al;
	json_array_foreach(json_object_get(r.summary, "alerts"), i, al)
		if (!strcmp(json_string_value(json_object_get(al, "name")), "shallow_stacks")) {
			seen = 1;
			cr_assert(strstr(json_string_value(json_object_get(al, "advice")),
					 "--unwind libunwind"));
		}
	cr_assert(seen, "a shallow_stacks alert");
	json_t *g = find_group(r.leak, "sites", "not_freed_at_exit", "load_a (a.c:1)", NULL);
	cr_assert(g, "the wrapper's caller names the site");
	cr_assert_eq(gi(g, "bytes"), 100);
	cr_assert(find_group(r.leak, "sites", "not_freed_at_exit", "load_b (b.c:2)", NULL));
	/* the one-frame stacks have no caller to show: the wrapper stays */
	g = find_group(r.leak, "sites", "not_freed_at_exit", "arena_get (prog)", NULL);
	cr_assert(g);
	run_done(&r);

	/* deep stacks only: no warning */
	au_open(&r.cap);
	uint32_t f = au_site(&r.cap, "deep_one", 3);
	for (int k = 0; k < 6; k++)
		au_stack(&r.cap, 3, hook = au_frame(&r.cap, "malloc", "/usr/lib/libmpa-preload.so",
						    NULL, 0),
			 au_frame(&r.cap, "f", "/usr/bin/prog", NULL, 0),
			 au_frame(&r.cap, "main", "/usr/bin/prog", NULL, 0));
	au_alloc(&r.cap, 10, 7, 0x1000, 10, f);
	au_exit(&r.cap, 30, 7);
	au_close(&r.cap);
	run_leak(&r, NULL);
	st = json_object_get(json_object_get(r.summary, "scan"), "stacks");
	cr_assert(json_is_null(json_object_get(st, "warning")));
	cr_assert_eq(json_integer_value(json_object_get(st, "one_frame")), 0);
	run_done(&r);
}

static void scan_row(struct au_cap *c, uint64_t ts, int32_t pid, uint64_t ptr, int32_t status)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_LEAK_SCAN;
	e.ts = ts;
	e.pid = pid;
	e.tid = pid;
	e.ptr = ptr;
	e.status = status;
	au_ev(c, &e);
}

/* valgrind's kinds from the exit-time reachability scan (leak_scan rows):
 * per kind bytes, blocks and sites; a block without a status (allocated
 * after the scan) and a process without a scan are "not freed at exit";
 * the gate counts the chosen kinds plus what no scan classified. */
Test(leak, kinds_from_the_exit_scan)
{
	struct run r;
	au_open(&r.cap);
	uint32_t sa = au_site(&r.cap, "lose_a", 1), sb = au_site(&r.cap, "lose_b", 2);
	uint32_t sc = au_site(&r.cap, "inner_c", 3), sd = au_site(&r.cap, "keep_d", 4);
	uint32_t se = au_site(&r.cap, "late_e", 5), sf = au_site(&r.cap, "other_f", 6);
	au_alloc(&r.cap, 10, 7, 0x1000, 100, sa);
	au_alloc(&r.cap, 11, 7, 0x2000, 32, sb);
	au_alloc(&r.cap, 12, 7, 0x3000, 64, sc);
	au_alloc(&r.cap, 13, 7, 0x4000, 50, sd);
	au_alloc(&r.cap, 14, 7, 0x5000, 7, sd);
	au_free(&r.cap, 15, 7, 0x5000);
	au_alloc(&r.cap, 16, 8, 0x1000, 20, sf); /* pid 8: no scan */
	scan_row(&r.cap, 20, 7, 0x1000, MPA_REACH_DEFINITE);
	scan_row(&r.cap, 20, 7, 0x2000, MPA_REACH_INDIRECT);
	scan_row(&r.cap, 20, 7, 0x3000, MPA_REACH_POSSIBLE);
	scan_row(&r.cap, 20, 7, 0x4000, MPA_REACH_REACHABLE);
	scan_row(&r.cap, 20, 7, 0x9000, MPA_REACH_DEFINITE); /* no such block: ignored */
	scan_row(&r.cap, 20, 7, 0x4000, 9);                  /* hostile kind: ignored */
	scan_row(&r.cap, 21, 7, 0, 1);                       /* complete; 1 thread running */
	au_alloc(&r.cap, 22, 7, 0x6000, 10, se);             /* after the scan */
	au_exit(&r.cap, 30, 7);
	au_exit(&r.cap, 31, 8);
	au_close(&r.cap);
	run_leak(&r, NULL);
	cr_assert_eq(au_get(r.summary, "leak", "definitely_lost", "bytes"), 100);
	cr_assert_eq(au_get(r.summary, "leak", "definitely_lost", "blocks"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "definitely_lost", "sites"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "indirectly_lost", "bytes"), 32);
	cr_assert_eq(au_get(r.summary, "leak", "possibly_lost", "bytes"), 64);
	cr_assert_eq(au_get(r.summary, "leak", "still_reachable", "bytes"), 50);
	cr_assert_eq(au_get(r.summary, "leak", "still_reachable", "blocks"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), 30);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "in_use_at_exit", "bytes"), 276);
	cr_assert_eq(au_get(r.summary, "leak", "in_use_at_exit", "blocks"), 6);
	cr_assert_eq(au_get(r.summary, "leak", "leak_kinds", "processes_scanned"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "leak_kinds", "processes_not_scanned"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "leak_kinds", "scan_threads_running"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "leak_kinds", "gate_bytes"), 100 + 64 + 30);
	json_t *g = find_group(r.leak, "sites", "definitely_lost", "lose_a", NULL);
	cr_assert(g);
	cr_assert_eq(gi(g, "bytes"), 100);
	cr_assert(find_group(r.leak, "sites", "indirectly_lost", "lose_b", NULL));
	cr_assert(find_group(r.leak, "sites", "possibly_lost", "inner_c", NULL));
	cr_assert(find_group(r.leak, "sites", "still_reachable", "keep_d", NULL));
	cr_assert(find_group(r.leak, "sites", "not_freed_at_exit", "late_e", NULL));
	cr_assert(find_group(r.leak, "sites", "not_freed_at_exit", "other_f", NULL));
	/* the worst kinds first */
	json_t *first = json_array_get(json_object_get(r.leak, "sites"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(first, "class")), "definitely_lost");

	/* the gate: definite,possible by default; one line naming the kinds */
	char out[400];
	snprintf(out, sizeof out, "%s/r", r.cap.dir);
	struct au_proc p;
	au_cli(&p, NULL, NULL,
	       (const char *[]){r.cap.path, "--leak", "-q", "-o", out, "--fail-on-leak", "193", NULL});
	cr_assert_eq(p.status, 3, "%s", p.err);
	cr_assert_str_eq(p.err, "mpa-analyze: leak gate: 194 bytes in 4 blocks definitely or possibly "
				"lost or not freed at exit without a scan (30 bytes) (limit 193)\n");
	au_cli(&p, NULL, NULL,
	       (const char *[]){r.cap.path, "--leak", "-q", "-o", out, "--fail-on-leak", "194", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	au_cli(&p, NULL, NULL,
	       (const char *[]){r.cap.path, "--leak", "-q", "-o", out, "--fail-on-leak", "130",
				"--leak-kinds", "definite", NULL});
	cr_assert_eq(p.status, 0, "definite alone: 100 + 30 bytes: %s", p.err);
	au_cli(&p, NULL, NULL,
	       (const char *[]){r.cap.path, "--leak", "-q", "-o", out, "--fail-on-leak", "0",
				"--leak-kinds=all", NULL});
	cr_assert_eq(p.status, 3);
	cr_assert(strstr(p.err, "276 bytes in 6 blocks definitely, indirectly or possibly lost, "
				"or still reachable or not freed"), "%s", p.err);
	au_cli(&p, NULL, NULL,
	       (const char *[]){r.cap.path, "--leak", "-q", "-o", out, "--leak-kinds", "leaky", NULL});
	cr_assert_eq(p.status, 1);
	cr_assert(strstr(p.err, "[leak] leak_kinds must list"), "%s", p.err);
	run_done(&r);
}

Test(leak, realloc_chains)
{
	struct run r;
	au_open(&r.cap);
	uint32_t fa = au_site(&r.cap, "grow_buf", 5), fr = au_site(&r.cap, "regrow", 6);
	au_alloc(&r.cap, 10, 7, 0x100, 10, fa);
	au_realloc(&r.cap, 20, 7, 0x100, 0x200, 20, fr);   /* moves */
	au_realloc(&r.cap, 30, 7, 0x200, 0x200, 30, fr);   /* in place */
	au_realloc(&r.cap, 40, 7, 0x200, 0x300, 40, fr);   /* moves again */
	au_realloc(&r.cap, 50, 7, 0, 0x400, 7, fa);        /* realloc(NULL) = malloc */
	au_realloc(&r.cap, 60, 7, 0x400, 0, 0, fa);        /* realloc(p, 0) = free */
	au_realloc(&r.cap, 70, 7, 0x999, 0x500, 5, fr);    /* unknown old pointer */
	au_realloc(&r.cap, 80, 7, 0x100, 0x600, 6, fr);    /* 0x100 was moved away: freed */
	au_free(&r.cap, 90, 7, 0x500);
	au_free(&r.cap, 91, 7, 0x600);
	au_exit(&r.cap, 100, 7);
	au_close(&r.cap);
	run_leak(&r, NULL);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), 40);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 1);
	json_t *g = find_group(r.leak, "sites", "not_freed_at_exit", "regrow (prog.c:6)", NULL);
	cr_assert(g, "the block belongs to the last realloc's site");
	cr_assert_eq(gi(g, "last_alloc_ns"), 30); /* ts 40 - first event 10 */
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "unknown_realloc"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "realloc_of_freed"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "events", "realloc"), 7);
	run_done(&r);
}

Test(leak, double_and_unknown_frees_with_examples)
{
	struct run r;
	au_open(&r.cap);
	uint32_t f = au_site(&r.cap, "work", 1);
	au_alloc(&r.cap, 10, 9, 0xa0, 4, f);
	au_free(&r.cap, 20, 9, 0xa0);
	au_free(&r.cap, 30, 9, 0xa0);
	au_free(&r.cap, 40, 9, 0xa0);
	for (int i = 0; i < 15; i++)
		au_free(&r.cap, 50 + (uint64_t)i, 9, 0xdead0 + (uint64_t)i * 16);
	au_free(&r.cap, 70, 9, 0); /* free(NULL) is fine */
	au_alloc(&r.cap, 80, 9, 0xb0, 4, f);
	au_alloc(&r.cap, 90, 9, 0xb0, 8, f); /* the free between was never seen */
	au_exit(&r.cap, 100, 9);
	au_close(&r.cap);
	run_leak(&r, "[leak]\nmax_examples = 3\n");
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "double_free"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "unknown_free"), 15);
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "alloc_of_live_pointer"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "events", "free_null"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), 8);
	json_t *an = json_object_get(r.leak, "anomalies");
	json_t *uf = json_object_get(an, "unknown_free");
	cr_assert_eq(json_integer_value(json_object_get(uf, "count")), 15);
	json_t *ex = json_object_get(uf, "examples");
	cr_assert_eq(json_array_size(ex), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ex, 0), "ptr")), "0xdead0");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(ex, 2), "ts_ns")), 42);
	run_done(&r);
}

/* The stacks real glibc/LTTng runtimes leave behind. */
static void runtime_blocks(struct au_cap *c, uint32_t user)
{
	uint32_t cal = au_frame(c, "calloc", "/usr/lib/libmpa-preload.so", NULL, 0);
	uint32_t dtv = au_frame(c, "allocate_dtv", "/lib64/ld-linux-x86-64.so.2", NULL, 0);
	uint32_t tls = au_frame(c, "_dl_allocate_tls", "/lib64/ld-linux-x86-64.so.2", NULL, 0);
	uint32_t pc = au_frame(c, "pthread_create@@GLIBC_2.34", "/lib/x86_64-linux-gnu/libc.so.6",
			       NULL, 0);
	uint32_t mn = au_frame(c, "main", "/usr/bin/prog", "prog.c", 3);
	uint32_t s_dtv = au_stack(c, 5, cal, dtv, tls, pc, mn);
	uint32_t ust = au_frame(c, "", "/usr/lib/x86_64-linux-gnu/liblttng-ust-tracepoint.so.1", NULL, 0);
	uint32_t init = au_frame(c, "_dl_init", "/lib64/ld-linux-x86-64.so.2", NULL, 0);
	uint32_t s_ust = au_stack(c, 3, cal, ust, init);
	uint32_t dlm = au_frame(c, "_dl_new_object", "/lib64/ld-linux-x86-64.so.2", NULL, 0);
	uint32_t s_ld = au_stack(c, 2, cal, dlm);
	/* a user constructor run by _dl_init: NOT suppressed (site is user code) */
	uint32_t ctor = au_frame(c, "my_ctor", "/usr/bin/prog", "prog.c", 77);
	uint32_t s_ctor = au_stack(c, 3, cal, ctor, init);
	au_alloc(c, 10, 50, 0x10, 288, s_dtv);
	au_alloc(c, 11, 50, 0x20, 288, s_dtv);
	au_alloc(c, 12, 50, 0x30, 48, s_ust);
	au_alloc(c, 13, 50, 0x40, 48, s_ust);
	au_alloc(c, 14, 50, 0x50, 1000, s_ld);
	au_alloc(c, 15, 50, 0x60, 24, s_ctor);
	au_alloc(c, 16, 50, 0x70, 100, user);
	au_exit(c, 100, 50);
}

Test(leak, default_suppressions)
{
	struct run r;
	au_open(&r.cap);
	runtime_blocks(&r.cap, au_site(&r.cap, "user_leak", 9));
	au_close(&r.cap);
	run_leak(&r, NULL);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), 124);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "suppressed", "blocks"), 3);
	cr_assert_eq(au_get(r.summary, "leak", "suppressed", "bytes"), 288 * 2 + 1000);
	/* liblttng-ust's own blocks are the tracer's (the heap model's rule):
	 * left out before any suppression */
	cr_assert_eq(au_get(r.summary, "leak", "tracer", "blocks"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "tracer", "bytes"), 48 * 2);
	cr_assert(find_group(r.leak, "sites", "not_freed_at_exit", "my_ctor (prog.c:77)", NULL));
	/* each rule's count */
	size_t i;
	json_t *s;
	int seen = 0;
	json_array_foreach(json_object_get(r.leak, "suppressions"), i, s) {
		const char *p = json_string_value(json_object_get(s, "pattern"));
		long long b = gi(s, "blocks");
		cr_assert_str_eq(json_string_value(json_object_get(s, "source")), "builtin");
		cr_assert_gt(strlen(json_string_value(json_object_get(s, "reason"))), 10);
		if (!strcmp(p, "allocate_dtv")) {
			cr_assert_eq(b, 2);
			seen++;
		} else if (!strcmp(p, "ld-linux|/libc.so.")) {
			cr_assert_eq(b, 1);
			seen++;
		} else {
			cr_assert_eq(b, 0, "rule %s matched", p);
		}
	}
	cr_assert_eq(seen, 2);
	run_done(&r);

	/* turned off: everything counts but the tracer's own blocks */
	au_open(&r.cap);
	runtime_blocks(&r.cap, au_site(&r.cap, "user_leak", 9));
	au_close(&r.cap);
	run_leak(&r, "[leak]\ndefault_suppressions = false\n");
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 5);
	cr_assert_eq(au_get(r.summary, "leak", "suppressed", "blocks"), 0);
	run_done(&r);
}

Test(leak, user_suppression_file)
{
	struct run r;
	au_open(&r.cap);
	uint32_t a = au_site(&r.cap, "cache_insert", 1), b = au_site(&r.cap, "really_leaks", 2);
	uint32_t lib = au_frame(&r.cap, "helper", "/opt/vendor/libthird.so", NULL, 0);
	uint32_t mal = au_frame(&r.cap, "malloc", "/usr/lib/libmpa-preload.so", NULL, 0);
	uint32_t usr = au_frame(&r.cap, "use_vendor", "/usr/bin/prog", "prog.c", 3);
	uint32_t c = au_stack(&r.cap, 3, mal, lib, usr);
	au_alloc(&r.cap, 1, 5, 0x10, 10, a);
	au_alloc(&r.cap, 2, 5, 0x20, 20, a);
	au_alloc(&r.cap, 3, 5, 0x30, 40, b);
	au_alloc(&r.cap, 4, 5, 0x40, 80, c);
	au_exit(&r.cap, 9, 5);
	au_close(&r.cap);
	char supp[400];
	snprintf(supp, sizeof supp, "%s/my.supp", r.cap.dir);
	FILE *f = fopen(supp, "w");
	fprintf(f, "# our suppressions\n\nleak:cache_*\nleak:libthird.so$\nleak-site:main\n");
	fclose(f);
	char cfg[600];
	snprintf(cfg, sizeof cfg, "[leak]\nsuppressions = \"%s\"\n", supp);
	run_leak(&r, cfg);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), 40);
	cr_assert_eq(au_get(r.summary, "leak", "suppressed", "bytes"), 110);
	size_t i;
	json_t *s;
	int seen = 0;
	json_array_foreach(json_object_get(r.leak, "suppressions"), i, s) {
		const char *src = json_string_value(json_object_get(s, "source"));
		if (strncmp(src, supp, strlen(supp)))
			continue;
		const char *p = json_string_value(json_object_get(s, "pattern"));
		if (!strcmp(p, "cache_*")) {
			cr_assert_eq(gi(s, "blocks"), 2);
			cr_assert_eq(gi(s, "bytes"), 30);
			cr_assert(strstr(src, ":3"), "%s", src);
		} else if (!strcmp(p, "libthird.so$")) {
			cr_assert_eq(gi(s, "bytes"), 80);
		} else {
			/* leak-site:main: main is never the site here */
			cr_assert_str_eq(p, "main");
			cr_assert_str_eq(json_string_value(json_object_get(s, "scope")), "site");
			cr_assert_eq(gi(s, "blocks"), 0);
		}
		seen++;
	}
	cr_assert_eq(seen, 3);
	run_done(&r);
}

Test(leak, bad_suppression_file)
{
	struct au_cap c;
	au_open(&c);
	au_alloc(&c, 1, 5, 0x10, 10, 0);
	au_close(&c);
	char supp[400], cfg[600], out[400], err[1024];
	snprintf(supp, sizeof supp, "%s/bad.supp", c.dir);
	FILE *f = fopen(supp, "w");
	fprintf(f, "leak:ok\nrace:nope\n");
	fclose(f);
	snprintf(cfg, sizeof cfg, "[leak]\nsuppressions = \"%s\"\n", supp);
	snprintf(out, sizeof out, "%s/report", c.dir);
	cr_assert_eq(au_lib_run(c.path, out, "leak", cfg, NULL, err, sizeof err), -1);
	cr_assert(strstr(err, "bad.supp:2: expected 'leak:PATTERN'"), "%s", err);
	cr_assert(!au_exists(out, ""), "no output directory on error");
	au_rmrf(c.dir);
}

Test(leak, resources_maps_pools)
{
	struct run r;
	au_open(&r.cap);
	uint32_t ms = au_site(&r.cap, "map_arena", 4), ps = au_site(&r.cap, "pool_user", 8);
	struct mpa_event e = {0};
	e.pid = 11;
	e.tid = 11;
	/* a 64 KiB map, 16 KiB unmapped from its middle: 48 KiB never unmapped */
	e.kind = MPA_KIND_MAP, e.ts = 10, e.ptr = 0x100000, e.size = 65536, e.api = MPA_API_MMAP,
	e.stack_id = ms;
	au_ev(&r.cap, &e);
	e.kind = MPA_KIND_UNMAP, e.ts = 20, e.ptr = 0x104000, e.size = 16384, e.api = MPA_API_MUNMAP;
	au_ev(&r.cap, &e);
	/* a map fully unmapped, and brk growth (the arena, ignored) */
	e.kind = MPA_KIND_MAP, e.ts = 30, e.ptr = 0x200000, e.size = 4096, e.api = MPA_API_MMAP;
	au_ev(&r.cap, &e);
	e.kind = MPA_KIND_UNMAP, e.ts = 40, e.ptr = 0x200000, e.size = 4096, e.api = MPA_API_MUNMAP;
	au_ev(&r.cap, &e);
	e.kind = MPA_KIND_MAP, e.ts = 41, e.ptr = 0x300000, e.size = 135168, e.api = MPA_API_BRK;
	au_ev(&r.cap, &e);
	/* pools: 1 destroyed with 2 objects out, 2 never destroyed with 1 object out */
	memset(&e, 0, sizeof e);
	e.pid = 11;
	e.tid = 11;
	e.kind = MPA_KIND_POOL_CREATE, e.ts = 50, e.pool_id = 1, e.size = 32, e.usable = 100,
	e.str_id = au_str(&r.cap, "conn_pool");
	au_ev(&r.cap, &e);
	e.kind = MPA_KIND_POOL_CREATE, e.ts = 51, e.pool_id = 2, e.size = 64, e.usable = 10,
	e.str_id = au_str(&r.cap, "msg_pool");
	au_ev(&r.cap, &e);
	e.str_id = 0;
	uint64_t objs[][3] = {{1, 0x1000, 32}, {1, 0x1020, 32}, {1, 0x1040, 32}, {2, 0x2000, 64}};
	for (int i = 0; i < 4; i++) {
		e.kind = MPA_KIND_POOL_ALLOC, e.ts = 60 + (uint64_t)i, e.pool_id = (uint32_t)objs[i][0],
		e.ptr = objs[i][1], e.size = objs[i][2], e.stack_id = ps;
		au_ev(&r.cap, &e);
	}
	e.kind = MPA_KIND_POOL_FREE, e.ts = 70, e.pool_id = 1, e.ptr = 0x1000;
	au_ev(&r.cap, &e);
	e.kind = MPA_KIND_POOL_FREE, e.ts = 71, e.pool_id = 1, e.ptr = 0x1000; /* again */
	au_ev(&r.cap, &e);
	e.kind = MPA_KIND_POOL_DESTROY, e.ts = 80, e.pool_id = 1, e.ptr = 0;
	au_ev(&r.cap, &e);
	au_exit(&r.cap, 100, 11);
	au_close(&r.cap);
	run_leak(&r, NULL);
	json_t *res = json_object_get(json_object_get(r.summary, "analyzers"), "leak");
	json_t *rr = json_object_get(res, "resource");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(rr, "maps"), "count")), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(rr, "maps"), "bytes")), 49152);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(rr, "pool_objects"), "count")), 3);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(rr, "pool_objects"), "bytes")), 128);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(rr, "pools"), "count")), 1);
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "pool_double_free"), 1);
	json_t *g = find_group(r.leak, "resources", "pool_object", "pool_user", NULL);
	cr_assert(g);
	/* two groups for pool_user objects: destroyed pool (2) and exit (1) */
	size_t i;
	json_t *x;
	long long destroyed = 0, atexit = 0;
	json_array_foreach(json_object_get(r.leak, "resources"), i, x) {
		if (strcmp(json_string_value(json_object_get(x, "class")), "pool_object"))
			continue;
		const char *st = json_string_value(json_object_get(x, "state"));
		if (!strcmp(st, "pool_destroy")) {
			destroyed += gi(x, "blocks");
			cr_assert_str_eq(json_string_value(json_object_get(x, "pool")), "conn_pool");
		} else {
			atexit += gi(x, "blocks");
			cr_assert_str_eq(json_string_value(json_object_get(x, "pool")), "msg_pool");
		}
	}
	cr_assert_eq(destroyed, 2);
	cr_assert_eq(atexit, 1);
	g = find_group(r.leak, "resources", "pool", "pool msg_pool", NULL);
	cr_assert(g);
	cr_assert_eq(gi(g, "bytes"), 640);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 0);
	run_done(&r);
}

Test(leak, growth_suspects)
{
	struct run r;
	au_open(&r.cap);
	uint32_t g = au_site(&r.cap, "cache_grow", 1), t = au_site(&r.cap, "temp_work", 2);
	uint32_t small = au_site(&r.cap, "small_leak", 3);
	/* 200 s: cache_grow keeps 100 B per second; temp_work frees at once */
	for (uint64_t s = 0; s < 200; s++) {
		au_alloc(&r.cap, s * AU_SEC, 77, 0x100000 + s * 128, 100, g);
		au_alloc(&r.cap, s * AU_SEC + 10, 77, 0x900000 + s * 64, 5000, t);
		au_free(&r.cap, s * AU_SEC + 20, 77, 0x900000 + s * 64);
	}
	au_alloc(&r.cap, 5 * AU_SEC, 77, 0xf00000, 8, small); /* old but small, not growing */
	au_close(&r.cap);
	run_leak(&r, NULL);
	cr_assert_eq(au_get(r.summary, "leak", "growth", "sites"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "growth", "live_bytes"), 20000);
	json_t *gr = json_array_get(json_object_get(r.leak, "growth"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(gr, "site")), "cache_grow (prog.c:1)");
	cr_assert_eq(gi(gr, "live_blocks"), 200);
	double rate = json_real_value(json_object_get(gr, "growth_bytes_per_s"));
	cr_assert(rate > 95 && rate < 105, "rate %f", rate);
	cr_assert_eq(au_get(r.summary, "leak", "live_at_end", "bytes"), 20008);
	run_done(&r);

	/* a higher age threshold than the capture's span: no suspect */
	au_open(&r.cap);
	g = au_site(&r.cap, "cache_grow", 1);
	for (uint64_t s = 0; s < 200; s++)
		au_alloc(&r.cap, s * AU_SEC, 77, 0x100000 + s * 128, 100, g);
	au_close(&r.cap);
	run_leak(&r, "[leak]\ngrowth_min_age_s = 300\n");
	cr_assert_eq(au_get(r.summary, "leak", "growth", "sites"), 0);
	run_done(&r);
}

Test(leak, pid_and_time_filters_through_library)
{
	struct au_cap c;
	au_open(&c);
	uint32_t f = au_site(&c, "w", 1);
	au_alloc(&c, 1 * AU_SEC, 1, 0x10, 10, f);
	au_alloc(&c, 2 * AU_SEC, 2, 0x10, 20, f);
	au_alloc(&c, 3 * AU_SEC, 1, 0x20, 40, f);
	au_alloc(&c, 4 * AU_SEC, 2, 0x20, 80, f);
	au_close(&c);
	mpa_config *cfg = mpa_config_create(NULL, 0);
	const struct mpa_analyzer *sel[] = {mpa_analyzers[0]};
	struct mpa_run_opts o = {0};
	char out[400], err[512];
	snprintf(out, sizeof out, "%s/r", c.dir);
	o.capture = c.path;
	o.outdir = out;
	o.formats = MPA_FMT_JSON;
	o.config = cfg;
	o.analyzers = sel;
	o.nanalyzers = 1;
	o.pid = 2;
	struct mpa_run_result res;
	cr_assert_eq(mpa_run(&o, &res, err, sizeof err), 0, "%s", err);
	cr_assert_eq(au_get(res.summary, "leak", "live_at_end", "bytes"), 100);
	mpa_run_result_release(&res);
	o.pid = 0;
	o.from = "1.5";
	o.to = "2500ms";  /* [2.5 s, 3.5 s) of the capture: only the 40-byte one */
	o.from = "1.5s";
	cr_assert_eq(mpa_run(&o, &res, err, sizeof err), 0, "%s", err);
	cr_assert_eq(au_get(res.summary, "leak", "live_at_end", "bytes"), 40);
	mpa_run_result_release(&res);
	o.from = "3s";
	o.to = "1s";
	cr_assert_eq(mpa_run(&o, &res, err, sizeof err), -1);
	cr_assert(strstr(err, "not after"), "%s", err);
	mpa_config_free(cfg);
	au_rmrf(c.dir);
}

Test(leak, late_frees_after_exit_and_early_tracer_blocks)
{
	struct run r;
	au_open(&r.cap);
	uint32_t u = au_site(&r.cap, "user_leak", 5);
	/* early blocks: one from the tracer's setup (no frame in the program),
	 * one from the program's own constructor */
	uint32_t sd = au_frame(&r.cap, "__strdup", "/lib/x86_64-linux-gnu/libc.so.6", "strdup.c", 42);
	uint32_t s_tr = au_stack(&r.cap, 1, sd);
	uint32_t ctor = au_frame(&r.cap, "prog_ctor", "/usr/bin/prog", "prog.c", 8);
	uint32_t s_ctor = au_stack(&r.cap, 2, sd, ctor);
	uint32_t dtor = au_frame(&r.cap, "lib_fini", "/usr/lib/libx.so", NULL, 0);
	uint32_t s_lib = au_stack(&r.cap, 1, dtor);
	au_exec(&r.cap, 10, 60, "/usr/bin/prog");
	struct mpa_event e = {0};
	e.kind = MPA_KIND_ALLOC, e.pid = 60, e.tid = 60, e.flags = MPA_FLAG_EARLY | MPA_FLAG_TS_APPROX,
	e.api = MPA_API_MALLOC;
	e.ts = 11, e.ptr = 0x100, e.size = 45, e.stack_id = s_tr;
	au_ev(&r.cap, &e);
	e.ts = 12, e.ptr = 0x200, e.size = 33, e.stack_id = s_ctor;
	au_ev(&r.cap, &e);
	au_alloc(&r.cap, 20, 60, 0x300, 64, s_lib);
	au_alloc(&r.cap, 21, 60, 0x400, 7, u);
	au_exit(&r.cap, 100, 60);
	/* a library destructor frees its block after the exit hook */
	au_free(&r.cap, 150, 60, 0x300);
	au_close(&r.cap);
	run_leak(&r, NULL);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), 40);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 2);
	cr_assert(find_group(r.leak, "sites", "not_freed_at_exit", "prog_ctor", "/usr/bin/prog"));
	/* the stackless early block is the start-up: the tracer's, left out */
	cr_assert_eq(au_get(r.summary, "leak", "suppressed", "bytes"), 0);
	cr_assert_eq(au_get(r.summary, "leak", "tracer", "bytes"), 45);
	cr_assert_eq(au_get(r.summary, "leak", "anomalies", "unknown_free"), 0);
	cr_assert_eq(au_get(r.summary, "leak", "processes", "seen"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "processes", "exited"), 1);
	json_t *g = find_group(r.leak, "sites", "not_freed_at_exit", "user_leak", NULL);
	cr_assert_eq(gi(g, "max_age_ns"), 79); /* exit at 100 (ns since the first event at 10) */
	run_done(&r);
}

/* Random heap traffic against a naive reference model: definite and
 * live-at-end totals and anomaly counts must agree exactly. */
struct refblk {
	uint64_t ptr, size;
	int live;
};

Test(leak, random_traffic_matches_a_reference_model)
{
	uint64_t seed = 12345;
	for (int round = 0; round < 4; round++) {
		struct run r;
		au_open(&r.cap);
		uint32_t st[4];
		for (int k = 0; k < 4; k++)
			st[k] = au_site(&r.cap, k % 2 ? "odd_site" : "even_site", (uint32_t)k);
		enum { NP = 3, NA = 48 };
		static struct refblk ref[NP][NA];
		memset(ref, 0, sizeof ref);
		uint64_t ts = 1000, definite = 0, at_end = 0, bad_free = 0, bad_realloc = 0, over = 0;
		for (int i = 0; i < 6000; i++) {
			uint64_t x = (seed = seed * 6364136223846793005ull + 1442695040888963407ull) >> 11;
			int pid = (int)(x % NP);
			int a = (int)((x >> 8) % NA), a2 = (int)((x >> 20) % NA);
			uint64_t ptr = 0x10000 + (uint64_t)a * 0x100, ptr2 = 0x10000 + (uint64_t)a2 * 0x100;
			uint64_t size = 1 + (x >> 32) % 500;
			uint32_t stack = st[(x >> 40) % 4];
			unsigned op = (unsigned)((x >> 48) % 100);
			ts += 1000;
			struct refblk *b = &ref[pid][a], *b2 = &ref[pid][a2];
			if (op < 40) {
				au_alloc(&r.cap, ts, pid + 1, ptr, size, stack);
				over += b->live;
				b->live = 1;
				b->size = size;
			} else if (op < 75) {
				au_free(&r.cap, ts, pid + 1, ptr);
				bad_free += !b->live;
				b->live = 0;
			} else if (op < 97) {
				au_realloc(&r.cap, ts, pid + 1, ptr, ptr2, size, stack);
				bad_realloc += !b->live;
				b->live = 0;
				over += b2->live && a2 != a;
				b2->live = 1;
				b2->size = size;
			} else {
				au_exit(&r.cap, ts, pid + 1);
				for (int k = 0; k < NA; k++) {
					if (ref[pid][k].live)
						definite += ref[pid][k].size;
					ref[pid][k].live = 0;
				}
				ts += 2 * AU_SEC; /* past the exit grace: the pid is reused */
			}
		}
		for (int p = 0; p < NP; p++)
			for (int k = 0; k < NA; k++)
				if (ref[p][k].live)
					at_end += ref[p][k].size;
		au_close(&r.cap);
		run_leak(&r, NULL);
		cr_assert_eq((uint64_t)au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), definite,
			     "round %d", round);
		cr_assert_eq((uint64_t)au_get(r.summary, "leak", "live_at_end", "bytes"), at_end,
			     "round %d", round);
		cr_assert_eq((uint64_t)(au_get(r.summary, "leak", "anomalies", "double_free") +
					au_get(r.summary, "leak", "anomalies", "unknown_free")),
			     bad_free, "round %d", round);
		cr_assert_eq((uint64_t)(au_get(r.summary, "leak", "anomalies", "unknown_realloc") +
					au_get(r.summary, "leak", "anomalies", "realloc_of_freed")),
			     bad_realloc, "round %d", round);
		cr_assert_eq((uint64_t)au_get(r.summary, "leak", "anomalies", "alloc_of_live_pointer"),
			     over, "round %d", round);
		run_done(&r);
	}
}

/* Any mix of every kind, hostile values included: the analyzers finish. */
Test(leak, hostile_rows_do_not_break_the_analyzers)
{
	struct au_cap c;
	au_open(&c);
	uint32_t st = au_site(&c, "s", 1);
	uint64_t seed = 99;
	for (int i = 0; i < 5000; i++) {
		uint64_t x = (seed = seed * 6364136223846793005ull + 1442695040888963407ull);
		struct mpa_event e = {0};
		e.kind = (uint8_t)(1 + (x >> 3) % (MPA_KIND_COUNT_ - 1));
		e.ts = (uint64_t)i * 7 + ((x >> 20) % 3 ? 0 : (x >> 40));
		e.pid = (int32_t)((x >> 12) % 4) - 1;
		e.tid = e.pid;
		e.domain = (x >> 50) % 5 == 0;
		e.flags = (uint16_t)((x >> 24) & 0xf);
		e.ptr = (x >> 30) % 7 == 0 ? UINT64_MAX - (x & 0xff) : (x >> 16) % 64 * 16;
		e.new_ptr = (x >> 36) % 64 * 16;
		e.size = (x >> 44) % 9 == 0 ? UINT64_MAX - 3 : (x >> 28) % 70000;
		e.usable = e.size;
		e.api = (uint8_t)((x >> 52) % MPA_API_COUNT_);
		e.stack_id = (x >> 56) % 2 ? st : 0;
		e.pool_id = (uint32_t)((x >> 5) % 3);
		au_ev(&c, &e);
	}
	au_close(&c);
	char out[400], err[512];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	int rc = au_lib_run(c.path, out, "leak,timeline,patterns", NULL, &s, err, sizeof err);
	cr_assert_eq(rc, 0, "%s", err);
	json_decref(s);
	au_rmrf(c.dir);
}

Test(leak, kernel_objects_live_at_end)
{
	struct run r;
	au_open(&r.cap);
	struct mpa_event e = {0};
	e.domain = MPA_DOMAIN_KERNEL;
	e.pid = 0;
	uint64_t objs[][4] = {
		/* ptr, bytes_req, bytes_alloc, call_site */
		{0xffff000000001000, 100, 128, 0xffffffff81001111},
		{0xffff000000002000, 30, 32, 0xffffffff81001111},
		{0xffff000000003000, 500, 512, 0xffffffff81002222},
	};
	for (int i = 0; i < 3; i++) {
		e.kind = MPA_KIND_KALLOC, e.ts = 10 + (uint64_t)i, e.ptr = objs[i][0],
		e.size = objs[i][1], e.usable = objs[i][2], e.ip = objs[i][3], e.api = MPA_API_KMALLOC;
		au_ev(&r.cap, &e);
	}
	e.kind = MPA_KIND_KFREE, e.ts = 20, e.ptr = objs[1][0], e.size = 0, e.usable = 0,
	e.ip = 0xffffffff81003333, e.api = MPA_API_KMALLOC;
	au_ev(&r.cap, &e);
	e.ts = 21, e.ptr = 0xffff00000000f000; /* allocated before the capture */
	au_ev(&r.cap, &e);
	au_close(&r.cap);
	run_leak(&r, NULL);
	cr_assert_eq(au_get(r.summary, "leak", "kernel", "blocks"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "kernel", "bytes"), 640);
	cr_assert_eq(au_get(r.summary, "leak", "kernel", "sites"), 2);
	cr_assert_eq(au_get(r.summary, "leak", "kernel", "kfree_unknown"), 1);
	cr_assert_eq(au_get(r.summary, "leak", "processes", "seen"), 0);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 0);
	json_t *k0 = json_array_get(json_object_get(r.leak, "kernel"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(k0, "site")), "0xffffffff81002222");
	cr_assert_eq(gi(k0, "bytes"), 512);
	run_done(&r);
}

/* Sizes are hostile input too: blocks of 2^63 bytes and more (a valid
 * capture from the writer) must neither overflow (UBSan runs this in make
 * check) nor wrap into small totals: totals saturate, JSON stays within
 * its signed 64-bit integers. */
Test(leak, huge_sizes_saturate)
{
	struct run r;
	au_open(&r.cap);
	uint32_t f = au_site(&r.cap, "huge", 3), g = au_site(&r.cap, "huger", 4);
	au_alloc(&r.cap, 1000, 100, 0x1000, UINT64_C(1) << 63, f);
	au_alloc(&r.cap, 1100, 100, 0x2000, UINT64_C(1) << 63, f);
	au_alloc(&r.cap, 1200, 100, 0x3000, UINT64_MAX, g);
	au_alloc(&r.cap, 1300, 100, 0x4000, UINT64_MAX - 5, g);
	au_free(&r.cap, 1400, 100, 0x4000);
	au_exit(&r.cap, 5000, 100);
	au_close(&r.cap);
	run_leak(&r, NULL);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "blocks"), 3);
	cr_assert_eq(au_get(r.summary, "leak", "not_freed_at_exit", "bytes"), INT64_MAX,
		     "saturated, shown as the largest JSON integer");
	json_t *gr = find_group(r.leak, "sites", "not_freed_at_exit", "huge", NULL);
	cr_assert(gr);
	cr_assert_eq(gi(gr, "bytes"), INT64_MAX);
	cr_assert_eq(gi(gr, "blocks"), 2);
	run_done(&r);
}

/* A free of a block never seen whose stack is the tracer's own (lttng-ust
 * freeing, in a forked child, what it allocated before this session could
 * see it) is no anomaly; the same free from the program's code is one. */
Test(leak, tracer_frees_of_unseen_blocks_are_not_anomalies)
{
	struct au_cap c;
	au_open(&c);
	uint32_t site = au_site(&c, "work", 10);
	uint32_t f0 = au_frame(&c, "free", "/usr/lib/libmpa-preload.so", NULL, 0);
	uint32_t f1 = au_frame(&c, "lttng_ust_after_fork_child",
			       "/usr/lib/x86_64-linux-gnu/liblttng-ust.so.1.0.0", NULL, 0);
	uint32_t tracer = au_stack(&c, 2, f0, f1);
	au_alloc(&c, AU_SEC, 10, 0x1000, 64, site);
	struct mpa_event e = {0};
	e.kind = MPA_KIND_FREE, e.ts = 2 * AU_SEC, e.pid = 10, e.tid = 10, e.ptr = 0x9000;
	e.api = MPA_API_FREE, e.stack_id = tracer;
	au_ev(&c, &e);                          /* the tracer's: not an anomaly */
	e.ts = 3 * AU_SEC, e.ptr = 0xa000, e.stack_id = site;
	au_ev(&c, &e);                          /* the program's: an unknown free */
	au_free(&c, 4 * AU_SEC, 10, 0x1000);
	au_close(&c);
	char out[300], err[512];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "leak,timeline", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *heap = json_object_get(json_object_get(s, "scan"), "heap");
	cr_assert_eq(json_integer_value(json_object_get(heap, "tracer_unseen_frees")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(heap, "anomalies"),
							"unknown_free")), 1);
	json_t *tl = au_json(out, "timeline.json");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(tl, "user"), "unknown_frees")), 1);
	json_decref(tl);
	json_decref(s);
	au_rmrf(c.dir);
}
