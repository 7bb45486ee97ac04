/*
 * The client side of /v1: which client key a request carries, whether it
 * may be served, and the models it may ask for. The answers are the
 * caller's to write (request.c), in the client's own API.
 */

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <stdio.h>

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

/*
 * What the path asks for: the client's API (OpenAI chat, the Responses
 * API, Anthropic's or Gemini's), whether it is a chat any provider type
 * may answer, counts tokens, and whether the upstream API has
 * stream_options. Gemini names the model and the stream in the path:
 * /v1beta/models/{model}:generateContent, :streamGenerateContent,
 * :countTokens.
 */
int
client_route(struct proxy *px)
{
	const char	*p, *verb;
	size_t		 n;

	p = px->req->path;
	if (strncmp(p, "/v1beta/", 8) == 0) {
		px->client_fmt = XF_GEMINI;
		px->chat = 1;
		px->path = p + 7;
		if (strncmp(px->path, "/models/", 8) != 0 ||
		    (verb = strrchr(px->path + 8, ':')) == NULL)
			return (KORE_RESULT_OK);
		n = (size_t)(verb - (px->path + 8));
		verb++;
		if (strcmp(verb, "streamGenerateContent") == 0)
			px->stream = 1;
		else if (strcmp(verb, "countTokens") == 0)
			px->count_tokens = 1;
		else if (strcmp(verb, "generateContent") != 0)
			return (KORE_RESULT_OK);
		if (n > 0 && n < sizeof(px->model))
			(void)kore_strlcpy(px->model, px->path + 8, n + 1);
		return (KORE_RESULT_OK);
	}

	px->path = p + strlen(px->ops->prefix);
	if (strcmp(px->path, "/messages") == 0 ||
	    strcmp(px->path, "/messages/count_tokens") == 0) {
		px->client_fmt = XF_ANTHROPIC;
		px->count_tokens = (px->path[9] == '/');
	} else if (strcmp(px->path, "/responses") == 0) {
		px->client_fmt = XF_RESPONSES;
	}
	px->chat_path = strcmp(px->path, "/chat/completions") == 0 ||
	    strcmp(px->path, "/completions") == 0;
	px->chat = (px->client_fmt != XF_OPENAI ||
	    strcmp(px->path, "/chat/completions") == 0);
	return (KORE_RESULT_OK);
}

/*
 * What every chat needs before any provider sees it: a non-empty
 * messages array (input for the Responses API, contents for Gemini's),
 * and for Anthropic's a max_tokens (which its API requires; token
 * counting does not). -1 with the client's 400 message in why.
 */
int
client_check_chat(struct proxy *px, char *why, size_t whylen)
{
	const struct json_member	*m;
	long long			 v;
	const char			*name;
	int				 bad;

	name = px->client_fmt == XF_RESPONSES ? "input" :
	    px->client_fmt == XF_GEMINI ? "contents" : "messages";
	m = json_scan_find(px->body, px->members, px->nmembers, name);
	if (px->client_fmt == XF_GEMINI && m == NULL && px->count_tokens)
		m = json_scan_find(px->body, px->members, px->nmembers,
		    "generateContentRequest");
	if (m == NULL)
		bad = 1;
	else if (m->type == JSON_STRING)
		bad = px->client_fmt != XF_RESPONSES || m->value_len <= 2;
	else
		bad = !(m->type == JSON_ARRAY || (m->type == JSON_OBJECT &&
		    px->count_tokens && px->client_fmt == XF_GEMINI)) ||
		    json_scan_empty(px->body, m);
	if (bad) {
		(void)snprintf(why, whylen,
		    "'%s' is required and must be a non-empty %s", name,
		    px->client_fmt == XF_RESPONSES ? "string or array" :
		    "array");
		return (-1);
	}

	if (px->client_fmt != XF_ANTHROPIC || px->count_tokens)
		return (0);

	m = json_scan_find(px->body, px->members, px->nmembers, "max_tokens");
	if (m == NULL || m->type != JSON_NUMBER ||
	    (v = json_scan_uint(px->body, m)) < 1) {
		(void)snprintf(why, whylen,
		    "'max_tokens' is required and must be a positive integer");
		return (-1);
	}

	return (0);
}


/*
 * A multipart/form-data request (audio transcriptions and translations,
 * image edits and variations): routed by its "model" field, its stream
 * field read, its body sent upstream as it is. Returns 1 when the body
 * is multipart (px->model set), 0 when it is not, -1 with the client's
 * 400 message in why.
 */
int
client_multipart(struct proxy *px, char *why, size_t whylen)
{
	const char	*type;
	char		 boundary[80], stream[8];
	int		 rc;

	if (!http_request_header(px->req, "content-type", &type) ||
	    strncasecmp(type, "multipart/", 10) != 0)
		return (0);
	if (multipart_boundary(type, boundary, sizeof(boundary)) == -1) {
		(void)snprintf(why, whylen, "a multipart body must be "
		    "multipart/form-data with a boundary");
		return (-1);
	}
	px->multipart = 1;
	px->body = px->req->http_body->data;
	px->body_len = px->req->content_length;
	rc = multipart_field(px->body, px->body_len, boundary, "model",
	    px->model, sizeof(px->model));
	if (rc == -1) {
		(void)snprintf(why, whylen, "the body is not valid "
		    "multipart/form-data");
		return (-1);
	}
	if (rc == 0 || px->model[0] == '\0') {
		(void)snprintf(why, whylen, "'model' is required and must be a "
		    "non-empty form field");
		return (-1);
	}
	px->stream = multipart_field(px->body, px->body_len, boundary,
	    "stream", stream, sizeof(stream)) == 1 &&
	    strcmp(stream, "true") == 0;
	return (1);
}
