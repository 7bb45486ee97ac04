/*
 * GET /api/admin/export[?secrets=true]: the configuration as one JSON
 * document, the shape POST /api/admin/import and CONFIG_FILE read:
 *
 *	{"fusion_config": 1,
 *	 "groups": [{"name", "priority", "enabled", "strategy",
 *	     "providers": [{"name", "type", "base_url", "models",
 *	         "model_aliases", "weight", "enabled", "timeout_ms",
 *	         "tls_verify", "ca_cert",
 *	         "keys": [{"key_masked", "label", "enabled", "secret"?}]}]}],
 *	 "client_keys": [{"name", "allowed_models", "allowed_groups" (group
 *	     names), "enabled", "expires_at", "rpm_limit", "token_quota"}],
 *	 "secrets": {"kdf", "opslimit", "memlimit", "salt"}?}
 *
 * Records are named, never numbered (ids differ between gateways), and
 * listed by name (keys in the order they were added), so that the same
 * configuration always gives the same document. Runtime state (key
 * health, request counts, tokens used) is not configuration and stays
 * out. Client keys go without their secret: the store has only hashes.
 * Upstream keys go with their secret only with ?secrets=true, each
 * sealed (libsodium secretbox) under a key derived with argon2id from
 * the passphrase in the X-Fusion-Passphrase header; that export is
 * audited.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "admin/admin.h"

static void	export_groups(struct kore_buf *, const u_int8_t *);
static void	export_providers(struct kore_buf *, int64_t, const u_int8_t *);
static void	export_keys(struct kore_buf *, int64_t, const u_int8_t *);
static void	export_client_keys(struct kore_buf *);
static void	export_group_names(struct kore_buf *, const char *);
static int	export_rows(struct kore_buf *, const struct admin_resource *,
		    const char *, int64_t, sqlite3_stmt **);

/*
 * Prepare the rows of res that follow where (a clause, bound to id when
 * id is not 0) into *st. Returns KORE_RESULT_OK.
 */
static int
export_rows(struct kore_buf *sql, const struct admin_resource *res,
    const char *where, int64_t id, sqlite3_stmt **st)
{
	kore_buf_reset(sql);
	admin_select(sql, res);
	kore_buf_appendf(sql, " %s", where);
	if ((*st = store_prepare(kore_buf_stringify(sql, NULL))) == NULL)
		return (KORE_RESULT_ERROR);
	if (id != 0)
		sqlite3_bind_int64(*st, 1, id);
	return (KORE_RESULT_OK);
}

static void
export_groups(struct kore_buf *buf, const u_int8_t *key)
{
	struct kore_buf	 sql;
	sqlite3_stmt	*st;
	int		 n;

	kore_buf_init(&sql, 256);
	kore_buf_appendf(buf, "\"groups\":[");
	if (export_rows(&sql, &admin_res_groups, "ORDER BY name", 0,
	    &st) == KORE_RESULT_OK) {
		for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
			kore_buf_appendf(buf, n ? ",{" : "{");
			admin_print_fields(buf, &admin_res_groups, st,
			    AF_READONLY, NULL, 1);
			export_providers(buf, sqlite3_column_int64(st, 0), key);
			kore_buf_appendf(buf, "}");
		}
		sqlite3_finalize(st);
	}
	kore_buf_appendf(buf, "]");
	kore_buf_cleanup(&sql);
}

static void
export_providers(struct kore_buf *buf, int64_t group, const u_int8_t *key)
{
	static const char *const	 skip[] = { "group_id", NULL };
	struct kore_buf			 sql;
	sqlite3_stmt			*st;
	int				 n;

	kore_buf_init(&sql, 256);
	kore_buf_appendf(buf, ",\"providers\":[");
	if (export_rows(&sql, &admin_res_providers,
	    "WHERE group_id = ? ORDER BY name", group, &st) == KORE_RESULT_OK) {
		for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
			kore_buf_appendf(buf, n ? ",{" : "{");
			admin_print_fields(buf, &admin_res_providers, st,
			    AF_READONLY, skip, 1);
			export_keys(buf, sqlite3_column_int64(st, 0), key);
			kore_buf_appendf(buf, "}");
		}
		sqlite3_finalize(st);
	}
	kore_buf_appendf(buf, "]");
	kore_buf_cleanup(&sql);
}

/* A provider's keys, masked; sealed to the passphrase's key when given. */
static void
export_keys(struct kore_buf *buf, int64_t provider, const u_int8_t *key)
{
	static const char *const	 skip[] = { "provider_id", NULL };
	sqlite3_stmt			*st;
	char				*plain, *sealed;
	int				 n;

	kore_buf_appendf(buf, ",\"keys\":[");
	if ((st = store_prepare("SELECT id, provider_id, label, enabled, "
	    "key_masked, secret FROM upstream_keys WHERE provider_id = ? "
	    "ORDER BY id")) == NULL)
		goto done;
	sqlite3_bind_int64(st, 1, provider);

	for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
		kore_buf_appendf(buf, n ? ",{" : "{");
		json_kv_str(buf, "key_masked",
		    (const char *)sqlite3_column_text(st, 4), 1);
		/* label and enabled, the key's first fields after the FK. */
		admin_print_fields(buf, &admin_res_keys, st, AF_READONLY,
		    skip, 0);
		if (key != NULL && (plain = secrets_open(
		    sqlite3_column_blob(st, 5),
		    (size_t)sqlite3_column_bytes(st, 5))) != NULL) {
			sealed = secrets_pass_seal(key, plain);
			json_kv_str(buf, "secret", sealed, 0);
			sodium_memzero(plain, strlen(plain));
			kore_free(plain);
			kore_free(sealed);
		}
		kore_buf_appendf(buf, "}");
	}
	sqlite3_finalize(st);

done:
	kore_buf_appendf(buf, "]");
}

/* A stored array of group ids ("[1,2]") as the groups' names. */
static void
export_group_names(struct kore_buf *buf, const char *ids)
{
	struct kore_json	 json;
	struct kore_json_item	*it;
	sqlite3_stmt		*st;
	int			 n;

	kore_buf_appendf(buf, ",\"allowed_groups\":[");
	kore_json_init(&json, ids, strlen(ids));
	if (kore_json_parse(&json) &&
	    json.root->type == KORE_JSON_TYPE_ARRAY &&
	    (st = store_prepare("SELECT name FROM groups WHERE id = ?")) !=
	    NULL) {
		n = 0;
		TAILQ_FOREACH(it, &json.root->data.items, list) {
			sqlite3_bind_int64(st, 1, it->data.s64);
			/* A group deleted since is no longer named. */
			if (sqlite3_step(st) == SQLITE_ROW) {
				if (n++)
					kore_buf_appendf(buf, ",");
				json_str(buf, (const char *)
				    sqlite3_column_text(st, 0));
			}
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	}
	kore_json_cleanup(&json);
	kore_buf_appendf(buf, "]");
}

static void
export_client_keys(struct kore_buf *buf)
{
	static const char *const	 skip[] = { "allowed_groups",
					    "tokens_used", NULL };
	struct kore_buf			 sql;
	sqlite3_stmt			*st;
	int				 n, col;

	kore_buf_init(&sql, 256);
	col = admin_field_index(&admin_res_client_keys, "allowed_groups") + 1;
	kore_buf_appendf(buf, ",\"client_keys\":[");
	if (export_rows(&sql, &admin_res_client_keys, "ORDER BY name", 0,
	    &st) == KORE_RESULT_OK) {
		for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
			kore_buf_appendf(buf, n ? ",{" : "{");
			admin_print_fields(buf, &admin_res_client_keys, st,
			    AF_READONLY, skip, 1);
			export_group_names(buf,
			    (const char *)sqlite3_column_text(st, col));
			kore_buf_appendf(buf, "}");
		}
		sqlite3_finalize(st);
	}
	kore_buf_appendf(buf, "]");
	kore_buf_cleanup(&sql);
}

int
admin_export(struct http_request *req)
{
	struct admin_user	 user;
	struct kore_buf		*buf;
	const char		*pass;
	char			*secrets, b64[64];
	u_int8_t		 salt[SECRETS_SALT], key[SECRETS_KEY];
	int			 with_secrets;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_method(req, HTTP_METHOD_GET, "GET") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	secrets = api_query_string(req, "secrets");
	with_secrets = (secrets != NULL && strcmp(secrets, "true") == 0);
	if (secrets != NULL && !with_secrets && strcmp(secrets, "false") != 0) {
		kore_free(secrets);
		api_error(req, 400, "invalid_request_error",
		    "invalid_parameter", "query parameter 'secrets' must be "
		    "true or false");
		return (KORE_RESULT_OK);
	}
	kore_free(secrets);

	if (with_secrets) {
		if (!http_request_header(req, "x-fusion-passphrase", &pass) ||
		    strlen(pass) < EXPORT_PASSPHRASE_MIN) {
			api_error(req, 400, "invalid_request_error",
			    "passphrase_required", "an export with secrets "
			    "needs a passphrase of at least %d characters in "
			    "the X-Fusion-Passphrase header",
			    EXPORT_PASSPHRASE_MIN);
			return (KORE_RESULT_OK);
		}
		randombytes_buf(salt, sizeof(salt));
		if (secrets_pass_key(pass, salt, EXPORT_OPSLIMIT,
		    EXPORT_MEMLIMIT, key) != KORE_RESULT_OK) {
			api_error(req, 500, "server_error", "out_of_memory",
			    "the passphrase's key could not be derived");
			return (KORE_RESULT_OK);
		}
	}

	buf = kore_buf_alloc(8192);
	kore_buf_appendf(buf, "{\"fusion_config\":%d,", EXPORT_VERSION);
	export_groups(buf, with_secrets ? key : NULL);
	export_client_keys(buf);
	if (with_secrets) {
		(void)sodium_bin2base64(b64, sizeof(b64), salt, sizeof(salt),
		    sodium_base64_VARIANT_ORIGINAL);
		kore_buf_appendf(buf, ",\"secrets\":{\"kdf\":\"argon2id13\","
		    "\"opslimit\":%llu,\"memlimit\":%zu,\"salt\":\"%s\"}",
		    (unsigned long long)EXPORT_OPSLIMIT,
		    (size_t)EXPORT_MEMLIMIT, b64);
		sodium_memzero(key, sizeof(key));
		audit_record(req, &user, "export", "configuration",
		    "with upstream keys, sealed to a passphrase");
	}
	kore_buf_appendf(buf, "}");

	glue_reply_json(req, 200, buf);
	return (KORE_RESULT_OK);
}
