/*
 * Administrators: the first account, sessions, login throttling and the
 * guard in front of every /api/admin route.
 *
 * A session token is 256 random bits. The store keeps only its keyed hash.
 * The browser gets it as an HttpOnly, SameSite=Strict cookie; scripts get
 * the same token in the login response for Authorization: Bearer.
 */

#include <arpa/inet.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "admin/admin.h"

#define SESSION_COOKIE		"fusion_session"
#define SESSION_PREFIX		"fs_"
#define SESSION_TOKEN_LEN	64
#define DEFAULT_PASSWORD	"admin"
#define PASSWORD_MIN		8
#define PASSWORD_MAX		256


static int	request_token(struct http_request *, char *, size_t);
static int	cross_site(struct http_request *);
static int	auth_route(struct http_request *, int, const char *);
static int	session_lookup(struct http_request *, struct admin_user *,
		    int64_t *);
static int64_t	login_blocked(const char *);
static void	login_failed(const char *);
static void	login_cleared(const char *);
static void	session_cookie(struct http_request *, const char *, int);
static void	user_reply(struct http_request *, int, const char *,
		    const struct admin_user *);
static const char	*dummy_hash(void);

/* A valid argon2id hash of nothing in particular, made once. */
static const char *
dummy_hash(void)
{
	static char	hash[crypto_pwhash_STRBYTES];

	if (hash[0] == '\0' &&
	    secrets_password_hash("not a password", hash, sizeof(hash)) !=
	    KORE_RESULT_OK)
		fatal("cannot hash");

	return (hash);
}

/*
 * Create the first administrator when there is no user: password from
 * ADMIN_PASSWORD, else the documented default with must-change set.
 * Warns loudly at every start while the default password is in place.
 */
int
auth_bootstrap(const char *password)
{
	sqlite3_stmt	*stmt;
	char		 hash[crypto_pwhash_STRBYTES];
	int64_t		 now;
	int		 rc, is_default;

	if (store_count("SELECT count(*) FROM users") == 0) {
		is_default = (password == NULL || *password == '\0');
		if (is_default)
			password = DEFAULT_PASSWORD;

		if (secrets_password_hash(password, hash, sizeof(hash)) !=
		    KORE_RESULT_OK)
			return (KORE_RESULT_ERROR);

		if ((stmt = store_prepare("INSERT INTO users (username, "
		    "password_hash, must_change_password, created_at, "
		    "updated_at) VALUES ('admin', ?, ?, ?, ?)")) == NULL)
			return (KORE_RESULT_ERROR);

		now = store_now();
		sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 2, is_default);
		sqlite3_bind_int64(stmt, 3, now);
		sqlite3_bind_int64(stmt, 4, now);
		rc = sqlite3_step(stmt);
		sqlite3_finalize(stmt);
		sodium_memzero(hash, sizeof(hash));

		if (rc != SQLITE_DONE)
			return (KORE_RESULT_ERROR);

		kore_log(LOG_NOTICE, "created administrator 'admin'%s",
		    is_default ? " with the default password" :
		    " with the password from ADMIN_PASSWORD");
	}

	if (store_count("SELECT count(*) FROM users "
	    "WHERE must_change_password = 1") > 0) {
		kore_log(LOG_WARNING, "****************************************"
		    "****************************");
		kore_log(LOG_WARNING, "* WARNING: the administrator still has "
		    "the default password 'admin'. *");
		kore_log(LOG_WARNING, "* Log in and change it now; the admin "
		    "API refuses changes until then. *");
		kore_log(LOG_WARNING, "****************************************"
		    "****************************");
	}

	return (KORE_RESULT_OK);
}

/*
 * The session token of the request: Authorization: Bearer first, then
 * the cookie. Returns KORE_RESULT_OK when one of a sane length is there.
 */
static int
request_token(struct http_request *req, char *out, size_t len)
{
	const char	*hdr;
	char		*cookie;

	if (http_request_header(req, "authorization", &hdr)) {
		if (strncasecmp(hdr, "Bearer ", 7) != 0)
			return (KORE_RESULT_ERROR);
		hdr += 7;
		while (*hdr == ' ')
			hdr++;
		if (kore_strlcpy(out, hdr, len) >= len)
			return (KORE_RESULT_ERROR);
		return (*out != '\0');
	}

	http_populate_cookies(req);
	if (!http_request_cookie(req, SESSION_COOKIE, &cookie))
		return (KORE_RESULT_ERROR);
	if (kore_strlcpy(out, cookie, len) >= len)
		return (KORE_RESULT_ERROR);

	return (*out != '\0');
}

/*
 * Find the live session of the request and its user. Refreshes the
 * session's last use at most once a minute. Returns KORE_RESULT_OK or
 * KORE_RESULT_ERROR (no reply sent).
 */
static int
session_lookup(struct http_request *req, struct admin_user *user,
    int64_t *session_id)
{
	sqlite3_stmt	*stmt;
	char		 token[SESSION_TOKEN_LEN], hash[SECRET_HASH_HEX];
	int64_t		 now, last_seen;
	int		 ret;

	if (request_token(req, token, sizeof(token)) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);

	secrets_hash(token, hash);
	sodium_memzero(token, sizeof(token));

	if ((stmt = store_prepare("SELECT s.id, s.last_seen_at, u.id, "
	    "u.username, u.must_change_password FROM sessions s "
	    "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?")) == NULL)
		return (KORE_RESULT_ERROR);

	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);

	ret = KORE_RESULT_ERROR;
	now = store_now();

	if (sqlite3_step(stmt) == SQLITE_ROW) {
		last_seen = sqlite3_column_int64(stmt, 1);
		if (last_seen + fusion_cfg.session_idle > now) {
			*session_id = sqlite3_column_int64(stmt, 0);
			user->id = sqlite3_column_int64(stmt, 2);
			(void)kore_strlcpy(user->username,
			    (const char *)sqlite3_column_text(stmt, 3),
			    sizeof(user->username));
			user->must_change_password =
			    sqlite3_column_int(stmt, 4);
			ret = KORE_RESULT_OK;
		}
	}
	sqlite3_finalize(stmt);

	if (ret == KORE_RESULT_OK && now - last_seen >= 60) {
		if ((stmt = store_prepare("UPDATE sessions SET last_seen_at = ? "
		    "WHERE id = ?")) != NULL) {
			sqlite3_bind_int64(stmt, 1, now);
			sqlite3_bind_int64(stmt, 2, *session_id);
			(void)sqlite3_step(stmt);
			sqlite3_finalize(stmt);
		}
	}

	return (ret);
}

/*
 * Refuse (403, KORE_RESULT_ERROR) a state-changing request a browser sent
 * from another site: its Origin (or, lacking one, Referer) must name the
 * host the request was sent to. SameSite=Strict already keeps the cookie
 * off cross-site requests; this holds even where a browser ignores it.
 * Clients that send neither header (scripts) are not browsers.
 */
static int
cross_site(struct http_request *req)
{
	const char	*origin, *host, *p;
	size_t		 len;

	if (req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_HEAD)
		return (KORE_RESULT_OK);
	if (!http_request_header(req, "origin", &origin) &&
	    !http_request_header(req, "referer", &origin))
		return (KORE_RESULT_OK);
	if (!http_request_header(req, "host", &host))
		host = "";

	if ((p = strstr(origin, "://")) != NULL)
		origin = p + 3;
	len = strcspn(origin, "/");

	if (len == strlen(host) && strncasecmp(origin, host, len) == 0)
		return (KORE_RESULT_OK);

	api_error(req, 403, "permission_error", "cross_site_request",
	    "a request from another site may not change anything here");
	return (KORE_RESULT_ERROR);
}

/*
 * What every /api/auth route checks first: the listener, the method
 * (methods, named in allow), and no cross-site write. Replies itself and
 * returns KORE_RESULT_ERROR.
 */
static int
auth_route(struct http_request *req, int methods, const char *allow)
{
	if (api_admin_only(req) != KORE_RESULT_OK ||
	    api_method(req, methods, allow) != KORE_RESULT_OK ||
	    cross_site(req) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
	return (KORE_RESULT_OK);
}

/*
 * The guard of /api/admin: a live session whose password is not the
 * default, and no cross-site write. Replies 401 or 403 itself and
 * returns KORE_RESULT_ERROR.
 */
int
auth_admin(struct http_request *req, struct admin_user *user)
{
	int64_t		session_id;

	if (api_admin_only(req) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);

	if (cross_site(req) != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);

	if (session_lookup(req, user, &session_id) != KORE_RESULT_OK) {
		api_error(req, 401, "authentication_error", "unauthorized",
		    "log in first: a valid session cookie or "
		    "'Authorization: Bearer <session token>' is required");
		return (KORE_RESULT_ERROR);
	}

	if (user->must_change_password) {
		api_error(req, 403, "permission_error",
		    "password_change_required", "the default password must "
		    "be changed first (PUT /api/auth/password)");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/* Seconds the address must still wait before trying again, or 0. */
static int64_t
login_blocked(const char *addr)
{
	sqlite3_stmt	*stmt;
	int64_t		 until, now;

	if ((stmt = store_prepare("SELECT blocked_until FROM login_failures "
	    "WHERE remote_addr = ?")) == NULL)
		return (0);

	sqlite3_bind_text(stmt, 1, addr, -1, SQLITE_STATIC);
	until = 0;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		until = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);

	now = store_now();
	return (until > now ? until - now : 0);
}

/*
 * Count a failure. Past login_max_fail failures inside the window, the
 * address waits 2, 4, 8 ... seconds, at most the window, per attempt.
 */
static void
login_failed(const char *addr)
{
	sqlite3_stmt	*stmt;
	int64_t		 now;

	if ((stmt = store_prepare("INSERT INTO login_failures (remote_addr, "
	    "failures, first_at, blocked_until) VALUES (?1, 1, ?2, 0) "
	    "ON CONFLICT (remote_addr) DO UPDATE SET "
	    "failures = CASE WHEN first_at + ?3 < ?2 THEN 1 "
	    "  ELSE failures + 1 END, "
	    "first_at = CASE WHEN first_at + ?3 < ?2 THEN ?2 "
	    "  ELSE first_at END")) == NULL)
		return;

	now = store_now();
	sqlite3_bind_text(stmt, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, now);
	sqlite3_bind_int64(stmt, 3, fusion_cfg.login_window);
	(void)sqlite3_step(stmt);
	sqlite3_finalize(stmt);

	if ((stmt = store_prepare("UPDATE login_failures SET blocked_until = "
	    "?2 + min(?4, 1 << min(20, failures - ?3 + 1)) "
	    "WHERE remote_addr = ?1 AND failures >= ?3")) == NULL)
		return;

	sqlite3_bind_text(stmt, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, now);
	sqlite3_bind_int64(stmt, 3, fusion_cfg.login_max_fail);
	sqlite3_bind_int64(stmt, 4, fusion_cfg.login_window);
	(void)sqlite3_step(stmt);
	sqlite3_finalize(stmt);
}

static void
login_cleared(const char *addr)
{
	sqlite3_stmt	*stmt;

	if ((stmt = store_prepare("DELETE FROM login_failures "
	    "WHERE remote_addr = ?")) == NULL)
		return;
	sqlite3_bind_text(stmt, 1, addr, -1, SQLITE_STATIC);
	(void)sqlite3_step(stmt);
	sqlite3_finalize(stmt);
}

/* Set (token != NULL) or clear the session cookie. */
static void
session_cookie(struct http_request *req, const char *token, int max_age)
{
	char	hdr[256];

	(void)snprintf(hdr, sizeof(hdr), "%s=%s; Path=/; Max-Age=%d; "
	    "HttpOnly; SameSite=Strict%s", SESSION_COOKIE,
	    token ? token : "", token ? max_age : 0,
	    req->owner->owner->server->tls ? "; Secure" : "");
	http_response_header(req, "set-cookie", hdr);
	sodium_memzero(hdr, sizeof(hdr));
}

static void
user_reply(struct http_request *req, int status, const char *token,
    const struct admin_user *user)
{
	struct kore_buf		*buf;

	buf = kore_buf_alloc(256);
	kore_buf_appendf(buf, "{");
	if (token != NULL) {
		json_kv_str(buf, "token", token, 1);
		json_kv_int(buf, "expires_in", fusion_cfg.session_idle, 0);
		json_key(buf, "user", 0);
		kore_buf_appendf(buf, "{");
	}
	json_kv_int(buf, "id", user->id, 1);
	json_kv_str(buf, "username", user->username, 0);
	json_kv_bool(buf, "must_change_password",
	    user->must_change_password, 0);
	kore_buf_appendf(buf, token != NULL ? "}}" : "}");

	glue_reply_json(req, status, buf);
}

/* POST /api/auth/login {username, password} */
int
auth_login(struct http_request *req)
{
	struct api_body		 body;
	struct admin_user	 user;
	sqlite3_stmt		*stmt;
	char			*username, *password, addr[64];
	char			 token[SESSION_TOKEN_LEN], hash[SECRET_HASH_HEX];
	char			 retry[32];
	const char		*pwhash;
	int64_t			 wait, now;
	int			 ok;

	if (auth_route(req, HTTP_METHOD_POST, "POST") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	glue_remote_addr(req, addr, sizeof(addr));
	if ((wait = login_blocked(addr)) > 0) {
		(void)snprintf(retry, sizeof(retry), "%lld", (long long)wait);
		http_response_header(req, "retry-after", retry);
		api_error(req, 429, "rate_limit_error", "too_many_attempts",
		    "too many failed logins from this address; try again in "
		    "%lld seconds", (long long)wait);
		return (KORE_RESULT_OK);
	}

	if (api_body_parse(req, &body) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (api_get_string(req, &body, "username", 1, &username) < 0 ||
	    api_get_string(req, &body, "password", 1, &password) < 0) {
		api_body_cleanup(&body);
		return (KORE_RESULT_OK);
	}

	ok = 0;
	memset(&user, 0, sizeof(user));

	if ((stmt = store_prepare("SELECT id, username, password_hash, "
	    "must_change_password FROM users WHERE username = ?")) == NULL) {
		api_body_cleanup(&body);
		api_db_error(req);
		return (KORE_RESULT_OK);
	}

	sqlite3_bind_text(stmt, 1, username, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		pwhash = (const char *)sqlite3_column_text(stmt, 2);
		if (strlen(password) <= PASSWORD_MAX &&
		    secrets_password_verify(pwhash, password)) {
			ok = 1;
			user.id = sqlite3_column_int64(stmt, 0);
			(void)kore_strlcpy(user.username,
			    (const char *)sqlite3_column_text(stmt, 1),
			    sizeof(user.username));
			user.must_change_password =
			    sqlite3_column_int(stmt, 3);
		}
	}
	sqlite3_finalize(stmt);

	/* An unknown user costs the same time as a wrong password. */
	if (!ok && user.id == 0)
		(void)secrets_password_verify(dummy_hash(), password);

	sodium_memzero(password, strlen(password));
	api_body_cleanup(&body);

	if (!ok) {
		login_failed(addr);
		audit_record(req, NULL, "login_failed", "user", "");
		kore_log(LOG_NOTICE, "failed admin login from %s", addr);
		api_error(req, 401, "authentication_error",
		    "invalid_credentials", "wrong username or password");
		return (KORE_RESULT_OK);
	}

	login_cleared(addr);

	secrets_token(SESSION_PREFIX, token, sizeof(token));
	secrets_hash(token, hash);

	if ((stmt = store_prepare("INSERT INTO sessions (token_hash, user_id, "
	    "created_at, last_seen_at, remote_addr) "
	    "VALUES (?, ?, ?, ?, ?)")) == NULL) {
		api_db_error(req);
		return (KORE_RESULT_OK);
	}

	now = store_now();
	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, user.id);
	sqlite3_bind_int64(stmt, 3, now);
	sqlite3_bind_int64(stmt, 4, now);
	sqlite3_bind_text(stmt, 5, addr, -1, SQLITE_STATIC);
	ok = (sqlite3_step(stmt) == SQLITE_DONE);
	sqlite3_finalize(stmt);

	if (!ok) {
		api_db_error(req);
		return (KORE_RESULT_OK);
	}

	/* Expired sessions go when someone logs in. */
	if ((stmt = store_prepare("DELETE FROM sessions "
	    "WHERE last_seen_at < ?")) != NULL) {
		sqlite3_bind_int64(stmt, 1, now - fusion_cfg.session_idle);
		(void)sqlite3_step(stmt);
		sqlite3_finalize(stmt);
	}

	audit_record(req, &user, "login", "session", "");
	kore_log(LOG_NOTICE, "admin '%s' logged in from %s",
	    user.username, addr);

	session_cookie(req, token, (int)fusion_cfg.session_idle);
	user_reply(req, 200, token, &user);
	sodium_memzero(token, sizeof(token));

	return (KORE_RESULT_OK);
}

/* POST /api/auth/logout: ends the session of the request. */
int
auth_logout(struct http_request *req)
{
	struct admin_user	 user;
	sqlite3_stmt		*stmt;
	int64_t			 session_id;

	if (auth_route(req, HTTP_METHOD_POST, "POST") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (session_lookup(req, &user, &session_id) == KORE_RESULT_OK &&
	    (stmt = store_prepare("DELETE FROM sessions WHERE id = ?")) !=
	    NULL) {
		sqlite3_bind_int64(stmt, 1, session_id);
		(void)sqlite3_step(stmt);
		sqlite3_finalize(stmt);
		audit_record(req, &user, "logout", "session", "");
	}

	session_cookie(req, NULL, 0);
	http_response(req, 204, NULL, 0);

	return (KORE_RESULT_OK);
}

/* GET /api/auth/me: who is logged in (works while a change is due). */
int
auth_me(struct http_request *req)
{
	struct admin_user	user;
	int64_t			session_id;

	if (auth_route(req, HTTP_METHOD_GET, "GET") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (session_lookup(req, &user, &session_id) != KORE_RESULT_OK) {
		api_error(req, 401, "authentication_error", "unauthorized",
		    "not logged in");
		return (KORE_RESULT_OK);
	}

	user_reply(req, 200, NULL, &user);
	return (KORE_RESULT_OK);
}

/*
 * PUT /api/auth/password {old_password, new_password}. Ends every other
 * session of the user.
 */
int
auth_password(struct http_request *req)
{
	struct api_body		 body;
	struct admin_user	 user;
	sqlite3_stmt		*stmt;
	char			*old_pw, *new_pw;
	char			 hash[crypto_pwhash_STRBYTES];
	int64_t			 session_id;
	int			 ok;

	if (auth_route(req, HTTP_METHOD_PUT | HTTP_METHOD_POST, "PUT") !=
	    KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (session_lookup(req, &user, &session_id) != KORE_RESULT_OK) {
		api_error(req, 401, "authentication_error", "unauthorized",
		    "not logged in");
		return (KORE_RESULT_OK);
	}

	if (api_body_parse(req, &body) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	ok = 0;
	old_pw = new_pw = NULL;
	if (api_get_string(req, &body, "old_password", 1, &old_pw) < 0 ||
	    api_get_string(req, &body, "new_password", 1, &new_pw) < 0)
		goto done;

	if (strlen(new_pw) < PASSWORD_MIN || strlen(new_pw) > PASSWORD_MAX) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'new_password' must be %d to %d characters",
		    PASSWORD_MIN, PASSWORD_MAX);
		goto done;
	}

	if (strcmp(new_pw, old_pw) == 0 || strcmp(new_pw,
	    DEFAULT_PASSWORD) == 0) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'new_password' must differ from the old password");
		goto done;
	}

	if ((stmt = store_prepare("SELECT password_hash FROM users "
	    "WHERE id = ?")) == NULL) {
		api_db_error(req);
		goto done;
	}
	sqlite3_bind_int64(stmt, 1, user.id);
	if (sqlite3_step(stmt) == SQLITE_ROW && strlen(old_pw) <= PASSWORD_MAX)
		ok = secrets_password_verify(
		    (const char *)sqlite3_column_text(stmt, 0), old_pw);
	sqlite3_finalize(stmt);

	if (!ok) {
		api_error(req, 403, "permission_error", "invalid_credentials",
		    "the old password is wrong");
		goto done;
	}
	ok = 0;

	if (secrets_password_hash(new_pw, hash, sizeof(hash)) !=
	    KORE_RESULT_OK) {
		api_error(req, 500, "server_error", "hash_failed",
		    "could not hash the password");
		goto done;
	}

	if (store_begin() != KORE_RESULT_OK) {
		api_db_error(req);
		goto done;
	}

	if ((stmt = store_prepare("UPDATE users SET password_hash = ?, "
	    "must_change_password = 0, updated_at = ? WHERE id = ?")) != NULL) {
		sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, store_now());
		sqlite3_bind_int64(stmt, 3, user.id);
		ok = (sqlite3_step(stmt) == SQLITE_DONE);
		sqlite3_finalize(stmt);
	}

	if (ok && (stmt = store_prepare("DELETE FROM sessions "
	    "WHERE user_id = ? AND id != ?")) != NULL) {
		sqlite3_bind_int64(stmt, 1, user.id);
		sqlite3_bind_int64(stmt, 2, session_id);
		ok = (sqlite3_step(stmt) == SQLITE_DONE);
		sqlite3_finalize(stmt);
	} else {
		ok = 0;
	}

	if (!ok || store_commit() != KORE_RESULT_OK) {
		store_rollback();
		api_db_error(req);
		goto done;
	}

	audit_record(req, &user, "password_change", "user", "");
	kore_log(LOG_NOTICE, "admin '%s' changed the password",
	    user.username);
	user.must_change_password = 0;
	user_reply(req, 200, NULL, &user);

done:
	sodium_memzero(hash, sizeof(hash));
	if (old_pw != NULL)
		sodium_memzero(old_pw, strlen(old_pw));
	if (new_pw != NULL)
		sodium_memzero(new_pw, strlen(new_pw));
	api_body_cleanup(&body);
	return (KORE_RESULT_OK);
}
