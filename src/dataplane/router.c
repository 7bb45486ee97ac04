/*
 * Candidate selection: which providers and keys a request tries, in
 * which order. Highest group priority first; inside a tier its groups'
 * strategy: round robin, by weight, or the least latency (scored over
 * the whole tier, with a small share of exploration; two random choices
 * only where tiers are large), with positions and latencies shared by
 * every worker; inside a provider its usable keys in rotation. When the
 * tier's groups keep sessions together and the request has a session
 * key, rendezvous hashing picks the provider and the key instead (a
 * failed candidate still fails over as before). A tier whose groups
 * disagree is round robin. Disabled and cooling candidates are listed
 * as skipped, never tried. A provider gives at most ROUTER_KEYS picks,
 * so that a provider of many keys leaves room for the next ones. Pure
 * C: positions and scores come from the functions of the router_env
 * passed in, key health from the keys' shared slots.
 */

#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"

struct tier_entry {
	struct cfg_provider	*p;
	int			 healthy;	/* a key may be tried */
	double			 rank;		/* lower goes first */
};

static int	add_provider(struct cfg_provider *, int64_t, struct router_pick *,
		    int, int, const struct router_env *, const char *);
static int	has_usable_key(const struct cfg_provider *, int64_t);
static void	tier_sort(struct tier_entry *, size_t);
static size_t	tier_first(struct tier_entry *, size_t, int,
		    const struct router_env *, int64_t);

/* May key k be tried now? A passed cooldown allows a half-open trial. */
int
router_key_usable(const struct cfg_key *k, int64_t now)
{
	int	status;

	if (!k->enabled)
		return (0);
	status = __atomic_load_n(&k->health->status, __ATOMIC_RELAXED);
	if (status == KEY_DISABLED)
		return (0);
	if (status == KEY_COOLDOWN &&
	    __atomic_load_n(&k->health->cooldown_until, __ATOMIC_RELAXED) > now)
		return (0);
	return (1);
}

/* Has provider p a key that may be tried now? */
static int
has_usable_key(const struct cfg_provider *p, int64_t now)
{
	size_t	i;

	for (i = 0; i < p->nkeys; i++) {
		if (router_key_usable(p->keys[i], now))
			return (1);
	}

	return (0);
}

/*
 * The picks of one provider: up to ROUTER_KEYS of its usable keys from a
 * rotating start, or for a session the ROUTER_KEYS first of all its
 * usable keys in rendezvous order; one skipped pick when none is usable.
 */
static int
add_provider(struct cfg_provider *p, int64_t now, struct router_pick *out,
    int n, int max, const struct router_env *env, const char *strategy)
{
	struct cfg_key	*k, *order[ROUTER_KEYS];
	double		 score[ROUTER_KEYS], s;
	size_t		 i, j, start, nk;
	int		 affinity, first;

	first = n;
	affinity = (strcmp(strategy, "affinity") == 0);
	nk = 0;
	start = p->nkeys ? (size_t)(env->next("key", p->id) % p->nkeys) : 0;
	for (i = 0; i < p->nkeys && (affinity || nk < ROUTER_KEYS); i++) {
		k = p->keys[(start + i) % p->nkeys];
		if (!router_key_usable(k, now))
			continue;
		s = 0;
		/* Keys apart from providers: their ids may be equal. */
		if (affinity)
			s = strategy_rendezvous(env->session,
			    k->id | (1LL << 62), 1);
		if (nk == ROUTER_KEYS && score[nk - 1] >= s)
			continue;
		if (nk < ROUTER_KEYS)
			nk++;
		for (j = nk - 1; j > 0 && score[j - 1] < s; j--) {
			order[j] = order[j - 1];
			score[j] = score[j - 1];
		}
		order[j] = k;
		score[j] = s;
	}

	for (i = 0; i < nk && n < max; i++) {
		out[n].provider = p;
		out[n].key = order[i];
		out[n].skip_reason = NULL;
		out[n].strategy = strategy;
		out[n].disabled = 0;
		n++;
	}

	if (n == first && n < max) {
		out[n].provider = p;
		out[n].key = NULL;
		out[n].skip_reason = p->nkeys == 0 ? "no keys" :
		    "every key is cooling down or disabled";
		out[n].strategy = strategy;
		out[n].disabled = 0;
		n++;
	}

	return (n);
}

/* Healthy candidates first, then by rank; stable. */
static void
tier_sort(struct tier_entry *t, size_t n)
{
	struct tier_entry	tmp;
	size_t			i, j;

	for (i = 1; i < n; i++) {
		tmp = t[i];
		for (j = i; j > 0 && (t[j - 1].healthy < tmp.healthy ||
		    (t[j - 1].healthy == tmp.healthy &&
		    t[j - 1].rank > tmp.rank)); j--)
			t[j] = t[j - 1];
		t[j] = tmp;
	}
}

/*
 * least_latency: the tier sorted by score, and the candidate to try
 * first. One request in a hundred of STRATEGY_EXPLORE_PCT tries another
 * healthy candidate, so that one that recovered is measured again; a
 * large tier takes the better of two candidates chosen at random (its
 * scores change under every worker's feet; two choices keep them from
 * all piling onto the same one).
 */
static size_t
tier_first(struct tier_entry *t, size_t n, int healthy,
    const struct router_env *env, int64_t priority)
{
	u_int64_t	pos;
	size_t		a, b;

	tier_sort(t, n);
	if (healthy < 2)
		return (0);

	pos = env->next("explore", priority);
	if (pos % 100 < STRATEGY_EXPLORE_PCT)
		return (1 + (size_t)((pos / 100) % (u_int64_t)(healthy - 1)));

	if (healthy < STRATEGY_P2C_MIN)
		return (0);
	/* Two positions in a row are neighbours: hashed, they are not. */
	pos = env->next("p2c", priority);
	a = (size_t)(strategy_hash("p2c", (int64_t)pos) % (u_int64_t)healthy);
	b = (size_t)(strategy_hash("p2c/2", (int64_t)pos) %
	    (u_int64_t)healthy);
	return (t[a].rank <= t[b].rank ? a : b);
}

/*
 * Fill out (at most max) with the picks for model, in the order to try
 * them. Providers that serve the model but cannot be used appear with
 * key NULL and a skip_reason. Returns the number of picks.
 */
int
router_plan(struct cfg *c, const struct cfg_client *cl, const char *model,
    int64_t now, struct router_pick *out, int max,
    const struct router_env *env)
{
	struct tier_entry	 tier[ROUTER_MAX], first_entry;
	struct cfg_provider	*p;
	const char		*strategy;
	size_t			 i, t, ntier, first;
	u_int64_t		 pos, total, acc;
	int			 n, weighted, latency, affinity, healthy;

	n = 0;
	i = 0;
	while (i < c->nproviders && n < max) {
		/* One tier: consecutive providers of the same priority. */
		ntier = 0;
		weighted = latency = affinity = 1;
		healthy = 0;
		total = 0;
		for (t = i; t < c->nproviders &&
		    c->providers[t].group->priority ==
		    c->providers[i].group->priority; t++) {
			p = &c->providers[t];
			if (router_upstream_model(p, model) == NULL)
				continue;
			if (cl != NULL && !router_client_allows(cl, NULL,
			    p->group))
				continue;
			if (!p->group->enabled || !p->enabled) {
				if (n < max) {
					out[n].provider = p;
					out[n].key = NULL;
					out[n].skip_reason = !p->group->enabled ?
					    "group disabled" :
					    "provider disabled";
					out[n].strategy = NULL;
					out[n].disabled = 1;
					n++;
				}
				continue;
			}
			if (ntier < ROUTER_MAX) {
				tier[ntier].p = p;
				tier[ntier].healthy = has_usable_key(p, now);
				tier[ntier].rank = 0;
				healthy += tier[ntier].healthy;
				ntier++;
				total += (u_int64_t)p->weight;
				weighted &= p->group->strategy ==
				    ROUTE_WEIGHTED;
				latency &= p->group->strategy ==
				    ROUTE_LEAST_LATENCY;
				affinity &= p->group->affinity;
			}
		}
		i = t;
		if (ntier == 0)
			continue;

		first = 0;
		if (affinity && env->session[0] != '\0') {
			strategy = "affinity";
			for (t = 0; t < ntier; t++)
				tier[t].rank = -strategy_rendezvous(
				    env->session, tier[t].p->id,
				    tier[t].p->weight);
			tier_sort(tier, ntier);
		} else if (latency && env->score != NULL) {
			strategy = "least_latency";
			for (t = 0; t < ntier; t++)
				tier[t].rank = (double)env->score(tier[t].p);
			first = tier_first(tier, ntier, healthy, env,
			    tier[0].p->group->priority);
		} else {
			strategy = weighted ? "weighted" : "round_robin";
			pos = env->next(model, tier[0].p->group->priority);
			first = (size_t)(pos % ntier);
			if (weighted && total > 0) {
				pos %= total;
				for (acc = 0, first = 0; first < ntier;
				    first++) {
					acc += (u_int64_t)tier[first].p->weight;
					if (pos < acc)
						break;
				}
			}
		}

		/* The first, then the others in order from there. */
		if (first > 0 && strcmp(strategy, "least_latency") == 0) {
			first_entry = tier[first];
			memmove(&tier[1], &tier[0], first * sizeof(tier[0]));
			tier[0] = first_entry;
			first = 0;
		}
		for (t = 0; t < ntier; t++) {
			/* A weight of 0 takes part only as a fallback. */
			n = add_provider(tier[(first + t) % ntier].p, now, out,
			    n, max, env, strategy);
		}
	}

	return (n);
}

/*
 * The name to send upstream for model on provider p: the alias target,
 * the model itself when p serves it, or NULL when p does not.
 */
const char *
router_upstream_model(const struct cfg_provider *p, const char *model)
{
	size_t	i;

	for (i = 0; i < p->naliases; i++) {
		if (strcmp(p->alias_from[i], model) == 0)
			return (p->alias_to[i]);
	}
	for (i = 0; i < p->nmodels; i++) {
		if (strcmp(p->models[i], model) == 0)
			return (p->models[i]);
	}

	return (NULL);
}

/*
 * May client use model (model != NULL) and group g (g != NULL)? An
 * admin's request (cl NULL) may use everything.
 */
int
router_client_allows(const struct cfg_client *cl, const char *model,
    const struct cfg_group *g)
{
	size_t	i;

	if (cl == NULL)
		return (1);

	if (model != NULL && cl->nmodels > 0) {
		for (i = 0; i < cl->nmodels; i++) {
			if (strcmp(cl->models[i], model) == 0)
				break;
		}
		if (i == cl->nmodels)
			return (0);
	}

	if (g != NULL && cl->ngroups > 0) {
		for (i = 0; i < cl->ngroups; i++) {
			if (cl->groups[i] == g->id)
				break;
		}
		if (i == cl->ngroups)
			return (0);
	}

	return (1);
}
