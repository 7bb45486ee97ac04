/*
 * What the end of an upstream attempt means: answer the client, pass the
 * upstream's refusal on, try the next candidate (another key of the same
 * provider, or another provider), or end a stream that has begun with an
 * error event; and how the attempt's key is cooled down. Pure C, one
 * table of cases in tests/unit/failover.c.
 *
 * Until the first byte has gone to the client a failure can still move
 * to the next candidate. A key problem (401/403 refused, 429 rate
 * limited) moves to the next key, which may be of the same provider; a
 * provider problem (5xx, a timeout, a reset, an answer its API does not
 * allow) skips the rest of that provider. 400, 404, 413, 422 and the
 * other 4xx but 408 and 429 are the client's mistakes: another
 * candidate would answer the same.
 *
 * A provider may say otherwise (struct failover_policy): its failover
 * statuses move to the next provider, cooling the key as a 5xx does;
 * its no-cooldown statuses fail over without cooling the key (a 503
 * "overloaded" says nothing of the key).
 */

#include "dataplane/dataplane.h"

static int	status_listed(const int64_t *, size_t, long);

static int
status_listed(const int64_t *list, size_t n, long status)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (list[i] == status)
			return (1);
	}

	return (0);
}

/* Is an upstream status the client's mistake, to be passed on as is? */
int
failover_client_status(long status)
{
	if (status == 401 || status == 403 || status == 408 || status == 429)
		return (0);
	return (status >= 400 && status < 500);
}

/*
 * Classify e into out. An error event that came before anything reached
 * the client (response.failed, insufficient_quota right after
 * response.created) counts as the HTTP error it stands for. This
 * function can't fail.
 */
void
failover_decide(const struct attempt_end *e, struct failover *out)
{
	long	status;

	out->cooldown = COOL_NONE;
	status = e->status;

	if (e->client_gone) {
		out->action = FO_CANCELLED;
		return;
	}

	if (e->phase == FO_PHASE_STREAM) {
		if (e->complete && !e->timed_out && !e->stopped &&
		    !e->transport && !e->upstream_broke) {
			out->action = FO_ANSWER;
			return;
		}
		out->action = FO_STREAM_ERROR;
		/* A limit of ours (a slow client, an oversized event) is
		 * not the key's fault. */
		if (!e->stopped || e->timed_out || e->upstream_broke)
			out->cooldown = COOL_BACKOFF;
		return;
	}

	if (e->upstream_broke && e->event_status >= 400 && !e->timed_out) {
		status = e->event_status;
	} else if (e->timed_out || e->stopped || e->transport ||
	    e->upstream_broke || e->status == 0) {
		out->action = FO_NEXT_PROVIDER;
		out->cooldown = COOL_BACKOFF;
		return;
	}

	if (status >= 200 && status <= 299) {
		if (e->complete) {
			out->action = FO_ANSWER;
		} else {
			out->action = FO_NEXT_PROVIDER;
			out->cooldown = COOL_BACKOFF;
		}
		return;
	}

	if (status == 401 || status == 403) {
		out->action = FO_NEXT_KEY;
		out->cooldown = COOL_DISABLE;
	} else if (status == 429) {
		out->action = FO_NEXT_KEY;
		out->cooldown = COOL_RATE;
	} else if (failover_client_status(status)) {
		out->action = FO_PASS_ERROR;
	} else {
		out->action = FO_NEXT_PROVIDER;
		out->cooldown = COOL_BACKOFF;
	}

	if (e->policy == NULL)
		return;
	if (out->action == FO_PASS_ERROR && status_listed(e->policy->failover,
	    e->policy->nfailover, status)) {
		out->action = FO_NEXT_PROVIDER;
		out->cooldown = COOL_BACKOFF;
	}
	if (status_listed(e->policy->no_cooldown, e->policy->nno_cooldown,
	    status)) {
		if (out->action == FO_PASS_ERROR)
			out->action = FO_NEXT_PROVIDER;
		out->cooldown = COOL_NONE;
	}
}
