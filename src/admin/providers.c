/*
 * /api/admin/providers: upstream endpoints inside a group, each serving a
 * list of models, with optional aliases (public name -> upstream name).
 * GET ?group_id=N lists one group's providers.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "admin/admin.h"

static const struct admin_field provider_fields[] = {
	{ "group_id", AK_INT, AF_REQUIRED, 1, INT64_MAX, NULL, NULL, NULL, 0 },
	{ "name", AK_STRING, AF_REQUIRED, 0, 0, validate_name,
	    "a name of 1 to 128 characters", NULL, 0 },
	{ "type", AK_STRING, 0, 0, 0, validate_provider_type,
	    "'openai', 'anthropic' or 'gemini'", "openai", 0 },
	{ "base_url", AK_STRING, AF_REQUIRED, 0, 0, validate_base_url,
	    "an http:// or https:// URL without credentials or query",
	    NULL, 0 },
	{ "models", AK_NAMES, 0, 0, 0, NULL, NULL, "[]", 0 },
	{ "model_aliases", AK_MAP, 0, 0, 0, NULL, NULL, "{}", 0 },
	{ "weight", AK_INT, 0, 0, 10000, NULL, NULL, NULL, 1 },
	{ "enabled", AK_BOOL, 0, 0, 0, NULL, NULL, NULL, 1 },
	{ "timeout_ms", AK_INT, 0, 100, 3600000, NULL, NULL, NULL, 60000 },
	{ "tls_verify", AK_BOOL, 0, 0, 0, NULL, NULL, NULL, 1 },
	{ "responses_api", AK_BOOL, 0, 0, 0, NULL, NULL, NULL, 1 },
	{ "ca_cert", AK_STRING, 0, 0, 0, validate_pem,
	    "empty or PEM certificates (-----BEGIN CERTIFICATE-----)", "", 0 },
};

const struct admin_resource admin_res_providers = {
	.table = "providers",
	.path = "/api/admin/providers/",
	.noun = "provider",
	.fields = provider_fields,
	.nfields = sizeof(provider_fields) / sizeof(provider_fields[0]),
	.filter = "group_id",
	.conflict_msg = "this group already has a provider with that name",
	.fk_field = "group_id",
};

int
admin_providers(struct http_request *req)
{
	return (admin_collection(req, &admin_res_providers));
}

int
admin_provider(struct http_request *req)
{
	return (admin_item(req, &admin_res_providers));
}
