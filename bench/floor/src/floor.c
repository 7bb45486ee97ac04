/*
 * The floor of fusion's stack, for bench/run: Kore's HTTP server and
 * libcurl through Kore's curl glue (the same patched Kore copy fusion is
 * built from), proxying each POST to the upstream at the same path and
 * answering with the upstream's whole answer. No authentication, routing,
 * request log or usage capture: what is left is the cost of the stack.
 */

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

void		kore_parent_configure(int, char **);
int		floor_proxy(struct http_request *);

static int	state_send(struct http_request *);
static int	state_answer(struct http_request *);

static struct http_state states[] = {
	KORE_HTTP_STATE(state_send),
	KORE_HTTP_STATE(state_answer)
};

void
kore_parent_configure(int argc, char **argv)
{
	kore_default_getopt(argc, argv);
}

int
floor_proxy(struct http_request *req)
{
	return (http_state_run(states, 2, req));
}

static int
state_send(struct http_request *req)
{
	struct kore_curl	*client;
	struct kore_buf		 url;
	const char		*base;

	if ((base = getenv("FLOOR_UPSTREAM")) == NULL)
		base = "http://127.0.0.1:18001";

	client = http_state_create(req, sizeof(*client), NULL);
	kore_buf_init(&url, 128);
	kore_buf_appendf(&url, "%s%s", base, req->path);
	if (!kore_curl_init(client, kore_buf_stringify(&url, NULL),
	    KORE_CURL_ASYNC)) {
		kore_buf_cleanup(&url);
		http_response(req, 500, NULL, 0);
		return (HTTP_STATE_COMPLETE);
	}
	kore_buf_cleanup(&url);

	/* As fusion sends it: the body from our buffer, a 4 KB buffer. */
	kore_curl_http_setup(client, HTTP_METHOD_POST, NULL, 0);
	if (req->http_body != NULL) {
		curl_easy_setopt(client->handle, CURLOPT_POSTFIELDS,
		    req->http_body->data);
		curl_easy_setopt(client->handle, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->http_body->length);
	}
	curl_easy_setopt(client->handle, CURLOPT_BUFFERSIZE, 4096L);
	curl_easy_setopt(client->handle, CURLOPT_TCP_NODELAY, 1L);
	kore_curl_http_set_header(client, "content-type", "application/json");
	kore_curl_http_set_header(client, "authorization",
	    "Bearer sk-bench-upstream");

	kore_curl_bind_request(client, req);
	kore_curl_run(client);
	req->fsm_state = 1;

	return (HTTP_STATE_RETRY);
}

static int
state_answer(struct http_request *req)
{
	size_t			 len;
	const u_int8_t		*body;
	struct kore_curl	*client;

	client = http_state_get(req);
	if (!kore_curl_success(client)) {
		http_response(req, 502, NULL, 0);
	} else {
		kore_curl_response_as_bytes(client, &body, &len);
		http_response_header(req, "content-type", "application/json");
		http_response(req, client->http.status, body, len);
	}
	kore_curl_cleanup(client);
	http_state_cleanup(req);

	return (HTTP_STATE_COMPLETE);
}
