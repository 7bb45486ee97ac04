/*
 * The PostgreSQL backend, so far what --import-sqlite needs (pg_import.c):
 * a connection from DATABASE_URL, statements, and the schema made from
 * the migrations' list (migrations.c) with its version in the table
 * schema_version. libpq in blocking mode: the command runs alone, before
 * Kore starts anything. No message carries the URL's password.
 */

#include <kore/kore.h>

#include <libpq-fe.h>
#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static void	pg_message(const char *, const char *, char *, size_t);

/*
 * Write msg to err without its trailing newline and with every
 * occurrence of secret (the URL's password, or NULL) replaced by "***".
 */
static void
pg_message(const char *msg, const char *secret, char *err, size_t errlen)
{
	size_t		 len, slen;

	len = 0;
	slen = secret != NULL ? strlen(secret) : 0;
	err[0] = '\0';
	while (*msg != '\0' && len + 4 < errlen) {
		if (slen > 0 && strncmp(msg, secret, slen) == 0) {
			(void)memcpy(err + len, "***", 3);
			len += 3;
			msg += slen;
			continue;
		}
		err[len++] = *msg++;
	}
	while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
		len--;
	err[len] = '\0';
}

/* Whether url names PostgreSQL: postgresql:// or postgres://. */
int
store_pg_url(const char *url)
{
	return (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0);
}

/*
 * Connect to url, a postgresql:// or postgres:// URL. NULL with the
 * reason in err (never the password) when it is no such URL or the
 * server cannot be reached.
 */
PGconn *
store_pg_connect(const char *url, char *err, size_t errlen)
{
	PQconninfoOption	*opts, *o;
	PGconn			*conn;
	char			*msg, *secret;

	if (!store_pg_url(url)) {
		(void)snprintf(err, errlen, "DATABASE_URL must start with "
		    "postgresql:// or postgres://");
		return (NULL);
	}

	/* libpq's parse errors quote the URL: they are not shown. */
	msg = NULL;
	if ((opts = PQconninfoParse(url, &msg)) == NULL) {
		PQfreemem(msg);
		(void)snprintf(err, errlen, "DATABASE_URL is not a valid "
		    "PostgreSQL URL (postgresql://user:password@host:port/"
		    "database)");
		return (NULL);
	}
	secret = NULL;
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    *o->val != '\0')
			secret = kore_strdup(o->val);
	}
	PQconninfoFree(opts);

	conn = PQconnectdb(url);
	if (PQstatus(conn) != CONNECTION_OK) {
		pg_message(PQerrorMessage(conn), secret, err, errlen);
		PQfinish(conn);
		conn = NULL;
	}
	if (secret != NULL) {
		sodium_memzero(secret, strlen(secret));
		kore_free(secret);
	}

	return (conn);
}

/*
 * Run sql (one or more statements) on conn; KORE_RESULT_ERROR with
 * PostgreSQL's reason in err.
 */
int
store_pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(conn, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		pg_message(PQerrorMessage(conn), NULL, err, errlen);
	PQclear(res);

	return (ok ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

/* The number the query sql answers (SELECT count(*)); -1 on error. */
int64_t
store_pg_count(PGconn *conn, const char *sql)
{
	PGresult	*res;
	int64_t		 n;

	n = -1;
	res = PQexec(conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0))
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	return (n);
}

/*
 * Bring the schema of conn to the newest version, inside the caller's
 * transaction (PostgreSQL's DDL is transactional: the caller's rollback
 * undoes it all). A step that carries rows over in C (SQLite's only) is
 * refused unless the database was empty: there is nothing to carry.
 */
int
store_pg_migrate(PGconn *conn, char *err, size_t errlen)
{
	struct kore_buf	 sql;
	char		 why[512];
	int64_t		 version;
	int		 i, carry, rc;

	if (store_pg_exec(conn, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "  version INTEGER NOT NULL)", why, sizeof(why)) !=
	    KORE_RESULT_OK) {
		(void)snprintf(err, errlen, "schema_version: %s", why);
		return (KORE_RESULT_ERROR);
	}
	version = store_pg_count(conn,
	    "SELECT coalesce(max(version), 0) FROM schema_version");
	if (version < 0) {
		(void)snprintf(err, errlen, "cannot read schema version");
		return (KORE_RESULT_ERROR);
	}
	if (version > store_schema_version()) {
		(void)snprintf(err, errlen, "schema version %lld is newer than "
		    "this release understands (%d)", (long long)version,
		    store_schema_version());
		return (KORE_RESULT_ERROR);
	}

	kore_buf_init(&sql, 4096);
	rc = KORE_RESULT_OK;
	for (i = (int)version; rc == KORE_RESULT_OK &&
	    i < store_schema_version(); i++) {
		kore_buf_reset(&sql);
		carry = store_migration_pg(i, &sql);
		kore_buf_appendf(&sql, ";DELETE FROM schema_version;"
		    "INSERT INTO schema_version VALUES (%d)", i + 1);
		if (carry && version > 0) {
			(void)snprintf(err, errlen, "migration %d carries rows "
			    "over, which only the SQLite backend does yet",
			    i + 1);
			rc = KORE_RESULT_ERROR;
		} else if (store_pg_exec(conn, kore_buf_stringify(&sql, NULL),
		    why, sizeof(why)) != KORE_RESULT_OK) {
			(void)snprintf(err, errlen, "migration %d: %s", i + 1,
			    why);
			rc = KORE_RESULT_ERROR;
		}
	}
	kore_buf_cleanup(&sql);

	return (rc);
}
