/*
 * What every worker process shares: round-robin positions, each upstream
 * key's health (struct key_health), each client key's token use and rpm
 * window (struct client_usage), the generation of the routing
 * configuration and when the background jobs of the log writers last
 * ran. One anonymous shared mapping made by the parent before the
 * workers fork, sized from the keys in the store at start.
 *
 * Health and usage are runtime state, not configuration: they change in
 * O(1) per event, under the slot's own spin lock, and reach the store in
 * the background (state.c). A slot is found by its key's id through an
 * open-addressing index; slots are handed out in order and never freed
 * (a key made again under an id gets its slot reset), so lookups take no
 * lock and only the first use of an id takes the insert lock. A
 * round-robin position shared by two tiers is the only collision left.
 */

#include <sys/mman.h>

#include <kore/kore.h>

#include <string.h>

#include "dataplane/dataplane.h"

#define RR_SLOTS	4096
#define KEYS_MIN	65536
#define CLIENTS_MIN	16384

struct index_entry {
	int64_t		id;		/* 0: empty; set last, with release */
	int64_t		slot;
};

/* One table of slots: its index (2 x cap entries) and its ids. */
struct table {
	struct index_entry	*index;
	int64_t			*ids;
	void			*slots;
	size_t			 size;		/* of one slot */
	size_t			 cap;
	size_t			*used;		/* in shared memory */
};

struct shared_head {
	u_int64_t	config_gen;
	u_int64_t	config_loads;
	u_int64_t	claims[COUNTERS_CLAIMS];
	int		upkeep_refused;	/* the last background job failed */
	volatile int	insert_lock;
	size_t		keys_used;
	size_t		clients_used;
	u_int64_t	rr[RR_SLOTS];
};

static struct shared_head	*shared = NULL;
static struct table		 keys;
static struct table		 clients;

static u_int64_t	hash_slot(const char *, int64_t);
static size_t		pow2_at_least(size_t, size_t);
static size_t		table_bytes(size_t, size_t);
static u_int8_t		*table_carve(struct table *, u_int8_t *, size_t,
			    size_t, size_t *);
static void		*table_find(struct table *, int64_t, int);
static void		*table_at(struct table *, size_t, int64_t *);
static void		 spend_roll(struct client_spend *,
			    const struct budget_periods *);

static size_t
pow2_at_least(size_t n, size_t min)
{
	size_t	p;

	for (p = min; p < n; p *= 2)
		;
	return (p);
}

/* The bytes a table of cap slots of size bytes takes. */
static size_t
table_bytes(size_t cap, size_t size)
{
	size_t	len;

	len = 2 * cap * sizeof(struct index_entry) + cap * sizeof(int64_t) +
	    cap * size;
	return ((len + 63) & ~(size_t)63);
}

/* Lay out table t at p; returns where the next one starts. */
static u_int8_t *
table_carve(struct table *t, u_int8_t *p, size_t cap, size_t size,
    size_t *used)
{
	t->cap = cap;
	t->size = size;
	t->used = used;
	t->index = (struct index_entry *)(void *)p;
	t->ids = (int64_t *)(void *)(p + 2 * cap * sizeof(struct index_entry));
	t->slots = (u_int8_t *)t->ids + cap * sizeof(int64_t);

	return (p + table_bytes(cap, size));
}

/*
 * Called once by the parent, with the number of upstream and client keys
 * the store holds: there is room for four times as many (at least 65,536
 * and 16,384), and the mapping is inherited by the workers. Only the
 * pages that are used become resident.
 */
void
counters_init(size_t nkeys, size_t nclients)
{
	u_int8_t	*p, *end;
	size_t		 kcap, ccap, head, len;

	kcap = pow2_at_least(nkeys * 4, KEYS_MIN);
	ccap = pow2_at_least(nclients * 4, CLIENTS_MIN);
	head = (sizeof(*shared) + 63) & ~(size_t)63;
	len = head + table_bytes(kcap, sizeof(struct key_health)) +
	    table_bytes(ccap, sizeof(struct client_usage));

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		fatal("mmap(shared counters): %s", errno_s);

	shared = (struct shared_head *)(void *)p;
	end = table_carve(&keys, p + head, kcap, sizeof(struct key_health),
	    &shared->keys_used);
	(void)table_carve(&clients, end, ccap, sizeof(struct client_usage),
	    &shared->clients_used);
}

void
counters_lock(volatile int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		;
}

void
counters_unlock(volatile int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* FNV-1a over a name and a number. */
static u_int64_t
hash_slot(const char *name, int64_t n)
{
	u_int64_t	h;
	size_t		i;

	h = 1469598103934665603ULL;
	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 1099511628211ULL;
	}
	for (i = 0; i < sizeof(n); i++) {
		h ^= (u_int64_t)((n >> (i * 8)) & 0xff);
		h *= 1099511628211ULL;
	}

	return (h);
}

/*
 * The slot of id in t, made (zeroed) when create is set and there is
 * none; NULL when there is none, or no room.
 */
static void *
table_find(struct table *t, int64_t id, int create)
{
	struct index_entry	*e;
	size_t			 mask, i, n, slot;
	int64_t			 seen;

	if (id <= 0 || t->index == NULL)
		return (NULL);

	e = NULL;
	mask = 2 * t->cap - 1;
	i = hash_slot("slot", id) & mask;
	for (n = 0; n <= mask; n++, i = (i + 1) & mask) {
		e = &t->index[i];
		seen = __atomic_load_n(&e->id, __ATOMIC_ACQUIRE);
		if (seen == id)
			return ((u_int8_t *)t->slots + e->slot * t->size);
		if (seen == 0)
			break;
	}
	if (!create)
		return (NULL);

	counters_lock(&shared->insert_lock);
	for (; n <= mask; n++, i = (i + 1) & mask) {
		e = &t->index[i];
		if (e->id == id || e->id == 0)
			break;
	}
	if (n <= mask && e->id == id) {
		counters_unlock(&shared->insert_lock);
		return ((u_int8_t *)t->slots + e->slot * t->size);
	}
	if (n > mask || *t->used >= t->cap) {
		counters_unlock(&shared->insert_lock);
		return (NULL);
	}

	slot = *t->used;
	memset((u_int8_t *)t->slots + slot * t->size, 0, t->size);
	t->ids[slot] = id;
	e->slot = (int64_t)slot;
	__atomic_store_n(&e->id, id, __ATOMIC_RELEASE);
	__atomic_store_n(t->used, slot + 1, __ATOMIC_RELEASE);
	counters_unlock(&shared->insert_lock);

	return ((u_int8_t *)t->slots + slot * t->size);
}

/* The health of upstream key id (made active when new); NULL: no room. */
struct key_health *
counters_key(int64_t id, int create)
{
	return (table_find(&keys, id, create));
}

/* The usage of client key id (made unused when new); NULL: no room. */
struct client_usage *
counters_client(int64_t id, int create)
{
	return (table_find(&clients, id, create));
}

/* Slot i of those t handed out, with its id; NULL past the last. */
static void *
table_at(struct table *t, size_t i, int64_t *id)
{
	if (t->used == NULL || i >= __atomic_load_n(t->used, __ATOMIC_ACQUIRE))
		return (NULL);
	*id = t->ids[i];
	return ((u_int8_t *)t->slots + i * t->size);
}

/* Walk the keys (or clients) with slots: i from 0 until NULL. */
struct key_health *
counters_key_at(size_t i, int64_t *id)
{
	return (table_at(&keys, i, id));
}

struct client_usage *
counters_client_at(size_t i, int64_t *id)
{
	return (table_at(&clients, i, id));
}

/*
 * The next position of the rotation named (name, n): 0, 1, 2 ... across
 * all workers. This function can't fail.
 */
u_int64_t
counters_next(const char *name, int64_t n)
{
	return (__atomic_fetch_add(&shared->rr[hash_slot(name, n) % RR_SLOTS],
	    1, __ATOMIC_RELAXED));
}

/*
 * Count one request of client id against limit per rolling 60 seconds.
 * Returns 0 when it may go ahead (and counts it), otherwise the seconds
 * until it may (and counts nothing).
 */
int64_t
counters_rpm_hit(int64_t id, int64_t limit, int64_t *used)
{
	struct client_usage	*s;
	int64_t			 now, total, wait;
	int			 i, idx;

	if ((s = counters_client(id, 1)) == NULL) {
		*used = 0;
		return (0);
	}
	now = store_now();

	counters_lock(&s->lock);
	total = 0;
	wait = RPM_SECONDS;
	for (i = 0; i < RPM_SECONDS; i++) {
		if ((int64_t)s->second[i] > now - RPM_SECONDS) {
			total += s->count[i];
			if (s->count[i] > 0 &&
			    s->second[i] + RPM_SECONDS - now < wait)
				wait = s->second[i] + RPM_SECONDS - now;
		}
	}

	if (total >= limit) {
		counters_unlock(&s->lock);
		*used = total;
		return (wait > 0 ? wait : 1);
	}

	idx = (int)(now % RPM_SECONDS);
	if ((int64_t)s->second[idx] != now) {
		s->second[idx] = (u_int32_t)now;
		s->count[idx] = 0;
	}
	s->count[idx]++;
	*used = total + 1;

	counters_unlock(&s->lock);
	return (0);
}

/* Tokens client id has used, by the shared count; -1: not counted. */
int64_t
counters_tokens_used(int64_t id)
{
	struct client_usage	*s;

	if ((s = counters_client(id, 0)) == NULL)
		return (-1);
	return (__atomic_load_n(&s->tokens_used, __ATOMIC_RELAXED));
}

/* Client id used n more tokens (add), or has used n (the operator). */
void
counters_tokens(int64_t id, int64_t n, int add)
{
	struct client_usage	*s;

	if ((s = counters_client(id, 1)) == NULL)
		return;
	counters_lock(&s->lock);
	s->tokens_used = add ? s->tokens_used + n : n;
	s->version++;
	counters_unlock(&s->lock);
}

/* Start the day and the month of bp when s is still in earlier ones. */
static void
spend_roll(struct client_spend *s, const struct budget_periods *bp)
{
	if (s->day_start < bp->day_start) {
		s->day = 0;
		s->day_start = bp->day_start;
	}
	if (s->month_start < bp->month_start) {
		s->month = 0;
		s->month_start = bp->month_start;
	}
}

/*
 * May a request of client id costing up to reserve go ahead under
 * budget[BUDGET_KINDS] (0: none)? It may while what was spent and what
 * the requests in flight reserved stays below every budget: then its
 * reserve is added and -1 returned. Otherwise the BUDGET_* that is used
 * up. So the overshoot of a budget is at most what was in flight when
 * it ran out.
 */
int
counters_spend_admit(int64_t id, const int64_t *budget, int64_t reserve,
    const struct budget_periods *bp)
{
	struct client_usage	*u;
	int64_t			 spent[BUDGET_KINDS];
	int			 k, over;

	if ((u = counters_client(id, 1)) == NULL)
		return (-1);
	counters_lock(&u->lock);
	spend_roll(&u->spend, bp);
	spent[BUDGET_DAILY] = u->spend.day;
	spent[BUDGET_MONTHLY] = u->spend.month;
	spent[BUDGET_TOTAL] = u->spend.total;
	over = -1;
	for (k = 0; k < BUDGET_KINDS && over == -1; k++) {
		if (budget[k] > 0 && spent[k] + u->spend.reserved >= budget[k])
			over = k;
	}
	if (over == -1)
		u->spend.reserved += reserve;
	counters_unlock(&u->lock);

	return (over);
}

/*
 * A request of client id is over: its reserve is let go and its cost
 * spent, in the day and month of bp. This function can't fail.
 */
void
counters_spend_settle(int64_t id, int64_t reserve, int64_t cost,
    const struct budget_periods *bp)
{
	struct client_usage	*u;

	if ((u = counters_client(id, 1)) == NULL)
		return;
	counters_lock(&u->lock);
	spend_roll(&u->spend, bp);
	u->spend.reserved -= reserve;
	if (u->spend.reserved < 0)
		u->spend.reserved = 0;
	if (cost > 0) {
		u->spend.total += cost;
		u->spend.day += cost;
		u->spend.month += cost;
		u->version++;
	}
	counters_unlock(&u->lock);
}

/*
 * What client id spent, as of the periods of bp, into *out. Returns 0
 * when it has no slot (nothing counted), 1 otherwise.
 */
int
counters_spend_view(int64_t id, const struct budget_periods *bp,
    struct client_spend *out)
{
	struct client_usage	*u;

	memset(out, 0, sizeof(*out));
	if ((u = counters_client(id, 0)) == NULL)
		return (0);
	counters_lock(&u->lock);
	*out = u->spend;
	counters_unlock(&u->lock);
	spend_roll(out, bp);

	return (1);
}

/*
 * May the caller run background job `job` now? Yes for one caller per
 * interval_ms across all workers. This function can't fail.
 */
int
counters_claim(int job, u_int64_t now_ms, u_int64_t interval_ms)
{
	u_int64_t	next;

	next = __atomic_load_n(&shared->claims[job], __ATOMIC_ACQUIRE);
	if (now_ms < next)
		return (0);
	return (__atomic_compare_exchange_n(&shared->claims[job], &next,
	    now_ms + interval_ms, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
}

/* Job `job` has more to do: whoever looks next may run it at once. */
void
counters_unclaim(int job)
{
	__atomic_store_n(&shared->claims[job], 0, __ATOMIC_RELEASE);
}

/*
 * A background job of a writer ran: ok is whether the store took it.
 * This function can't fail.
 */
void
counters_upkeep(int ok)
{
	__atomic_store_n(&shared->upkeep_refused, !ok, __ATOMIC_RELEASE);
}

/* Did the store refuse the last background job that ran, in any worker? */
int
counters_upkeep_refused(void)
{
	return (shared != NULL &&
	    __atomic_load_n(&shared->upkeep_refused, __ATOMIC_ACQUIRE));
}

/*
 * The generation of the routing configuration: bumped after every
 * committed change an operator makes, read before each request. One
 * memory read: a worker reloads from the store only when it moved.
 */
u_int64_t
counters_config_gen(void)
{
	return (__atomic_load_n(&shared->config_gen, __ATOMIC_ACQUIRE));
}

/*
 * The store holds a change every worker must see. Call after commit.
 * Before the shared memory exists (the parent's start-up import) there
 * is no worker yet to tell.
 */
void
counters_config_bump(void)
{
	if (shared == NULL)
		return;
	(void)__atomic_add_fetch(&shared->config_gen, 1, __ATOMIC_RELEASE);
}

/* Configuration loads by all workers since start: a debug figure. */
u_int64_t
counters_config_loads(int add)
{
	if (add)
		return (__atomic_add_fetch(&shared->config_loads, 1,
		    __ATOMIC_RELAXED));
	return (__atomic_load_n(&shared->config_loads, __ATOMIC_RELAXED));
}
