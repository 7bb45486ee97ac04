/*
 * The request log, written off the request path: entries queue in the
 * worker and go to the store in one transaction every LOG_FLUSH_MS (or
 * when the queue fills), with the counters they imply (client tokens,
 * key requests). A worker that stops flushes what it holds; a crash
 * loses at most the last batch.
 *
 * SQLite copies the WAL back into the database (a checkpoint) from inside
 * the commit that finds it longer than wal_autocheckpoint pages, 1,000 by
 * default: under load that is a log flush, in the worker's event loop.
 * Every batch rewrites the same tail pages of request_log and of its two
 * indexes, so a longer WAL between checkpoints copies each of them once
 * for many batches; when a worker has had nothing to log for a tick, it
 * checkpoints what it wrote, so that an idle gateway's WAL is short.
 */

#include <kore/kore.h>

#include <string.h>

#include "fusion.h"
#include "gateway.h"

#define USAGE_BATCH	2048
#define USAGE_WAL_PAGES	10000	/* 40 MB of WAL between checkpoints */
#define USAGE_HOLD_MAX	20000	/* entries kept while the store fails */

static struct log_entry	*queue = NULL;
static size_t		 queued = 0;
static size_t		 capacity = 0;
static size_t		 logged = 0;	/* entries since the last tick */
static int		 wal_pages = 0;	/* the WAL after our last commit */

static void	usage_tick(void *, u_int64_t);
static int	usage_wal_hook(void *, sqlite3 *, const char *, int);
static void	usage_checkpoint(sqlite3 *);

void
usage_init(void)
{
	/* Replaces SQLite's own hook, wal_autocheckpoint. */
	if (store_db() != NULL)
		(void)sqlite3_wal_hook(store_db(), usage_wal_hook, NULL);
	(void)kore_timer_add(usage_tick, fusion_cfg.log_flush_ms, NULL, 0);
}

static void
usage_tick(void *arg, u_int64_t now)
{
	if (logged == 0 && wal_pages > 0 && store_db() != NULL)
		usage_checkpoint(store_db());
	logged = 0;
	usage_flush();
}

/* After each commit of this connection, with the WAL's length in pages. */
static int
usage_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	wal_pages = pages;
	if (pages >= USAGE_WAL_PAGES)
		usage_checkpoint(db);

	return (SQLITE_OK);
}

/*
 * A passive checkpoint, as SQLite's own: it copies what no reader still
 * needs and waits for nobody. The next writer starts the WAL over once
 * all of it is in the database.
 */
static void
usage_checkpoint(sqlite3 *db)
{
	wal_pages = 0;
	(void)sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
}

/* Queue entry e; its trace now belongs to the queue. */
void
usage_log(struct log_entry *e)
{
	if (queued == capacity) {
		if (capacity >= USAGE_HOLD_MAX) {
			kore_log(LOG_ERR, "request log: dropping an entry, "
			    "the store has not accepted writes for a while");
			kore_free(e->trace);
			return;
		}
		capacity = capacity ? capacity * 2 : 64;
		queue = kore_realloc(queue, capacity * sizeof(*queue));
	}

	queue[queued++] = *e;
	e->trace = NULL;
	logged++;

	if (queued >= USAGE_BATCH)
		usage_flush();
}

/* What a batch adds to one row of upstream_keys or client_keys. */
struct usage_sum {
	int64_t		id;
	int64_t		n;		/* requests, or tokens */
	int64_t		last;		/* last use */
};

static struct usage_sum	*sums_add(struct usage_sum **, size_t *, size_t *,
			    int64_t, int64_t, int64_t);
static int		 sums_write(sqlite3_stmt *, struct usage_sum *, size_t,
			    int);

/*
 * Add n to the sum of row id. A batch names few distinct keys and
 * clients: a linear search is enough.
 */
static struct usage_sum *
sums_add(struct usage_sum **sums, size_t *nsums, size_t *cap, int64_t id,
    int64_t n, int64_t last)
{
	size_t		i;

	for (i = 0; i < *nsums; i++) {
		if ((*sums)[i].id == id)
			break;
	}

	if (i == *nsums) {
		if (*nsums == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*sums = kore_realloc(*sums, *cap * sizeof(**sums));
		}
		(*sums)[i].id = id;
		(*sums)[i].n = 0;
		(*sums)[i].last = 0;
		(*nsums)++;
	}

	(*sums)[i].n += n;
	if (last > (*sums)[i].last)
		(*sums)[i].last = last;

	return (&(*sums)[i]);
}

/* One UPDATE per row: (n, id), or (n, last, id) when with_last. */
static int
sums_write(sqlite3_stmt *st, struct usage_sum *sums, size_t nsums,
    int with_last)
{
	size_t		i;
	int		ok, idx;

	ok = 1;
	for (i = 0; ok && i < nsums; i++) {
		idx = 1;
		sqlite3_bind_int64(st, idx++, sums[i].n);
		if (with_last)
			sqlite3_bind_int64(st, idx++, sums[i].last);
		sqlite3_bind_int64(st, idx, sums[i].id);
		ok = (sqlite3_step(st) == SQLITE_DONE);
		sqlite3_reset(st);
	}

	return (ok);
}

/*
 * Write every queued entry in one transaction, with one update per key
 * and per client for the whole batch rather than one per entry.
 */
void
usage_flush(void)
{
	static struct usage_sum	*keys = NULL, *clients = NULL;
	static size_t		 keys_cap = 0, clients_cap = 0;
	sqlite3_stmt		*ins, *key, *client;
	struct log_entry	*e;
	size_t			 i, nkeys, nclients;
	int			 ok, quota;

	if (queued == 0 || store_db() == NULL)
		return;

	if (store_begin() != KORE_RESULT_OK)
		return;

	ins = store_prepare("INSERT INTO request_log (request_id, created_at, "
	    "client_key_id, model, upstream_model, group_id, provider_id, "
	    "upstream_key_id, key_masked, path, status, stream, attempts, "
	    "latency_ms, ttfb_ms, prompt_tokens, completion_tokens, outcome, "
	    "error, trace) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	key = store_prepare("UPDATE upstream_keys SET requests = requests + ?, "
	    "last_used_at = max(last_used_at, ?) WHERE id = ?");
	client = store_prepare("UPDATE client_keys SET tokens_used = "
	    "tokens_used + ? WHERE id = ?");

	ok = (ins != NULL && key != NULL && client != NULL);
	quota = 0;
	nkeys = nclients = 0;
	for (i = 0; ok && i < queued; i++) {
		e = &queue[i];
		sqlite3_bind_text(ins, 1, e->request_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, e->created_at);
		if (e->client_key_id)
			sqlite3_bind_int64(ins, 3, e->client_key_id);
		else
			sqlite3_bind_null(ins, 3);
		sqlite3_bind_text(ins, 4, e->model, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, e->upstream_model, -1, SQLITE_STATIC);
		if (e->group_id)
			sqlite3_bind_int64(ins, 6, e->group_id);
		else
			sqlite3_bind_null(ins, 6);
		if (e->provider_id)
			sqlite3_bind_int64(ins, 7, e->provider_id);
		else
			sqlite3_bind_null(ins, 7);
		if (e->upstream_key_id)
			sqlite3_bind_int64(ins, 8, e->upstream_key_id);
		else
			sqlite3_bind_null(ins, 8);
		sqlite3_bind_text(ins, 9, e->key_masked, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 10, e->path, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 11, e->status);
		sqlite3_bind_int(ins, 12, e->stream);
		sqlite3_bind_int(ins, 13, e->attempts);
		sqlite3_bind_int64(ins, 14, e->latency_ms);
		sqlite3_bind_int64(ins, 15, e->ttfb_ms);
		sqlite3_bind_int64(ins, 16, e->prompt_tokens);
		sqlite3_bind_int64(ins, 17, e->completion_tokens);
		sqlite3_bind_text(ins, 18, e->outcome, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 19, e->error, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 20, e->trace ? e->trace : "[]", -1,
		    SQLITE_STATIC);
		ok = (sqlite3_step(ins) == SQLITE_DONE);
		sqlite3_reset(ins);

		if (e->upstream_key_id && strcmp(e->outcome, "ok") == 0) {
			(void)sums_add(&keys, &nkeys, &keys_cap,
			    e->upstream_key_id, 1, e->created_at);
		}

		if (e->client_key_id &&
		    e->prompt_tokens + e->completion_tokens > 0) {
			(void)sums_add(&clients, &nclients, &clients_cap,
			    e->client_key_id,
			    e->prompt_tokens + e->completion_tokens, 0);
			quota |= e->quota;
		}
	}

	if (ok)
		ok = sums_write(key, keys, nkeys, 1);
	if (ok)
		ok = sums_write(client, clients, nclients, 0);

	sqlite3_finalize(ins);
	sqlite3_finalize(key);
	sqlite3_finalize(client);

	if (!ok || store_commit() != KORE_RESULT_OK) {
		kore_log(LOG_ERR, "request log: write failed (%s); keeping "
		    "%zu entries", sqlite3_errmsg(store_db()), queued);
		store_rollback();
		return;
	}

	for (i = 0; i < queued; i++)
		kore_free(queue[i].trace);
	queued = 0;

	/*
	 * Token counts of clients with a quota changed: every worker must
	 * see them. Other log writes leave the configuration alone.
	 */
	if (quota)
		config_invalidate();
}
