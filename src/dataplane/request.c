/*
 * The life of a /v1 request, from its route to its log entry: the
 * client key, the body, the limits and the plan (proxy_begin); one
 * upstream transfer after another (proxy_attempt, upstream.c) while the
 * request sleeps; at each transfer's end (curl, or the watchdog timer on
 * a timeout, wakes it) what it means (proxy_settle, failover.c): answer,
 * or the next candidate; and the log entry, written once
 * (proxy_finish).
 *
 * The admin's playground, provider and key tests, model syncs and the
 * background probes of keys run through the same machinery with their
 * own begin, settle or client (struct proxy_ops): this file never knows
 * of them. A probe has no client request at all (proxy_detached): its
 * transfer wakes it through a curl callback instead.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "dataplane/dataplane.h"

/*
 * Every request in flight holds a struct proxy, taken from Kore's block
 * pool of 4 KB elements: one byte more and it would take an 8 KB one.
 */
typedef char proxy_fits_block[sizeof(struct proxy) <= 4096 ? 1 : -1];

static int	proxy_models(struct proxy *);
static void	proxy_attempt(struct proxy *);
static void	proxy_settle(struct proxy *);
static void	proxy_fail_final(struct proxy *);
static void	proxy_pass_answer(struct proxy *, const char *);
static void	proxy_error(struct proxy *, int, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 5, 6)));

static const struct proxy_ops	v1_ops = {
	.begin = proxy_begin,
	.settle = NULL,
	.log = reqlog_add,
	.health = 1,
	.prefix = "/v1",
	.client = proxy_client,
};

int
proxy_v1(struct http_request *req)
{
	return (proxy_run(req, &v1_ops));
}

/*
 * Drive a request through its phases: ops->begin once, then attempts
 * until it is answered. The handler of every /v1 path and of the
 * provider test.
 */
int
proxy_run(struct http_request *req, const struct proxy_ops *ops)
{
	struct proxy	*px;

	if (!http_state_exists(req)) {
		px = http_state_create(req, sizeof(*px), proxy_onfree);
		proxy_init(px, req, ops);
		if (ops->begin(req, px) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
	} else {
		px = http_state_get(req);
		/* Still running: a spurious wake-up. */
		if (px->phase == PHASE_RUNNING && px->curl_live &&
		    px->curl.handle != NULL)
			return (KORE_RESULT_RETRY);
	}

	proxy_drive(px);
	return (px->phase == PHASE_RUNNING ? KORE_RESULT_RETRY :
	    KORE_RESULT_OK);
}

/* Settle an attempt that ended, then start attempts until one runs. */
void
proxy_drive(struct proxy *px)
{
	if (px->phase == PHASE_RUNNING)
		proxy_settle(px);
	while (px->phase == PHASE_NEXT)
		proxy_attempt(px);
}

/*
 * Everything before the first upstream attempt: who asks (ops->client),
 * body, limits, the plan. Returns KORE_RESULT_ERROR once the request is
 * answered.
 */
int
proxy_begin(struct http_request *req, struct proxy *px)
{
	const struct json_member	*m, *so, *iu;
	const char			*hdr = NULL;
	struct json_member		 sub[16];
	struct router_pick		 plan[ROUTER_MAX];
	struct router_env		 env;
	size_t				 sub_end;
	int64_t				 wait, used, now;
	char				 retry[32], why[256];
	int				 i, nsub, serves;

	(void)kore_strlcpy(px->log.path, req->path, sizeof(px->log.path));
	client_route(px);
	observe_begin(px);

	if ((px->cfg = config_acquire()) == NULL) {
		proxy_error(px, 500, "server_error", "database_error",
		    "the gateway cannot read its configuration");
		return (KORE_RESULT_ERROR);
	}

	if (px->ops->client(px) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);

	if (req->method == HTTP_METHOD_GET &&
	    strncmp(px->path, "/models", 7) == 0 &&
	    (px->path[7] == '\0' || px->path[7] == '/'))
		return (proxy_models(px));

	if (req->method != HTTP_METHOD_POST || (px->client_fmt == XF_GEMINI &&
	    px->model[0] == '\0')) {
		proxy_error(px, 404, "invalid_request_error", "not_found",
		    "unknown path: %s %s", http_method_text(req->method),
		    req->path);
		return (KORE_RESULT_ERROR);
	}

	if (req->http_body == NULL || req->content_length == 0) {
		proxy_error(px, 400, "invalid_request_error", "invalid_json",
		    "the request body must be a JSON object");
		return (KORE_RESULT_ERROR);
	}

	if ((i = client_multipart(px, why, sizeof(why))) == -1) {
		proxy_error(px, 400, "invalid_request_error", "invalid_request",
		    "%s", why);
		return (KORE_RESULT_ERROR);
	}
	if (i == 1)
		goto plan;
	px->body = req->http_body->data;
	px->body_len = req->content_length;
	if (proxy_scan(px) < 0) {
		proxy_error(px, 400, "invalid_request_error", "invalid_json",
		    "the request body is not a valid JSON object");
		return (KORE_RESULT_ERROR);
	}

	m = json_scan_find(px->body, px->members, px->nmembers, "model");
	if (px->client_fmt != XF_GEMINI && (m == NULL ||
	    m->type != JSON_STRING || json_scan_string(px->body, m, 0,
	    px->model, sizeof(px->model)) <= 0)) {
		proxy_error(px, 400, "invalid_request_error", "invalid_request",
		    "'model' is required and must be a non-empty string");
		return (KORE_RESULT_ERROR);
	}

	if (px->chat && client_check_chat(px, why, sizeof(why)) == -1) {
		proxy_error(px, 400, "invalid_request_error", "invalid_request",
		    "%s", why);
		return (KORE_RESULT_ERROR);
	}

	/* The fields the gateway reads itself are checked here; the rest
	 * is the upstream's to judge. */
	m = json_scan_find(px->body, px->members, px->nmembers, "stream");
	if (m != NULL && m->type != JSON_TRUE && m->type != JSON_FALSE &&
	    m->type != JSON_NULL) {
		proxy_error(px, 400, "invalid_request_error", "invalid_type",
		    "'stream' must be a boolean");
		return (KORE_RESULT_ERROR);
	}
	if (px->client_fmt != XF_GEMINI)
		px->stream = (m != NULL && m->type == JSON_TRUE &&
		    !px->count_tokens);
	so = json_scan_find(px->body, px->members, px->nmembers,
	    "stream_options");
	if (so != NULL && so->type != JSON_OBJECT && so->type != JSON_NULL) {
		proxy_error(px, 400, "invalid_request_error", "invalid_type",
		    "'stream_options' must be an object");
		return (KORE_RESULT_ERROR);
	}
	if (px->stream && px->chat_path && so != NULL &&
	    so->type == JSON_OBJECT) {
		nsub = json_scan_object(px->body + so->value, so->value_len,
		    sub, 16, &sub_end);
		iu = nsub > 0 ? json_scan_find(px->body + so->value, sub, nsub,
		    "include_usage") : NULL;
		px->client_usage = (iu != NULL && iu->type == JSON_TRUE);
	}

plan:
	if (!router_client_allows(px->client, px->model, NULL)) {
		proxy_error(px, 403, "invalid_request_error",
		    "model_not_allowed", "this API key may not use model '%s'",
		    px->model);
		return (KORE_RESULT_ERROR);
	}

	now = store_now();
	env.next = counters_next;
	env.score = latency_score;
	(void)http_request_header(req, "x-session-id", &hdr);
	(void)strategy_session(px->body, px->members, px->nmembers, hdr,
	    env.session, sizeof(env.session));
	px->npicks = router_plan(px->cfg, px->client, px->model, now,
	    plan, ROUTER_MAX, &env);
	if (px->npicks > 0) {
		px->picks = kore_calloc(px->npicks, sizeof(*px->picks));
		memcpy(px->picks, plan, px->npicks * sizeof(*px->picks));
	}

	/* Providers of the model exist, but none whose API has the path. */
	for (i = 0; i < px->npicks; i++) {
		if (upstream_serves(px, px->picks[i].provider))
			break;
	}
	if (px->npicks > 0 && i == px->npicks) {
		proxy_error(px, 400, "invalid_request_error",
		    "unsupported_endpoint", px->count_tokens ?
		    "token counting needs an anthropic or gemini provider; "
		    "none serves model '%s'" : "no provider of model '%s' "
		    "has this endpoint", px->model);
		return (KORE_RESULT_ERROR);
	}

	if (px->npicks == 0) {
		serves = 0;
		for (i = 0; i < (int)px->cfg->nproviders; i++) {
			if (router_upstream_model(&px->cfg->providers[i],
			    px->model) != NULL)
				serves = 1;
		}
		if (serves) {
			proxy_error(px, 403, "invalid_request_error",
			    "model_not_allowed", "this API key may not use the "
			    "groups that serve model '%s'", px->model);
		} else {
			proxy_error(px, 404, "invalid_request_error",
			    "model_not_found", "The model '%s' does not exist "
			    "or no provider serves it", px->model);
		}
		return (KORE_RESULT_ERROR);
	}

	if (px->client != NULL && px->client->rpm_limit > 0 &&
	    (wait = counters_rpm_hit(px->client->id, px->client->rpm_limit,
	    &used)) > 0) {
		(void)snprintf(retry, sizeof(retry), "%" PRId64, wait);
		http_response_header(req, "retry-after", retry);
		proxy_error(px, 429, "requests", "rate_limit_exceeded",
		    "Rate limit reached: %" PRId64 " requests per minute; "
		    "retry in %" PRId64 " s", px->client->rpm_limit, wait);
		return (KORE_RESULT_ERROR);
	}

	if (px->client != NULL && px->client->token_quota > 0 &&
	    client_tokens(px->client) >= px->client->token_quota) {
		proxy_error(px, 429, "insufficient_quota", "insufficient_quota",
		    "You exceeded your token quota of %" PRId64 " tokens",
		    px->client->token_quota);
		return (KORE_RESULT_ERROR);
	}

	if (budget_admit(px, why, sizeof(why), &wait) != KORE_RESULT_OK) {
		if (wait > 0) {
			(void)snprintf(retry, sizeof(retry), "%" PRId64, wait);
			http_response_header(req, "retry-after", retry);
		}
		proxy_error(px, 429, "insufficient_quota", "insufficient_quota",
		    "%s", why);
		return (KORE_RESULT_ERROR);
	}

	px->phase = PHASE_NEXT;
	return (KORE_RESULT_OK);
}

/*
 * GET /models and /models/{id} (OpenAI's, or Gemini's under /v1beta):
 * what the client key may use, or the one model, or a 404 in the
 * client's API.
 */
static int
proxy_models(struct proxy *px)
{
	struct kore_buf	*buf;
	const char	*only;

	only = px->path[7] == '/' ? px->path + 8 : NULL;
	if (only != NULL && px->client_fmt == XF_GEMINI &&
	    strncmp(only, "models/", 7) == 0)
		only += 7;
	buf = kore_buf_alloc(1024);
	if (!client_models(px->cfg, px->client, px->client_fmt, only, buf) &&
	    only != NULL) {
		kore_buf_free(buf);
		proxy_error(px, 404, "invalid_request_error", "model_not_found",
		    "The model '%s' does not exist", only);
		return (KORE_RESULT_ERROR);
	}
	px->log.status = 200;
	http_response_header(px->req, "x-fusion-request-id",
	    px->log.request_id);
	glue_reply_json(px->req, 200, buf);
	px->phase = PHASE_DONE;
	proxy_finish(px, "ok");
	return (KORE_RESULT_ERROR);
}

/*
 * The client key of the request, found and checked (client.c); a key
 * that cannot be served is answered here, in the client's API.
 */
int
proxy_client(struct proxy *px)
{
	switch (client_find(px->cfg, px->req, &px->client)) {
	case CLIENT_OK:
		return (KORE_RESULT_OK);
	case CLIENT_NO_KEY:
		proxy_error(px, 401, "invalid_request_error", "invalid_api_key",
		    "You didn't provide an API key: send it in %s",
		    px->client_fmt == XF_ANTHROPIC ? "'x-api-key: <key>'" :
		    px->client_fmt == XF_GEMINI ? "'x-goog-api-key: <key>'" :
		    "'Authorization: Bearer <key>'");
		break;
	case CLIENT_DISABLED:
		proxy_error(px, 401, "invalid_request_error",
		    "api_key_disabled", "This API key has been disabled");
		break;
	case CLIENT_EXPIRED:
		proxy_error(px, 401, "invalid_request_error",
		    "api_key_expired", "This API key has expired");
		break;
	default:
		proxy_error(px, 401, "invalid_request_error", "invalid_api_key",
		    "Incorrect API key provided");
		break;
	}
	px->client = NULL;
	return (KORE_RESULT_ERROR);
}

/*
 * The top-level members of px->body into px->members: the inline array,
 * or up to PROXY_MEMBERS_MAX on the heap when the body has more members
 * (json_scan_object fails both on bad JSON and on too many members).
 * Returns the number of members, -1 when the body is no JSON object or
 * has more than PROXY_MEMBERS_MAX.
 */
int
proxy_scan(struct proxy *px)
{
	if (px->members != NULL && px->members != px->members_inline)
		kore_free(px->members);
	px->members = px->members_inline;
	px->nmembers = json_scan_object(px->body, px->body_len, px->members,
	    PROXY_MEMBERS_INLINE, &px->obj_end);
	if (px->nmembers >= 0)
		return (px->nmembers);

	px->members = kore_calloc(PROXY_MEMBERS_MAX, sizeof(*px->members));
	px->nmembers = json_scan_object(px->body, px->body_len, px->members,
	    PROXY_MEMBERS_MAX, &px->obj_end);
	if (px->nmembers < 0) {
		kore_free(px->members);
		px->members = px->members_inline;
	}

	return (px->nmembers);
}

/* Start the next pick, or answer with the final error when none is left. */
static void
proxy_attempt(struct proxy *px)
{
	struct router_pick	*pk;
	const char		*upstream_model;
	char			 why[256];

	for (;;) {
		if (px->next >= px->npicks ||
		    px->tried >= (int)fusion_cfg.max_attempts ||
		    kore_time_ms() - px->start >= fusion_cfg.deadline_ms) {
			proxy_fail_final(px);
			return;
		}

		pk = &px->picks[px->next++];
		if (pk->key == NULL) {
			proxy_trace(px, pk, "skipped", "skipped",
			    pk->skip_reason, 0, 0);
			continue;
		}
		if (!upstream_serves(px, pk->provider)) {
			proxy_trace(px, pk, "skipped", "skipped",
			    px->count_tokens ? "the provider's API cannot count "
			    "tokens" : "the provider's API has no such endpoint",
			    0, 0);
			continue;
		}
		if (pk->provider->id == px->skip_provider) {
			proxy_trace(px, pk, "skipped", "skipped",
			    "the provider just failed", 0, 0);
			continue;
		}
		if (px->ops->health &&
		    !router_key_usable(pk->key, store_now())) {
			proxy_trace(px, pk, "skipped", "skipped",
			    "the key failed earlier in this request", 0, 0);
			continue;
		}
		if (px->ops->health && !health_claim(pk->key)) {
			proxy_trace(px, pk, "skipped", "skipped",
			    "another request is trying the cooled-down key", 0,
			    0);
			continue;
		}
		break;
	}

	px->cur = pk;
	px->tried++;
	/* A provider test may name a model the provider does not list. */
	if ((upstream_model = router_upstream_model(pk->provider,
	    px->model)) == NULL)
		upstream_model = px->model;

	/* The log names the last provider tried, whatever its outcome. */
	px->log.provider_id = pk->provider->id;
	px->log.group_id = pk->provider->group->id;
	px->log.upstream_key_id = pk->key->id;
	(void)kore_strlcpy(px->log.key_masked, pk->key->masked,
	    sizeof(px->log.key_masked));
	(void)kore_strlcpy(px->log.upstream_model, upstream_model,
	    sizeof(px->log.upstream_model));

	switch (upstream_start(px, upstream_model, why, sizeof(why))) {
	case KORE_RESULT_OK:
		px->phase = PHASE_RUNNING;
		if (px->ops->health)
			latency_begin(pk->provider);
		break;
	case KORE_RESULT_ERROR:
		/* The client's request cannot be said in this API. */
		proxy_trace(px, pk, "tried", "client_error", why, 400, 0);
		proxy_error(px, 400, "invalid_request_error",
		    "invalid_request", "%s", why);
		break;
	default:
		(void)kore_strlcpy(px->last_error, why,
		    sizeof(px->last_error));
		px->phase = PHASE_NEXT;
		break;
	}
}

/*
 * The attempt has ended (curl finished, or the watchdog stopped it).
 * Answer the client, or record the failure and let the next pick go.
 */
static void
proxy_settle(struct proxy *px)
{
	struct router_pick	*pk;
	struct attempt_end	 e;
	struct failover		 fo;
	CURLcode		 result;
	int64_t			 latency;
	char			 why[256], msg[200], reason[256];

	pk = px->cur;
	result = px->curl.result;
	if (px->raw && result == CURLE_OK)
		px->done_seen = 1;
	if (px->curl_live) {
		if (!px->head_seen && px->curl.handle == NULL)
			px->up.status = px->curl.http.status;
		kore_curl_cleanup(&px->curl);
		px->curl_live = 0;
	}
	latency = (int64_t)(kore_time_ms() - px->attempt_start);
	if (px->up.status >= 400 && px->resp != NULL)
		px->up.status = xlate_error_status(px->up_fmt,
		    (int)px->up.status, px->resp->data, px->resp->offset);
	if (px->ops->health)
		latency_settle(px, px->req->owner != NULL);

	if (px->ops->settle != NULL) {
		px->ops->settle(px, result, latency);
		return;
	}

	memset(&e, 0, sizeof(e));
	e.phase = px->committed ? FO_PHASE_STREAM : FO_PHASE_HEAD;
	e.status = px->up.status;
	e.transport = (result != CURLE_OK);
	e.timed_out = px->timed_out;
	e.upstream_broke = px->upstream_broke;
	e.event_status = px->committed ? 0 : px->event_status;
	e.stopped = px->aborted && !px->upstream_broke;
	e.client_gone = (px->req->owner == NULL);
	e.policy = &pk->provider->policy;
	if (px->committed) {
		e.complete = px->done_seen && !e.transport && !e.timed_out &&
		    !px->aborted && relay_close(px) == KORE_RESULT_OK;
	} else if (e.status >= 200 && e.status <= 299 && !e.transport &&
	    !e.timed_out && !px->aborted && !(px->stream && px->up.event_stream)) {
		/* A stream whose every event was held back ends here too. */
		e.complete = (upstream_answer(px) == KORE_RESULT_OK);
	}
	failover_decide(&e, &fo);

	/* What went wrong, for the trace, the log and the operator. */
	why[0] = '\0';
	msg[0] = '\0';
	if (px->timed_out && px->abort_reason[0] != '\0')
		(void)kore_strlcpy(why, px->abort_reason, sizeof(why));
	else if (px->timed_out && px->committed)
		(void)snprintf(why, sizeof(why), "the upstream stream stalled "
		    "for more than %" PRId64 " ms", pk->provider->timeout_ms);
	else if (px->timed_out)
		(void)snprintf(why, sizeof(why), "no answer within %" PRId64
		    " ms", pk->provider->timeout_ms);
	else if (px->aborted)
		(void)kore_strlcpy(why, px->abort_reason[0] ?
		    px->abort_reason : "the transfer was stopped", sizeof(why));
	else if (e.transport && px->committed)
		(void)snprintf(why, sizeof(why), "the upstream stream broke: "
		    "%s", curl_easy_strerror(result));
	else if (e.transport)
		(void)kore_strlcpy(why, px->curl.errbuf[0] ? px->curl.errbuf :
		    curl_easy_strerror(result), sizeof(why));
	else if (px->upstream_broke && !px->committed) {
		upstream_error_message(px, msg, sizeof(msg));
		(void)kore_strlcpy(why, px->abort_reason, sizeof(why));
	}
	else if (px->committed)
		(void)kore_strlcpy(why, "the upstream stream ended before its "
		    "last event", sizeof(why));
	else if (e.status >= 200 && e.status <= 299 && px->stream &&
	    px->up.event_stream)
		(void)kore_strlcpy(why, "the upstream stream ended before its "
		    "first event", sizeof(why));
	else if (e.status >= 200 && e.status <= 299)
		(void)snprintf(why, sizeof(why), "the upstream's answer is not "
		    "a valid %s answer", xlate_format_name(px->up_fmt));
	else {
		upstream_error_message(px, msg, sizeof(msg));
		(void)snprintf(why, sizeof(why), "upstream answered %ld: %s",
		    e.status, msg);
	}

	switch (fo.action) {
	case FO_CANCELLED:
		proxy_trace(px, pk, "tried", "cancelled", "the client went away",
		    px->committed ? 200 : 0, latency);
		px->phase = PHASE_DONE;
		proxy_finish(px, "cancelled");
		return;
	case FO_ANSWER:
		health_success(pk->key);
		proxy_trace(px, pk, "tried", "ok", "", (int)e.status, latency);
		if (px->committed) {
			glue_stream_end(px->req);
			px->phase = PHASE_DONE;
			proxy_finish(px, "ok");
		} else {
			px->first_byte = px->upstream_first;
			proxy_pass_answer(px, "ok");
		}
		return;
	case FO_PASS_ERROR:
		if (px->event_status > 0) {
			/* An error event before the first byte: its answer. */
			px->up.status = px->event_status;
			(void)kore_strlcpy(px->up.content_type,
			    "application/json", sizeof(px->up.content_type));
		}
		upstream_error_message(px, msg, sizeof(msg));
		upstream_answer_error(px);
		proxy_trace(px, pk, "tried", "client_error", msg,
		    (int)e.status, latency);
		(void)kore_strlcpy(px->log.error, msg, sizeof(px->log.error));
		proxy_pass_answer(px, "error");
		return;
	case FO_STREAM_ERROR:
		relay_error(px, why);
		if (fo.cooldown != COOL_NONE)
			health_failure(pk->key, fo.cooldown, -1, why);
		proxy_trace(px, pk, "tried", "error", why, 200, latency);
		(void)kore_strlcpy(px->log.error, why, sizeof(px->log.error));
		px->phase = PHASE_DONE;
		proxy_finish(px, "error");
		return;
	}

	/* FO_NEXT_KEY or FO_NEXT_PROVIDER. */
	px->last_timeout = px->timed_out || result == CURLE_OPERATION_TIMEDOUT;
	if (e.event_status > 0)
		px->last_status = (int)e.event_status;
	else
		px->last_status = (e.status >= 300 && !e.transport &&
		    !px->timed_out && !px->aborted) ? (int)e.status : 0;
	px->last_retry_after = px->up.retry_after;
	(void)snprintf(px->last_error, sizeof(px->last_error),
	    "provider '%s' (key %s): %s", pk->provider->name, pk->key->masked,
	    why);
	if (fo.cooldown == COOL_RATE)
		(void)snprintf(reason, sizeof(reason), "upstream answered 429 "
		    "(rate limited): %s", msg);
	else
		(void)kore_strlcpy(reason, why, sizeof(reason));
	if (fo.cooldown != COOL_NONE)
		health_failure(pk->key, fo.cooldown, px->up.retry_after,
		    reason);
	proxy_trace(px, pk, "tried", "error", why, px->last_status, latency);
	if (fo.action == FO_NEXT_PROVIDER)
		px->skip_provider = pk->provider->id;
	px->phase = PHASE_NEXT;
}

/* Give the client the upstream's whole answer, status and body as sent. */
static void
proxy_pass_answer(struct proxy *px, const char *outcome)
{
	px->log.status = (int)px->up.status;
	http_response_header(px->req, "content-type",
	    px->up.content_type[0] ? px->up.content_type : "application/json");
	http_response_header(px->req, "x-fusion-request-id",
	    px->log.request_id);
	http_response(px->req, (int)px->up.status, px->resp->data,
	    px->resp->offset);
	px->phase = PHASE_DONE;
	proxy_finish(px, outcome);
}

/* Nothing is left to try: one clear error naming the last cause. */
static void
proxy_fail_final(struct proxy *px)
{
	char	retry[32];
	int	i;

	/* Only disabled providers serve it: as if none did. */
	for (i = 0; i < px->npicks && px->picks[i].disabled; i++)
		;
	if (px->tried == 0 && i == px->npicks) {
		proxy_error(px, 404, "invalid_request_error", "model_not_found",
		    "The model '%s' does not exist or no enabled provider "
		    "serves it", px->model);
	} else if (px->tried == 0) {
		proxy_error(px, 503, "server_error", "no_available_provider",
		    "no available provider for model '%s': every candidate is "
		    "disabled, cooling down or without keys", px->model);
	} else if (px->last_status == 429) {
		if (px->last_retry_after >= 0) {
			(void)snprintf(retry, sizeof(retry), "%" PRId64,
			    px->last_retry_after);
			http_response_header(px->req, "retry-after", retry);
		}
		proxy_error(px, 429, "rate_limit_error",
		    "upstream_rate_limited", "every upstream is rate limited; "
		    "last: %s", px->last_error);
	} else if (px->last_timeout) {
		proxy_error(px, 504, "server_error", "upstream_timeout",
		    "the upstream did not answer in time (%d attempts); last: "
		    "%s", px->tried, px->last_error);
	} else {
		proxy_error(px, 502, "server_error", "upstream_error",
		    "all %d attempts failed; last: %s", px->tried,
		    px->last_error);
	}
}

/*
 * An error answer in the client's format (OpenAI's shape, or Anthropic's
 * for /v1/messages), recorded for the log.
 */
void
proxy_error_reply(struct proxy *px, int status, const char *type,
    const char *code, const char *msg)
{
	struct kore_buf		*buf;

	px->log.status = status;
	(void)kore_strlcpy(px->log.error, msg, sizeof(px->log.error));
	if (px->req == NULL)
		return;
	http_response_header(px->req, "x-fusion-request-id",
	    px->log.request_id);
	buf = kore_buf_alloc(256);
	xlate_error_body(px->client_fmt, status, type, code, msg, buf);
	glue_reply_json(px->req, status, buf);
}

static void
proxy_error(struct proxy *px, int status, const char *type, const char *code,
    const char *fmt, ...)
{
	va_list		args;
	char		msg[512];

	va_start(args, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);

	proxy_error_reply(px, status, type, code, msg);
	px->phase = PHASE_DONE;
	proxy_finish(px, "error");
}

/*
 * The request is over: its log entry goes to ops->log, exactly once.
 * outcome is "ok", "error" or "cancelled".
 */
void
proxy_finish(struct proxy *px, const char *outcome)
{
	struct log_entry	*e;

	if (px->logged || px->ops->log == NULL)
		return;
	px->logged = 1;

	e = &px->log;
	e->outcome = outcome;
	e->latency_ms = (int64_t)(kore_time_ms() - px->start);
	e->ttfb_ms = px->first_byte ? (int64_t)(px->first_byte - px->start) : 0;
	e->attempts = px->tried;
	e->stream = px->stream;
	relay_usage_log(px, e);
	e->client_key_id = px->client ? px->client->id : 0;
	(void)kore_strlcpy(e->model, px->model, sizeof(e->model));
	budget_finish(px, e);

	kore_buf_appendf(px->trace, "]");
	e->trace = kore_strdup(kore_buf_stringify(px->trace, NULL));

	observe_finish(px, e);
	px->ops->log(e);
}

/* Add one candidate to the routing trace. */
void
proxy_trace(struct proxy *px, const struct router_pick *pk,
    const char *action, const char *outcome, const char *reason, int status,
    int64_t latency)
{
	if (px->trace->offset > 1)
		kore_buf_appendf(px->trace, ",");
	kore_buf_appendf(px->trace, "{");
	json_kv_int(px->trace, "provider_id", pk->provider->id, 1);
	json_kv_str(px->trace, "provider", pk->provider->name, 0);
	json_kv_str(px->trace, "key_masked", pk->key ? pk->key->masked : "",
	    0);
	json_kv_str(px->trace, "action", action, 0);
	json_kv_str(px->trace, "outcome", outcome, 0);
	json_kv_str(px->trace, "reason", reason, 0);
	if (pk->strategy != NULL)
		json_kv_str(px->trace, "strategy", pk->strategy, 0);
	json_kv_int(px->trace, "status", status, 0);
	json_kv_int(px->trace, "latency_ms", latency, 0);
	kore_buf_appendf(px->trace, "}");

	observe_attempt_end(px, pk, action, outcome, status);
}
