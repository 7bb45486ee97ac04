/*
 * The SQLite backend: one file in WAL mode shared by every process,
 * each process with its own connection set up the same way.
 */

#include <kore/kore.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

static sqlite3	*db = NULL;

/*
 * A connection to the database at path, set up as every connection of
 * the gateway is; NULL after logging why. The parent connects with create
 * set; workers only open what the parent made.
 */
sqlite3 *
store_connect(const char *path, int create)
{
	sqlite3		*h;
	int		 flags, persist;

	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (create)
		flags |= SQLITE_OPEN_CREATE;

	h = NULL;
	if (sqlite3_open_v2(path, &h, flags, NULL) != SQLITE_OK) {
		kore_log(LOG_ERR, "sqlite3_open(%s): %s", path,
		    h ? sqlite3_errmsg(h) : "out of memory");
		(void)sqlite3_close_v2(h);
		return (NULL);
	}

	/*
	 * Keep the WAL and shared-memory files when the last connection
	 * closes: unprivileged workers cannot recreate them in a directory
	 * they do not own.
	 */
	persist = 1;
	(void)sqlite3_file_control(h, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &persist);

	/* Several worker processes write at once: wait rather than fail. */
	sqlite3_busy_timeout(h, STORE_BUSY_MS);

	if (store_exec_on(h, "PRAGMA journal_mode = WAL") != KORE_RESULT_OK ||
	    store_exec_on(h, "PRAGMA foreign_keys = ON") != KORE_RESULT_OK ||
	    store_exec_on(h, "PRAGMA synchronous = NORMAL") != KORE_RESULT_OK ||
	    store_exec_on(h, "PRAGMA temp_store = MEMORY") != KORE_RESULT_OK ||
	    rollup_functions(h) != KORE_RESULT_OK) {
		(void)sqlite3_close_v2(h);
		return (NULL);
	}

	return (h);
}

/*
 * Open this process's connection (see store_connect). Returns
 * KORE_RESULT_OK or KORE_RESULT_ERROR after logging why.
 */
int
store_open(const char *path, int create)
{
	if (db != NULL)
		fatal("store_open: already open");

	if ((db = store_connect(path, create)) == NULL)
		return (KORE_RESULT_ERROR);
	/* A worker reads all of the configuration at each reload. */
	if (store_exec("PRAGMA cache_size = -8192") != KORE_RESULT_OK) {
		store_close();
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/* Close the connection if one is open. This function can't fail. */
void
store_close(void)
{
	if (db != NULL) {
		(void)sqlite3_close_v2(db);
		db = NULL;
	}
}

sqlite3 *
store_db(void)
{
	return (db);
}

/*
 * Prepare a statement on this process's connection. The caller finalizes
 * it. Returns NULL (after logging) when the SQL is wrong.
 */
sqlite3_stmt *
store_prepare(const char *sql)
{
	return (store_prepare_on(db, sql));
}

/* The same on connection h (the request-log writer's). */
sqlite3_stmt *
store_prepare_on(sqlite3 *h, const char *sql)
{
	sqlite3_stmt	*stmt;

	if (sqlite3_prepare_v2(h, sql, -1, &stmt, NULL) != SQLITE_OK) {
		kore_log(LOG_ERR, "sqlite prepare: %s", sqlite3_errmsg(h));
		return (NULL);
	}

	return (stmt);
}

int
store_exec(const char *sql)
{
	return (store_exec_on(db, sql));
}

int
store_exec_on(sqlite3 *h, const char *sql)
{
	char	*err;

	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) {
		kore_log(LOG_ERR, "sqlite: %s", err ? err : "error");
		sqlite3_free(err);
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/*
 * BEGIN IMMEDIATE takes the write lock up front, so a transaction that
 * reads then writes never fails half way with SQLITE_BUSY.
 */
int
store_begin(void)
{
	return (store_exec("BEGIN IMMEDIATE"));
}

int
store_commit(void)
{
	return (store_exec("COMMIT"));
}

void
store_rollback(void)
{
	if (!sqlite3_get_autocommit(db))
		(void)store_exec("ROLLBACK");
}

/* One number from a query such as SELECT count(*); -1 on error. */
int64_t
store_count(const char *sql)
{
	return (store_count_on(db, sql));
}

/* The same on connection h. */
int64_t
store_count_on(sqlite3 *h, const char *sql)
{
	sqlite3_stmt	*stmt;
	int64_t		 n;

	if ((stmt = store_prepare_on(h, sql)) == NULL)
		return (-1);

	n = -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);

	return (n);
}

/* Seconds since the epoch; the unit of every timestamp in the store. */
int64_t
store_now(void)
{
	return ((int64_t)time(NULL));
}
