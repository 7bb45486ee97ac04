/*
 * Unit tests of what keeps the gateway fast at scale: the rollups'
 * latency histogram, the cutting of windows into buckets, rollups that
 * equal the raw rows they sum (after an upgrade and after the writer's
 * batches), retention, and key health and client usage in shared memory
 * across processes.
 */

#include <sys/wait.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>

#include "core/core.h"
#include "store/store.h"
#include "dataplane/dataplane.h"

/* The schema of the last release without rollups (a released version). */
#define SCHEMA_BEFORE_ROLLUPS	4
#include "test.h"

void	run_scale_tests(int *, int *);

static int64_t	query_int(const char *);
static char	*query_text(const char *);
static int64_t	exact_percentile(int64_t *, size_t, int);
static int	cmp64(const void *, const void *);
static void	raw_rows(int, int64_t, int64_t);
static void	shared_init(void);

static int64_t
query_int(const char *sql)
{
	return (store_count(sql));
}

/* The first column of the first row, as text (owned by the caller). */
static char *
query_text(const char *sql)
{
	sqlite3_stmt	*st;
	char		*out;

	if ((st = store_prepare(sql)) == NULL)
		return (kore_strdup("(bad sql)"));
	out = kore_strdup(sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL ?
	    (const char *)sqlite3_column_text(st, 0) : "");
	sqlite3_finalize(st);
	return (out);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return ((x > y) - (x < y));
}

static int64_t
exact_percentile(int64_t *v, size_t n, int pct)
{
	size_t	rank;

	qsort(v, n, sizeof(*v), cmp64);
	rank = (n * (size_t)pct + 99) / 100;
	return (v[rank ? rank - 1 : 0]);
}

TEST(histogram_buckets_are_within_3_percent)
{
	int64_t	v, mid;
	int	b, prev;

	prev = 0;
	for (v = 0; v < (1 << 23); v += v < 100000 ? 1 : 97) {
		b = rollup_bucket(v);
		if (b < prev || b >= ROLLUP_HIST_BUCKETS)
			FAIL("bucket(%lld) = %d after %d", (long long)v, b, prev);
		prev = b;
		mid = rollup_bucket_ms(b);
		if (llabs(mid - v) * 32 > v)
			FAIL("bucket(%lld) stands for %lld", (long long)v,
			    (long long)mid);
	}
	ASSERT_INT_EQ(rollup_bucket(-5), 0);
	ASSERT_INT_EQ(rollup_bucket(15), 15);
	ASSERT_INT_EQ(rollup_bucket_ms(15), 15);
	ASSERT_INT_EQ(rollup_bucket(1LL << 40), ROLLUP_HIST_BUCKETS - 1);
}

TEST(histogram_percentiles_and_encoding)
{
	struct rollup_hist	 h, back;
	int64_t			*lat, copy[20000];
	u_int8_t		 blob[4096];
	size_t			 i, n, len;
	int			 pcts[] = { 50, 95, 99 }, k;
	int64_t			 want, got;

	n = 20000;
	lat = kore_calloc(n, sizeof(*lat));
	memset(&h, 0, sizeof(h));
	srandom(7);
	for (i = 0; i < n; i++) {
		/* Log-uniform from 1 ms to 100 s. */
		lat[i] = (int64_t)exp(log(100000.0) * (double)random() /
		    (double)RAND_MAX);
		h.n[rollup_bucket(lat[i])]++;
	}
	for (k = 0; k < 3; k++) {
		memcpy(copy, lat, n * sizeof(*lat));
		want = exact_percentile(copy, n, pcts[k]);
		got = rollup_percentile(&h, pcts[k]);
		if (llabs(got - want) * 32 > want)
			FAIL("p%d %lld, exactly %lld", pcts[k], (long long)got,
			    (long long)want);
	}
	kore_free(lat);

	len = rollup_hist_encode(&h, blob, sizeof(blob));
	ASSERT(len > 0 && len < sizeof(blob));
	memset(&back, 0, sizeof(back));
	ASSERT_INT_EQ(rollup_hist_decode(blob, len, &back), 0);
	ASSERT(memcmp(&h, &back, sizeof(h)) == 0);
	/* Adding twice doubles. */
	ASSERT_INT_EQ(rollup_hist_decode(blob, len, &back), 0);
	ASSERT_INT_EQ(back.n[rollup_bucket(1)], 2 * h.n[rollup_bucket(1)]);
	/* Not a histogram: cut short, or a bucket past the last. */
	ASSERT_INT_EQ(rollup_hist_decode((const u_int8_t *)"\x05\x80", 2,
	    &back), -1);
	ASSERT_INT_EQ(rollup_hist_decode((const u_int8_t *)"\xc1\x02\x01", 3,
	    &back), -1);
	memset(&back, 0, sizeof(back));
	ASSERT_INT_EQ(rollup_percentile(&back, 50), 0);
}

TEST(windows_are_cut_into_whole_buckets)
{
	struct rollup_range	r[ROLLUP_RANGES_MAX];
	const int64_t		spans[] = { 86400, 3600, 60 };
	int64_t			from, to, at;
	int			i, n, trial;

	ASSERT_INT_EQ(rollup_cover(0, 3 * 86400, spans, 3, r, 8), 1);
	ASSERT_INT_EQ(r[0].span, 86400);
	ASSERT_INT_EQ(rollup_cover(60, 120, spans, 3, r, 8), 1);
	ASSERT_INT_EQ(r[0].span, 60);
	ASSERT_INT_EQ(rollup_cover(120, 120, spans, 3, r, 8), 0);

	srandom(11);
	for (trial = 0; trial < 20000; trial++) {
		from = (random() % (20 * 1440)) * 60;
		to = from + (random() % (12 * 1440)) * 60 + 60;
		n = rollup_cover(from, to, spans, 3, r, ROLLUP_RANGES_MAX);
		if (n < 1 || n > 5)
			FAIL("[%lld, %lld): %d ranges", (long long)from,
			    (long long)to, n);
		at = from;
		for (i = 0; i < n; i++) {
			if (r[i].from != at || r[i].to <= r[i].from ||
			    r[i].from % r[i].span || r[i].to % r[i].span)
				FAIL("[%lld, %lld): range %d is [%lld, %lld) "
				    "of %lld", (long long)from, (long long)to,
				    i, (long long)r[i].from,
				    (long long)r[i].to, (long long)r[i].span);
			/* Never a finer bucket where a coarser one fits. */
			if (r[i].span < 86400 && (r[i].to - r[i].from) /
			    (r[i].span == 60 ? 3600 : 86400) > 1)
				FAIL("[%lld, %lld): range %d too fine",
				    (long long)from, (long long)to, i);
			at = r[i].to;
		}
		ASSERT_INT_EQ(at, to);
	}
	ASSERT_INT_EQ(rollup_cover(60, 86400 * 2 + 120, spans, 3, r, 2), -1);
}

/* n random raw rows created in [t0, t0 + span). */
static void
raw_rows(int n, int64_t t0, int64_t span)
{
	sqlite3_stmt	*st;
	const char	*outcomes[] = { "ok", "ok", "ok", "error", "cancelled" };
	const char	*models[] = { "gpt-4o", "fast", "claude" };
	int		 i, status, o;
	int64_t		 provider;

	st = store_prepare("INSERT INTO request_log (request_id, created_at, "
	    "client_key_id, model, provider_id, upstream_key_id, status, "
	    "latency_ms, prompt_tokens, completion_tokens, outcome) "
	    "VALUES ('r', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	for (i = 0; i < n; i++) {
		o = (int)(random() % 5);
		status = o == 0 || o == 1 || o == 2 ? 200 : o == 3 ?
		    (random() % 2 ? 502 : 401) : 499;
		provider = random() % 6;
		sqlite3_bind_int64(st, 1, t0 + random() % span);
		if (random() % 8)
			sqlite3_bind_int64(st, 2, 1 + random() % 5);
		else
			sqlite3_bind_null(st, 2);
		sqlite3_bind_text(st, 3, models[random() % 3], -1,
		    SQLITE_STATIC);
		if (provider) {
			sqlite3_bind_int64(st, 4, provider);
			sqlite3_bind_int64(st, 5, provider * 10 + random() % 4);
		} else {
			sqlite3_bind_null(st, 4);
			sqlite3_bind_null(st, 5);
		}
		sqlite3_bind_int(st, 6, status);
		sqlite3_bind_int64(st, 7, random() % 30000);
		sqlite3_bind_int64(st, 8, random() % 500);
		sqlite3_bind_int64(st, 9, random() % 500);
		sqlite3_bind_text(st, 10, outcomes[o], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			fprintf(stderr, "insert: %s\n",
			    sqlite3_errmsg(store_db()));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

/* What the raw rows sum to, and what a level of the rollups holds. */
#define RAW_SUMS \
	"count(*) || ',' || sum(outcome NOT IN ('ok', 'cancelled')) || ',' " \
	"|| sum(outcome = 'cancelled') || ',' || sum(prompt_tokens) || ',' " \
	"|| sum(completion_tokens) || ',' || sum(CASE WHEN provider_id " \
	"IS NULL THEN 0 ELSE latency_ms END)"
#define ROLLUP_SUMS \
	"requests || ',' || errors || ',' || cancelled || ',' || " \
	"prompt_tokens || ',' || completion_tokens || ',' || latency_ms_sum"

static const struct {
	const char	*raw;
	const char	*rollup;
} levels[] = {
	{ "SELECT group_concat(x, ';') FROM (SELECT (created_at / 60 * 60) || "
	  "'/' || coalesce(provider_id, 0) || '/' || "
	  "coalesce(upstream_key_id, 0) || '/' || coalesce(client_key_id, 0) "
	  "|| '/' || model || '/' || (status / 100) || '=' || " RAW_SUMS " AS x "
	  "FROM request_log GROUP BY created_at / 60, provider_id, "
	  "upstream_key_id, client_key_id, model, status / 100 ORDER BY x)",
	  "SELECT group_concat(x, ';') FROM (SELECT t || '/' || provider_id "
	  "|| '/' || upstream_key_id || '/' || client_key_id || '/' || model "
	  "|| '/' || status_class || '=' || " ROLLUP_SUMS " AS x FROM rollups "
	  "WHERE dim = 0 AND span = 60 ORDER BY x)" },
	{ "SELECT group_concat(x, ';') FROM (SELECT (created_at / 3600 * 3600) "
	  "|| '/' || (status / 100) || '=' || " RAW_SUMS " AS x FROM request_log "
	  "GROUP BY created_at / 3600, status / 100 ORDER BY x)",
	  "SELECT group_concat(x, ';') FROM (SELECT t || '/' || status_class "
	  "|| '=' || " ROLLUP_SUMS " AS x FROM rollups WHERE dim = 1 AND "
	  "span = 3600 ORDER BY x)" },
	{ "SELECT group_concat(x, ';') FROM (SELECT (created_at / 86400 * 86400) "
	  "|| '/' || coalesce(provider_id, 0) || '=' || " RAW_SUMS " AS x "
	  "FROM request_log GROUP BY created_at / 86400, provider_id ORDER BY x)",
	  "SELECT group_concat(x, ';') FROM (SELECT t || '/' || provider_id "
	  "|| '=' || " ROLLUP_SUMS " AS x FROM rollups WHERE dim = 2 AND "
	  "span = 86400 AND status_class = 0 ORDER BY x)" },
	{ "SELECT group_concat(x, ';') FROM (SELECT (created_at / 3600 * 3600) "
	  "|| '/' || coalesce(client_key_id, 0) || '=' || " RAW_SUMS " AS x "
	  "FROM request_log GROUP BY created_at / 3600, client_key_id "
	  "ORDER BY x)",
	  "SELECT group_concat(x, ';') FROM (SELECT t || '/' || client_key_id "
	  "|| '=' || " ROLLUP_SUMS " AS x FROM rollups WHERE dim = 3 AND "
	  "span = 3600 AND status_class = 0 ORDER BY x)" },
	{ "SELECT group_concat(x, ';') FROM (SELECT (created_at / 60 * 60) "
	  "|| '/' || model || '=' || " RAW_SUMS " AS x FROM request_log "
	  "GROUP BY created_at / 60, model ORDER BY x)",
	  "SELECT group_concat(x, ';') FROM (SELECT t || '/' || model || '=' "
	  "|| " ROLLUP_SUMS " AS x FROM rollups WHERE dim = 4 AND span = 60 "
	  "ORDER BY x)" },
	{ "SELECT group_concat(x, ';') FROM (SELECT (created_at / 86400 * 86400) "
	  "|| '/' || model || '=' || " RAW_SUMS " AS x FROM request_log "
	  "GROUP BY created_at / 86400, model ORDER BY x)",
	  "SELECT group_concat(x, ';') FROM (SELECT t || '/' || model || '=' "
	  "|| " ROLLUP_SUMS " AS x FROM rollups WHERE dim = 4 AND "
	  "span = 86400 ORDER BY x)" },
};

/* The raw sums of the rows of one id, 0 where there are none. */
#define RAW_SUMS_OR_0 \
	"count(*) || ',' || coalesce(sum(outcome NOT IN ('ok', 'cancelled')), " \
	"0) || ',' || coalesce(sum(outcome = 'cancelled'), 0) || ',' || " \
	"coalesce(sum(prompt_tokens), 0) || ',' || " \
	"coalesce(sum(completion_tokens), 0) || ',' || coalesce(sum(CASE WHEN " \
	"provider_id IS NULL THEN 0 ELSE latency_ms END), 0)"

/*
 * The running sums of dim (column of request_log) equal the raw rows: a
 * row for each minute an id had requests in, with the sums of the id's
 * rows before it, and totals of all its rows.
 */
static int
running_match(int dim, const char *column)
{
	char	sql[1024], *raw, *rolled;
	int	ok;

	(void)snprintf(sql, sizeof(sql), "SELECT group_concat(x, ';') FROM "
	    "(SELECT DISTINCT %s || '/' || (created_at / 60 * 60) AS x FROM "
	    "request_log WHERE %s IS NOT NULL ORDER BY x)", column, column);
	raw = query_text(sql);
	(void)snprintf(sql, sizeof(sql), "SELECT group_concat(x, ';') FROM "
	    "(SELECT id || '/' || t AS x FROM rollup_running WHERE dim = %d "
	    "ORDER BY x)", dim);
	rolled = query_text(sql);
	ok = (strcmp(raw, rolled) == 0 && strlen(raw) > 10);
	if (!ok)
		fprintf(stderr, "  running rows of %s differ:\n  raw %.300s\n"
		    "  running %.300s\n", column, raw, rolled);
	kore_free(raw);
	kore_free(rolled);

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM rollup_running c "
	    "WHERE dim = %d AND " ROLLUP_SUMS " != (SELECT " RAW_SUMS_OR_0
	    " FROM request_log WHERE %s = c.id AND created_at < c.t)", dim,
	    column);
	if (query_int(sql) != 0) {
		fprintf(stderr, "  %lld running rows of %s differ\n",
		    (long long)query_int(sql), column);
		ok = 0;
	}
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM rollup_totals c "
	    "WHERE dim = %d AND " ROLLUP_SUMS " != (SELECT " RAW_SUMS_OR_0
	    " FROM request_log WHERE %s = c.id)", dim, column);
	if (query_int(sql) != 0 || query_int("SELECT count(*) FROM "
	    "rollup_totals") < 10) {
		fprintf(stderr, "  totals of %s differ\n", column);
		ok = 0;
	}

	return (ok);
}

struct pct_check {
	struct rollup_figures	f;
	int			rows;
};

static void
keep_figures(void *arg, int64_t key, const struct rollup_figures *f)
{
	struct pct_check	*c = arg;

	(void)key;
	c->f = *f;
	c->rows++;
}

/* Each id's figures from the running sums against the raw rows since. */
struct running_check {
	const char	*column;
	int64_t		 since;
	int64_t		 last;		/* the previous id's requests */
	int		 ids;
	int		 bad;
};

static void
running_cb(void *arg, int64_t id, const struct rollup_figures *f)
{
	struct running_check	*c = arg;
	char			 sql[256];
	int64_t			 want;

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) * 1000000 + "
	    "sum(prompt_tokens) FROM request_log WHERE %s = %lld AND "
	    "created_at >= %lld", c->column, (long long)id,
	    (long long)c->since);
	want = query_int(sql);
	if (want != f->sums[RS_REQUESTS] * 1000000 + f->sums[RS_PROMPT] ||
	    (c->ids > 0 && f->sums[RS_REQUESTS] > c->last)) {
		fprintf(stderr, "  %s %lld: %lld requests, %lld tokens; raw "
		    "%lld\n", c->column, (long long)id,
		    (long long)f->sums[RS_REQUESTS],
		    (long long)f->sums[RS_PROMPT], (long long)want);
		c->bad++;
	}
	c->last = f->sums[RS_REQUESTS];
	c->ids++;
}

/* Every level of the rollups equals the raw rows summed the same way. */
static int
rollups_match(void)
{
	char		*raw, *rolled;
	size_t		 i;
	int		 ok;

	ok = 1;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		raw = query_text(levels[i].raw);
		rolled = query_text(levels[i].rollup);
		if (strcmp(raw, rolled) != 0 || strlen(raw) < 10) {
			fprintf(stderr, "  level %zu differs:\n  raw %.300s\n"
			    "  rollups %.300s\n", i, raw, rolled);
			ok = 0;
		}
		kore_free(raw);
		kore_free(rolled);
	}
	if (!running_match(ROLLUP_KEY, "upstream_key_id") ||
	    !running_match(ROLLUP_CLIENT, "client_key_id"))
		ok = 0;

	return (ok);
}

TEST(rollups_equal_the_raw_rows_after_an_upgrade_and_batches)
{
	struct rollup_agg	*a;
	struct rollup_event	 ev;
	struct rollup_query	 q;
	struct pct_check	 c;
	struct running_check	 rc;
	const int64_t		 spans[] = { 86400, 3600, 60 };
	char			 path[128], err[256];
	int64_t			*lat, t0, from, to;
	size_t			 n, i;
	sqlite3_stmt		*st;
	int			 pcts[] = { 50, 95, 99 }, k, batch;

	(void)snprintf(path, sizeof(path), "%s/r.db", unit_tmpdir);
	ASSERT_INT_EQ(store_open(path, 1), KORE_RESULT_OK);
	/* The schema of a release before rollups, with its rows. */
	ASSERT_INT_EQ(store_migrate_to(store_db(), SCHEMA_BEFORE_ROLLUPS, err,
	    sizeof(err)),
	    KORE_RESULT_OK);
	srandom(3);
	t0 = 1700000000 - 1700000000 % 86400 - 3600 * 5 - 17;
	raw_rows(6000, t0, 3 * 86400);
	ASSERT_INT_EQ(store_migrate(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(query_int("PRAGMA user_version"),
	    store_schema_version());
	ASSERT(rollups_match());

	/* Then the writer's way: new rows, in batches that merge. */
	a = rollup_agg_new();
	for (batch = 0; batch < 3; batch++) {
		ASSERT_INT_EQ(store_exec("BEGIN"), KORE_RESULT_OK);
		i = (size_t)query_int("SELECT max(id) FROM request_log");
		raw_rows(700, t0 + 86400, 2 * 86400);
		st = store_prepare("SELECT " ROLLUP_LOG_COLUMNS
		    " FROM request_log WHERE id > ?");
		sqlite3_bind_int64(st, 1, (int64_t)i);
		while (sqlite3_step(st) == SQLITE_ROW) {
			rollup_event_row(st, &ev);
			rollup_agg_add(a, &ev);
		}
		sqlite3_finalize(st);
		ASSERT_INT_EQ(rollup_agg_flush(a, store_db()), KORE_RESULT_OK);
		ASSERT_INT_EQ(rollup_agg_rows(a), 0);
		ASSERT_INT_EQ(store_exec("COMMIT"), KORE_RESULT_OK);
	}
	rollup_agg_free(a);
	ASSERT(rollups_match());

	/* A window read from the rollups: totals and percentiles. */
	from = t0 + 3600 * 2 + 60 * 7;
	from -= from % 60;
	to = from + 86400 + 3600 * 3 + 60 * 11;
	memset(&q, 0, sizeof(q));
	q.dim = ROLLUP_TOTAL;
	q.nranges = rollup_cover(from, to, spans, 3, q.ranges,
	    ROLLUP_RANGES_MAX);
	ASSERT(q.nranges >= 3);
	memset(&c, 0, sizeof(c));
	ASSERT_INT_EQ(rollup_query(store_db(), &q, keep_figures, &c),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(c.rows, 1);
	st = store_prepare("SELECT count(*), sum(outcome = 'cancelled') "
	    "FROM request_log WHERE created_at >= ? AND created_at < ?");
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	ASSERT_INT_EQ(sqlite3_step(st), SQLITE_ROW);
	ASSERT_INT_EQ(c.f.sums[RS_REQUESTS], sqlite3_column_int64(st, 0));
	ASSERT_INT_EQ(c.f.sums[RS_CANCELLED], sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);

	st = store_prepare("SELECT latency_ms FROM request_log WHERE "
	    "created_at >= ? AND created_at < ? AND provider_id IS NOT NULL");
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	lat = kore_calloc(20000, sizeof(*lat));
	for (n = 0; n < 20000 && sqlite3_step(st) == SQLITE_ROW; n++)
		lat[n] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	ASSERT(n > 100);
	for (k = 0; k < 3; k++) {
		int64_t	want = exact_percentile(lat, n, pcts[k]);
		int64_t	got = rollup_percentile(&c.f.hist, pcts[k]);

		if (llabs(got - want) * 32 > want)
			FAIL("p%d %lld, exactly %lld", pcts[k], (long long)got,
			    (long long)want);
	}
	kore_free(lat);

	/* Per provider (not "no provider"), the busiest first. */
	q.dim = ROLLUP_PROVIDER;
	q.column = "provider_id";
	q.limit = -1;
	memset(&c, 0, sizeof(c));
	ASSERT_INT_EQ(rollup_query(store_db(), &q, keep_figures, &c),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(c.rows, 5);
	q.limit = 2;
	memset(&c, 0, sizeof(c));
	ASSERT_INT_EQ(rollup_query(store_db(), &q, keep_figures, &c),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(c.rows, 2);

	/* Per key and client, from running sums: every id, busiest first. */
	memset(&rc, 0, sizeof(rc));
	rc.column = "upstream_key_id";
	rc.since = from;
	ASSERT_INT_EQ(rollup_running_query(store_db(), ROLLUP_KEY, from, 0,
	    running_cb, &rc), KORE_RESULT_OK);
	ASSERT_INT_EQ(rc.bad, 0);
	ASSERT_INT_EQ(rc.ids, query_int("SELECT count(DISTINCT "
	    "upstream_key_id) FROM request_log"));
	memset(&rc, 0, sizeof(rc));
	rc.column = "client_key_id";
	rc.since = to - 3600 * 2 - 60 * 13;
	ASSERT_INT_EQ(rollup_running_query(store_db(), ROLLUP_CLIENT,
	    rc.since, 0, running_cb, &rc), KORE_RESULT_OK);
	ASSERT_INT_EQ(rc.bad, 0);
	ASSERT_INT_EQ(rc.ids, 5);
	store_close();
}

TEST(retention_prunes_what_is_old_and_nothing_else)
{
	struct store_retention	 r;
	char			 path[128], err[256];
	int64_t			 now, pages, kept, newest, minute;
	int			 rc, rounds;

	(void)snprintf(path, sizeof(path), "%s/p.db", unit_tmpdir);
	ASSERT_INT_EQ(store_open(path, 1), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_migrate_to(store_db(), SCHEMA_BEFORE_ROLLUPS, err,
	    sizeof(err)),
	    KORE_RESULT_OK);
	now = 1800000000;
	srandom(5);
	raw_rows(30000, now - 40 * 86400, 40 * 86400);
	ASSERT_INT_EQ(store_migrate(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(query_int("PRAGMA auto_vacuum"), 2);
	kept = query_int("SELECT count(*) FROM request_log WHERE "
	    "created_at >= 1800000000 - 30 * 86400");
	minute = query_int("SELECT count(*) FROM rollups WHERE span = 60 AND "
	    "t >= 1800000000 - 30 * 86400");
	pages = query_int("PRAGMA page_count");

	memset(&r, 0, sizeof(r));
	r.log_before = r.minute_before = now - 30 * 86400;
	r.rollup_before = now - 35 * 86400;
	for (rounds = 0; (rc = store_prune(store_db(), &r, 5)) == 1 &&
	    rounds < 10000; rounds++)
		;
	ASSERT_INT_EQ(rc, 0);
	ASSERT(rounds >= 1);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM request_log WHERE "
	    "created_at < 1800000000 - 30 * 86400"), 0);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM request_log"), kept);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM rollups WHERE span = 60 "
	    "AND t < 1800000000 - 30 * 86400"), 0);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM rollups WHERE span = 60"),
	    minute);
	/* Hours and days are kept longer, and go at their own age. */
	ASSERT(query_int("SELECT count(*) FROM rollups WHERE span = 3600 AND "
	    "t < 1800000000 - 30 * 86400") > 0);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM rollups WHERE span > 60 "
	    "AND t < 1800000000 - 35 * 86400 - 86400"), 0);
	ASSERT(query_int("PRAGMA page_count") < pages);
	ASSERT(query_int("PRAGMA freelist_count") < 256);

	/* A size limit: the oldest go first, the newest stay. */
	newest = query_int("SELECT count(*) FROM request_log WHERE "
	    "created_at >= 1800000000 - 86400");
	memset(&r, 0, sizeof(r));
	r.max_bytes = query_int("PRAGMA page_count") * 4096 * 8 / 10;
	while ((rc = store_prune(store_db(), &r, 50)) == 1)
		;
	ASSERT_INT_EQ(rc, 0);
	ASSERT((query_int("PRAGMA page_count") -
	    query_int("PRAGMA freelist_count")) * 4096 <= r.max_bytes);
	ASSERT(query_int("SELECT count(*) FROM request_log") < kept);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM request_log WHERE "
	    "created_at >= 1800000000 - 86400"), newest);
	/* The minute rollups follow the raw rows they sum. */
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM rollups WHERE span = 60 "
	    "AND t < (SELECT min(created_at) / 60 * 60 FROM request_log)"), 0);
	store_close();
}

static void
shared_init(void)
{
	static int	done = 0;

	if (!done)
		counters_init(10, 10);
	done = 1;
}

TEST(health_lives_in_shared_memory_across_processes)
{
	struct cfg_provider	p;
	struct cfg_key		k;
	struct key_health	v;
	int64_t			now;
	pid_t			pid;
	int			status;

	shared_init();
	fusion_cfg.cooldown_429 = 60;
	fusion_cfg.cooldown_base = 5;
	fusion_cfg.cooldown_max = 300;
	memset(&p, 0, sizeof(p));
	memset(&k, 0, sizeof(k));
	p.timeout_ms = 4000;
	k.id = 4242;
	k.provider = &p;
	k.enabled = 1;
	k.masked = "sk-...4242";
	ASSERT(counters_key(4242, 0) == NULL);
	ASSERT((k.health = counters_key(4242, 1)) != NULL);
	ASSERT(counters_key(4242, 1) == k.health);
	now = store_now();

	/* Another process sees a 429 at once. */
	if ((pid = fork()) == 0) {
		health_failure(&k, COOL_RATE, 30, "upstream answered 429: slow down");
		_exit(0);
	}
	ASSERT(waitpid(pid, &status, 0) == pid && status == 0);
	ASSERT_INT_EQ(health_view(4242, &v), 1);
	ASSERT_INT_EQ(v.status, KEY_COOLDOWN);
	ASSERT(v.cooldown_until >= now + 30 && v.cooldown_until <= now + 31);
	ASSERT(strstr(v.reason, "429") != NULL);
	ASSERT_INT_EQ(v.failures, 1);
	ASSERT(v.version != v.stored);
	ASSERT(!router_key_usable(&k, now));
	ASSERT(router_key_usable(&k, now + 31));
	ASSERT_INT_EQ(health_claim(&k), 0);

	/* The cooldown passed: one trial, in one process only. */
	k.health->cooldown_until = now - 1;
	if ((pid = fork()) == 0)
		_exit(health_claim(&k) ? 0 : 1);
	ASSERT(waitpid(pid, &status, 0) == pid && WEXITSTATUS(status) == 0);
	ASSERT_INT_EQ(health_claim(&k), 0);
	ASSERT(!router_key_usable(&k, now));
	health_success(&k);
	ASSERT_INT_EQ(k.health->status, KEY_ACTIVE);
	ASSERT_INT_EQ(health_claim(&k), 1);

	/* 5xx: a cooldown that doubles; 401: disabled until a reset. */
	health_failure(&k, COOL_BACKOFF, -1, "boom");
	ASSERT_INT_EQ(k.health->cooldown_until - store_now(), 5);
	health_failure(&k, COOL_BACKOFF, -1, "boom");
	ASSERT_INT_EQ(k.health->cooldown_until - store_now(), 10);
	health_failure(&k, COOL_DISABLE, -1, "bad key");
	ASSERT_INT_EQ(k.health->status, KEY_DISABLED);
	k.health->cooldown_until = 0;
	ASSERT_INT_EQ(health_claim(&k), 0);
	ASSERT(!router_key_usable(&k, now + 100000));
	health_reset(4242);
	ASSERT_INT_EQ(k.health->status, KEY_ACTIVE);
	ASSERT_INT_EQ(k.health->consecutive_failures, 0);
	ASSERT_INT_EQ(k.health->version, k.health->stored);
}

TEST(shared_tables_find_make_and_count)
{
	struct key_health	*h;
	int64_t			 id, used, seen;
	size_t			 i, before;
	pid_t			 pid;
	int			 status;

	shared_init();
	for (before = 0; counters_key_at(before, &id) != NULL; before++)
		;
	for (id = 1; id <= 20000; id++) {
		if (counters_key(100000 + id, 1) == NULL)
			FAIL("no slot for %lld", (long long)id);
	}
	seen = 0;
	for (i = 0; (h = counters_key_at(i, &id)) != NULL; i++) {
		if (h != counters_key(id, 0))
			FAIL("slot %zu is not that of %lld", i, (long long)id);
		seen++;
	}
	ASSERT_INT_EQ(seen, before + 20000);

	/* Tokens: added by any process, set by the operator. */
	ASSERT_INT_EQ(counters_tokens_used(77), -1);
	counters_tokens(77, 10, 1);
	if ((pid = fork()) == 0) {
		counters_tokens(77, 5, 1);
		_exit(0);
	}
	ASSERT(waitpid(pid, &status, 0) == pid);
	ASSERT_INT_EQ(counters_tokens_used(77), 15);
	counters_tokens(77, 3, 0);
	ASSERT_INT_EQ(counters_tokens_used(77), 3);

	/* rpm: two a minute. */
	ASSERT_INT_EQ(counters_rpm_hit(78, 2, &used), 0);
	ASSERT_INT_EQ(counters_rpm_hit(78, 2, &used), 0);
	ASSERT(counters_rpm_hit(78, 2, &used) > 0);
	ASSERT_INT_EQ(used, 2);
	ASSERT_INT_EQ(counters_rpm_hit(79, 2, &used), 0);

	/* One claim per interval across processes. */
	ASSERT_INT_EQ(counters_claim(CLAIM_PRUNE, 1000, 500), 1);
	ASSERT_INT_EQ(counters_claim(CLAIM_PRUNE, 1200, 500), 0);
	ASSERT_INT_EQ(counters_claim(CLAIM_PRUNE, 1500, 500), 1);
	counters_unclaim(CLAIM_PRUNE);
	ASSERT_INT_EQ(counters_claim(CLAIM_PRUNE, 1501, 500), 1);
}

static u_int64_t	rotation;

static u_int64_t
next_position(const char *name, int64_t n)
{
	(void)name;
	(void)n;
	return (rotation);
}

TEST(router_takes_a_few_usable_keys_of_a_large_provider)
{
	struct cfg_group	 g = { 1, "g", 0, 1, 0, 0, 0 };
	char			*models[] = { "m" };
	struct cfg_provider	 p[2];
	struct cfg_key		*k, **pk[2];
	struct key_health	*h;
	struct router_env	 env = { next_position, NULL, "" };
	struct cfg		 c;
	struct router_pick	 out[ROUTER_MAX];
	int			 i, j, n, nk;

	nk = 5000;
	k = kore_calloc((size_t)nk * 2, sizeof(*k));
	h = kore_calloc((size_t)nk * 2, sizeof(*h));
	memset(p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	for (i = 0; i < 2; i++) {
		p[i].id = i + 1;
		p[i].group = &g;
		p[i].models = models;
		p[i].nmodels = 1;
		p[i].enabled = 1;
		p[i].weight = 1;
		pk[i] = kore_calloc((size_t)nk, sizeof(*pk[i]));
		for (j = 0; j < nk; j++) {
			k[i * nk + j].id = i * nk + j + 1;
			k[i * nk + j].provider = &p[i];
			k[i * nk + j].enabled = 1;
			k[i * nk + j].health = &h[i * nk + j];
			/* Every other key of the first provider cools. */
			if (i == 0 && j % 2 == 0) {
				h[j].status = KEY_COOLDOWN;
				h[j].cooldown_until = 1000;
			}
			pk[i][j] = &k[i * nk + j];
		}
		p[i].keys = pk[i];
		p[i].nkeys = (size_t)nk;
	}
	c.providers = p;
	c.nproviders = 2;

	rotation = 0;
	n = router_plan(&c, NULL, "m", 10, out, ROUTER_MAX, &env);
	ASSERT_INT_EQ(n, 2 * ROUTER_KEYS);
	for (i = 0; i < ROUTER_KEYS; i++) {
		ASSERT(out[i].provider == &p[0] && out[i].key != NULL);
		ASSERT(router_key_usable(out[i].key, 10));
	}
	ASSERT(out[ROUTER_KEYS].provider == &p[1]);

	/* Every key of a provider cooling: one skipped pick for it. */
	for (j = 0; j < nk; j++) {
		h[j].status = KEY_COOLDOWN;
		h[j].cooldown_until = 1000;
	}
	n = router_plan(&c, NULL, "m", 10, out, ROUTER_MAX, &env);
	ASSERT_INT_EQ(n, 1 + ROUTER_KEYS);
	ASSERT(out[0].key == NULL && out[0].skip_reason != NULL);

	for (i = 0; i < 2; i++)
		kore_free(pk[i]);
	kore_free(k);
	kore_free(h);
}

void
run_scale_tests(int *passed, int *failed)
{
	RUN(histogram_buckets_are_within_3_percent);
	RUN(histogram_percentiles_and_encoding);
	RUN(windows_are_cut_into_whole_buckets);
	RUN(rollups_equal_the_raw_rows_after_an_upgrade_and_batches);
	RUN(retention_prunes_what_is_old_and_nothing_else);
	RUN(health_lives_in_shared_memory_across_processes);
	RUN(shared_tables_find_make_and_count);
	RUN(router_takes_a_few_usable_keys_of_a_large_provider);
}
