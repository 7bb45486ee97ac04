/*
 * Running sums: the figures of each upstream key (ROLLUP_KEY) and client
 * key (ROLLUP_CLIENT) over any window, read in two lookups per key
 * whatever the window and however many rows the log holds.
 *
 * The buckets of rollup.c do not do for these: with 10,000 keys a minute
 * of traffic touches most of them, so a window of buckets per key holds
 * nearly a row per request. Instead, for each (dim, id), written by the
 * log writer in the transaction of the raw rows (rollup_agg_flush()):
 *
 *	rollup_totals	the sums of all its requests counted so far;
 *	rollup_running	a row for each minute t it had requests in, holding
 *			the sums of its requests of the minutes before t.
 *
 * Its figures since minute s are its totals minus its first running row
 * at or after s (no row: nothing since s). The sums are those of
 * rollup_sums[], without a histogram.
 *
 * A minute's requests may come late (a long stream is logged when it
 * ends, with the minute it started): a new row takes the sums of the
 * next row after it (or the totals), and the rows after it grow by what
 * its minute adds. Retention removes the rows of old minutes with the raw
 * rows (retention.c); every row left stays right, so a window
 * that reaches further back counts what is left.
 */

#include <kore/kore.h>

#include <stdio.h>
#include <string.h>

#include "store/store.h"

/* The statements one flush of the writer adds running sums with. */
struct rollup_running {
	sqlite3_stmt	*row;		/* the minute's row, when new */
	sqlite3_stmt	*later;		/* the rows after it grow */
	sqlite3_stmt	*totals;	/* and the totals */
};

static void	sums_list(struct kore_buf *, const char *);

/*
 * fmt for each sum of rollup_sums[], joined by commas: each %s in fmt
 * (three at most) is the sum's name.
 */
static void
sums_list(struct kore_buf *b, const char *fmt)
{
	int	k;

	for (k = 0; k < RS_COUNT; k++) {
		if (k > 0)
			kore_buf_appendf(b, ", ");
		kore_buf_appendf(b, fmt, rollup_sums[k], rollup_sums[k],
		    rollup_sums[k]);
	}
}

/* The statements of one flush on db, or NULL after logging why. */
struct rollup_running *
rollup_running_begin(sqlite3 *db)
{
	struct rollup_running	*r;
	struct kore_buf		 sql;
	int			 k;

	r = kore_calloc(1, sizeof(*r));
	kore_buf_init(&sql, 2048);

	/* The next row's sums, else the totals, else nothing counted. */
	kore_buf_appendf(&sql, "INSERT OR IGNORE INTO rollup_running (dim, "
	    "id, t, ");
	sums_list(&sql, "%s");
	kore_buf_appendf(&sql, ") SELECT ?1, ?2, ?3, ");
	sums_list(&sql, "%s");
	kore_buf_appendf(&sql, " FROM (SELECT * FROM (SELECT 0 AS o, ");
	sums_list(&sql, "%s");
	kore_buf_appendf(&sql, " FROM rollup_running WHERE dim = ?1 AND "
	    "id = ?2 AND t > ?3 ORDER BY t LIMIT 1) UNION ALL SELECT 1, ");
	sums_list(&sql, "%s");
	kore_buf_appendf(&sql, " FROM rollup_totals WHERE dim = ?1 AND "
	    "id = ?2 UNION ALL SELECT 2");
	for (k = 0; k < RS_COUNT; k++)
		kore_buf_appendf(&sql, ", 0");
	kore_buf_appendf(&sql, ") ORDER BY o LIMIT 1");
	r->row = store_prepare_on(db, kore_buf_stringify(&sql, NULL));

	kore_buf_reset(&sql);
	kore_buf_appendf(&sql, "UPDATE rollup_running SET ");
	for (k = 0; k < RS_COUNT; k++)
		kore_buf_appendf(&sql, "%s%s = %s + ?%d", k ? ", " : "",
		    rollup_sums[k], rollup_sums[k], k + 4);
	kore_buf_appendf(&sql, " WHERE dim = ?1 AND id = ?2 AND t > ?3");
	r->later = store_prepare_on(db, kore_buf_stringify(&sql, NULL));

	kore_buf_reset(&sql);
	kore_buf_appendf(&sql, "INSERT INTO rollup_totals (dim, id, ");
	sums_list(&sql, "%s");
	kore_buf_appendf(&sql, ") VALUES (?1, ?2");
	for (k = 0; k < RS_COUNT; k++)
		kore_buf_appendf(&sql, ", ?%d", k + 4);
	kore_buf_appendf(&sql, ") ON CONFLICT (dim, id) DO UPDATE SET ");
	sums_list(&sql, "%s = %s + excluded.%s");
	r->totals = store_prepare_on(db, kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);

	if (r->row == NULL || r->later == NULL || r->totals == NULL) {
		rollup_running_end(r);
		return (NULL);
	}

	return (r);
}

void
rollup_running_end(struct rollup_running *r)
{
	if (r == NULL)
		return;
	sqlite3_finalize(r->row);
	sqlite3_finalize(r->later);
	sqlite3_finalize(r->totals);
	kore_free(r);
}

/*
 * Count sums (RS_COUNT of them) in minute t of id of dim, inside the
 * caller's transaction. Returns KORE_RESULT_OK or KORE_RESULT_ERROR.
 */
int
rollup_running_add(struct rollup_running *r, int dim, int64_t id, int64_t t,
    const int64_t *sums)
{
	sqlite3_stmt	*st[3];
	int		 i, k, ok;

	st[0] = r->row;
	st[1] = r->later;
	st[2] = r->totals;
	ok = 1;
	for (i = 0; ok && i < 3; i++) {
		sqlite3_bind_int(st[i], 1, dim);
		sqlite3_bind_int64(st[i], 2, id);
		if (i < 2)
			sqlite3_bind_int64(st[i], 3, t);
		for (k = 0; i > 0 && k < RS_COUNT; k++)
			sqlite3_bind_int64(st[i], k + 4, sums[k]);
		ok = (sqlite3_step(st[i]) == SQLITE_DONE);
		sqlite3_reset(st[i]);
	}

	return (ok ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

/* One id's figures in a window, as rollup_running_query() sorts them. */
struct running_group {
	int64_t		id;
	int64_t		sums[RS_COUNT];
};

static int	running_sort;		/* the sum groups are sorted by */

static int
cmp_group(const void *a, const void *b)
{
	const struct running_group	*x = a, *y = b;

	if (x->sums[running_sort] != y->sums[running_sort])
		return (x->sums[running_sort] > y->sums[running_sort] ? -1 : 1);
	return ((x->id > y->id) - (x->id < y->id));
}

/*
 * The figures of every id of dim with requests since minute since, most
 * requests first (by_cost: most cost), to cb as rollup_query() gives
 * groups. One lookup per id, of its first row at or after since, beside
 * a scan of the totals. Called on one thread (the admin reader) only.
 * Returns KORE_RESULT_OK or KORE_RESULT_ERROR.
 */
int
rollup_running_query(sqlite3 *db, int dim, int64_t since, int by_cost,
    void (*cb)(void *, int64_t, const struct rollup_figures *), void *arg)
{
	struct kore_buf		 sql;
	struct rollup_figures	 f;
	struct running_group	*v;
	sqlite3_stmt		*totals, *first;
	size_t			 n, cap, i;
	int			 k, rc, ok;

	kore_buf_init(&sql, 1024);
	kore_buf_appendf(&sql, "SELECT id, ");
	sums_list(&sql, "%s");
	kore_buf_appendf(&sql, " FROM rollup_totals WHERE dim = ?1");
	totals = store_prepare_on(db, kore_buf_stringify(&sql, NULL));
	kore_buf_reset(&sql);
	kore_buf_appendf(&sql, "SELECT ");
	sums_list(&sql, "%s");
	kore_buf_appendf(&sql, " FROM rollup_running WHERE dim = ?1 AND "
	    "id = ?2 AND t >= ?3 ORDER BY t LIMIT 1");
	first = store_prepare_on(db, kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (totals == NULL || first == NULL) {
		sqlite3_finalize(totals);
		sqlite3_finalize(first);
		return (KORE_RESULT_ERROR);
	}

	v = NULL;
	n = cap = 0;
	ok = 1;
	sqlite3_bind_int(totals, 1, dim);
	sqlite3_bind_int(first, 1, dim);
	sqlite3_bind_int64(first, 3, since);
	while ((rc = sqlite3_step(totals)) == SQLITE_ROW) {
		sqlite3_bind_int64(first, 2, sqlite3_column_int64(totals, 0));
		if ((rc = sqlite3_step(first)) != SQLITE_ROW) {
			sqlite3_reset(first);
			if (rc != SQLITE_DONE)
				break;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = kore_realloc(v, cap * sizeof(*v));
		}
		v[n].id = sqlite3_column_int64(totals, 0);
		for (k = 0; k < RS_COUNT; k++) {
			v[n].sums[k] = sqlite3_column_int64(totals, k + 1) -
			    sqlite3_column_int64(first, k);
		}
		n++;
		sqlite3_reset(first);
	}
	if (rc != SQLITE_DONE) {
		kore_log(LOG_ERR, "running sums: %s", sqlite3_errmsg(db));
		ok = 0;
	}
	sqlite3_finalize(totals);
	sqlite3_finalize(first);

	running_sort = by_cost ? RS_COST : RS_REQUESTS;
	if (ok && n > 1)
		qsort(v, n, sizeof(*v), cmp_group);
	for (i = 0; ok && i < n; i++) {
		memset(&f, 0, sizeof(f));
		memcpy(f.sums, v[i].sums, sizeof(f.sums));
		cb(arg, v[i].id, &f);
	}
	kore_free(v);

	return (ok ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

/*
 * The migration that brings the per-model buckets and the running sums:
 * both carried over from the fine minute rollups, which hold every raw
 * row the log still has (the hour and day buckets of a model start with
 * them). Runs inside the migration's transaction on db.
 */
int
rollup_migrate_lists(sqlite3 *db, char *err, size_t errlen)
{
	struct kore_buf		 sql;
	static const int64_t	 spans[] = { 60, 3600, 86400 };
	static const struct {
		int		 dim;
		const char	*column;
	} ids[] = {
		{ ROLLUP_KEY, "upstream_key_id" },
		{ ROLLUP_CLIENT, "client_key_id" },
	};
	char			*msg;
	int			 i, ok;

	kore_buf_init(&sql, 4096);
	for (i = 0; i < 3; i++) {
		kore_buf_appendf(&sql, "INSERT INTO rollups (dim, span, t, "
		    "model, ");
		sums_list(&sql, "%s");
		kore_buf_appendf(&sql, ", latency_hist) SELECT %d, %lld, "
		    "t / %lld * %lld, model, ", ROLLUP_MODEL,
		    (long long)spans[i], (long long)spans[i],
		    (long long)spans[i]);
		sums_list(&sql, "sum(%s)");
		kore_buf_appendf(&sql, ", rollup_hist_sum(latency_hist) FROM "
		    "rollups WHERE dim = %d AND span = 60 GROUP BY 3, 4;",
		    ROLLUP_FINE);
	}
	for (i = 0; i < 2; i++) {
		kore_buf_appendf(&sql, "INSERT INTO rollup_running (dim, id, "
		    "t, ");
		sums_list(&sql, "%s");
		kore_buf_appendf(&sql, ") SELECT %d, id, t, ", ids[i].dim);
		sums_list(&sql, "sum(%s) OVER w - %s");
		kore_buf_appendf(&sql, " FROM (SELECT %s AS id, t, ",
		    ids[i].column);
		sums_list(&sql, "sum(%s) AS %s");
		kore_buf_appendf(&sql, " FROM rollups WHERE dim = %d AND "
		    "span = 60 AND %s != 0 GROUP BY 1, 2) WINDOW w AS "
		    "(PARTITION BY id ORDER BY t ROWS UNBOUNDED PRECEDING);",
		    ROLLUP_FINE, ids[i].column);

		kore_buf_appendf(&sql, "INSERT INTO rollup_totals (dim, id, ");
		sums_list(&sql, "%s");
		kore_buf_appendf(&sql, ") SELECT %d, %s, ", ids[i].dim,
		    ids[i].column);
		sums_list(&sql, "sum(%s)");
		kore_buf_appendf(&sql, " FROM rollups WHERE dim = %d AND "
		    "span = 60 AND %s != 0 GROUP BY 2;", ROLLUP_FINE,
		    ids[i].column);
	}

	msg = NULL;
	ok = (sqlite3_exec(db, kore_buf_stringify(&sql, NULL), NULL, NULL,
	    &msg) == SQLITE_OK);
	kore_buf_cleanup(&sql);
	if (!ok) {
		(void)snprintf(err, errlen, "rolling up per model and key: %s",
		    msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}
