/*
 * What the gateway gives Kore's own HTTP code through the hooks of our
 * Kore patches (conf/kore-*.patch). Kore looks each one up by name when a
 * worker starts, as it does kore_worker_configure(); this file only
 * depends on Kore's headers, so the fuzz harness of Kore's request parser
 * (tests/fuzz/kore_http.c) builds it too.
 *
 * The hooks, declared in Kore's include/kore/http.h by the patch named:
 *
 *   void kore_http_error_body(int status, struct kore_buf *body,
 *       const char **type);
 *	kore-11-error-hook.patch. The body and content type of an answer
 *	Kore writes itself (a malformed request, headers or a body too
 *	slow or too large, a body without a length, a busy worker, an
 *	unknown HTTP version...): here OpenAI's error shape, as every
 *	other answer of the gateway.
 */

#include <kore/kore.h>
#include <kore/http.h>

/* The "code" of Kore's own answers, by status. */
static const char *
kore_hooks_error_code(int status)
{
	switch (status) {
	case HTTP_STATUS_BAD_REQUEST:
		return ("bad_request");
	case HTTP_STATUS_REQUEST_TIMEOUT:
		return ("request_timeout");
	case HTTP_STATUS_LENGTH_REQUIRED:
		return ("length_required");
	case HTTP_STATUS_REQUEST_ENTITY_TOO_LARGE:
		return ("request_too_large");
	case HTTP_STATUS_REQUEST_URI_TOO_LARGE:
		return ("uri_too_long");
	case HTTP_STATUS_HEADER_TOO_LARGE:
		return ("headers_too_large");
	case HTTP_STATUS_NOT_IMPLEMENTED:
		return ("not_implemented");
	case HTTP_STATUS_SERVICE_UNAVAILABLE:
		return ("server_busy");
	case HTTP_STATUS_BAD_VERSION:
		return ("http_version_not_supported");
	default:
		return ("http_error");
	}
}

/*
 * {"error":{"message","type","code"}} as application/json: the message is
 * the status text, the type says whose fault it is. This function can't
 * fail.
 */
void
kore_http_error_body(int status, struct kore_buf *body, const char **type)
{
	kore_buf_appendf(body, "{\"error\":{\"message\":\"%s\",\"type\":"
	    "\"%s\",\"code\":\"%s\"}}", http_status_text(status),
	    status >= 500 ? "server_error" : "invalid_request_error",
	    kore_hooks_error_code(status));
	*type = "application/json";
}
