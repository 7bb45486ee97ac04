/*
 * JSON in and out of the admin API, and OpenAI's error shape.
 *
 * Input goes through kore_json. Field names are matched ignoring case and
 * underscores, so {"Name": ...}, {"name": ...} and {"BaseURL": ...} all
 * find their field. Output is written into a kore_buf with escaping.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin/admin.h"

static int	api_get_item(struct http_request *, struct api_body *,
		    const char *, int, struct kore_json_item **);

/*
 * Parse the request body as a JSON object. On failure an error has been
 * sent and KORE_RESULT_ERROR is returned; on success the caller calls
 * api_body_cleanup().
 */
int
api_body_parse(struct http_request *req, struct api_body *body)
{
	struct kore_json	*json;

	memset(body, 0, sizeof(*body));

	/* Kore keeps the whole body in http_body; its offset is a cursor. */
	if (req->http_body == NULL || req->content_length == 0) {
		api_error(req, 400, "invalid_request_error", "invalid_json",
		    "request body must be a JSON object");
		return (KORE_RESULT_ERROR);
	}

	json = kore_calloc(1, sizeof(*json));
	kore_json_init(json, req->http_body->data, req->content_length);

	if (!kore_json_parse(json)) {
		api_error(req, 400, "invalid_request_error", "invalid_json",
		    "malformed JSON: %s", kore_json_strerror(json));
		kore_json_cleanup(json);
		kore_free(json);
		return (KORE_RESULT_ERROR);
	}

	if (json->root->type != KORE_JSON_TYPE_OBJECT) {
		api_error(req, 400, "invalid_request_error", "invalid_json",
		    "request body must be a JSON object");
		kore_json_cleanup(json);
		kore_free(json);
		return (KORE_RESULT_ERROR);
	}

	body->json = json;
	body->root = json->root;

	return (KORE_RESULT_OK);
}

void
api_body_cleanup(struct api_body *body)
{
	if (body->json != NULL) {
		kore_json_cleanup(body->json);
		kore_free(body->json);
	}
	memset(body, 0, sizeof(*body));
}

/* "Base_URL" equals "baseurl": case and underscores do not count. */
int
api_name_equal(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (*a == '\0' || *b == '\0')
			return (*a == *b);
		if ((*a | 0x20) != (*b | 0x20))
			return (0);
		a++;
		b++;
	}
}

/* The member of the body named name, or NULL. Later duplicates win. */
struct kore_json_item *
api_field(struct api_body *body, const char *name)
{
	struct kore_json_item	*item, *found;

	found = NULL;
	TAILQ_FOREACH(item, &body->root->data.items, list) {
		if (item->name != NULL && api_name_equal(item->name, name))
			found = item;
	}

	return (found);
}

/*
 * The value of member item (named name, for the message) as a string, a
 * whole number in [min, max] or a boolean. Returns 0, or -1 with the
 * reason in err; no reply is sent, so that documents read without a
 * request (CONFIG_FILE) are checked as the API checks them.
 */
int
api_item_string(const struct kore_json_item *item, const char *name,
    char **out, char *err, size_t errlen)
{
	if (item->type != KORE_JSON_TYPE_STRING) {
		(void)snprintf(err, errlen, "field '%s' must be a string",
		    name);
		return (-1);
	}
	*out = item->data.string;
	return (0);
}

int
api_item_int(const struct kore_json_item *item, const char *name,
    int64_t min, int64_t max, int64_t *out, char *err, size_t errlen)
{
	int64_t		v;

	if (item->type == KORE_JSON_TYPE_INTEGER) {
		v = item->data.s64;
	} else if (item->type == KORE_JSON_TYPE_INTEGER_U64 &&
	    item->data.u64 <= INT64_MAX) {
		v = (int64_t)item->data.u64;
	} else {
		(void)snprintf(err, errlen, "field '%s' must be a whole number",
		    name);
		return (-1);
	}

	if (v < min || v > max) {
		(void)snprintf(err, errlen, "field '%s' must be from %" PRId64
		    " to %" PRId64, name, min, max);
		return (-1);
	}

	*out = v;
	return (0);
}

int
api_item_bool(const struct kore_json_item *item, const char *name, int *out,
    char *err, size_t errlen)
{
	if (item->type != KORE_JSON_TYPE_LITERAL ||
	    item->data.literal == KORE_JSON_NULL) {
		(void)snprintf(err, errlen, "field '%s' must be true or false",
		    name);
		return (-1);
	}
	*out = (item->data.literal == KORE_JSON_TRUE);
	return (0);
}

/*
 * The member name of body, or NULL: 400 when it is required. Returns 1
 * when present, 0 when absent and not required, -1 after replying.
 */
static int
api_get_item(struct http_request *req, struct api_body *body,
    const char *name, int required, struct kore_json_item **item)
{
	if ((*item = api_field(body, name)) != NULL)
		return (1);
	if (!required)
		return (0);
	api_error(req, 400, "invalid_request_error", "missing_field",
	    "field '%s' is required", name);
	return (-1);
}

/*
 * Refuse a body with a member that none of names (NULL-terminated)
 * matches: a setting the gateway does not have must not look as if it
 * took effect. Answers 400 naming every such member and the known ones,
 * and returns KORE_RESULT_ERROR.
 */
int
api_check_fields(struct http_request *req, struct api_body *body,
    const char *const *names)
{
	struct kore_json_item	*item;
	struct kore_buf		 bad, known;
	size_t			 i;
	int			 n;

	kore_buf_init(&bad, 64);
	n = 0;
	TAILQ_FOREACH(item, &body->root->data.items, list) {
		for (i = 0; names[i] != NULL; i++) {
			if (item->name != NULL &&
			    api_name_equal(item->name, names[i]))
				break;
		}
		if (names[i] != NULL)
			continue;
		if (n++ < 8) {
			kore_buf_appendf(&bad, "%s'%.64s'", n > 1 ? ", " : "",
			    item->name != NULL ? item->name : "");
		}
	}

	if (n == 0) {
		kore_buf_cleanup(&bad);
		return (KORE_RESULT_OK);
	}

	kore_buf_init(&known, 128);
	for (i = 0; names[i] != NULL; i++)
		kore_buf_appendf(&known, "%s%s", i ? ", " : "", names[i]);
	api_error(req, 400, "invalid_request_error", "unknown_field",
	    "unknown field%s %s%s (the fields are: %s)", n > 1 ? "s" : "",
	    kore_buf_stringify(&bad, NULL), n > 8 ? " and more" : "",
	    kore_buf_stringify(&known, NULL));
	kore_buf_cleanup(&bad);
	kore_buf_cleanup(&known);
	return (KORE_RESULT_ERROR);
}

/*
 * Read a string field. Returns 1 and sets *out (owned by the body) when
 * present, 0 when absent and not required, -1 after replying 400.
 */
int
api_get_string(struct http_request *req, struct api_body *body,
    const char *name, int required, char **out)
{
	struct kore_json_item	*item;
	char			 err[128];
	int			 rc;

	*out = NULL;
	if ((rc = api_get_item(req, body, name, required, &item)) != 1)
		return (rc);
	if (api_item_string(item, name, out, err, sizeof(err)) == -1) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "%s", err);
		return (-1);
	}
	return (1);
}

/* As api_get_string for a whole number in [min, max]. */
int
api_get_int(struct http_request *req, struct api_body *body,
    const char *name, int64_t min, int64_t max, int required, int64_t *out)
{
	struct kore_json_item	*item;
	char			 err[128];
	int			 rc;

	if ((rc = api_get_item(req, body, name, required, &item)) != 1)
		return (rc);
	if (api_item_int(item, name, min, max, out, err, sizeof(err)) == -1) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "%s", err);
		return (-1);
	}
	return (1);
}

/* As api_get_string for true or false. */
int
api_get_bool(struct http_request *req, struct api_body *body,
    const char *name, int required, int *out)
{
	struct kore_json_item	*item;
	char			 err[128];
	int			 rc;

	if ((rc = api_get_item(req, body, name, required, &item)) != 1)
		return (rc);
	if (api_item_bool(item, name, out, err, sizeof(err)) == -1) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "%s", err);
		return (-1);
	}
	return (1);
}

/*
 * The numeric id that follows prefix in the request path
 * ("/api/admin/groups/" + "12"). KORE_RESULT_ERROR after a 404.
 */
int
api_path_id(struct http_request *req, const char *prefix, int64_t *id)
{
	size_t		len;
	long long	n;
	int		err;

	len = strlen(prefix);
	if (strncmp(req->path, prefix, len) != 0)
		goto notfound;

	n = kore_strtonum(req->path + len, 10, 1, INT64_MAX, &err);
	if (err != KORE_RESULT_OK)
		goto notfound;

	*id = n;
	return (KORE_RESULT_OK);

notfound:
	api_error(req, 404, "invalid_request_error", "not_found",
	    "no such resource: %s", req->path);
	return (KORE_RESULT_ERROR);
}

/*
 * A query parameter, URL-decoded, owned by the caller; NULL when absent.
 * The last one wins when it is given twice.
 */
char *
api_query_string(struct http_request *req, const char *name)
{
	char	*copy, *pair, *next, *eq, *out;

	if (req->query_string == NULL)
		return (NULL);

	out = NULL;
	copy = kore_strdup(req->query_string);
	for (pair = copy; pair != NULL; pair = next) {
		if ((next = strchr(pair, '&')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(pair, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(pair, name) != 0 || !http_argument_urldecode(eq))
			continue;
		kore_free(out);
		out = kore_strdup(eq);
	}
	kore_free(copy);

	return (out);
}

/*
 * A whole-number query parameter in [min, max]. Returns 1 when present
 * and valid, 0 when absent, -1 after replying 400.
 */
int
api_query_int(struct http_request *req, const char *name, int64_t min,
    int64_t max, int64_t *out)
{
	char		*v;
	long long	 n;
	int		 err;

	if ((v = api_query_string(req, name)) == NULL)
		return (0);

	n = kore_strtonum(v, 10, min, max, &err);
	kore_free(v);
	if (err != KORE_RESULT_OK) {
		api_error(req, 400, "invalid_request_error",
		    "invalid_parameter", "query parameter '%s' must be a "
		    "whole number from %" PRId64 " to %" PRId64, name, min,
		    max);
		return (-1);
	}

	*out = n;
	return (1);
}

/*
 * A query parameter that is "true" or "false" into *out (0 when absent).
 * Returns 1 when present, 0 when absent, -1 after replying 400.
 */
int
api_query_bool(struct http_request *req, const char *name, int *out)
{
	char	*v;
	int	 rc;

	*out = 0;
	if ((v = api_query_string(req, name)) == NULL)
		return (0);
	rc = 1;
	if (strcmp(v, "true") == 0) {
		*out = 1;
	} else if (strcmp(v, "false") != 0) {
		api_error(req, 400, "invalid_request_error",
		    "invalid_parameter", "query parameter '%s' must be true or "
		    "false", name);
		rc = -1;
	}
	kore_free(v);
	return (rc);
}

/*
 * With ADMIN_BIND_ADDRESS set, the admin API and the UI are served only on
 * the admin listener: elsewhere they answer 404 as if they did not exist,
 * and KORE_RESULT_ERROR is returned.
 */
int
api_admin_only(struct http_request *req)
{
	struct listener		*l;

	if (fusion_cfg.admin_port == NULL)
		return (KORE_RESULT_OK);

	l = req->owner != NULL ? req->owner->owner : NULL;
	if (l != NULL && l->host != NULL && l->port != NULL &&
	    strcmp(l->host, fusion_cfg.admin_host) == 0 &&
	    strcmp(l->port, fusion_cfg.admin_port) == 0)
		return (KORE_RESULT_OK);

	api_error(req, 404, "invalid_request_error", "not_found",
	    "unknown path: %s %s", http_method_text(req->method), req->path);
	return (KORE_RESULT_ERROR);
}

/*
 * Is the request's method one of allowed (HTTP_METHOD_* bits)? If not,
 * reply 405 with an Allow header naming them (allow, e.g. "GET") and
 * return KORE_RESULT_ERROR.
 */
int
api_method(struct http_request *req, int allowed, const char *allow)
{
	if (req->method & allowed)
		return (KORE_RESULT_OK);

	http_response_header(req, "allow", allow);
	api_error(req, 405, "invalid_request_error", "method_not_allowed",
	    "use %s", allow);
	return (KORE_RESULT_ERROR);
}

/*
 * A page of a list: ?limit= (1 to API_LIMIT_MAX, default def) and
 * ?offset=. KORE_RESULT_ERROR after a 400.
 */
int
api_paging(struct http_request *req, int64_t def, int64_t *limit,
    int64_t *offset)
{
	*limit = def;
	*offset = 0;
	if (api_query_int(req, "limit", 1, API_LIMIT_MAX, limit) < 0 ||
	    api_query_int(req, "offset", 0, INT32_MAX, offset) < 0)
		return (KORE_RESULT_ERROR);
	return (KORE_RESULT_OK);
}

/*
 * Reply with OpenAI's error shape:
 * {"error":{"message":"...","type":"...","code":"..."}}.
 */
void
api_error(struct http_request *req, int status, const char *type,
    const char *code, const char *fmt, ...)
{
	struct kore_buf		*buf;
	va_list			 args;
	char			 msg[512];

	va_start(args, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);

	buf = kore_buf_alloc(256);
	api_error_body(buf, type, code, msg);
	glue_reply_json(req, status, buf);
}

/* The body of such an error, into buf (any thread). */
void
api_error_body(struct kore_buf *buf, const char *type, const char *code,
    const char *msg)
{
	kore_buf_appendf(buf, "{\"error\":{");
	json_kv_str(buf, "message", msg, 1);
	json_kv_str(buf, "type", type, 0);
	json_kv_str(buf, "code", code, 0);
	kore_buf_appendf(buf, "}}");
}

void
api_db_error(struct http_request *req)
{
	api_error(req, 500, "server_error", "database_error",
	    "the database could not complete the request");
}

/* Wrap the items in buf (freed here) as {"data":[...],"total":N}. */
void
api_reply_list(struct http_request *req, struct kore_buf *items,
    int64_t total)
{
	struct kore_buf		*buf;

	buf = kore_buf_alloc(items->offset + 64);
	kore_buf_appendf(buf, "{\"data\":[");
	kore_buf_append(buf, items->data, items->offset);
	kore_buf_appendf(buf, "],\"total\":%" PRId64 "}", total);
	kore_buf_free(items);

	glue_reply_json(req, 200, buf);
}

/*
 * A column holding JSON the store wrote itself (model lists, aliases,
 * traces): copied as it is.
 */
void
json_column(struct kore_buf *buf, sqlite3_stmt *stmt, int col)
{
	const unsigned char	*v;

	if ((v = sqlite3_column_text(stmt, col)) == NULL)
		kore_buf_appendf(buf, "null");
	else
		kore_buf_append(buf, v, strlen((const char *)v));
}
