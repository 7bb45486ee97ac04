/*
 * The /v1 data plane: authenticate the client key, pick candidates, send
 * the request upstream with Kore's async curl, relay the answer (event by
 * event when streaming), fail over while nothing has reached the client,
 * and log every request once.
 *
 * A request's life: proxy_begin() checks and plans; proxy_attempt()
 * starts one upstream transfer and the request sleeps; curl (or the
 * watchdog timer, on a timeout) wakes it; proxy_settle() classifies the
 * outcome and either answers or moves to the next pick.
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

static LIST_HEAD(, proxy)	inflight = LIST_HEAD_INITIALIZER(inflight);
static struct kore_timer	*watchdog = NULL;
static char			*ca_bundle = NULL;
static size_t			 ca_bundle_len = 0;

static int	proxy_begin(struct http_request *, struct proxy *);
static void	proxy_attempt(struct proxy *);
static void	proxy_settle(struct proxy *);
static void	proxy_fail_final(struct proxy *);
static void	proxy_onfree(struct http_request *);
static void	proxy_trace(struct proxy *, const struct router_pick *,
		    const char *, const char *, const char *, int, int64_t);
static int	proxy_check_chat(struct proxy *);
static void	proxy_pass_answer(struct proxy *, const char *);
static void	proxy_watchdog(void *, u_int64_t);
static size_t	proxy_header_cb(char *, size_t, size_t, void *);
static size_t	proxy_write_cb(char *, size_t, size_t, void *);
static void	request_id(char *, size_t);

/*
 * The system CA bundle, read once by the parent: chrooted workers cannot
 * open /etc/ssl, so every transfer gets the certificates from memory.
 */
void
proxy_load_ca(void)
{
	const char	*paths[] = { "/etc/ssl/certs/ca-certificates.crt",
			    "/etc/pki/tls/certs/ca-bundle.crt", NULL };
	FILE		*fp;
	long		 len;
	int		 i;

	for (i = 0; paths[i] != NULL; i++) {
		if ((fp = fopen(paths[i], "r")) == NULL)
			continue;
		if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) > 0 &&
		    fseek(fp, 0, SEEK_SET) == 0) {
			ca_bundle = kore_malloc((size_t)len);
			ca_bundle_len = fread(ca_bundle, 1, (size_t)len, fp);
		}
		fclose(fp);
		if (ca_bundle_len > 0)
			return;
	}

	kore_log(LOG_WARNING, "no system CA bundle found: https upstreams "
	    "need a provider ca_cert or tls_verify false");
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
	http_response_header(px->req, "x-fusion-request-id",
	    px->log.request_id);
	buf = kore_buf_alloc(256);
	xlate_error_body(px->client_fmt, status, type, code, msg, buf);
	glue_reply_json(px->req, status, buf);
}

void
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
 * Write the log entry of this request, exactly once. outcome is "ok",
 * "error" or "cancelled".
 */
void
proxy_finish(struct proxy *px, const char *outcome)
{
	struct log_entry	*e;

	if (px->logged || px->test_body != NULL)
		return;
	px->logged = 1;

	e = &px->log;
	e->outcome = outcome;
	e->latency_ms = (int64_t)(kore_time_ms() - px->start);
	e->ttfb_ms = px->first_byte ? (int64_t)(px->first_byte - px->start) : 0;
	e->attempts = px->tried;
	e->stream = px->stream;
	e->prompt_tokens = px->prompt_tokens;
	e->completion_tokens = px->completion_tokens;
	e->client_key_id = px->client ? px->client->id : 0;
	(void)kore_strlcpy(e->model, px->model, sizeof(e->model));

	kore_buf_appendf(px->trace, "]");
	e->trace = kore_strdup(kore_buf_stringify(px->trace, NULL));

	usage_log(e);
}

/* Add one candidate to the routing trace. */
static void
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
	json_kv_int(px->trace, "status", status, 0);
	json_kv_int(px->trace, "latency_ms", latency, 0);
	kore_buf_appendf(px->trace, "}");
}

/* GET /v1/models: what this client key may ask for. */
/*
 * What every chat needs before any provider sees it, in both APIs: a
 * non-empty messages array, and for Anthropic's a max_tokens (which its
 * API requires; token counting does not).
 */
static int
proxy_check_chat(struct proxy *px)
{
	const struct json_member	*m;
	long long			 v;

	m = json_scan_find(px->body, px->members, px->nmembers, "messages");
	if (m == NULL || m->type != JSON_ARRAY ||
	    json_scan_empty(px->body, m)) {
		proxy_error(px, 400, "invalid_request_error", "invalid_request",
		    "'messages' is required and must be a non-empty array");
		return (KORE_RESULT_ERROR);
	}

	if (px->client_fmt != XF_ANTHROPIC || px->count_tokens)
		return (KORE_RESULT_OK);

	m = json_scan_find(px->body, px->members, px->nmembers, "max_tokens");
	if (m == NULL || m->type != JSON_NUMBER ||
	    (v = json_scan_uint(px->body, m)) < 1) {
		proxy_error(px, 400, "invalid_request_error", "invalid_request",
		    "'max_tokens' is required and must be a positive integer");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/*
 * Everything before the first upstream attempt: client key, body, limits,
 * the plan. Returns KORE_RESULT_ERROR once the request is answered.
 */
static int
proxy_begin(struct http_request *req, struct proxy *px)
{
	const struct json_member	*m, *so, *iu;
	struct json_member		 sub[16];
	struct router_pick		 plan[ROUTER_MAX];
	size_t				 sub_end;
	int64_t				 wait, used, now;
	char				 retry[32];
	int				 i, nsub, serves;

	px->req = req;
	px->start = kore_time_ms();
	px->trace = kore_buf_alloc(512);
	kore_buf_appendf(px->trace, "[");
	request_id(px->log.request_id, sizeof(px->log.request_id));
	px->log.created_at = store_now();
	(void)kore_strlcpy(px->log.path, req->path, sizeof(px->log.path));
	px->path = req->path + 3;

	/* Anthropic's Messages API, or OpenAI's. */
	if (strcmp(px->path, "/messages") == 0 ||
	    strcmp(px->path, "/messages/count_tokens") == 0) {
		px->client_fmt = XF_ANTHROPIC;
		px->count_tokens = (px->path[9] == '/');
	}
	px->chat = (px->client_fmt == XF_ANTHROPIC ||
	    strcmp(px->path, "/chat/completions") == 0);

	if ((px->cfg = config_acquire()) == NULL) {
		proxy_error(px, 500, "server_error", "database_error",
		    "the gateway cannot read its configuration");
		return (KORE_RESULT_ERROR);
	}

	if (proxy_client_authenticate(px) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);

	if (req->method == HTTP_METHOD_GET && strcmp(px->path, "/models") == 0) {
		proxy_models(px);
		return (KORE_RESULT_ERROR);
	}

	if (req->method != HTTP_METHOD_POST) {
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

	px->body = req->http_body->data;
	px->body_len = req->content_length;
	if (proxy_scan(px) < 0) {
		proxy_error(px, 400, "invalid_request_error", "invalid_json",
		    "the request body is not a valid JSON object");
		return (KORE_RESULT_ERROR);
	}

	m = json_scan_find(px->body, px->members, px->nmembers, "model");
	if (m == NULL || m->type != JSON_STRING ||
	    json_scan_string(px->body, m, 0, px->model,
	    sizeof(px->model)) <= 0) {
		proxy_error(px, 400, "invalid_request_error", "invalid_request",
		    "'model' is required and must be a non-empty string");
		return (KORE_RESULT_ERROR);
	}

	if (px->chat && proxy_check_chat(px) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);

	/* The fields the gateway reads itself are checked here; the rest
	 * is the upstream's to judge. */
	m = json_scan_find(px->body, px->members, px->nmembers, "stream");
	if (m != NULL && m->type != JSON_TRUE && m->type != JSON_FALSE &&
	    m->type != JSON_NULL) {
		proxy_error(px, 400, "invalid_request_error", "invalid_type",
		    "'stream' must be a boolean");
		return (KORE_RESULT_ERROR);
	}
	px->stream = (m != NULL && m->type == JSON_TRUE && !px->count_tokens);
	so = json_scan_find(px->body, px->members, px->nmembers,
	    "stream_options");
	if (so != NULL && so->type != JSON_OBJECT && so->type != JSON_NULL) {
		proxy_error(px, 400, "invalid_request_error", "invalid_type",
		    "'stream_options' must be an object");
		return (KORE_RESULT_ERROR);
	}
	if (px->stream && so != NULL && so->type == JSON_OBJECT) {
		nsub = json_scan_object(px->body + so->value, so->value_len,
		    sub, 16, &sub_end);
		iu = nsub > 0 ? json_scan_find(px->body + so->value, sub, nsub,
		    "include_usage") : NULL;
		px->client_usage = (iu != NULL && iu->type == JSON_TRUE);
	}

	if (!router_client_allows(px->client, px->model, NULL)) {
		proxy_error(px, 403, "invalid_request_error",
		    "model_not_allowed", "this API key may not use model '%s'",
		    px->model);
		return (KORE_RESULT_ERROR);
	}

	now = store_now();
	px->npicks = router_plan(px->cfg, px->client, px->model, now,
	    plan, ROUTER_MAX, counters_next);
	if (px->npicks > 0) {
		px->picks = kore_calloc(px->npicks, sizeof(*px->picks));
		memcpy(px->picks, plan, px->npicks * sizeof(*px->picks));
	}

	/* Providers of the model exist, but none whose API has the path. */
	for (i = 0; i < px->npicks; i++) {
		if (proxy_serves(px, px->picks[i].provider))
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

	if (px->client->rpm_limit > 0 &&
	    (wait = counters_rpm_hit(px->client->id, px->client->rpm_limit,
	    &used)) > 0) {
		(void)snprintf(retry, sizeof(retry), "%" PRId64, wait);
		http_response_header(req, "retry-after", retry);
		proxy_error(px, 429, "requests", "rate_limit_exceeded",
		    "Rate limit reached: %" PRId64 " requests per minute; "
		    "retry in %" PRId64 " s", px->client->rpm_limit, wait);
		return (KORE_RESULT_ERROR);
	}

	if (px->client->token_quota > 0 &&
	    client_tokens(px->client) >= px->client->token_quota) {
		proxy_error(px, 429, "insufficient_quota", "insufficient_quota",
		    "You exceeded your token quota of %" PRId64 " tokens",
		    px->client->token_quota);
		return (KORE_RESULT_ERROR);
	}

	px->phase = PHASE_NEXT;
	return (KORE_RESULT_OK);
}

/* Start the next pick, or answer with the final error when none is left. */
static void
proxy_attempt(struct proxy *px)
{
	struct router_pick	*pk;
	struct kore_buf		 url;
	const char		*upstream_model;
	const void		*upload;
	char			 why[256];
	size_t			 upload_len;
	struct curl_blob	 blob;

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
		if (!proxy_serves(px, pk->provider)) {
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
		if (!router_key_usable(pk->key, store_now())) {
			proxy_trace(px, pk, "skipped", "skipped",
			    "the key failed earlier in this request", 0, 0);
			continue;
		}
		if (px->test_body == NULL && !health_claim(pk->key)) {
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

	px->status = 0;
	px->headers_done = 0;
	px->retry_after = -1;
	px->content_type[0] = '\0';
	px->timed_out = 0;
	px->aborted = 0;
	px->done_seen = 0;
	px->upstream_broke = 0;
	px->upstream_first = 0;
	px->abort_reason[0] = '\0';
	if (px->resp != NULL)
		kore_buf_reset(px->resp);
	else
		px->resp = kore_buf_alloc(1024);
	sse_free(&px->sse);
	sse_init(&px->sse);

	px->up_fmt = pk->provider->fmt;
	px->xlating = px->stream &&
	    (px->client_fmt != XF_OPENAI || px->up_fmt != XF_OPENAI);
	xlate_stream_free(&px->xs);
	if (px->xlating) {
		xlate_stream_init(&px->xs, px->up_fmt, px->client_fmt,
		    px->model, px->log.request_id, px->log.created_at);
		/* As from OpenAI: the usage chunk only when asked for. */
		px->xs.omit_usage = (px->client_fmt == XF_OPENAI &&
		    !px->client_usage);
	}

	if (proxy_upstream_request(px, upstream_model, why,
	    sizeof(why), &upload, &upload_len) == -1) {
		/* The client's request cannot be said in this API. */
		proxy_trace(px, pk, "tried", "client_error", why, 400, 0);
		proxy_error(px, 400, "invalid_request_error",
		    "invalid_request", "%s", why);
		return;
	}

	kore_buf_init(&url, 256);
	proxy_upstream_url(px, upstream_model, &url);

	if (!kore_curl_init(&px->curl, kore_buf_stringify(&url, NULL),
	    KORE_CURL_ASYNC)) {
		kore_buf_cleanup(&url);
		(void)kore_strlcpy(px->last_error, "cannot set up curl",
		    sizeof(px->last_error));
		px->phase = PHASE_NEXT;
		return;
	}
	kore_buf_cleanup(&url);
	px->curl_live = 1;

	/*
	 * The body goes from our buffer as it is (Kore's own setup would
	 * copy it once more), and with the headers in one send when small.
	 */
	kore_curl_http_setup(&px->curl, HTTP_METHOD_POST, NULL, 0);
	curl_easy_setopt(px->curl.handle, CURLOPT_POSTFIELDS, upload);
	curl_easy_setopt(px->curl.handle, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)upload_len);
	proxy_upstream_headers(px);

	curl_easy_setopt(px->curl.handle, CURLOPT_USERAGENT,
	    "llm-fusion-engine");
	curl_easy_setopt(px->curl.handle, CURLOPT_TIMEOUT, 0L);
	curl_easy_setopt(px->curl.handle, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)pk->provider->timeout_ms);
	curl_easy_setopt(px->curl.handle, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(px->curl.handle, CURLOPT_BUFFERSIZE,
	    (long)PROXY_CURL_BUFFER);
	curl_easy_setopt(px->curl.handle, CURLOPT_HEADERFUNCTION,
	    proxy_header_cb);
	curl_easy_setopt(px->curl.handle, CURLOPT_HEADERDATA, px);
	curl_easy_setopt(px->curl.handle, CURLOPT_WRITEFUNCTION,
	    proxy_write_cb);
	curl_easy_setopt(px->curl.handle, CURLOPT_WRITEDATA, px);
	curl_easy_setopt(px->curl.handle, CURLOPT_PROTOCOLS_STR, "http,https");

	if (!pk->provider->tls_verify) {
		curl_easy_setopt(px->curl.handle, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(px->curl.handle, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (pk->provider->ca_cert[0] != '\0') {
		blob.data = pk->provider->ca_cert;
		blob.len = strlen(pk->provider->ca_cert);
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(px->curl.handle, CURLOPT_CAINFO_BLOB, &blob);
	} else if (ca_bundle != NULL &&
	    strncasecmp(pk->provider->base_url, "https:", 6) == 0) {
		/*
		 * Only for TLS: libcurl copies the CA blob (200 KB) into
		 * every connection it makes, plain HTTP ones too, and keeps
		 * it while the connection idles in its cache.
		 */
		blob.data = ca_bundle;
		blob.len = ca_bundle_len;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(px->curl.handle, CURLOPT_CAINFO_BLOB, &blob);
	}

	px->attempt_start = kore_time_ms();
	px->last_activity = px->attempt_start;
	px->phase = PHASE_RUNNING;

	kore_curl_bind_request(&px->curl, px->req);
	kore_curl_run(&px->curl);
}

/* Status line and headers of the upstream's answer. */
static size_t
proxy_header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct proxy	*px = arg;
	size_t		 len, n;
	int		 err;
	long long	 v;
	char		 line[256];

	len = size * nmemb;
	px->last_activity = kore_time_ms();

	n = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
	memcpy(line, ptr, n);
	line[n] = '\0';
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		line[--n] = '\0';

	if (strncmp(line, "HTTP/", 5) == 0) {
		char	*sp = strchr(line, ' ');

		if (px->upstream_first == 0)
			px->upstream_first = px->last_activity;
		px->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		px->headers_done = 0;
		return (len);
	}

	if (n == 0) {
		/* 1xx answers are followed by the real one. */
		if (px->status >= 200)
			px->headers_done = 1;
		return (len);
	}

	if (strncasecmp(line, "content-type:", 13) == 0) {
		char	*v2 = line + 13;

		while (*v2 == ' ')
			v2++;
		(void)kore_strlcpy(px->content_type, v2,
		    sizeof(px->content_type));
		px->sse_active = (strncasecmp(v2, "text/event-stream",
		    17) == 0);
	} else if (strncasecmp(line, "retry-after:", 12) == 0) {
		v = kore_strtonum(line + 12 + strspn(line + 12, " "), 10, 0,
		    86400, &err);
		if (err == KORE_RESULT_OK)
			px->retry_after = v;
	}

	return (len);
}

/* Body bytes of the upstream's answer. */
static size_t
proxy_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct proxy	*px = arg;
	size_t		 len;

	len = size * nmemb;
	px->last_activity = kore_time_ms();

	if (px->req->owner == NULL) {
		px->aborted = 1;
		return (0);
	}

	if (px->status < 200 || px->status > 299) {
		if (px->resp->offset + len <= PROXY_ERRBODY_MAX)
			kore_buf_append(px->resp, ptr, len);
		return (len);
	}

	if (px->stream && px->sse_active) {
		if (!proxy_relay(px, ptr, len)) {
			px->aborted = 1;
			return (0);
		}
		return (len);
	}

	if (px->resp->offset + len > fusion_cfg.response_max) {
		(void)kore_strlcpy(px->abort_reason, "the upstream answer "
		    "exceeds the size limit", sizeof(px->abort_reason));
		px->aborted = 1;
		return (0);
	}
	kore_buf_append(px->resp, ptr, len);

	return (len);
}

/*
 * The message of an upstream error body ({"error":{"message":...}}),
 * with the upstream key masked wherever it appears.
 */
void
proxy_error_message(struct proxy *px, char *out, size_t outlen)
{
	struct json_member		 top[32], err[16];
	const struct json_member	*e, *m;
	size_t				 end, eend, klen;
	char				*hit, text[2048];
	int				 n, ne;

	out[0] = '\0';
	if (px->resp == NULL || px->resp->offset == 0)
		return;

	n = json_scan_object(px->resp->data, px->resp->offset, top, 32, &end);
	if (n > 0 && (e = json_scan_find(px->resp->data, top, n,
	    "error")) != NULL && e->type == JSON_OBJECT) {
		ne = json_scan_object(px->resp->data + e->value, e->value_len,
		    err, 16, &eend);
		if (ne > 0 && (m = json_scan_find(px->resp->data + e->value,
		    err, ne, "message")) != NULL &&
		    json_scan_string(px->resp->data + e->value, m, 0, text,
		    sizeof(text)) >= 0)
			(void)kore_strlcpy(out, text, outlen);
	}

	if (out[0] == '\0') {
		(void)snprintf(out, outlen, "%.*s",
		    (int)(px->resp->offset < 120 ? px->resp->offset : 120),
		    px->resp->data);
	}

	/* Never pass an upstream key on, even inside a message. */
	if (px->cur != NULL && px->cur->key != NULL) {
		klen = strlen(px->cur->key->secret);
		while (klen >= 8 && (hit = strstr(out, px->cur->key->secret)) !=
		    NULL) {
			memset(hit, '*', klen);
			memcpy(hit, px->cur->key->masked,
			    strlen(px->cur->key->masked) < klen ?
			    strlen(px->cur->key->masked) : klen);
		}
	}
}

/* Give the client the upstream's whole answer, status and body as sent. */
static void
proxy_pass_answer(struct proxy *px, const char *outcome)
{
	px->log.status = (int)px->status;
	http_response_header(px->req, "content-type",
	    px->content_type[0] ? px->content_type : "application/json");
	http_response_header(px->req, "x-fusion-request-id",
	    px->log.request_id);
	http_response(px->req, (int)px->status, px->resp->data,
	    px->resp->offset);
	px->phase = PHASE_DONE;
	proxy_finish(px, outcome);
}

/*
 * The attempt has ended (curl finished, or the watchdog stopped it).
 * Answer the client, or record the failure and let the next pick go.
 */
static void
proxy_settle(struct proxy *px)
{
	struct router_pick	*pk;
	CURLcode		 result;
	int64_t			 latency;
	char			 why[256], msg[200];
	int			 failover_key;

	pk = px->cur;
	result = px->curl.result;
	if (px->curl_live) {
		if (px->curl.handle == NULL && px->status == 0)
			px->status = px->curl.http.status;
		kore_curl_cleanup(&px->curl);
		px->curl_live = 0;
	}
	latency = (int64_t)(kore_time_ms() - px->attempt_start);
	if (px->status >= 400 && px->resp != NULL)
		px->status = xlate_error_status(px->up_fmt, (int)px->status,
		    px->resp->data, px->resp->offset);

	if (px->test_body != NULL) {
		provider_test_report(px, result, latency);
		return;
	}

	/* A stream already under way ends here, cleanly or with an error. */
	if (px->committed) {

		if (px->req->owner == NULL) {
			proxy_trace(px, pk, "tried", "cancelled",
			    "the client went away", 200, latency);
			px->phase = PHASE_DONE;
			proxy_finish(px, "cancelled");
			return;
		}

		if (px->done_seen && !px->timed_out && !px->aborted &&
		    result == CURLE_OK && proxy_stream_close(px)) {
			net_send_queue(px->req->owner, "0\r\n\r\n", 5);
			proxy_keepalive(px);
			health_success(pk->key);
			proxy_trace(px, pk, "tried", "ok", "", 200, latency);
			px->phase = PHASE_DONE;
			proxy_finish(px, "ok");
			return;
		}

		if (px->timed_out && px->abort_reason[0] == '\0')
			(void)snprintf(why, sizeof(why), "the upstream stream "
			    "stalled for more than %" PRId64 " ms",
			    pk->provider->timeout_ms);
		else if (px->abort_reason[0] != '\0')
			(void)kore_strlcpy(why, px->abort_reason, sizeof(why));
		else if (result != CURLE_OK)
			(void)snprintf(why, sizeof(why), "the upstream stream "
			    "broke: %s", curl_easy_strerror(result));
		else
			(void)kore_strlcpy(why, "the upstream stream ended "
			    "without [DONE]", sizeof(why));

		proxy_stream_error(px, why);

		if (px->abort_reason[0] == '\0' || px->timed_out ||
		    px->upstream_broke)
			health_failure(pk->key, 0, -1, why);
		proxy_trace(px, pk, "tried", "error", why, 200, latency);
		(void)kore_strlcpy(px->log.error, why, sizeof(px->log.error));
		px->phase = PHASE_DONE;
		proxy_finish(px, "error");
		return;
	}

	failover_key = 0;
	if (px->timed_out && px->abort_reason[0] != '\0') {
		(void)kore_strlcpy(why, px->abort_reason, sizeof(why));
		px->last_timeout = 1;
		px->last_status = 0;
	} else if (px->timed_out) {
		(void)snprintf(why, sizeof(why), "no answer within %" PRId64
		    " ms", pk->provider->timeout_ms);
		px->last_timeout = 1;
		px->last_status = 0;
	} else if (px->aborted) {
		(void)kore_strlcpy(why, px->abort_reason[0] ? px->abort_reason :
		    "the transfer was stopped", sizeof(why));
		px->last_timeout = 0;
		px->last_status = 0;
	} else if (result != CURLE_OK) {
		(void)snprintf(why, sizeof(why), "%s",
		    px->curl.errbuf[0] ? px->curl.errbuf :
		    curl_easy_strerror(result));
		px->last_timeout = (result == CURLE_OPERATION_TIMEDOUT);
		px->last_status = 0;
	} else if (px->status >= 200 && px->status <= 299 && px->stream &&
	    px->sse_active) {
		/* Every event was held back, or there were none. */
		(void)kore_strlcpy(why, "the upstream stream ended before its "
		    "first event", sizeof(why));
		px->last_timeout = 0;
		px->last_status = 0;
	} else if (px->status >= 200 && px->status <= 299 &&
	    !proxy_answer(px)) {
		(void)snprintf(why, sizeof(why), "the upstream's answer is not "
		    "a valid %s answer", xlate_format_name(px->up_fmt));
		px->last_timeout = 0;
		px->last_status = 0;
	} else if (px->status >= 200 && px->status <= 299) {
		/* Success: the whole answer is here. */
		health_success(pk->key);
		proxy_trace(px, pk, "tried", "ok", "", (int)px->status, latency);
		px->first_byte = px->upstream_first;
		proxy_pass_answer(px, "ok");
		return;
	} else if (px->status == 400 || px->status == 404 ||
	    px->status == 413 || px->status == 422 ||
	    (px->status >= 405 && px->status < 500 && px->status != 408 &&
	    px->status != 429)) {
		/* The client's mistake: passed on, no failover. */
		proxy_error_message(px, msg, sizeof(msg));
		proxy_answer_error(px);
		proxy_trace(px, pk, "tried", "client_error", msg,
		    (int)px->status, latency);
		(void)kore_strlcpy(px->log.error, msg, sizeof(px->log.error));
		proxy_pass_answer(px, "error");
		return;
	} else {
		proxy_error_message(px, msg, sizeof(msg));
		(void)snprintf(why, sizeof(why), "upstream answered %ld: %s",
		    px->status, msg);
		px->last_status = (int)px->status;
		px->last_timeout = 0;
		failover_key = (px->status == 401 || px->status == 403 ||
		    px->status == 429);
	}

	px->last_retry_after = px->retry_after;
	(void)snprintf(px->last_error, sizeof(px->last_error),
	    "provider '%s' (key %s): %s", pk->provider->name, pk->key->masked,
	    why);
	if (px->aborted && px->req->owner == NULL) {
		proxy_trace(px, pk, "tried", "cancelled", "the client went away",
		    0, latency);
		px->phase = PHASE_DONE;
		proxy_finish(px, "cancelled");
		return;
	}

	health_failure(pk->key, px->last_status, px->retry_after,
	    failover_key ? msg : why);
	proxy_trace(px, pk, "tried", "error", why, px->last_status, latency);
	if (!failover_key)
		px->skip_provider = pk->provider->id;
	px->phase = PHASE_NEXT;
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
 * The worker is stopping and the grace period is over: end what is still
 * in flight with an explicit error (an error event in a stream that has
 * begun, 503 otherwise), stop the upstream transfers and log them.
 */
void
proxy_shutdown(void)
{
	struct proxy		*px;
	struct connection	*c;
	const char		*why = "the gateway is shutting down";

	LIST_FOREACH(px, &inflight, list) {
		if (px->phase == PHASE_DONE || px->logged)
			continue;
		if (px->curl_live) {
			kore_curl_cleanup(&px->curl);
			px->curl_live = 0;
		}
		if ((c = px->req->owner) == NULL) {
			proxy_finish(px, "cancelled");
			continue;
		}
		if (px->committed) {
			proxy_stream_error(px, why);
		} else {
			proxy_error_reply(px, 503, "server_error",
			    "shutting_down", "the gateway is shutting down; "
			    "retry the request");
		}
		(void)net_send_flush(c);
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
		http_request_wakeup(px->req);
	}
}

static void
proxy_onfree(struct http_request *req)
{
	struct proxy	*px = http_state_get(req);

	if (px->curl_live) {
		kore_curl_cleanup(&px->curl);
		px->curl_live = 0;
	}

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

	LIST_REMOVE(px, list);
	sse_free(&px->sse);
	xlate_stream_free(&px->xs);
	if (px->xout != NULL)
		kore_buf_free(px->xout);
	if (px->test_body != NULL)
		kore_buf_free(px->test_body);
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

/*
 * Drive a request through its phases: begin() once, then attempts until
 * it is answered. The handler of every /v1 path and of provider tests.
 */
int
proxy_run(struct http_request *req,
    int (*begin)(struct http_request *, struct proxy *))
{
	struct proxy	*px;

	if (watchdog == NULL) {
		watchdog = kore_timer_add(proxy_watchdog, PROXY_WATCHDOG_MS,
		    NULL, 0);
	}

	if (!http_state_exists(req)) {
		px = http_state_create(req, sizeof(*px), proxy_onfree);
		sse_init(&px->sse);
		LIST_INSERT_HEAD(&inflight, px, list);
		if (begin(req, px) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
	} else {
		px = http_state_get(req);
		if (px->phase == PHASE_RUNNING) {
			/* Still running: a spurious wake-up. */
			if (px->curl_live && px->curl.handle != NULL)
				return (KORE_RESULT_RETRY);
			proxy_settle(px);
		}
	}

	while (px->phase == PHASE_NEXT)
		proxy_attempt(px);

	return (px->phase == PHASE_RUNNING ? KORE_RESULT_RETRY :
	    KORE_RESULT_OK);
}

int
proxy_v1(struct http_request *req)
{
	return (proxy_run(req, proxy_begin));
}
