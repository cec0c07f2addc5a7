/* The options mpa-top and mpa-monitor share (cli.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int mpa_mon_cli_take(int argc, char **argv, int *i, const char *name, const char **v,
		     char *err, size_t errlen)
{
	if (strcmp(argv[*i], name))
		return 0;
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "%s needs a value", name);
		return -1;
	}
	*v = argv[++*i];
	return 1;
}

int mpa_mon_cli_arg(struct mpa_mon_cli *c, struct mpa_mon_opts *mo, int argc, char **argv,
		    int *i, char *err, size_t errlen)
{
	const char *a = argv[*i], *v = NULL;
	int t;

#define TAKE(name) ((t = mpa_mon_cli_take(argc, argv, i, name, &v, err, errlen)) != 0)
	if (TAKE("--interval")) {
		if (t < 0)
			return -1;
		if (mpa_mon_parse_dur(v, &mo->interval_ns) < 0 || mo->interval_ns < 1000) {
			snprintf(err, errlen, "--interval '%s': want a duration of at least 1us "
				 "(500ms, 2s, 100us)", v);
			return -1;
		}
	} else if (TAKE("--pid")) {
		char *end;
		long p;

		if (t < 0)
			return -1;
		p = strtol(v, &end, 10);
		if (end == v || *end || p <= 0 || p > INT32_MAX) {
			snprintf(err, errlen, "--pid '%s': want a process id", v);
			return -1;
		}
		mo->pid = (int32_t)p;
	} else if (TAKE("--config")) {
		if (t < 0)
			return -1;
		c->config = v;
	} else if (!strcmp(a, "--no-config")) {
		c->no_config = 1;
	} else if (TAKE("--set")) {
		if (t < 0)
			return -1;
		if (c->nsets == MPA_MON_CLI_MAX_SETS) {
			snprintf(err, errlen, "too many --set");
			return -1;
		}
		c->sets[c->nsets++] = v;
	} else if (TAKE("--live")) {
		if (t < 0)
			return -1;
		c->live = v;
	} else if (TAKE("-o")) {
		if (t < 0)
			return -1;
		c->outp = v;
	} else if (a[0] == '-' && a[1]) {
		return 0;
	} else if (c->capture) {
		snprintf(err, errlen, "one capture at a time ('%s' and '%s')", c->capture, a);
		return -1;
	} else {
		c->capture = a;
	}
#undef TAKE
	return 1;
}

mpa_config *mpa_mon_cli_config(const struct mpa_mon_cli *c, char *err, size_t errlen)
{
	mpa_config *cfg = mpa_mon_config(c->config, c->no_config, err, errlen);

	if (!cfg)
		return NULL;
	for (int k = 0; k < c->nsets; k++)
		if (mpa_mon_config_set(cfg, c->sets[k], err, errlen) < 0) {
			mpa_config_free(cfg);
			return NULL;
		}
	return cfg;
}
