/*
 * OpenTelemetry traces. With OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set, every /v1 request becomes a
 * server span and each of its upstream attempts a client span under it,
 * with the GenAI semantic conventions' attributes. An incoming
 * traceparent is honoured (the request joins that trace, and its
 * sampled flag decides whether it is exported); every upstream attempt
 * carries a traceparent naming its own span, and the caller's tracestate
 * when it sent a valid one. Without an endpoint an incoming traceparent
 * is still passed on to the upstreams unchanged.
 *
 * Spans are written as OTLP/HTTP JSON into batches in the worker and
 * posted to the collector by a Kore task thread with its own curl
 * handle, so that the event loop never waits for a collector. The queue
 * is bounded (OTEL_BSP_MAX_QUEUE_SIZE spans per worker): a collector
 * that is down or slow costs spans, counted as dropped, and nothing else.
 */

#include <kore/kore.h>
#include <kore/tasks.h>

#include <sys/socket.h>

#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "dataplane/dataplane.h"

#define OTEL_KIND_SERVER	2
#define OTEL_KIND_CLIENT	3
#define OTEL_STATUS_OK		1
#define OTEL_STATUS_ERROR	2

#define OTEL_OP_SEND		1
#define OTEL_OP_STOP		2

#define OTEL_STOP_WAIT_MS	1000

struct otel_ctx {
	u_int8_t	trace_id[16];
	u_int8_t	span_id[8];
	u_int8_t	parent_id[8];	/* the caller's span */
	u_int8_t	attempt_id[8];
	u_int8_t	flags;		/* W3C trace flags */
	int		has_parent;
	int		attempt_open;
	int64_t		start_ns;
	int64_t		attempt_ns;
	char		*tracestate;	/* the caller's, passed on, or NULL */
};

struct otel_batch {
	struct kore_buf		*buf;	/* OTLP JSON, spans comma-separated */
	size_t			 n;
	int			 ok;	/* the collector took it */
	struct otel_batch	*next;
};

struct otel_msg {
	int			 op;
	struct otel_batch	*batch;
};

/* Settings, read by the parent. */
static char			*endpoint = NULL;
static char			*resource_json = NULL;	/* a resource object */
static struct curl_slist	*headers = NULL;
static char			*ca = NULL;
static size_t			 ca_len = 0;
static u_int32_t		 timeout_ms = 10000;
static u_int32_t		 delay_ms = 5000;
static u_int32_t		 queue_max = 2048;
static u_int32_t		 batch_max = 512;

/* The worker's queue: full batches in order, then the one filling. */
static struct otel_batch	*ready_first = NULL;
static struct otel_batch	**ready_last = &ready_first;
static struct otel_batch	*filling = NULL;
static size_t			 queued = 0;
static int			 last_ok = 1;
static struct kore_task		 exporter;
static int			 exporter_live = 0;
static int			 exporter_busy = 0;

static void	otel_env_list(const char *, void (*)(const char *,
		    const char *, void *), void *);
static void	otel_service_pick(const char *, const char *, void *);
static void	otel_resource_add(const char *, const char *, void *);
static void	otel_header_add(const char *, const char *, void *);
static void	otel_random(u_int8_t *, size_t);
static int64_t	otel_now_ns(void);
static void	otel_hex(struct kore_buf *, const char *, const u_int8_t *,
		    size_t);
static void	otel_attr_str(struct kore_buf *, int *, const char *,
		    const char *);
static void	otel_attr_int(struct kore_buf *, int *, const char *,
		    int64_t);
static const char	*otel_operation(const char *);
static const char	*otel_provider_system(int);
static void	otel_span_open(struct kore_buf *, struct otel_ctx *,
		    const u_int8_t *, const u_int8_t *, const char *, int,
		    int64_t);
static void	otel_span_close(struct kore_buf *, int, const char *);
static void	otel_enqueue(struct kore_buf *);
static void	otel_tick(void *, u_int64_t);
static void	otel_send(int);
static void	otel_answer(struct kore_task *);
static void	otel_take(void);
static int	otel_wait(int);
static int	otel_exporter(struct kore_task *);
static void	otel_publish(void);
static void	otel_response_model(struct proxy *, char *, size_t);

/*
 * Read the OTEL_* settings (the parent, before the workers fork). An
 * endpoint that is no http(s) URL stops the start.
 */
void
otel_configure(void)
{
	struct kore_buf	 buf;
	const char	*v, *cafile;
	char		*name;
	FILE		*fp;
	long		 len;

	if ((v = getenv("OTEL_TRACES_EXPORTER")) != NULL &&
	    strcmp(v, "none") == 0)
		return;

	if ((v = settings_str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	    NULL)) != NULL) {
		endpoint = kore_strdup(v);
	} else if ((v = settings_str("OTEL_EXPORTER_OTLP_ENDPOINT",
	    NULL)) != NULL) {
		kore_buf_init(&buf, 128);
		kore_buf_appendf(&buf, "%s", v);
		while (buf.offset > 0 && buf.data[buf.offset - 1] == '/')
			buf.offset--;
		kore_buf_appendf(&buf, "/v1/traces");
		endpoint = kore_strdup(kore_buf_stringify(&buf, NULL));
		kore_buf_cleanup(&buf);
	} else {
		return;
	}
	if (strncmp(endpoint, "http://", 7) != 0 &&
	    strncmp(endpoint, "https://", 8) != 0)
		fatal("OTEL_EXPORTER_OTLP_ENDPOINT: '%s' is no http:// or "
		    "https:// URL", endpoint);

	timeout_ms = settings_uint("OTEL_EXPORTER_OTLP_TIMEOUT", 10000, 1,
	    600000);
	timeout_ms = settings_uint("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	    timeout_ms, 1, 600000);
	delay_ms = settings_uint("OTEL_BSP_SCHEDULE_DELAY", 5000, 10, 600000);
	queue_max = settings_uint("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1,
	    1000000);
	batch_max = settings_uint("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1,
	    queue_max);

	/*
	 * The resource: service.name (OTEL_SERVICE_NAME, else the one the
	 * attributes give, else ours), then the operator's attributes.
	 */
	name = NULL;
	if ((v = settings_str("OTEL_SERVICE_NAME", NULL)) != NULL)
		name = kore_strdup(v);
	else
		otel_env_list("OTEL_RESOURCE_ATTRIBUTES", otel_service_pick,
		    &name);
	kore_buf_init(&buf, 256);
	kore_buf_appendf(&buf, "{\"attributes\":[{\"key\":\"service.name\","
	    "\"value\":{\"stringValue\":");
	json_str(&buf, name != NULL ? name : "llm-fusion-engine");
	kore_buf_appendf(&buf, "}}");
	kore_free(name);
	otel_env_list("OTEL_RESOURCE_ATTRIBUTES", otel_resource_add, &buf);
	kore_buf_appendf(&buf, "]}");
	resource_json = kore_strdup(kore_buf_stringify(&buf, NULL));
	kore_buf_cleanup(&buf);

	headers = curl_slist_append(NULL, "content-type: application/json");
	otel_env_list(getenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS") != NULL ?
	    "OTEL_EXPORTER_OTLP_TRACES_HEADERS" : "OTEL_EXPORTER_OTLP_HEADERS",
	    otel_header_add, NULL);

	/* Chrooted workers cannot open the CA bundle: read it now. */
	if (strncmp(endpoint, "https://", 8) == 0) {
		cafile = settings_str("OTEL_EXPORTER_OTLP_CERTIFICATE",
		    "/etc/ssl/certs/ca-certificates.crt");
		if ((fp = fopen(cafile, "r")) == NULL)
			fatal("OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read %s",
			    cafile);
		if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) > 0 &&
		    fseek(fp, 0, SEEK_SET) == 0) {
			ca = kore_malloc((size_t)len);
			ca_len = fread(ca, 1, (size_t)len, fp);
		}
		fclose(fp);
	}

	kore_log(LOG_NOTICE, "traces: exporting OTLP/HTTP JSON to %s",
	    endpoint);
}

int
otel_enabled(void)
{
	return (endpoint != NULL);
}

/*
 * A list of key=value pairs separated by commas (the OTEL_* format),
 * each percent-decoded and handed to cb. Pairs without '=' are skipped.
 */
static void
otel_env_list(const char *var, void (*cb)(const char *, const char *,
    void *), void *arg)
{
	const char	*v;
	char		*copy, *pair, *next, *eq, *k, *val;

	if ((v = getenv(var)) == NULL || *v == '\0')
		return;

	copy = kore_strdup(v);
	for (pair = copy; pair != NULL; pair = next) {
		if ((next = strchr(pair, ',')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(pair, '=')) == NULL)
			continue;
		*eq = '\0';
		k = pair + strspn(pair, " ");
		val = eq + 1 + strspn(eq + 1, " ");
		if (*k == '\0' || !http_argument_urldecode(val))
			continue;
		cb(k, val, arg);
	}
	kore_free(copy);
}

static void
otel_service_pick(const char *k, const char *v, void *arg)
{
	char	**name = arg;

	if (strcmp(k, "service.name") == 0)
		*name = kore_strdup(v);
}

static void
otel_resource_add(const char *k, const char *v, void *arg)
{
	struct kore_buf	*buf = arg;

	if (strcmp(k, "service.name") == 0)
		return;
	kore_buf_appendf(buf, ",{\"key\":");
	json_str(buf, k);
	kore_buf_appendf(buf, ",\"value\":{\"stringValue\":");
	json_str(buf, v);
	kore_buf_appendf(buf, "}}");
}

static void
otel_header_add(const char *k, const char *v, void *arg)
{
	struct kore_buf	 buf;

	kore_buf_init(&buf, 64);
	kore_buf_appendf(&buf, "%s: %s", k, v);
	headers = curl_slist_append(headers, kore_buf_stringify(&buf, NULL));
	kore_buf_cleanup(&buf);
}

/* Start the worker's exporter, when there is an endpoint. */
void
otel_worker_init(void)
{
	if (endpoint == NULL)
		return;

	kore_task_create(&exporter, otel_exporter);
	kore_task_bind_callback(&exporter, otel_answer);
	kore_task_run(&exporter);
	exporter_live = 1;
	(void)kore_timer_add(otel_tick, delay_ms, NULL, 0);
}

/*
 * Wait up to ms for the exporter's answer; 1 when it is there. The
 * worker's shutdown never waits longer for a collector than that.
 */
static int
otel_wait(int ms)
{
	struct pollfd	pfd;

	pfd.fd = exporter.fds[0];
	pfd.events = POLLIN;
	return (poll(&pfd, 1, ms) == 1);
}

/*
 * The worker stops. When the collector took the last batch, what is
 * queued goes out once more; then the exporter is told to stop. An
 * exporter still waiting for a collector after OTEL_STOP_WAIT_MS is left
 * to the process's exit, with its spans.
 */
void
otel_worker_stop(void)
{
	struct otel_msg	m;

	if (!exporter_live)
		return;

	if (exporter_busy) {
		if (!otel_wait(OTEL_STOP_WAIT_MS))
			return;
		otel_take();
	}
	if (last_ok && (ready_first != NULL || filling != NULL)) {
		otel_send(1);
		if (exporter_busy) {
			if (!otel_wait(OTEL_STOP_WAIT_MS))
				return;
			otel_take();
		}
	}

	memset(&m, 0, sizeof(m));
	m.op = OTEL_OP_STOP;
	kore_task_channel_write(&exporter, &m, sizeof(m));
	if (kore_task_channel_read(&exporter, &m, sizeof(m)) != sizeof(m))
		fatal("traces: short answer from the exporter");
	exporter_live = 0;
}

/* Random bytes from a pool refilled 4 KB at a time (no system call each). */
static void
otel_random(u_int8_t *out, size_t n)
{
	static u_int8_t	pool[4096];
	static size_t	left = 0;

	if (left < n) {
		randombytes_buf(pool, sizeof(pool));
		left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - left, n);
	left -= n;
}

static int64_t
otel_now_ns(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* A request begins: its trace context, when it has one to keep. */
void
otel_begin(struct proxy *px)
{
	struct otel_ctx	 ctx;
	const char	*hdr;
	int		 valid;

	memset(&ctx, 0, sizeof(ctx));
	valid = http_request_header(px->req, "traceparent", &hdr) &&
	    validate_traceparent(hdr, ctx.trace_id, ctx.parent_id,
	    &ctx.flags);
	ctx.has_parent = valid;
	if (endpoint == NULL && !valid)
		return;

	if (!valid) {
		otel_random(ctx.trace_id, sizeof(ctx.trace_id));
		ctx.flags = 1;
	}
	otel_random(ctx.span_id, sizeof(ctx.span_id));
	ctx.start_ns = otel_now_ns();

	/* Vendors' state goes with the trace it belongs to, as it came. */
	if (valid && http_request_header(px->req, "tracestate", &hdr) &&
	    validate_tracestate(hdr))
		ctx.tracestate = kore_strdup(hdr);

	px->otel = kore_malloc(sizeof(ctx));
	memcpy(px->otel, &ctx, sizeof(ctx));
}

/*
 * An upstream attempt starts: its span begins, and the upstream is told
 * the trace (without an endpoint: the caller's own traceparent).
 */
void
otel_attempt(struct proxy *px)
{
	struct otel_ctx	*ctx;
	char		 tp[64], trace[33], span[17];

	if ((ctx = px->otel) == NULL)
		return;

	if (endpoint != NULL) {
		otel_random(ctx->attempt_id, sizeof(ctx->attempt_id));
		ctx->attempt_ns = otel_now_ns();
		ctx->attempt_open = 1;
	}

	(void)sodium_bin2hex(trace, sizeof(trace), ctx->trace_id, 16);
	(void)sodium_bin2hex(span, sizeof(span), endpoint != NULL ?
	    ctx->attempt_id : ctx->parent_id, 8);
	(void)snprintf(tp, sizeof(tp), "00-%s-%s-%02x", trace, span,
	    ctx->flags & 1);
	kore_curl_http_set_header(&px->curl, "traceparent", tp);
	if (ctx->tracestate != NULL)
		kore_curl_http_set_header(&px->curl, "tracestate",
		    ctx->tracestate);
}

static void
otel_hex(struct kore_buf *buf, const char *key, const u_int8_t *id,
    size_t len)
{
	char	hex[33];

	(void)sodium_bin2hex(hex, sizeof(hex), id, len);
	kore_buf_appendf(buf, ",\"%s\":\"%s\"", key, hex);
}

static void
otel_attr_str(struct kore_buf *buf, int *first, const char *key,
    const char *v)
{
	if (v == NULL || *v == '\0')
		return;
	kore_buf_appendf(buf, "%s{\"key\":\"%s\",\"value\":{\"stringValue\":",
	    *first ? "" : ",", key);
	json_str(buf, v);
	kore_buf_appendf(buf, "}}");
	*first = 0;
}

/* OTLP JSON carries 64-bit integers as strings. */
static void
otel_attr_int(struct kore_buf *buf, int *first, const char *key, int64_t v)
{
	kore_buf_appendf(buf, "%s{\"key\":\"%s\",\"value\":{\"intValue\":"
	    "\"%" PRId64 "\"}}", *first ? "" : ",", key, v);
	*first = 0;
}

/* gen_ai.operation.name of a /v1 path. */
static const char *
otel_operation(const char *path)
{
	if (strcmp(path, "/v1/embeddings") == 0)
		return ("embeddings");
	if (strcmp(path, "/v1/completions") == 0)
		return ("text_completion");
	return ("chat");
}

/* gen_ai.provider.name of a provider's API (XF_*). */
static const char *
otel_provider_system(int fmt)
{
	switch (fmt) {
	case XF_ANTHROPIC:
		return ("anthropic");
	case XF_GEMINI:
		return ("gcp.gemini");
	default:
		return ("openai");
	}
}

/* The start of one span object, up to its attributes' opening bracket. */
static void
otel_span_open(struct kore_buf *buf, struct otel_ctx *ctx,
    const u_int8_t *span, const u_int8_t *parent, const char *name,
    int kind, int64_t start_ns)
{
	kore_buf_appendf(buf, "{");
	json_kv_str(buf, "name", name, 1);
	kore_buf_appendf(buf, ",\"kind\":%d", kind);
	otel_hex(buf, "traceId", ctx->trace_id, 16);
	otel_hex(buf, "spanId", span, 8);
	if (parent != NULL)
		otel_hex(buf, "parentSpanId", parent, 8);
	kore_buf_appendf(buf, ",\"startTimeUnixNano\":\"%" PRId64 "\","
	    "\"endTimeUnixNano\":\"%" PRId64 "\",\"attributes\":[",
	    start_ns, otel_now_ns());
}

static void
otel_span_close(struct kore_buf *buf, int error, const char *message)
{
	kore_buf_appendf(buf, "],\"status\":{\"code\":%d",
	    error ? OTEL_STATUS_ERROR : OTEL_STATUS_OK);
	if (error && message != NULL && *message != '\0') {
		kore_buf_appendf(buf, ",");
		json_kv_str(buf, "message", message, 1);
	}
	kore_buf_appendf(buf, "}}");
}

/*
 * The model an upstream's whole answer names ("model", or Gemini's
 * "modelVersion"), or "" when it names none.
 */
static void
otel_response_model(struct proxy *px, char *out, size_t outlen)
{
	struct json_member		 top[32];
	const struct json_member	*m;
	size_t				 end;
	int				 n;

	out[0] = '\0';
	if (px->stream || px->resp == NULL || px->resp->offset == 0)
		return;
	n = json_scan_object(px->resp->data, px->resp->offset, top, 32, &end);
	if (n <= 0)
		return;
	if ((m = json_scan_find(px->resp->data, top, n, "model")) == NULL)
		m = json_scan_find(px->resp->data, top, n, "modelVersion");
	if (m != NULL && m->type == JSON_STRING)
		(void)json_scan_string(px->resp->data, m, 0, out, outlen);
}

/* An upstream attempt ended: its client span. */
void
otel_attempt_end(struct proxy *px, const struct router_pick *pk,
    const char *outcome, int status)
{
	struct otel_ctx		*ctx;
	struct kore_buf		*buf;
	const char		*model;
	char			 name[300], rmodel[128];
	int			 first, ok;

	if ((ctx = px->otel) == NULL || endpoint == NULL ||
	    !(ctx->flags & 1))
		return;
	if (!ctx->attempt_open) {
		otel_random(ctx->attempt_id, sizeof(ctx->attempt_id));
		ctx->attempt_ns = otel_now_ns();
	}
	ctx->attempt_open = 0;

	if ((model = router_upstream_model(pk->provider, px->model)) == NULL)
		model = px->model;
	ok = (strcmp(outcome, "ok") == 0);
	(void)snprintf(name, sizeof(name), "%s %s",
	    otel_operation(px->log.path), model);

	buf = kore_buf_alloc(1024);
	otel_span_open(buf, ctx, ctx->attempt_id, ctx->span_id, name,
	    OTEL_KIND_CLIENT, ctx->attempt_ns);
	first = 1;
	otel_attr_str(buf, &first, "gen_ai.operation.name",
	    otel_operation(px->log.path));
	otel_attr_str(buf, &first, "gen_ai.provider.name",
	    otel_provider_system(pk->provider->fmt));
	otel_attr_str(buf, &first, "gen_ai.request.model", model);
	if (ok) {
		otel_response_model(px, rmodel, sizeof(rmodel));
		otel_attr_str(buf, &first, "gen_ai.response.model",
		    rmodel[0] != '\0' ? rmodel : model);
		otel_attr_int(buf, &first, "gen_ai.usage.input_tokens",
		    px->usage.prompt_tokens < 0 ? 0 : px->usage.prompt_tokens);
		otel_attr_int(buf, &first, "gen_ai.usage.output_tokens",
		    px->usage.completion_tokens < 0 ? 0 :
		    px->usage.completion_tokens);
	} else {
		otel_attr_str(buf, &first, "error.type", outcome);
	}
	if (status > 0)
		otel_attr_int(buf, &first, "http.response.status_code",
		    status);
	otel_attr_str(buf, &first, "fusion.provider", pk->provider->name);
	otel_attr_int(buf, &first, "fusion.provider.id", pk->provider->id);
	otel_span_close(buf, !ok && strcmp(outcome, "cancelled") != 0,
	    outcome);
	otel_enqueue(buf);
}

/* The request is over: its server span; the context goes. */
void
otel_finish(struct proxy *px, const struct log_entry *e)
{
	struct otel_ctx		*ctx;
	struct kore_buf		*buf;
	char			 name[300];
	int			 first, error;

	if ((ctx = px->otel) == NULL)
		return;
	px->otel = NULL;

	if (endpoint != NULL && (ctx->flags & 1)) {
		(void)snprintf(name, sizeof(name), "%s %s",
		    http_method_text(px->req->method),
		    metrics_path(e->path) < METRICS_PATHS - 1 ? e->path :
		    "/v1/*");
		buf = kore_buf_alloc(1024);
		otel_span_open(buf, ctx, ctx->span_id, ctx->has_parent ?
		    ctx->parent_id : NULL, name, OTEL_KIND_SERVER,
		    ctx->start_ns);
		first = 1;
		otel_attr_str(buf, &first, "http.request.method",
		    http_method_text(px->req->method));
		otel_attr_str(buf, &first, "url.path", e->path);
		otel_attr_int(buf, &first, "http.response.status_code",
		    e->status);
		otel_attr_str(buf, &first, "gen_ai.operation.name",
		    otel_operation(e->path));
		otel_attr_str(buf, &first, "gen_ai.request.model", e->model);
		if (px->cur != NULL) {
			otel_attr_str(buf, &first, "gen_ai.provider.name",
			    otel_provider_system(px->cur->provider->fmt));
			otel_attr_str(buf, &first, "gen_ai.response.model",
			    e->upstream_model);
			otel_attr_str(buf, &first, "fusion.provider",
			    px->cur->provider->name);
		}
		otel_attr_int(buf, &first, "gen_ai.usage.input_tokens",
		    e->prompt_tokens);
		otel_attr_int(buf, &first, "gen_ai.usage.output_tokens",
		    e->completion_tokens);
		otel_attr_str(buf, &first, "fusion.request_id", e->request_id);
		otel_attr_str(buf, &first, "fusion.outcome", e->outcome);
		otel_attr_int(buf, &first, "fusion.attempts", e->attempts);
		error = strcmp(e->outcome, "error") == 0 && e->status >= 500;
		otel_span_close(buf, error, e->error);
		otel_enqueue(buf);
	}

	kore_free(ctx->tracestate);
	kore_free(ctx);
}

/* Queue one span (buf, freed here), or count it dropped when full. */
static void
otel_enqueue(struct kore_buf *span)
{
	struct metrics_worker	*w;

	if (queued >= queue_max) {
		if ((w = metrics_self()) != NULL)
			w->otel_dropped++;
		kore_buf_free(span);
		return;
	}

	if (filling == NULL) {
		filling = kore_calloc(1, sizeof(*filling));
		filling->buf = kore_buf_alloc(8192);
		kore_buf_appendf(filling->buf, "{\"resourceSpans\":[{"
		    "\"resource\":%s,\"scopeSpans\":[{\"scope\":{\"name\":"
		    "\"llm-fusion-engine\"},\"spans\":[", resource_json);
	} else {
		kore_buf_appendf(filling->buf, ",");
	}
	kore_buf_append(filling->buf, span->data, span->offset);
	kore_buf_free(span);
	filling->n++;
	queued++;

	if (filling->n >= batch_max) {
		kore_buf_appendf(filling->buf, "]}]}]}");
		*ready_last = filling;
		ready_last = &filling->next;
		filling = NULL;
		otel_send(0);
	}
	otel_publish();
}

static void
otel_publish(void)
{
	struct metrics_worker	*w;

	if ((w = metrics_self()) != NULL)
		w->otel_queue = queued;
}

static void
otel_tick(void *arg, u_int64_t now)
{
	otel_send(1);
}

/*
 * Hand the oldest full batch to the exporter if it is free; with all,
 * the one still filling too.
 */
static void
otel_send(int all)
{
	struct otel_msg		m;

	if (!exporter_live || exporter_busy)
		return;

	if (ready_first == NULL && all && filling != NULL) {
		kore_buf_appendf(filling->buf, "]}]}]}");
		ready_first = filling;
		ready_last = &filling->next;
		filling = NULL;
	}
	if (ready_first == NULL)
		return;

	memset(&m, 0, sizeof(m));
	m.op = OTEL_OP_SEND;
	m.batch = ready_first;
	if ((ready_first = ready_first->next) == NULL)
		ready_last = &ready_first;
	m.batch->next = NULL;

	exporter_busy = 1;
	kore_task_channel_write(&exporter, &m, sizeof(m));
}

/* The exporter answered, or its channel changed (see reqlog.c). */
static void
otel_answer(struct kore_task *t)
{
	u_int32_t	len;

	if (!exporter_busy)
		return;
	if (recv(t->fds[0], &len, sizeof(len), MSG_PEEK | MSG_DONTWAIT) !=
	    (ssize_t)sizeof(len))
		return;

	otel_take();
	otel_send(0);
}

/* Read the exporter's answer: the batch went out, or is lost. */
static void
otel_take(void)
{
	struct metrics_worker	*w;
	struct otel_msg		 m;

	if (kore_task_channel_read(&exporter, &m, sizeof(m)) != sizeof(m))
		fatal("traces: short answer from the exporter");
	exporter_busy = 0;
	if (m.op != OTEL_OP_SEND)
		return;

	queued -= m.batch->n;
	if ((w = metrics_self()) != NULL) {
		if (m.batch->ok)
			w->otel_exported += m.batch->n;
		else
			w->otel_dropped += m.batch->n;
	}
	if (!m.batch->ok && last_ok)
		kore_log(LOG_WARNING, "traces: the collector at %s did not "
		    "take %zu spans", endpoint, m.batch->n);
	last_ok = m.batch->ok;

	kore_buf_free(m.batch->buf);
	kore_free(m.batch);
	otel_publish();
}

/*
 * The exporter: a task thread posting each batch it is handed with its
 * own curl handle (connections are kept between batches), answering
 * once done. Told to stop, it answers and parks, as the log writer does.
 */
static int
otel_exporter(struct kore_task *t)
{
	static pthread_mutex_t	 parked_lock = PTHREAD_MUTEX_INITIALIZER;
	static pthread_cond_t	 parked = PTHREAD_COND_INITIALIZER;
	struct otel_msg		 m;
	struct curl_blob	 blob;
	CURL			*curl;
	long			 status;

	if ((curl = curl_easy_init()) == NULL)
		fatal("traces: curl_easy_init failed");

	for (;;) {
		if (kore_task_channel_read(t, &m, sizeof(m)) != sizeof(m))
			fatal("traces: short message to the exporter");
		if (m.op == OTEL_OP_STOP)
			break;

		curl_easy_reset(curl);
		curl_easy_setopt(curl, CURLOPT_URL, endpoint);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, m.batch->buf->data);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)m.batch->buf->offset);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
		curl_easy_setopt(curl, CURLOPT_USERAGENT, "llm-fusion-engine");
		if (ca != NULL) {
			blob.data = ca;
			blob.len = ca_len;
			blob.flags = CURL_BLOB_NOCOPY;
			curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
		}

		status = 0;
		m.batch->ok = (curl_easy_perform(curl) == CURLE_OK &&
		    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE,
		    &status) == CURLE_OK && status >= 200 && status <= 299);
		kore_task_channel_write(t, &m, sizeof(m));
	}

	curl_easy_cleanup(curl);
	kore_task_channel_write(t, &m, sizeof(m));

	(void)pthread_mutex_lock(&parked_lock);
	for (;;)
		(void)pthread_cond_wait(&parked, &parked_lock);

	/* NOTREACHED */
	return (KORE_RESULT_OK);
}
