/*
 * The schema, as numbered migrations: the version lives in PRAGMA
 * user_version, each step runs in its own transaction, and a file from a
 * newer release is refused. A step is SQL and, where the data must be
 * carried over, a C function run after it in the same transaction.
 *
 * The file frees the pages retention empties (auto_vacuum incremental,
 * retention.c): a new file is made so, an older one is converted once
 * with VACUUM, which rewrites it whole and needs as much free disk.
 *
 * PostgreSQL (pgsql.c) runs the same list, so that one version means the
 * same tables on both: each step's SQL rewritten by store_migration_pg()
 * (SQLite's types to PostgreSQL's), or the step's PostgreSQL text in
 * migrations_pg[] where rewriting is not enough. Carry functions are
 * SQLite's only.
 */

#include <kore/kore.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

/* 2 -> 3 on both backends, after the groups table has changed. */
#define MIGRATION_3_COLUMNS \
	"ALTER TABLE providers ADD COLUMN probe_interval_seconds INTEGER" \
	"  NOT NULL DEFAULT 0;" \
	"ALTER TABLE providers ADD COLUMN probe_disabled INTEGER" \
	"  NOT NULL DEFAULT 0;" \
	"ALTER TABLE providers ADD COLUMN proxy_url TEXT NOT NULL DEFAULT '';" \
	"ALTER TABLE providers ADD COLUMN proxy_secret BLOB;" \
	"ALTER TABLE providers ADD COLUMN extra_headers TEXT" \
	"  NOT NULL DEFAULT '{}';" \
	"ALTER TABLE providers ADD COLUMN body_overrides TEXT" \
	"  NOT NULL DEFAULT '{}';" \
	"ALTER TABLE providers ADD COLUMN failover_statuses TEXT" \
	"  NOT NULL DEFAULT '[]';" \
	"ALTER TABLE providers ADD COLUMN no_cooldown_statuses TEXT" \
	"  NOT NULL DEFAULT '[]';" \
	"ALTER TABLE request_log ADD COLUMN admin_user_id INTEGER;"

/*
 * Each migration takes the schema from version i to i + 1. Never edit a
 * released one: add another.
 */
static const struct {
	const char	*sql;
	int		(*carry)(sqlite3 *, char *, size_t);
} migrations[] = {
	/* 0 -> 1: the first schema. */
	{ "CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  username TEXT NOT NULL UNIQUE,"
	"  password_hash TEXT NOT NULL,"
	"  must_change_password INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  created_at INTEGER NOT NULL,"
	"  last_seen_at INTEGER NOT NULL,"
	"  remote_addr TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX sessions_user ON sessions(user_id);"
	"CREATE TABLE login_failures ("
	"  remote_addr TEXT PRIMARY KEY,"
	"  failures INTEGER NOT NULL,"
	"  first_at INTEGER NOT NULL,"
	"  blocked_until INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE groups ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  priority INTEGER NOT NULL DEFAULT 0,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  strategy TEXT NOT NULL DEFAULT 'round_robin'"
	"    CHECK (strategy IN ('round_robin', 'weighted')),"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE providers ("
	"  id INTEGER PRIMARY KEY,"
	"  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  type TEXT NOT NULL DEFAULT 'openai',"
	"  base_url TEXT NOT NULL,"
	"  models TEXT NOT NULL DEFAULT '[]',"
	"  model_aliases TEXT NOT NULL DEFAULT '{}',"
	"  weight INTEGER NOT NULL DEFAULT 1,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  timeout_ms INTEGER NOT NULL DEFAULT 60000,"
	"  tls_verify INTEGER NOT NULL DEFAULT 1,"
	"  ca_cert TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (group_id, name));"
	"CREATE INDEX providers_group ON providers(group_id);"
	"CREATE TABLE upstream_keys ("
	"  id INTEGER PRIMARY KEY,"
	"  provider_id INTEGER NOT NULL"
	"    REFERENCES providers(id) ON DELETE CASCADE,"
	"  secret BLOB NOT NULL,"
	"  secret_hash TEXT NOT NULL,"
	"  key_masked TEXT NOT NULL,"
	"  label TEXT NOT NULL DEFAULT '',"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  status TEXT NOT NULL DEFAULT 'active',"
	"  status_reason TEXT NOT NULL DEFAULT '',"
	"  cooldown_until INTEGER NOT NULL DEFAULT 0,"
	"  consecutive_failures INTEGER NOT NULL DEFAULT 0,"
	"  requests INTEGER NOT NULL DEFAULT 0,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  last_used_at INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (provider_id, secret_hash));"
	"CREATE TABLE client_keys ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  key_hash TEXT NOT NULL UNIQUE,"
	"  key_prefix TEXT NOT NULL,"
	"  allowed_models TEXT NOT NULL DEFAULT '[]',"
	"  allowed_groups TEXT NOT NULL DEFAULT '[]',"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  expires_at INTEGER NOT NULL DEFAULT 0,"
	"  rpm_limit INTEGER NOT NULL DEFAULT 0,"
	"  token_quota INTEGER NOT NULL DEFAULT 0,"
	"  tokens_used INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE request_log ("
	"  id INTEGER PRIMARY KEY,"
	"  request_id TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  client_key_id INTEGER,"
	"  model TEXT NOT NULL DEFAULT '',"
	"  upstream_model TEXT NOT NULL DEFAULT '',"
	"  group_id INTEGER,"
	"  provider_id INTEGER,"
	"  upstream_key_id INTEGER,"
	"  key_masked TEXT NOT NULL DEFAULT '',"
	"  path TEXT NOT NULL DEFAULT '',"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  stream INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  latency_ms INTEGER NOT NULL DEFAULT 0,"
	"  ttfb_ms INTEGER NOT NULL DEFAULT 0,"
	"  prompt_tokens INTEGER NOT NULL DEFAULT 0,"
	"  completion_tokens INTEGER NOT NULL DEFAULT 0,"
	"  outcome TEXT NOT NULL DEFAULT '',"
	"  error TEXT NOT NULL DEFAULT '',"
	"  trace TEXT NOT NULL DEFAULT '[]');"
	"CREATE INDEX request_log_time ON request_log(created_at);"
	"CREATE INDEX request_log_request ON request_log(request_id);"
	"CREATE TABLE audit_log ("
	"  id INTEGER PRIMARY KEY,"
	"  created_at INTEGER NOT NULL,"
	"  user_id INTEGER,"
	"  username TEXT NOT NULL,"
	"  remote_addr TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX audit_log_time ON audit_log(created_at);", NULL },

	/*
	 * An OpenAI-compatible provider without /responses (false): the
	 * Responses API is translated to /chat/completions for it. The
	 * token kinds of every request, and whether its counts are an
	 * estimate (a stream cut before its usage came).
	 */
	{ "ALTER TABLE providers ADD COLUMN responses_api INTEGER NOT NULL"
	"  DEFAULT 1;"
	"ALTER TABLE request_log ADD COLUMN cached_tokens INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE request_log ADD COLUMN cache_write_tokens INTEGER"
	"  NOT NULL DEFAULT 0;"
	"ALTER TABLE request_log ADD COLUMN reasoning_tokens INTEGER"
	"  NOT NULL DEFAULT 0;"
	"ALTER TABLE request_log ADD COLUMN usage_estimated INTEGER"
	"  NOT NULL DEFAULT 0;", NULL },

	/*
	 * Routing (issue 18): groups gain strategy least_latency (the CHECK
	 * constraint can only change with the table, rebuilt as SQLite's
	 * ALTER TABLE documentation says, with foreign keys off around the
	 * migrations: store_migrate), session affinity and the half-life of
	 * the latency average; providers gain probes, a proxy (its URL
	 * sealed, shown masked), extra headers, body overrides and their own
	 * failover statuses; the request log names the admin of a playground
	 * request.
	 */
	{ "CREATE TABLE groups_new ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  priority INTEGER NOT NULL DEFAULT 0,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  strategy TEXT NOT NULL DEFAULT 'round_robin'"
	"    CHECK (strategy IN ('round_robin', 'weighted', 'least_latency')),"
	"  affinity TEXT NOT NULL DEFAULT 'none'"
	"    CHECK (affinity IN ('none', 'session')),"
	"  latency_half_life_seconds INTEGER NOT NULL DEFAULT 10,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"INSERT INTO groups_new (id, name, priority, enabled, strategy,"
	"  created_at, updated_at) SELECT id, name, priority, enabled, strategy,"
	"  created_at, updated_at FROM groups;"
	"DROP TABLE groups;"
	"ALTER TABLE groups_new RENAME TO groups;"
	MIGRATION_3_COLUMNS, NULL },

	/*
	 * 3 -> 4: an index for each filter of the logs page, each in the
	 * order pages are read (newest first) within its value.
	 */
	{ "CREATE INDEX request_log_model ON request_log(model, created_at);"
	"CREATE INDEX request_log_provider ON "
	"  request_log(provider_id, created_at);"
	"CREATE INDEX request_log_client ON "
	"  request_log(client_key_id, created_at);"
	"CREATE INDEX request_log_status ON request_log(status, created_at);",
	NULL },

	/*
	 * 4 -> 5: rollups (rollup.c), with the rows already logged; the cost
	 * of each request in micro-units (money, issue 17), flagged when its
	 * tokens were estimated, first, since the rollups sum it.
	 */
	{ "ALTER TABLE request_log ADD COLUMN cost INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE request_log ADD COLUMN cost_estimated INTEGER"
	"  NOT NULL DEFAULT 0;"
	"CREATE TABLE rollups ("
	"  dim INTEGER NOT NULL,"
	"  span INTEGER NOT NULL,"
	"  t INTEGER NOT NULL,"
	"  provider_id INTEGER NOT NULL DEFAULT 0,"
	"  upstream_key_id INTEGER NOT NULL DEFAULT 0,"
	"  client_key_id INTEGER NOT NULL DEFAULT 0,"
	"  model TEXT NOT NULL DEFAULT '',"
	"  status_class INTEGER NOT NULL DEFAULT 0,"
	"  requests INTEGER NOT NULL DEFAULT 0,"
	"  errors INTEGER NOT NULL DEFAULT 0,"
	"  cancelled INTEGER NOT NULL DEFAULT 0,"
	"  prompt_tokens INTEGER NOT NULL DEFAULT 0,"
	"  completion_tokens INTEGER NOT NULL DEFAULT 0,"
	"  latency_ms_sum INTEGER NOT NULL DEFAULT 0,"
	"  cached_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cache_write_tokens INTEGER NOT NULL DEFAULT 0,"
	"  reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cost INTEGER NOT NULL DEFAULT 0,"
	"  latency_hist BLOB NOT NULL DEFAULT x'',"
	"  PRIMARY KEY (dim, span, t, provider_id, upstream_key_id,"
	"    client_key_id, model, status_class)) WITHOUT ROWID;",
	rollup_migrate },

	/*
	 * Money (issue 17): prices per model (and provider), amounts in
	 * micro-units of CURRENCY per million tokens (per_request: per
	 * request); budgets of client keys in micro-units
	 * (0: none) and what they spent, persisted like tokens_used.
	 */
	{ "CREATE TABLE prices ("
	"  id INTEGER PRIMARY KEY,"
	"  model TEXT NOT NULL,"
	"  provider_id INTEGER REFERENCES providers(id) ON DELETE CASCADE,"
	"  input INTEGER NOT NULL DEFAULT 0,"
	"  cached_input INTEGER NOT NULL DEFAULT 0,"
	"  cache_write INTEGER NOT NULL DEFAULT 0,"
	"  output INTEGER NOT NULL DEFAULT 0,"
	"  reasoning INTEGER,"
	"  per_request INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX prices_model ON"
	"  prices(model, coalesce(provider_id, 0));"
	"ALTER TABLE client_keys ADD COLUMN budget_daily INTEGER"
	"  NOT NULL DEFAULT 0;"
	"ALTER TABLE client_keys ADD COLUMN budget_monthly INTEGER"
	"  NOT NULL DEFAULT 0;"
	"ALTER TABLE client_keys ADD COLUMN budget_total INTEGER"
	"  NOT NULL DEFAULT 0;"
	"ALTER TABLE client_keys ADD COLUMN spent_total INTEGER"
	"  NOT NULL DEFAULT 0;"
	"ALTER TABLE client_keys ADD COLUMN spent_today INTEGER"
	"  NOT NULL DEFAULT 0;"
	"ALTER TABLE client_keys ADD COLUMN spent_today_start INTEGER"
	"  NOT NULL DEFAULT 0;"
	"ALTER TABLE client_keys ADD COLUMN spent_month INTEGER"
	"  NOT NULL DEFAULT 0;"
	"ALTER TABLE client_keys ADD COLUMN spent_month_start INTEGER"
	"  NOT NULL DEFAULT 0;", NULL },

	/*
	 * What the store says about itself (issue 16): the master-key check
	 * value (keycheck.c), a text sealed with the master key.
	 */
	{ "CREATE TABLE store_meta ("
	"  name TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL);", NULL },

	/*
	 * The stats' lists at 10,000 keys (issue 15): rollups per model
	 * (ROLLUP_MODEL, in table rollups) and running sums per upstream key
	 * and client key (rollup_running.c), carried over from the fine
	 * minute rollups.
	 */
	{ "CREATE TABLE rollup_running ("
	"  dim INTEGER NOT NULL,"
	"  id INTEGER NOT NULL,"
	"  t INTEGER NOT NULL,"
	"  requests INTEGER NOT NULL DEFAULT 0,"
	"  errors INTEGER NOT NULL DEFAULT 0,"
	"  cancelled INTEGER NOT NULL DEFAULT 0,"
	"  prompt_tokens INTEGER NOT NULL DEFAULT 0,"
	"  completion_tokens INTEGER NOT NULL DEFAULT 0,"
	"  latency_ms_sum INTEGER NOT NULL DEFAULT 0,"
	"  cached_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cache_write_tokens INTEGER NOT NULL DEFAULT 0,"
	"  reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cost INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (dim, id, t)) WITHOUT ROWID;"
	"CREATE INDEX rollup_running_time ON rollup_running(dim, t);"
	"CREATE TABLE rollup_totals ("
	"  dim INTEGER NOT NULL,"
	"  id INTEGER NOT NULL,"
	"  requests INTEGER NOT NULL DEFAULT 0,"
	"  errors INTEGER NOT NULL DEFAULT 0,"
	"  cancelled INTEGER NOT NULL DEFAULT 0,"
	"  prompt_tokens INTEGER NOT NULL DEFAULT 0,"
	"  completion_tokens INTEGER NOT NULL DEFAULT 0,"
	"  latency_ms_sum INTEGER NOT NULL DEFAULT 0,"
	"  cached_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cache_write_tokens INTEGER NOT NULL DEFAULT 0,"
	"  reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cost INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (dim, id)) WITHOUT ROWID;",
	rollup_migrate_lists },
};

#define MIGRATION_COUNT	(sizeof(migrations) / sizeof(migrations[0]))

/*
 * The steps PostgreSQL runs in its own words, where rewriting SQLite's
 * (store_migration_pg) is not enough; step n takes version n - 1 to n.
 */
static const struct {
	int		 step;
	const char	*sql;
} migrations_pg[] = {
	/* 2 -> 3: PostgreSQL changes the groups' constraint in place. */
	{ 3,
	"ALTER TABLE groups DROP CONSTRAINT groups_strategy_check,"
	"  ADD CONSTRAINT groups_strategy_check"
	"    CHECK (strategy IN ('round_robin', 'weighted', 'least_latency')),"
	"  ADD COLUMN affinity TEXT NOT NULL DEFAULT 'none'"
	"    CHECK (affinity IN ('none', 'session')),"
	"  ADD COLUMN latency_half_life_seconds INTEGER NOT NULL DEFAULT 10;"
	MIGRATION_3_COLUMNS },
};

static int	pragma_step(sqlite3 *, const char *, int *);
static int	vacuum_incremental(sqlite3 *, int, char *, size_t);

/*
 * Run PRAGMA sql on handle once: the step's result code, with the first
 * column of a row in *value; SQLITE_ERROR when it does not prepare.
 */
static int
pragma_step(sqlite3 *handle, const char *sql, int *value)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if (sqlite3_prepare_v2(handle, sql, -1, &stmt, NULL) != SQLITE_OK)
		return (SQLITE_ERROR);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*value = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);

	return (rc);
}

/*
 * auto_vacuum = INCREMENTAL (2), so that pruned pages can be given back.
 * In WAL mode only VACUUM makes the setting take, even in a new file
 * (where it costs nothing).
 */
static int
vacuum_incremental(sqlite3 *handle, int version, char *err, size_t errlen)
{
	char	*msg;

	if (store_count_on(handle, "PRAGMA auto_vacuum") == 2)
		return (KORE_RESULT_OK);

	if (version > 0) {
		kore_log(LOG_NOTICE, "converting the database to incremental "
		    "vacuum (once; VACUUM rewrites the whole file)");
	}

	msg = NULL;
	if (sqlite3_exec(handle, "PRAGMA auto_vacuum = INCREMENTAL", NULL,
	    NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(handle, "VACUUM", NULL, NULL, &msg) != SQLITE_OK) {
		(void)snprintf(err, errlen, "auto_vacuum: %s",
		    msg ? msg : sqlite3_errmsg(handle));
		sqlite3_free(msg);
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/*
 * Bring the schema of handle to the newest version this binary knows.
 * A schema newer than that is refused, with the reason written to err.
 * Works on any handle so that tests can drive it.
 */
int
store_migrate(sqlite3 *handle, char *err, size_t errlen)
{
	return (store_migrate_to(handle, (int)MIGRATION_COUNT, err, errlen));
}

/* The number of migrations: the newest schema version. */
int
store_schema_version(void)
{
	return ((int)MIGRATION_COUNT);
}

/*
 * Bring the schema of handle up to version target (at most the newest;
 * tests start from an older one), each step in its own transaction.
 * Foreign keys are off meanwhile, so that a migration may rebuild a
 * table others refer to (dropping it would cascade to them); each step
 * must leave them whole.
 */
int
store_migrate_to(sqlite3 *handle, int target, char *err, size_t errlen)
{
	char		*msg, sql[64], why[256];
	int		 version, ok, rc, row;
	size_t		 i;

	if (pragma_step(handle, "PRAGMA user_version", &version) !=
	    SQLITE_ROW || version < 0 || target < 0 ||
	    (size_t)target > MIGRATION_COUNT) {
		(void)snprintf(err, errlen, "cannot read schema version");
		return (KORE_RESULT_ERROR);
	}

	if ((size_t)version > MIGRATION_COUNT) {
		(void)snprintf(err, errlen, "schema version %d is newer than "
		    "this release understands (%zu); upgrade LLM Fusion Engine "
		    "or restore a matching backup", version, MIGRATION_COUNT);
		return (KORE_RESULT_ERROR);
	}

	if (vacuum_incremental(handle, version, err, errlen) !=
	    KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);

	(void)sqlite3_exec(handle, "PRAGMA foreign_keys = OFF", NULL, NULL,
	    NULL);
	rc = KORE_RESULT_OK;
	for (i = (size_t)version; rc == KORE_RESULT_OK && i < (size_t)target;
	    i++) {
		msg = NULL;
		why[0] = '\0';
		(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu",
		    i + 1);

		ok = (sqlite3_exec(handle, "BEGIN IMMEDIATE", NULL, NULL,
		    &msg) == SQLITE_OK &&
		    sqlite3_exec(handle, migrations[i].sql, NULL, NULL,
		    &msg) == SQLITE_OK);
		if (ok && migrations[i].carry != NULL)
			ok = (migrations[i].carry(handle, why, sizeof(why)) ==
			    KORE_RESULT_OK);
		if (ok && pragma_step(handle, "PRAGMA foreign_key_check",
		    &row) != SQLITE_DONE) {
			(void)kore_strlcpy(why, "it leaves rows referring to "
			    "rows that do not exist", sizeof(why));
			ok = 0;
		}
		if (ok)
			ok = (sqlite3_exec(handle, sql, NULL, NULL,
			    &msg) == SQLITE_OK && sqlite3_exec(handle,
			    "COMMIT", NULL, NULL, &msg) == SQLITE_OK);
		if (!ok) {
			(void)snprintf(err, errlen, "migration %zu: %s", i + 1,
			    why[0] ? why : msg ? msg : sqlite3_errmsg(handle));
			sqlite3_free(msg);
			(void)sqlite3_exec(handle, "ROLLBACK", NULL, NULL, NULL);
			rc = KORE_RESULT_ERROR;
		}
	}
	(void)sqlite3_exec(handle, "PRAGMA foreign_keys = ON", NULL, NULL,
	    NULL);

	return (rc);
}

/* SQLite's words and PostgreSQL's, longest first where one starts another. */
static const struct {
	const char	*sqlite;
	const char	*pg;
} dialect[] = {
	{ "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY "
	    "PRIMARY KEY" },
	{ "INTEGER", "BIGINT" },		/* SQLite's are 64 bits */
	{ "BLOB", "BYTEA" },
	{ "x''", "''::bytea" },
	{ " WITHOUT ROWID", "" },
};

/*
 * Append migration i (0: the first) in PostgreSQL's dialect to out: its
 * text in migrations_pg[] or its SQLite text with dialect[]'s words (whole
 * words outside quotes) replaced. Returns 1 when the step also carries
 * data over (a C function, SQLite's only), 0 when not, -1 when there is
 * no migration i.
 */
int
store_migration_pg(int i, struct kore_buf *out)
{
	const char	*p;
	size_t		 d, len;
	int		 boundary;

	if (i < 0 || (size_t)i >= MIGRATION_COUNT)
		return (-1);

	p = migrations[i].sql;
	for (d = 0; d < sizeof(migrations_pg) / sizeof(migrations_pg[0]); d++) {
		if (migrations_pg[d].step == i + 1)
			p = migrations_pg[d].sql;
	}
	boundary = 1;
	while (*p != '\0') {
		for (d = 0; boundary && d < sizeof(dialect) / sizeof(dialect[0]);
		    d++) {
			len = strlen(dialect[d].sqlite);
			if (strncmp(p, dialect[d].sqlite, len) == 0 &&
			    !isalnum((unsigned char)p[len]) && p[len] != '_')
				break;
		}
		if (boundary && d < sizeof(dialect) / sizeof(dialect[0])) {
			kore_buf_appendf(out, "%s", dialect[d].pg);
			p += len;
			continue;
		}
		if (*p == '\'') {
			len = strcspn(p + 1, "'") + 1;
			if (p[len] == '\'')
				len++;
			kore_buf_append(out, p, len);
			p += len;
			boundary = 1;
			continue;
		}
		boundary = !isalnum((unsigned char)*p) && *p != '_';
		kore_buf_append(out, p, 1);
		p++;
	}

	return (migrations[i].carry != NULL);
}
