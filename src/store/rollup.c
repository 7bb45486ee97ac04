/*
 * Rollups: the request log summed per minute, hour and day, written by
 * the log writer in the transaction that writes the raw rows, so that
 * every dashboard figure is read from a few rows instead of the log.
 *
 * A row of table rollups is one (dim, span, t) bucket of one combination
 * of the dimensions its dim keeps:
 *
 *	ROLLUP_FINE	 60 s	provider, key, client, model, status class
 *	ROLLUP_TOTAL	 60 s, 1 h, 1 d	status class
 *	ROLLUP_PROVIDER	 60 s, 1 h, 1 d	provider
 *	ROLLUP_CLIENT	 1 h, 1 d	client
 *	ROLLUP_MODEL	 60 s, 1 h, 1 d	model
 *
 * Per upstream key and client key, the figures of any window come from
 * running sums instead (rollup_running.c), flushed with the buckets.
 *
 * The other dimensions are 0 or ''. Each row holds the sums of
 * rollup_sums[] and a latency histogram of fixed log-scale buckets
 * (rollup_bucket()): values under 16 ms exactly, then 16 buckets per
 * power of two, so a percentile read from the buckets is within 3.2 %
 * of the exact one. Latency (sum and histogram) counts only requests
 * that reached a provider, as the dashboard's percentiles always have.
 *
 * A window is answered by the coarsest buckets that fit inside it and
 * the finer ones at its edges (rollup_read.c), a few hundred rows at
 * most for totals and models whatever the window.
 *
 * Adding a sum (a token kind, a cost) is one migration adding a column
 * and one name in rollup_sums[]; rollup_event gains the field.
 *
 * SQLite-specific: the histograms are merged by two functions registered
 * on every connection (rollup_functions()), rollup_hist_add() in the
 * writer's upsert and the aggregate rollup_hist_sum() in reads.
 */

#include <kore/kore.h>

#include <stdio.h>
#include <string.h>

#include "store/store.h"

#define HIST_EXACT	16		/* values below are their own bucket */
#define HIST_SUB	16		/* buckets per power of two above */
#define HIST_MAX_MS	((1LL << 23) - 1)
#define HIST_BLOB_MAX	(ROLLUP_HIST_BUCKETS * 12)

#define AGG_FLUSH_ROWS	50000		/* rows held before a migration flush */

const char *const rollup_sums[RS_COUNT] = {
	"requests", "errors", "cancelled", "prompt_tokens",
	"completion_tokens", "latency_ms_sum", "cached_tokens",
	"cache_write_tokens", "reasoning_tokens", "cost",
};

/*
 * The buckets each request is counted in; running: a minute of running
 * sums (rollup_running.c) instead. The migration of rollups knows the
 * first LEVELS_ROLLUPS; the later ones have a migration of their own.
 */
static const struct {
	int		dim;
	int64_t		span;
	int		running;
} levels[] = {
	{ ROLLUP_FINE, 60, 0 },
	{ ROLLUP_TOTAL, 60, 0 }, { ROLLUP_TOTAL, 3600, 0 },
	{ ROLLUP_TOTAL, 86400, 0 },
	{ ROLLUP_PROVIDER, 60, 0 }, { ROLLUP_PROVIDER, 3600, 0 },
	{ ROLLUP_PROVIDER, 86400, 0 },
	{ ROLLUP_CLIENT, 3600, 0 }, { ROLLUP_CLIENT, 86400, 0 },
	{ ROLLUP_MODEL, 60, 0 }, { ROLLUP_MODEL, 3600, 0 },
	{ ROLLUP_MODEL, 86400, 0 },
	{ ROLLUP_KEY, 60, 1 }, { ROLLUP_CLIENT, 60, 1 },
};

#define NLEVELS		(sizeof(levels) / sizeof(levels[0]))
#define LEVELS_ROLLUPS	9

struct agg_bucket {
	u_int16_t	b;
	u_int64_t	n;
};

struct agg_row {
	int			 used;
	int			 running;	/* running sums, not a bucket */
	int			 dim;
	int			 status_class;
	int64_t			 span;
	int64_t			 t;
	int64_t			 provider_id;
	int64_t			 key_id;
	int64_t			 client_id;
	char			*model;
	u_int64_t		 hash;
	int64_t			 sums[RS_COUNT];
	struct agg_bucket	*hist;
	size_t			 nhist;
	size_t			 hist_cap;
};

struct rollup_agg {
	struct agg_row		*rows;
	size_t			 cap;		/* a power of two */
	size_t			 n;
	size_t			 nlevels;	/* of levels[] counted */
};

static u_int64_t	agg_hash(const struct agg_row *);
static int		agg_same(const struct agg_row *, const struct agg_row *);
static void		agg_grow(struct rollup_agg *);
static struct agg_row	*agg_find(struct rollup_agg *, const struct agg_row *);
static void		agg_hist_add(struct agg_row *, int, u_int64_t);
static size_t		varint_put(u_int8_t *, u_int64_t);
static int		varint_get(const u_int8_t *, size_t, size_t *,
			    u_int64_t *);
static void		sql_hist_add(sqlite3_context *, int, sqlite3_value **);
static void		sql_hist_step(sqlite3_context *, int,
			    sqlite3_value **);
static void		sql_hist_final(sqlite3_context *);
static void		sql_hist_result(sqlite3_context *,
			    const struct rollup_hist *);

/*
 * The bucket of a latency of ms milliseconds. This function can't fail:
 * negative values count as 0, values past 2^23 ms as the last bucket.
 */
int
rollup_bucket(int64_t ms)
{
	int	e;

	if (ms < HIST_EXACT)
		return (ms < 0 ? 0 : (int)ms);
	if (ms > HIST_MAX_MS)
		ms = HIST_MAX_MS;

	e = 63 - __builtin_clzll((unsigned long long)ms);	/* >= 4 */
	return (HIST_EXACT + (e - 4) * HIST_SUB +
	    (int)((ms >> (e - 4)) & (HIST_SUB - 1)));
}

/* The value a bucket stands for: the middle of the values it holds. */
int64_t
rollup_bucket_ms(int b)
{
	int64_t	lo, width;
	int	e;

	if (b < HIST_EXACT)
		return (b);
	e = (b - HIST_EXACT) / HIST_SUB + 4;
	width = 1LL << (e - 4);
	lo = (int64_t)(HIST_SUB + (b - HIST_EXACT) % HIST_SUB) * width;
	return (lo + width / 2);
}

/* The nearest-rank pct-th percentile of h; 0 when h is empty. */
int64_t
rollup_percentile(const struct rollup_hist *h, int pct)
{
	u_int64_t	total, rank, seen;
	int		b;

	total = 0;
	for (b = 0; b < ROLLUP_HIST_BUCKETS; b++)
		total += h->n[b];
	if (total == 0)
		return (0);

	rank = (total * (u_int64_t)pct + 99) / 100;
	if (rank == 0)
		rank = 1;
	seen = 0;
	for (b = 0; b < ROLLUP_HIST_BUCKETS; b++) {
		seen += h->n[b];
		if (seen >= rank)
			break;
	}

	return (rollup_bucket_ms(b < ROLLUP_HIST_BUCKETS ? b :
	    ROLLUP_HIST_BUCKETS - 1));
}

static size_t
varint_put(u_int8_t *out, u_int64_t v)
{
	size_t	n;

	n = 0;
	do {
		out[n] = (u_int8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			out[n] |= 0x80;
		n++;
	} while (v != 0);

	return (n);
}

static int
varint_get(const u_int8_t *p, size_t len, size_t *off, u_int64_t *out)
{
	u_int64_t	v;
	int		shift;

	v = 0;
	for (shift = 0; shift < 64 && *off < len; shift += 7) {
		v |= (u_int64_t)(p[*off] & 0x7f) << shift;
		if ((p[(*off)++] & 0x80) == 0) {
			*out = v;
			return (0);
		}
	}

	return (-1);
}

/*
 * h as stored: (bucket, count) varint pairs of the non-empty buckets in
 * ascending order, into out (HIST_BLOB_MAX bytes are always enough).
 * Returns the length.
 */
size_t
rollup_hist_encode(const struct rollup_hist *h, u_int8_t *out, size_t len)
{
	size_t	n;
	int	b;

	n = 0;
	for (b = 0; b < ROLLUP_HIST_BUCKETS; b++) {
		if (h->n[b] == 0)
			continue;
		if (len - n < 12)
			break;
		n += varint_put(out + n, (u_int64_t)b);
		n += varint_put(out + n, h->n[b]);
	}

	return (n);
}

/* Add the stored histogram p to h. Returns 0, or -1 when p is not one. */
int
rollup_hist_decode(const u_int8_t *p, size_t len, struct rollup_hist *h)
{
	u_int64_t	b, n;
	size_t		off;

	off = 0;
	while (off < len) {
		if (varint_get(p, len, &off, &b) == -1 ||
		    varint_get(p, len, &off, &n) == -1 ||
		    b >= ROLLUP_HIST_BUCKETS)
			return (-1);
		h->n[b] += n;
	}

	return (0);
}

static void
sql_hist_result(sqlite3_context *ctx, const struct rollup_hist *h)
{
	u_int8_t	out[HIST_BLOB_MAX];
	size_t		len;

	len = rollup_hist_encode(h, out, sizeof(out));
	sqlite3_result_blob(ctx, out, (int)len, SQLITE_TRANSIENT);
}

/* SQL rollup_hist_add(a, b): the histogram of both. */
static void
sql_hist_add(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct rollup_hist	h;
	int			i;

	memset(&h, 0, sizeof(h));
	for (i = 0; i < argc; i++) {
		if (sqlite3_value_type(argv[i]) != SQLITE_BLOB)
			continue;
		if (rollup_hist_decode(sqlite3_value_blob(argv[i]),
		    (size_t)sqlite3_value_bytes(argv[i]), &h) == -1) {
			sqlite3_result_error(ctx, "not a latency histogram",
			    -1);
			return;
		}
	}

	sql_hist_result(ctx, &h);
}

/* SQL aggregate rollup_hist_sum(h): the histogram of a group's rows. */
static void
sql_hist_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct rollup_hist	*h;

	(void)argc;
	if ((h = sqlite3_aggregate_context(ctx, sizeof(*h))) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (sqlite3_value_type(argv[0]) == SQLITE_BLOB &&
	    rollup_hist_decode(sqlite3_value_blob(argv[0]),
	    (size_t)sqlite3_value_bytes(argv[0]), h) == -1)
		sqlite3_result_error(ctx, "not a latency histogram", -1);
}

static void
sql_hist_final(sqlite3_context *ctx)
{
	struct rollup_hist	*h, empty;

	if ((h = sqlite3_aggregate_context(ctx, 0)) == NULL) {
		memset(&empty, 0, sizeof(empty));
		h = &empty;
	}
	sql_hist_result(ctx, h);
}

/* Register the histogram functions on connection db. */
int
rollup_functions(sqlite3 *db)
{
	int	flags;

	flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
	if (sqlite3_create_function(db, "rollup_hist_add", 2, flags, NULL,
	    sql_hist_add, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "rollup_hist_sum", 1, flags, NULL,
	    NULL, sql_hist_step, sql_hist_final) != SQLITE_OK) {
		kore_log(LOG_ERR, "rollup functions: %s", sqlite3_errmsg(db));
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/* What a request counts as: "ok", "cancelled", anything else an error. */
int
rollup_outcome(const char *outcome)
{
	if (strcmp(outcome, "ok") == 0)
		return (ROLLUP_OK);
	if (strcmp(outcome, "cancelled") == 0)
		return (ROLLUP_CANCELLED);
	return (ROLLUP_ERROR);
}

struct rollup_agg *
rollup_agg_new(void)
{
	struct rollup_agg	*a;

	a = kore_calloc(1, sizeof(*a));
	a->nlevels = NLEVELS;
	return (a);
}

void
rollup_agg_free(struct rollup_agg *a)
{
	size_t	i;

	if (a == NULL)
		return;
	for (i = 0; i < a->cap; i++) {
		kore_free(a->rows[i].model);
		kore_free(a->rows[i].hist);
	}
	kore_free(a->rows);
	kore_free(a);
}

size_t
rollup_agg_rows(const struct rollup_agg *a)
{
	return (a->n);
}

/* FNV-1a over the dimensions of r. */
static u_int64_t
agg_hash(const struct agg_row *r)
{
	int64_t		v[7];
	const u_int8_t	*p;
	u_int64_t	h;
	size_t		i;

	v[0] = r->dim + (r->running ? 100 : 0);
	v[1] = r->span;
	v[2] = r->t;
	v[3] = r->provider_id;
	v[4] = r->key_id;
	v[5] = r->client_id;
	v[6] = r->status_class;

	h = 1469598103934665603ULL;
	p = (const u_int8_t *)v;
	for (i = 0; i < sizeof(v); i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	for (p = (const u_int8_t *)r->model; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}

	return (h);
}

static int
agg_same(const struct agg_row *a, const struct agg_row *b)
{
	return (a->hash == b->hash && a->dim == b->dim &&
	    a->running == b->running &&
	    a->span == b->span && a->t == b->t &&
	    a->provider_id == b->provider_id && a->key_id == b->key_id &&
	    a->client_id == b->client_id &&
	    a->status_class == b->status_class &&
	    strcmp(a->model, b->model) == 0);
}

/* Double the table (open addressing, linear probing). */
static void
agg_grow(struct rollup_agg *a)
{
	struct agg_row	*old;
	size_t		 i, j, oldcap;

	old = a->rows;
	oldcap = a->cap;
	a->cap = oldcap ? oldcap * 2 : 64;
	a->rows = kore_calloc(a->cap, sizeof(*a->rows));

	for (i = 0; i < oldcap; i++) {
		if (!old[i].used) {
			kore_free(old[i].model);
			kore_free(old[i].hist);
			continue;
		}
		j = old[i].hash & (a->cap - 1);
		while (a->rows[j].used)
			j = (j + 1) & (a->cap - 1);
		a->rows[j] = old[i];
	}
	kore_free(old);
}

/* The row with the dimensions of key, made empty when it is new. */
static struct agg_row *
agg_find(struct rollup_agg *a, const struct agg_row *key)
{
	struct agg_row	*r;
	size_t		 i;

	if ((a->n + 1) * 2 > a->cap)
		agg_grow(a);

	i = key->hash & (a->cap - 1);
	for (;;) {
		r = &a->rows[i];
		if (!r->used)
			break;
		if (agg_same(r, key))
			return (r);
		i = (i + 1) & (a->cap - 1);
	}

	/* A slot emptied by a flush keeps its buffers for reuse. */
	kore_free(r->model);
	r->model = kore_strdup(key->model);
	r->used = 1;
	r->running = key->running;
	r->dim = key->dim;
	r->span = key->span;
	r->t = key->t;
	r->provider_id = key->provider_id;
	r->key_id = key->key_id;
	r->client_id = key->client_id;
	r->status_class = key->status_class;
	r->hash = key->hash;
	memset(r->sums, 0, sizeof(r->sums));
	r->nhist = 0;
	a->n++;

	return (r);
}

/* Count n requests in bucket b of r's histogram (kept sorted). */
static void
agg_hist_add(struct agg_row *r, int b, u_int64_t n)
{
	size_t	i;

	for (i = 0; i < r->nhist && r->hist[i].b < b; i++)
		;
	if (i < r->nhist && r->hist[i].b == b) {
		r->hist[i].n += n;
		return;
	}

	if (r->nhist == r->hist_cap) {
		r->hist_cap = r->hist_cap ? r->hist_cap * 2 : 4;
		r->hist = kore_realloc(r->hist,
		    r->hist_cap * sizeof(*r->hist));
	}
	memmove(&r->hist[i + 1], &r->hist[i],
	    (r->nhist - i) * sizeof(*r->hist));
	r->hist[i].b = (u_int16_t)b;
	r->hist[i].n = n;
	r->nhist++;
}

/* Count one request in every bucket it belongs to. */
void
rollup_agg_add(struct rollup_agg *a, const struct rollup_event *ev)
{
	struct agg_row	 key, *r;
	size_t		 i;
	int		 fine, bucket;

	bucket = rollup_bucket(ev->latency_ms);
	for (i = 0; i < a->nlevels; i++) {
		memset(&key, 0, sizeof(key));
		fine = (levels[i].dim == ROLLUP_FINE);
		key.running = levels[i].running;
		key.dim = levels[i].dim;
		key.span = levels[i].span;
		key.t = ev->t - ev->t % levels[i].span;
		if (fine || levels[i].dim == ROLLUP_PROVIDER)
			key.provider_id = ev->provider_id;
		if (fine || levels[i].dim == ROLLUP_KEY)
			key.key_id = ev->key_id;
		if (fine || levels[i].dim == ROLLUP_CLIENT)
			key.client_id = ev->client_id;
		/* Running sums of no key (or no client) are not kept. */
		if (key.running && key.key_id == 0 && key.client_id == 0)
			continue;
		key.model = (char *)(uintptr_t)((fine ||
		    levels[i].dim == ROLLUP_MODEL) && ev->model != NULL ?
		    ev->model : "");
		if (fine || levels[i].dim == ROLLUP_TOTAL)
			key.status_class = ev->status >= 0 &&
			    ev->status < 1000 ? ev->status / 100 : 0;
		key.hash = agg_hash(&key);

		r = agg_find(a, &key);
		r->sums[RS_REQUESTS]++;
		if (ev->outcome == ROLLUP_ERROR)
			r->sums[RS_ERRORS]++;
		else if (ev->outcome == ROLLUP_CANCELLED)
			r->sums[RS_CANCELLED]++;
		r->sums[RS_PROMPT] += ev->prompt_tokens;
		r->sums[RS_COMPLETION] += ev->completion_tokens;
		r->sums[RS_CACHED] += ev->cached_tokens;
		r->sums[RS_CACHE_WRITE] += ev->cache_write_tokens;
		r->sums[RS_REASONING] += ev->reasoning_tokens;
		r->sums[RS_COST] += ev->cost;
		if (ev->provider_id != 0) {
			r->sums[RS_LATENCY] += ev->latency_ms;
			if (!r->running)
				agg_hist_add(r, bucket, 1);
		}
	}
}

/* Forget every row held. This function can't fail. */
void
rollup_agg_clear(struct rollup_agg *a)
{
	size_t	i;

	for (i = 0; i < a->cap; i++)
		a->rows[i].used = 0;
	a->n = 0;
}

/*
 * Add every row held to table rollups on db (inside the caller's
 * transaction) and empty the aggregate. Returns KORE_RESULT_OK, or
 * KORE_RESULT_ERROR with the rows kept (the caller rolls back, and
 * clears them before it counts the same requests again).
 */
int
rollup_agg_flush(struct rollup_agg *a, sqlite3 *db)
{
	struct kore_buf		 sql;
	struct rollup_hist	 h;
	struct agg_row		*r;
	struct rollup_running	*run;
	sqlite3_stmt		*st;
	u_int8_t		 blob[HIST_BLOB_MAX];
	size_t			 i, j, len;
	int			 k, idx, ok;

	if (a->n == 0)
		return (KORE_RESULT_OK);
	run = NULL;
	if (a->nlevels > LEVELS_ROLLUPS &&
	    (run = rollup_running_begin(db)) == NULL)
		return (KORE_RESULT_ERROR);

	kore_buf_init(&sql, 1024);
	kore_buf_appendf(&sql, "INSERT INTO rollups (dim, span, t, "
	    "provider_id, upstream_key_id, client_key_id, model, "
	    "status_class");
	for (k = 0; k < RS_COUNT; k++)
		kore_buf_appendf(&sql, ", %s", rollup_sums[k]);
	kore_buf_appendf(&sql, ", latency_hist) VALUES (?,?,?,?,?,?,?,?");
	for (k = 0; k < RS_COUNT; k++)
		kore_buf_appendf(&sql, ",?");
	kore_buf_appendf(&sql, ",?) ON CONFLICT (dim, span, t, provider_id, "
	    "upstream_key_id, client_key_id, model, status_class) DO UPDATE "
	    "SET ");
	for (k = 0; k < RS_COUNT; k++) {
		kore_buf_appendf(&sql, "%s = %s + excluded.%s, ",
		    rollup_sums[k], rollup_sums[k], rollup_sums[k]);
	}
	kore_buf_appendf(&sql, "latency_hist = rollup_hist_add(latency_hist, "
	    "excluded.latency_hist)");
	st = store_prepare_on(db, kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (st == NULL) {
		rollup_running_end(run);
		return (KORE_RESULT_ERROR);
	}

	ok = 1;
	for (i = 0; ok && i < a->cap; i++) {
		r = &a->rows[i];
		if (!r->used)
			continue;
		if (r->running) {
			ok = (rollup_running_add(run, r->dim, r->dim ==
			    ROLLUP_KEY ? r->key_id : r->client_id, r->t,
			    r->sums) == KORE_RESULT_OK);
			continue;
		}
		memset(&h, 0, sizeof(h));
		for (j = 0; j < r->nhist; j++)
			h.n[r->hist[j].b] = r->hist[j].n;
		len = rollup_hist_encode(&h, blob, sizeof(blob));

		idx = 1;
		sqlite3_bind_int(st, idx++, r->dim);
		sqlite3_bind_int64(st, idx++, r->span);
		sqlite3_bind_int64(st, idx++, r->t);
		sqlite3_bind_int64(st, idx++, r->provider_id);
		sqlite3_bind_int64(st, idx++, r->key_id);
		sqlite3_bind_int64(st, idx++, r->client_id);
		sqlite3_bind_text(st, idx++, r->model, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, idx++, r->status_class);
		for (k = 0; k < RS_COUNT; k++)
			sqlite3_bind_int64(st, idx++, r->sums[k]);
		sqlite3_bind_blob(st, idx++, blob, (int)len, SQLITE_STATIC);
		ok = (sqlite3_step(st) == SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	rollup_running_end(run);

	if (!ok) {
		kore_log(LOG_ERR, "rollups: %s", sqlite3_errmsg(db));
		return (KORE_RESULT_ERROR);
	}

	rollup_agg_clear(a);
	return (KORE_RESULT_OK);
}

/*
 * The request a row of request_log stands for, as selected by
 * ROLLUP_LOG_COLUMNS; ev->model lives as long as the row.
 */
void
rollup_event_row(sqlite3_stmt *st, struct rollup_event *ev)
{
	ev->t = sqlite3_column_int64(st, 0);
	ev->provider_id = sqlite3_column_int64(st, 1);
	ev->key_id = sqlite3_column_int64(st, 2);
	ev->client_id = sqlite3_column_int64(st, 3);
	ev->model = (const char *)sqlite3_column_text(st, 4);
	ev->status = sqlite3_column_int(st, 5);
	ev->outcome = rollup_outcome((const char *)sqlite3_column_text(st, 6));
	ev->prompt_tokens = sqlite3_column_int64(st, 7);
	ev->completion_tokens = sqlite3_column_int64(st, 8);
	ev->latency_ms = sqlite3_column_int64(st, 9);
	ev->cached_tokens = sqlite3_column_int64(st, 10);
	ev->cache_write_tokens = sqlite3_column_int64(st, 11);
	ev->reasoning_tokens = sqlite3_column_int64(st, 12);
	ev->cost = sqlite3_column_int64(st, 13);
}

/*
 * The migration that brings rollups in: sum the raw rows the database
 * already holds, so that the dashboard is right from the first start.
 * It counts the levels that came with it; those that came later are
 * carried from the fine level by their own (rollup_migrate_lists()).
 * Runs inside the migration's transaction on handle.
 */
int
rollup_migrate(sqlite3 *db, char *err, size_t errlen)
{
	struct rollup_agg	*a;
	struct rollup_event	 ev;
	sqlite3_stmt		*st;
	int64_t			 n;
	int			 rc, ok;

	if (sqlite3_prepare_v2(db, "SELECT " ROLLUP_LOG_COLUMNS_BASE
	    ", 0 FROM request_log ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return (KORE_RESULT_ERROR);
	}

	a = rollup_agg_new();
	a->nlevels = LEVELS_ROLLUPS;
	ok = 1;
	n = 0;
	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rollup_event_row(st, &ev);
		rollup_agg_add(a, &ev);
		n++;
		if (rollup_agg_rows(a) >= AGG_FLUSH_ROWS)
			ok = (rollup_agg_flush(a, db) == KORE_RESULT_OK);
	}
	if (ok && rc != SQLITE_DONE)
		ok = 0;
	sqlite3_finalize(st);
	if (ok)
		ok = (rollup_agg_flush(a, db) == KORE_RESULT_OK);
	rollup_agg_free(a);

	if (!ok) {
		(void)snprintf(err, errlen, "rolling up the request log: %s",
		    sqlite3_errmsg(db));
		return (KORE_RESULT_ERROR);
	}
	if (n > 0)
		kore_log(LOG_NOTICE, "rolled up %lld request log rows",
		    (long long)n);

	return (KORE_RESULT_OK);
}
