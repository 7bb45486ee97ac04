/*
 * The routing strategies (src/dataplane/strategy.c through router.c):
 * session affinity by rendezvous hashing, the least-latency score and
 * order, the decaying latency average and the session key of a body.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dataplane.h"
#include "test.h"

void	run_strategy_tests(int *, int *);

#define NP	20	/* providers in the largest tier below */

static struct cfg_group		 grp;
static struct cfg_provider	 prov[NP];
static struct cfg_key		 key[NP][2], *keyp[NP][2];
static struct key_health	 health[NP][2];
static struct cfg		 conf;
static char			*models[] = { "m" };
static u_int64_t		 scores[NP];	/* by provider index */
static u_int64_t		 position;	/* of the exploration */
static u_int64_t		 others;

/* As counters_next: each call moves its rotation on. */
static u_int64_t
next_pos(const char *name, int64_t n)
{
	(void)n;
	if (strcmp(name, "explore") == 0)
		return (position++);
	return (others++);
}

static u_int64_t
score_of(const struct cfg_provider *p)
{
	return (scores[p - prov]);
}

/* A tier of np providers (ids 1..np) with nk keys each, all usable. */
static void
tier(int np, int nk, int strategy, int affinity)
{
	int	i, j;

	memset(&grp, 0, sizeof(grp));
	memset(prov, 0, sizeof(prov));
	memset(key, 0, sizeof(key));
	memset(health, 0, sizeof(health));
	memset(&conf, 0, sizeof(conf));
	grp.id = 1;
	grp.enabled = 1;
	grp.strategy = strategy;
	grp.affinity = affinity;
	for (i = 0; i < np; i++) {
		prov[i].id = i + 1;
		prov[i].group = &grp;
		prov[i].name = "p";
		prov[i].models = models;
		prov[i].nmodels = 1;
		prov[i].enabled = 1;
		prov[i].weight = 1;
		for (j = 0; j < nk; j++) {
			key[i][j].id = 100 + i * 2 + j;
			key[i][j].provider = &prov[i];
			key[i][j].enabled = 1;
			key[i][j].masked = "k";
			key[i][j].health = &health[i][j];
			keyp[i][j] = &key[i][j];
		}
		prov[i].keys = keyp[i];
		prov[i].nkeys = nk;
	}
	conf.providers = prov;
	conf.nproviders = np;
}

/* The first pick of a plan for session s: its key id, 0 for none. */
static int64_t
first_key(const char *s, const char **strategy)
{
	struct router_env	env;
	struct router_pick	out[ROUTER_MAX];
	int			n, i;

	memset(&env, 0, sizeof(env));
	env.next = next_pos;
	env.score = score_of;
	(void)snprintf(env.session, sizeof(env.session), "%s", s);
	n = router_plan(&conf, NULL, "m", 100, out, ROUTER_MAX, &env);
	for (i = 0; i < n; i++) {
		if (out[i].key != NULL) {
			if (strategy != NULL)
				*strategy = out[i].strategy;
			return (out[i].key->id);
		}
	}
	return (0);
}

/*
 * 1,000 sessions over 4 providers: about a quarter each, the same
 * provider and key on every plan (whatever the rotation says), and when
 * one provider's key is disabled exactly its sessions move, spread over
 * the other three.
 */
TEST(affinity_is_stable_and_moves_only_a_lost_quarter)
{
	static int64_t	 before[1000];
	const char	*strategy;
	char		 s[32];
	int		 count[4], moved_to[4], i, moved;
	int64_t		 k;

	tier(4, 1, ROUTE_ROUND_ROBIN, 1);
	memset(count, 0, sizeof(count));
	for (i = 0; i < 1000; i++) {
		(void)snprintf(s, sizeof(s), "session-%d", i);
		before[i] = first_key(s, &strategy);
		ASSERT(before[i] >= 100 && before[i] < 108);
		count[(before[i] - 100) / 2]++;
	}
	ASSERT_STR_EQ(strategy, "affinity");
	for (i = 0; i < 4; i++) {
		if (count[i] < 200 || count[i] > 300)
			FAIL("provider %d has %d of 1000 sessions", i + 1,
			    count[i]);
	}

	for (i = 0; i < 1000; i++) {
		(void)snprintf(s, sizeof(s), "session-%d", i);
		ASSERT_INT_EQ(first_key(s, NULL), before[i]);
	}

	health[2][0].status = KEY_DISABLED;
	moved = 0;
	memset(moved_to, 0, sizeof(moved_to));
	for (i = 0; i < 1000; i++) {
		(void)snprintf(s, sizeof(s), "session-%d", i);
		k = first_key(s, NULL);
		if (before[i] == key[2][0].id) {
			ASSERT(k != before[i]);
			moved_to[(k - 100) / 2]++;
			moved++;
		} else {
			ASSERT_INT_EQ(k, before[i]);
		}
	}
	ASSERT_INT_EQ(moved, count[2]);
	for (i = 0; i < 4; i++) {
		if (i != 2 && moved_to[i] < moved / 6)
			FAIL("provider %d took %d of %d moved sessions", i + 1,
			    moved_to[i], moved);
	}

	/* Without a session key the tier is round robin again. */
	(void)first_key("", &strategy);
	ASSERT_STR_EQ(strategy, "round_robin");
}

/*
 * Inside a provider the key is chosen the same way: a cooling key moves
 * its own sessions to the provider's other key, nobody else's.
 */
TEST(affinity_keeps_a_session_on_its_provider_when_a_key_cools)
{
	static int64_t	 before[400];
	char		 s[32];
	int		 i, n0;
	int64_t		 k;

	tier(2, 2, ROUTE_ROUND_ROBIN, 1);
	n0 = 0;
	for (i = 0; i < 400; i++) {
		(void)snprintf(s, sizeof(s), "u%d", i);
		before[i] = first_key(s, NULL);
		n0 += before[i] == key[0][0].id;
	}
	ASSERT(n0 > 50 && n0 < 150);

	health[0][0].status = KEY_COOLDOWN;
	health[0][0].cooldown_until = 1000;
	for (i = 0; i < 400; i++) {
		(void)snprintf(s, sizeof(s), "u%d", i);
		k = first_key(s, NULL);
		if (before[i] == key[0][0].id)
			ASSERT_INT_EQ(k, key[0][1].id);
		else
			ASSERT_INT_EQ(k, before[i]);
	}
}

/* Weighted rendezvous: a provider of weight 3 takes about 3 in 4. */
TEST(affinity_respects_weights)
{
	char	s[32];
	int	i, heavy;

	tier(2, 1, ROUTE_ROUND_ROBIN, 1);
	prov[1].weight = 3;
	heavy = 0;
	for (i = 0; i < 2000; i++) {
		(void)snprintf(s, sizeof(s), "w%d", i);
		heavy += first_key(s, NULL) == key[1][0].id;
	}
	if (heavy < 1400 || heavy > 1600)
		FAIL("weight 3 of 4 took %d of 2000 sessions", heavy);
}

/*
 * The hash is part of the contract: sessions stay where they are across
 * releases and nodes only while it gives the same numbers.
 */
TEST(rendezvous_hash_is_fixed)
{
	ASSERT(strategy_hash("session-1", 1) == strategy_hash("session-1", 1));
	ASSERT(strategy_hash("session-1", 1) != strategy_hash("session-1", 2));
	ASSERT(strategy_hash("session-1", 1) != strategy_hash("session-2", 1));
	ASSERT(strategy_hash("", 0) == 0x575efe1b6a586e8aULL);
	ASSERT(strategy_hash("abc", 7) == 0x257aac510da1dc2aULL);
	ASSERT(strategy_rendezvous("abc", 7, 0) < 0);
	ASSERT(strategy_rendezvous("abc", 7, 1) > 0);
}

/*
 * least_latency over a tier of three at 20, 80 and 300 ms: the fastest
 * first but for the exploration share, the others after it by score;
 * attempts in flight and weights count; an unhealthy provider is not
 * tried first however fast it was.
 */
TEST(least_latency_scores_the_whole_tier)
{
	const char	*strategy;
	int		 i, first[3];
	int64_t		 k;

	tier(3, 1, ROUTE_LEAST_LATENCY, 0);
	scores[0] = strategy_latency_score(300000, 0, 1);
	scores[1] = strategy_latency_score(20000, 0, 1);
	scores[2] = strategy_latency_score(80000, 0, 1);

	memset(first, 0, sizeof(first));
	for (position = 0, i = 0; i < 1000; i++) {
		k = first_key("", &strategy);
		first[(k - 100) / 2]++;
	}
	ASSERT_STR_EQ(strategy, "least_latency");
	ASSERT_INT_EQ(first[1], 1000 - 1000 * STRATEGY_EXPLORE_PCT / 100);
	ASSERT(first[0] > 0 && first[2] > 0);

	/* Four in flight on the fastest: (20 + 1) * 5 > 80 + 1. */
	position = 50;
	scores[1] = strategy_latency_score(20000, 4, 1);
	ASSERT_INT_EQ(first_key("", NULL), key[2][0].id);
	scores[1] = strategy_latency_score(20000, 0, 1);

	/* Weight 4 on the 80 ms one: 81 / 4 < 21. */
	position = 50;
	scores[2] = strategy_latency_score(80000, 0, 4);
	ASSERT_INT_EQ(first_key("", NULL), key[2][0].id);
	scores[2] = strategy_latency_score(80000, 0, 1);

	/* The fastest has no usable key: the next best goes first. */
	position = 50;
	health[1][0].status = KEY_DISABLED;
	ASSERT_INT_EQ(first_key("", NULL), key[2][0].id);
	health[1][0].status = KEY_ACTIVE;

	/* Weight 0 only as a fallback, unmeasured (0) before measured. */
	ASSERT(strategy_latency_score(0, 0, 0) >
	    strategy_latency_score(3000000000ULL, 100, 1));
	ASSERT(strategy_latency_score(0, 0, 1) <
	    strategy_latency_score(1000, 0, 1));
}

/*
 * A large tier takes the better of two random candidates: the best is
 * first far less often than in a whole-tier order, the worst almost
 * never, and the first is better than a random pick on average.
 */
TEST(least_latency_two_choices_on_large_tiers)
{
	int	i, best, worst;
	int64_t	k, ranks;

	tier(NP, 1, ROUTE_LEAST_LATENCY, 0);
	for (i = 0; i < NP; i++)
		scores[i] = strategy_latency_score((u_int64_t)(i + 1) * 10000,
		    0, 1);
	best = worst = 0;
	ranks = 0;
	for (position = 0, i = 0; i < 2000; i++) {
		k = (first_key("", NULL) - 100) / 2;
		best += k == 0;
		worst += k == NP - 1;
		ranks += k;
	}
	ASSERT(best > 100 && best < 600);
	ASSERT(worst < 100);
	ASSERT(ranks / 2000 < (NP - 1) / 2 - 2);
}

/* The average forgets half of the past in one half-life. */
TEST(ewma_halves_with_the_half_life)
{
	ASSERT_INT_EQ(strategy_ewma(0, 20000, 5, 10000), 20000);
	ASSERT_INT_EQ(strategy_ewma(100000, 500000, 10000, 10000), 300000);
	ASSERT_INT_EQ(strategy_ewma(100000, 500000, 0, 10000), 100000);
	ASSERT_INT_EQ(strategy_ewma(100000, 500000, 20000, 10000), 400000);
	ASSERT(strategy_ewma(100000, 500000, 5000000, 10000) > 499000);
	ASSERT_INT_EQ(strategy_ewma(0, 0, 0, 10000), 1);
}

static int
session_of(const char *body, const char *header, char *out, size_t len)
{
	struct json_member	m[16];
	size_t			end;
	int			n;

	n = json_scan_object(body, strlen(body), m, 16, &end);
	return (strategy_session(body, m, n, header, out, len));
}

/* x-session-id, prompt_cache_key, metadata.user_id, user: in order. */
TEST(session_key_sources_in_order)
{
	char	out[16];

	ASSERT(session_of("{\"user\":\"u\",\"prompt_cache_key\":\"pck\"}",
	    "hdr", out, sizeof(out)));
	ASSERT_STR_EQ(out, "hdr");
	ASSERT(session_of("{\"user\":\"u\",\"metadata\":{\"user_id\":\"md\"},"
	    "\"prompt_cache_key\":\"pck\"}", NULL, out, sizeof(out)));
	ASSERT_STR_EQ(out, "pck");
	ASSERT(session_of("{\"user\":\"u\",\"metadata\":{\"a\":1,"
	    "\"user_id\":\"md\"}}", "", out, sizeof(out)));
	ASSERT_STR_EQ(out, "md");
	ASSERT(session_of("{\"user\":\"u\",\"metadata\":{\"user_id\":7}}",
	    NULL, out, sizeof(out)));
	ASSERT_STR_EQ(out, "u");
	ASSERT(!session_of("{\"user\":\"\",\"prompt_cache_key\":null}", NULL,
	    out, sizeof(out)));
	ASSERT_STR_EQ(out, "");

	/* Too long to decode: its first bytes, the same every time. */
	ASSERT(session_of("{\"user\":\"0123456789abcdefXYZ\"}", NULL, out,
	    sizeof(out)));
	ASSERT_STR_EQ(out, "0123456789abcde");
}

void
run_strategy_tests(int *passed, int *failed)
{
	RUN(affinity_is_stable_and_moves_only_a_lost_quarter);
	RUN(affinity_keeps_a_session_on_its_provider_when_a_key_cools);
	RUN(affinity_respects_weights);
	RUN(rendezvous_hash_is_fixed);
	RUN(least_latency_scores_the_whole_tier);
	RUN(least_latency_two_choices_on_large_tiers);
	RUN(ewma_halves_with_the_half_life);
	RUN(session_key_sources_in_order);
}
