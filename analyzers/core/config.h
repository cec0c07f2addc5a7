/* mpa analysis core — configuration: declared options, the strict .mpa.toml
 * reader, --set, --show-config.  Depends on include/mpa/analyzer.h and
 * jansson only.
 */
#ifndef MPA_CORE_CONFIG_H
#define MPA_CORE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "mpa/analyzer.h"

/* The options the framework itself declares ([visualization], [monitoring],
 * [alerts] cache_hit_ratio_threshold).  Terminated by {NULL}. */
extern const struct mpa_option mpa_framework_options[];

/* A configuration holding every option of the framework and of every
 * analyzer in mpa_analyzers[], at its default.  Options declared twice (same
 * section and key) must agree on the type and the default; otherwise this
 * fails with a message naming both owners.  NULL on failure (err filled). */
mpa_config *mpa_config_create(char *err, size_t errlen);
/* Declares more options (owner names them in --show-config and errors). */
int mpa_config_declare(mpa_config *c, const char *owner, const struct mpa_option *opts,
		       char *err, size_t errlen);
/* Reads a .mpa.toml file: flat tables, `key = value`, comments, strings,
 * integers, floats, booleans.  An unknown table or key, a value of the wrong
 * type, or a syntax error fails with "FILE:LINE: reason".  Values set here
 * record "FILE:LINE" as their source. */
int mpa_config_load_file(mpa_config *c, const char *path, char *err, size_t errlen);
/* Same, from memory; name is used in messages and sources. */
int mpa_config_load_text(mpa_config *c, const char *text, size_t len, const char *name,
			 char *err, size_t errlen);
/* Sets one value from text.  For string options the text is taken as is
 * unless it is a quoted TOML string; other types are parsed as in a file.
 * source is recorded ("command line"). */
int mpa_config_set(mpa_config *c, const char *section, const char *key, const char *text,
		   const char *source, char *err, size_t errlen);
/* Whether section.key is declared. */
int mpa_config_has(const mpa_config *c, const char *section, const char *key);
/* Writes every effective value, sorted by section then key, with its source
 * and owner, as TOML the parser accepts back ("key = value  # source"). */
int mpa_config_write(const mpa_config *c, FILE *f);
/* The configuration as a JSON object {section: {key: value}} (new ref). */
json_t *mpa_config_json(const mpa_config *c);
void mpa_config_free(mpa_config *c);

#endif /* MPA_CORE_CONFIG_H */
