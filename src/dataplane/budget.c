/*
 * Money on the request path: what a request reserves of its client
 * key's budgets when it is admitted, and what it costs and spends when
 * it is over. Prices come from the worker's configuration (config.c),
 * spending from the counters all workers share (counters.c): nothing is
 * read from the store here.
 *
 * A request's cost is that of the tokens of the attempt that answered
 * (upstream_start forgets what earlier attempts reported), at the price
 * that applies to the client's model on the provider of that attempt;
 * a stream cut before its usage came costs the estimate of relay.c,
 * flagged. A request no upstream answered and that has no tokens costs
 * nothing, per_request included.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dataplane/dataplane.h"

static const char *const budget_names[BUDGET_KINDS] = {
	"daily", "monthly", "total"
};

static void	budget_today(int64_t, struct budget_periods *);
static int64_t	budget_max_output(const struct proxy *);
static int64_t	budget_reserve(const struct proxy *);

/*
 * The day and month now falls in at BUDGET_TIMEZONE: worked out once a
 * day per worker, not for each admission and settlement (with a zone,
 * that is six calls into the zone rules each time).
 */
static void
budget_today(int64_t now, struct budget_periods *bp)
{
	static struct budget_periods	today;

	if (now < today.day_start || now >= today.day_end)
		budget_periods(now, fusion_cfg.budget_offset,
		    fusion_cfg.budget_zoned, &today);
	*bp = today;
}

/*
 * The most output tokens the request asks for (max_tokens and its
 * other names), or BUDGET_RESERVE_TOKENS when it names none.
 */
static int64_t
budget_max_output(const struct proxy *px)
{
	static const char *const names[] = {
		"max_tokens", "max_completion_tokens", "max_output_tokens"
	};
	const struct json_member	*m;
	long long			 n;
	size_t				 i;

	for (i = 0; px->body != NULL && i < sizeof(names) / sizeof(names[0]);
	    i++) {
		m = json_scan_find(px->body, px->members, px->nmembers,
		    names[i]);
		if (m != NULL && (n = json_scan_uint(px->body, m)) >= 0)
			return (n);
	}

	return (fusion_cfg.budget_output);
}

/* What the request may cost at most on any provider of its plan. */
static int64_t
budget_reserve(const struct proxy *px)
{
	const struct price	*p;
	int64_t			 out, v, max;
	int			 i;

	out = budget_max_output(px);
	max = 0;
	for (i = 0; i < px->npicks; i++) {
		p = price_find(px->cfg->prices, px->cfg->nprices,
		    px->picks[i].provider->id, px->model);
		if ((v = price_estimate(p, (int64_t)px->body_len, out)) > max)
			max = v;
	}

	return (max);
}

/*
 * Admit the request under its client key's budgets, reserving what it
 * may cost. Returns KORE_RESULT_OK, or KORE_RESULT_ERROR with the
 * message (which budget, and when it resets) in why and the seconds
 * until then in *wait (0: never).
 */
int
budget_admit(struct proxy *px, char *why, size_t whylen, int64_t *wait)
{
	struct budget_periods	 bp;
	struct tm		 tm;
	time_t			 at;
	const int64_t		*b;
	int64_t			 now, reserve, reset;
	char			 when[32];
	int			 k;

	*wait = 0;
	if (px->client == NULL)
		return (KORE_RESULT_OK);
	b = px->client->budget;
	if (b[BUDGET_DAILY] <= 0 && b[BUDGET_MONTHLY] <= 0 &&
	    b[BUDGET_TOTAL] <= 0)
		return (KORE_RESULT_OK);

	now = store_now();
	budget_today(now, &bp);
	reserve = budget_reserve(px);
	if ((k = counters_spend_admit(px->client->id, b, reserve, &bp)) ==
	    -1) {
		px->budget_reserve = reserve;
		return (KORE_RESULT_OK);
	}

	if (k == BUDGET_TOTAL) {
		(void)snprintf(why, whylen, "You exceeded the total budget of "
		    "this API key, %" PRId64 ".%06" PRId64 " %s; it does not "
		    "reset", b[k] / 1000000, b[k] % 1000000,
		    fusion_cfg.currency);
		return (KORE_RESULT_ERROR);
	}
	reset = k == BUDGET_DAILY ? bp.day_end : bp.month_end;
	at = (time_t)reset;
	(void)gmtime_r(&at, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	*wait = reset - now;
	(void)snprintf(why, whylen, "You exceeded the %s budget of this API "
	    "key, %" PRId64 ".%06" PRId64 " %s; it resets at %s (%s), in "
	    "%" PRId64 "h %02" PRId64 "m", budget_names[k], b[k] / 1000000,
	    b[k] % 1000000, fusion_cfg.currency, when, fusion_cfg.budget_tz,
	    *wait / 3600, *wait % 3600 / 60);

	return (KORE_RESULT_ERROR);
}

/*
 * The request is over: its cost into e (from e's tokens, estimated or
 * not), spent by its client key, whose reserve is let go.
 */
void
budget_finish(struct proxy *px, struct log_entry *e)
{
	struct xlate_usage	 u;
	const struct price	*p;

	e->cost = 0;
	e->cost_estimated = 0;
	if (px->cfg != NULL && e->provider_id != 0 &&
	    (strcmp(e->outcome, "ok") == 0 ||
	    e->prompt_tokens + e->completion_tokens > 0)) {
		p = price_find(px->cfg->prices, px->cfg->nprices,
		    e->provider_id, e->model);
		u.prompt_tokens = e->prompt_tokens;
		u.completion_tokens = e->completion_tokens;
		u.cached_tokens = e->cached_tokens;
		u.cache_write_tokens = e->cache_write_tokens;
		u.reasoning_tokens = e->reasoning_tokens;
		e->cost = price_cost(p, &u);
		e->cost_estimated = (e->usage_estimated && e->cost > 0);
	}

	budget_release(px, e->cost);
}

/*
 * The client key spends cost and lets go of the request's reserve;
 * called once more when the request is freed (then with nothing left
 * to do). This function can't fail.
 */
void
budget_release(struct proxy *px, int64_t cost)
{
	struct budget_periods	bp;

	if (px->client == NULL || (px->budget_reserve == 0 && cost == 0))
		return;
	budget_today(store_now(), &bp);
	counters_spend_settle(px->client->id, px->budget_reserve, cost, &bp);
	px->budget_reserve = 0;
}
