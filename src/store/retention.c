/*
 * Retention: raw log rows older than LOG_RETENTION_DAYS (or the oldest
 * ones while the database file uses more than LOG_MAX_MB), minute
 * rollups as old as the raw rows they sum, hour and day rollups older
 * than ROLLUP_RETENTION_DAYS. Rows go in batches, each its own short
 * transaction, so that no writer waits long for the lock; the pages they
 * leave empty are handed back to the file system (incremental vacuum),
 * so the file shrinks. Called by one log writer at a time, with a time
 * budget; it says whether there is more to do.
 *
 * Deleting a raw row costs mostly its entries in the log's indexes, one
 * of them (the request id) in random order: batches of 1,000 with the
 * writer's small page cache went at about 1,000 rows/s. The connection
 * has a cache of PRUNE_CACHE_KB while there is more to prune, and the
 * batch grows while a transaction takes under PRUNE_FAST_MS and shrinks
 * past PRUNE_SLOW_MS, so each holds the lock for tens of milliseconds at
 * most. Deletes get three quarters of a step's budget, the incremental
 * vacuum the rest.
 */

#include <kore/kore.h>

#include <string.h>

#include <stdio.h>

#include "store/store.h"

#define PRUNE_ROWS_MIN	200	/* raw rows per transaction, at least */
#define PRUNE_ROWS_MAX	50000	/* and at most */
#define PRUNE_FAST_MS	15	/* a batch this quick doubles the next */
#define PRUNE_SLOW_MS	40	/* and one this slow halves it */
#define PRUNE_CACHE_KB	32768	/* the page cache of a step */
#define PRUNE_BUCKETS	5	/* rollup buckets of a dim per transaction */
#define VACUUM_MIN	256	/* free pages worth giving back */
#define VACUUM_PAGES	256	/* pages given back per statement */

static int		prune_rows = 1000;	/* the next batch of raw rows */
static int		prune_cached = 0;	/* the step's cache is set */
static int64_t		prune_cache;		/* the connection's own */

static int		prune_log(sqlite3 *, int64_t, int);
static int		prune_step(sqlite3 *, const struct store_retention *,
			    int *);
static int		prune_rollups(sqlite3 *, int64_t, int64_t, int);
static int		over_limit(sqlite3 *, const struct store_retention *);
static int64_t		oldest_log(sqlite3 *);

/*
 * Delete up to prune_rows raw rows, oldest first: those created before
 * before, or any (oldest) when all is set; the next batch grows or
 * shrinks by how long this one took. Returns how many, -1 on error.
 */
static int
prune_log(sqlite3 *db, int64_t before, int all)
{
	sqlite3_stmt	*st;
	u_int64_t	 start, took;
	int		 n;

	if ((st = store_prepare_on(db, all ?
	    "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log "
	    "ORDER BY created_at LIMIT ?2)" :
	    "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log "
	    "WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)")) == NULL)
		return (-1);
	if (!all)
		sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, prune_rows);
	start = kore_time_ms();
	n = (sqlite3_step(st) == SQLITE_DONE) ? sqlite3_changes(db) : -1;
	took = kore_time_ms() - start;
	if (n < 0)
		kore_log(LOG_ERR, "retention: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);

	if (n == prune_rows && took < PRUNE_FAST_MS &&
	    prune_rows < PRUNE_ROWS_MAX)
		prune_rows *= 2;
	else if (took > PRUNE_SLOW_MS && prune_rows > PRUNE_ROWS_MIN)
		prune_rows /= 2;

	return (n);
}

/*
 * Delete the oldest buckets of span (PRUNE_BUCKETS of them at most) that
 * start before before: of each dim of table rollups, or (running) of
 * each dim of the running sums. Returns the rows deleted, -1 on error.
 */
static int
prune_rollups(sqlite3 *db, int64_t span, int64_t before, int running)
{
	sqlite3_stmt		*st;
	int			 i, n, total;
	static const int	 dims[] = { ROLLUP_FINE, ROLLUP_TOTAL,
				    ROLLUP_PROVIDER, ROLLUP_CLIENT,
				    ROLLUP_MODEL };
	static const int	 running_dims[] = { ROLLUP_KEY, ROLLUP_CLIENT };

	if ((st = store_prepare_on(db, running ?
	    "DELETE FROM rollup_running WHERE dim = ?1 AND t < min(?3, "
	    "(SELECT min(t) FROM rollup_running WHERE dim = ?1) + ?2 * ?4)" :
	    "DELETE FROM rollups WHERE dim = ?1 AND span = ?2 AND t < "
	    "min(?3, (SELECT min(t) FROM rollups WHERE dim = ?1 AND "
	    "span = ?2) + ?2 * ?4)")) == NULL)
		return (-1);

	total = 0;
	for (i = 0; i < (running ? 2 : 5) && total >= 0; i++) {
		sqlite3_bind_int(st, 1, running ? running_dims[i] : dims[i]);
		sqlite3_bind_int64(st, 2, span);
		sqlite3_bind_int64(st, 3, before);
		sqlite3_bind_int(st, 4, PRUNE_BUCKETS);
		n = (sqlite3_step(st) == SQLITE_DONE) ? sqlite3_changes(db) : -1;
		sqlite3_reset(st);
		if (n < 0) {
			kore_log(LOG_ERR, "retention: %s", sqlite3_errmsg(db));
			total = -1;
		} else {
			total += n;
		}
	}
	sqlite3_finalize(st);

	return (total);
}

/* The minute at which the oldest raw row left was created. */
static int64_t
oldest_log(sqlite3 *db)
{
	int64_t	t;

	t = store_count_on(db, "SELECT coalesce(min(created_at), "
	    "strftime('%s', 'now')) FROM request_log");
	return (t - t % 60);
}

/* Does the file use more than r allows? */
static int
over_limit(sqlite3 *db, const struct store_retention *r)
{
	int64_t		page, used;

	if (r->max_bytes <= 0)
		return (0);
	page = store_count_on(db, "PRAGMA page_size");
	used = store_count_on(db, "PRAGMA page_count") -
	    store_count_on(db, "PRAGMA freelist_count");

	return (page > 0 && used * page > r->max_bytes);
}

/*
 * One batch of each kind r says is too old; the rows deleted are added
 * to *n. Returns 0, or -1 on error (the first refusal ends it: a locked
 * store refuses them all).
 */
static int
prune_step(sqlite3 *db, const struct store_retention *r, int *n)
{
	int64_t		minute;
	int		m[6], i;

	memset(m, 0, sizeof(m));
	if (r->log_before > 0 && (m[0] = prune_log(db, r->log_before, 0)) < 0)
		return (-1);
	if (m[0] == 0 && over_limit(db, r) && (m[1] = prune_log(db, 0, 1)) < 0)
		return (-1);
	/* Minute rollups and running sums go with the raw rows they sum. */
	minute = r->minute_before;
	if (r->max_bytes > 0 && oldest_log(db) > minute)
		minute = oldest_log(db);
	if (minute > 0 && ((m[2] = prune_rollups(db, 60, minute, 0)) < 0 ||
	    (m[3] = prune_rollups(db, 60, minute, 1)) < 0))
		return (-1);
	if (r->rollup_before > 0 &&
	    ((m[4] = prune_rollups(db, 3600, r->rollup_before, 0)) < 0 ||
	    (m[5] = prune_rollups(db, 86400, r->rollup_before, 0)) < 0))
		return (-1);
	for (i = 0; i < 6; i++)
		*n += m[i];

	return (0);
}

/*
 * Remove what r says is too old, for about budget_ms, then give free
 * pages back. Returns 1 when more remains, 0 when done, -1 on error.
 */
int
store_prune(sqlite3 *db, const struct store_retention *r, u_int64_t budget_ms)
{
	u_int64_t	start, deletes;
	char		sql[64];
	int		n, more, rc;

	start = kore_time_ms();
	deletes = budget_ms * 3 / 4;
	more = 0;
	rc = 0;
	if (!prune_cached) {
		prune_cache = store_count_on(db, "PRAGMA cache_size");
		(void)snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d",
		    PRUNE_CACHE_KB);
		prune_cached = (store_exec_on(db, sql) == KORE_RESULT_OK);
	}
	for (;;) {
		n = 0;
		if ((rc = prune_step(db, r, &n)) == -1 || n == 0)
			break;
		if (kore_time_ms() - start >= deletes) {
			more = 1;
			break;
		}
	}

	/* At least one statement's worth, then while the budget lasts. */
	(void)snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)",
	    VACUUM_PAGES);
	while (rc == 0 &&
	    store_count_on(db, "PRAGMA freelist_count") >= VACUUM_MIN) {
		if (store_exec_on(db, sql) != KORE_RESULT_OK) {
			rc = -1;
		} else if (kore_time_ms() - start >= budget_ms) {
			more = more || store_count_on(db,
			    "PRAGMA freelist_count") >= VACUUM_MIN;
			break;
		}
	}

	if (rc == -1 || !more) {
		(void)snprintf(sql, sizeof(sql), "PRAGMA cache_size = %lld",
		    (long long)prune_cache);
		if (prune_cached)
			(void)store_exec_on(db, sql);
		prune_cached = 0;
	}

	return (rc == -1 ? -1 : more);
}
