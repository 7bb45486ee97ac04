/*
 * --import-sqlite FILE: a SQLite database, first migrated to the newest
 * version, copied into an empty PostgreSQL database in one transaction:
 * the schema from the migrations (pgsql.c), every table's rows by COPY in
 * an order that puts referred-to tables first, identity values set past
 * the copied ids, every table's row count compared. Anything wrong rolls
 * it all back and leaves the target as it was. Sealed columns are bytes
 * like any other: copied as they are; the file must open with the master
 * key loaded (keycheck.c), and its check value goes along.
 */

#include <kore/kore.h>

#include <libpq-fe.h>

#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include "store/store.h"

#define IMPORT_TABLES_MAX	64
#define IMPORT_COPY_CHUNK	(256 * 1024)

struct import_table {
	char		*name;
	int64_t		 rows;
	int		 done;
};

static int	import_tables(sqlite3 *, struct import_table *, size_t *,
		    char *, size_t);
static int	import_ready(sqlite3 *, const struct import_table *, size_t,
		    const struct import_table *);
static int	import_copy(sqlite3 *, PGconn *, struct import_table *,
		    char *, size_t);
static void	import_field(struct kore_buf *, sqlite3_stmt *, int, int);
static int	import_identities(PGconn *, char *, size_t);
static int	import_empty(PGconn *, char *, size_t);

/*
 * The tables of the SQLite database h, in an order in which each comes
 * after the tables its foreign keys name.
 */
static int
import_tables(sqlite3 *h, struct import_table *t, size_t *n, char *err,
    size_t errlen)
{
	struct import_table	 found[IMPORT_TABLES_MAX];
	sqlite3_stmt		*stmt;
	size_t			 i, count, placed;
	int			 progress;

	if ((stmt = store_prepare_on(h, "SELECT name FROM sqlite_master "
	    "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
	    "ORDER BY name")) == NULL) {
		(void)snprintf(err, errlen, "cannot list the tables");
		return (KORE_RESULT_ERROR);
	}
	count = 0;
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		if (count == IMPORT_TABLES_MAX) {
			sqlite3_finalize(stmt);
			(void)snprintf(err, errlen, "more than %d tables",
			    IMPORT_TABLES_MAX);
			goto fail;
		}
		found[count].name = kore_strdup(
		    (const char *)sqlite3_column_text(stmt, 0));
		found[count].done = 0;
		found[count++].rows = 0;
	}
	sqlite3_finalize(stmt);

	placed = 0;
	do {
		progress = 0;
		for (i = 0; i < count; i++) {
			if (found[i].done ||
			    !import_ready(h, t, placed, &found[i]))
				continue;
			found[i].done = 1;
			t[placed++] = found[i];
			progress = 1;
		}
	} while (progress && placed < count);

	if (placed < count) {
		(void)snprintf(err, errlen, "the tables' foreign keys form a "
		    "cycle");
		goto fail;
	}
	for (i = 0; i < count; i++)
		t[i].done = 0;
	*n = count;
	return (KORE_RESULT_OK);

fail:
	/* t holds the same names as found. */
	for (i = 0; i < count; i++)
		kore_free(found[i].name);
	return (KORE_RESULT_ERROR);
}

/* Whether every table that table's foreign keys name is among placed. */
static int
import_ready(sqlite3 *h, const struct import_table *placed, size_t n,
    const struct import_table *table)
{
	sqlite3_stmt	*stmt;
	const char	*parent;
	size_t		 i;
	int		 ready;

	if ((stmt = store_prepare_on(h, "SELECT \"table\" FROM "
	    "pragma_foreign_key_list(?)")) == NULL)
		return (0);
	(void)sqlite3_bind_text(stmt, 1, table->name, -1, SQLITE_STATIC);

	ready = 1;
	while (ready && sqlite3_step(stmt) == SQLITE_ROW) {
		parent = (const char *)sqlite3_column_text(stmt, 0);
		if (strcmp(parent, table->name) == 0)
			continue;
		ready = 0;
		for (i = 0; i < n; i++) {
			if (strcmp(placed[i].name, parent) == 0)
				ready = 1;
		}
	}
	sqlite3_finalize(stmt);

	return (ready);
}

/*
 * Column col of the row at stmt as a field of COPY's text format: \N for
 * NULL, bytea (PostgreSQL's type, set) as \\x and hex, text escaped.
 */
static void
import_field(struct kore_buf *out, sqlite3_stmt *stmt, int col, int bytea)
{
	static const char	 special[] = "\\\n\r\t", escaped[] = "\\nrt";
	const u_int8_t		*p;
	const char		*e;
	int			 i, len;

	if (sqlite3_column_type(stmt, col) == SQLITE_NULL) {
		kore_buf_append(out, "\\N", 2);
		return;
	}

	if (bytea) {
		p = sqlite3_column_blob(stmt, col);
		len = sqlite3_column_bytes(stmt, col);
		kore_buf_append(out, "\\\\x", 3);
		for (i = 0; i < len; i++)
			kore_buf_appendf(out, "%02x", p[i]);
		return;
	}

	p = sqlite3_column_text(stmt, col);
	len = sqlite3_column_bytes(stmt, col);
	for (i = 0; i < len; i++) {
		if (p[i] != '\0' && (e = strchr(special, p[i])) != NULL) {
			kore_buf_append(out, "\\", 1);
			kore_buf_append(out, &escaped[e - special], 1);
		} else {
			kore_buf_append(out, &p[i], 1);
		}
	}
}

/*
 * Copy every row of table t from h to conn with COPY, the columns by
 * name; t->rows is the number sent.
 */
static int
import_copy(sqlite3 *h, PGconn *conn, struct import_table *t, char *err,
    size_t errlen)
{
	struct kore_buf		 sql, data;
	sqlite3_stmt		*stmt;
	PGresult		*res;
	const char		*params[1];
	char			*ident;
	int			 i, j, ncols, bytea[256], ok;

	stmt = NULL;
	res = NULL;
	ok = 0;
	kore_buf_init(&sql, 1024);
	kore_buf_init(&data, IMPORT_COPY_CHUNK + 4096);

	/* PostgreSQL's bytea columns of the table. */
	params[0] = t->name;
	res = PQexecParams(conn, "SELECT column_name FROM "
	    "information_schema.columns WHERE table_schema = current_schema() "
	    "AND table_name = $1 AND data_type = 'bytea'", 1, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		(void)snprintf(err, errlen, "%s: %s", t->name,
		    PQerrorMessage(conn));
		goto done;
	}

	ident = PQescapeIdentifier(conn, t->name, strlen(t->name));
	kore_buf_appendf(&sql, "SELECT * FROM %s", ident);
	if ((stmt = store_prepare_on(h, kore_buf_stringify(&sql,
	    NULL))) == NULL) {
		(void)snprintf(err, errlen, "%s: cannot read it", t->name);
		PQfreemem(ident);
		goto done;
	}
	ncols = sqlite3_column_count(stmt);
	if (ncols > (int)(sizeof(bytea) / sizeof(bytea[0]))) {
		(void)snprintf(err, errlen, "%s: too many columns", t->name);
		PQfreemem(ident);
		goto done;
	}

	kore_buf_reset(&sql);
	kore_buf_appendf(&sql, "COPY %s (", ident);
	PQfreemem(ident);
	for (i = 0; i < ncols; i++) {
		ident = PQescapeIdentifier(conn, sqlite3_column_name(stmt, i),
		    strlen(sqlite3_column_name(stmt, i)));
		kore_buf_appendf(&sql, "%s%s", i ? ", " : "", ident);
		PQfreemem(ident);
		bytea[i] = 0;
		for (j = 0; j < PQntuples(res); j++) {
			if (strcmp(PQgetvalue(res, j, 0),
			    sqlite3_column_name(stmt, i)) == 0)
				bytea[i] = 1;
		}
	}
	kore_buf_appendf(&sql, ") FROM STDIN");
	PQclear(res);

	res = PQexec(conn, kore_buf_stringify(&sql, NULL));
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		(void)snprintf(err, errlen, "%s: %s", t->name,
		    PQerrorMessage(conn));
		goto done;
	}
	PQclear(res);
	res = NULL;

	t->rows = 0;
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++) {
			if (i > 0)
				kore_buf_append(&data, "\t", 1);
			import_field(&data, stmt, i, bytea[i]);
		}
		kore_buf_append(&data, "\n", 1);
		t->rows++;
		if (data.offset >= IMPORT_COPY_CHUNK) {
			if (PQputCopyData(conn, (const char *)data.data,
			    (int)data.offset) != 1)
				break;
			kore_buf_reset(&data);
		}
	}
	if (data.offset > 0)
		(void)PQputCopyData(conn, (const char *)data.data,
		    (int)data.offset);
	(void)PQputCopyEnd(conn, NULL);

	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		(void)snprintf(err, errlen, "%s: %s", t->name,
		    PQerrorMessage(conn));
		goto done;
	}
	ok = 1;

done:
	/* The end of COPY, or of a failed one. */
	while (res != NULL) {
		PQclear(res);
		res = PQgetResult(conn);
	}
	sqlite3_finalize(stmt);
	kore_buf_cleanup(&sql);
	kore_buf_cleanup(&data);

	return (ok ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

/* Every identity column's next value past the largest copied. */
static int
import_identities(PGconn *conn, char *err, size_t errlen)
{
	struct kore_buf	 sql;
	PGresult	*res;
	char		*table, *column, *literal;
	int		 i, rc;

	res = PQexec(conn, "SELECT table_name, column_name FROM "
	    "information_schema.columns WHERE table_schema = current_schema() "
	    "AND is_identity = 'YES'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		(void)snprintf(err, errlen, "identities: %s",
		    PQerrorMessage(conn));
		PQclear(res);
		return (KORE_RESULT_ERROR);
	}

	rc = KORE_RESULT_OK;
	kore_buf_init(&sql, 512);
	for (i = 0; rc == KORE_RESULT_OK && i < PQntuples(res); i++) {
		table = PQescapeIdentifier(conn, PQgetvalue(res, i, 0),
		    strlen(PQgetvalue(res, i, 0)));
		column = PQescapeIdentifier(conn, PQgetvalue(res, i, 1),
		    strlen(PQgetvalue(res, i, 1)));
		literal = PQescapeLiteral(conn, table, strlen(table));
		kore_buf_reset(&sql);
		kore_buf_appendf(&sql, "SELECT setval(pg_get_serial_sequence("
		    "%s, '%s'), coalesce(max(%s), 0) + 1, false) FROM %s",
		    literal, PQgetvalue(res, i, 1), column, table);
		rc = store_pg_exec(conn, kore_buf_stringify(&sql, NULL), err,
		    errlen);
		PQfreemem(table);
		PQfreemem(column);
		PQfreemem(literal);
	}
	kore_buf_cleanup(&sql);
	PQclear(res);

	return (rc);
}

/* KORE_RESULT_OK when the database of conn holds no relation at all. */
static int
import_empty(PGconn *conn, char *err, size_t errlen)
{
	int64_t		n;

	n = store_pg_count(conn, "SELECT count(*) FROM pg_class c JOIN "
	    "pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname NOT IN "
	    "('pg_catalog', 'information_schema') AND s.nspname NOT LIKE "
	    "'pg_toast%' AND s.nspname NOT LIKE 'pg_temp%'");
	if (n == 0)
		return (KORE_RESULT_OK);

	if (n < 0) {
		(void)snprintf(err, errlen, "cannot list the relations of "
		    "database \"%s\"", PQdb(conn));
	} else {
		(void)snprintf(err, errlen, "database \"%s\" is not empty "
		    "(%lld tables, sequences or other relations): import only "
		    "into a new database", PQdb(conn), (long long)n);
	}
	return (KORE_RESULT_ERROR);
}

/*
 * Import the SQLite database at path into the empty PostgreSQL database
 * url, printing each table's row count. KORE_RESULT_ERROR with the reason
 * in err (never the URL's password) leaves the target unchanged.
 */
int
store_import_sqlite(const char *path, const char *url, char *err,
    size_t errlen)
{
	struct import_table	 t[IMPORT_TABLES_MAX];
	struct stat		 st;
	struct kore_buf		 sql;
	sqlite3			*h;
	PGconn			*conn;
	char			 why[512], *ident;
	int64_t			 n, total;
	size_t			 i, ntables;
	int			 rc, began;

	h = NULL;
	rc = KORE_RESULT_ERROR;
	ntables = 0;
	began = 0;
	kore_buf_init(&sql, 256);

	if ((conn = store_pg_connect(url, why, sizeof(why))) == NULL) {
		(void)snprintf(err, errlen, "%s", why);
		goto done;
	}
	if (stat(path, &st) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, errno_s);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", path);
		goto done;
	}
	if (import_empty(conn, err, errlen) != KORE_RESULT_OK)
		goto done;
	if ((h = store_connect(path, 0)) == NULL) {
		(void)snprintf(err, errlen, "%s: not a SQLite database the "
		    "gateway can open", path);
		goto done;
	}
	/* The key check first: a refusal leaves the file as it was too. */
	if (store_key_check(h, why, sizeof(why)) != KORE_RESULT_OK ||
	    store_migrate(h, why, sizeof(why)) != KORE_RESULT_OK ||
	    store_key_mark(h, why, sizeof(why)) != KORE_RESULT_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, why);
		goto done;
	}

	/* One snapshot of the file, one transaction in PostgreSQL. */
	if (store_exec_on(h, "BEGIN") != KORE_RESULT_OK ||
	    import_tables(h, t, &ntables, err, errlen) != KORE_RESULT_OK)
		goto done;
	if (store_pg_exec(conn, "BEGIN", why, sizeof(why)) != KORE_RESULT_OK) {
		(void)snprintf(err, errlen, "begin: %s", why);
		goto done;
	}
	began = 1;
	if (store_pg_migrate(conn, why, sizeof(why)) != KORE_RESULT_OK) {
		(void)snprintf(err, errlen, "schema: %s", why);
		goto done;
	}

	for (i = 0; i < ntables; i++) {
		if (import_copy(h, conn, &t[i], err, errlen) != KORE_RESULT_OK)
			goto done;
	}
	if (import_identities(conn, err, errlen) != KORE_RESULT_OK)
		goto done;

	total = 0;
	for (i = 0; i < ntables; i++) {
		ident = PQescapeIdentifier(conn, t[i].name, strlen(t[i].name));
		kore_buf_reset(&sql);
		kore_buf_appendf(&sql, "SELECT count(*) FROM %s", ident);
		PQfreemem(ident);
		n = store_pg_count(conn, kore_buf_stringify(&sql, NULL));
		if (n != t[i].rows || store_count_on(h,
		    kore_buf_stringify(&sql, NULL)) != n) {
			(void)snprintf(err, errlen, "%s: %lld rows in the file, "
			    "%lld arrived", t[i].name, (long long)t[i].rows,
			    (long long)n);
			goto done;
		}
		printf("%-24s %lld rows\n", t[i].name, (long long)n);
		total += n;
	}

	if (store_pg_exec(conn, "COMMIT", why, sizeof(why)) != KORE_RESULT_OK) {
		(void)snprintf(err, errlen, "commit: %s", why);
		goto done;
	}
	began = 0;
	printf("imported %zu tables, %lld rows into database \"%s\" at "
	    "schema version %d\n", ntables, (long long)total, PQdb(conn),
	    store_schema_version());
	rc = KORE_RESULT_OK;

done:
	if (began)
		(void)store_pg_exec(conn, "ROLLBACK", why, sizeof(why));
	for (i = 0; i < ntables; i++)
		kore_free(t[i].name);
	if (h != NULL) {
		(void)store_exec_on(h, "COMMIT");
		(void)sqlite3_close_v2(h);
	}
	if (conn != NULL)
		PQfinish(conn);
	kore_buf_cleanup(&sql);

	return (rc);
}
