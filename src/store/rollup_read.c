/*
 * Reading the rollups (rollup.c): a window is cut into ranges of the
 * coarsest buckets that fit inside it, with finer ones at its edges
 * (rollup_cover()), and each figure sums the rows of those ranges.
 */

#include <kore/kore.h>

#include <string.h>

#include "store/store.h"

static void	ranges_sql(struct kore_buf *, int, int);
static void	ranges_bind(sqlite3_stmt *, const struct rollup_range *, int,
		    int);

/*
 * Cover [from, to) with buckets: of the largest span first where whole
 * ones fit, the smaller spans (spans[], largest first) at the edges.
 * from and to are multiples of the smallest span. Writes at most max
 * ranges to out and returns how many, or -1 when max is too small.
 */
int
rollup_cover(int64_t from, int64_t to, const int64_t *spans, int nspans,
    struct rollup_range *out, int max)
{
	int64_t	s, a, b;
	int	n, m;

	if (from >= to)
		return (0);
	if (nspans == 0)
		return (-1);

	s = spans[0];
	a = (from + s - 1) / s * s;
	b = to / s * s;
	if (a >= b)
		return (rollup_cover(from, to, spans + 1, nspans - 1, out, max));

	if ((n = rollup_cover(from, a, spans + 1, nspans - 1, out, max)) < 0)
		return (-1);
	if (n == max)
		return (-1);
	out[n].span = s;
	out[n].from = a;
	out[n].to = b;
	n++;
	if ((m = rollup_cover(b, to, spans + 1, nspans - 1, out + n,
	    max - n)) < 0)
		return (-1);

	return (n + m);
}

/*
 * The WHERE clause of ranges of dim ?1, with parameters from ?first on.
 * Each range names the dim again: so SQLite reads each as a range of the
 * primary key, instead of every row of the dim.
 */
static void
ranges_sql(struct kore_buf *sql, int nranges, int first)
{
	int	i;

	kore_buf_appendf(sql, "(");
	for (i = 0; i < nranges; i++) {
		kore_buf_appendf(sql, "%s(dim = ?1 AND span = ?%d AND t >= ?%d "
		    "AND t < ?%d)", i ? " OR " : "", first + i * 3,
		    first + i * 3 + 1, first + i * 3 + 2);
	}
	if (nranges == 0)
		kore_buf_appendf(sql, "0");
	kore_buf_appendf(sql, ")");
}

static void
ranges_bind(sqlite3_stmt *st, const struct rollup_range *r, int nranges,
    int first)
{
	int	i;

	for (i = 0; i < nranges; i++) {
		sqlite3_bind_int64(st, first + i * 3, r[i].span);
		sqlite3_bind_int64(st, first + i * 3 + 1, r[i].from);
		sqlite3_bind_int64(st, first + i * 3 + 2, r[i].to);
	}
}

/*
 * The figures of dim over ranges, per group: by column ("provider_id",
 * "client_key_id", but group 0; q->text: "model", but '') in order of
 * requests (q->by_cost: of cost), most first, limit
 * rows from offset on; per time bucket of bucket seconds (column NULL, bucket > 0)
 * oldest first; or one row for all (column NULL, bucket 0), which comes
 * even when there is nothing. cb gets the group's id (or bucket start)
 * and its figures. Returns KORE_RESULT_OK or KORE_RESULT_ERROR.
 */
int
rollup_query(sqlite3 *db, const struct rollup_query *q,
    void (*cb)(void *, int64_t, const struct rollup_figures *), void *arg)
{
	struct kore_buf		 sql;
	struct rollup_figures	 f;
	sqlite3_stmt		*st;
	int			 k, rc, rows;

	kore_buf_init(&sql, 1024);
	if (q->column != NULL)
		kore_buf_appendf(&sql, "SELECT %s", q->column);
	else if (q->bucket > 0)
		kore_buf_appendf(&sql, "SELECT t / %lld * %lld",
		    (long long)q->bucket, (long long)q->bucket);
	else
		kore_buf_appendf(&sql, "SELECT 0");
	for (k = 0; k < RS_COUNT; k++)
		kore_buf_appendf(&sql, ", coalesce(sum(%s), 0)", rollup_sums[k]);
	kore_buf_appendf(&sql, "%s FROM rollups WHERE ",
	    q->nohist ? ", NULL" : ", rollup_hist_sum(latency_hist)");
	ranges_sql(&sql, q->nranges, 4);
	if (q->column != NULL) {
		/* Group 0 holds the requests without one (no client key). */
		kore_buf_appendf(&sql, " AND %s != %s GROUP BY 1 ORDER BY %d "
		    "DESC, 1 LIMIT ?2 OFFSET ?3", q->column, q->text ? "''" :
		    "0", q->by_cost ? RS_COST + 2 : RS_REQUESTS + 2);
	} else if (q->bucket > 0) {
		kore_buf_appendf(&sql, " GROUP BY 1 ORDER BY 1 LIMIT ?2 "
		    "OFFSET ?3");
	}

	st = store_prepare_on(db, kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (st == NULL)
		return (KORE_RESULT_ERROR);

	sqlite3_bind_int(st, 1, q->dim);
	if (q->column != NULL || q->bucket > 0) {
		sqlite3_bind_int64(st, 2, q->limit > 0 ? q->limit : -1);
		sqlite3_bind_int64(st, 3, q->offset);
	}
	ranges_bind(st, q->ranges, q->nranges, 4);

	rows = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&f, 0, sizeof(f));
		for (k = 0; k < RS_COUNT; k++)
			f.sums[k] = sqlite3_column_int64(st, k + 1);
		if (rollup_hist_decode(sqlite3_column_blob(st, RS_COUNT + 1),
		    (size_t)sqlite3_column_bytes(st, RS_COUNT + 1),
		    &f.hist) == -1)
			kore_log(LOG_ERR, "rollups: a broken histogram");
		if (q->text)
			f.name = (const char *)sqlite3_column_text(st, 0);
		cb(arg, q->text ? 0 : sqlite3_column_int64(st, 0), &f);
		rows++;
	}
	sqlite3_finalize(st);

	if (rc != SQLITE_DONE) {
		kore_log(LOG_ERR, "rollups: %s", sqlite3_errmsg(db));
		return (KORE_RESULT_ERROR);
	}
	if (rows == 0 && q->column == NULL && q->bucket == 0) {
		memset(&f, 0, sizeof(f));
		cb(arg, 0, &f);
	}

	return (KORE_RESULT_OK);
}
