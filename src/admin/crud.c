/*
 * The admin API engine: list, get, create, replace (PUT), update (PATCH)
 * and delete for every resource described by a struct admin_resource,
 * and the not-found handler.
 *
 * Every write is validated whole before anything is written, and runs in
 * one statement or one transaction: a request that fails changes nothing.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "admin/admin.h"

#define LIST_LIMIT_DEFAULT	100


static void	print_row(struct kore_buf *, const struct admin_resource *,
		    sqlite3_stmt *);
static int	bind_value(sqlite3_stmt *, int, const struct admin_field *,
		    const struct admin_value *);
static int	admin_list(struct http_request *,
		    const struct admin_resource *);
static int	admin_write(struct http_request *,
		    const struct admin_resource *, const struct admin_user *,
		    int, int64_t);
static int	admin_delete(struct http_request *,
		    const struct admin_resource *, const struct admin_user *,
		    int64_t);
static void	admin_audit(struct http_request *, const struct admin_user *,
		    const struct admin_resource *, const char *, int64_t,
		    struct api_body *);
static int	admin_get(struct http_request *,
		    const struct admin_resource *, int64_t);

int
admin_field_index(const struct admin_resource *res, const char *name)
{
	size_t	i;

	for (i = 0; i < res->nfields; i++) {
		if (strcmp(res->fields[i].name, name) == 0)
			return ((int)i);
	}

	fatal("admin: %s has no field %s", res->table, name);
	return (-1);
}

/* Start a write: defaults for create and PUT, nothing yet for PATCH. */
void
admin_write_init(const struct admin_resource *res, struct admin_write *w,
    int mode)
{
	const struct admin_field	*f;
	size_t				 i;

	memset(w, 0, sizeof(*w));
	w->mode = mode;

	for (i = 0; i < res->nfields; i++) {
		f = &res->fields[i];
		w->vals[i].i = f->def_int;
		if (f->def_str != NULL)
			w->vals[i].s = kore_strdup(f->def_str);
	}
}

void
admin_write_cleanup(struct admin_write *w)
{
	int	i;

	for (i = 0; i < ADMIN_FIELDS_MAX; i++)
		kore_free(w->vals[i].s);
	for (i = 0; i < w->nextra; i++)
		kore_free(w->extra[i].data);
	sodium_memzero(w->reveal, sizeof(w->reveal));
	memset(w, 0, sizeof(*w));
}

void
admin_extra_int(struct admin_write *w, const char *column, int64_t v)
{
	if (w->nextra == ADMIN_EXTRA_MAX)
		fatal("admin: too many extra columns");
	w->extra[w->nextra].column = column;
	w->extra[w->nextra].type = SQLITE_INTEGER;
	w->extra[w->nextra].i = v;
	w->nextra++;
}

void
admin_extra_text(struct admin_write *w, const char *column, const char *v)
{
	admin_extra_blob(w, column, kore_strdup(v), strlen(v));
	w->extra[w->nextra - 1].type = SQLITE_TEXT;
}

/* Takes ownership of data. */
void
admin_extra_blob(struct admin_write *w, const char *column, void *data,
    size_t len)
{
	if (w->nextra == ADMIN_EXTRA_MAX)
		fatal("admin: too many extra columns");
	w->extra[w->nextra].column = column;
	w->extra[w->nextra].type = SQLITE_BLOB;
	w->extra[w->nextra].data = data;
	w->extra[w->nextra].len = len;
	w->nextra++;
}

/*
 * For PATCH: start from the stored row w->id. 0 when there is no such
 * row, -1 when the store fails.
 */
int
admin_load_row(const struct admin_resource *res, struct admin_write *w)
{
	struct kore_buf		 sql;
	sqlite3_stmt		*stmt;
	size_t			 i;
	int			 found;

	kore_buf_init(&sql, 256);
	kore_buf_appendf(&sql, "SELECT ");
	for (i = 0; i < res->nfields; i++)
		kore_buf_appendf(&sql, "%s%s", i ? "," : "", res->fields[i].name);
	kore_buf_appendf(&sql, " FROM %s WHERE id = ?", res->table);

	stmt = store_prepare(kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (stmt == NULL)
		return (-1);

	sqlite3_bind_int64(stmt, 1, w->id);
	found = 0;
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		found = 1;
		for (i = 0; i < res->nfields; i++) {
			kore_free(w->vals[i].s);
			w->vals[i].s = NULL;
			if (sqlite3_column_type(stmt, (int)i) == SQLITE_NULL &&
			    (res->fields[i].flags & AF_NULL)) {
				w->vals[i].i = ADMIN_NULL;
			} else if (sqlite3_column_type(stmt, (int)i) ==
			    SQLITE_TEXT) {
				w->vals[i].s = kore_strdup((const char *)
				    sqlite3_column_text(stmt, (int)i));
			} else {
				w->vals[i].i = sqlite3_column_int64(stmt,
				    (int)i);
			}
		}
	}
	sqlite3_finalize(stmt);

	return (found);
}

static int
bind_value(sqlite3_stmt *stmt, int idx, const struct admin_field *f,
    const struct admin_value *v)
{
	switch (f->kind) {
	case AK_STRING:
	case AK_NAMES:
	case AK_IDS:
	case AK_MAP:
	case AK_JSON:
		return (sqlite3_bind_text(stmt, idx, v->s ? v->s : "", -1,
		    SQLITE_STATIC));
	default:
		if ((f->flags & AF_NULL) && v->i == ADMIN_NULL)
			return (sqlite3_bind_null(stmt, idx));
		return (sqlite3_bind_int64(stmt, idx, v->i));
	}
}

/*
 * Insert (w->mode ADMIN_CREATE) or update the row of w. Sets w->id on
 * insert. Returns SQLITE_OK, or the extended error code for
 * admin_write_error(). Sends no reply.
 */
int
admin_write_row(const struct admin_resource *res, struct admin_write *w)
{
	struct kore_buf			 sql;
	sqlite3_stmt			*stmt;
	const struct admin_field	*f;
	struct admin_extra		*x;
	size_t				 i;
	int				 idx, rc, ext, n;
	int64_t				 now;

	kore_buf_init(&sql, 512);
	n = 0;

	if (w->mode == ADMIN_CREATE) {
		kore_buf_appendf(&sql, "INSERT INTO %s (", res->table);
		for (i = 0; i < res->nfields; i++) {
			if (res->fields[i].flags & AF_READONLY)
				continue;
			kore_buf_appendf(&sql, "%s,", res->fields[i].name);
			n++;
		}
		for (idx = 0; idx < w->nextra; idx++) {
			kore_buf_appendf(&sql, "%s,", w->extra[idx].column);
			n++;
		}
		kore_buf_appendf(&sql, "created_at, updated_at) VALUES (");
		for (idx = 0; idx < n; idx++)
			kore_buf_appendf(&sql, "?,");
		kore_buf_appendf(&sql, "?,?)");
	} else {
		kore_buf_appendf(&sql, "UPDATE %s SET ", res->table);
		for (i = 0; i < res->nfields; i++) {
			if (res->fields[i].flags & AF_READONLY)
				continue;
			kore_buf_appendf(&sql, "%s = ?,", res->fields[i].name);
		}
		for (idx = 0; idx < w->nextra; idx++)
			kore_buf_appendf(&sql, "%s = ?,", w->extra[idx].column);
		kore_buf_appendf(&sql, "updated_at = ? WHERE id = ?");
	}

	stmt = store_prepare(kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (stmt == NULL)
		return (SQLITE_ERROR);

	idx = 1;
	for (i = 0; i < res->nfields; i++) {
		f = &res->fields[i];
		if (f->flags & AF_READONLY)
			continue;
		(void)bind_value(stmt, idx++, f, &w->vals[i]);
	}
	for (n = 0; n < w->nextra; n++) {
		x = &w->extra[n];
		switch (x->type) {
		case SQLITE_INTEGER:
			sqlite3_bind_int64(stmt, idx++, x->i);
			break;
		case SQLITE_TEXT:
			sqlite3_bind_text(stmt, idx++, x->data, (int)x->len,
			    SQLITE_STATIC);
			break;
		default:
			sqlite3_bind_blob(stmt, idx++, x->data, (int)x->len,
			    SQLITE_STATIC);
			break;
		}
	}

	now = store_now();
	sqlite3_bind_int64(stmt, idx++, now);
	if (w->mode == ADMIN_CREATE)
		sqlite3_bind_int64(stmt, idx++, now);
	else
		sqlite3_bind_int64(stmt, idx++, w->id);

	rc = sqlite3_step(stmt);
	ext = sqlite3_extended_errcode(store_db());
	sqlite3_finalize(stmt);

	if (rc == SQLITE_DONE) {
		if (w->mode == ADMIN_CREATE)
			w->id = sqlite3_last_insert_rowid(store_db());
		return (SQLITE_OK);
	}

	if (ext != SQLITE_CONSTRAINT_UNIQUE &&
	    ext != SQLITE_CONSTRAINT_FOREIGNKEY) {
		kore_log(LOG_ERR, "admin write %s: %s", res->table,
		    sqlite3_errmsg(store_db()));
	}

	return (ext == SQLITE_OK ? SQLITE_ERROR : ext);
}

/* Answer a failed admin_write_row(): 409, 404 or 500. */
void
admin_write_error(struct http_request *req, const struct admin_resource *res,
    int code)
{
	if (code == SQLITE_CONSTRAINT_UNIQUE) {
		api_error(req, 409, "invalid_request_error", "conflict", "%s",
		    res->conflict_msg);
	} else if (code == SQLITE_CONSTRAINT_FOREIGNKEY && res->fk_field) {
		api_error(req, 404, "invalid_request_error", "not_found",
		    "field '%s' names no existing record", res->fk_field);
	} else {
		api_db_error(req);
	}
}

/* "SELECT id, <every field>, created_at, updated_at FROM <table>". */
void
admin_select(struct kore_buf *sql, const struct admin_resource *res)
{
	size_t	i;

	kore_buf_appendf(sql, "SELECT id");
	for (i = 0; i < res->nfields; i++)
		kore_buf_appendf(sql, ",%s", res->fields[i].name);
	kore_buf_appendf(sql, ",created_at,updated_at FROM %s", res->table);
}

/*
 * The fields of res from the columns of a row selected by admin_select,
 * as members after others (first: before any): those with a flag of skip
 * or named in skip_names (NULL-terminated, or NULL) are left out.
 */
void
admin_print_fields(struct kore_buf *buf, const struct admin_resource *res,
    sqlite3_stmt *stmt, int skip, const char *const *skip_names, int first)
{
	const struct admin_field	*f;
	size_t				 i, k;
	int				 col;

	for (i = 0; i < res->nfields; i++) {
		f = &res->fields[i];
		col = (int)i + 1;
		for (k = 0; skip_names != NULL && skip_names[k] != NULL; k++) {
			if (strcmp(f->name, skip_names[k]) == 0)
				break;
		}
		if ((f->flags & skip) ||
		    (skip_names != NULL && skip_names[k] != NULL))
			continue;
		if (!first)
			kore_buf_appendf(buf, ",");
		first = 0;
		if (res->field_out != NULL && res->field_out(buf, f,
		    sqlite3_column_int64(stmt, 0), stmt, col))
			continue;
		switch (f->kind) {
		case AK_STRING:
			json_kv_str(buf, f->name,
			    (const char *)sqlite3_column_text(stmt, col), 1);
			break;
		case AK_INT:
			if ((f->flags & AF_NULL) &&
			    sqlite3_column_type(stmt, col) == SQLITE_NULL) {
				json_key(buf, f->name, 1);
				kore_buf_appendf(buf, "null");
				break;
			}
			json_kv_int(buf, f->name,
			    sqlite3_column_int64(stmt, col), 1);
			break;
		case AK_BOOL:
			json_kv_bool(buf, f->name,
			    sqlite3_column_int(stmt, col), 1);
			break;
		case AK_TIME:
			json_kv_time(buf, f->name,
			    sqlite3_column_int64(stmt, col), 1);
			break;
		default:
			json_key(buf, f->name, 1);
			json_column(buf, stmt, col);
			break;
		}
	}
}

static void
print_row(struct kore_buf *buf, const struct admin_resource *res,
    sqlite3_stmt *stmt)
{
	int	col;

	kore_buf_appendf(buf, "{");
	json_kv_int(buf, "id", sqlite3_column_int64(stmt, 0), 1);
	admin_print_fields(buf, res, stmt, 0, NULL, 0);

	col = (int)res->nfields + 1;
	json_kv_time(buf, "created_at", sqlite3_column_int64(stmt, col), 0);
	json_kv_time(buf, "updated_at", sqlite3_column_int64(stmt, col + 1),
	    0);
}

/*
 * Print the object with id into buf, leaving it open so that the caller
 * may add members; returns 0 when there is no such row.
 */
int
admin_print(struct kore_buf *buf, const struct admin_resource *res,
    int64_t id)
{
	struct kore_buf		 sql;
	sqlite3_stmt		*stmt;
	int			 found;

	kore_buf_init(&sql, 256);
	admin_select(&sql, res);
	kore_buf_appendf(&sql, " WHERE id = ?");
	stmt = store_prepare(kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (stmt == NULL)
		return (-1);

	sqlite3_bind_int64(stmt, 1, id);
	found = 0;
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		print_row(buf, res, stmt);
		found = 1;
	}
	sqlite3_finalize(stmt);

	return (found);
}

static int
admin_get(struct http_request *req, const struct admin_resource *res,
    int64_t id)
{
	struct kore_buf		*buf;
	int			 found;

	buf = kore_buf_alloc(512);
	if ((found = admin_print(buf, res, id)) != 1) {
		kore_buf_free(buf);
		if (found == 0) {
			api_error(req, 404, "invalid_request_error",
			    "not_found", "no %s with id %" PRId64,
			    res->noun, id);
		} else {
			api_db_error(req);
		}
		return (KORE_RESULT_OK);
	}

	kore_buf_appendf(buf, "}");
	glue_reply_json(req, 200, buf);
	return (KORE_RESULT_OK);
}

/* GET collection: ?limit=&offset= and the resource's filter column. */
static int
admin_list(struct http_request *req, const struct admin_resource *res)
{
	struct kore_buf		 sql, *items;
	sqlite3_stmt		*stmt;
	int64_t			 limit, offset, filter, total;
	int			 has_filter, n;

	has_filter = 0;
	if (api_paging(req, LIST_LIMIT_DEFAULT, &limit, &offset) !=
	    KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (res->filter != NULL &&
	    (has_filter = api_query_int(req, res->filter, 1, INT64_MAX,
	    &filter)) < 0)
		return (KORE_RESULT_OK);

	kore_buf_init(&sql, 256);
	kore_buf_appendf(&sql, "SELECT count(*) FROM %s", res->table);
	if (has_filter)
		kore_buf_appendf(&sql, " WHERE %s = ?1", res->filter);
	stmt = store_prepare(kore_buf_stringify(&sql, NULL));
	kore_buf_reset(&sql);
	if (stmt == NULL)
		goto dberr;
	if (has_filter)
		sqlite3_bind_int64(stmt, 1, filter);
	total = (sqlite3_step(stmt) == SQLITE_ROW) ?
	    sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);

	admin_select(&sql, res);
	if (has_filter)
		kore_buf_appendf(&sql, " WHERE %s = ?1", res->filter);
	kore_buf_appendf(&sql, " ORDER BY id LIMIT ?2 OFFSET ?3");
	stmt = store_prepare(kore_buf_stringify(&sql, NULL));
	if (stmt == NULL)
		goto dberr;
	if (has_filter)
		sqlite3_bind_int64(stmt, 1, filter);
	sqlite3_bind_int64(stmt, 2, limit);
	sqlite3_bind_int64(stmt, 3, offset);

	items = kore_buf_alloc(4096);
	n = 0;
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		if (n++)
			kore_buf_appendf(items, ",");
		print_row(items, res, stmt);
		kore_buf_appendf(items, "}");
	}
	sqlite3_finalize(stmt);
	kore_buf_cleanup(&sql);

	api_reply_list(req, items, total);
	return (KORE_RESULT_OK);

dberr:
	kore_buf_cleanup(&sql);
	api_db_error(req);
	return (KORE_RESULT_OK);
}

/*
 * Create, PUT or PATCH one row: read every field, let the resource check
 * and add what is its own, write once, answer with the stored object.
 */
static int
admin_write(struct http_request *req, const struct admin_resource *res,
    const struct admin_user *user, int mode, int64_t id)
{
	struct api_body			 body;
	struct admin_write		 w;
	struct kore_buf			*buf;
	const char			*code;
	char				 err[256];
	int				 rc;

	if (api_body_parse(req, &body) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (admin_check_names(req, res, &body) != KORE_RESULT_OK) {
		api_body_cleanup(&body);
		return (KORE_RESULT_OK);
	}

	admin_write_init(res, &w, mode);
	w.id = id;

	if (mode == ADMIN_PATCH) {
		if ((rc = admin_load_row(res, &w)) != 1) {
			if (rc == 0) {
				api_error(req, 404, "invalid_request_error",
				    "not_found", "no %s with id %" PRId64,
				    res->noun, id);
			} else {
				api_db_error(req);
			}
			goto done;
		}
	}

	if (admin_read(res, &body, &w, err, sizeof(err), &code) == -1) {
		api_error(req, 400, "invalid_request_error", code, "%s", err);
		goto done;
	}

	if (res->prepare != NULL &&
	    res->prepare(req, &body, &w) != KORE_RESULT_OK)
		goto done;

	if (store_begin() != KORE_RESULT_OK) {
		api_db_error(req);
		goto done;
	}

	/* PUT and PATCH of a row that is not there. */
	if (mode != ADMIN_CREATE) {
		buf = kore_buf_alloc(64);
		rc = admin_print(buf, res, id);
		kore_buf_free(buf);
		if (rc != 1) {
			store_rollback();
			api_error(req, 404, "invalid_request_error",
			    "not_found", "no %s with id %" PRId64,
			    res->noun, id);
			goto done;
		}
	}

	if ((rc = admin_write_row(res, &w)) != SQLITE_OK) {
		store_rollback();
		admin_write_error(req, res, rc);
		goto done;
	}

	if (store_commit() != KORE_RESULT_OK) {
		store_rollback();
		api_db_error(req);
		goto done;
	}
	if (res->committed != NULL)
		res->committed(&w);
	config_invalidate();
	admin_audit(req, user, res, mode == ADMIN_CREATE ? "create" :
	    mode == ADMIN_PUT ? "replace" : "update", w.id, &body);

	buf = kore_buf_alloc(512);
	(void)admin_print(buf, res, w.id);
	if (res->extra_out != NULL)
		res->extra_out(buf, &w);
	kore_buf_appendf(buf, "}");
	glue_reply_json(req, mode == ADMIN_CREATE ? 201 : 200, buf);

done:
	admin_write_cleanup(&w);
	api_body_cleanup(&body);
	return (KORE_RESULT_OK);
}

static int
admin_delete(struct http_request *req, const struct admin_resource *res,
    const struct admin_user *user, int64_t id)
{
	struct kore_buf		 sql;
	sqlite3_stmt		*stmt;
	int			 rc;

	kore_buf_init(&sql, 64);
	kore_buf_appendf(&sql, "DELETE FROM %s WHERE id = ?", res->table);
	stmt = store_prepare(kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (stmt == NULL) {
		api_db_error(req);
		return (KORE_RESULT_OK);
	}

	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);

	if (rc != SQLITE_DONE) {
		api_db_error(req);
	} else if (sqlite3_changes(store_db()) == 0) {
		api_error(req, 404, "invalid_request_error", "not_found",
		    "no %s with id %" PRId64, res->noun, id);
	} else {
		config_invalidate();
		admin_audit(req, user, res, "delete", id, NULL);
		http_response(req, 204, NULL, 0);
	}

	return (KORE_RESULT_OK);
}

/* /api/admin/<resource>: GET lists, POST creates. */
int
admin_collection(struct http_request *req, const struct admin_resource *res)
{
	struct admin_user	user;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	switch (req->method) {
	case HTTP_METHOD_GET:
		return (admin_list(req, res));
	case HTTP_METHOD_POST:
		return (admin_write(req, res, &user, ADMIN_CREATE, 0));
	default:
		http_response_header(req, "allow", "GET, POST");
		api_error(req, 405, "invalid_request_error",
		    "method_not_allowed", "use GET or POST");
		return (KORE_RESULT_OK);
	}
}

/* /api/admin/<resource>/<id>: GET, PUT, PATCH, DELETE. */
int
admin_item(struct http_request *req, const struct admin_resource *res)
{
	struct admin_user	user;
	int64_t			id;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (api_path_id(req, res->path, &id) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	switch (req->method) {
	case HTTP_METHOD_GET:
		return (admin_get(req, res, id));
	case HTTP_METHOD_PUT:
		return (admin_write(req, res, &user, ADMIN_PUT, id));
	case HTTP_METHOD_PATCH:
		return (admin_write(req, res, &user, ADMIN_PATCH, id));
	case HTTP_METHOD_DELETE:
		return (admin_delete(req, res, &user, id));
	default:
		http_response_header(req, "allow", "GET, PUT, PATCH, DELETE");
		api_error(req, 405, "invalid_request_error",
		    "method_not_allowed", "use GET, PUT, PATCH or DELETE");
		return (KORE_RESULT_OK);
	}
}

/*
 * Record an admin change: the resource and id, and the names of the
 * fields the request gave (never their values: some are secrets).
 */
static void
admin_audit(struct http_request *req, const struct admin_user *user,
    const struct admin_resource *res, const char *action, int64_t id,
    struct api_body *body)
{
	struct kore_json_item	*it;
	struct kore_buf		 detail;
	char			 target[96];

	kore_buf_init(&detail, 128);
	if (body != NULL && body->root != NULL) {
		TAILQ_FOREACH(it, &body->root->data.items, list) {
			if (it->name == NULL || !validate_name(it->name))
				continue;
			kore_buf_appendf(&detail, "%s%s",
			    detail.offset ? ", " : "fields: ", it->name);
		}
	}

	(void)snprintf(target, sizeof(target), "%s %" PRId64, res->noun, id);
	audit_record(req, user, action, target,
	    kore_buf_stringify(&detail, NULL));
	kore_buf_cleanup(&detail);
}

/* Unknown paths under /api and /v1. */
int
api_not_found(struct http_request *req)
{
	api_error(req, 404, "invalid_request_error", "not_found",
	    "unknown path: %s %s", http_method_text(req->method), req->path);
	return (KORE_RESULT_OK);
}
