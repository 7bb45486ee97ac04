/*
 * Upstream key health. 401/403 disable a key until an operator resets it;
 * 429 cools it down for Retry-After (or a default); 5xx, timeouts and
 * resets cool it down for a time that doubles with each consecutive
 * failure. When a cooldown has passed, one request may try the key (a
 * half-open trial, claimed in the store so that only one worker does);
 * success makes it active again. The store is the shared truth: every
 * change is written at once, and config_invalidate() makes every worker
 * reload it before its next request.
 */

#include <kore/kore.h>

#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"

#define HEALTH_REASON_MAX	200

static void	health_store(struct cfg_key *, const char *, int);

static void
health_store(struct cfg_key *k, const char *reason, int failed)
{
	sqlite3_stmt	*st;
	const char	*status;

	status = k->status == KEY_DISABLED ? "disabled" :
	    k->status == KEY_COOLDOWN ? "cooldown" : "active";

	if ((st = store_prepare("UPDATE upstream_keys SET status = ?, "
	    "status_reason = ?, cooldown_until = ?, consecutive_failures = ?, "
	    "failures = failures + ?, requests = requests + ?, "
	    "last_used_at = ? WHERE id = ?")) == NULL)
		return;

	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, k->cooldown_until);
	sqlite3_bind_int64(st, 4, k->consecutive_failures);
	sqlite3_bind_int(st, 5, failed);
	sqlite3_bind_int(st, 6, failed);
	sqlite3_bind_int64(st, 7, store_now());
	sqlite3_bind_int64(st, 8, k->id);
	if (sqlite3_step(st) != SQLITE_DONE)
		kore_log(LOG_ERR, "health: %s", sqlite3_errmsg(store_db()));
	else
		config_invalidate();
	sqlite3_finalize(st);
}

/*
 * Record a failed attempt with key k, cooled down as cool says (COOL_*
 * of failover.c); retry_after is the upstream's Retry-After in seconds
 * or -1. why, shown to operators, says what happened.
 */
void
health_failure(struct cfg_key *k, int cool, int64_t retry_after,
    const char *why)
{
	char		reason[HEALTH_REASON_MAX];
	int64_t		secs, now;
	int		shift;

	now = store_now();
	k->consecutive_failures++;

	if (cool == COOL_DISABLE) {
		k->status = KEY_DISABLED;
		k->cooldown_until = 0;
		(void)kore_strlcpy(reason, why, sizeof(reason));
	} else if (cool == COOL_RATE) {
		secs = retry_after >= 0 ? retry_after :
		    fusion_cfg.cooldown_429;
		if (secs < 1)
			secs = 1;
		k->status = KEY_COOLDOWN;
		k->cooldown_until = now + secs;
		(void)kore_strlcpy(reason, why, sizeof(reason));
	} else {
		shift = (int)(k->consecutive_failures - 1);
		if (shift > 16)
			shift = 16;
		secs = (int64_t)fusion_cfg.cooldown_base << shift;
		if (secs > fusion_cfg.cooldown_max)
			secs = fusion_cfg.cooldown_max;
		k->status = KEY_COOLDOWN;
		k->cooldown_until = now + secs;
		(void)snprintf(reason, sizeof(reason), "%s (%lld in a row)",
		    why, (long long)k->consecutive_failures);
	}

	health_store(k, reason, 1);
	kore_log(LOG_NOTICE, "upstream key %lld (%s): %s", (long long)k->id,
	    k->masked, reason);
}

/* A successful attempt: clears any cooldown the key was in. */
void
health_success(struct cfg_key *k)
{
	if (k->status == KEY_ACTIVE && k->consecutive_failures == 0)
		return;

	k->status = KEY_ACTIVE;
	k->cooldown_until = 0;
	k->consecutive_failures = 0;
	health_store(k, "", 0);
	kore_log(LOG_NOTICE, "upstream key %lld (%s) is active again",
	    (long long)k->id, k->masked);
}

/*
 * May this request use key k? Active keys always; a key whose cooldown
 * has passed only if this request wins the half-open trial, which holds
 * the key for the provider's timeout.
 */
int
health_claim(struct cfg_key *k)
{
	sqlite3_stmt	*st;
	int64_t		 now, hold;
	int		 won;

	if (k->status == KEY_ACTIVE)
		return (1);

	now = store_now();
	hold = k->provider->timeout_ms / 1000 + 1;

	if ((st = store_prepare("UPDATE upstream_keys SET cooldown_until = ? "
	    "WHERE id = ? AND status = 'cooldown' AND cooldown_until <= ?")) ==
	    NULL)
		return (0);
	sqlite3_bind_int64(st, 1, now + hold);
	sqlite3_bind_int64(st, 2, k->id);
	sqlite3_bind_int64(st, 3, now);
	won = (sqlite3_step(st) == SQLITE_DONE &&
	    sqlite3_changes(store_db()) == 1);
	sqlite3_finalize(st);

	/* The others skip the key now instead of asking the store. */
	if (won) {
		k->cooldown_until = now + hold;
		config_invalidate();
	}

	return (won);
}
