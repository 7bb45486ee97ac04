/*
 * The cost arithmetic (src/dataplane/price.c): every token kind, the
 * rounding, wildcards and which price row wins.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/dataplane.h"
#include "test.h"

void	run_price_tests(int *, int *);

static struct price
row(int64_t provider, const char *model, int64_t in, int64_t out)
{
	struct price	p;

	memset(&p, 0, sizeof(p));
	p.provider_id = provider;
	(void)snprintf(p.model, sizeof(p.model), "%s", model);
	p.input = in;
	p.output = out;
	p.reasoning = -1;
	return (p);
}

static struct xlate_usage
usage(int64_t in, int64_t out, int64_t cached, int64_t write, int64_t reason)
{
	struct xlate_usage	u;

	u.prompt_tokens = in;
	u.completion_tokens = out;
	u.cached_tokens = cached;
	u.cache_write_tokens = write;
	u.reasoning_tokens = reason;
	return (u);
}

/* Each kind at its own price: 1, 10, 100, 1000, 10000 per token. */
TEST(every_token_kind_at_its_own_price)
{
	struct price		p;
	struct xlate_usage	u;

	p = row(0, "m", 1000000, 1000000000);
	p.cached_input = 10000000;
	p.cache_write = 100000000;
	p.reasoning = 10000000000LL;
	/* 100 prompt = 70 plain + 20 cached + 10 written; 50 out = 45 + 5. */
	u = usage(100, 50, 20, 10, 5);
	ASSERT_INT_EQ(price_cost(&p, &u),
	    70 * 1 + 20 * 10 + 10 * 100 + 45 * 1000 + 5 * 10000);

	/* Reasoning without a price of its own costs the output price. */
	p.reasoning = -1;
	ASSERT_INT_EQ(price_cost(&p, &u),
	    70 * 1 + 20 * 10 + 10 * 100 + 50 * 1000);

	/* Kinds not reported (-1) cost nothing; per_request adds. */
	p.per_request = 7;
	u = usage(10, -1, -1, -1, -1);
	ASSERT_INT_EQ(price_cost(&p, &u), 10 + 7);
	ASSERT_INT_EQ(price_cost(NULL, &u), 0);
}

/* 2.50 per million: 1 token is 2.5 micro-units, rounded half up to 3. */
TEST(cost_rounds_half_up_once_at_the_end)
{
	struct price		p;
	struct xlate_usage	u;

	p = row(0, "m", 2500000, 10000000);
	u = usage(1, 0, -1, -1, -1);
	ASSERT_INT_EQ(price_cost(&p, &u), 3);
	/* 0.4 + 0.4 micro-units: rounding each would give 0, the sum 1. */
	p = row(0, "m", 400000, 400000);
	u = usage(1, 1, 0, 0, 0);
	ASSERT_INT_EQ(price_cost(&p, &u), 1);
	u = usage(1, 0, 0, 0, 0);
	ASSERT_INT_EQ(price_cost(&p, &u), 0);
	/* A million tokens at the list price are exactly that price. */
	p = row(0, "m", 2500000, 10000000);
	u = usage(1000000, 1000000, 0, 0, 0);
	ASSERT_INT_EQ(price_cost(&p, &u), 12500000);
	/* Huge counts do not overflow. */
	u = usage(INT64_MAX / 2, 0, 0, 0, 0);
	ASSERT(price_cost(&p, &u) > 0);
}

/* Counts that do not add up never make a kind negative. */
TEST(inconsistent_counts_are_clamped)
{
	struct price		p;
	struct xlate_usage	u;

	p = row(0, "m", 1000000, 2000000);
	p.cached_input = 500000;
	u = usage(10, 3, 40, 0, 9);
	/* 0 plain input, 40 cached at 0.5, 0 plain output, 9 reasoning. */
	ASSERT_INT_EQ(price_cost(&p, &u), 20 + 18);
}

TEST(most_specific_price_wins)
{
	struct price	t[6];

	t[0] = row(0, "*", 1, 1);
	t[1] = row(0, "gpt-4o*", 2, 2);
	t[2] = row(0, "gpt-4o-mini", 3, 3);
	t[3] = row(7, "gpt*", 4, 4);
	t[4] = row(7, "gpt-4o-mini*", 5, 5);
	t[5] = row(7, "gpt-4o-mini", 6, 6);

	/* provider + exact, then provider + longest wildcard. */
	ASSERT_INT_EQ(price_find(t, 6, 7, "gpt-4o-mini")->input, 6);
	ASSERT_INT_EQ(price_find(t, 6, 7, "gpt-4o-mini-2024")->input, 5);
	ASSERT_INT_EQ(price_find(t, 6, 7, "gpt-4o")->input, 4);
	/* Another provider: any-provider exact, then longest wildcard. */
	ASSERT_INT_EQ(price_find(t, 6, 8, "gpt-4o-mini")->input, 3);
	ASSERT_INT_EQ(price_find(t, 6, 8, "gpt-4o-2024")->input, 2);
	ASSERT_INT_EQ(price_find(t, 6, 8, "claude")->input, 1);
	/* A provider's wildcard beats an any-provider exact row. */
	ASSERT_INT_EQ(price_find(t + 2, 2, 7, "gpt-4o-mini")->input, 4);
	/* Order in the table does not matter. */
	ASSERT_INT_EQ(price_find(t + 3, 3, 7, "gpt-4o-mini")->input, 6);
	/* Nothing applies. */
	ASSERT(price_find(t + 1, 5, 8, "claude") == NULL);
	ASSERT(price_find(t + 2, 1, 8, "gpt-4o-mini-x") == NULL);
	ASSERT(price_find(t, 0, 8, "x") == NULL);
}

/*
 * A price change mid-day: each request costs what the table in force
 * when it ran says; the same tokens under the old and new rows.
 */
TEST(price_change_applies_to_requests_after_it)
{
	struct price		before, after;
	struct xlate_usage	u;

	before = row(0, "m", 1000000, 2000000);
	after = row(0, "m", 3000000, 2000000);
	u = usage(1000, 100, 0, 0, 0);
	ASSERT_INT_EQ(price_cost(price_find(&before, 1, 1, "m"), &u),
	    1000 + 200);
	ASSERT_INT_EQ(price_cost(price_find(&after, 1, 1, "m"), &u),
	    3000 + 200);
}

/* The reservation: prompt from the body, max output at the dearest. */
TEST(estimate_takes_the_dearer_output_price)
{
	struct price	p;

	p = row(0, "m", 1000000, 2000000);
	p.reasoning = 5000000;
	ASSERT_INT_EQ(price_estimate(&p, 400, 100), 100 + 500);
	p.reasoning = -1;
	ASSERT_INT_EQ(price_estimate(&p, 401, 100), 101 + 200);
	ASSERT_INT_EQ(price_estimate(NULL, 401, 100), 0);
}

/* Days and months of budgets, in UTC and at a fixed offset. */
TEST(budget_days_and_months)
{
	struct budget_periods	bp;

	/* 2024-02-29T23:30:00Z, a leap day. */
	budget_periods(1709249400, 0, 0, &bp);
	ASSERT_INT_EQ(bp.day_start, 1709164800);	/* 02-29T00:00Z */
	ASSERT_INT_EQ(bp.day_end, 1709251200);		/* 03-01T00:00Z */
	ASSERT_INT_EQ(bp.month_start, 1706745600);	/* 02-01T00:00Z */
	ASSERT_INT_EQ(bp.month_end, 1709251200);

	/* At UTC+08:00 it is already 03-01T07:30. */
	budget_periods(1709249400, 8 * 3600, 0, &bp);
	ASSERT_INT_EQ(bp.day_start, 1709251200 - 8 * 3600);
	ASSERT_INT_EQ(bp.month_start, 1709251200 - 8 * 3600);
	/* 04-01T00:00+08:00 */
	ASSERT_INT_EQ(bp.month_end, 1711929600 - 8 * 3600);

	/* December rolls into January; west of UTC. */
	budget_periods(1735689600, -5 * 3600, 0, &bp);	/* 2025-01-01T00Z */
	ASSERT_INT_EQ(bp.day_start, 1735603200 + 5 * 3600);
	ASSERT_INT_EQ(bp.month_start, 1733011200 + 5 * 3600);
	ASSERT_INT_EQ(bp.month_end, 1735689600 + 5 * 3600);
}

/* In a zone with daylight saving: days of 23 and 25 hours. */
TEST(budget_days_across_daylight_saving)
{
	struct budget_periods	bp;

	/* What settings_zone() sets for BUDGET_TIMEZONE=Europe/Berlin. */
	ASSERT(setenv("TZ", "Europe/Berlin", 1) == 0);
	tzset();

	/* 2026-03-29T12:00Z: summer time began at 01:00Z that day. */
	budget_periods(1774785600, 0, 1, &bp);
	ASSERT_INT_EQ(bp.day_start, 1774738800);	/* 03-28T23:00Z */
	ASSERT_INT_EQ(bp.day_end, 1774821600);		/* 03-29T22:00Z */
	ASSERT_INT_EQ(bp.day_end - bp.day_start, 23 * 3600);
	ASSERT_INT_EQ(bp.month_start, 1772319600);	/* 02-28T23:00Z */
	ASSERT_INT_EQ(bp.month_end, 1774994400);	/* 03-31T22:00Z */

	/* 2026-10-25T12:00Z: it ended at 01:00Z. */
	budget_periods(1792929600, 0, 1, &bp);
	ASSERT_INT_EQ(bp.day_start, 1792879200);	/* 10-24T22:00Z */
	ASSERT_INT_EQ(bp.day_end - bp.day_start, 25 * 3600);
	ASSERT_INT_EQ(bp.month_end, 1793487600);	/* 10-31T23:00Z */

	ASSERT(setenv("TZ", "UTC", 1) == 0);
	tzset();
}

void
run_price_tests(int *passed, int *failed)
{
	RUN(every_token_kind_at_its_own_price);
	RUN(cost_rounds_half_up_once_at_the_end);
	RUN(inconsistent_counts_are_clamped);
	RUN(most_specific_price_wins);
	RUN(price_change_applies_to_requests_after_it);
	RUN(estimate_takes_the_dearer_output_price);
	RUN(budget_days_and_months);
	RUN(budget_days_across_daylight_saving);
}
