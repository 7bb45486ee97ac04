/*
 * GET /api/admin/logs: the request log, newest first (by created_at,
 * then id), with filters (?model= &provider_id= &client_key_id= &status=
 * &request_id= &since= &until=, times as epoch seconds or RFC 3339) and
 * keyset paging: ?before_id= the next_before_id of the previous page.
 * ?offset= still works, for the pages near the start. Each row carries
 * its routing trace, and a playground request the admin who sent it.
 * GET /api/admin/logs/:id is one row. GET /api/admin/audit: the audit
 * log (audit.c writes it), newest first.
 *
 * Every filter has an index in page order (migrations.c), so a page
 * reads about as many rows as it shows, however long the log; the total
 * is counted up to LOGS_COUNT_MAX ("total_exact": false beyond). The
 * queries run on the admin reader (reader.c), never on the event loop.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "admin/admin.h"

#define LOGS_COUNT_MAX	10000
#define NFILTERS	5

struct logs_query {
	char		*model;
	char		*request_id;
	int		 has[NFILTERS];
	int64_t		 value[NFILTERS];
	int64_t		 limit;
	int64_t		 offset;
	int64_t		 before_id;	/* 0: from the newest */
	int64_t		 id;		/* one row */
};

static const char	*filter_sql[NFILTERS] = {
	" AND l.provider_id = ?2", " AND l.client_key_id = ?3",
	" AND l.status = ?4", " AND l.created_at >= ?5",
	" AND l.created_at < ?6",
};

static const char	*log_columns = "SELECT l.id, l.request_id, "
	"l.created_at, l.client_key_id, c.name, l.model, l.upstream_model, "
	"l.group_id, l.provider_id, p.name, l.key_masked, l.path, l.status, "
	"l.stream, l.attempts, l.latency_ms, l.ttfb_ms, l.prompt_tokens, "
	"l.completion_tokens, l.outcome, l.error, l.trace, l.cached_tokens, "
	"l.cache_write_tokens, l.reasoning_tokens, l.usage_estimated, "
	"u.username, l.cost, l.cost_estimated FROM request_log l "
	"LEFT JOIN client_keys c ON c.id = l.client_key_id "
	"LEFT JOIN users u ON u.id = l.admin_user_id "
	"LEFT JOIN providers p ON p.id = l.provider_id";

static int	 query_time(struct http_request *, const char *, int64_t *);
static void	 logs_free(void *);
static void	 logs_where(struct kore_buf *, const struct logs_query *);
static void	 logs_bind(sqlite3_stmt *, const struct logs_query *);
static void	 log_row(struct kore_buf *, sqlite3_stmt *);
static int	 logs_run(sqlite3 *, void *, struct kore_buf *);
static int	 log_run(sqlite3 *, void *, struct kore_buf *);
static void	*logs_params(struct http_request *);
static void	*log_params(struct http_request *);
static int	 audit_run(sqlite3 *, void *, struct kore_buf *);
static void	*audit_params(struct http_request *);

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

static void
logs_free(void *arg)
{
	struct logs_query	*q = arg;

	kore_free(q->model);
	kore_free(q->request_id);
	kore_free(q);
}

static void
logs_where(struct kore_buf *where, const struct logs_query *q)
{
	int	i;

	kore_buf_appendf(where, " WHERE 1");
	if (q->model != NULL)
		kore_buf_appendf(where, " AND l.model = ?1");
	if (q->request_id != NULL)
		kore_buf_appendf(where, " AND l.request_id = ?11");
	for (i = 0; i < NFILTERS; i++) {
		if (q->has[i])
			kore_buf_appendf(where, "%s", filter_sql[i]);
	}
}

/* Parameters ?1 to ?6 and ?11 of a query made with logs_where(). */
static void
logs_bind(sqlite3_stmt *st, const struct logs_query *q)
{
	int	i;

	if (q->model != NULL)
		sqlite3_bind_text(st, 1, q->model, -1, SQLITE_STATIC);
	if (q->request_id != NULL)
		sqlite3_bind_text(st, 11, q->request_id, -1, SQLITE_STATIC);
	for (i = 0; i < NFILTERS; i++) {
		if (q->has[i])
			sqlite3_bind_int64(st, i + 2, q->value[i]);
	}
}

/* One row of log_columns as a JSON object. */
static void
log_row(struct kore_buf *b, sqlite3_stmt *st)
{
	kore_buf_appendf(b, "{");
	json_kv_int(b, "id", sqlite3_column_int64(st, 0), 1);
	json_kv_str(b, "request_id", (const char *)sqlite3_column_text(st, 1),
	    0);
	json_kv_time(b, "created_at", sqlite3_column_int64(st, 2), 0);
	json_key(b, "client_key_id", 0);
	json_column(b, st, 3);
	json_kv_str(b, "client_key_name",
	    (const char *)sqlite3_column_text(st, 4), 0);
	json_kv_str(b, "model", (const char *)sqlite3_column_text(st, 5), 0);
	json_kv_str(b, "upstream_model",
	    (const char *)sqlite3_column_text(st, 6), 0);
	json_key(b, "group_id", 0);
	json_column(b, st, 7);
	json_key(b, "provider_id", 0);
	json_column(b, st, 8);
	json_kv_str(b, "provider_name", (const char *)sqlite3_column_text(st, 9),
	    0);
	json_kv_str(b, "key_masked", (const char *)sqlite3_column_text(st, 10),
	    0);
	json_kv_str(b, "path", (const char *)sqlite3_column_text(st, 11), 0);
	json_kv_int(b, "status", sqlite3_column_int64(st, 12), 0);
	json_kv_bool(b, "stream", sqlite3_column_int(st, 13), 0);
	json_kv_int(b, "attempts", sqlite3_column_int64(st, 14), 0);
	json_kv_int(b, "latency_ms", sqlite3_column_int64(st, 15), 0);
	json_kv_int(b, "ttfb_ms", sqlite3_column_int64(st, 16), 0);
	json_kv_int(b, "prompt_tokens", sqlite3_column_int64(st, 17), 0);
	json_kv_int(b, "completion_tokens", sqlite3_column_int64(st, 18), 0);
	json_kv_str(b, "outcome", (const char *)sqlite3_column_text(st, 19), 0);
	json_kv_str(b, "error", *sqlite3_column_text(st, 20) != '\0' ?
	    (const char *)sqlite3_column_text(st, 20) : NULL, 0);
	json_key(b, "trace", 0);
	json_column(b, st, 21);
	json_kv_int(b, "cached_tokens", sqlite3_column_int64(st, 22), 0);
	json_kv_int(b, "cache_write_tokens", sqlite3_column_int64(st, 23), 0);
	json_kv_int(b, "reasoning_tokens", sqlite3_column_int64(st, 24), 0);
	json_kv_bool(b, "usage_estimated", sqlite3_column_int(st, 25), 0);
	json_kv_str(b, "admin_user", (const char *)sqlite3_column_text(st, 26),
	    0);
	json_kv_int(b, "cost", sqlite3_column_int64(st, 27), 0);
	json_kv_bool(b, "cost_estimated", sqlite3_column_int(st, 28), 0);
	json_kv_str(b, "currency", fusion_cfg.currency, 0);
	kore_buf_appendf(b, "}");
}

/* On the reader: one page, its capped total and where the next begins. */
static int
logs_run(sqlite3 *db, void *arg, struct kore_buf *out)
{
	struct logs_query	*q = arg;
	struct kore_buf		 where, sql;
	sqlite3_stmt		*st;
	int64_t			 total, before_at, last;
	int			 n, rc, found;

	kore_buf_init(&where, 256);
	logs_where(&where, q);
	kore_buf_init(&sql, 1024);

	kore_buf_appendf(&sql, "SELECT count(*) FROM (SELECT 1 FROM "
	    "request_log l%s LIMIT %d)", kore_buf_stringify(&where, NULL),
	    LOGS_COUNT_MAX + 1);
	total = 0;
	if ((st = store_prepare_on(db, kore_buf_stringify(&sql, NULL))) !=
	    NULL) {
		logs_bind(st, q);
		if (sqlite3_step(st) == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}

	/* A page after before_id: after its (created_at, id). */
	kore_buf_reset(&where);
	logs_where(&where, q);
	found = 1;
	before_at = 0;
	if (q->before_id > 0) {
		found = 0;
		if ((st = store_prepare_on(db, "SELECT created_at FROM "
		    "request_log WHERE id = ?")) != NULL) {
			sqlite3_bind_int64(st, 1, q->before_id);
			if (sqlite3_step(st) == SQLITE_ROW) {
				before_at = sqlite3_column_int64(st, 0);
				found = 1;
			}
			sqlite3_finalize(st);
		}
		kore_buf_appendf(&where, " AND (l.created_at, l.id) < "
		    "(?9, ?10)");
	}

	kore_buf_reset(&sql);
	kore_buf_appendf(&sql, "%s%s ORDER BY l.created_at DESC, l.id DESC "
	    "LIMIT ?7 OFFSET ?8", log_columns, kore_buf_stringify(&where, NULL));
	st = store_prepare_on(db, kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	kore_buf_cleanup(&where);
	if (st == NULL)
		return (admin_read_db_error(out));

	logs_bind(st, q);
	sqlite3_bind_int64(st, 7, found ? q->limit : 0);
	sqlite3_bind_int64(st, 8, q->offset);
	sqlite3_bind_int64(st, 9, before_at);
	sqlite3_bind_int64(st, 10, q->before_id);

	kore_buf_appendf(out, "{\"data\":[");
	n = 0;
	last = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++)
			kore_buf_appendf(out, ",");
		log_row(out, st);
		last = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (admin_read_db_error(out));

	kore_buf_appendf(out, "]");
	json_kv_int(out, "total", total > LOGS_COUNT_MAX ? LOGS_COUNT_MAX :
	    total, 0);
	json_kv_bool(out, "total_exact", total <= LOGS_COUNT_MAX, 0);
	json_key(out, "next_before_id", 0);
	if (n == q->limit && n > 0)
		kore_buf_appendf(out, "%lld", (long long)last);
	else
		kore_buf_appendf(out, "null");
	kore_buf_appendf(out, "}");

	return (200);
}

/* The parameters of a page; NULL after a 400. */
static void *
logs_params(struct http_request *req)
{
	struct logs_query	*q;

	q = kore_calloc(1, sizeof(*q));
	if (api_paging(req, 50, &q->limit, &q->offset) != KORE_RESULT_OK ||
	    (q->has[0] = api_query_int(req, "provider_id", 1, INT64_MAX,
	    &q->value[0])) < 0 ||
	    (q->has[1] = api_query_int(req, "client_key_id", 1, INT64_MAX,
	    &q->value[1])) < 0 ||
	    (q->has[2] = api_query_int(req, "status", 0, 999,
	    &q->value[2])) < 0 ||
	    (q->has[3] = query_time(req, "since", &q->value[3])) < 0 ||
	    (q->has[4] = query_time(req, "until", &q->value[4])) < 0 ||
	    api_query_int(req, "before_id", 1, INT64_MAX,
	    &q->before_id) < 0) {
		logs_free(q);
		return (NULL);
	}
	q->model = api_query_string(req, "model");
	q->request_id = api_query_string(req, "request_id");

	return (q);
}

int
admin_logs(struct http_request *req)
{
	return (admin_read_get(req, logs_params, logs_run, logs_free));
}

/* On the reader: one row by id. */
static int
log_run(sqlite3 *db, void *arg, struct kore_buf *out)
{
	struct logs_query	*q = arg;
	struct kore_buf		 sql;
	sqlite3_stmt		*st;
	int			 rc;

	kore_buf_init(&sql, 1024);
	kore_buf_appendf(&sql, "%s WHERE l.id = ?", log_columns);
	st = store_prepare_on(db, kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (st == NULL)
		return (admin_read_db_error(out));

	sqlite3_bind_int64(st, 1, q->id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		log_row(out, st);
		rc = 200;
	} else if (rc == SQLITE_DONE) {
		api_error_body(out, "invalid_request_error", "not_found",
		    "no request log row with that id");
		rc = 404;
	} else {
		rc = admin_read_db_error(out);
	}
	sqlite3_finalize(st);

	return (rc);
}

/* The id of GET /api/admin/logs/:id; NULL after a 404. */
static void *
log_params(struct http_request *req)
{
	struct logs_query	*q;
	int64_t			 id;

	if (api_path_id(req, "/api/admin/logs/", &id) != KORE_RESULT_OK)
		return (NULL);
	q = kore_calloc(1, sizeof(*q));
	q->id = id;

	return (q);
}

int
admin_log(struct http_request *req)
{
	return (admin_read_get(req, log_params, log_run, logs_free));
}

/* On the reader: one page of the audit log, newest first. */
static int
audit_run(sqlite3 *db, void *arg, struct kore_buf *out)
{
	struct logs_query	*q = arg;
	sqlite3_stmt		*st;
	int64_t			 total;
	int			 n, rc;

	total = 0;
	if ((st = store_prepare_on(db, "SELECT count(*) FROM audit_log")) !=
	    NULL) {
		if (sqlite3_step(st) == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if ((st = store_prepare_on(db, "SELECT id, created_at, username, "
	    "remote_addr, action, target, detail FROM audit_log "
	    "ORDER BY id DESC LIMIT ? OFFSET ?")) == NULL)
		return (admin_read_db_error(out));
	sqlite3_bind_int64(st, 1, q->limit);
	sqlite3_bind_int64(st, 2, q->offset);

	kore_buf_appendf(out, "{\"data\":[");
	n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		kore_buf_appendf(out, n++ ? ",{" : "{");
		json_kv_int(out, "id", sqlite3_column_int64(st, 0), 1);
		json_kv_time(out, "created_at", sqlite3_column_int64(st, 1), 0);
		json_kv_str(out, "username",
		    (const char *)sqlite3_column_text(st, 2), 0);
		json_kv_str(out, "remote_addr",
		    (const char *)sqlite3_column_text(st, 3), 0);
		json_kv_str(out, "action",
		    (const char *)sqlite3_column_text(st, 4), 0);
		json_kv_str(out, "target",
		    (const char *)sqlite3_column_text(st, 5), 0);
		json_kv_str(out, "detail",
		    (const char *)sqlite3_column_text(st, 6), 0);
		kore_buf_appendf(out, "}");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (admin_read_db_error(out));

	kore_buf_appendf(out, "]");
	json_kv_int(out, "total", total, 0);
	kore_buf_appendf(out, "}");

	return (200);
}

/* The paging of GET /api/admin/audit; NULL after a 400. */
static void *
audit_params(struct http_request *req)
{
	struct logs_query	*q;

	q = kore_calloc(1, sizeof(*q));
	if (api_paging(req, 100, &q->limit, &q->offset) != KORE_RESULT_OK) {
		logs_free(q);
		return (NULL);
	}

	return (q);
}

int
admin_audit_log(struct http_request *req)
{
	return (admin_read_get(req, audit_params, audit_run, logs_free));
}
