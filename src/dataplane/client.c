/*
 * The client side of /v1: which client key a request carries, whether it
 * may be served, and the models it may ask for.
 */

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dataplane/dataplane.h"

/*
 * Find the client key of the request (Authorization: Bearer, or
 * x-api-key) and check it. Replies itself and returns KORE_RESULT_ERROR.
 */
int
proxy_client_authenticate(struct proxy *px)
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
		    "You didn't provide an API key: send it in %s",
		    px->client_fmt == XF_ANTHROPIC ? "'x-api-key: <key>'" :
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

void
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
	glue_reply_json(px->req, 200, buf);
	px->phase = PHASE_DONE;
	proxy_finish(px, "ok");
}
