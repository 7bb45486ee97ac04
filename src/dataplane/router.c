/*
 * Candidate selection: which providers and keys a request tries, in
 * which order. Highest group priority first; inside a tier round robin
 * (or by weight when the tier's groups are all weighted), with positions
 * shared by every worker; inside a provider its usable keys in rotation.
 * Disabled and cooling candidates are listed as skipped, never tried.
 * A provider gives at most ROUTER_KEYS picks, so that a provider of many
 * keys leaves room for the next ones. Pure C: positions come from the
 * next() function passed in, key health from the keys' shared slots.
 */

#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"

static int	add_provider(struct cfg_provider *, int64_t, struct router_pick *,
		    int, int, u_int64_t (*)(const char *, int64_t));

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

/*
 * The picks of one provider: up to ROUTER_KEYS of its usable keys from a
 * rotating start, or one skipped pick when none is usable.
 */
static int
add_provider(struct cfg_provider *p, int64_t now, struct router_pick *out,
    int n, int max, u_int64_t (*next)(const char *, int64_t))
{
	struct cfg_key	*k;
	size_t		 i, start;
	int		 first;

	first = n;
	start = p->nkeys ? (size_t)(next("key", p->id) % p->nkeys) : 0;
	for (i = 0; i < p->nkeys && n < max && n - first < ROUTER_KEYS; i++) {
		k = p->keys[(start + i) % p->nkeys];
		if (!router_key_usable(k, now))
			continue;
		out[n].provider = p;
		out[n].key = k;
		out[n].skip_reason = NULL;
		out[n].disabled = 0;
		n++;
	}

	if (n == first && n < max) {
		out[n].provider = p;
		out[n].key = NULL;
		out[n].skip_reason = p->nkeys == 0 ? "no keys" :
		    "every key is cooling down or disabled";
		out[n].disabled = 0;
		n++;
	}

	return (n);
}

/*
 * Fill out (at most max) with the picks for model, in the order to try
 * them. Providers that serve the model but cannot be used appear with
 * key NULL and a skip_reason. Returns the number of picks.
 */
int
router_plan(struct cfg *c, const struct cfg_client *cl, const char *model,
    int64_t now, struct router_pick *out, int max,
    u_int64_t (*next)(const char *, int64_t))
{
	struct cfg_provider	*tier[ROUTER_MAX], *p;
	size_t			 i, t, ntier, first;
	u_int64_t		 pos, total, acc;
	int			 n, weighted;

	n = 0;
	i = 0;
	while (i < c->nproviders && n < max) {
		/* One tier: consecutive providers of the same priority. */
		ntier = 0;
		weighted = 1;
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
					out[n].disabled = 1;
					n++;
				}
				continue;
			}
			if (ntier < ROUTER_MAX) {
				tier[ntier++] = p;
				total += (u_int64_t)p->weight;
				if (!p->group->weighted)
					weighted = 0;
			}
		}
		i = t;
		if (ntier == 0)
			continue;

		pos = next(model, tier[0]->group->priority);
		first = (size_t)(pos % ntier);
		if (weighted && total > 0) {
			pos %= total;
			for (acc = 0, first = 0; first < ntier; first++) {
				acc += (u_int64_t)tier[first]->weight;
				if (pos < acc)
					break;
			}
		}

		for (t = 0; t < ntier; t++) {
			p = tier[(first + t) % ntier];
			/* A weight of 0 takes part only as a fallback. */
			n = add_provider(p, now, out, n, max, next);
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

/* May client use model (model != NULL) and group g (g != NULL)? */
int
router_client_allows(const struct cfg_client *cl, const char *model,
    const struct cfg_group *g)
{
	size_t	i;

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
