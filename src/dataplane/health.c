/*
 * Upstream key health. 401/403 disable a key until an operator resets it;
 * 429 cools it down for Retry-After (or a default); 5xx, timeouts and
 * resets cool it down for a time that doubles with each consecutive
 * failure. When a cooldown has passed, one request may try the key (a
 * half-open trial, claimed in shared memory so that only one request of
 * all workers does); success makes it active again.
 *
 * The state lives in the memory all workers share (struct key_health,
 * counters.c): a change is a few stores under the key's spin lock, seen
 * by every worker's next request at once, and reaches the store in the
 * background (state.c). The configuration is not reloaded for it.
 */

#include <kore/kore.h>

#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"

static void	health_clear(struct key_health *);

/*
 * Record a failed attempt with key k, cooled down as cool says (COOL_*
 * of failover.c); retry_after is the upstream's Retry-After in seconds
 * or -1. why, shown to operators, says what happened.
 */
void
health_failure(struct cfg_key *k, int cool, int64_t retry_after,
    const char *why)
{
	struct key_health	*h = k->health;
	char			 reason[HEALTH_REASON_MAX];
	int64_t			 secs, now;
	int			 shift;

	now = store_now();
	counters_lock(&h->lock);
	h->consecutive_failures++;

	if (cool == COOL_DISABLE) {
		h->status = KEY_DISABLED;
		h->cooldown_until = 0;
		(void)kore_strlcpy(reason, why, sizeof(reason));
	} else if (cool == COOL_RATE) {
		secs = retry_after >= 0 ? retry_after :
		    fusion_cfg.cooldown_429;
		if (secs < 1)
			secs = 1;
		h->status = KEY_COOLDOWN;
		h->cooldown_until = now + secs;
		(void)kore_strlcpy(reason, why, sizeof(reason));
	} else {
		shift = (int)(h->consecutive_failures - 1);
		if (shift > 16)
			shift = 16;
		secs = (int64_t)fusion_cfg.cooldown_base << shift;
		if (secs > fusion_cfg.cooldown_max)
			secs = fusion_cfg.cooldown_max;
		h->status = KEY_COOLDOWN;
		h->cooldown_until = now + secs;
		(void)snprintf(reason, sizeof(reason), "%s (%lld in a row)",
		    why, (long long)h->consecutive_failures);
	}

	(void)kore_strlcpy(h->reason, reason, sizeof(h->reason));
	h->failures++;
	h->requests++;
	h->last_failed = now;
	h->version++;
	counters_unlock(&h->lock);

	kore_log(LOG_NOTICE, "upstream key %lld (%s): %s", (long long)k->id,
	    k->masked, reason);
}

/* Active, with no cooldown; the caller holds the lock. */
static void
health_clear(struct key_health *h)
{
	h->status = KEY_ACTIVE;
	h->cooldown_until = 0;
	h->consecutive_failures = 0;
	h->reason[0] = '\0';
	h->version++;
}

/* A successful attempt: clears any cooldown the key was in. */
void
health_success(struct cfg_key *k)
{
	struct key_health	*h = k->health;

	if (__atomic_load_n(&h->status, __ATOMIC_RELAXED) == KEY_ACTIVE &&
	    __atomic_load_n(&h->consecutive_failures, __ATOMIC_RELAXED) == 0)
		return;

	counters_lock(&h->lock);
	health_clear(h);
	counters_unlock(&h->lock);

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
	struct key_health	*h = k->health;
	int64_t			 now;
	int			 won;

	if (__atomic_load_n(&h->status, __ATOMIC_RELAXED) == KEY_ACTIVE)
		return (1);

	now = store_now();
	counters_lock(&h->lock);
	won = (h->status == KEY_COOLDOWN && h->cooldown_until <= now);
	if (won) {
		/* The others skip the key meanwhile. */
		h->cooldown_until = now + k->provider->timeout_ms / 1000 + 1;
		h->version++;
	}
	counters_unlock(&h->lock);

	return (won);
}

/*
 * An operator cleared key id's health, gave it a new secret or made it
 * (an id may be used again): active, nothing pending. Also when no worker
 * serves it yet.
 */
void
health_reset(int64_t id)
{
	struct key_health	*h;

	if ((h = counters_key(id, 1)) == NULL)
		return;

	counters_lock(&h->lock);
	health_clear(h);
	h->failures = 0;
	h->requests = 0;
	h->stored = h->version;
	counters_unlock(&h->lock);
}

/* Key id's status as all workers see it; active when it has none. */
int
health_status(int64_t id)
{
	struct key_health	*h;

	if ((h = counters_key(id, 0)) == NULL)
		return (KEY_ACTIVE);
	return (__atomic_load_n(&h->status, __ATOMIC_RELAXED));
}

/* A copy of key id's shared health; 0 when it has none. */
int
health_view(int64_t id, struct key_health *out)
{
	struct key_health	*h;

	if ((h = counters_key(id, 0)) == NULL)
		return (0);

	counters_lock(&h->lock);
	*out = *h;
	counters_unlock(&h->lock);
	out->lock = 0;

	return (1);
}

/* The status as the store and the admin API write it. */
const char *
health_status_name(int status)
{
	return (status == KEY_DISABLED ? "disabled" :
	    status == KEY_COOLDOWN ? "cooldown" : "active");
}
