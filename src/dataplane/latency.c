/*
 * What least_latency scores providers by, shared by every worker: per
 * provider the average time to its first byte (strategy_ewma, forgetting
 * with the group's half-life) and the attempts in flight. One anonymous
 * shared mapping made by the parent before the workers fork, as the
 * counters are (counters.c); a slot per provider found by hashing its
 * id, taken over when another provider hashed there first (it starts
 * unmeasured again), a spin lock around each change.
 *
 * Attempts in flight are counted per worker, so that a worker that dies
 * with attempts under way does not leave its providers looking busy for
 * ever: a worker that starts clears its own counts.
 *
 * A failed attempt (no answer, a timeout, 5xx, 408, 429) counts as a
 * first byte after the provider's whole timeout: a provider that fails
 * fast must not look fast.
 */

#include <sys/mman.h>

#include <kore/kore.h>

#include <string.h>

#include "dataplane/dataplane.h"

#define LATENCY_SLOTS		1024
#define LATENCY_WORKERS		65	/* worker ids 1 to 64 */

struct latency_slot {
	volatile int	lock;
	int64_t		provider_id;
	u_int64_t	ewma_us;
	u_int64_t	last_ms;
	u_int32_t	inflight[LATENCY_WORKERS];
};

static struct latency_slot	*slots = NULL;

static struct latency_slot	*slot_lock(const struct cfg_provider *);
static void			 slot_unlock(struct latency_slot *);
static int			 worker_index(void);

/* Called once by the parent: the mapping is inherited by the workers. */
void
latency_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*slots) * LATENCY_SLOTS, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("mmap(latencies): %s", errno_s);

	slots = p;
}

/* A worker starts: what it counted in flight before is gone. */
void
latency_worker_init(void)
{
	size_t	i;
	int	w;

	w = worker_index();
	for (i = 0; i < LATENCY_SLOTS; i++) {
		(void)__atomic_store_n(&slots[i].inflight[w], 0,
		    __ATOMIC_RELAXED);
	}
}

static int
worker_index(void)
{
	if (worker == NULL || worker->id >= LATENCY_WORKERS)
		return (0);
	return (worker->id);
}

/* The slot of provider p, locked, taken over when another had it. */
static struct latency_slot *
slot_lock(const struct cfg_provider *p)
{
	struct latency_slot	*s;

	s = &slots[strategy_hash("latency", p->id) % LATENCY_SLOTS];
	while (__atomic_test_and_set(&s->lock, __ATOMIC_ACQUIRE))
		;
	if (s->provider_id != p->id) {
		s->provider_id = p->id;
		s->ewma_us = 0;
		s->last_ms = 0;
		memset(s->inflight, 0, sizeof(s->inflight));
	}

	return (s);
}

static void
slot_unlock(struct latency_slot *s)
{
	__atomic_clear(&s->lock, __ATOMIC_RELEASE);
}

/* An attempt with provider p begins. */
void
latency_begin(const struct cfg_provider *p)
{
	struct latency_slot	*s;

	s = slot_lock(p);
	s->inflight[worker_index()]++;
	slot_unlock(s);
}

/*
 * The attempt of px has ended; measured says whether it tells anything
 * of the provider's latency (not when the client left or the gateway
 * stops).
 */
void
latency_settle(const struct proxy *px, int measured)
{
	const struct cfg_provider	*p = px->cur->provider;
	struct latency_slot		*s;
	u_int64_t			 now, sample_ms;
	long				 st;
	int				 w;

	now = kore_time_ms();
	st = px->up.status;
	if (px->upstream_first != 0 && !px->timed_out &&
	    st >= 200 && st <= 499 && st != 408 && st != 429)
		sample_ms = px->upstream_first - px->attempt_start;
	else
		sample_ms = (u_int64_t)p->timeout_ms;

	s = slot_lock(p);
	w = worker_index();
	if (s->inflight[w] > 0)
		s->inflight[w]--;
	if (measured) {
		s->ewma_us = strategy_ewma(s->ewma_us, sample_ms * 1000,
		    s->last_ms ? now - s->last_ms : 0,
		    (u_int64_t)p->group->half_life_ms);
		s->last_ms = now;
	}
	slot_unlock(s);
}

/* The average time to first byte of p in microseconds; 0: unmeasured. */
u_int64_t
latency_ewma_us(const struct cfg_provider *p)
{
	struct latency_slot	*s;
	u_int64_t		 v;

	s = slot_lock(p);
	v = s->ewma_us;
	slot_unlock(s);

	return (v);
}

/* p's least-latency score now (strategy_latency_score). */
u_int64_t
latency_score(const struct cfg_provider *p)
{
	struct latency_slot	*s;
	u_int64_t		 ewma;
	u_int32_t		 inflight;
	int			 i;

	s = slot_lock(p);
	ewma = s->ewma_us;
	for (inflight = 0, i = 0; i < LATENCY_WORKERS; i++)
		inflight += s->inflight[i];
	slot_unlock(s);

	return (strategy_latency_score(ewma, inflight, p->weight));
}
