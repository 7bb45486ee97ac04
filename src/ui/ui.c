/*
 * The admin SPA: index.html, app.js and app.css, built from web/ into
 * assets/ and compiled into the binary by kodev (assets.h).
 *
 * Every path that is not /api, /v1 or a known asset answers index.html so
 * that client-side routes survive a reload. Files carry Kore's ETag (the
 * SHA-256 of the content) and must be revalidated, since their names never
 * change between builds.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "assets.h"
#include "admin/admin.h"
#include "ui/ui.h"

static int	ui_serve(struct http_request *, const u_int8_t *, u_int32_t,
		    const char *, const char *);
static void	ui_headers(struct http_request *);

/*
 * No inline script or style: the build emits external files only, and
 * React sets style properties through the CSSOM, which CSP allows. The
 * favicon is a data: URL.
 */
#define UI_CSP	"default-src 'self'; script-src 'self'; style-src 'self'; " \
		"img-src 'self' data:; connect-src 'self'; font-src 'self'; " \
		"object-src 'none'; base-uri 'none'; form-action 'self'; " \
		"frame-ancestors 'none'"

static void
ui_headers(struct http_request *req)
{
	http_response_header(req, "content-security-policy", UI_CSP);
	http_response_header(req, "x-frame-options", "DENY");
	http_response_header(req, "x-content-type-options", "nosniff");
	http_response_header(req, "referrer-policy", "no-referrer");
	http_response_header(req, "cache-control", "no-cache");
}

/*
 * GET or HEAD, with the ETag check of Kore's http_serveable(), which
 * itself refuses HEAD. Kore leaves the body out of HEAD answers.
 */
static int
ui_serve(struct http_request *req, const u_int8_t *data, u_int32_t len,
    const char *etag, const char *type)
{
	const char	*match;

	if (api_admin_only(req) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (req->method != HTTP_METHOD_GET && req->method != HTTP_METHOD_HEAD) {
		http_response_header(req, "allow", "GET, HEAD");
		http_response(req, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL, 0);
		return (KORE_RESULT_OK);
	}

	ui_headers(req);
	http_response_header(req, "etag", etag);

	if (http_request_header(req, "if-none-match", &match) &&
	    strcmp(match, etag) == 0) {
		http_response(req, HTTP_STATUS_NOT_MODIFIED, NULL, 0);
		return (KORE_RESULT_OK);
	}

	http_response_header(req, "content-type", type);
	http_response(req, HTTP_STATUS_OK, data, len);

	return (KORE_RESULT_OK);
}

/*
 * "/" and every other path the routes above it did not take. A missing
 * file under /assets/ is a 404, not the page: a script tag must never
 * receive HTML.
 */
int
ui_index(struct http_request *req)
{
	if (api_admin_only(req) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (strncmp(req->path, "/assets/", 8) == 0) {
		ui_headers(req);
		http_response_header(req, "content-type",
		    "text/plain; charset=utf-8");
		http_response(req, HTTP_STATUS_NOT_FOUND, "not found\n", 10);
		return (KORE_RESULT_OK);
	}

	return (ui_serve(req, asset_index_html, asset_len_index_html,
	    asset_sha256_index_html, "text/html; charset=utf-8"));
}

int
ui_app_js(struct http_request *req)
{
	return (ui_serve(req, asset_app_js, asset_len_app_js,
	    asset_sha256_app_js, "application/javascript; charset=utf-8"));
}

int
ui_app_css(struct http_request *req)
{
	return (ui_serve(req, asset_app_css, asset_len_app_css,
	    asset_sha256_app_css, "text/css; charset=utf-8"));
}
