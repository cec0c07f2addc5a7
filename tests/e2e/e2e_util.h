/* Helpers shared by the end-to-end tests. */
#ifndef MPA_E2E_UTIL_H
#define MPA_E2E_UTIL_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/wait.h>

static inline const char *e2e_env(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

/* Runs a shell command; its exit status, or 128 when it did not exit. */
static inline int e2e_sh(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The integer at root.path[0].path[1]... (NULL-terminated); asserts. */
static inline long long e2e_jnum(json_t *root, const char *const *path)
{
	json_t *j = root;
	for (; *path; path++) {
		j = json_object_get(j, *path);
		cr_assert_not_null(j, "missing JSON member '%s'", *path);
	}
	cr_assert(json_is_integer(j), "JSON member is not an integer");
	return (long long)json_integer_value(j);
}

#endif
