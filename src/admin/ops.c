/*
 * What operators' machines ask of a running gateway:
 *
 *	GET /metrics	Prometheus metrics (dataplane/metrics.c). With
 *			ADMIN_BIND_ADDRESS set, on the admin listener only;
 *			otherwise on the public listeners, and only when
 *			METRICS_TOKEN is set, as a bearer token. When the
 *			token is set it is asked for on every listener.
 *	GET /healthz	the process serves: always 200.
 *	GET /readyz	200 when the configuration is loaded, the store takes
 *			writes and no worker's request log queue is full;
 *			503 with the reason otherwise.
 *
 * /healthz and /readyz need no authentication, are cheap (they read what
 * the workers already hold: the configuration, the shared counters) and
 * say nothing beyond a reason.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>
#include <strings.h>

#include "admin/admin.h"

static int	ops_get(struct http_request *);
static void	ops_status(struct http_request *, int, const char *);

/* GET or HEAD; otherwise 405 (KORE_RESULT_ERROR). */
static int
ops_get(struct http_request *req)
{
	return (api_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
	    "GET, HEAD"));
}

static void
ops_status(struct http_request *req, int status, const char *reason)
{
	struct kore_buf		*buf;

	buf = kore_buf_alloc(128);
	kore_buf_appendf(buf, "{");
	json_kv_str(buf, "status", reason == NULL ? "ok" : "unavailable", 1);
	if (reason != NULL)
		json_kv_str(buf, "reason", reason, 0);
	kore_buf_appendf(buf, "}");
	glue_reply_json(req, status, buf);
}

int
ops_metrics(struct http_request *req)
{
	struct kore_buf		*buf;
	const char		*hdr;

	if (fusion_cfg.admin_port != NULL) {
		if (api_admin_only(req) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
	} else if (fusion_cfg.metrics_token == NULL) {
		return (api_not_found(req));
	}

	if (fusion_cfg.metrics_token != NULL &&
	    (!http_request_header(req, "authorization", &hdr) ||
	    strncasecmp(hdr, "Bearer ", 7) != 0 ||
	    !secrets_equal(hdr + 7 + strspn(hdr + 7, " "),
	    fusion_cfg.metrics_token))) {
		http_response_header(req, "www-authenticate", "Bearer");
		api_error(req, 401, "invalid_request_error", "unauthorized",
		    "/metrics needs the METRICS_TOKEN as a bearer token");
		return (KORE_RESULT_OK);
	}
	if (ops_get(req) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	buf = kore_buf_alloc(16384);
	metrics_render(buf);
	http_response_header(req, "content-type",
	    "text/plain; version=0.0.4; charset=utf-8");
	http_response_header(req, "cache-control", "no-store");
	http_response(req, 200, buf->data, buf->offset);
	kore_buf_free(buf);

	return (KORE_RESULT_OK);
}

int
ops_healthz(struct http_request *req)
{
	if (ops_get(req) == KORE_RESULT_OK)
		ops_status(req, 200, NULL);
	return (KORE_RESULT_OK);
}

int
ops_readyz(struct http_request *req)
{
	struct metrics_worker	 sum;
	struct cfg		*cfg;
	double			 worst;
	int			 failing;

	if (ops_get(req) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if ((cfg = config_acquire()) == NULL) {
		ops_status(req, 503, "the configuration is not loaded");
		return (KORE_RESULT_OK);
	}
	config_release(cfg);

	metrics_workers(&sum, &worst, &failing);
	if (store_db() == NULL || sqlite3_db_readonly(store_db(), "main") != 0 ||
	    failing)
		ops_status(req, 503, "the store does not take writes");
	else if (worst >= 1.0)
		ops_status(req, 503, "the request log queue is full");
	else
		ops_status(req, 200, NULL);

	return (KORE_RESULT_OK);
}
