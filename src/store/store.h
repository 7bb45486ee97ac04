/*
 * store: where the gateway keeps what must outlive a process: groups,
 * providers, upstream and client keys, users and sessions, the request
 * log, its rollups and the audit log. One SQLite file in WAL mode shared
 * by every process (sqlite.c), its schema brought up to date by numbered
 * migrations (migrations.c); the rollups (rollup.c) and what retention
 * removes (retention.c); the master-key check (keycheck.c). PostgreSQL
 * (issue 16) so far: the same migrations in its dialect (pgsql.c) and
 * --import-sqlite (pg_import.c); the gateway does not serve from it yet.
 * It depends on core/ only.
 *
 * Each process holds one connection (the parent while it prepares the
 * database, then each worker); a worker's request-log writer and its
 * admin reader (task threads) have their own.
 * Functions return KORE_RESULT_OK or KORE_RESULT_ERROR after logging why.
 */

#ifndef __H_STORE_H
#define __H_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "core/core.h"

struct kore_buf;
struct pg_conn;		/* libpq's PGconn */

/* How long a connection waits for another's lock before SQLITE_BUSY. */
#define STORE_BUSY_MS		10000

/* sqlite.c */
sqlite3		*store_connect(const char *, int);
int		store_open(const char *, int);
void		store_close(void);
sqlite3		*store_db(void);
sqlite3_stmt	*store_prepare(const char *);
sqlite3_stmt	*store_prepare_on(sqlite3 *, const char *);
int		store_exec(const char *);
int		store_exec_on(sqlite3 *, const char *);
int		store_begin(void);
int		store_commit(void);
void		store_rollback(void);
int64_t		store_count(const char *);
int64_t		store_count_on(sqlite3 *, const char *);
int64_t		store_now(void);

/* migrations.c */
int		store_migrate(sqlite3 *, char *, size_t);
int		store_migrate_to(sqlite3 *, int, char *, size_t);
int		store_schema_version(void);
int		store_migration_pg(int, struct kore_buf *);

/* keycheck.c: the store and the master key belong together. */
int		store_key_check(sqlite3 *, char *, size_t);
int		store_key_mark(sqlite3 *, char *, size_t);

/* pgsql.c: PostgreSQL through libpq, blocking (--import-sqlite). */
int		store_pg_url(const char *);
struct pg_conn	*store_pg_connect(const char *, char *, size_t);
int		store_pg_exec(struct pg_conn *, const char *, char *, size_t);
int64_t		store_pg_count(struct pg_conn *, const char *);
int		store_pg_migrate(struct pg_conn *, char *, size_t);

/* pg_import.c: --import-sqlite FILE into DATABASE_URL. */
int		store_import_sqlite(const char *, const char *, char *,
		    size_t);

/* rollup.c: the request log summed per minute, hour and day. */
#define ROLLUP_HIST_BUCKETS	320

#define ROLLUP_FINE		0	/* every dimension */
#define ROLLUP_TOTAL		1	/* status class only */
#define ROLLUP_PROVIDER		2
#define ROLLUP_CLIENT		3	/* also running sums */
#define ROLLUP_MODEL		4
#define ROLLUP_KEY		5	/* running sums only */

#define ROLLUP_OK		0
#define ROLLUP_ERROR		1
#define ROLLUP_CANCELLED	2

/* The sums of a rollup row: indexes into rollup_sums[]. */
#define RS_REQUESTS		0
#define RS_ERRORS		1
#define RS_CANCELLED		2
#define RS_PROMPT		3
#define RS_COMPLETION		4
#define RS_LATENCY		5	/* latency_ms, of those with a provider */
#define RS_CACHED		6	/* input tokens read from a cache */
#define RS_CACHE_WRITE		7	/* input tokens written to a cache */
#define RS_REASONING		8	/* output tokens spent reasoning */
#define RS_COST			9	/* micro-units of CURRENCY */
#define RS_COUNT		10

/* One request as the rollups count it. */
struct rollup_event {
	int64_t		 t;		/* created_at */
	int64_t		 provider_id;	/* 0: none */
	int64_t		 key_id;
	int64_t		 client_id;
	const char	*model;
	int		 status;
	int		 outcome;	/* ROLLUP_OK, _ERROR or _CANCELLED */
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
	int64_t		 latency_ms;
	int64_t		 cached_tokens;
	int64_t		 cache_write_tokens;
	int64_t		 reasoning_tokens;
	int64_t		 cost;		/* micro-units */
};

struct rollup_hist {
	u_int64_t	n[ROLLUP_HIST_BUCKETS];
};

struct rollup_figures {
	int64_t			sums[RS_COUNT];
	struct rollup_hist	hist;
	const char		*name;	/* a text group's value, or NULL */
};

struct rollup_range {
	int64_t		span;
	int64_t		from;		/* bucket starts in [from, to) */
	int64_t		to;
};

#define ROLLUP_RANGES_MAX	8

struct rollup_query {
	int			 dim;
	const char		*column;	/* group by it, or NULL */
	int64_t			 bucket;	/* or by time buckets */
	int64_t			 limit;
	int64_t			 offset;
	int			 nohist;	/* no percentiles wanted */
	int			 text;		/* column holds text (model) */
	int			 by_cost;	/* groups by cost, not requests */
	struct rollup_range	 ranges[ROLLUP_RANGES_MAX];
	int			 nranges;
};

struct rollup_agg;

/*
 * The columns of request_log rollup_event_row() reads, in its order.
 * The rollups' migration reads the rows of before cost had a column
 * (ROLLUP_LOG_COLUMNS_BASE, ", 0"): they cost nothing.
 */
#define ROLLUP_LOG_COLUMNS_BASE	"created_at, coalesce(provider_id, 0), " \
	"coalesce(upstream_key_id, 0), coalesce(client_key_id, 0), model, " \
	"status, outcome, prompt_tokens, completion_tokens, latency_ms, " \
	"cached_tokens, cache_write_tokens, reasoning_tokens"
#define ROLLUP_LOG_COLUMNS	ROLLUP_LOG_COLUMNS_BASE ", cost"

extern const char *const rollup_sums[RS_COUNT];

int		rollup_bucket(int64_t);
int64_t		rollup_bucket_ms(int);
int64_t		rollup_percentile(const struct rollup_hist *, int);
size_t		rollup_hist_encode(const struct rollup_hist *, u_int8_t *,
		    size_t);
int		rollup_hist_decode(const u_int8_t *, size_t,
		    struct rollup_hist *);
int		rollup_outcome(const char *);
int		rollup_functions(sqlite3 *);
struct rollup_agg *rollup_agg_new(void);
void		rollup_agg_add(struct rollup_agg *,
		    const struct rollup_event *);
size_t		rollup_agg_rows(const struct rollup_agg *);
int		rollup_agg_flush(struct rollup_agg *, sqlite3 *);
void		rollup_agg_clear(struct rollup_agg *);
void		rollup_agg_free(struct rollup_agg *);
int		rollup_migrate(sqlite3 *, char *, size_t);
void		rollup_event_row(sqlite3_stmt *, struct rollup_event *);
int		rollup_cover(int64_t, int64_t, const int64_t *, int,
		    struct rollup_range *, int);
int		rollup_query(sqlite3 *, const struct rollup_query *,
		    void (*)(void *, int64_t, const struct rollup_figures *),
		    void *);

/* rollup_running.c: per upstream key and client key, any window. */
struct rollup_running;

struct rollup_running *rollup_running_begin(sqlite3 *);
int		rollup_running_add(struct rollup_running *, int, int64_t,
		    int64_t, const int64_t *);
void		rollup_running_end(struct rollup_running *);
int		rollup_running_query(sqlite3 *, int, int64_t, int,
		    void (*)(void *, int64_t, const struct rollup_figures *),
		    void *);
int		rollup_migrate_lists(sqlite3 *, char *, size_t);

/* retention.c: old rows go, a little at a time. */
struct store_retention {
	int64_t		log_before;	/* raw rows created before */
	int64_t		minute_before;	/* minute rollups before */
	int64_t		rollup_before;	/* hour and day rollups before */
	int64_t		max_bytes;	/* 0, or the most the file may use */
};

int		store_prune(sqlite3 *, const struct store_retention *,
		    u_int64_t);

#endif
