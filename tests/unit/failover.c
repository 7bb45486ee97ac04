/*
 * The failover table (src/dataplane/failover.c): for each way an attempt
 * can end, what the request does next and how the key is cooled down.
 */

#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"
#include "test.h"

void	run_failover_tests(int *, int *);

/* Fields of struct attempt_end, in a row of the table. */
#define H	FO_PHASE_HEAD
#define S	FO_PHASE_STREAM

struct row {
	const char	*what;
	int		 phase;
	long		 status;
	int		 transport, timed_out, stopped, broke, complete, gone;
	int		 action, cooldown;
	long		 event_status;
};

static const struct row	rows[] = {
	/* Nothing has reached the client yet. */
	{ "200, whole answer", H, 200, 0, 0, 0, 0, 1, 0,
	    FO_ANSWER, COOL_NONE, 0 },
	{ "200, not what its API promises", H, 200, 0, 0, 0, 0, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	{ "204 counts as success", H, 204, 0, 0, 0, 0, 1, 0,
	    FO_ANSWER, COOL_NONE, 0 },
	{ "400 is the client's", H, 400, 0, 0, 0, 0, 0, 0,
	    FO_PASS_ERROR, COOL_NONE, 0 },
	{ "404 is the client's", H, 404, 0, 0, 0, 0, 0, 0,
	    FO_PASS_ERROR, COOL_NONE, 0 },
	{ "413 is the client's", H, 413, 0, 0, 0, 0, 0, 0,
	    FO_PASS_ERROR, COOL_NONE, 0 },
	{ "422 is the client's", H, 422, 0, 0, 0, 0, 0, 0,
	    FO_PASS_ERROR, COOL_NONE, 0 },
	{ "409 is the client's", H, 409, 0, 0, 0, 0, 0, 0,
	    FO_PASS_ERROR, COOL_NONE, 0 },
	{ "401 disables the key", H, 401, 0, 0, 0, 0, 0, 0,
	    FO_NEXT_KEY, COOL_DISABLE, 0 },
	{ "403 disables the key", H, 403, 0, 0, 0, 0, 0, 0,
	    FO_NEXT_KEY, COOL_DISABLE, 0 },
	{ "429 rate limits the key", H, 429, 0, 0, 0, 0, 0, 0,
	    FO_NEXT_KEY, COOL_RATE, 0 },
	{ "408 is the provider's", H, 408, 0, 0, 0, 0, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	{ "500", H, 500, 0, 0, 0, 0, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	{ "503", H, 503, 0, 0, 0, 0, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	{ "a redirect is not an answer", H, 302, 0, 0, 0, 0, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	{ "connection refused", H, 0, 1, 0, 0, 0, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	{ "reset after a 200 head", H, 200, 1, 0, 0, 0, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	{ "silent too long", H, 0, 0, 1, 0, 0, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	{ "answer over the size limit", H, 200, 0, 0, 1, 0, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	{ "error event before the first byte", H, 200, 0, 0, 0, 1, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 0 },
	/* An error event before the first byte, as its HTTP status. */
	{ "insufficient_quota event: the next key", H, 200, 1, 0, 0, 1, 0, 0,
	    FO_NEXT_KEY, COOL_RATE, 429 },
	{ "response.failed server_error event", H, 200, 1, 0, 0, 1, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 500 },
	{ "invalid_api_key event disables the key", H, 200, 1, 0, 0, 1, 0,
	    0, FO_NEXT_KEY, COOL_DISABLE, 401 },
	{ "invalid_prompt event is the client's", H, 200, 1, 0, 0, 1, 0, 0,
	    FO_PASS_ERROR, COOL_NONE, 400 },
	{ "error event, then silence: a timeout", H, 200, 0, 1, 0, 1, 0, 0,
	    FO_NEXT_PROVIDER, COOL_BACKOFF, 400 },
	{ "error event, client gone", H, 200, 1, 0, 0, 1, 0, 1,
	    FO_CANCELLED, COOL_NONE, 429 },
	{ "client gone before the answer", H, 200, 0, 0, 1, 0, 0, 1,
	    FO_CANCELLED, COOL_NONE, 0 },
	{ "client gone, whatever the status", H, 500, 0, 0, 0, 0, 0, 1,
	    FO_CANCELLED, COOL_NONE, 0 },

	/* The client has bytes of a stream. */
	{ "stream ended as its protocol says", S, 200, 0, 0, 0, 0, 1, 0,
	    FO_ANSWER, COOL_NONE, 0 },
	{ "stream ended without its end", S, 200, 0, 0, 0, 0, 0, 0,
	    FO_STREAM_ERROR, COOL_BACKOFF, 0 },
	{ "stream reset", S, 200, 1, 0, 0, 0, 0, 0,
	    FO_STREAM_ERROR, COOL_BACKOFF, 0 },
	{ "stream stalled", S, 200, 0, 1, 0, 0, 0, 0,
	    FO_STREAM_ERROR, COOL_BACKOFF, 0 },
	{ "error event mid-stream", S, 200, 0, 0, 0, 1, 0, 0,
	    FO_STREAM_ERROR, COOL_BACKOFF, 0 },
	{ "a status on a mid-stream error event changes nothing", S, 200,
	    1, 0, 0, 1, 0, 0, FO_STREAM_ERROR, COOL_BACKOFF, 429 },
	{ "slow client cut off", S, 200, 0, 0, 1, 0, 0, 0,
	    FO_STREAM_ERROR, COOL_NONE, 0 },
	{ "client gone mid-stream", S, 200, 0, 0, 1, 0, 0, 1,
	    FO_CANCELLED, COOL_NONE, 0 },
	{ "done seen but then stalled", S, 200, 0, 1, 0, 0, 1, 0,
	    FO_STREAM_ERROR, COOL_BACKOFF, 0 },
};

TEST(failover_table)
{
	struct attempt_end	e;
	struct failover		fo;
	size_t			i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&e, 0, sizeof(e));
		e.phase = rows[i].phase;
		e.status = rows[i].status;
		e.transport = rows[i].transport;
		e.timed_out = rows[i].timed_out;
		e.stopped = rows[i].stopped;
		e.upstream_broke = rows[i].broke;
		e.complete = rows[i].complete;
		e.client_gone = rows[i].gone;
		e.event_status = rows[i].event_status;
		failover_decide(&e, &fo);
		if (fo.action != rows[i].action ||
		    fo.cooldown != rows[i].cooldown)
			FAIL("%s: action %d cooldown %d, want %d %d",
			    rows[i].what, fo.action, fo.cooldown,
			    rows[i].action, rows[i].cooldown);
	}
}

/*
 * A provider's own statuses: 404 and 422 listed as failover move to the
 * next provider and cool the key; 503 listed as no-cooldown fails over
 * and leaves the key alone, as 429 then does (to the next key); 400,
 * not listed, is still passed on; a stream that has begun is as before.
 */
TEST(failover_policy_extends_the_table)
{
	static const int64_t	 fail[] = { 404, 422 }, calm[] = { 503, 429, 409 };
	struct failover_policy	 pol = { (int64_t *)fail, 2, (int64_t *)calm,
				    3 };
	static const struct {
		int	phase;
		long	status;
		int	action, cooldown;
	} cases[] = {
		{ H, 404, FO_NEXT_PROVIDER, COOL_BACKOFF },
		{ H, 422, FO_NEXT_PROVIDER, COOL_BACKOFF },
		{ H, 400, FO_PASS_ERROR, COOL_NONE },
		{ H, 503, FO_NEXT_PROVIDER, COOL_NONE },
		{ H, 500, FO_NEXT_PROVIDER, COOL_BACKOFF },
		{ H, 429, FO_NEXT_KEY, COOL_NONE },
		{ H, 401, FO_NEXT_KEY, COOL_DISABLE },
		{ H, 409, FO_NEXT_PROVIDER, COOL_NONE },
		{ H, 200, FO_ANSWER, COOL_NONE },
		{ S, 200, FO_STREAM_ERROR, COOL_BACKOFF },
	};
	struct attempt_end	 e;
	struct failover		 fo;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&e, 0, sizeof(e));
		e.phase = cases[i].phase;
		e.status = cases[i].status;
		e.complete = (cases[i].action == FO_ANSWER);
		e.policy = &pol;
		failover_decide(&e, &fo);
		if (fo.action != cases[i].action ||
		    fo.cooldown != cases[i].cooldown)
			FAIL("%ld: action %d cooldown %d, want %d %d",
			    cases[i].status, fo.action, fo.cooldown,
			    cases[i].action, cases[i].cooldown);
	}

	/* No policy: 404 is the client's, 503 cools the key. */
	memset(&e, 0, sizeof(e));
	e.status = 404;
	failover_decide(&e, &fo);
	ASSERT_INT_EQ(fo.action, FO_PASS_ERROR);
	e.status = 503;
	failover_decide(&e, &fo);
	ASSERT_INT_EQ(fo.cooldown, COOL_BACKOFF);
}

TEST(failover_client_statuses)
{
	long	s;

	for (s = 400; s < 500; s++) {
		if (s == 401 || s == 403 || s == 408 || s == 429)
			ASSERT(!failover_client_status(s));
		else
			ASSERT(failover_client_status(s));
	}
	ASSERT(!failover_client_status(200));
	ASSERT(!failover_client_status(500));
}

void
run_failover_tests(int *passed, int *failed)
{
	RUN(failover_table);
	RUN(failover_policy_extends_the_table);
	RUN(failover_client_statuses);
}
