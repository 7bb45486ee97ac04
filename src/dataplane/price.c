/*
 * What a request costs: the price row that applies to a model and a
 * provider, and the cost of the tokens an upstream reported. Pure: no
 * Kore, no store; unit tested (tests/unit/price.c).
 *
 * Prices are integers of micro-units of CURRENCY per million tokens
 * (per_request: micro-units per request), so a price of 2.50 USD per
 * million tokens is 2500000. A cost is the exact sum of tokens x price
 * over the token kinds, in micro-units x 10^-6, rounded half up to
 * micro-units once at the end, plus per_request.
 */

#include <string.h>
#include <time.h>

#include "dataplane/dataplane.h"

#define PRICE_MILLION	1000000LL

/*
 * How specific row p is for provider_id and model, higher wins: 0 when
 * it does not apply. A row of the provider beats any-provider rows; an
 * exact model beats a wildcard; a longer wildcard prefix beats a shorter.
 */
static int64_t
price_rank(const struct price *p, int64_t provider_id, const char *model)
{
	int64_t	rank;
	size_t	len;

	if (p->provider_id != 0 && p->provider_id != provider_id)
		return (0);
	rank = p->provider_id != 0 ? 2 * (PRICE_MODEL_MAX + 2) : 0;
	len = strlen(p->model);
	if (len > 0 && p->model[len - 1] == '*') {
		if (strncmp(p->model, model, len - 1) != 0)
			return (0);
		return (rank + 1 + (int64_t)len);
	}
	if (strcmp(p->model, model) != 0)
		return (0);

	return (rank + PRICE_MODEL_MAX + 2);
}

/*
 * The row of prices[0..n) that applies to model served by provider_id,
 * or NULL when none does. This function can't fail.
 */
const struct price *
price_find(const struct price *prices, size_t n, int64_t provider_id,
    const char *model)
{
	const struct price	*best;
	int64_t			 rank, best_rank;
	size_t			 i;

	best = NULL;
	best_rank = 0;
	for (i = 0; i < n; i++) {
		rank = price_rank(&prices[i], provider_id, model);
		if (rank > best_rank) {
			best = &prices[i];
			best_rank = rank;
		}
	}

	return (best);
}

/* tokens x price, 0 for what is not counted (negative). */
static __int128
price_term(int64_t tokens, int64_t price)
{
	if (tokens <= 0 || price <= 0)
		return (0);
	return ((__int128)tokens * price);
}

/*
 * The cost in micro-units of usage u (counts as struct xlate_usage has
 * them: prompt tokens include cache reads and writes, completion tokens
 * include reasoning; -1 is not reported) at price p; 0 without a price.
 * Inconsistent counts (more cached than prompt tokens) never make a
 * kind negative. Rounded half up, once.
 */
int64_t
price_cost(const struct price *p, const struct xlate_usage *u)
{
	__int128	sum, cost;
	int64_t		plain_in, plain_out, cached, write, reasoning;
	int64_t		input, output;

	if (p == NULL)
		return (0);
	input = u->prompt_tokens > 0 ? u->prompt_tokens : 0;
	output = u->completion_tokens > 0 ? u->completion_tokens : 0;
	cached = u->cached_tokens > 0 ? u->cached_tokens : 0;
	write = u->cache_write_tokens > 0 ? u->cache_write_tokens : 0;
	reasoning = u->reasoning_tokens > 0 ? u->reasoning_tokens : 0;
	plain_in = input - cached - write;
	if (plain_in < 0)
		plain_in = 0;
	plain_out = output - reasoning;
	if (plain_out < 0)
		plain_out = 0;

	sum = price_term(plain_in, p->input) +
	    price_term(cached, p->cached_input) +
	    price_term(write, p->cache_write) +
	    price_term(plain_out, p->output) +
	    price_term(reasoning, p->reasoning >= 0 ? p->reasoning :
	    p->output);
	cost = (sum + PRICE_MILLION / 2) / PRICE_MILLION +
	    (p->per_request > 0 ? p->per_request : 0);
	if (cost > INT64_MAX)
		return (INT64_MAX);

	return ((int64_t)cost);
}

/*
 * What a request is expected to cost at most before it runs, for a
 * budget's reservation: its prompt (estimated from the body, a token
 * per four bytes) at the input price and max_output tokens at the
 * dearer of the output and reasoning prices.
 */
int64_t
price_estimate(const struct price *p, int64_t body_bytes, int64_t max_output)
{
	struct xlate_usage	u;
	struct price		q;

	if (p == NULL)
		return (0);
	q = *p;
	if (q.reasoning > q.output)
		q.output = q.reasoning;
	q.reasoning = -1;
	u.prompt_tokens = (body_bytes + 3) / 4;
	u.completion_tokens = max_output;
	u.cached_tokens = 0;
	u.cache_write_tokens = 0;
	u.reasoning_tokens = 0;

	return (price_cost(&q, &u));
}

/* The start of tm's day in the zone of TZ, whether or not it is summer. */
static int64_t
zone_midnight(struct tm *tm)
{
	tm->tm_hour = tm->tm_min = tm->tm_sec = 0;
	tm->tm_isdst = -1;
	return ((int64_t)mktime(tm));
}

/*
 * The day and the month moment now (epoch seconds) falls in, at offset
 * seconds east of UTC, or with zoned in the time zone of TZ (its days
 * are 23 or 25 hours long where daylight saving begins or ends), into
 * *bp. BUDGET_TIMEZONE sets one or the other. This function can't fail.
 */
void
budget_periods(int64_t now, int64_t offset, int zoned,
    struct budget_periods *bp)
{
	struct tm	tm;
	time_t		local;
	int64_t		day;

	if (zoned) {
		local = (time_t)now;
		(void)localtime_r(&local, &tm);
		bp->day_start = zone_midnight(&tm);
		tm.tm_mday++;
		bp->day_end = zone_midnight(&tm);
		(void)localtime_r(&local, &tm);
		tm.tm_mday = 1;
		bp->month_start = zone_midnight(&tm);
		tm.tm_mon++;
		bp->month_end = zone_midnight(&tm);
		return;
	}

	local = (time_t)(now + offset);
	day = (int64_t)local - ((int64_t)local % 86400 + 86400) % 86400;
	bp->day_start = day - offset;
	bp->day_end = bp->day_start + 86400;

	(void)gmtime_r(&local, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	bp->month_start = (int64_t)timegm(&tm) - offset;
	tm.tm_mon++;
	bp->month_end = (int64_t)timegm(&tm) - offset;
}
