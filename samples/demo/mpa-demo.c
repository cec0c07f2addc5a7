/* mpa-demo — a small program with known memory behaviour, recorded by
 * `make demo`.  It imitates a request-serving process:
 *   - a config table loaded once and kept (lives until exit: not a leak,
 *     it is freed at exit);
 *   - per-request temporary buffers (allocated and freed at once);
 *   - a session cache that grows with realloc;
 *   - a worker thread that builds and frees lists of small same-size nodes;
 *   - one forgotten allocation per 100 requests in leaky_audit_log()
 *     (DEMO_REQUESTS / 100 blocks of 200 bytes are leaked on purpose).
 * Everything it does is deterministic; the leak total is printed on exit.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_REQUESTS 5000
#define LEAK_EVERY 100
#define LEAK_SIZE 200

static volatile uint64_t sink; /* keeps -O2 from deleting used memory */

static char **config;
static size_t config_n;

static __attribute__((noinline)) void load_config(void)
{
	config_n = 64;
	config = calloc(config_n, sizeof(*config));
	if (!config)
		abort();
	for (size_t i = 0; i < config_n; i++) {
		config[i] = malloc(32 + i);
		if (!config[i])
			abort();
		snprintf(config[i], 32 + i, "key%zu=value%zu", i, i * 7);
	}
}

static __attribute__((noinline)) void free_config(void)
{
	for (size_t i = 0; i < config_n; i++)
		free(config[i]);
	free(config);
}

static __attribute__((noinline)) void leaky_audit_log(unsigned req)
{
	char *line = malloc(LEAK_SIZE);
	if (!line)
		abort();
	snprintf(line, LEAK_SIZE, "request %u audited", req);
	sink += (uint64_t)(uintptr_t)line + (unsigned char)line[3];
	/* forgotten: never freed */
}

static __attribute__((noinline)) void handle_request(unsigned req, uint64_t **cache,
						     size_t *cache_n)
{
	size_t n = 64 + (req * 37u) % 4000;
	unsigned char *tmp = malloc(n); /* temporary: freed right away */
	if (!tmp)
		abort();
	memset(tmp, (int)(req & 0xff), n);
	sink += tmp[n / 2];
	free(tmp);

	if (req % 8 == 0) { /* the session cache grows */
		uint64_t *grown = realloc(*cache, (*cache_n + 1) * sizeof(**cache));
		if (!grown)
			abort();
		grown[*cache_n] = req;
		*cache = grown;
		(*cache_n)++;
	}
	if (req % LEAK_EVERY == LEAK_EVERY - 1)
		leaky_audit_log(req);
}

struct node {
	struct node *next;
	uint64_t payload[6];
};

static __attribute__((noinline)) void *worker(void *arg)
{
	unsigned rounds = *(unsigned *)arg;
	for (unsigned r = 0; r < rounds; r++) {
		struct node *head = NULL;
		for (unsigned i = 0; i < 200; i++) {
			struct node *nd = malloc(sizeof(*nd));
			if (!nd)
				abort();
			nd->next = head;
			nd->payload[0] = i;
			head = nd;
		}
		while (head) {
			struct node *next = head->next;
			sink += head->payload[0];
			free(head);
			head = next;
		}
	}
	return NULL;
}

int main(void)
{
	uint64_t *cache = NULL;
	size_t cache_n = 0;
	unsigned rounds = 50;
	pthread_t th;

	load_config();
	if (pthread_create(&th, NULL, worker, &rounds) != 0)
		abort();
	for (unsigned req = 0; req < DEMO_REQUESTS; req++)
		handle_request(req, &cache, &cache_n);
	pthread_join(th, NULL);
	free(cache);
	free_config();
	printf("mpa-demo: %u requests served, %u blocks (%u bytes) leaked on purpose\n",
	       DEMO_REQUESTS, DEMO_REQUESTS / LEAK_EVERY,
	       DEMO_REQUESTS / LEAK_EVERY * LEAK_SIZE);
	return sink == 42 ? 1 : 0;
}
