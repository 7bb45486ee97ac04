/*
 * The client side of /v1: which client key a request carries, whether it
 * may be served, and the models it may ask for. The answers are the
 * caller's to write (request.c), in the client's own API.
 */

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "dataplane/dataplane.h"

/*
 * The value of query parameter name in req's query string, into out
 * (at most len bytes, %XX and + not decoded: keys need neither); 1 when
 * found.
 */
static int
client_query(struct http_request *req, const char *name, char *out,
    size_t len)
{
	const char	*q, *end;
	size_t		 n, vlen;

	if ((q = req->query_string) == NULL)
		return (0);
	n = strlen(name);
	while (*q != '\0') {
		end = q + strcspn(q, "&");
		if ((size_t)(end - q) > n && strncmp(q, name, n) == 0 &&
		    q[n] == '=') {
			vlen = (size_t)(end - q) - n - 1;
			if (vlen >= len)
				return (0);
			memcpy(out, q + n + 1, vlen);
			out[vlen] = '\0';
			return (1);
		}
		q = *end == '&' ? end + 1 : end;
	}
	return (0);
}

/*
 * Find the client key of req (Authorization: Bearer, x-api-key, Gemini's
 * x-goog-api-key or ?key=) in c and check it. Returns CLIENT_OK with
 * *out set, or the CLIENT_* reason it cannot be served.
 */
int
client_find(struct cfg *c, struct http_request *req, struct cfg_client **out)
{
	const char	*hdr;
	char		 hash[SECRET_HASH_HEX], qkey[256];

	*out = NULL;
	if (http_request_header(req, "authorization", &hdr)) {
		if (strncasecmp(hdr, "Bearer ", 7) != 0)
			hdr = "";
		else
			hdr += 7;
	} else if (!http_request_header(req, "x-api-key", &hdr) &&
	    !http_request_header(req, "x-goog-api-key", &hdr)) {
		hdr = client_query(req, "key", qkey, sizeof(qkey)) ? qkey : "";
	}

	while (*hdr == ' ')
		hdr++;
	if (*hdr == '\0')
		return (CLIENT_NO_KEY);

	secrets_hash(hdr, hash);
	sodium_memzero(qkey, sizeof(qkey));
	if ((*out = config_client(c, hash)) == NULL)
		return (CLIENT_UNKNOWN);
	if (!(*out)->enabled)
		return (CLIENT_DISABLED);
	if ((*out)->expires_at > 0 && (*out)->expires_at <= store_now())
		return (CLIENT_EXPIRED);

	return (CLIENT_OK);
}

/*
 * The models client cl may ask for, each name once, owned by the first
 * group that serves it: as OpenAI's list (GET /v1/models) or Gemini's
 * (GET /v1beta/models) into buf; with only, the one model of that name
 * (GET /v1/models/{id}, /v1beta/models/{name}) alone. Returns 1 when a
 * model was written, 0 when only names none.
 */
int
client_models(struct cfg *c, const struct cfg_client *cl, int fmt,
    const char *only, struct kore_buf *buf)
{
	struct cfg_provider	*p;
	const char		*name;
	const char		**seen;
	struct kore_buf		 full;
	size_t			 i, j, k, nseen, total;
	int			 n;

	kore_buf_init(&full, 64);
	total = 0;
	for (i = 0; i < c->nproviders; i++)
		total += c->providers[i].nmodels + c->providers[i].naliases;
	seen = kore_calloc(total + 1, sizeof(char *));
	nseen = 0;

	if (only == NULL)
		kore_buf_appendf(buf, fmt == XF_GEMINI ? "{\"models\":[" :
		    "{\"object\":\"list\",\"data\":[");
	n = 0;
	for (i = 0; i < c->nproviders; i++) {
		p = &c->providers[i];
		if (!p->enabled || !p->group->enabled ||
		    !router_client_allows(cl, NULL, p->group))
			continue;
		for (j = 0; j < p->nmodels + p->naliases; j++) {
			name = j < p->nmodels ? p->models[j] :
			    p->alias_from[j - p->nmodels];
			if (!router_client_allows(cl, name, NULL) ||
			    (only != NULL && strcmp(only, name) != 0))
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
			if (fmt == XF_GEMINI) {
				kore_buf_reset(&full);
				kore_buf_appendf(&full, "models/%s", name);
				json_kv_str(buf, "name",
				    kore_buf_stringify(&full, NULL), 1);
				json_kv_str(buf, "displayName", name, 0);
				kore_buf_appendf(buf, ",\"supportedGeneration"
				    "Methods\":[\"generateContent\","
				    "\"countTokens\"]");
			} else {
				json_kv_str(buf, "id", name, 1);
				json_kv_str(buf, "object", "model", 0);
				json_kv_int(buf, "created", 0, 0);
				json_kv_str(buf, "owned_by", p->group->name, 0);
			}
			kore_buf_appendf(buf, "}");
		}
	}
	if (only == NULL)
		kore_buf_appendf(buf, "]}");
	kore_buf_cleanup(&full);
	kore_free(seen);
	return (n > 0);
}
