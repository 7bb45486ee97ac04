/*
 * /api/admin/providers: upstream endpoints inside a group, each serving a
 * list of models, with optional aliases (public name -> upstream name).
 * How the gateway reaches one: a forward proxy (proxy_url, its
 * credentials sealed at rest and shown masked; omitted on PUT or PATCH
 * it stays), headers added to its requests, overrides of the JSON body
 * sent, the statuses that fail over beyond the defaults and those that
 * fail over without cooling the key, and background probes of its
 * cooling keys. GET ?group_id=N lists one group's providers.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "admin/admin.h"

#define PROVIDER_HEADERS_MAX	32
#define PROVIDER_OVERRIDES_MAX	64

static int	check_json(const char *, const struct kore_json_item *, char *,
		    size_t);
static int	check_headers(const struct kore_json_item *, char *, size_t);
static int	check_overrides(const struct kore_json_item *, char *, size_t);
static int	provider_prepare(struct http_request *, struct api_body *,
		    struct admin_write *);

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
	{ "proxy_url", AK_STRING, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "extra_headers", AK_JSON, 0, 0, 0, NULL, NULL, "{}", 0 },
	{ "body_overrides", AK_JSON, 0, 0, 0, NULL, NULL, "{}", 0 },
	{ "failover_statuses", AK_IDS, 0, 400, 599, NULL, NULL, "[]", 0 },
	{ "no_cooldown_statuses", AK_IDS, 0, 400, 599, NULL, NULL, "[]", 0 },
	{ "probe_interval_seconds", AK_INT, 0, 0, 86400, NULL, NULL, NULL,
	    0 },
	{ "probe_disabled", AK_BOOL, 0, 0, 0, NULL, NULL, NULL, 0 },
};

/* Read by provider_prepare: the proxy, sealed before it is stored. */
static const char *const	provider_accepts[] = { "proxy_url", NULL };

const struct admin_resource admin_res_providers = {
	.table = "providers",
	.path = "/api/admin/providers/",
	.noun = "provider",
	.fields = provider_fields,
	.nfields = sizeof(provider_fields) / sizeof(provider_fields[0]),
	.filter = "group_id",
	.conflict_msg = "this group already has a provider with that name",
	.fk_field = "group_id",
	.prepare = provider_prepare,
	.accepts = provider_accepts,
	.check_json = check_json,
};

/* The provider's AK_JSON fields. */
static int
check_json(const char *field, const struct kore_json_item *item, char *must,
    size_t len)
{
	if (strcmp(field, "extra_headers") == 0)
		return (check_headers(item, must, len));
	return (check_overrides(item, must, len));
}

/* extra_headers: {"Name": "value", ...}, none the gateway sets itself. */
static int
check_headers(const struct kore_json_item *item, char *must, size_t len)
{
	const struct kore_json_item	*it;
	int				 n;

	if (item->type != KORE_JSON_TYPE_OBJECT) {
		(void)snprintf(must, len, "be an object of header names and "
		    "values");
		return (0);
	}

	n = 0;
	TAILQ_FOREACH(it, &item->data.items, list) {
		if (++n > PROVIDER_HEADERS_MAX) {
			(void)snprintf(must, len, "hold at most %d headers",
			    PROVIDER_HEADERS_MAX);
			return (0);
		}
		if (!validate_header_name(it->name)) {
			(void)snprintf(must, len, "name headers the gateway "
			    "does not set itself (the key, the version and "
			    "the message's framing are its own): '%.64s' "
			    "cannot be added", it->name);
			return (0);
		}
		if (it->type != KORE_JSON_TYPE_STRING ||
		    !validate_header_value(it->data.string)) {
			(void)snprintf(must, len, "give header '%s' a string "
			    "of at most 4096 printable characters", it->name);
			return (0);
		}
	}

	return (1);
}

/*
 * body_overrides: {"set": {"member": value, ...}, "remove": ["member",
 * ...]}, top-level members of the JSON body the provider is sent; the
 * members the gateway sets itself (model, stream, stream_options) are
 * not for overriding.
 */
static int
check_overrides(const struct kore_json_item *item, char *must, size_t len)
{
	const struct kore_json_item	*it, *set, *remove, *m;
	const char			*name;
	int				 i, n;

	if (item->type != KORE_JSON_TYPE_OBJECT)
		goto shape;
	set = remove = NULL;
	TAILQ_FOREACH(it, &item->data.items, list) {
		if (strcmp(it->name, "set") == 0 &&
		    it->type == KORE_JSON_TYPE_OBJECT)
			set = it;
		else if (strcmp(it->name, "remove") == 0 &&
		    it->type == KORE_JSON_TYPE_ARRAY)
			remove = it;
		else
			goto shape;
	}

	n = 0;
	for (i = 0; i < 2; i++) {
		if ((m = i == 0 ? set : remove) == NULL)
			continue;
		TAILQ_FOREACH(it, &m->data.items, list) {
			name = m == set ? it->name : (it->type ==
			    KORE_JSON_TYPE_STRING ? it->data.string : NULL);
			if (name == NULL || !validate_name(name))
				goto shape;
			if (++n > PROVIDER_OVERRIDES_MAX) {
				(void)snprintf(must, len, "name at most %d "
				    "members", PROVIDER_OVERRIDES_MAX);
				return (0);
			}
			if (strcmp(name, "model") == 0 ||
			    strcmp(name, "stream") == 0 ||
			    strcmp(name, "stream_options") == 0) {
				(void)snprintf(must, len, "leave '%s' alone: "
				    "the gateway sets it itself", name);
				return (0);
			}
			if (m == remove && set != NULL &&
			    json_get(set, name) != NULL) {
				(void)snprintf(must, len, "not both set and "
				    "remove '%.64s'", name);
				return (0);
			}
		}
	}

	return (1);

shape:
	(void)snprintf(must, len, "be {\"set\": {member: value, ...}, "
	    "\"remove\": [member, ...]} with member names of 1 to 128 "
	    "characters");
	return (0);
}

/*
 * The proxy: sealed whole (its credentials are secrets) and kept masked
 * for showing; "" removes it. Absent, the stored one stays.
 */
static int
provider_prepare(struct http_request *req, struct api_body *body,
    struct admin_write *w)
{
	u_int8_t	*box;
	size_t		 len;
	char		*url, masked[2048];
	int		 rc;

	if ((rc = api_get_string(req, body, "proxy_url", 0, &url)) <= 0)
		return (rc == 0 ? KORE_RESULT_OK : KORE_RESULT_ERROR);

	if (*url == '\0') {
		admin_extra_text(w, "proxy_url", "");
		admin_extra_blob(w, "proxy_secret", NULL, 0);
		return (KORE_RESULT_OK);
	}

	if (!validate_proxy_url(url)) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'proxy_url' must be empty or an http://, https:// "
		    "or socks5h:// URL: optional user:password@, a host and "
		    "a port");
		sodium_memzero(url, strlen(url));
		return (KORE_RESULT_ERROR);
	}

	if (secrets_seal(url, &box, &len) != KORE_RESULT_OK)
		fatal("master key not loaded");
	secrets_mask_url(url, masked, sizeof(masked));
	sodium_memzero(url, strlen(url));
	admin_extra_blob(w, "proxy_secret", box, len);
	admin_extra_text(w, "proxy_url", masked);

	return (KORE_RESULT_OK);
}

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
