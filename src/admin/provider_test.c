/*
 * POST /api/admin/providers/:id/test: the operator's test button, one
 * small request through one provider, run by the /v1 machinery.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"

static int	provider_test_begin(struct http_request *, struct proxy *);
static void	provider_test_report(struct proxy *, CURLcode, int64_t);

/* One attempt, its own report, no log entry, key health left alone. */
static const struct proxy_ops	provider_test_ops = {
	.begin = provider_test_begin,
	.settle = provider_test_report,
	.log = NULL,
	.health = 0,
};

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
	const char		*fields[] = { "model", NULL };
	char			*model;
	int64_t			 id;

	px->phase = PHASE_DONE;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
	if (api_method(req, HTTP_METHOD_POST, "POST") != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
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
		if (api_check_fields(req, &body, fields) != KORE_RESULT_OK ||
		    api_get_string(req, &body, "model", 0, &model) < 0) {
			api_body_cleanup(&body);
			return (KORE_RESULT_ERROR);
		}
	}

	if ((px->cfg = config_acquire()) == NULL) {
		api_body_cleanup(&body);
		api_db_error(req);
		return (KORE_RESULT_ERROR);
	}

	if ((p = config_provider(px->cfg, id)) == NULL) {
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

	if ((k = probe_key(p)) == NULL) {
		api_error(req, 400, "invalid_request_error", "no_keys",
		    "the provider has no enabled key to test with");
		return (KORE_RESULT_ERROR);
	}

	px->own_body = kore_buf_alloc(256);
	kore_buf_appendf(px->own_body, "{\"model\":");
	json_str(px->own_body, px->model);
	kore_buf_appendf(px->own_body, ",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"ping\"}],\"max_tokens\":1}");
	px->body = px->own_body->data;
	px->body_len = px->own_body->offset;
	(void)proxy_scan(px);
	px->path = "/chat/completions";
	px->chat = 1;
	probe_target(px, p, k);

	return (KORE_RESULT_OK);
}

/* The attempt has ended: the operator gets what it says of the provider. */
static void
provider_test_report(struct proxy *px, CURLcode result, int64_t latency)
{
	struct kore_buf	*buf;
	char		 msg[256];
	int		 ok;

	ok = probe_message(px, result, msg, sizeof(msg));

	buf = kore_buf_alloc(256);
	kore_buf_appendf(buf, "{");
	json_kv_bool(buf, "ok", ok, 1);
	json_kv_int(buf, "status", result == CURLE_OK ? px->up.status : 0, 0);
	json_kv_int(buf, "latency_ms", latency, 0);
	json_kv_str(buf, "model", px->model, 0);
	json_kv_str(buf, "message", msg, 0);
	kore_buf_appendf(buf, "}");
	glue_reply_json(px->req, 200, buf);
	px->phase = PHASE_DONE;
}

int
admin_provider_test(struct http_request *req)
{
	return (proxy_run(req, &provider_test_ops));
}
