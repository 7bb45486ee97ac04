/*
 * The audit log's writer: every admin change and session event, with
 * who, from where and when. Callers pass field names, never values.
 * logs.c reads it (GET /api/admin/audit).
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "admin/admin.h"

/*
 * Write one audit row now (admin changes are rare; losing one to a
 * batch would defeat the point). user may be NULL (a failed login, or
 * the gateway itself: a background probe), and req too (the gateway
 * itself, or a client already gone).
 */
void
audit_record(struct http_request *req, const struct admin_user *user,
    const char *action, const char *target, const char *detail)
{
	sqlite3_stmt	*st;
	char		 addr[64];

	addr[0] = '\0';
	if (req != NULL && req->owner != NULL)
		glue_remote_addr(req, addr, sizeof(addr));
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
