/*
 * The requests in flight, from the state made for each (proxy_init,
 * with its request id) to the state let go (proxy_onfree, proxy_free):
 * the watchdog that stops transfers silent for too long or past their
 * deadline, the end of a worker (proxy_shutdown), and the requests of
 * the gateway's own that have no client (proxy_detached), woken by curl
 * callbacks rather than by Kore. request.c is what happens in between.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "dataplane/dataplane.h"

static LIST_HEAD(, proxy)	inflight = LIST_HEAD_INITIALIZER(inflight);
static struct kore_timer	*watchdog = NULL;

static void	proxy_watchdog(void *, u_int64_t);
static void	request_id(char *, size_t);

/*
 * A request of the gateway's own, with no client to answer (a probe):
 * ops->begin(NULL, px) makes the plan, ops->settle hears how each
 * attempt ended; arg is px->arg. It runs on curl callbacks and is freed
 * when done. This function can't fail.
 */
void
proxy_detached(const struct proxy_ops *ops, void *arg)
{
	struct proxy	*px;

	px = kore_calloc(1, sizeof(*px));
	proxy_init(px, NULL, ops);
	px->arg = arg;
	if (ops->begin(NULL, px) == KORE_RESULT_OK)
		proxy_drive(px);
	if (px->phase != PHASE_RUNNING)
		proxy_free(px);
}

/*
 * A new request's state: its request id, its start, its place in the
 * list the watchdog walks. req is NULL for a request without a client.
 */
void
proxy_init(struct proxy *px, struct http_request *req,
    const struct proxy_ops *ops)
{
	if (watchdog == NULL) {
		watchdog = kore_timer_add(proxy_watchdog, PROXY_WATCHDOG_MS,
		    NULL, 0);
	}

	px->req = req;
	px->ops = ops;
	px->start = kore_time_ms();
	px->trace = kore_buf_alloc(512);
	kore_buf_appendf(px->trace, "[");
	request_id(px->log.request_id, sizeof(px->log.request_id));
	xlate_usage_init(&px->usage);
	px->log.created_at = store_now();
	sse_init(&px->sse);
	LIST_INSERT_HEAD(&inflight, px, list);
}

/*
 * curl is done with the transfer of a request without a client (its
 * callback), or the watchdog stopped it (c NULL).
 */
void
proxy_wake(struct kore_curl *c, void *arg)
{
	struct proxy	*px = arg;

	proxy_drive(px);
	if (px->phase != PHASE_RUNNING)
		proxy_free(px);
}

/*
 * "req_" and 24 hex digits: the wall-clock time in milliseconds, then six
 * random bytes. Ids that grow with time make the request_log index on
 * them grow at its end, instead of dirtying a random page per entry. The
 * random bytes come from a pool refilled 4 KB at a time, not from a
 * system call per request.
 */
static void
request_id(char *out, size_t len)
{
	static u_int8_t	pool[4096];
	static size_t	left = 0;
	struct timespec	ts;
	u_int8_t	raw[12];
	u_int64_t	ms;
	int		i;

	if (left < 6) {
		randombytes_buf(pool, sizeof(pool));
		left = sizeof(pool);
	}

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	ms = (u_int64_t)ts.tv_sec * 1000 + (u_int64_t)ts.tv_nsec / 1000000;
	for (i = 0; i < 6; i++)
		raw[i] = (u_int8_t)(ms >> (8 * (5 - i)));
	memcpy(raw + 6, pool + sizeof(pool) - left, 6);
	left -= 6;

	(void)kore_strlcpy(out, "req_", len);
	(void)sodium_bin2hex(out + 4, len - 4, raw, sizeof(raw));
}

/*
 * The worker is stopping and the grace period is over: end what is still
 * in flight with an explicit error (an error event in a stream that has
 * begun, 503 otherwise), stop the upstream transfers and log them.
 */
void
proxy_shutdown(void)
{
	struct proxy		*px;
	const char		*why = "the gateway is shutting down";

	LIST_FOREACH(px, &inflight, list) {
		if (px->phase == PHASE_DONE || px->logged || px->req == NULL)
			continue;
		if (px->phase == PHASE_RUNNING && px->ops->health)
			latency_settle(px, 0);
		if (px->curl_live) {
			kore_curl_cleanup(&px->curl);
			px->curl_live = 0;
		}
		if (px->req->owner == NULL) {
			proxy_finish(px, "cancelled");
			continue;
		}
		if (px->committed) {
			relay_error(px, why);
		} else {
			proxy_error_reply(px, 503, "server_error",
			    "shutting_down", "the gateway is shutting down; "
			    "retry the request");
		}
		(void)glue_stream_flush(px->req);
		(void)kore_strlcpy(px->log.error, why, sizeof(px->log.error));
		px->phase = PHASE_DONE;
		proxy_finish(px, "error");
	}
}

/*
 * Every PROXY_WATCHDOG_MS: stop transfers that have been silent for
 * longer than their provider's timeout, or that passed the deadline.
 */
static void
proxy_watchdog(void *arg, u_int64_t now)
{
	struct proxy	*px, *next;
	int64_t		 limit;

	for (px = LIST_FIRST(&inflight); px != NULL; px = next) {
		next = LIST_NEXT(px, list);
		if (px->phase != PHASE_RUNNING || !px->curl_live ||
		    px->curl.handle == NULL)
			continue;
		limit = px->cur->provider->timeout_ms;
		if ((int64_t)(now - px->last_activity) < limit &&
		    now - px->start < fusion_cfg.deadline_ms)
			continue;

		px->timed_out = 1;
		if (now - px->start >= fusion_cfg.deadline_ms) {
			(void)snprintf(px->abort_reason,
			    sizeof(px->abort_reason), "the request passed its "
			    "deadline of %u ms", fusion_cfg.deadline_ms);
		}
		kore_curl_cleanup(&px->curl);
		px->curl.result = CURLE_OPERATION_TIMEDOUT;
		px->curl_live = 0;
		if (px->req != NULL)
			http_request_wakeup(px->req);
		else
			proxy_wake(NULL, px);
	}
}

/* Kore frees the request: the client went away, or it was answered. */
void
proxy_onfree(struct http_request *req)
{
	struct proxy	*px = http_state_get(req);

	if (px->phase == PHASE_RUNNING && px->ops->health)
		latency_settle(px, 0);

	if (!px->logged && px->trace != NULL) {
		if (px->cur != NULL)
			proxy_trace(px, px->cur, "tried", "cancelled",
			    "the client went away", 0,
			    (int64_t)(kore_time_ms() - px->attempt_start));
		(void)kore_strlcpy(px->log.error, "the client went away",
		    sizeof(px->log.error));
		if (px->log.status == 0)
			px->log.status = 499;
		proxy_finish(px, "cancelled");
	}

	proxy_free(px);
}

/*
 * What a request holds, let go; a request without a client (its struct
 * proxy is not Kore's state) is freed whole.
 */
void
proxy_free(struct proxy *px)
{
	if (px->curl_live) {
		kore_curl_cleanup(&px->curl);
		px->curl_live = 0;
	}

	budget_release(px, 0);
	LIST_REMOVE(px, list);
	sse_free(&px->sse);
	xlate_stream_free(&px->xs);
	if (px->xout != NULL)
		kore_buf_free(px->xout);
	if (px->hold != NULL)
		kore_buf_free(px->hold);
	if (px->own_body != NULL)
		kore_buf_free(px->own_body);
	if (px->upbody != NULL)
		kore_buf_free(px->upbody);
	if (px->resp != NULL)
		kore_buf_free(px->resp);
	if (px->trace != NULL)
		kore_buf_free(px->trace);
	if (px->cfg != NULL)
		config_release(px->cfg);
	if (px->members != NULL && px->members != px->members_inline)
		kore_free(px->members);
	kore_free(px->picks);
	kore_free(px->arg);
	if (px->req == NULL)
		kore_free(px);
}
