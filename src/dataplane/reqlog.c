/*
 * The request log, written off the request path. Entries queue in the
 * worker; every LOG_FLUSH_MS (or when the queue fills) they go as one
 * batch to the writer, a Kore task thread with a connection of its own,
 * which writes them in one transaction with what they add to the rollups
 * (store/rollup.c) and to the keys' request counts. The worker's event
 * loop never waits for SQLite: a batch's transaction, a writer busy
 * waiting for the lock of another process, or a checkpoint copying 40 MB
 * of WAL would otherwise hold up every request of the worker. One batch
 * is with the writer at a time; a failed one is tried again at the next
 * tick. While the store refuses writes a worker holds up to its share of
 * LOG_BUFFER_MAX_ROWS; past it the oldest entries go, counted
 * (fusion_log_dropped_total), and the newest are kept. A worker that
 * stops hands over what it holds and waits for it to be written; a crash
 * loses at most the last batches.
 *
 * The writers also do the background work of all workers, each job by
 * one writer at a time (counters_claim()): about once a second, the
 * runtime state that changed in shared memory goes to the store
 * (state.c); retention (store/retention.c) removes what is too old in
 * steps of at most USAGE_PRUNE_MS, one after another with as long a
 * pause between them while there is more.
 *
 * SQLite copies the WAL back into the database (a checkpoint) from inside
 * the commit that finds it longer than wal_autocheckpoint pages, 1,000 by
 * default. Every batch rewrites the same tail pages of request_log and of
 * its two indexes, so a longer WAL between checkpoints copies each of
 * them once for many batches: the writer checkpoints at USAGE_WAL_PAGES,
 * and when its worker has had nothing to log for a tick, so that an idle
 * gateway's WAL is short. The worker's own connection, which admin writes
 * use, never checkpoints.
 */

#include <kore/kore.h>
#include <kore/tasks.h>

#include <pthread.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>

#include "dataplane/dataplane.h"

#define USAGE_BATCH	2048
#define USAGE_WAL_PAGES	10000	/* 40 MB of WAL between checkpoints */
#define USAGE_PERSIST_MS 1000	/* runtime state to the store */
#define USAGE_PRUNE_EVERY 10000	/* retention looks again after */
#define USAGE_PRUNE_MS	100	/* work in one retention step */
#define USAGE_QUICK_MS	250	/* a batch's wait while the store refuses */
#define USAGE_RETRY_MS	5000	/* a failed batch goes again at least */

/* What the writer is asked to do, and answers when it is done. */
struct usage_msg {
	int			 op;
	int			 idle;		/* nothing logged for a tick */
	int			 quick;		/* the store refuses: don't wait */
	int			 more;		/* retention is not done */
	struct usage_batch	*batch;
};

#define USAGE_OP_WRITE		1
#define USAGE_OP_TICK		2
#define USAGE_OP_STOP		3

struct usage_batch {
	struct log_entry	*entries;
	size_t			 first;		/* those before were dropped */
	size_t			 n;
	int			 ok;		/* written (by the writer) */
	char			 error[256];	/* why not */
};

/* The worker's side. */
static struct log_entry	*queue = NULL;
static size_t		 queue_first = 0; /* those before were dropped */
static size_t		 queued = 0;
static size_t		 capacity = 0;
static size_t		 inflight = 0;	/* entries the writer holds */
static size_t		 hold_max = 0;	/* this worker's LOG_BUFFER_MAX_ROWS */
static int		 dropping = 0;	/* said so once per outage */
static size_t		 logged = 0;	/* entries since the last tick */
static u_int64_t	 dropped = 0;	/* entries lost, ever */
static struct usage_batch *failed = NULL; /* to write again */
static u_int64_t	 failed_retry = 0; /* and at the latest then */
static struct kore_task	 writer;
static int		 writer_live = 0;
static int		 refused = 0;	/* the store refused the last batch */
static int		 writer_busy = 0; /* a message awaits its answer */
static int		 prune_more = 0;  /* the writer has more to prune */

/* The writer's side. */
static sqlite3		*writer_db = NULL;
static int		 wal_pages = 0;	/* the WAL after the writer's commit */
static struct rollup_agg *rollups = NULL;

static size_t	usage_held(void);
static int	usage_drop_oldest(void);
static void	usage_tick(void *, u_int64_t);
static void	usage_prune_more(void *, u_int64_t);
static void	usage_send(int, int);
static void	usage_answer(struct kore_task *);
static void	usage_take(void);
static int	usage_writer(struct kore_task *);
static void	usage_write(struct usage_batch *);
static int	usage_wal_hook(void *, sqlite3 *, const char *, int);
static void	usage_checkpoint(void);
static void	usage_upkeep(int *);

void
reqlog_init(void)
{
	if (store_db() == NULL)
		return;

	/*
	 * The node's bound, shared out over its workers (Kore's worker_count
	 * counts the key manager's and ACME's slots too).
	 */
	hold_max = fusion_cfg.log_buffer_max /
	    (worker_count > KORE_WORKER_BASE ? worker_count - KORE_WORKER_BASE :
	    1);
	if (hold_max == 0)
		hold_max = 1;

	/* Checkpoints are the writer's (see above). */
	(void)sqlite3_wal_autocheckpoint(store_db(), 0);

	if ((writer_db = store_connect(fusion_cfg.db_path, 0)) == NULL)
		fatal("request log: cannot open %s", fusion_cfg.db_path);
	/* It appends to the ends of three b-trees: a small cache will do. */
	if (sqlite3_exec(writer_db, "PRAGMA cache_size = -512", NULL, NULL,
	    NULL) != SQLITE_OK)
		fatal("request log: %s", sqlite3_errmsg(writer_db));
	/* Replaces SQLite's own hook, wal_autocheckpoint. */
	(void)sqlite3_wal_hook(writer_db, usage_wal_hook, NULL);

	kore_task_create(&writer, usage_writer);
	kore_task_bind_callback(&writer, usage_answer);
	kore_task_run(&writer);
	writer_live = 1;

	(void)kore_timer_add(usage_tick, fusion_cfg.log_flush_ms, NULL, 0);
}

/* Each tick hands the writer a batch, or a tick to do its upkeep. */
static void
usage_tick(void *arg, u_int64_t now)
{
	if (queued == queue_first && failed == NULL)
		usage_send(USAGE_OP_TICK, logged == 0);
	logged = 0;
	reqlog_flush();
}

/* The entries this worker holds for the store, the writer's included. */
static size_t
usage_held(void)
{
	return (inflight + (queued - queue_first) +
	    (failed != NULL ? failed->n - failed->first : 0));
}

/*
 * The store has refused writes for so long that this worker holds its
 * bound: the oldest entry it may touch goes (of the failed batch, else
 * of the queue), counted. Returns 0 when all it holds is with the writer
 * (the bound is smaller than a batch).
 */
static int
usage_drop_oldest(void)
{
	struct log_entry	*e;

	if (failed != NULL && failed->first < failed->n)
		e = &failed->entries[failed->first++];
	else if (queue_first < queued)
		e = &queue[queue_first++];
	else
		return (0);

	kore_free(e->trace);
	e->trace = NULL;
	dropped++;
	if (!dropping) {
		dropping = 1;
		kore_log(LOG_ERR, "request log: the store has not taken "
		    "writes for a while and %zu entries wait: dropping the "
		    "oldest (LOG_BUFFER_MAX_ROWS)", usage_held());
	}
	return (1);
}

/*
 * Queue entry e; its trace now belongs to the queue. Its tokens count
 * against the client's quota at once, in every worker.
 */
void
reqlog_add(struct log_entry *e)
{
	if (e->client_key_id && e->prompt_tokens + e->completion_tokens > 0)
		counters_tokens(e->client_key_id,
		    e->prompt_tokens + e->completion_tokens, 1);

	if (usage_held() >= hold_max && !usage_drop_oldest()) {
		dropped++;
		kore_free(e->trace);
		return;
	}

	if (queued == capacity) {
		/* What was dropped from the front makes room first. */
		if (queue_first > capacity / 2) {
			memmove(queue, queue + queue_first,
			    (queued - queue_first) * sizeof(*queue));
			queued -= queue_first;
			queue_first = 0;
		} else {
			capacity = capacity ? capacity * 2 : 64;
			queue = kore_realloc(queue, capacity * sizeof(*queue));
		}
	}

	queue[queued++] = *e;
	e->trace = NULL;
	logged++;

	if (queued - queue_first >= USAGE_BATCH)
		reqlog_flush();
}

/* What this worker's log holds and has lost. This function can't fail. */
void
reqlog_state(struct reqlog_state *s)
{
	s->rows = (int64_t)usage_held();
	s->max = (int64_t)hold_max;
	s->dropped = dropped;
	s->failing = refused || counters_upkeep_refused();
}

/*
 * Hand the queue (or a failed batch first) to the writer, if it is free.
 * A failed batch goes again once the runtime state's transaction (every
 * second, in some worker) found the store taking writes, or after
 * USAGE_RETRY_MS: while it is with the writer its rows can't be dropped.
 */
void
reqlog_flush(void)
{
	if (failed != NULL && counters_upkeep_refused() &&
	    kore_time_ms() < failed_retry) {
		usage_send(USAGE_OP_TICK, 0);
		return;
	}
	if (failed != NULL || queued > queue_first)
		usage_send(USAGE_OP_WRITE, 0);
}

static void
usage_send(int op, int idle)
{
	struct usage_msg	m;

	if (!writer_live || writer_busy)
		return;

	memset(&m, 0, sizeof(m));
	m.op = op;
	m.idle = idle;
	m.quick = (refused || counters_upkeep_refused());
	if (op == USAGE_OP_WRITE) {
		if (failed != NULL) {
			m.batch = failed;
			failed = NULL;
		} else {
			m.batch = kore_calloc(1, sizeof(*m.batch));
			m.batch->entries = queue;
			m.batch->first = queue_first;
			m.batch->n = queued;
			queue = NULL;
			queued = capacity = queue_first = 0;
		}
		inflight = m.batch->n - m.batch->first;
	}

	writer_busy = 1;
	kore_task_channel_write(&writer, &m, sizeof(m));
}

/* The writer answered (or Kore says its channel changed). */
static void
usage_answer(struct kore_task *t)
{
	if (!writer_busy || !glue_task_answered(t))
		return;

	usage_take();
	if (queued - queue_first >= USAGE_BATCH)
		reqlog_flush();
	else if (prune_more)
		(void)kore_timer_add(usage_prune_more, USAGE_PRUNE_MS, NULL,
		    KORE_TIMER_ONESHOT);
}

/*
 * Retention has more to do: the writer goes on after a pause as long as
 * its step (half its time at most), with a tick or the queue.
 */
static void
usage_prune_more(void *arg, u_int64_t now)
{
	if (queued > queue_first || failed != NULL)
		reqlog_flush();
	else
		usage_send(USAGE_OP_TICK, 0);
}

/* Read the writer's answer and settle its batch. */
static void
usage_take(void)
{
	struct usage_msg	m;
	size_t			i;

	if (kore_task_channel_read(&writer, &m, sizeof(m)) != sizeof(m))
		fatal("request log: short answer from the writer");
	writer_busy = 0;
	prune_more = m.more;
	if (m.op != USAGE_OP_WRITE)
		return;
	inflight = 0;

	if (!m.batch->ok) {
		if (!refused)
			kore_log(LOG_ERR, "request log: write failed (%s); "
			    "keeping %zu entries", m.batch->error,
			    m.batch->n - m.batch->first);
		failed = m.batch;
		failed_retry = kore_time_ms() + USAGE_RETRY_MS;
		refused = 1;
		return;
	}
	if (refused)
		kore_log(LOG_NOTICE, "request log: the store takes writes "
		    "again; %" PRIu64 " entries were dropped in all", dropped);
	refused = 0;
	dropping = 0;

	for (i = m.batch->first; i < m.batch->n; i++)
		kore_free(m.batch->entries[i].trace);
	kore_free(m.batch->entries);
	kore_free(m.batch);
}

/*
 * The worker stops: wait for the batch with the writer, hand over what is
 * left (a failed batch is tried once more) and wait for that too, then
 * let the writer go.
 */
void
reqlog_stop(void)
{
	struct usage_msg	m;
	int			i;

	if (!writer_live)
		return;

	for (i = 0; i < 3; i++) {
		if (writer_busy)
			usage_take();
		if (failed == NULL && queued == queue_first)
			break;
		/* At once: not waiting to see the store take writes. */
		usage_send(USAGE_OP_WRITE, 0);
	}
	if (writer_busy)
		usage_take();
	if (usage_held() > 0) {
		kore_log(LOG_ERR, "request log: %zu entries could not be "
		    "written", usage_held());
	}

	/* The answer says the writer has closed its connection. */
	memset(&m, 0, sizeof(m));
	m.op = USAGE_OP_STOP;
	kore_task_channel_write(&writer, &m, sizeof(m));
	if (kore_task_channel_read(&writer, &m, sizeof(m)) != sizeof(m))
		fatal("request log: short answer from the writer");
	writer_live = 0;
}

/*
 * The writer: a task thread that owns writer_db. It touches nothing of
 * the worker's but the batches it is handed (and the shared memory of
 * all workers), and answers each message once it is done with it. Told
 * to stop, it writes the runtime state once more, closes its connection,
 * answers, and parks (glue_task_park()). It runs forever on one of Kore's
 * task threads, as the admin reader does on the other: Kore gives a new
 * task to a busy thread once task_threads (2) exist, so nothing else may
 * run Kore tasks.
 */
static int
usage_writer(struct kore_task *t)
{
	struct usage_msg	 m;

	for (;;) {
		if (kore_task_channel_read(t, &m, sizeof(m)) != sizeof(m))
			fatal("request log: short message to the writer");
		if (m.op == USAGE_OP_STOP)
			break;
		/*
		 * While the store refuses writes, a batch does not wait out
		 * the busy timeout: what the writer holds can't be dropped,
		 * so it would keep its old rows while the newest went. The
		 * runtime state's transaction, every second, waits and tells
		 * when the store takes writes again.
		 */
		if (m.op == USAGE_OP_WRITE) {
			sqlite3_busy_timeout(writer_db,
			    m.quick ? USAGE_QUICK_MS : STORE_BUSY_MS);
			usage_write(m.batch);
			sqlite3_busy_timeout(writer_db, STORE_BUSY_MS);
		}
		else if (m.idle && wal_pages > 0)
			usage_checkpoint();
		usage_upkeep(&m.more);
		kore_task_channel_write(t, &m, sizeof(m));
	}

	(void)state_persist(writer_db);
	(void)sqlite3_close_v2(writer_db);
	writer_db = NULL;
	kore_task_channel_write(t, &m, sizeof(m));
	glue_task_park();

	/* NOTREACHED */
	return (KORE_RESULT_OK);
}

/*
 * The background jobs, when this writer's turn: runtime state to the
 * store, and retention. Retention that is not done lets the next writer
 * go on at once, and sets *more. Whether the store took the last job
 * that ran is the store's state, not this worker's: it goes to shared
 * memory (counters_upkeep()), so that the next job to succeed, in any
 * worker, says the store takes writes again.
 */
static void
usage_upkeep(int *more)
{
	struct store_retention	r;
	int64_t			now;
	u_int64_t		ms;

	ms = kore_time_ms();
	if (counters_claim(CLAIM_PERSIST, ms, USAGE_PERSIST_MS)) {
		if (state_persist(writer_db) != KORE_RESULT_OK) {
			counters_upkeep(0);
			return;
		}
		counters_upkeep(1);
	}

	if (!counters_claim(CLAIM_PRUNE, ms, USAGE_PRUNE_EVERY))
		return;
	now = store_now();
	memset(&r, 0, sizeof(r));
	if (fusion_cfg.log_retention_days > 0)
		r.log_before = r.minute_before = now -
		    (int64_t)fusion_cfg.log_retention_days * 86400;
	if (fusion_cfg.rollup_retention_days > 0)
		r.rollup_before = now -
		    (int64_t)fusion_cfg.rollup_retention_days * 86400;
	r.max_bytes = (int64_t)fusion_cfg.log_max_mb * 1024 * 1024;
	switch (store_prune(writer_db, &r, USAGE_PRUNE_MS)) {
	case -1:
		counters_upkeep(0);
		return;
	case 1:
		counters_unclaim(CLAIM_PRUNE);
		*more = 1;
		break;
	}
	counters_upkeep(1);
}

/* After each commit of the writer's connection, with the WAL's length. */
static int
usage_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	wal_pages = pages;
	if (pages >= USAGE_WAL_PAGES)
		usage_checkpoint();

	return (SQLITE_OK);
}

/*
 * A passive checkpoint, as SQLite's own: it copies what no reader still
 * needs and waits for nobody. The next writer starts the WAL over once
 * all of it is in the database.
 */
static void
usage_checkpoint(void)
{
	wal_pages = 0;
	(void)sqlite3_wal_checkpoint_v2(writer_db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

/* What a batch adds to one row of upstream_keys. */
struct usage_sum {
	int64_t		id;
	int64_t		n;		/* requests */
	int64_t		last;		/* last use */
};

static struct usage_sum	*sums_add(struct usage_sum **, size_t *, size_t *,
			    int64_t, int64_t, int64_t);
static int		 sums_write(sqlite3_stmt *, struct usage_sum *, size_t);

/*
 * Add n to the sum of row id. A batch names few distinct keys: a linear
 * search is enough.
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
			*sums = realloc(*sums, *cap * sizeof(**sums));
			if (*sums == NULL)
				fatal("request log: out of memory");
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

/* One UPDATE (n, last, id) per row. */
static int
sums_write(sqlite3_stmt *st, struct usage_sum *sums, size_t nsums)
{
	size_t		i;
	int		ok;

	ok = 1;
	for (i = 0; ok && i < nsums; i++) {
		sqlite3_bind_int64(st, 1, sums[i].n);
		sqlite3_bind_int64(st, 2, sums[i].last);
		sqlite3_bind_int64(st, 3, sums[i].id);
		ok = (sqlite3_step(st) == SQLITE_DONE);
		sqlite3_reset(st);
	}

	return (ok);
}

/*
 * The writer writes batch b in one transaction, with its rollups and one
 * update per key for the whole batch rather than one per entry, and says
 * in b how it went.
 */
static void
usage_write(struct usage_batch *b)
{
	static struct usage_sum	*keys = NULL;
	static size_t		 keys_cap = 0;
	struct rollup_event	 ev;
	sqlite3_stmt		*ins, *key;
	struct log_entry	*e;
	size_t			 i, nkeys;
	int			 ok;

	b->ok = 0;
	if (store_exec_on(writer_db, "BEGIN IMMEDIATE") != KORE_RESULT_OK) {
		(void)kore_strlcpy(b->error, sqlite3_errmsg(writer_db),
		    sizeof(b->error));
		return;
	}

	ins = store_prepare_on(writer_db, "INSERT INTO request_log "
	    "(request_id, created_at, client_key_id, model, upstream_model, "
	    "group_id, provider_id, upstream_key_id, key_masked, path, status, "
	    "stream, attempts, latency_ms, ttfb_ms, prompt_tokens, "
	    "completion_tokens, outcome, error, trace, cached_tokens, "
	    "cache_write_tokens, reasoning_tokens, usage_estimated, "
	    "admin_user_id, cost, cost_estimated) "
	    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	key = store_prepare_on(writer_db, "UPDATE upstream_keys SET "
	    "requests = requests + ?, last_used_at = max(last_used_at, ?) "
	    "WHERE id = ?");
	if (rollups == NULL)
		rollups = rollup_agg_new();

	ok = (ins != NULL && key != NULL);
	nkeys = 0;
	for (i = b->first; ok && i < b->n; i++) {
		e = &b->entries[i];
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
		sqlite3_bind_int64(ins, 21, e->cached_tokens);
		sqlite3_bind_int64(ins, 22, e->cache_write_tokens);
		sqlite3_bind_int64(ins, 23, e->reasoning_tokens);
		sqlite3_bind_int(ins, 24, e->usage_estimated);
		if (e->admin_user_id)
			sqlite3_bind_int64(ins, 25, e->admin_user_id);
		else
			sqlite3_bind_null(ins, 25);
		sqlite3_bind_int64(ins, 26, e->cost);
		sqlite3_bind_int(ins, 27, e->cost_estimated);
		ok = (sqlite3_step(ins) == SQLITE_DONE);
		sqlite3_reset(ins);

		if (e->upstream_key_id && strcmp(e->outcome, "ok") == 0) {
			(void)sums_add(&keys, &nkeys, &keys_cap,
			    e->upstream_key_id, 1, e->created_at);
		}

		ev.t = e->created_at;
		ev.provider_id = e->provider_id;
		ev.key_id = e->upstream_key_id;
		ev.client_id = e->client_key_id;
		ev.model = e->model;
		ev.status = e->status;
		ev.outcome = rollup_outcome(e->outcome);
		ev.prompt_tokens = e->prompt_tokens;
		ev.completion_tokens = e->completion_tokens;
		ev.latency_ms = e->latency_ms;
		ev.cached_tokens = e->cached_tokens;
		ev.cache_write_tokens = e->cache_write_tokens;
		ev.reasoning_tokens = e->reasoning_tokens;
		ev.cost = e->cost;
		rollup_agg_add(rollups, &ev);
	}

	if (ok)
		ok = sums_write(key, keys, nkeys);
	if (ok)
		ok = (rollup_agg_flush(rollups, writer_db) == KORE_RESULT_OK);

	sqlite3_finalize(ins);
	sqlite3_finalize(key);

	if (ok)
		ok = (store_exec_on(writer_db, "COMMIT") == KORE_RESULT_OK);
	if (!ok) {
		(void)kore_strlcpy(b->error, sqlite3_errmsg(writer_db),
		    sizeof(b->error));
		if (!sqlite3_get_autocommit(writer_db))
			(void)store_exec_on(writer_db, "ROLLBACK");
		rollup_agg_clear(rollups);
		return;
	}

	b->ok = 1;
}
