/* mpa-top — an interactive terminal UI over a capture: the analysis core's
 * one pass (monitor/session.c) runs first, keeping per-interval aggregates;
 * a time cursor then scrubs over them and every view shows the state at
 * the cursor.  ncurses; redraws on resize; 80x24 is enough.
 */
#include <ctype.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cli.h"
#include "../live.h"
#include "tui.h"

#define PROG "mpa-top"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " CAPTURE.mpt | --live URL|NAME [-o FILE] [--theme dark|light]\n"
		"               [--interval DUR] [--pid P]\n"
		"               [--config FILE | --no-config] [--set S.K=V]\n"
		"An interactive view of a capture: a time cursor over the whole capture and\n"
		"views of the state at the cursor (Memory, Sites, Leaks, Threads, NUMA,\n"
		"Cache, Frag, Pools).  Press ? inside for the keys.\n"
		"  --theme T       dark (default) or light\n"
		"  --interval DUR  cursor step: 500ms, 2s, 100us (default: the capture's\n"
		"                  span / 200, rounded to 1-2-5)\n"
		"  --pid P         only this process\n"
		"  --config FILE   configuration file (default ./.mpa.toml when present)\n"
		"  --no-config     ignore ./.mpa.toml\n"
		"  --set S.K=V     set configuration key K of table [S]\n"
		"  --live URL|NAME instead of CAPTURE: a running LTTng live session\n"
		"                  (net://RELAY[:PORT]/host/HOSTNAME/SESSION, or a session\n"
		"                  name on the local relay), updated every interval (500ms);\n"
		"                  the cursor follows the newest interval\n"
		"  -o FILE         with --live: also write the capture (complete when the\n"
		"                  session ends)\n"
		"For scripts and logs use mpa-monitor(1).\n");
}

/* ---- drawing helpers ------------------------------------------------------------ */

void top_color(int on, enum top_color c)
{
	if (!has_colors() || c == C_NORMAL) {
		if (c == C_SEL || c == C_TITLE)
			(on ? attron : attroff)(A_REVERSE);
		return;
	}
	(on ? attron : attroff)(COLOR_PAIR(c) | (c == C_TITLE || c == C_PEAK ? A_BOLD : 0));
}

void top_line(int y, int w, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	/* cut at w columns, not bytes: a UTF-8 sequence is one column */
	size_t cut = 0;
	int cols = 0;
	for (; buf[cut]; cut++) {
		if (((unsigned char)buf[cut] & 0xC0) != 0x80 && cols++ == w)
			break;
	}
	move(y, 0);
	addnstr(buf, (int)cut);
	clrtoeol();
}

int top_match(const struct top *t, const char *s)
{
	if (!t->filter[0])
		return 1;
	size_t n = strlen(t->filter);
	for (; *s; s++)
		if (!strncasecmp(s, t->filter, n))
			return 1;
	return 0;
}

const struct mpa_snap_iv *top_iv(const struct top *t)
{
	return mpa_snap_get(t->sn, t->cur);
}

void top_list_clamp(struct top *t, int h)
{
	if (t->sel >= t->nrows)
		t->sel = t->nrows - 1;
	if (t->sel < 0)
		t->sel = 0;
	if (t->first > t->sel)
		t->first = t->sel;
	if (h > 0 && t->sel >= t->first + h)
		t->first = t->sel - h + 1;
	if (t->first < 0)
		t->first = 0;
}

void top_spark(struct top *t, int y, int x, int w, int rows, const double *v, size_t n,
	       size_t cur, size_t peak)
{
	static const char *const u8[] = {" ", "\u2581", "\u2582", "\u2583", "\u2584",
					 "\u2585", "\u2586", "\u2587", "\u2588"};
	static const char asc[] = " .:-=+*#@";
	if (w <= 0 || !n || rows <= 0)
		return;
	double max = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (int c = 0; c < w; c++) {
		size_t a = (size_t)c * n / (size_t)w, b = (size_t)(c + 1) * n / (size_t)w;
		if (b <= a)
			b = a + 1;
		if (a >= n)
			break;
		if (b > n)
			b = n;
		double m = 0;
		for (size_t i = a; i < b; i++)
			if (v[i] > m)
				m = v[i];
		int here = cur >= a && cur < b, pk = peak >= a && peak < b;
		/* eighths of the whole height */
		int level = max > 0 ? (int)(m / max * rows * 8 + 0.5) : 0;
		if (m > 0 && level == 0)
			level = 1;
		if (here)
			top_color(1, C_SEL);
		else if (pk)
			top_color(1, C_PEAK);
		else
			top_color(1, C_SPARK);
		for (int r = 0; r < rows; r++) {
			int lv = level - (rows - 1 - r) * 8;
			if (lv < 0)
				lv = 0;
			if (lv > 8)
				lv = 8;
			move(y + r, x + c);
			if (t->utf8)
				addstr(u8[lv]);
			else
				addch((chtype)(unsigned char)asc[lv]);
		}
		if (here)
			top_color(0, C_SEL);
		else if (pk)
			top_color(0, C_PEAK);
		else
			top_color(0, C_SPARK);
	}
}

/* ---- frame: header, tabs, footer, popups ---------------------------------------------- */

static void draw_header(struct top *t, int w)
{
	uint64_t first, last;
	mpa_mon_span(t->m, &first, &last);
	const struct mpa_snap_iv *v = top_iv(t);
	char at[32], end[32], step[32];
	mpa_mon_dur(at, sizeof at, v ? v->t1 - first : 0);
	mpa_mon_dur(end, sizeof end, last - first);
	mpa_mon_dur(step, sizeof step, mpa_snap_interval(t->sn));
	const char *base = strrchr(t->capture, '/');
	base = base ? base + 1 : t->capture;
	top_color(1, C_TITLE);
	top_line(0, w, " mpa-top  %s   cursor %s / %s  (step %s, %zu/%zu)", base, at, end, step,
		 mpa_snap_count(t->sn) ? t->cur + 1 : 0, mpa_snap_count(t->sn));
	mvchgat(0, 0, -1, has_colors() ? A_BOLD : A_REVERSE, has_colors() ? C_TITLE : 0, NULL);
	top_color(0, C_TITLE);
	move(1, 0);
	clrtoeol();
	int x = 0;
	for (size_t i = 0; i < top_nviews && x < w; i++) {
		char tab[32];
		snprintf(tab, sizeof tab, " %zu %s ", i + 1, top_views[i].name);
		if (i == t->view)
			top_color(1, C_SEL);
		mvaddnstr(1, x, tab, w - x);
		if (i == t->view)
			top_color(0, C_SEL);
		x += (int)strlen(tab);
	}
	if (t->live) {
		const char *st = t->ended == 2 ? "FAILED" : t->ended ? "ENDED" : "LIVE";
		top_color(1, t->ended ? C_WARN : C_GOOD);
		if (x + 1 + (int)strlen(st) + 2 < w)
			mvaddnstr(1, x + 1, st, w - x - 1);
		top_color(0, t->ended ? C_WARN : C_GOOD);
	}
	if (mpa_mon_lost(t->m)) {
		top_color(1, C_WARN);
		char l[64];
		snprintf(l, sizeof l, " LOST %" PRIu64 " ", mpa_mon_lost(t->m));
		if (x + (int)strlen(l) < w)
			mvaddstr(1, w - (int)strlen(l), l);
		top_color(0, C_WARN);
	}
}

static void draw_footer(struct top *t, int h, int w)
{
	top_color(1, C_DIM);
	if (t->msg[0])
		top_line(h - 1, w, "%s", t->msg);
	else if (t->filter[0])
		top_line(h - 1, w, " search \"%s\" (Esc clears)  <-/-> time  Tab view  ? help  q quit",
			 t->filter);
	else
		top_line(h - 1, w, " <-/-> time  p peak  Tab view  s sort  Enter stack  / search  ? help  q quit");
	top_color(0, C_DIM);
}

static const char *const help_lines[] = {
	"mpa-top keys",
	"",
	"  Left / Right, h / l   move the time cursor one interval",
	"  [ / ]                 move it ten intervals",
	"  Home / End, g / G     start / end of the capture",
	"  p                     jump to the peak of the live heap",
	"  Tab / Shift-Tab, 1-8  next / previous view, or view N",
	"  Up / Down, j / k      select a row; PgUp / PgDn a page",
	"  s                     Sites: sort by live, leaked, allocated,",
	"                        temporary, growth",
	"  Enter                 the selected site's stack (demangled)",
	"  /                     search: keep rows whose site matches",
	"  Esc                   close this window or the stack; clear",
	"                        the search",
	"  ?                     this help      q  quit",
	"",
	"Views show the state at the cursor; Leaks and analyzer views",
	"show the analyzers' results at the capture's end.",
};

/* A frame of plain characters (box-drawing ones in a UTF-8 locale): the
 * alternate character set is not reliable across terminals and tmux. */
static void draw_box(const struct top *t, int y, int x, int bh, int bw)
{
	const char *hz = t->utf8 ? "\u2500" : "-", *vt = t->utf8 ? "\u2502" : "|";
	const char *c[4] = {"+", "+", "+", "+"};
	if (t->utf8) {
		c[0] = "\u250c";
		c[1] = "\u2510";
		c[2] = "\u2514";
		c[3] = "\u2518";
	}
	for (int r = 0; r < bh; r++) {
		move(y + r, x);
		for (int k = 0; k < bw; k++) {
			int top = r == 0, bot = r == bh - 1, l = k == 0, rt = k == bw - 1;
			if ((top || bot) && (l || rt))
				addstr(c[(bot ? 2 : 0) + (rt ? 1 : 0)]);
			else if (top || bot)
				addstr(hz);
			else if (l || rt)
				addstr(vt);
			else
				addch(' ');
		}
	}
}

static void draw_help(const struct top *t, int h, int w)
{
	int n = (int)(sizeof help_lines / sizeof *help_lines);
	int bw = 66 < w - 2 ? 66 : w - 2, bh = n + 2 < h - 2 ? n + 2 : h - 2;
	int y = (h - bh) / 2, x = (w - bw) / 2;
	draw_box(t, y, x, bh, bw);
	for (int i = 0; i < n && i < bh - 2; i++)
		mvaddnstr(y + 1 + i, x + 2, help_lines[i], bw - 4);
}

void top_draw_stack(struct top *t, int h, int w)
{
	json_t *st = mpa_site_stack_json(t->ctx, t->stack_id);
	char name[512];
	mpa_site_name(t->ctx, t->stack_id, name, sizeof name);
	int bw = w - 4, bh = h - 4;
	if (bw < 20 || bh < 5)
		return;
	draw_box(t, 2, 2, bh, bw);
	top_color(1, C_ACCENT);
	mvaddnstr(3, 4, name, bw - 4);
	top_color(0, C_ACCENT);
	size_t n = json_array_size(st);
	if (!n)
		mvaddnstr(5, 4, "no stack recorded for this site", bw - 4);
	for (size_t i = 0; i < n && (int)i * 2 + 5 < bh; i++) {
		json_t *f = json_array_get(st, i);
		const char *fn = json_string_value(json_object_get(f, "function"));
		const char *file = json_string_value(json_object_get(f, "file"));
		const char *bin = json_string_value(json_object_get(f, "binary"));
		json_int_t line = json_integer_value(json_object_get(f, "line"));
		char buf[1024];
		snprintf(buf, sizeof buf, "#%-2zu %s", i, fn && *fn ? fn : "??");
		mvaddnstr(5 + (int)i * 2, 4, buf, bw - 6);
		if (file && *file)
			snprintf(buf, sizeof buf, "    %s:%lld", file, (long long)line);
		else
			snprintf(buf, sizeof buf, "    %s", bin && *bin ? bin : "");
		top_color(1, C_DIM);
		mvaddnstr(6 + (int)i * 2, 4, buf, bw - 6);
		top_color(0, C_DIM);
	}
	top_color(1, C_DIM);
	mvaddnstr(2 + bh - 1, 4, " Esc closes ", bw - 6);
	top_color(0, C_DIM);
	json_decref(st);
}

static uint32_t draw(struct top *t)
{
	int h, w;
	getmaxyx(stdscr, h, w);
	erase();
	if (w < 40 || h < 12) {
		top_line(0, w, "mpa-top: the terminal is too small (%dx%d; 80x24 is enough)", w, h);
		refresh();
		return 0;
	}
	draw_header(t, w);
	const struct top_view *v = &top_views[t->view];
	uint32_t seen = mpa_snap_kinds_seen(t->sn), stack = 0;
	int y = 2, bh = h - 3;
	const struct mpa_analyzer *an = NULL;
	for (size_t i = 0; v->analyzer && mpa_analyzers[i]; i++)
		if (!strcmp(mpa_analyzers[i]->name, v->analyzer))
			an = mpa_analyzers[i];
	if (v->analyzer && !an) {
		top_line(y + 1, w, "  no %s analyzer in this build: this view appears when it exists",
			 v->analyzer);
		t->nrows = 0;
	} else if (an && !mpa_mon_has(t->m, v->analyzer)) {
		top_line(y + 1, w, "  the %s analyzer is off ([%s] %s = false; --set %s.%s=true)",
			 an->name, an->enable_section ? an->enable_section : "?",
			 an->enable_key ? an->enable_key : "?",
			 an->enable_section ? an->enable_section : "?",
			 an->enable_key ? an->enable_key : "?");
		t->nrows = 0;
	} else if (v->kinds && !(seen & v->kinds)) {
		top_line(y + 1, w, "  no data in this capture (no %s events were recorded)", v->what);
		t->nrows = 0;
	} else {
		stack = v->draw(t, y, bh, w);
	}
	draw_footer(t, h, w);
	if (t->popup == TOP_POP_HELP)
		draw_help(t, h, w);
	else if (t->popup == TOP_POP_STACK)
		top_draw_stack(t, h, w);
	refresh();
	return stack;
}

static void search_prompt(struct top *t)
{
	int h, w;
	getmaxyx(stdscr, h, w);
	char buf[sizeof t->filter] = "";
	size_t n = 0;
	for (;;) {
		top_line(h - 1, w, "/%s", buf);
		move(h - 1, 1 + (int)n);
		curs_set(1);
		refresh();
		int c = getch();
		if (c == 27) {
			curs_set(0);
			return;
		}
		if (c == '\n' || c == '\r' || c == KEY_ENTER)
			break;
		if ((c == KEY_BACKSPACE || c == 127 || c == 8) && n)
			buf[--n] = 0;
		else if (c >= 32 && c < 127 && n + 1 < sizeof buf) {
			buf[n++] = (char)c;
			buf[n] = 0;
		}
	}
	curs_set(0);
	snprintf(t->filter, sizeof t->filter, "%s", buf);
	t->sel = t->first = 0;
}

static size_t peak_index(const struct top *t)
{
	size_t n = mpa_snap_count(t->sn), best = 0;
	uint64_t b = 0;
	for (size_t i = 0; i < n; i++) {
		const struct mpa_snap_iv *v = mpa_snap_get(t->sn, i);
		if (v->peak_bytes > b) {
			b = v->peak_bytes;
			best = i;
		}
	}
	return best;
}

static void colors(int light)
{
	if (!has_colors())
		return;
	start_color();
	short bg = -1, fg = -1;
	if (light) {
		bg = COLOR_WHITE;
		fg = COLOR_BLACK;
	} else if (use_default_colors() != OK) {
		bg = COLOR_BLACK;
		fg = COLOR_WHITE;
	}
	init_pair(C_TITLE, light ? COLOR_WHITE : COLOR_BLACK, light ? COLOR_BLUE : COLOR_CYAN);
	init_pair(C_ACCENT, light ? COLOR_BLUE : COLOR_CYAN, bg);
	init_pair(C_WARN, COLOR_RED, bg);
	init_pair(C_DIM, light ? COLOR_BLACK : COLOR_WHITE, light ? COLOR_WHITE : COLOR_BLUE);
	init_pair(C_SEL, light ? COLOR_WHITE : COLOR_BLACK, light ? COLOR_BLACK : COLOR_WHITE);
	init_pair(C_GOOD, COLOR_GREEN, bg);
	init_pair(C_SPARK, light ? COLOR_BLUE : COLOR_GREEN, bg);
	init_pair(C_PEAK, COLOR_RED, bg);
	init_pair(C_NORMAL + 9, fg, bg);
	bkgd(COLOR_PAIR(C_NORMAL + 9));
}

/* Live: feeds what the stream brought (a bounded number of batches per
 * call, so keys stay answered); a cursor on the last interval follows the
 * new ones. */
static void live_pump(struct top *t)
{
	size_t n = mpa_snap_count(t->sn);
	int follow = !n || t->cur + 1 >= n;
	char err[512] = "";
	for (int k = 0; k < 256 && !t->ended; k++) {
		int s = mpa_mon_step(t->m, err, sizeof err);
		if (s == 1)
			continue;
		if (s == 2 && mpa_live_check(t->live, err, sizeof err) == 0)
			break;
		t->ended = s == 0 ? 1 : 2;
		snprintf(t->live_msg, sizeof t->live_msg, " %.250s",
			 s == 0 ? "the live session ended: the views hold the final results" : err);
		memcpy(t->msg, t->live_msg, sizeof t->msg < sizeof t->live_msg ? sizeof t->msg : sizeof t->live_msg);
		t->msg[sizeof t->msg - 1] = 0;
	}
	n = mpa_snap_count(t->sn);
	if (follow && n)
		t->cur = n - 1;
}

static void loop(struct top *t)
{
	size_t n = mpa_snap_count(t->sn);
	for (;;) {
		if (t->live)
			n = mpa_snap_count(t->sn);
		uint32_t stack = draw(t);
		int h = getmaxy(stdscr) - 3;
		timeout(t->live && !t->ended ? 100 : -1);
		int c = getch();
		if (c == ERR) {
			if (t->live)
				live_pump(t);
			continue;
		}
		t->msg[0] = 0;
		if (t->popup) {
			if (c == 27 || c == 'q' || c == '?' || c == KEY_BACKSPACE || c == '\n' ||
			    c == KEY_ENTER)
				t->popup = TOP_POP_NONE;
			if (c != KEY_RESIZE)
				continue;
		}
		switch (c) {
		case 'q': return;
		case '?': t->popup = TOP_POP_HELP; break;
		case KEY_RESIZE: clearok(stdscr, TRUE); break;
		case KEY_LEFT: case 'h': if (t->cur) t->cur--; break;
		case KEY_RIGHT: case 'l': if (t->cur + 1 < n) t->cur++; break;
		case '[': t->cur = t->cur > 10 ? t->cur - 10 : 0; break;
		case ']': t->cur = t->cur + 10 < n ? t->cur + 10 : (n ? n - 1 : 0); break;
		case KEY_HOME: case 'g': t->cur = 0; break;
		case KEY_END: case 'G': t->cur = n ? n - 1 : 0; break;
		case 'p': t->cur = peak_index(t); break;
		case '\t': t->view = (t->view + 1) % top_nviews; t->sel = t->first = 0; break;
		case KEY_BTAB: t->view = (t->view + top_nviews - 1) % top_nviews; t->sel = t->first = 0; break;
		case KEY_UP: case 'k': t->sel--; break;
		case KEY_DOWN: case 'j': t->sel++; break;
		case KEY_PPAGE: t->sel -= h > 4 ? h - 4 : 1; break;
		case KEY_NPAGE: t->sel += h > 4 ? h - 4 : 1; break;
		case 's': t->sort = (t->sort + 1) % S_COUNT_; break;
		case '/': search_prompt(t); break;
		case 27: t->filter[0] = 0; break;
		case '\n': case '\r': case KEY_ENTER:
			if (stack) {
				t->stack_id = stack;
				t->popup = TOP_POP_STACK;
			} else {
				snprintf(t->msg, sizeof t->msg, " no site selected (Enter opens a site's stack in Sites and Leaks)");
			}
			break;
		default:
			if (c >= '1' && c < '1' + (int)top_nviews) {
				t->view = (size_t)(c - '1');
				t->sel = t->first = 0;
			}
			break;
		}
		top_list_clamp(t, 0);
	}
}

int main(int argc, char **argv)
{
	const char *v;
	int light = 0, tk;
	struct mpa_live *lv = NULL;
	struct mpa_mon_cli cli = {0};
	struct mpa_mon_opts mo = {0};
	char err[1024] = "";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if ((tk = mpa_mon_cli_take(argc, argv, &i, "--theme", &v, err, sizeof err))) {
			if (tk < 0 || (strcmp(v, "dark") && strcmp(v, "light"))) {
				if (tk > 0)
					snprintf(err, sizeof err, "--theme '%s': want dark or light", v);
				fprintf(stderr, PROG ": %s\n", err);
				return 2;
			}
			light = !strcmp(v, "light");
		} else {
			int r = mpa_mon_cli_arg(&cli, &mo, argc, argv, &i, err, sizeof err);
			if (r < 0) {
				fprintf(stderr, PROG ": %s\n", err);
				return 2;
			}
			if (r == 0) {
				fprintf(stderr, PROG ": unknown option '%s' (see --help)\n", a);
				return 2;
			}
		}
	}
	const char *capture = cli.capture, *live = cli.live, *outp = cli.outp;
	if (!capture == !live || (outp && !live)) {
		if (capture && live)
			fprintf(stderr, PROG ": a capture or --live, not both\n");
		else if (outp && !live)
			fprintf(stderr, PROG ": -o goes with --live\n");
		else
			usage(stderr);
		return 2;
	}
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		fprintf(stderr, PROG ": %s is not a terminal: mpa-top is interactive (use mpa-monitor for scripts and logs)\n",
			!isatty(STDOUT_FILENO) ? "stdout" : "stdin");
		return 2;
	}
	mpa_config *cfg = mpa_mon_cli_config(&cli, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	mo.capture = capture;
	mo.config = cfg;
	struct mpa_mon *m = NULL;
	int ok;
	if (live) {
		if (!mo.interval_ns)
			mo.interval_ns = UINT64_C(500000000);
		fprintf(stderr, PROG ": waiting for the first events of %s ...", live);
		ok = (lv = mpa_live_start(live, mo.interval_ns, outp, err, sizeof err)) &&
		     mpa_live_wait_first(lv, err, sizeof err) == 0;
		if (ok) {
			mo.capture = NULL;
			mo.segments = mpa_live_dir(lv);
			mo.remove_segments = 1;
			ok = (m = mpa_mon_open(&mo, err, sizeof err)) != NULL;
		}
		capture = live;
	} else {
		fprintf(stderr, PROG ": analyzing %s ...", capture);
		m = mpa_mon_open(&mo, err, sizeof err);
		ok = m && mpa_mon_run(m, err, sizeof err) == 0;
	}
	fprintf(stderr, "\r\033[K");
	if (!ok) {
		fprintf(stderr, PROG ": %s: %s\n", capture, err);
		mpa_mon_close(m);
		mpa_live_stop(lv);
		mpa_config_free(cfg);
		return 1;
	}
	struct top t = {0};
	t.m = m;
	t.sn = mpa_mon_snap(m);
	t.ctx = mpa_mon_ctx(m);
	t.capture = capture;
	t.light = light;
	t.live = lv;
	/* the cursor starts at the peak of the live heap (live: follows the end) */
	t.cur = lv ? 0 : peak_index(&t);
	setlocale(LC_ALL, "");
	t.utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	if (!initscr()) {
		fprintf(stderr, PROG ": cannot start the terminal UI (TERM=%s)\n",
			getenv("TERM") ? getenv("TERM") : "");
		mpa_mon_close(m);
		mpa_config_free(cfg);
		return 1;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	colors(light);
	if (lv)
		live_pump(&t);
	loop(&t);
	endwin();
	mpa_mon_close(m);
	mpa_live_stop(lv);
	mpa_config_free(cfg);
	return 0;
}
