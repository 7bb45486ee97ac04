/*
 * The logs' pages. GET /api/admin/logs: the request log, newest first,
 * with paging and filters (?model= &request_id= &provider_id=
 * &client_key_id= &status= &since= &until= as epoch seconds); each row
 * carries its routing trace, and a playground request the admin who
 * sent it. GET /api/admin/audit: the audit log (audit.c writes
 * it), newest first.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "admin/admin.h"

static int	 query_time(struct http_request *, const char *, int64_t *);

/*
 * A time query parameter: epoch seconds or RFC 3339 UTC. 1 when given,
 * 0 when absent, -1 after a 400.
 */
static int
query_time(struct http_request *req, const char *name, int64_t *out)
{
	char		*v;
	long long	 n;
	int		 err, rc;

	if ((v = api_query_string(req, name)) == NULL)
		return (0);

	rc = 1;
	n = kore_strtonum(v, 10, 0, INT64_MAX, &err);
	if (err == KORE_RESULT_OK)
		*out = n;
	else if (!validate_time(v, out)) {
		api_error(req, 400, "invalid_request_error",
		    "invalid_parameter", "query parameter '%s' must be epoch "
		    "seconds or an RFC 3339 UTC time", name);
		rc = -1;
	}

	kore_free(v);
	return (rc);
}

/* The filters of a log query: ?model= and the numeric ones below. */
struct log_filter {
	char		*model;
	char		*request_id;
	int		 has[5];
	int64_t		 value[5];
};

static const char	*filter_sql[5] = {
	" AND l.provider_id = ?2", " AND l.client_key_id = ?3",
	" AND l.status = ?4", " AND l.created_at >= ?5",
	" AND l.created_at < ?6",
};

/* Bind parameters ?1 to ?6 of a query built with filter_sql. */
static void
filter_bind(sqlite3_stmt *st, const struct log_filter *f)
{
	int	i;

	if (f->model != NULL)
		sqlite3_bind_text(st, 1, f->model, -1, SQLITE_STATIC);
	if (f->request_id != NULL)
		sqlite3_bind_text(st, 9, f->request_id, -1, SQLITE_STATIC);
	for (i = 0; i < 5; i++)
		sqlite3_bind_int64(st, i + 2, f->has[i] ? f->value[i] : 0);
}

int
admin_logs(struct http_request *req)
{
	struct admin_user	 user;
	struct log_filter	 f;
	struct kore_buf		 where, sql, *items;
	sqlite3_stmt		*st;
	int64_t			 limit, offset, total;
	int			 i, n;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_method(req, HTTP_METHOD_GET, "GET") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	memset(&f, 0, sizeof(f));
	if (api_paging(req, 50, &limit, &offset) != KORE_RESULT_OK ||
	    (f.has[0] = api_query_int(req, "provider_id", 1, INT64_MAX,
	    &f.value[0])) < 0 ||
	    (f.has[1] = api_query_int(req, "client_key_id", 1, INT64_MAX,
	    &f.value[1])) < 0 ||
	    (f.has[2] = api_query_int(req, "status", 0, 999,
	    &f.value[2])) < 0 ||
	    (f.has[3] = query_time(req, "since", &f.value[3])) < 0 ||
	    (f.has[4] = query_time(req, "until", &f.value[4])) < 0)
		return (KORE_RESULT_OK);
	f.model = api_query_string(req, "model");
	f.request_id = api_query_string(req, "request_id");

	kore_buf_init(&where, 256);
	kore_buf_appendf(&where, " WHERE 1");
	if (f.model != NULL)
		kore_buf_appendf(&where, " AND l.model = ?1");
	if (f.request_id != NULL)
		kore_buf_appendf(&where, " AND l.request_id = ?9");
	for (i = 0; i < 5; i++) {
		if (f.has[i])
			kore_buf_appendf(&where, "%s", filter_sql[i]);
	}

	kore_buf_init(&sql, 1024);
	kore_buf_appendf(&sql, "SELECT count(*) FROM request_log l%s",
	    kore_buf_stringify(&where, NULL));
	total = 0;
	if ((st = store_prepare(kore_buf_stringify(&sql, NULL))) != NULL) {
		filter_bind(st, &f);
		if (sqlite3_step(st) == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}

	kore_buf_reset(&sql);
	kore_buf_appendf(&sql, "SELECT l.id, l.request_id, l.created_at, "
	    "l.client_key_id, c.name, l.model, l.upstream_model, l.group_id, "
	    "l.provider_id, p.name, l.key_masked, l.path, l.status, l.stream, "
	    "l.attempts, l.latency_ms, l.ttfb_ms, l.prompt_tokens, "
	    "l.completion_tokens, l.outcome, l.error, l.trace, "
	    "l.cached_tokens, l.cache_write_tokens, l.reasoning_tokens, "
	    "l.usage_estimated, u.username FROM request_log l "
	    "LEFT JOIN client_keys c ON c.id = l.client_key_id "
	    "LEFT JOIN users u ON u.id = l.admin_user_id "
	    "LEFT JOIN providers p ON p.id = l.provider_id"
	    "%s ORDER BY l.id DESC LIMIT ?7 OFFSET ?8",
	    kore_buf_stringify(&where, NULL));
	st = store_prepare(kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	kore_buf_cleanup(&where);
	if (st == NULL) {
		kore_free(f.model);
		kore_free(f.request_id);
		api_db_error(req);
		return (KORE_RESULT_OK);
	}

	filter_bind(st, &f);
	sqlite3_bind_int64(st, 7, limit);
	sqlite3_bind_int64(st, 8, offset);
	items = kore_buf_alloc(8192);
	n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		kore_buf_appendf(items, n++ ? ",{" : "{");
		json_kv_int(items, "id", sqlite3_column_int64(st, 0), 1);
		json_kv_str(items, "request_id",
		    (const char *)sqlite3_column_text(st, 1), 0);
		json_kv_time(items, "created_at", sqlite3_column_int64(st, 2), 0);
		json_key(items, "client_key_id", 0);
		json_column(items, st, 3);
		json_kv_str(items, "client_key_name",
		    (const char *)sqlite3_column_text(st, 4), 0);
		json_kv_str(items, "model",
		    (const char *)sqlite3_column_text(st, 5), 0);
		json_kv_str(items, "upstream_model",
		    (const char *)sqlite3_column_text(st, 6), 0);
		json_key(items, "group_id", 0);
		json_column(items, st, 7);
		json_key(items, "provider_id", 0);
		json_column(items, st, 8);
		json_kv_str(items, "provider_name",
		    (const char *)sqlite3_column_text(st, 9), 0);
		json_kv_str(items, "key_masked",
		    (const char *)sqlite3_column_text(st, 10), 0);
		json_kv_str(items, "path",
		    (const char *)sqlite3_column_text(st, 11), 0);
		json_kv_int(items, "status", sqlite3_column_int64(st, 12), 0);
		json_kv_bool(items, "stream", sqlite3_column_int(st, 13), 0);
		json_kv_int(items, "attempts", sqlite3_column_int64(st, 14), 0);
		json_kv_int(items, "latency_ms", sqlite3_column_int64(st, 15),
		    0);
		json_kv_int(items, "ttfb_ms", sqlite3_column_int64(st, 16), 0);
		json_kv_int(items, "prompt_tokens",
		    sqlite3_column_int64(st, 17), 0);
		json_kv_int(items, "completion_tokens",
		    sqlite3_column_int64(st, 18), 0);
		json_kv_str(items, "outcome",
		    (const char *)sqlite3_column_text(st, 19), 0);
		json_kv_str(items, "error",
		    *sqlite3_column_text(st, 20) != '\0' ?
		    (const char *)sqlite3_column_text(st, 20) : NULL, 0);
		json_key(items, "trace", 0);
		json_column(items, st, 21);
		json_kv_int(items, "cached_tokens",
		    sqlite3_column_int64(st, 22), 0);
		json_kv_int(items, "cache_write_tokens",
		    sqlite3_column_int64(st, 23), 0);
		json_kv_int(items, "reasoning_tokens",
		    sqlite3_column_int64(st, 24), 0);
		json_kv_bool(items, "usage_estimated",
		    sqlite3_column_int(st, 25), 0);
		json_kv_str(items, "admin_user",
		    (const char *)sqlite3_column_text(st, 26), 0);
		kore_buf_appendf(items, "}");
	}
	sqlite3_finalize(st);
	kore_free(f.model);
	kore_free(f.request_id);

	api_reply_list(req, items, total);
	return (KORE_RESULT_OK);
}

/* GET /api/admin/audit?limit=&offset= */
int
admin_audit_log(struct http_request *req)
{
	struct admin_user	 user;
	struct kore_buf		*items;
	sqlite3_stmt		*st;
	int64_t			 limit, offset, total;
	int			 n;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_method(req, HTTP_METHOD_GET, "GET") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (api_paging(req, 100, &limit, &offset) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	total = store_count("SELECT count(*) FROM audit_log");
	if ((st = store_prepare("SELECT id, created_at, username, remote_addr, "
	    "action, target, detail FROM audit_log ORDER BY id DESC "
	    "LIMIT ? OFFSET ?")) == NULL) {
		api_db_error(req);
		return (KORE_RESULT_OK);
	}
	sqlite3_bind_int64(st, 1, limit);
	sqlite3_bind_int64(st, 2, offset);

	items = kore_buf_alloc(4096);
	n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		kore_buf_appendf(items, n++ ? ",{" : "{");
		json_kv_int(items, "id", sqlite3_column_int64(st, 0), 1);
		json_kv_time(items, "created_at", sqlite3_column_int64(st, 1), 0);
		json_kv_str(items, "username",
		    (const char *)sqlite3_column_text(st, 2), 0);
		json_kv_str(items, "remote_addr",
		    (const char *)sqlite3_column_text(st, 3), 0);
		json_kv_str(items, "action",
		    (const char *)sqlite3_column_text(st, 4), 0);
		json_kv_str(items, "target",
		    (const char *)sqlite3_column_text(st, 5), 0);
		json_kv_str(items, "detail",
		    (const char *)sqlite3_column_text(st, 6), 0);
		kore_buf_appendf(items, "}");
	}
	sqlite3_finalize(st);

	api_reply_list(req, items, total);
	return (KORE_RESULT_OK);
}
