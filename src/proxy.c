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

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "fusion.h"
#include "gateway.h"
#include "json_scan.h"
#include "sse.h"

#define PROXY_MEMBERS_MAX	256
#define PROXY_RESP_MAX		(64 * 1024 * 1024)
#define PROXY_ERRBODY_MAX	(64 * 1024)
#define PROXY_WATCHDOG_MS	50

#define PHASE_NEXT		1	/* pick the next candidate */
#define PHASE_RUNNING		2	/* an upstream transfer is under way */
#define PHASE_DONE		3	/* the client has its answer */

int	proxy_v1(struct http_request *);
int	admin_provider_test(struct http_request *);

struct proxy {
	struct http_request	*req;
	struct cfg		*cfg;
	struct cfg_client	*client;
	int			 phase;
	struct kore_buf		*test_body;	/* provider test, no client */

	/* The client's request. */
	char			 model[256];
	const char		*path;		/* after /v1 */
	const u_int8_t		*body;
	size_t			 body_len;
	struct json_member	 members[PROXY_MEMBERS_MAX];
	int			 nmembers;
	size_t			 obj_end;
	int			 stream;
	int			 client_usage;

	/* The plan. */
	struct router_pick	 picks[ROUTER_MAX];
	int			 npicks;
	int			 next;
	struct router_pick	*cur;
	int64_t			 skip_provider;
	int			 attempts;
	int			 tried;

	/* The current attempt. */
	struct kore_curl	 curl;
	int			 curl_live;
	int			 timed_out;
	struct kore_buf		*upbody;
	long			 status;
	int			 headers_done;
	int64_t			 retry_after;
	char			 content_type[128];
	struct kore_buf		*resp;
	struct sse_parser	 sse;
	int			 sse_active;
	int			 committed;
	int			 done_seen;
	int			 aborted;	/* we stopped the transfer */
	char			 abort_reason[128];
	u_int64_t		 attempt_start;
	u_int64_t		 last_activity;
	u_int64_t		 upstream_first;

	/* What happened, for the answer and the log. */
	u_int64_t		 start;
	u_int64_t		 first_byte;
	int			 last_status;
	int			 last_timeout;
	int64_t			 last_retry_after;
	char			 last_error[512];
	int64_t			 prompt_tokens;
	int64_t			 completion_tokens;
	struct kore_buf		*trace;
	struct log_entry	 log;
	int			 logged;

	LIST_ENTRY(proxy)	 list;
};

static LIST_HEAD(, proxy)	inflight = LIST_HEAD_INITIALIZER(inflight);
static struct kore_timer	*watchdog = NULL;
static char			*ca_bundle = NULL;
static size_t			 ca_bundle_len = 0;

static int	proxy_begin(struct http_request *, struct proxy *);
static void	proxy_attempt(struct proxy *);
static void	proxy_settle(struct proxy *);
static void	proxy_fail_final(struct proxy *);
static void	proxy_error(struct proxy *, int, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 5, 6)));
static void	proxy_finish(struct proxy *, const char *);
static void	proxy_onfree(struct http_request *);
static void	proxy_models(struct proxy *);
static void	proxy_trace(struct proxy *, const struct router_pick *,
		    const char *, const char *, const char *, int, int64_t);
static void	proxy_upstream_body(struct proxy *, const char *);
static void	proxy_commit(struct proxy *);
static void	proxy_keepalive(struct proxy *);
static void	proxy_stream_error(struct proxy *, const char *);
static void	proxy_pass_answer(struct proxy *, const char *);
static int	proxy_relay(struct proxy *, const char *, size_t);
static void	proxy_usage(struct proxy *, const void *, size_t);
static void	proxy_error_message(struct proxy *, char *, size_t);
static void	proxy_watchdog(void *, u_int64_t);
static size_t	proxy_header_cb(char *, size_t, size_t, void *);
static size_t	proxy_write_cb(char *, size_t, size_t, void *);
static int	client_authenticate(struct proxy *);
static int	proxy_run(struct http_request *,
		    int (*)(struct http_request *, struct proxy *));
static int	provider_test_begin(struct http_request *, struct proxy *);
static void	provider_test_report(struct proxy *, CURLcode, int64_t);
static void	request_id(char *, size_t);
static int	empty_array(const char *, size_t);

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

/* "[]", possibly with white space inside. */
static int
empty_array(const char *p, size_t len)
{
	size_t	i;

	for (i = 1; i + 1 < len; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return (0);
	}
	return (len >= 2);
}

static void
request_id(char *out, size_t len)
{
	u_int8_t	raw[8];

	randombytes_buf(raw, sizeof(raw));
	(void)kore_strlcpy(out, "req_", len);
	(void)sodium_bin2hex(out + 4, len - 4, raw, sizeof(raw));
}

/* An error answer in OpenAI's shape, recorded for the log. */
static void
proxy_error(struct proxy *px, int status, const char *type, const char *code,
    const char *fmt, ...)
{
	va_list		args;
	char		msg[512];

	va_start(args, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);

	px->log.status = status;
	(void)kore_strlcpy(px->log.error, msg, sizeof(px->log.error));
	http_response_header(px->req, "x-fusion-request-id",
	    px->log.request_id);
	api_error(px->req, status, type, code, "%s", msg);
	px->phase = PHASE_DONE;
	proxy_finish(px, "error");
}

/*
 * Write the log entry of this request, exactly once. outcome is "ok",
 * "error" or "cancelled".
 */
static void
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

/*
 * Find the client key of the request (Authorization: Bearer, or
 * x-api-key) and check it. Replies itself and returns KORE_RESULT_ERROR.
 */
static int
client_authenticate(struct proxy *px)
{
	const char	*hdr;
	char		 hash[SECRET_HASH_HEX];
	int64_t		 now;

	if (http_request_header(px->req, "authorization", &hdr)) {
		if (strncasecmp(hdr, "Bearer ", 7) != 0)
			hdr = "";
		else
			hdr += 7;
	} else if (!http_request_header(px->req, "x-api-key", &hdr)) {
		hdr = "";
	}

	while (*hdr == ' ')
		hdr++;

	if (*hdr == '\0') {
		proxy_error(px, 401, "invalid_request_error", "invalid_api_key",
		    "You didn't provide an API key: send it in "
		    "'Authorization: Bearer <key>'");
		return (KORE_RESULT_ERROR);
	}

	secrets_hash(hdr, hash);
	if ((px->client = config_client(px->cfg, hash)) == NULL) {
		proxy_error(px, 401, "invalid_request_error", "invalid_api_key",
		    "Incorrect API key provided");
		return (KORE_RESULT_ERROR);
	}

	if (!px->client->enabled) {
		proxy_error(px, 401, "invalid_request_error",
		    "api_key_disabled", "This API key has been disabled");
		return (KORE_RESULT_ERROR);
	}

	now = store_now();
	if (px->client->expires_at > 0 && px->client->expires_at <= now) {
		proxy_error(px, 401, "invalid_request_error",
		    "api_key_expired", "This API key has expired");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/* GET /v1/models: what this client key may ask for. */
static void
proxy_models(struct proxy *px)
{
	struct kore_buf		*buf;
	struct cfg_provider	*p;
	const char		*name;
	char			**seen;
	size_t			 i, j, k, nseen, total;
	int			 first;

	total = 0;
	for (i = 0; i < px->cfg->nproviders; i++)
		total += px->cfg->providers[i].nmodels +
		    px->cfg->providers[i].naliases;
	seen = kore_calloc(total + 1, sizeof(char *));
	nseen = 0;

	buf = kore_buf_alloc(1024);
	kore_buf_appendf(buf, "{\"object\":\"list\",\"data\":[");
	first = 1;
	for (i = 0; i < px->cfg->nproviders; i++) {
		p = &px->cfg->providers[i];
		if (!p->enabled || !p->group->enabled ||
		    !router_client_allows(px->client, NULL, p->group))
			continue;
		for (j = 0; j < p->nmodels + p->naliases; j++) {
			name = j < p->nmodels ? p->models[j] :
			    p->alias_from[j - p->nmodels];
			if (!router_client_allows(px->client, name, NULL))
				continue;
			for (k = 0; k < nseen; k++) {
				if (strcmp(seen[k], name) == 0)
					break;
			}
			if (k < nseen)
				continue;
			seen[nseen++] = (char *)(uintptr_t)name;
			kore_buf_appendf(buf, first ? "{" : ",{");
			first = 0;
			json_kv_str(buf, "id", name, 1);
			json_kv_str(buf, "object", "model", 0);
			json_kv_int(buf, "created", 0, 0);
			json_kv_str(buf, "owned_by", p->group->name, 0);
			kore_buf_appendf(buf, "}");
		}
	}
	kore_buf_appendf(buf, "]}");
	kore_free(seen);

	px->log.status = 200;
	http_response_header(px->req, "x-fusion-request-id",
	    px->log.request_id);
	api_reply(px->req, 200, buf);
	px->phase = PHASE_DONE;
	proxy_finish(px, "ok");
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

	if ((px->cfg = config_acquire()) == NULL) {
		proxy_error(px, 500, "server_error", "database_error",
		    "the gateway cannot read its configuration");
		return (KORE_RESULT_ERROR);
	}

	if (client_authenticate(px) != KORE_RESULT_OK)
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
	px->nmembers = json_scan_object(px->body, px->body_len, px->members,
	    PROXY_MEMBERS_MAX, &px->obj_end);
	if (px->nmembers < 0) {
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

	m = json_scan_find(px->body, px->members, px->nmembers, "stream");
	px->stream = (m != NULL && m->type == JSON_TRUE);
	so = json_scan_find(px->body, px->members, px->nmembers,
	    "stream_options");
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
	    px->picks, ROUTER_MAX, counters_next);

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
	    px->client->tokens_used >= px->client->token_quota) {
		proxy_error(px, 429, "insufficient_quota", "insufficient_quota",
		    "You exceeded your token quota of %" PRId64 " tokens",
		    px->client->token_quota);
		return (KORE_RESULT_ERROR);
	}

	px->phase = PHASE_NEXT;
	return (KORE_RESULT_OK);
}

/*
 * The body for provider p: the client's bytes with "model" set to the
 * upstream name and, for streams, stream_options.include_usage true.
 */
static void
proxy_upstream_body(struct proxy *px, const char *upstream_model)
{
	const struct json_member	*m, *so;
	struct json_member		 sub[16];
	size_t				 sub_end, pos;
	int				 nsub, i;

	if (px->upbody == NULL)
		px->upbody = kore_buf_alloc(px->body_len + 64);
	kore_buf_reset(px->upbody);

	m = json_scan_find(px->body, px->members, px->nmembers, "model");
	so = px->stream ? json_scan_find(px->body, px->members, px->nmembers,
	    "stream_options") : NULL;

	pos = 0;
	for (i = 0; i < px->nmembers; i++) {
		if (&px->members[i] != m && &px->members[i] != so)
			continue;
		kore_buf_append(px->upbody, px->body + pos,
		    px->members[i].value - pos);
		if (&px->members[i] == m) {
			json_str(px->upbody, upstream_model);
		} else {
			/* Keep the client's other stream options. */
			kore_buf_appendf(px->upbody, "{");
			nsub = so->type == JSON_OBJECT ?
			    json_scan_object(px->body + so->value,
			    so->value_len, sub, 16, &sub_end) : 0;
			for (int j = 0; j < nsub; j++) {
				char	key[64];

				if (json_scan_string(px->body + so->value,
				    &sub[j], 1, key, sizeof(key)) >= 0 &&
				    strcmp(key, "include_usage") == 0)
					continue;
				kore_buf_append(px->upbody, px->body +
				    so->value + sub[j].key, sub[j].value +
				    sub[j].value_len - sub[j].key);
				kore_buf_appendf(px->upbody, ",");
			}
			kore_buf_appendf(px->upbody, "\"include_usage\":true}");
		}
		pos = px->members[i].value + px->members[i].value_len;
	}

	kore_buf_append(px->upbody, px->body + pos, px->obj_end - pos);
	if (px->stream && so == NULL) {
		kore_buf_appendf(px->upbody, "%s\"stream_options\":"
		    "{\"include_usage\":true}", px->nmembers > 0 ? "," : "");
	}
	kore_buf_append(px->upbody, px->body + px->obj_end,
	    px->body_len - px->obj_end);
}

/* Start the next pick, or answer with the final error when none is left. */
static void
proxy_attempt(struct proxy *px)
{
	struct router_pick	*pk;
	struct kore_buf		 url;
	const char		*upstream_model, *hdr;
	char			 auth[4200];
	size_t			 blen;
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
	px->upstream_first = 0;
	px->abort_reason[0] = '\0';
	if (px->resp != NULL)
		kore_buf_reset(px->resp);
	else
		px->resp = kore_buf_alloc(4096);
	sse_free(&px->sse);
	sse_init(&px->sse);

	proxy_upstream_body(px, upstream_model);

	kore_buf_init(&url, 256);
	blen = strlen(pk->provider->base_url);
	while (blen > 0 && pk->provider->base_url[blen - 1] == '/')
		blen--;
	kore_buf_append(&url, pk->provider->base_url, blen);
	kore_buf_appendf(&url, "%s", px->path);
	if (px->req->query_string != NULL && *px->req->query_string != '\0')
		kore_buf_appendf(&url, "?%s", px->req->query_string);

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

	kore_curl_http_setup(&px->curl, HTTP_METHOD_POST, px->upbody->data,
	    px->upbody->offset);
	(void)snprintf(auth, sizeof(auth), "Bearer %s", pk->key->secret);
	kore_curl_http_set_header(&px->curl, "authorization", auth);
	sodium_memzero(auth, sizeof(auth));
	kore_curl_http_set_header(&px->curl, "content-type",
	    "application/json");
	if (http_request_header(px->req, "openai-beta", &hdr))
		kore_curl_http_set_header(&px->curl, "openai-beta", hdr);
	kore_curl_http_set_header(&px->curl, "accept", px->stream ?
	    "text/event-stream" : "application/json");

	curl_easy_setopt(px->curl.handle, CURLOPT_USERAGENT,
	    "llm-fusion-engine");
	curl_easy_setopt(px->curl.handle, CURLOPT_TIMEOUT, 0L);
	curl_easy_setopt(px->curl.handle, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)pk->provider->timeout_ms);
	curl_easy_setopt(px->curl.handle, CURLOPT_TCP_NODELAY, 1L);
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
	} else if (ca_bundle != NULL) {
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

/*
 * Send the head of a streamed answer: from here on the client has bytes
 * and no other candidate may be tried.
 */
static void
proxy_commit(struct proxy *px)
{
	struct kore_buf		head;

	kore_buf_init(&head, 256);
	kore_buf_appendf(&head, "HTTP/1.1 200 OK\r\n"
	    "server: fusion\r\n"
	    "content-type: text/event-stream; charset=utf-8\r\n"
	    "cache-control: no-cache\r\n"
	    "transfer-encoding: chunked\r\n"
	    "connection: keep-alive\r\n"
	    "x-fusion-request-id: %s\r\n\r\n", px->log.request_id);
	net_send_queue(px->req->owner, head.data, head.offset);
	kore_buf_cleanup(&head);

	px->committed = 1;
	px->first_byte = kore_time_ms();
	px->log.status = 200;
	px->req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
}

/*
 * After the last chunk: read the connection's next request, as
 * http_response() does for answers it writes itself.
 */
static void
proxy_keepalive(struct proxy *px)
{
	struct connection	*c = px->req->owner;

	if (!(c->flags & CONN_CLOSE_EMPTY) && !(c->flags & CONN_IS_BUSY))
		http_start_recv(c);
}

/*
 * End a stream that has begun with an explicit error event and the last
 * chunk: never a clean [DONE] after a failure.
 */
static void
proxy_stream_error(struct proxy *px, const char *why)
{
	struct kore_buf	ev;
	char		size[24];

	kore_buf_init(&ev, 256);
	kore_buf_appendf(&ev, "data: {\"error\":{");
	json_kv_str(&ev, "message", why, 1);
	json_kv_str(&ev, "type", "upstream_error", 0);
	json_kv_str(&ev, "code", "stream_interrupted", 0);
	kore_buf_appendf(&ev, "}}\n\n");
	(void)snprintf(size, sizeof(size), "%zx\r\n", ev.offset);
	net_send_queue(px->req->owner, size, strlen(size));
	net_send_queue(px->req->owner, ev.data, ev.offset);
	net_send_queue(px->req->owner, "\r\n0\r\n\r\n", 7);
	kore_buf_cleanup(&ev);
	proxy_keepalive(px);
}

/* Token counts from a JSON object holding "usage". */
static void
proxy_usage(struct proxy *px, const void *data, size_t len)
{
	struct json_member		 top[64], u[16];
	const struct json_member	*m, *t;
	size_t				 end, uend;
	int				 n, nu;
	long long			 v;

	if ((n = json_scan_object(data, len, top, 64, &end)) <= 0)
		return;
	if ((m = json_scan_find(data, top, n, "usage")) == NULL ||
	    m->type != JSON_OBJECT)
		return;
	nu = json_scan_object((const u_int8_t *)data + m->value, m->value_len,
	    u, 16, &uend);
	if (nu <= 0)
		return;
	if ((t = json_scan_find((const u_int8_t *)data + m->value, u, nu,
	    "prompt_tokens")) != NULL &&
	    (v = json_scan_uint((const u_int8_t *)data + m->value, t)) >= 0)
		px->prompt_tokens = v;
	if ((t = json_scan_find((const u_int8_t *)data + m->value, u, nu,
	    "completion_tokens")) != NULL &&
	    (v = json_scan_uint((const u_int8_t *)data + m->value, t)) >= 0)
		px->completion_tokens = v;
}

/*
 * Relay complete events to the client. Returns 0 when the client is gone
 * or too slow (the transfer must stop), 1 otherwise.
 */
static int
proxy_relay(struct proxy *px, const char *data, size_t len)
{
	struct sse_event		 ev;
	struct json_member		 top[64];
	const struct json_member	*ch;
	struct netbuf			*nb;
	struct connection		*c;
	size_t				 end, queued;
	int				 n, drop;
	char				 size[24];

	if (sse_feed(&px->sse, data, len) == -1) {
		(void)kore_strlcpy(px->abort_reason, "an upstream event "
		    "exceeds the size limit", sizeof(px->abort_reason));
		return (0);
	}

	while (sse_next(&px->sse, &ev)) {
		drop = 0;
		if (ev.done) {
			px->done_seen = 1;
		} else if (ev.has_data) {
			n = json_scan_object(ev.data, ev.data_len, top, 64,
			    &end);
			if (n > 0 && json_scan_find(ev.data, top, n,
			    "usage") != NULL) {
				proxy_usage(px, ev.data, ev.data_len);
				ch = json_scan_find(ev.data, top, n, "choices");
				/* The usage chunk we asked for ourselves. */
				if (!px->client_usage && ch != NULL &&
				    ch->type == JSON_ARRAY &&
				    empty_array(ev.data + ch->value, ch->value_len))
					drop = 1;
			}
		}

		if (drop)
			continue;
		if (!px->committed)
			proxy_commit(px);

		c = px->req->owner;
		(void)snprintf(size, sizeof(size), "%zx\r\n", ev.raw_len);
		net_send_queue(c, size, strlen(size));
		net_send_queue(c, ev.raw, ev.raw_len);
		net_send_queue(c, "\r\n", 2);
	}

	if (!px->committed)
		return (1);

	c = px->req->owner;
	if (net_send_flush(c) == KORE_RESULT_ERROR) {
		(void)kore_strlcpy(px->abort_reason, "the client went away",
		    sizeof(px->abort_reason));
		return (0);
	}

	/* A client that does not read must not make us buffer forever. */
	queued = 0;
	TAILQ_FOREACH(nb, &c->send_queue, list)
		queued += nb->b_len - nb->s_off;
	if (queued > fusion_cfg.stream_buffer_max) {
		(void)kore_strlcpy(px->abort_reason, "the client does not "
		    "read the stream", sizeof(px->abort_reason));
		return (0);
	}

	return (1);
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

	if (px->resp->offset + len > PROXY_RESP_MAX) {
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
static void
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
		    result == CURLE_OK) {
			net_send_queue(px->req->owner, "0\r\n\r\n", 5);
			proxy_keepalive(px);
			health_success(pk->key);
			proxy_trace(px, pk, "tried", "ok", "", 200, latency);
			px->phase = PHASE_DONE;
			proxy_finish(px, "ok");
			return;
		}

		if (px->timed_out)
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

		if (px->abort_reason[0] == '\0' || px->timed_out)
			health_failure(pk->key, 0, -1, why);
		proxy_trace(px, pk, "tried", "error", why, 200, latency);
		(void)kore_strlcpy(px->log.error, why, sizeof(px->log.error));
		px->phase = PHASE_DONE;
		proxy_finish(px, "error");
		return;
	}

	failover_key = 0;
	if (px->timed_out) {
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
	} else if (px->status >= 200 && px->status <= 299) {
		/* Success: the whole answer is here. */
		proxy_usage(px, px->resp->data, px->resp->offset);
		health_success(pk->key);
		proxy_trace(px, pk, "tried", "ok", "", (int)px->status, latency);
		px->first_byte = px->upstream_first;
		proxy_pass_answer(px, "ok");
		return;
	} else if (px->status == 400 || px->status == 404 ||
	    px->status == 413 || px->status == 422 ||
	    (px->status >= 405 && px->status < 500 && px->status != 408 &&
	    px->status != 429)) {
		/* The client's mistake: passed on as it is, no failover. */
		proxy_error_message(px, msg, sizeof(msg));
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
			http_response_header(px->req, "x-fusion-request-id",
			    px->log.request_id);
			api_error(px->req, 503, "server_error", "shutting_down",
			    "%s; retry the request", why);
			px->log.status = 503;
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
		px->status = px->status ? px->status : 0;
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
}

/*
 * Drive a request through its phases: begin() once, then attempts until
 * it is answered. The handler of every /v1 path and of provider tests.
 */
static int
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

/*
 * POST /api/admin/providers/:id/test {"model": optional}: one small chat
 * request through that provider with one of its keys, answered as
 * {"ok","status","latency_ms","model","message"}. Key health and the
 * request log are left alone: this is an operator's probe.
 */
static int
provider_test_begin(struct http_request *req, struct proxy *px)
{
	struct admin_user	 user;
	struct api_body		 body;
	struct cfg_provider	*p;
	struct cfg_key		*k;
	char			*model;
	int64_t			 id;
	size_t			 i;

	px->req = req;
	px->start = kore_time_ms();
	px->trace = kore_buf_alloc(64);
	px->test_body = kore_buf_alloc(256);
	px->phase = PHASE_DONE;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
	if (req->method != HTTP_METHOD_POST) {
		api_error(req, 405, "invalid_request_error",
		    "method_not_allowed", "use POST");
		return (KORE_RESULT_ERROR);
	}
	if (sscanf(req->path, "/api/admin/providers/%" SCNd64 "/test",
	    &id) != 1) {
		api_error(req, 404, "invalid_request_error", "not_found",
		    "no such provider");
		return (KORE_RESULT_ERROR);
	}

	model = NULL;
	memset(&body, 0, sizeof(body));
	if (req->content_length > 0) {
		if (api_body_parse(req, &body) != KORE_RESULT_OK)
			return (KORE_RESULT_ERROR);
		if (api_get_string(req, &body, "model", 0, &model) < 0) {
			api_body_cleanup(&body);
			return (KORE_RESULT_ERROR);
		}
	}

	if ((px->cfg = config_acquire()) == NULL) {
		api_body_cleanup(&body);
		api_db_error(req);
		return (KORE_RESULT_ERROR);
	}

	for (p = NULL, i = 0; i < px->cfg->nproviders; i++) {
		if (px->cfg->providers[i].id == id)
			p = &px->cfg->providers[i];
	}
	if (p == NULL) {
		api_body_cleanup(&body);
		api_error(req, 404, "invalid_request_error", "not_found",
		    "no provider with id %" PRId64, id);
		return (KORE_RESULT_ERROR);
	}

	if (model == NULL && p->nmodels > 0)
		model = p->models[0];
	if (model == NULL && p->naliases > 0)
		model = p->alias_from[0];
	if (model == NULL || *model == '\0') {
		api_body_cleanup(&body);
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "the provider lists no model: give one in field 'model'");
		return (KORE_RESULT_ERROR);
	}
	(void)kore_strlcpy(px->model, model, sizeof(px->model));
	api_body_cleanup(&body);

	/* A usable key if there is one, else any enabled key. */
	for (k = NULL, i = 0; i < p->nkeys; i++) {
		if (router_key_usable(p->keys[i], store_now())) {
			k = p->keys[i];
			break;
		}
		if (k == NULL && p->keys[i]->enabled)
			k = p->keys[i];
	}
	if (k == NULL) {
		api_error(req, 400, "invalid_request_error", "no_keys",
		    "the provider has no enabled key to test with");
		return (KORE_RESULT_ERROR);
	}

	kore_buf_appendf(px->test_body, "{\"model\":");
	json_str(px->test_body, px->model);
	kore_buf_appendf(px->test_body, ",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"ping\"}],\"max_tokens\":1}");
	px->body = px->test_body->data;
	px->body_len = px->test_body->offset;
	px->nmembers = json_scan_object(px->body, px->body_len, px->members,
	    PROXY_MEMBERS_MAX, &px->obj_end);
	px->path = "/chat/completions";

	px->picks[0].provider = p;
	px->picks[0].key = k;
	px->npicks = 1;
	px->phase = PHASE_NEXT;

	return (KORE_RESULT_OK);
}

static void
provider_test_report(struct proxy *px, CURLcode result, int64_t latency)
{
	struct kore_buf	*buf;
	char		 msg[256];
	int		 ok;

	ok = (!px->timed_out && !px->aborted && result == CURLE_OK &&
	    px->status >= 200 && px->status <= 299);

	if (ok)
		(void)snprintf(msg, sizeof(msg), "the provider answered %ld "
		    "with key %s", px->status, px->cur->key->masked);
	else if (px->timed_out)
		(void)snprintf(msg, sizeof(msg), "no answer within %" PRId64
		    " ms", px->cur->provider->timeout_ms);
	else if (result != CURLE_OK)
		(void)snprintf(msg, sizeof(msg), "%s", px->curl.errbuf[0] ?
		    px->curl.errbuf : curl_easy_strerror(result));
	else
		proxy_error_message(px, msg, sizeof(msg));

	buf = kore_buf_alloc(256);
	kore_buf_appendf(buf, "{");
	json_kv_bool(buf, "ok", ok, 1);
	json_kv_int(buf, "status", result == CURLE_OK ? px->status : 0, 0);
	json_kv_int(buf, "latency_ms", latency, 0);
	json_kv_str(buf, "model", px->model, 0);
	json_kv_str(buf, "message", msg, 0);
	kore_buf_appendf(buf, "}");
	api_reply(px->req, 200, buf);
	px->phase = PHASE_DONE;
}

int
admin_provider_test(struct http_request *req)
{
	return (proxy_run(req, provider_test_begin));
}
