/*
 * The routing configuration each worker serves from memory: groups,
 * providers, upstream keys (decrypted), client keys, prices. It is read from the
 * store again only when the configuration generation in the shared
 * counters (counters.c) has moved since: every change an operator makes
 * bumps it after its commit (config_invalidate()), so it applies to the
 * next request in every worker. Checking costs one memory read per
 * request. Runtime state (key health, token use, rpm windows) is not
 * configuration: each key and client points at its slot in shared
 * memory, and changes there never reload anything. A reload decrypts
 * only the keys whose secret changed (the others are copied from the
 * configuration it replaces): 10 to 20 ms for 10,000 keys. Changes
 * made to the database file by other programs (the sqlite3 shell) are
 * not watched: they apply after the next change made through the
 * gateway, or a restart.
 */

#include <kore/kore.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dataplane/dataplane.h"

#define ARENA_BLOCK	(64 * 1024)

struct arena_block {
	struct arena_block	*next;
	size_t			 used;
	size_t			 size;
	u_int8_t		 data[];
};

/*
 * The arena being filled by config_load(). Each struct cfg owns its own
 * arena; a configuration replaced while requests still use it is freed
 * when the last of them lets go.
 */
static struct arena_block	*arena = NULL;
static struct cfg		*current = NULL;
static u_int64_t		 loaded_gen = 0;

static void	*arena_alloc(size_t);
static char	*arena_strdup(const char *);
static void	 arena_free(struct arena_block *);
static void	*array_parse(const char *, size_t *, int);
static size_t	 map_parse(const char *, char ***, char ***);
static void	 overrides_parse(struct cfg_provider *, const char *);
static char	*secret_open(sqlite3_stmt *, int);
static void	*by_id(void *, size_t, size_t, int64_t);
static int	 cmp_provider_id(const void *, const void *);
static int	 config_load_groups(struct cfg *);
static int	 config_load_providers(struct cfg *);
static int	 config_secret(struct cfg_key *, const char *, const void *,
		    size_t);
static int	 config_load_keys(struct cfg *);
static size_t	 client_slot(const char *, size_t);
static int	 config_load_clients(struct cfg *);
static int	 config_load_prices(struct cfg *);
static int	 config_load(void);

static void *
arena_alloc(size_t len)
{
	struct arena_block	*b;
	void			*p;

	len = (len + 15) & ~(size_t)15;
	if (arena == NULL || arena->size - arena->used < len) {
		b = kore_malloc(sizeof(*b) + (len > ARENA_BLOCK ?
		    len : ARENA_BLOCK));
		b->size = len > ARENA_BLOCK ? len : ARENA_BLOCK;
		b->used = 0;
		b->next = arena;
		arena = b;
	}

	p = arena->data + arena->used;
	arena->used += len;
	memset(p, 0, len);
	return (p);
}

static char *
arena_strdup(const char *s)
{
	char	*p;
	size_t	 len;

	len = strlen(s);
	p = arena_alloc(len + 1);
	memcpy(p, s, len + 1);
	return (p);
}

/* Frees an arena; decrypted secrets are wiped first. */
static void
arena_free(struct arena_block *a)
{
	struct arena_block	*b, *next;

	for (b = a; b != NULL; b = next) {
		next = b->next;
		sodium_memzero(b->data, b->used);
		kore_free(b);
	}
}

/*
 * Our own canonical JSON array of names (ids == NULL) or of ids, as
 * admin.c wrote it, into arena memory. *n receives the count.
 */
static void *
array_parse(const char *json, size_t *n, int ids)
{
	struct kore_json	 j;
	struct kore_json_item	*it;
	char			**names;
	int64_t			*nums;
	size_t			 count;

	*n = 0;
	kore_json_init(&j, json, strlen(json));
	if (!kore_json_parse(&j) || j.root->type != KORE_JSON_TYPE_ARRAY) {
		kore_json_cleanup(&j);
		return (NULL);
	}

	count = 0;
	TAILQ_FOREACH(it, &j.root->data.items, list)
		count++;
	names = arena_alloc((count + 1) *
	    (ids ? sizeof(int64_t) : sizeof(char *)));
	nums = (int64_t *)(void *)names;

	TAILQ_FOREACH(it, &j.root->data.items, list) {
		if (ids && (it->type == KORE_JSON_TYPE_INTEGER ||
		    it->type == KORE_JSON_TYPE_INTEGER_U64))
			nums[(*n)++] = it->data.s64;
		else if (!ids && it->type == KORE_JSON_TYPE_STRING)
			names[(*n)++] = arena_strdup(it->data.string);
	}

	kore_json_cleanup(&j);
	return (names);
}

/*
 * The members of JSON object obj into arena memory: names in *from,
 * values in *to (strings as they are, unless as_json; other values as
 * JSON text). Returns the number of members.
 */
static size_t
map_items(const struct kore_json_item *obj, char ***from, char ***to,
    int as_json)
{
	struct kore_json_item	*it;
	struct kore_buf		 v;
	size_t			 n;

	n = 0;
	TAILQ_FOREACH(it, &obj->data.items, list)
		n++;
	*from = arena_alloc(sizeof(char *) * (n + 1));
	*to = arena_alloc(sizeof(char *) * (n + 1));
	n = 0;
	kore_buf_init(&v, 64);
	TAILQ_FOREACH(it, &obj->data.items, list) {
		kore_buf_reset(&v);
		if (it->type == KORE_JSON_TYPE_STRING && !as_json)
			kore_buf_appendf(&v, "%s", it->data.string);
		else
			json_value(&v, it);
		(*from)[n] = arena_strdup(it->name);
		(*to)[n++] = arena_strdup(kore_buf_stringify(&v, NULL));
	}
	kore_buf_cleanup(&v);

	return (n);
}

/* Our own canonical JSON object of names, as admin.c wrote it. */
static size_t
map_parse(const char *json, char ***from, char ***to)
{
	struct kore_json	j;
	size_t			n;

	n = 0;
	kore_json_init(&j, json, strlen(json));
	if (kore_json_parse(&j) && j.root->type == KORE_JSON_TYPE_OBJECT)
		n = map_items(j.root, from, to, 0);
	kore_json_cleanup(&j);

	return (n);
}

/* body_overrides: {"set": {...}, "remove": [...]}, as admin.c wrote it. */
static void
overrides_parse(struct cfg_provider *p, const char *json)
{
	struct kore_json	 j;
	struct kore_json_item	*set, *remove, *it;
	size_t			 n;

	kore_json_init(&j, json, strlen(json));
	if (!kore_json_parse(&j) || j.root->type != KORE_JSON_TYPE_OBJECT) {
		kore_json_cleanup(&j);
		return;
	}

	if ((set = json_get(j.root, "set")) != NULL &&
	    set->type == KORE_JSON_TYPE_OBJECT)
		p->nset = map_items(set, &p->set_names, &p->set_values, 1);
	if ((remove = json_get(j.root, "remove")) != NULL &&
	    remove->type == KORE_JSON_TYPE_ARRAY) {
		n = 0;
		TAILQ_FOREACH(it, &remove->data.items, list)
			n++;
		p->remove_names = arena_alloc(sizeof(char *) * (n + 1));
		TAILQ_FOREACH(it, &remove->data.items, list) {
			if (it->type == KORE_JSON_TYPE_STRING)
				p->remove_names[p->nremove++] =
				    arena_strdup(it->data.string);
		}
	}
	kore_json_cleanup(&j);
}

/*
 * The secret sealed in column col of st, decrypted into arena memory
 * (wiped with it), or NULL when there is none or it cannot be opened.
 */
static char *
secret_open(sqlite3_stmt *st, int col)
{
	char	*plain, *copy;

	if (sqlite3_column_bytes(st, col) == 0)
		return (NULL);
	if ((plain = secrets_open(sqlite3_column_blob(st, col),
	    (size_t)sqlite3_column_bytes(st, col))) == NULL)
		return (NULL);
	copy = arena_strdup(plain);
	sodium_memzero(plain, strlen(plain));
	kore_free(plain);

	return (copy);
}

/*
 * The element with id of a sorted array of structs whose first member
 * is their id (groups and keys are read in id order); NULL if none.
 */
static void *
by_id(void *base, size_t n, size_t size, int64_t id)
{
	size_t	lo, hi, mid;
	int64_t	v;

	lo = 0;
	hi = n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		v = *(int64_t *)(void *)((u_int8_t *)base + mid * size);
		if (v == id)
			return ((u_int8_t *)base + mid * size);
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}

	return (NULL);
}

static int
cmp_provider_id(const void *a, const void *b)
{
	const struct cfg_provider	*x = *(struct cfg_provider *const *)a;
	const struct cfg_provider	*y = *(struct cfg_provider *const *)b;

	return ((x->id > y->id) - (x->id < y->id));
}

static int
config_load_groups(struct cfg *c)
{
	sqlite3_stmt	*st;
	size_t		 n;

	n = (size_t)store_count("SELECT count(*) FROM groups");
	c->groups = arena_alloc(sizeof(*c->groups) * (n + 1));
	if ((st = store_prepare("SELECT id, name, priority, enabled, "
	    "CASE strategy WHEN 'weighted' THEN 1 WHEN 'least_latency' "
	    "THEN 2 ELSE 0 END, affinity = 'session', "
	    "latency_half_life_seconds FROM groups ORDER BY id")) == NULL)
		return (KORE_RESULT_ERROR);
	while (sqlite3_step(st) == SQLITE_ROW && c->ngroups < n) {
		c->groups[c->ngroups].id = sqlite3_column_int64(st, 0);
		c->groups[c->ngroups].name = arena_strdup(
		    (const char *)sqlite3_column_text(st, 1));
		c->groups[c->ngroups].priority = sqlite3_column_int64(st, 2);
		c->groups[c->ngroups].enabled = sqlite3_column_int(st, 3);
		c->groups[c->ngroups].strategy = sqlite3_column_int(st, 4);
		c->groups[c->ngroups].affinity = sqlite3_column_int(st, 5);
		c->groups[c->ngroups].half_life_ms =
		    sqlite3_column_int64(st, 6) * 1000;
		c->ngroups++;
	}
	sqlite3_finalize(st);

	return (KORE_RESULT_OK);
}

static int
config_load_providers(struct cfg *c)
{
	struct cfg_provider	*p;
	sqlite3_stmt		*st;
	size_t			 n;

	n = (size_t)store_count("SELECT count(*) FROM providers");
	c->providers = arena_alloc(sizeof(*c->providers) * (n + 1));
	if ((st = store_prepare("SELECT p.id, p.group_id, p.name, p.base_url, "
	    "p.models, p.model_aliases, p.weight, p.enabled, p.timeout_ms, "
	    "p.tls_verify, p.ca_cert, p.type, p.responses_api, p.proxy_secret, "
	    "p.extra_headers, p.body_overrides, p.failover_statuses, "
	    "p.no_cooldown_statuses, p.probe_interval_seconds, "
	    "p.probe_disabled FROM providers p "
	    "JOIN groups g ON g.id = p.group_id "
	    "ORDER BY g.priority DESC, p.id")) == NULL)
		return (KORE_RESULT_ERROR);
	while (sqlite3_step(st) == SQLITE_ROW && c->nproviders < n) {
		p = &c->providers[c->nproviders];
		p->id = sqlite3_column_int64(st, 0);
		if ((p->group = by_id(c->groups, c->ngroups, sizeof(*c->groups),
		    sqlite3_column_int64(st, 1))) == NULL)
			continue;
		p->name = arena_strdup((const char *)sqlite3_column_text(st, 2));
		p->base_url = arena_strdup(
		    (const char *)sqlite3_column_text(st, 3));
		p->models = array_parse((const char *)sqlite3_column_text(st, 4),
		    &p->nmodels, 0);
		p->naliases = map_parse((const char *)sqlite3_column_text(st,
		    5), &p->alias_from, &p->alias_to);
		p->weight = sqlite3_column_int64(st, 6);
		p->enabled = sqlite3_column_int(st, 7);
		p->timeout_ms = sqlite3_column_int64(st, 8);
		p->tls_verify = sqlite3_column_int(st, 9);
		p->ca_cert = arena_strdup(
		    (const char *)sqlite3_column_text(st, 10));
		if ((p->fmt = xlate_format(
		    (const char *)sqlite3_column_text(st, 11))) == -1)
			p->fmt = XF_OPENAI;
		p->responses_api = sqlite3_column_int(st, 12);
		p->proxy_url = secret_open(st, 13);
		p->nheaders = map_parse((const char *)sqlite3_column_text(st,
		    14), &p->header_names, &p->header_values);
		overrides_parse(p, (const char *)sqlite3_column_text(st, 15));
		p->policy.failover = array_parse((const char *)
		    sqlite3_column_text(st, 16), &p->policy.nfailover, 1);
		p->policy.no_cooldown = array_parse((const char *)
		    sqlite3_column_text(st, 17), &p->policy.nno_cooldown, 1);
		p->probe_interval = sqlite3_column_int64(st, 18);
		p->probe_disabled = sqlite3_column_int(st, 19);
		c->nproviders++;
	}
	sqlite3_finalize(st);

	return (KORE_RESULT_OK);
}

/*
 * Fill k (id set) from its row's hash and sealed secret: from the key
 * of the previous configuration when it had the same secret (a reload
 * decrypts only new and changed keys, and finds their shared health
 * again without a lookup), otherwise opened with the master key.
 * KORE_RESULT_ERROR when it cannot be decrypted.
 */
static int
config_secret(struct cfg_key *k, const char *hash, const void *blob,
    size_t len)
{
	struct cfg_key	*old;
	char		*secret;

	if (current != NULL && (old = by_id(current->keys, current->nkeys,
	    sizeof(*current->keys), k->id)) != NULL &&
	    strcmp(old->hash, hash) == 0) {
		k->secret = arena_strdup(old->secret);
		k->hash = arena_strdup(hash);
		if (!old->own_health)
			k->health = old->health;
		return (KORE_RESULT_OK);
	}

	if ((secret = secrets_open(blob, len)) == NULL) {
		kore_log(LOG_ERR, "upstream key %lld cannot be decrypted: "
		    "wrong master key?", (long long)k->id);
		return (KORE_RESULT_ERROR);
	}
	k->hash = arena_strdup(hash);
	k->secret = arena_strdup(secret);
	sodium_memzero(secret, strlen(secret));
	kore_free(secret);

	return (KORE_RESULT_OK);
}

static int
config_load_keys(struct cfg *c)
{
	struct cfg_provider	**ids, **pp, key, *probe, *p;
	struct cfg_key		*k;
	sqlite3_stmt		*st;
	size_t			 i, n;

	/* Providers by id, to place each key. */
	ids = arena_alloc(sizeof(*ids) * (c->nproviders + 1));
	for (i = 0; i < c->nproviders; i++)
		ids[i] = &c->providers[i];
	qsort(ids, c->nproviders, sizeof(*ids), cmp_provider_id);

	n = (size_t)store_count("SELECT count(*) FROM upstream_keys");
	c->keys = arena_alloc(sizeof(*c->keys) * (n + 1));
	if ((st = store_prepare("SELECT id, provider_id, secret_hash, secret, "
	    "key_masked, enabled FROM upstream_keys ORDER BY id")) == NULL)
		return (KORE_RESULT_ERROR);
	while (sqlite3_step(st) == SQLITE_ROW && c->nkeys < n) {
		k = &c->keys[c->nkeys];
		k->id = sqlite3_column_int64(st, 0);
		key.id = sqlite3_column_int64(st, 1);
		probe = &key;
		if ((pp = bsearch(&probe, ids, c->nproviders, sizeof(*ids),
		    cmp_provider_id)) == NULL)
			continue;
		k->health = NULL;
		if (config_secret(k, (const char *)sqlite3_column_text(st, 2),
		    sqlite3_column_blob(st, 3),
		    (size_t)sqlite3_column_bytes(st, 3)) != KORE_RESULT_OK)
			continue;
		k->provider = *pp;
		k->masked = arena_strdup((const char *)sqlite3_column_text(st, 4));
		k->enabled = sqlite3_column_int(st, 5);
		if (k->health == NULL &&
		    (k->health = counters_key(k->id, 1)) == NULL) {
			/* No room left: health of this worker's own. */
			kore_log(LOG_WARNING, "upstream key %lld: no room in "
			    "shared memory; restart to make room",
			    (long long)k->id);
			k->health = arena_alloc(sizeof(*k->health));
			k->own_health = 1;
		}
		k->provider->nkeys++;
		c->nkeys++;
	}
	sqlite3_finalize(st);

	for (i = 0; i < c->nproviders; i++) {
		p = &c->providers[i];
		p->keys = arena_alloc(sizeof(struct cfg_key *) * (p->nkeys + 1));
		p->nkeys = 0;
	}
	for (i = 0; i < c->nkeys; i++) {
		p = c->keys[i].provider;
		p->keys[p->nkeys++] = &c->keys[i];
	}

	return (KORE_RESULT_OK);
}

/* FNV-1a of a keyed hash's hex digits: where it sits in the index. */
static size_t
client_slot(const char *hash, size_t mask)
{
	u_int64_t	h;
	size_t		i;

	h = 1469598103934665603ULL;
	for (i = 0; i < SECRET_HASH_HEX - 1 && hash[i] != '\0'; i++) {
		h ^= (unsigned char)hash[i];
		h *= 1099511628211ULL;
	}

	return ((size_t)h & mask);
}

static int
config_load_clients(struct cfg *c)
{
	struct cfg_client	*cl;
	sqlite3_stmt		*st;
	size_t			 i, n, j, cap;

	n = (size_t)store_count("SELECT count(*) FROM client_keys");
	c->clients = arena_alloc(sizeof(*c->clients) * (n + 1));
	if ((st = store_prepare("SELECT id, key_hash, name, allowed_models, "
	    "allowed_groups, enabled, expires_at, rpm_limit, token_quota, "
	    "budget_daily, budget_monthly, budget_total "
	    "FROM client_keys")) == NULL)
		return (KORE_RESULT_ERROR);
	while (sqlite3_step(st) == SQLITE_ROW && c->nclients < n) {
		cl = &c->clients[c->nclients++];
		cl->id = sqlite3_column_int64(st, 0);
		cl->hash = arena_strdup((const char *)sqlite3_column_text(st, 1));
		cl->name = arena_strdup((const char *)sqlite3_column_text(st, 2));
		cl->models = array_parse(
		    (const char *)sqlite3_column_text(st, 3), &cl->nmodels, 0);
		cl->groups = array_parse(
		    (const char *)sqlite3_column_text(st, 4), &cl->ngroups, 1);
		cl->enabled = sqlite3_column_int(st, 5);
		cl->expires_at = sqlite3_column_int64(st, 6);
		cl->rpm_limit = sqlite3_column_int64(st, 7);
		cl->token_quota = sqlite3_column_int64(st, 8);
		cl->budget[BUDGET_DAILY] = sqlite3_column_int64(st, 9);
		cl->budget[BUDGET_MONTHLY] = sqlite3_column_int64(st, 10);
		cl->budget[BUDGET_TOTAL] = sqlite3_column_int64(st, 11);
	}
	sqlite3_finalize(st);

	/* An open-addressing index by hash, at most half full. */
	for (cap = 16; cap < c->nclients * 2; cap *= 2)
		;
	c->client_index = arena_alloc(sizeof(int32_t) * cap);
	c->client_index_mask = cap - 1;
	for (j = 0; j < cap; j++)
		c->client_index[j] = -1;
	for (i = 0; i < c->nclients; i++) {
		j = client_slot(c->clients[i].hash, c->client_index_mask);
		while (c->client_index[j] != -1)
			j = (j + 1) & c->client_index_mask;
		c->client_index[j] = (int32_t)i;
	}

	return (KORE_RESULT_OK);
}

/* The price rows (price.c finds the one that applies). */
static int
config_load_prices(struct cfg *c)
{
	struct price	*p;
	sqlite3_stmt	*st;
	size_t		 n;

	n = (size_t)store_count("SELECT count(*) FROM prices");
	c->prices = arena_alloc(sizeof(*c->prices) * (n + 1));
	if ((st = store_prepare("SELECT coalesce(provider_id, 0), model, "
	    "input, cached_input, cache_write, output, "
	    "coalesce(reasoning, -1), per_request FROM prices")) == NULL)
		return (KORE_RESULT_ERROR);
	while (sqlite3_step(st) == SQLITE_ROW && c->nprices < n) {
		p = &c->prices[c->nprices++];
		p->provider_id = sqlite3_column_int64(st, 0);
		(void)kore_strlcpy(p->model,
		    (const char *)sqlite3_column_text(st, 1), sizeof(p->model));
		p->input = sqlite3_column_int64(st, 2);
		p->cached_input = sqlite3_column_int64(st, 3);
		p->cache_write = sqlite3_column_int64(st, 4);
		p->output = sqlite3_column_int64(st, 5);
		p->reasoning = sqlite3_column_int64(st, 6);
		p->per_request = sqlite3_column_int64(st, 7);
	}
	sqlite3_finalize(st);

	return (KORE_RESULT_OK);
}

/*
 * Read the configuration from the store into a new arena and make it
 * current. Keys whose secret did not change keep their decrypted copy;
 * health and token use are not part of it (they live in shared memory).
 */
static int
config_load(void)
{
	struct cfg	*c;

	arena = NULL;
	c = arena_alloc(sizeof(*c));

	if (config_load_groups(c) != KORE_RESULT_OK ||
	    config_load_providers(c) != KORE_RESULT_OK ||
	    config_load_keys(c) != KORE_RESULT_OK ||
	    config_load_clients(c) != KORE_RESULT_OK ||
	    config_load_prices(c) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);

	c->arena = arena;
	arena = NULL;
	if (current != NULL) {
		current->retired = 1;
		config_release(current);
	}
	c->refs = 1;
	current = c;
	(void)counters_config_loads(1);

	return (KORE_RESULT_OK);
}

/*
 * The configuration to serve a request from, reloaded first when the
 * generation moved. The caller holds it until config_release(). NULL
 * when the store cannot be read.
 */
struct cfg *
config_acquire(void)
{
	u_int64_t	gen;

	/* Read before loading: a change committed meanwhile reloads again. */
	gen = counters_config_gen();
	if (current == NULL || gen != loaded_gen) {
		if (config_load() != KORE_RESULT_OK) {
			kore_log(LOG_ERR, "cannot load the routing "
			    "configuration");
			arena_free(arena);
			arena = NULL;
			return (NULL);
		}
		loaded_gen = gen;
	}

	current->refs++;
	return (current);
}

/* Let go of c; a replaced configuration goes with its last user. */
void
config_release(struct cfg *c)
{
	if (--c->refs == 0)
		arena_free(c->arena);
}

/*
 * A change every worker must serve has been committed: each of them,
 * this one included, reloads before its next request.
 */
void
config_invalidate(void)
{
	counters_config_bump();
}

/* The client key whose keyed hash is hash, or NULL. */
struct cfg_client *
config_client(struct cfg *c, const char *hash)
{
	size_t	j;
	int32_t	i;

	j = client_slot(hash, c->client_index_mask);
	while ((i = c->client_index[j]) != -1) {
		if (sodium_memcmp(c->clients[i].hash, hash,
		    SECRET_HASH_HEX - 1) == 0)
			return (&c->clients[i]);
		j = (j + 1) & c->client_index_mask;
	}

	return (NULL);
}

struct cfg_provider *
config_provider(struct cfg *c, int64_t id)
{
	size_t	i;

	for (i = 0; i < c->nproviders; i++) {
		if (c->providers[i].id == id)
			return (&c->providers[i]);
	}

	return (NULL);
}

/* The key with id, or NULL (keys are read in id order). */
struct cfg_key *
config_key(struct cfg *c, int64_t id)
{
	return (by_id(c->keys, c->nkeys, sizeof(*c->keys), id));
}

/* Tokens the client has used, as all workers count them. */
int64_t
client_tokens(const struct cfg_client *cl)
{
	int64_t	n;

	return ((n = counters_tokens_used(cl->id)) < 0 ? 0 : n);
}
