/*
 * How each provider's API is called and answered: which endpoints it
 * has, the URL, the key header and the body of an attempt (the client's
 * bytes when both sides speak the same API, a translation otherwise),
 * and whole answers put back into the client's format.
 */

#include <string.h>

#include <sodium.h>

#include "dataplane/dataplane.h"

static const void	*proxy_upstream_body(struct proxy *, const char *,
			    size_t *);

/*
 * The body for provider p: the client's bytes with "model" set to the
 * upstream name and, for streams, stream_options.include_usage true.
 * Returns the bytes (px->upbody, or the client's own when nothing needs
 * to change: no copy) and their length in *len; they stay valid until
 * the next attempt.
 */
static const void *
proxy_upstream_body(struct proxy *px, const char *upstream_model, size_t *len)
{
	const struct json_member	*m, *so;
	struct json_member		 sub[16];
	size_t				 sub_end, pos, mlen;
	int				 nsub, i;

	m = json_scan_find(px->body, px->members, px->nmembers, "model");
	mlen = strlen(upstream_model);
	if (!px->stream && m != NULL && m->value_len == mlen + 2 &&
	    memcmp(px->body + m->value + 1, upstream_model, mlen) == 0) {
		*len = px->body_len;
		return (px->body);
	}

	if (px->upbody == NULL)
		px->upbody = kore_buf_alloc(px->body_len + 64);
	kore_buf_reset(px->upbody);

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

	*len = px->upbody->offset;
	return (px->upbody->data);
}

/*
 * Whether provider p's API has the client's endpoint: OpenAI-compatible
 * providers serve every /v1 path but token counting, the others chats
 * only (/chat/completions and /messages, translated).
 */
int
proxy_serves(const struct proxy *px, const struct cfg_provider *p)
{
	if (p->fmt == XF_OPENAI)
		return (!px->count_tokens);
	return (px->chat);
}

/*
 * The upstream body for the current provider, in *body and *len: the
 * client's bytes with the model replaced when both speak the same API
 * (the client's own buffer when nothing changes), else a translation in
 * px->upbody. Returns -1 with the reason in why when the client's request
 * cannot be translated (its fault: a 400).
 */
int
proxy_upstream_request(struct proxy *px, const char *upstream_model,
    char *why, size_t whylen, const void **body, size_t *len)
{
	int	rc;

	if (px->client_fmt == XF_OPENAI && px->up_fmt == XF_OPENAI) {
		*body = proxy_upstream_body(px, upstream_model, len);
		return (0);
	}

	if (px->upbody == NULL)
		px->upbody = kore_buf_alloc(px->body_len + 256);
	kore_buf_reset(px->upbody);

	if (px->count_tokens) {
		rc = xlate_count_request(px->up_fmt, px->body, px->body_len,
		    upstream_model, px->upbody, why, whylen);
	} else {
		rc = xlate_request(px->client_fmt, px->up_fmt, px->body,
		    px->body_len, upstream_model, px->stream, px->upbody, why,
		    whylen);
	}

	*body = px->upbody->data;
	*len = px->upbody->offset;
	return (rc);
}

/*
 * The upstream URL: base_url plus the endpoint of the provider's API.
 * Gemini names the model in the path; OpenAI-compatible providers get
 * the client's own path and query when the client speaks OpenAI.
 */
void
proxy_upstream_url(struct proxy *px, const char *upstream_model,
    struct kore_buf *url)
{
	const char	*base, *verb;
	char		*esc;
	size_t		 blen;

	base = px->cur->provider->base_url;
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	kore_buf_append(url, base, blen);

	switch (px->up_fmt) {
	case XF_ANTHROPIC:
		kore_buf_appendf(url, "%s", px->count_tokens ?
		    "/messages/count_tokens" : "/messages");
		break;
	case XF_GEMINI:
		if (strncmp(upstream_model, "models/", 7) == 0)
			upstream_model += 7;
		if (px->count_tokens)
			verb = "countTokens";
		else if (px->stream)
			verb = "streamGenerateContent?alt=sse";
		else
			verb = "generateContent";
		esc = curl_easy_escape(NULL, upstream_model, 0);
		kore_buf_appendf(url, "/models/%s:%s", esc ? esc : "", verb);
		curl_free(esc);
		break;
	default:
		if (px->client_fmt != XF_OPENAI) {
			kore_buf_appendf(url, "/chat/completions");
			break;
		}
		kore_buf_appendf(url, "%s", px->path);
		if (px->req->query_string != NULL &&
		    *px->req->query_string != '\0')
			kore_buf_appendf(url, "?%s", px->req->query_string);
		break;
	}
}

/*
 * The upstream key in the header its API reads, and the version headers
 * an Anthropic client sent (or the version this gateway speaks).
 */
void
proxy_upstream_headers(struct proxy *px)
{
	const char	*hdr, *secret;
	char		 auth[4200];

	secret = px->cur->key->secret;
	switch (px->up_fmt) {
	case XF_ANTHROPIC:
		kore_curl_http_set_header(&px->curl, "x-api-key", secret);
		if (px->client_fmt != XF_ANTHROPIC ||
		    !http_request_header(px->req, "anthropic-version", &hdr))
			hdr = ANTHROPIC_VERSION;
		kore_curl_http_set_header(&px->curl, "anthropic-version", hdr);
		if (px->client_fmt == XF_ANTHROPIC &&
		    http_request_header(px->req, "anthropic-beta", &hdr))
			kore_curl_http_set_header(&px->curl, "anthropic-beta",
			    hdr);
		break;
	case XF_GEMINI:
		kore_curl_http_set_header(&px->curl, "x-goog-api-key", secret);
		break;
	default:
		(void)snprintf(auth, sizeof(auth), "Bearer %s", secret);
		kore_curl_http_set_header(&px->curl, "authorization", auth);
		sodium_memzero(auth, sizeof(auth));
		if (px->client_fmt == XF_OPENAI &&
		    http_request_header(px->req, "openai-beta", &hdr))
			kore_curl_http_set_header(&px->curl, "openai-beta",
			    hdr);
		break;
	}

	kore_curl_http_set_header(&px->curl, "content-type",
	    "application/json");
	kore_curl_http_set_header(&px->curl, "accept", px->stream ?
	    "text/event-stream" : "application/json");
}

/*
 * A successful whole answer in the client's format: usage read from it,
 * translated when the provider speaks another API. Returns 0 when the
 * upstream's answer is not what its API promises.
 */
int
proxy_answer(struct proxy *px)
{
	struct xlate_usage	u;
	struct kore_buf		*swap;
	int64_t			n;

	if (px->client_fmt == XF_OPENAI && px->up_fmt == XF_OPENAI) {
		proxy_usage(px, px->resp->data, px->resp->offset);
		return (1);
	}

	if (px->xout == NULL)
		px->xout = kore_buf_alloc(px->resp->offset + 256);
	kore_buf_reset(px->xout);

	if (px->count_tokens) {
		if (xlate_count_response(px->up_fmt, px->resp->data,
		    px->resp->offset, px->xout, &n) == -1)
			return (0);
	} else {
		u.prompt_tokens = u.completion_tokens = -1;
		if (xlate_response(px->up_fmt, px->client_fmt, px->resp->data,
		    px->resp->offset, px->model, px->xout, &u) == -1)
			return (0);
		if (u.prompt_tokens >= 0)
			px->prompt_tokens = u.prompt_tokens;
		if (u.completion_tokens >= 0)
			px->completion_tokens = u.completion_tokens;
	}

	swap = px->resp;
	px->resp = px->xout;
	px->xout = swap;
	(void)kore_strlcpy(px->content_type, "application/json",
	    sizeof(px->content_type));
	return (1);
}

/* An upstream's error answer for the client, in the client's format. */
void
proxy_answer_error(struct proxy *px)
{
	struct kore_buf		*swap;

	if (px->client_fmt == px->up_fmt)
		return;

	if (px->xout == NULL)
		px->xout = kore_buf_alloc(512);
	kore_buf_reset(px->xout);
	xlate_error(px->up_fmt, px->client_fmt, (int)px->status,
	    px->resp->data, px->resp->offset, px->xout);

	swap = px->resp;
	px->resp = px->xout;
	px->xout = swap;
	(void)kore_strlcpy(px->content_type, "application/json",
	    sizeof(px->content_type));
}
