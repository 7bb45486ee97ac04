/*
 * The client side of /v1: which client key a request carries, whether it
 * may be served, and the models it may ask for. The answers are the
 * caller's to write (request.c), in the client's own API.
 */

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dataplane/dataplane.h"

/*
 * Find the client key of req (Authorization: Bearer, or x-api-key) in c
 * and check it. Returns CLIENT_OK with *out set, or the CLIENT_* reason
 * it cannot be served.
 */
int
client_find(struct cfg *c, struct http_request *req, struct cfg_client **out)
{
	const char	*hdr;
	char		 hash[SECRET_HASH_HEX];

	*out = NULL;
	if (http_request_header(req, "authorization", &hdr)) {
		if (strncasecmp(hdr, "Bearer ", 7) != 0)
			hdr = "";
		else
			hdr += 7;
	} else if (!http_request_header(req, "x-api-key", &hdr)) {
		hdr = "";
	}

	while (*hdr == ' ')
		hdr++;
	if (*hdr == '\0')
		return (CLIENT_NO_KEY);

	secrets_hash(hdr, hash);
	if ((*out = config_client(c, hash)) == NULL)
		return (CLIENT_UNKNOWN);
	if (!(*out)->enabled)
		return (CLIENT_DISABLED);
	if ((*out)->expires_at > 0 && (*out)->expires_at <= store_now())
		return (CLIENT_EXPIRED);

	return (CLIENT_OK);
}

/*
 * GET /v1/models: what client cl may ask for, as OpenAI's list, into
 * buf. Each name once, owned by the first group that serves it.
 */
void
client_models(struct cfg *c, const struct cfg_client *cl, struct kore_buf *buf)
{
	struct cfg_provider	*p;
	const char		*name;
	const char		**seen;
	size_t			 i, j, k, nseen, total;
	int			 n;

	total = 0;
	for (i = 0; i < c->nproviders; i++)
		total += c->providers[i].nmodels + c->providers[i].naliases;
	seen = kore_calloc(total + 1, sizeof(char *));
	nseen = 0;

	kore_buf_appendf(buf, "{\"object\":\"list\",\"data\":[");
	n = 0;
	for (i = 0; i < c->nproviders; i++) {
		p = &c->providers[i];
		if (!p->enabled || !p->group->enabled ||
		    !router_client_allows(cl, NULL, p->group))
			continue;
		for (j = 0; j < p->nmodels + p->naliases; j++) {
			name = j < p->nmodels ? p->models[j] :
			    p->alias_from[j - p->nmodels];
			if (!router_client_allows(cl, name, NULL))
				continue;
			for (k = 0; k < nseen; k++) {
				if (strcmp(seen[k], name) == 0)
					break;
			}
			if (k < nseen)
				continue;
			seen[nseen++] = name;
			json_sep(buf, &n);
			kore_buf_appendf(buf, "{");
			json_kv_str(buf, "id", name, 1);
			json_kv_str(buf, "object", "model", 0);
			json_kv_int(buf, "created", 0, 0);
			json_kv_str(buf, "owned_by", p->group->name, 0);
			kore_buf_appendf(buf, "}");
		}
	}
	kore_buf_appendf(buf, "]}");
	kore_free(seen);
}
