/*
 * Runtime state between shared memory and the store: upstream key health
 * (status, reason, cooldown, consecutive failures, and the failed
 * attempts not counted in the store yet) and client token use and
 * spend. The
 * parent loads them before the workers fork, so that a restart keeps
 * cooldowns and quota use; afterwards one log writer at a time writes
 * what changed, about once a second and when a worker stops
 * (state_persist(), on the writer's own connection).
 */

#include <kore/kore.h>

#include <string.h>

#include "dataplane/dataplane.h"

/* What one round took from a slot: put back if the write fails. */
struct taken {
	struct key_health	*key;
	struct client_usage	*client;
	u_int64_t		 version;
	int64_t			 failures;
	int64_t			 requests;
};

static int		 state_load_keys(void);
static int		 state_load_clients(void);
static struct taken	*taken_add(struct taken **, size_t *, size_t *);

/* One more (zeroed) entry at the end of *list. */
static struct taken *
taken_add(struct taken **list, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*list = kore_realloc(*list, *cap * sizeof(**list));
	}
	memset(&(*list)[*n], 0, sizeof(**list));
	return (&(*list)[(*n)++]);
}

/* The counts of keys the store holds, to size the shared tables. */
void
state_size(size_t *nkeys, size_t *nclients)
{
	int64_t	n;

	n = store_count("SELECT count(*) FROM upstream_keys");
	*nkeys = n > 0 ? (size_t)n : 0;
	n = store_count("SELECT count(*) FROM client_keys");
	*nclients = n > 0 ? (size_t)n : 0;
}

static int
state_load_keys(void)
{
	struct key_health	*h;
	sqlite3_stmt		*st;
	const char		*status;

	if ((st = store_prepare("SELECT id, status, status_reason, "
	    "cooldown_until, consecutive_failures FROM upstream_keys")) == NULL)
		return (KORE_RESULT_ERROR);

	while (sqlite3_step(st) == SQLITE_ROW) {
		if ((h = counters_key(sqlite3_column_int64(st, 0), 1)) == NULL)
			break;
		status = (const char *)sqlite3_column_text(st, 1);
		h->status = strcmp(status, "disabled") == 0 ? KEY_DISABLED :
		    strcmp(status, "cooldown") == 0 ? KEY_COOLDOWN : KEY_ACTIVE;
		(void)kore_strlcpy(h->reason,
		    (const char *)sqlite3_column_text(st, 2),
		    sizeof(h->reason));
		h->cooldown_until = sqlite3_column_int64(st, 3);
		h->consecutive_failures = sqlite3_column_int64(st, 4);
		h->version = h->stored = 1;
	}
	sqlite3_finalize(st);

	return (KORE_RESULT_OK);
}

static int
state_load_clients(void)
{
	struct client_usage	*u;
	sqlite3_stmt		*st;

	if ((st = store_prepare("SELECT id, tokens_used, spent_total, "
	    "spent_today, spent_today_start, spent_month, spent_month_start "
	    "FROM client_keys")) == NULL)
		return (KORE_RESULT_ERROR);

	while (sqlite3_step(st) == SQLITE_ROW) {
		if ((u = counters_client(sqlite3_column_int64(st, 0), 1)) ==
		    NULL)
			break;
		u->tokens_used = sqlite3_column_int64(st, 1);
		u->spend.total = sqlite3_column_int64(st, 2);
		u->spend.day = sqlite3_column_int64(st, 3);
		u->spend.day_start = sqlite3_column_int64(st, 4);
		u->spend.month = sqlite3_column_int64(st, 5);
		u->spend.month_start = sqlite3_column_int64(st, 6);
		u->version = u->stored = 1;
	}
	sqlite3_finalize(st);

	return (KORE_RESULT_OK);
}

/* The parent, before the fork: the store's state into shared memory. */
int
state_load(void)
{
	if (state_load_keys() != KORE_RESULT_OK ||
	    state_load_clients() != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
	return (KORE_RESULT_OK);
}

/*
 * Write every slot that changed since it was last written, in one
 * transaction on db. The failed attempts counted in shared memory move
 * into the store (put back if the write fails). Returns KORE_RESULT_OK
 * or KORE_RESULT_ERROR.
 */
int
state_persist(sqlite3 *db)
{
	struct key_health	*h, snap;
	struct client_usage	*u;
	struct client_spend	 spend;
	struct taken		*taken, *t;
	sqlite3_stmt		*ks, *cs;
	size_t			 i, n, cap;
	int64_t			 id, tokens;
	int			 ok;

	taken = NULL;
	n = cap = 0;
	ks = cs = NULL;
	if (store_exec_on(db, "BEGIN IMMEDIATE") != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);

	ok = ((ks = store_prepare_on(db, "UPDATE upstream_keys SET "
	    "status = ?, status_reason = ?, cooldown_until = ?, "
	    "consecutive_failures = ?, failures = failures + ?, "
	    "requests = requests + ?, last_used_at = max(last_used_at, ?) "
	    "WHERE id = ?")) != NULL &&
	    (cs = store_prepare_on(db, "UPDATE client_keys SET "
	    "tokens_used = ?, spent_total = ?, spent_today = ?, "
	    "spent_today_start = ?, spent_month = ?, spent_month_start = ? "
	    "WHERE id = ?")) != NULL);

	for (i = 0; ok && (h = counters_key_at(i, &id)) != NULL; i++) {
		if (__atomic_load_n(&h->version, __ATOMIC_ACQUIRE) ==
		    h->stored)
			continue;
		counters_lock(&h->lock);
		snap = *h;
		h->failures = 0;
		h->requests = 0;
		counters_unlock(&h->lock);

		t = taken_add(&taken, &n, &cap);
		t->key = h;
		t->version = snap.version;
		t->failures = snap.failures;
		t->requests = snap.requests;

		sqlite3_bind_text(ks, 1, health_status_name(snap.status), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(ks, 2, snap.reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ks, 3, snap.cooldown_until);
		sqlite3_bind_int64(ks, 4, snap.consecutive_failures);
		sqlite3_bind_int64(ks, 5, snap.failures);
		sqlite3_bind_int64(ks, 6, snap.requests);
		sqlite3_bind_int64(ks, 7, snap.last_failed);
		sqlite3_bind_int64(ks, 8, id);
		ok = (sqlite3_step(ks) == SQLITE_DONE);
		sqlite3_reset(ks);
	}

	for (i = 0; ok && (u = counters_client_at(i, &id)) != NULL; i++) {
		if (__atomic_load_n(&u->version, __ATOMIC_ACQUIRE) ==
		    u->stored)
			continue;
		t = taken_add(&taken, &n, &cap);
		t->client = u;
		counters_lock(&u->lock);
		tokens = u->tokens_used;
		spend = u->spend;
		t->version = u->version;
		counters_unlock(&u->lock);

		sqlite3_bind_int64(cs, 1, tokens);
		sqlite3_bind_int64(cs, 2, spend.total);
		sqlite3_bind_int64(cs, 3, spend.day);
		sqlite3_bind_int64(cs, 4, spend.day_start);
		sqlite3_bind_int64(cs, 5, spend.month);
		sqlite3_bind_int64(cs, 6, spend.month_start);
		sqlite3_bind_int64(cs, 7, id);
		ok = (sqlite3_step(cs) == SQLITE_DONE);
		sqlite3_reset(cs);
	}

	sqlite3_finalize(ks);
	sqlite3_finalize(cs);
	if (ok)
		ok = (store_exec_on(db, "COMMIT") == KORE_RESULT_OK);
	if (!ok) {
		kore_log(LOG_ERR, "runtime state: %s", sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			(void)store_exec_on(db, "ROLLBACK");
	}

	for (i = 0; i < n; i++) {
		if (taken[i].key != NULL && ok) {
			taken[i].key->stored = taken[i].version;
		} else if (taken[i].key != NULL) {
			counters_lock(&taken[i].key->lock);
			taken[i].key->failures += taken[i].failures;
			taken[i].key->requests += taken[i].requests;
			counters_unlock(&taken[i].key->lock);
		} else if (ok) {
			taken[i].client->stored = taken[i].version;
		}
	}
	kore_free(taken);

	return (ok ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}
