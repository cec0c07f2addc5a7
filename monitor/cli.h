/* mpa monitor — the command-line options mpa-top and mpa-monitor share
 * (--interval, --pid, --config, --no-config, --set, --live, -o and the
 * capture), parsed one argument at a time beside each command's own, and
 * the configuration they give.  Library rules: errors into err, the
 * commands print them. */
#ifndef MPA_MONITOR_CLI_H
#define MPA_MONITOR_CLI_H

#include <stddef.h>

#include "session.h"

#define MPA_MON_CLI_MAX_SETS 64

struct mpa_mon_cli {
	const char *capture, *config, *live, *outp; /* weak: argv's */
	const char *sets[MPA_MON_CLI_MAX_SETS];     /* --set KEY=VALUE, in order */
	int nsets, no_config;
};

/* The option `name` at argv[*i]: 1 with *v its value (*i moves past it),
 * 0 when argv[*i] is another, -1 when the value is missing (err). */
int mpa_mon_cli_take(int argc, char **argv, int *i, const char *name, const char **v,
		     char *err, size_t errlen);

/* One shared option or the capture at argv[*i] (*i moves past a value):
 * 1 taken (into c, or mo's interval_ns / pid), 0 an option it does not
 * know, -1 a bad one (err). */
int mpa_mon_cli_arg(struct mpa_mon_cli *c, struct mpa_mon_opts *mo, int argc, char **argv,
		    int *i, char *err, size_t errlen);

/* The configuration (--config or .mpa.toml, none with --no-config) with
 * the --set assignments applied; NULL with err. */
mpa_config *mpa_mon_cli_config(const struct mpa_mon_cli *c, char *err, size_t errlen);

#endif
