/*
 * Counters shared by every worker process: round-robin positions, the
 * per-client request windows of the rpm limit, and the generation of the
 * routing configuration. One anonymous shared
 * mapping made by the parent before the workers fork; slots are found by
 * hashing, updated with atomic operations. A collision only makes two
 * tiers share a position or two client keys share a lock, never a count.
 */

#include <sys/mman.h>

#include <kore/kore.h>

#include <string.h>

#include "dataplane/dataplane.h"

#define RR_SLOTS	4096
#define RPM_SLOTS	4096
#define RPM_SECONDS	60

struct rpm_slot {
	volatile int	lock;
	int64_t		client_id;
	int64_t		second[RPM_SECONDS];
	u_int32_t	count[RPM_SECONDS];
};

struct shared_counters {
	u_int64_t	config_gen;
	u_int64_t	rr[RR_SLOTS];
	struct rpm_slot	rpm[RPM_SLOTS];
};

static struct shared_counters	*shared = NULL;

static u_int64_t	hash_slot(const char *, int64_t);

/* Called once by the parent: the mapping is inherited by the workers. */
void
counters_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("mmap(shared counters): %s", errno_s);

	shared = p;
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
	struct rpm_slot	*s;
	int64_t		 now, total, wait;
	int		 i, idx;

	s = &shared->rpm[hash_slot("rpm", id) % RPM_SLOTS];
	now = store_now();

	while (__atomic_test_and_set(&s->lock, __ATOMIC_ACQUIRE))
		;

	if (s->client_id != id) {
		memset(s->second, 0, sizeof(s->second));
		memset(s->count, 0, sizeof(s->count));
		s->client_id = id;
	}

	total = 0;
	wait = RPM_SECONDS;
	for (i = 0; i < RPM_SECONDS; i++) {
		if (s->second[i] > now - RPM_SECONDS) {
			total += s->count[i];
			if (s->count[i] > 0 &&
			    s->second[i] + RPM_SECONDS - now < wait)
				wait = s->second[i] + RPM_SECONDS - now;
		}
	}

	if (total >= limit) {
		__atomic_clear(&s->lock, __ATOMIC_RELEASE);
		*used = total;
		return (wait > 0 ? wait : 1);
	}

	idx = (int)(now % RPM_SECONDS);
	if (s->second[idx] != now) {
		s->second[idx] = now;
		s->count[idx] = 0;
	}
	s->count[idx]++;
	*used = total + 1;

	__atomic_clear(&s->lock, __ATOMIC_RELEASE);
	return (0);
}

/*
 * The generation of the routing configuration: bumped after every
 * committed change that workers must serve (admin writes, key health,
 * token counts of clients with a quota), read before each request. One
 * memory read: a worker reloads from the store only when it moved.
 */
u_int64_t
counters_config_gen(void)
{
	return (__atomic_load_n(&shared->config_gen, __ATOMIC_ACQUIRE));
}

/* The store holds a change every worker must see. Call after commit. */
void
counters_config_bump(void)
{
	(void)__atomic_add_fetch(&shared->config_gen, 1, __ATOMIC_RELEASE);
}
