/*
 * The audit log: every admin change and session event, with who, from
 * where and when. Callers pass field names, never values.
 * GET /api/admin/audit reads it, newest first.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "admin/admin.h"

/*
 * Write one audit row now (admin changes are rare; losing one to a
 * batch would defeat the point). user may be NULL (a failed login).
 */
void
audit_record(struct http_request *req, const struct admin_user *user,
    const char *action, const char *target, const char *detail)
{
	sqlite3_stmt	*st;
	char		 addr[64];

	auth_remote_addr(req, addr, sizeof(addr));
	if ((st = store_prepare("INSERT INTO audit_log (created_at, user_id, "
	    "username, remote_addr, action, target, detail) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)")) == NULL)
		return;

	sqlite3_bind_int64(st, 1, store_now());
	if (user != NULL)
		sqlite3_bind_int64(st, 2, user->id);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, user ? user->username : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 4, addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		kore_log(LOG_ERR, "audit: %s", sqlite3_errmsg(store_db()));
	sqlite3_finalize(st);
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
