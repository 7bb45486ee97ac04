/*
 * One upstream attempt: which endpoints each provider's API has, the URL,
 * the key header and the body (the client's bytes when both sides speak
 * the same API, a translation otherwise), the curl transfer with Kore's
 * async curl and its callbacks (a stream's bytes go to relay.c), and the
 * whole answer put back into the client's format. The provider's own
 * transport and rewrites apply to every attempt: its forward proxy, the
 * headers it adds, the overrides of its JSON body. A request of the
 * gateway's own (ops->url: a model list) is a GET of the URL it names.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "dataplane/dataplane.h"

static char		*ca_bundle = NULL;
static size_t		 ca_bundle_len = 0;

static const void	*upstream_body(struct proxy *, const char *,
			    size_t *);
static int		 upstream_request(struct proxy *, const char *, char *,
			    size_t, const void **, size_t *);
static void		 upstream_url(struct proxy *, const char *,
			    struct kore_buf *);
static void		 upstream_headers(struct proxy *);
static void		 upstream_tls(struct proxy *);
static void		 upstream_proxy(struct proxy *);
static void		 upstream_override(struct proxy *, const void **,
			    size_t *);
static size_t		 upstream_header_cb(char *, size_t, size_t, void *);
static size_t		 upstream_write_cb(char *, size_t, size_t, void *);


/*
 * The system CA bundle, read once by the parent: chrooted workers cannot
 * open /etc/ssl, so every transfer gets the certificates from memory.
 */
void
upstream_load_ca(void)
{
	const char	*paths[] = { "/etc/ssl/certs/ca-certificates.crt",
			    "/etc/pki/tls/certs/ca-bundle.crt", NULL };
	FILE		*fp;
	long		 len;
	int		 i;

	for (i = 0; paths[i] != NULL; i++) {
		if ((fp = fopen(paths[i], "r")) == NULL)
			continue;
		if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) > 0 &&
		    fseek(fp, 0, SEEK_SET) == 0) {
			ca_bundle = kore_malloc((size_t)len);
			ca_bundle_len = fread(ca_bundle, 1, (size_t)len, fp);
		}
		fclose(fp);
		if (ca_bundle_len > 0)
			return;
	}

	kore_log(LOG_WARNING, "no system CA bundle found: https upstreams "
	    "need a provider ca_cert or tls_verify false");
}

/*
 * The body for provider p: the client's bytes with "model" set to the
 * upstream name and, for streams of the APIs that have stream_options
 * (chat completions, completions), stream_options.include_usage true.
 * Returns the bytes (px->upbody, or the client's own when nothing needs
 * to change: no copy) and their length in *len; they stay valid until
 * the next attempt.
 */
static const void *
upstream_body(struct proxy *px, const char *upstream_model, size_t *len)
{
	const struct json_member	*m, *so;
	struct json_member		 sub[16];
	size_t				 sub_end, pos, mlen;
	int				 nsub, i;

	m = json_scan_find(px->body, px->members, px->nmembers, "model");
	mlen = strlen(upstream_model);
	if ((!px->stream || !px->chat_path) && m != NULL &&
	    m->value_len == mlen + 2 &&
	    memcmp(px->body + m->value + 1, upstream_model, mlen) == 0) {
		*len = px->body_len;
		return (px->body);
	}

	if (px->upbody == NULL)
		px->upbody = kore_buf_alloc(px->body_len + 64);
	kore_buf_reset(px->upbody);

	so = px->stream && px->chat_path ? json_scan_find(px->body,
	    px->members, px->nmembers, "stream_options") : NULL;

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
	if (px->stream && px->chat_path && so == NULL) {
		kore_buf_appendf(px->upbody, "%s\"stream_options\":"
		    "{\"include_usage\":true}", px->nmembers > 0 ? "," : "");
	}
	kore_buf_append(px->upbody, px->body + px->obj_end,
	    px->body_len - px->obj_end);

	*len = px->upbody->offset;
	return (px->upbody->data);
}

/*
 * Start an attempt with the current pick and upstream_model: reset what
 * the last attempt left, make the body, the URL and the headers, and hand
 * the transfer to Kore's async curl. Returns KORE_RESULT_OK when it runs,
 * KORE_RESULT_ERROR when the client's request cannot be said in this
 * provider's API (why says how: the client's 400), KORE_RESULT_RETRY
 * when curl could not be set up (why says so: try the next pick).
 */
int
upstream_start(struct proxy *px, const char *upstream_model, char *why,
    size_t whylen)
{
	struct router_pick	*pk = px->cur;
	struct kore_buf		 url;
	const void		*upload;
	size_t			 upload_len;

	memset(&px->up, 0, sizeof(px->up));
	px->up.retry_after = -1;
	/* Only the attempt that answers counts its tokens (and costs). */
	xlate_usage_init(&px->usage);
	px->text_bytes = 0;
	px->head_seen = 0;
	px->timed_out = 0;
	px->aborted = 0;
	px->done_seen = 0;
	px->raw = 0;
	px->upstream_broke = 0;
	px->upstream_first = 0;
	px->abort_reason[0] = '\0';
	if (px->resp != NULL)
		kore_buf_reset(px->resp);
	else
		px->resp = kore_buf_alloc(1024);
	sse_free(&px->sse);
	sse_init(&px->sse);
	if (px->hold != NULL)
		kore_buf_reset(px->hold);

	px->up_fmt = pk->provider->fmt;
	/* The Responses API as it is where the provider has it. */
	if (px->client_fmt == XF_RESPONSES && px->up_fmt == XF_OPENAI &&
	    pk->provider->responses_api)
		px->up_fmt = XF_RESPONSES;
	px->event_status = 0;
	px->xlating = px->stream &&
	    (px->client_fmt != XF_OPENAI || px->up_fmt != XF_OPENAI);
	xlate_stream_free(&px->xs);
	if (px->xlating) {
		xlate_stream_init(&px->xs, px->up_fmt, px->client_fmt,
		    px->model, px->log.request_id, px->log.created_at);
		/* As from OpenAI: the usage chunk only when asked for. */
		px->xs.omit_usage = (px->client_fmt == XF_OPENAI &&
		    !px->client_usage);
	}

	upload = NULL;
	upload_len = 0;
	kore_buf_init(&url, 256);
	if (px->ops->url != NULL) {
		px->ops->url(px, &url);
	} else {
		if (upstream_request(px, upstream_model, why, whylen, &upload,
		    &upload_len) == -1) {
			kore_buf_cleanup(&url);
			return (KORE_RESULT_ERROR);
		}
		upstream_override(px, &upload, &upload_len);
		upstream_url(px, upstream_model, &url);
	}
	if (!kore_curl_init(&px->curl, kore_buf_stringify(&url, NULL),
	    KORE_CURL_ASYNC)) {
		kore_buf_cleanup(&url);
		(void)kore_strlcpy(why, "cannot set up curl", whylen);
		return (KORE_RESULT_RETRY);
	}
	kore_buf_cleanup(&url);
	px->curl_live = 1;

	/*
	 * The body goes from our buffer as it is (Kore's own setup would
	 * copy it once more), and with the headers in one send when small.
	 */
	if (upload != NULL) {
		kore_curl_http_setup(&px->curl, HTTP_METHOD_POST, NULL, 0);
		curl_easy_setopt(px->curl.handle, CURLOPT_POSTFIELDS, upload);
		curl_easy_setopt(px->curl.handle, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)upload_len);
	} else {
		kore_curl_http_setup(&px->curl, HTTP_METHOD_GET, NULL, 0);
	}
	upstream_headers(px);
	observe_attempt(px);

	curl_easy_setopt(px->curl.handle, CURLOPT_USERAGENT,
	    "llm-fusion-engine");
	curl_easy_setopt(px->curl.handle, CURLOPT_TIMEOUT, 0L);
	curl_easy_setopt(px->curl.handle, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)pk->provider->timeout_ms);
	curl_easy_setopt(px->curl.handle, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(px->curl.handle, CURLOPT_BUFFERSIZE,
	    (long)PROXY_CURL_BUFFER);
	curl_easy_setopt(px->curl.handle, CURLOPT_HEADERFUNCTION,
	    upstream_header_cb);
	curl_easy_setopt(px->curl.handle, CURLOPT_HEADERDATA, px);
	curl_easy_setopt(px->curl.handle, CURLOPT_WRITEFUNCTION,
	    upstream_write_cb);
	curl_easy_setopt(px->curl.handle, CURLOPT_WRITEDATA, px);
	curl_easy_setopt(px->curl.handle, CURLOPT_PROTOCOLS_STR, "http,https");
	upstream_tls(px);
	upstream_proxy(px);

	px->attempt_start = kore_time_ms();
	px->last_activity = px->attempt_start;
	if (px->req != NULL)
		kore_curl_bind_request(&px->curl, px->req);
	else
		kore_curl_bind_callback(&px->curl, proxy_wake, px);
	kore_curl_run(&px->curl);
	return (KORE_RESULT_OK);
}

/*
 * The provider's forward proxy, when it has one: http://, https:// or
 * socks5h:// as libcurl reads the URL, credentials included. A TLS
 * proxy is trusted as the provider's upstream is (tls_verify, ca_cert).
 */
static void
upstream_proxy(struct proxy *px)
{
	const struct cfg_provider	*p = px->cur->provider;
	struct curl_blob		 blob;

	if (p->proxy_url == NULL)
		return;

	curl_easy_setopt(px->curl.handle, CURLOPT_PROXY, p->proxy_url);
	if (strncmp(p->proxy_url, "https:", 6) != 0)
		return;
	if (!p->tls_verify) {
		curl_easy_setopt(px->curl.handle, CURLOPT_PROXY_SSL_VERIFYPEER,
		    0L);
		curl_easy_setopt(px->curl.handle, CURLOPT_PROXY_SSL_VERIFYHOST,
		    0L);
		return;
	}
	blob.data = p->ca_cert[0] != '\0' ? p->ca_cert : ca_bundle;
	blob.len = p->ca_cert[0] != '\0' ? strlen(p->ca_cert) : ca_bundle_len;
	blob.flags = p->ca_cert[0] != '\0' ? CURL_BLOB_COPY : CURL_BLOB_NOCOPY;
	if (blob.data != NULL)
		curl_easy_setopt(px->curl.handle, CURLOPT_PROXY_CAINFO_BLOB,
		    &blob);
}

/*
 * The provider's body_overrides on the body about to go out (*body,
 * *len): its members set and removed, in px->upbody. A body that is no
 * JSON object goes as it is.
 */
static void
upstream_override(struct proxy *px, const void **body, size_t *len)
{
	const struct cfg_provider	*p = px->cur->provider;
	struct kore_buf			*out;

	if (p->nset == 0 && p->nremove == 0)
		return;

	out = kore_buf_alloc(*len + 256);
	if (json_override(*body, *len, p->set_names, p->set_values, p->nset,
	    p->remove_names, p->nremove, out) == -1) {
		kore_buf_free(out);
		return;
	}
	if (px->upbody != NULL)
		kore_buf_free(px->upbody);
	px->upbody = out;
	*body = out->data;
	*len = out->offset;
}

/*
 * The URL of provider p's list of models, with query (or NULL): each
 * API has it under its base URL.
 */
void
upstream_models_url(const struct cfg_provider *p, const char *query,
    struct kore_buf *url)
{
	size_t	blen;

	blen = strlen(p->base_url);
	while (blen > 0 && p->base_url[blen - 1] == '/')
		blen--;
	kore_buf_append(url, p->base_url, blen);
	kore_buf_appendf(url, "/models%s%s", query != NULL ? "?" : "",
	    query != NULL ? query : "");
}

/*
 * Whom the transfer trusts: nobody when the provider says tls_verify
 * false, its own ca_cert when it has one, else the system's bundle. And
 * what a TLS connection holds: libcurl copies the request into an upload
 * buffer of its own for TLS (64 KB by default, kept as long as the
 * handle, one per stream in flight); its smallest (16 KB) is plenty for
 * a request that goes out in one send.
 */
static void
upstream_tls(struct proxy *px)
{
	const struct cfg_provider	*p = px->cur->provider;
	struct curl_blob		 blob;

	curl_easy_setopt(px->curl.handle, CURLOPT_UPLOAD_BUFFERSIZE,
	    (long)PROXY_CURL_UPLOAD_BUFFER);

	if (!p->tls_verify) {
		curl_easy_setopt(px->curl.handle, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(px->curl.handle, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (p->ca_cert[0] != '\0') {
		blob.data = p->ca_cert;
		blob.len = strlen(p->ca_cert);
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(px->curl.handle, CURLOPT_CAINFO_BLOB, &blob);
	} else if (ca_bundle != NULL &&
	    strncasecmp(p->base_url, "https:", 6) == 0) {
		/*
		 * Only for TLS: libcurl copies the CA blob (200 KB) into
		 * every connection it makes, plain HTTP ones too, and keeps
		 * it while the connection idles in its cache.
		 */
		blob.data = ca_bundle;
		blob.len = ca_bundle_len;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(px->curl.handle, CURLOPT_CAINFO_BLOB, &blob);
	}
}

/*
 * A header line of the upstream's answer: the transfer is alive, and at
 * the end of the headers curl says what the answer is (glue.c).
 */
static size_t
upstream_header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct proxy	*px = arg;

	px->last_activity = kore_time_ms();
	if (px->upstream_first == 0)
		px->upstream_first = px->last_activity;
	if (glue_upstream_head(px->curl.handle, ptr, size * nmemb, &px->up))
		px->head_seen = 1;
	return (size * nmemb);
}

/* Body bytes of the upstream's answer. */
static size_t
upstream_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct proxy	*px = arg;
	size_t		 len;

	len = size * nmemb;
	px->last_activity = kore_time_ms();

	if (px->req != NULL && px->req->owner == NULL) {
		px->aborted = 1;
		return (0);
	}

	if (px->up.status < 200 || px->up.status > 299) {
		if (px->resp->offset + len <= PROXY_ERRBODY_MAX)
			kore_buf_append(px->resp, ptr, len);
		return (len);
	}

	/* Audio and images: relayed as they come. */
	if (!px->up.event_stream && px->client_fmt == XF_OPENAI &&
	    px->up_fmt == XF_OPENAI && px->up.content_type[0] != '\0' &&
	    strncasecmp(px->up.content_type, "application/json", 16) != 0 &&
	    strncasecmp(px->up.content_type, "text/", 5) != 0)
		px->raw = 1;
	if (px->raw) {
		if (relay_raw(px, ptr, len) != KORE_RESULT_OK) {
			px->aborted = 1;
			return (0);
		}
		return (len);
	}

	if ((px->stream || px->multipart) && px->up.event_stream) {
		if (relay_feed(px, ptr, len) != KORE_RESULT_OK) {
			px->aborted = 1;
			return (0);
		}
		return (len);
	}

	if (px->resp->offset + len > fusion_cfg.response_max) {
		(void)kore_strlcpy(px->abort_reason, "the upstream answer "
		    "exceeds the size limit", sizeof(px->abort_reason));
		px->aborted = 1;
		return (0);
	}
	kore_buf_append(px->resp, ptr, len);

	return (len);
}

/*
 * The message of an upstream error body, in any of the APIs, or the
 * start of the body when it has none; with the upstream key masked
 * wherever it appears.
 */
void
upstream_error_message(struct proxy *px, char *out, size_t outlen)
{
	const char	*secret, *masked;
	size_t		 klen, mlen;
	char		*hit;

	out[0] = '\0';
	if (px->resp == NULL || px->resp->offset == 0)
		return;

	json_error_message(px->resp->data, px->resp->offset, out, outlen);
	if (out[0] == '\0') {
		(void)snprintf(out, outlen, "%.*s",
		    (int)(px->resp->offset < 120 ? px->resp->offset : 120),
		    px->resp->data);
	}

	/* Never pass an upstream key on, even inside a message. */
	if (px->cur == NULL || px->cur->key == NULL)
		return;
	secret = px->cur->key->secret;
	masked = px->cur->key->masked;
	klen = strlen(secret);
	mlen = strlen(masked) < klen ? strlen(masked) : klen;
	while (klen >= 8 && (hit = strstr(out, secret)) != NULL) {
		memset(hit, '*', klen);
		memcpy(hit, masked, mlen);
	}
}

/*
 * Whether provider p's API has the client's endpoint: OpenAI-compatible
 * providers serve every /v1 path but token counting, the others chats
 * only (/chat/completions and /messages, translated). Every API has a
 * list of models (ops->url).
 */
int
upstream_serves(const struct proxy *px, const struct cfg_provider *p)
{
	if (px->ops->url != NULL)
		return (1);
	if (p->fmt == XF_OPENAI)
		return (!px->count_tokens && (px->client_fmt == XF_OPENAI ||
		    px->chat));
	return (px->chat);
}

/*
 * The upstream body for the current provider, in *body and *len: the
 * client's bytes with the model replaced when both speak the same API
 * (the client's own buffer when nothing changes), else a translation in
 * px->upbody. Returns -1 with the reason in why when the client's request
 * cannot be translated (its fault: a 400).
 */
static int
upstream_request(struct proxy *px, const char *upstream_model,
    char *why, size_t whylen, const void **body, size_t *len)
{
	int	rc;

	if (px->multipart) {
		*body = px->body;
		*len = px->body_len;
		return (0);
	}
	if (px->client_fmt == px->up_fmt && (px->up_fmt == XF_OPENAI ||
	    px->up_fmt == XF_RESPONSES)) {
		*body = upstream_body(px, upstream_model, len);
		return (0);
	}

	if (px->upbody == NULL)
		px->upbody = kore_buf_alloc(px->body_len + 256);
	kore_buf_reset(px->upbody);

	if (px->count_tokens) {
		rc = xlate_count_request(px->client_fmt, px->up_fmt, px->body,
		    px->body_len, upstream_model, px->upbody, why, whylen);
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
static void
upstream_url(struct proxy *px, const char *upstream_model,
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
		if (px->up_fmt != px->client_fmt) {
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
 * The upstream key in the header its API reads, the version headers an
 * Anthropic client sent (or the version this gateway speaks), and the
 * provider's extra headers, which never replace the gateway's own.
 */
static void
upstream_headers(struct proxy *px)
{
	const struct cfg_provider	*p = px->cur->provider;
	const char			*hdr, *secret;
	char				 auth[4200];
	size_t				 i;
	int				 own;

	/* A request of the gateway's own forwards no client header. */
	own = (px->ops->url != NULL || px->req == NULL);
	secret = px->cur->key->secret;
	switch (px->up_fmt) {
	case XF_ANTHROPIC:
		kore_curl_http_set_header(&px->curl, "x-api-key", secret);
		if (own || px->client_fmt != XF_ANTHROPIC ||
		    !http_request_header(px->req, "anthropic-version", &hdr))
			hdr = ANTHROPIC_VERSION;
		kore_curl_http_set_header(&px->curl, "anthropic-version", hdr);
		if (!own && px->client_fmt == XF_ANTHROPIC &&
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
		if (!own && px->client_fmt == px->up_fmt &&
		    http_request_header(px->req, "openai-beta", &hdr))
			kore_curl_http_set_header(&px->curl, "openai-beta",
			    hdr);
		break;
	}

	for (i = 0; i < p->nheaders; i++) {
		if (validate_header_name(p->header_names[i]))
			kore_curl_http_set_header(&px->curl,
			    p->header_names[i], p->header_values[i]);
	}

	if (px->ops->url == NULL) {
		if (!px->multipart ||
		    !http_request_header(px->req, "content-type", &hdr))
			hdr = "application/json";
		kore_curl_http_set_header(&px->curl, "content-type", hdr);
	}
	kore_curl_http_set_header(&px->curl, "accept", px->stream ?
	    "text/event-stream" : "application/json");
}

/*
 * A successful whole answer in the client's format: usage read from it,
 * translated when the provider speaks another API. Returns
 * KORE_RESULT_ERROR when the upstream's answer is not what its API
 * promises.
 */
int
upstream_answer(struct proxy *px)
{
	struct xlate_usage	u;
	struct kore_buf		*swap;
	int64_t			n;

	if (px->client_fmt == px->up_fmt && (px->up_fmt == XF_OPENAI ||
	    px->up_fmt == XF_RESPONSES)) {
		xlate_usage_init(&u);
		xlate_answer_usage(XF_OPENAI, px->resp->data, px->resp->offset,
		    &u);
		proxy_usage(px, &u);
		return (KORE_RESULT_OK);
	}

	if (px->xout == NULL)
		px->xout = kore_buf_alloc(px->resp->offset + 256);
	kore_buf_reset(px->xout);

	if (px->count_tokens) {
		if (xlate_count_response(px->up_fmt, px->client_fmt,
		    px->resp->data, px->resp->offset, px->xout, &n) == -1)
			return (KORE_RESULT_ERROR);
	} else {
		if (xlate_response(px->up_fmt, px->client_fmt, px->resp->data,
		    px->resp->offset, px->model, px->xout, &u) == -1)
			return (KORE_RESULT_ERROR);
		proxy_usage(px, &u);
	}

	swap = px->resp;
	px->resp = px->xout;
	px->xout = swap;
	(void)kore_strlcpy(px->up.content_type, "application/json",
	    sizeof(px->up.content_type));
	return (KORE_RESULT_OK);
}

/* An upstream's error answer for the client, in the client's format. */
void
upstream_answer_error(struct proxy *px)
{
	struct kore_buf		*swap;

	if (px->client_fmt == px->up_fmt)
		return;

	if (px->xout == NULL)
		px->xout = kore_buf_alloc(512);
	kore_buf_reset(px->xout);
	xlate_error(px->up_fmt, px->client_fmt, (int)px->up.status,
	    px->resp->data, px->resp->offset, px->xout);

	swap = px->resp;
	px->resp = px->xout;
	px->xout = swap;
	(void)kore_strlcpy(px->up.content_type, "application/json",
	    sizeof(px->up.content_type));
}
