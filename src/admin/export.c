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
 *	     names), "enabled", "expires_at", "rpm_limit", "token_quota",
 *	     the budget fields}],
 *	 "currency",
 *	 "prices": [{"model", "group"?, "provider"? (the provider by its
 *	     group's name and its own; neither for a price of every
 *	     provider), "input", "cached_input", "cache_write", "output",
 *	     "reasoning", "per_request"}],
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

static void	export_records(struct kore_buf *, const char *,
		    const struct admin_resource *, const char *, int64_t,
		    const char *const *, void (*)(struct kore_buf *, int64_t,
		    const u_int8_t *), const u_int8_t *);
static void	export_providers(struct kore_buf *, int64_t, const u_int8_t *);
static void	export_keys(struct kore_buf *, int64_t, const u_int8_t *);
static void	export_client_groups(struct kore_buf *, int64_t,
		    const u_int8_t *);
static void	export_group_names(struct kore_buf *, const char *);
static void	export_price_provider(struct kore_buf *, int64_t,
		    const u_int8_t *);

/*
 * The member name: the rows of res that follow where (bound to parent
 * when it is not 0), each with its configuration fields (skip_names left
 * out) and what children adds of its own rows.
 */
static void
export_records(struct kore_buf *buf, const char *name,
    const struct admin_resource *res, const char *where, int64_t parent,
    const char *const *skip_names,
    void (*children)(struct kore_buf *, int64_t, const u_int8_t *),
    const u_int8_t *key)
{
	struct kore_buf	 sql;
	sqlite3_stmt	*st;
	int		 n;

	kore_buf_init(&sql, 256);
	admin_select(&sql, res);
	kore_buf_appendf(&sql, " %s", where);
	kore_buf_appendf(buf, "\"%s\":[", name);
	if ((st = store_prepare(kore_buf_stringify(&sql, NULL))) != NULL) {
		if (parent != 0)
			sqlite3_bind_int64(st, 1, parent);
		for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
			kore_buf_appendf(buf, n ? ",{" : "{");
			admin_print_fields(buf, res, st, AF_READONLY,
			    skip_names, 1);
			children(buf, sqlite3_column_int64(st, 0), key);
			kore_buf_appendf(buf, "}");
		}
		sqlite3_finalize(st);
	}
	kore_buf_appendf(buf, "]");
	kore_buf_cleanup(&sql);
}

/* A group's providers, each with its keys. */
static void
export_providers(struct kore_buf *buf, int64_t group, const u_int8_t *key)
{
	static const char *const	 skip[] = { "group_id", NULL };

	kore_buf_appendf(buf, ",");
	export_records(buf, "providers", &admin_res_providers,
	    "WHERE group_id = ? ORDER BY name", group, skip, export_keys, key);
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

/* A client key's groups, by name. */
static void
export_client_groups(struct kore_buf *buf, int64_t id, const u_int8_t *key)
{
	sqlite3_stmt	*st;

	if ((st = store_prepare("SELECT allowed_groups FROM client_keys "
	    "WHERE id = ?")) == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		export_group_names(buf,
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* The provider of price id, by its group's name and its own. */
static void
export_price_provider(struct kore_buf *buf, int64_t id, const u_int8_t *key)
{
	sqlite3_stmt	*st;

	if ((st = store_prepare("SELECT g.name, p.name FROM prices x "
	    "JOIN providers p ON p.id = x.provider_id "
	    "JOIN groups g ON g.id = p.group_id WHERE x.id = ?")) == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_kv_str(buf, "group",
		    (const char *)sqlite3_column_text(st, 0), 0);
		json_kv_str(buf, "provider",
		    (const char *)sqlite3_column_text(st, 1), 0);
	}
	sqlite3_finalize(st);
}

int
admin_export(struct http_request *req)
{
	struct admin_user	 user;
	struct kore_buf		*buf;
	const char		*pass;
	char			 b64[64];
	u_int8_t		 salt[SECRETS_SALT], key[SECRETS_KEY];
	int			 with_secrets;
	static const char *const client_skip[] = { "allowed_groups",
				    "tokens_used", NULL };
	static const char *const price_skip[] = { "provider_id", NULL };

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_method(req, HTTP_METHOD_GET, "GET") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (api_query_bool(req, "secrets", &with_secrets) < 0)
		return (KORE_RESULT_OK);

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
	export_records(buf, "groups", &admin_res_groups, "ORDER BY name", 0,
	    NULL, export_providers, with_secrets ? key : NULL);
	kore_buf_appendf(buf, ",");
	export_records(buf, "client_keys", &admin_res_client_keys,
	    "ORDER BY name", 0, client_skip, export_client_groups, NULL);
	kore_buf_appendf(buf, ",");
	json_kv_str(buf, "currency", fusion_cfg.currency, 1);
	kore_buf_appendf(buf, ",");
	/* Ordered by names, as ids differ between gateways. */
	export_records(buf, "prices", &admin_res_prices, "ORDER BY model, "
	    "(SELECT g.name || char(31) || p.name FROM providers p "
	    "JOIN groups g ON g.id = p.group_id "
	    "WHERE p.id = prices.provider_id)", 0, price_skip,
	    export_price_provider, NULL);
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
