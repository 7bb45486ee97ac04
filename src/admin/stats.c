/*
 * GET /api/admin/stats[?window=seconds&top=N]: counts of the
 * configuration, key health, and over the window (default one hour):
 * requests, errors, cancellations (clients that went away), tokens,
 * cost (micro-units of "currency"), latency percentiles, per provider;
 * the N (default 20) busiest upstream keys and client keys, with their
 * totals; the N most costly models and upstream keys in the window
 * ("models", "upstream_keys"); the keys not active.
 * GET /api/admin/stats/timeseries[?window=&bucket=]: the same totals per
 * time bucket (60 s up to a day's window, coarser beyond), oldest first.
 *
 * Everything over a window is read from the rollups (store/rollup.c),
 * never from the raw log, on the admin reader (reader.c). Windows start
 * at a whole minute ("since"; a whole hour or day where the finer
 * rollups are past their retention, and then the per-client figures at
 * a whole hour, "clients_since"). The lists per upstream key and client
 * key come from running sums, every key in two lookups whatever the
 * window (store/rollup_running.c); they count what the minute rollups
 * still hold. The "keys" list has the keys' own counts since they were
 * made. config_reloads counts the routing configuration's
 * reloads by all workers since the start (a debug figure).
 * GET /api/admin/settings: the settings an operator reads in the UI
 * (retention), none of them secret.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"

#define WINDOW_DEFAULT	3600
#define WINDOW_MAX	(400 * 86400)
#define TOP_DEFAULT	20
#define SERIES_MAX	5000		/* buckets in one answer */

struct stats_query {
	int64_t		window;
	int64_t		now;
	int64_t		top;
	int64_t		bucket;		/* timeseries; 0: chosen */
};

struct provider_figures {
	int64_t		id;
	int64_t		sums[RS_COUNT];
	int64_t		p50;
	int64_t		p95;
};

struct provider_list {
	struct provider_figures	*v;
	size_t			 n;
	size_t			 cap;
};

struct series {
	struct kore_buf		*out;
	int64_t			 next;		/* the next bucket to write */
	int64_t			 bucket;
	int			 first;
};

/*
 * The groups of one top list (clients by requests, models and upstream
 * keys by cost), each with its name when name is set; all are counted.
 */
struct top_out {
	struct kore_buf		*b;
	sqlite3_stmt		*name;		/* of an id, or NULL */
	int64_t			 n;
	int64_t			 top;
};

static const int64_t	spans[] = { 86400, 3600, 60 };

static struct stats_query *query_params(struct http_request *, int);
static void	*stats_params(struct http_request *);
static void	*series_params(struct http_request *);
static int64_t	window_unit(const struct stats_query *);
static int64_t	window_since(const struct stats_query *, int64_t);
static int	cmp_provider(const void *, const void *);
static int	window_ranges(struct rollup_query *, int64_t, int64_t,
		    const int64_t *, int);
static void	figures_json(struct kore_buf *, const int64_t *,
		    const struct rollup_hist *, int);
static void	totals_cb(void *, int64_t, const struct rollup_figures *);
static void	providers_cb(void *, int64_t, const struct rollup_figures *);
static void	series_cb(void *, int64_t, const struct rollup_figures *);
static void	series_empty(struct series *, int64_t);
static void	stats_config(sqlite3 *, struct kore_buf *);
static void	stats_keys(sqlite3 *, struct kore_buf *, int64_t);
static int	stats_providers(sqlite3 *, struct kore_buf *,
		    struct rollup_query *);
static int	stats_run(sqlite3 *, void *, struct kore_buf *);
static void	top_cb(void *, int64_t, const struct rollup_figures *);
static void	top_begin(struct top_out *, struct kore_buf *, const char *,
		    int64_t);
static void	top_end(struct top_out *, const char *);
static int	stats_lists(sqlite3 *, struct kore_buf *,
		    const struct stats_query *, int64_t);
static int	series_run(sqlite3 *, void *, struct kore_buf *);

/* ?window=, ?top= and (timeseries) ?bucket=; NULL after a 400. */
static struct stats_query *
query_params(struct http_request *req, int series)
{
	struct stats_query	*q;

	q = kore_calloc(1, sizeof(*q));
	q->window = WINDOW_DEFAULT;
	q->top = TOP_DEFAULT;
	q->bucket = 0;
	q->now = store_now();
	if (api_query_int(req, "window", 60, WINDOW_MAX, &q->window) < 0 ||
	    api_query_int(req, "top", 1, API_LIMIT_MAX, &q->top) < 0 ||
	    (series && api_query_int(req, "bucket", 60, 86400,
	    &q->bucket) < 0)) {
		kore_free(q);
		return (NULL);
	}
	if (q->bucket % 60 != 0 ||
	    (q->bucket > 0 && q->window / q->bucket > SERIES_MAX)) {
		api_error(req, 400, "invalid_request_error",
		    "invalid_parameter", "query parameter 'bucket' must be a "
		    "multiple of 60, with at most %d in the window",
		    SERIES_MAX);
		kore_free(q);
		return (NULL);
	}
	return (q);
}

static void *
stats_params(struct http_request *req)
{
	return (query_params(req, 0));
}

static void *
series_params(struct http_request *req)
{
	return (query_params(req, 1));
}

/*
 * The smallest bucket that reaches back to the start of q's window: a
 * minute, or an hour or a day where the finer rollups are past their
 * retention.
 */
static int64_t
window_unit(const struct stats_query *q)
{
	int64_t	since;

	since = q->now - q->window;
	if (fusion_cfg.rollup_retention_days > 0 && since < q->now -
	    (int64_t)fusion_cfg.rollup_retention_days * 86400)
		return (86400);
	if (fusion_cfg.log_retention_days > 0 && since < q->now -
	    (int64_t)fusion_cfg.log_retention_days * 86400)
		return (3600);
	return (60);
}

/* Where q's window starts, for buckets of unit seconds (or larger). */
static int64_t
window_since(const struct stats_query *q, int64_t unit)
{
	if (unit < window_unit(q))
		unit = window_unit(q);
	return ((q->now - q->window) / unit * unit);
}

/* q's ranges covering [since, the end of the current unit). */
static int
window_ranges(struct rollup_query *q, int64_t since, int64_t now,
    const int64_t *sp, int nspans)
{
	int64_t	unit;

	unit = sp[nspans - 1];
	q->nranges = rollup_cover(since, now / unit * unit + unit, sp, nspans,
	    q->ranges, ROLLUP_RANGES_MAX);
	return (q->nranges < 0 ? KORE_RESULT_ERROR : KORE_RESULT_OK);
}

/* requests, errors, cancelled, tokens (and percentiles when hist). */
static void
figures_json(struct kore_buf *b, const int64_t *sums,
    const struct rollup_hist *hist, int first)
{
	json_kv_int(b, "requests", sums[RS_REQUESTS], first);
	json_kv_int(b, "errors", sums[RS_ERRORS], 0);
	json_kv_int(b, "cancelled", sums[RS_CANCELLED], 0);
	json_kv_int(b, "prompt_tokens", sums[RS_PROMPT], 0);
	json_kv_int(b, "completion_tokens", sums[RS_COMPLETION], 0);
	json_kv_int(b, "cached_tokens", sums[RS_CACHED], 0);
	json_kv_int(b, "cache_write_tokens", sums[RS_CACHE_WRITE], 0);
	json_kv_int(b, "reasoning_tokens", sums[RS_REASONING], 0);
	json_kv_int(b, "cost", sums[RS_COST], 0);
	if (hist != NULL) {
		json_kv_int(b, "latency_p50_ms", rollup_percentile(hist, 50), 0);
		json_kv_int(b, "latency_p95_ms", rollup_percentile(hist, 95), 0);
	}
}

static void
totals_cb(void *arg, int64_t key, const struct rollup_figures *f)
{
	struct kore_buf	*b = arg;

	figures_json(b, f->sums, &f->hist, 0);
	json_kv_int(b, "latency_p99_ms", rollup_percentile(&f->hist, 99), 0);
}

static void
providers_cb(void *arg, int64_t id, const struct rollup_figures *f)
{
	struct provider_list	*l = arg;
	struct provider_figures	*p;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = kore_realloc(l->v, l->cap * sizeof(*l->v));
	}
	p = &l->v[l->n++];
	p->id = id;
	memcpy(p->sums, f->sums, sizeof(p->sums));
	p->p50 = rollup_percentile(&f->hist, 50);
	p->p95 = rollup_percentile(&f->hist, 95);
}

static int
cmp_provider(const void *a, const void *b)
{
	const struct provider_figures	*x = a, *y = b;

	return ((x->id > y->id) - (x->id < y->id));
}

/* The configuration's counts. */
static void
stats_config(sqlite3 *db, struct kore_buf *b)
{
	sqlite3_stmt	*st;
	int		 i;
	static const char *names[] = {
		"total_groups", "enabled_groups", "total_providers",
		"enabled_providers", "total_keys", "total_client_keys",
		"enabled_client_keys",
	};

	if ((st = store_prepare_on(db, "SELECT "
	    "(SELECT count(*) FROM groups),"
	    "(SELECT count(*) FROM groups WHERE enabled),"
	    "(SELECT count(*) FROM providers),"
	    "(SELECT count(*) FROM providers WHERE enabled),"
	    "(SELECT count(*) FROM upstream_keys),"
	    "(SELECT count(*) FROM client_keys),"
	    "(SELECT count(*) FROM client_keys WHERE enabled)")) == NULL)
		return;
	if (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
			json_kv_int(b, names[i], sqlite3_column_int64(st, i), 0);
	}
	sqlite3_finalize(st);
}

/*
 * Key health from shared memory: the counts, the first top keys not
 * active, and the top keys by requests (the store's counts plus the
 * failed attempts not written yet).
 */
static void
stats_keys(sqlite3 *db, struct kore_buf *b, int64_t top)
{
	struct key_health	 h;
	struct kore_buf		 bad;
	sqlite3_stmt		*st, *one;
	int64_t			 n[3], id, requests, failures, nbad;
	int			 has, status, first;

	n[0] = n[1] = n[2] = nbad = 0;
	kore_buf_init(&bad, 1024);
	one = store_prepare_on(db, "SELECT provider_id, key_masked FROM "
	    "upstream_keys WHERE id = ?");
	if (one != NULL && (st = store_prepare_on(db, "SELECT id, enabled "
	    "FROM upstream_keys ORDER BY id")) != NULL) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			id = sqlite3_column_int64(st, 0);
			status = health_status(id);
			if (status == KEY_ACTIVE && sqlite3_column_int(st, 1))
				n[0]++;
			else if (status != KEY_ACTIVE)
				n[status]++;
			if (status == KEY_ACTIVE || nbad >= top ||
			    !health_view(id, &h))
				continue;
			sqlite3_bind_int64(one, 1, id);
			if (sqlite3_step(one) != SQLITE_ROW) {
				sqlite3_reset(one);
				continue;
			}
			kore_buf_appendf(&bad, nbad++ ? ",{" : "{");
			json_kv_int(&bad, "id", id, 1);
			json_kv_int(&bad, "provider_id",
			    sqlite3_column_int64(one, 0), 0);
			json_kv_str(&bad, "key_masked",
			    (const char *)sqlite3_column_text(one, 1), 0);
			json_kv_str(&bad, "status", health_status_name(h.status),
			    0);
			json_kv_str(&bad, "status_reason", h.reason, 0);
			json_kv_time(&bad, "cooldown_until", h.cooldown_until, 0);
			kore_buf_appendf(&bad, "}");
			sqlite3_reset(one);
		}
		sqlite3_finalize(st);
	}
	sqlite3_finalize(one);
	json_kv_int(b, "active_keys", n[KEY_ACTIVE], 0);
	json_kv_int(b, "cooling_keys", n[KEY_COOLDOWN], 0);
	json_kv_int(b, "disabled_keys", n[KEY_DISABLED], 0);
	json_key(b, "unhealthy_keys", 0);
	kore_buf_appendf(b, "[");
	kore_buf_append(b, bad.data, bad.offset);
	kore_buf_appendf(b, "]");
	kore_buf_cleanup(&bad);

	json_key(b, "keys", 0);
	kore_buf_appendf(b, "[");
	first = 1;
	if ((st = store_prepare_on(db, "SELECT id, provider_id, key_masked, "
	    "requests, failures FROM upstream_keys "
	    "ORDER BY requests DESC, id LIMIT ?")) != NULL) {
		sqlite3_bind_int64(st, 1, top);
		while (sqlite3_step(st) == SQLITE_ROW) {
			id = sqlite3_column_int64(st, 0);
			if ((has = health_view(id, &h)) == 0)
				h.status = KEY_ACTIVE;
			requests = sqlite3_column_int64(st, 3) +
			    (has ? h.requests : 0);
			failures = sqlite3_column_int64(st, 4) +
			    (has ? h.failures : 0);
			kore_buf_appendf(b, first ? "{" : ",{");
			first = 0;
			json_kv_int(b, "id", id, 1);
			json_kv_int(b, "provider_id",
			    sqlite3_column_int64(st, 1), 0);
			json_kv_str(b, "key_masked",
			    (const char *)sqlite3_column_text(st, 2), 0);
			json_kv_str(b, "status", health_status_name(h.status),
			    0);
			json_kv_int(b, "requests", requests, 0);
			json_kv_int(b, "failures", failures, 0);
			kore_buf_appendf(b, "}");
		}
		sqlite3_finalize(st);
	}
	kore_buf_appendf(b, "]");
}

/* Every provider, with its figures over q's ranges. */
static int
stats_providers(sqlite3 *db, struct kore_buf *b, struct rollup_query *q)
{
	struct provider_list	 l;
	struct provider_figures	*p, key;
	sqlite3_stmt		*st;
	static const int64_t	 zero[RS_COUNT];
	int			 first;

	memset(&l, 0, sizeof(l));
	q->dim = ROLLUP_PROVIDER;
	q->column = "provider_id";
	q->limit = -1;
	if (rollup_query(db, q, providers_cb, &l) != KORE_RESULT_OK) {
		kore_free(l.v);
		return (KORE_RESULT_ERROR);
	}

	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_provider);
	json_key(b, "providers", 0);
	kore_buf_appendf(b, "[");
	first = 1;
	if ((st = store_prepare_on(db, "SELECT id, name FROM providers "
	    "ORDER BY id")) != NULL) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			key.id = sqlite3_column_int64(st, 0);
			p = l.n == 0 ? NULL : bsearch(&key, l.v, l.n,
			    sizeof(*l.v), cmp_provider);
			kore_buf_appendf(b, first ? "{" : ",{");
			first = 0;
			json_kv_int(b, "id", key.id, 1);
			json_kv_str(b, "name",
			    (const char *)sqlite3_column_text(st, 1), 0);
			figures_json(b, p != NULL ? p->sums : zero, NULL, 0);
			json_kv_int(b, "latency_p50_ms", p ? p->p50 : 0, 0);
			json_kv_int(b, "latency_p95_ms", p ? p->p95 : 0, 0);
			kore_buf_appendf(b, "}");
		}
		sqlite3_finalize(st);
	}
	kore_buf_appendf(b, "]");
	kore_free(l.v);

	return (KORE_RESULT_OK);
}

static void
top_cb(void *arg, int64_t id, const struct rollup_figures *f)
{
	struct top_out	*t = arg;

	if (t->n++ >= t->top)
		return;
	kore_buf_appendf(t->b, t->n > 1 ? ",{" : "{");
	if (f->name != NULL) {
		json_kv_str(t->b, "model", f->name, 1);
	} else {
		json_kv_int(t->b, "id", id, 1);
	}
	if (t->name != NULL) {
		sqlite3_bind_int64(t->name, 1, id);
		json_kv_str(t->b, "name", sqlite3_step(t->name) == SQLITE_ROW ?
		    (const char *)sqlite3_column_text(t->name, 0) : NULL, 0);
		sqlite3_reset(t->name);
	}
	figures_json(t->b, f->sums, NULL, 0);
	kore_buf_appendf(t->b, "}");
}

/* "<name>": [ and the top_out of a list; top_end() closes it. */
static void
top_begin(struct top_out *t, struct kore_buf *b, const char *name,
    int64_t top)
{
	memset(t, 0, sizeof(*t));
	t->b = b;
	t->top = top;
	json_key(b, name, 0);
	kore_buf_appendf(b, "[");
}

/* ], "<name>_total", and the list's name statement finalized. */
static void
top_end(struct top_out *t, const char *name)
{
	char	total[64];

	kore_buf_appendf(t->b, "]");
	(void)snprintf(total, sizeof(total), "%s_total", name);
	json_kv_int(t->b, total, t->n, 0);
	if (t->name != NULL)
		sqlite3_finalize(t->name);
	t->name = NULL;
}

/*
 * The lists since since: the top models by cost (rollups per model), the
 * top upstream keys by cost and clients by requests (running sums, every
 * key in two lookups). A window older than the minute rollups (and their
 * running sums) lists clients from the hour and day rollups, since a
 * whole hour ("clients_since").
 */
static int
stats_lists(sqlite3 *db, struct kore_buf *b, const struct stats_query *sq,
    int64_t since)
{
	struct rollup_query	q;
	struct top_out		t;
	int64_t			clients_since;
	int			rc;

	memset(&q, 0, sizeof(q));
	if (window_ranges(&q, since, sq->now, spans, 3) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
	q.dim = ROLLUP_MODEL;
	q.column = "model";
	q.text = 1;
	q.by_cost = 1;
	q.limit = -1;
	q.nohist = 1;
	top_begin(&t, b, "models", sq->top);
	if (rollup_query(db, &q, top_cb, &t) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
	top_end(&t, "models");

	top_begin(&t, b, "upstream_keys", sq->top);
	if (rollup_running_query(db, ROLLUP_KEY, since, 1, top_cb, &t) !=
	    KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
	top_end(&t, "upstream_keys");

	clients_since = window_unit(sq) == 60 ? since : window_since(sq, 3600);
	json_kv_time(b, "clients_since", clients_since, 0);
	top_begin(&t, b, "clients", sq->top);
	if ((t.name = store_prepare_on(db, "SELECT name FROM client_keys "
	    "WHERE id = ?")) == NULL)
		return (KORE_RESULT_ERROR);
	if (clients_since == since) {
		rc = rollup_running_query(db, ROLLUP_CLIENT, since, 0, top_cb,
		    &t);
	} else {
		memset(&q, 0, sizeof(q));
		q.dim = ROLLUP_CLIENT;
		q.column = "client_key_id";
		q.limit = -1;
		q.nohist = 1;
		rc = window_ranges(&q, clients_since, sq->now, spans, 2);
		if (rc == KORE_RESULT_OK)
			rc = rollup_query(db, &q, top_cb, &t);
	}
	top_end(&t, "clients");

	return (rc);
}

/* On the reader: the whole answer of GET /api/admin/stats. */
static int
stats_run(sqlite3 *db, void *arg, struct kore_buf *b)
{
	struct stats_query	*sq = arg;
	struct rollup_query	 q;
	int64_t			 since;

	memset(&q, 0, sizeof(q));
	since = window_since(sq, 60);
	if (window_ranges(&q, since, sq->now, spans, 3) != KORE_RESULT_OK)
		goto fail;

	kore_buf_appendf(b, "{");
	json_kv_int(b, "window", sq->window, 1);
	json_kv_time(b, "since", since, 0);
	json_kv_str(b, "currency", fusion_cfg.currency, 0);
	stats_config(db, b);
	stats_keys(db, b, sq->top);
	json_kv_int(b, "keys_total",
	    store_count_on(db, "SELECT count(*) FROM upstream_keys"), 0);

	q.dim = ROLLUP_TOTAL;
	if (rollup_query(db, &q, totals_cb, b) != KORE_RESULT_OK ||
	    stats_providers(db, b, &q) != KORE_RESULT_OK ||
	    stats_lists(db, b, sq, since) != KORE_RESULT_OK)
		goto fail;
	json_kv_int(b, "config_reloads", (int64_t)counters_config_loads(0), 0);
	kore_buf_appendf(b, "}");

	return (200);

fail:
	return (admin_read_db_error(b));
}

int
admin_stats(struct http_request *req)
{
	return (admin_read_get(req, stats_params, stats_run, kore_free));
}

/* Empty buckets up to (not including) t. */
static void
series_empty(struct series *s, int64_t t)
{
	static const int64_t	zero[RS_COUNT];
	struct rollup_hist	none;

	memset(&none, 0, sizeof(none));
	for (; s->next < t; s->next += s->bucket) {
		kore_buf_appendf(s->out, s->first ? "{" : ",{");
		s->first = 0;
		json_kv_time(s->out, "t", s->next, 1);
		figures_json(s->out, zero, &none, 0);
		kore_buf_appendf(s->out, "}");
	}
}

static void
series_cb(void *arg, int64_t t, const struct rollup_figures *f)
{
	struct series	*s = arg;

	series_empty(s, t);
	kore_buf_appendf(s->out, s->first ? "{" : ",{");
	s->first = 0;
	json_kv_time(s->out, "t", t, 1);
	figures_json(s->out, f->sums, &f->hist, 0);
	kore_buf_appendf(s->out, "}");
	s->next = t + s->bucket;
}

/* On the reader: GET /api/admin/stats/timeseries. */
static int
series_run(sqlite3 *db, void *arg, struct kore_buf *b)
{
	struct stats_query	*sq = arg;
	struct rollup_query	 q;
	struct series		 s;
	int64_t			 bucket, since, to, w, unit;

	w = sq->window;
	bucket = sq->bucket ? sq->bucket : w <= 86400 ? 60 :
	    w <= 3 * 86400 ? 300 : w <= 7 * 86400 ? 900 :
	    w <= 31 * 86400 ? 3600 : 86400;
	/* Where only coarser rollups are left: whole ones of those. */
	unit = window_unit(sq);
	bucket = (bucket + unit - 1) / unit * unit;
	since = (sq->now - w) / bucket * bucket;
	to = sq->now / bucket * bucket + bucket;

	memset(&q, 0, sizeof(q));
	q.dim = ROLLUP_TOTAL;
	q.bucket = bucket;
	q.limit = -1;
	q.nranges = 1;
	q.ranges[0].span = bucket % 86400 == 0 ? 86400 :
	    bucket % 3600 == 0 ? 3600 : 60;
	q.ranges[0].from = since;
	q.ranges[0].to = to;

	memset(&s, 0, sizeof(s));
	s.out = b;
	s.next = since;
	s.bucket = bucket;
	s.first = 1;
	kore_buf_appendf(b, "{\"bucket_seconds\":%lld,\"data\":[",
	    (long long)bucket);
	if (rollup_query(db, &q, series_cb, &s) != KORE_RESULT_OK)
		return (admin_read_db_error(b));
	series_empty(&s, to);
	kore_buf_appendf(b, "]}");

	return (200);
}

int
admin_timeseries(struct http_request *req)
{
	return (admin_read_get(req, series_params, series_run, kore_free));
}

/* GET /api/admin/settings */
int
admin_settings(struct http_request *req)
{
	struct admin_user	 user;
	struct kore_buf		*b;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_method(req, HTTP_METHOD_GET, "GET") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	b = kore_buf_alloc(256);
	kore_buf_appendf(b, "{");
	json_kv_int(b, "log_retention_days", fusion_cfg.log_retention_days, 1);
	json_kv_int(b, "rollup_retention_days",
	    fusion_cfg.rollup_retention_days, 0);
	json_kv_int(b, "log_max_mb", fusion_cfg.log_max_mb, 0);
	json_kv_str(b, "currency", fusion_cfg.currency, 0);
	json_kv_str(b, "budget_timezone", fusion_cfg.budget_tz, 0);
	kore_buf_appendf(b, "}");
	glue_reply_json(req, 200, b);

	return (KORE_RESULT_OK);
}
