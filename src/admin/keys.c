/*
 * /api/admin/keys: the upstream API keys of a provider. The secret is
 * write-only: sealed with the master key at rest, shown masked. POST with
 * "keys": [...] adds many at once; PATCH {"status":"active"} clears the
 * key's health state. GET ?provider_id=N lists one provider's keys.
 * Health, and the failed attempts not in the store yet, are shown as the
 * workers' shared memory holds them (dataplane/health.c).
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "admin/admin.h"

#define KEY_LEN_MAX	4096
#define BULK_MAX	1000


static int	key_valid(const char *);
static int	key_prepare(struct http_request *, struct api_body *,
		    struct admin_write *);
static int	key_bulk(struct http_request *, struct api_body *,
		    const struct admin_user *);
static void	key_committed(const struct admin_write *);
static int	key_field(struct kore_buf *, const struct admin_field *,
		    int64_t, sqlite3_stmt *, int);

static const struct admin_field key_fields[] = {
	{ "provider_id", AK_INT, AF_REQUIRED, 1, INT64_MAX, NULL, NULL,
	    NULL, 0 },
	{ "label", AK_STRING, 0, 0, 0, validate_label,
	    "at most 128 characters", "", 0 },
	{ "enabled", AK_BOOL, 0, 0, 0, NULL, NULL, NULL, 1 },
	{ "key_masked", AK_STRING, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "status", AK_STRING, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "status_reason", AK_STRING, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "cooldown_until", AK_TIME, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "requests", AK_INT, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "failures", AK_INT, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "last_used_at", AK_TIME, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
};

/* Read by key_prepare: the secret, and the health reset. */
static const char *const	key_accepts[] = { "key", "status", NULL };
static const char *const	bulk_fields[] = { "provider_id", "keys",
				    "label", NULL };

const struct admin_resource admin_res_keys = {
	.table = "upstream_keys",
	.path = "/api/admin/keys/",
	.noun = "key",
	.fields = key_fields,
	.nfields = sizeof(key_fields) / sizeof(key_fields[0]),
	.filter = "provider_id",
	.conflict_msg = "this provider already has that key",
	.fk_field = "provider_id",
	.prepare = key_prepare,
	.accepts = key_accepts,
	.committed = key_committed,
	.field_out = key_field,
};

/* 1 to 4096 printable ASCII characters without spaces. */
static int
key_valid(const char *s)
{
	size_t	len;

	len = strlen(s);
	if (len == 0 || len > KEY_LEN_MAX)
		return (0);

	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return (0);
	}

	return (1);
}

/* Add the sealed secret, its hash (for duplicates) and its mask. */
void
admin_key_seal(struct admin_write *w, const char *secret)
{
	u_int8_t	*box;
	size_t		 len;
	char		 hash[SECRET_HASH_HEX], masked[16];

	if (secrets_seal(secret, &box, &len) != KORE_RESULT_OK)
		fatal("master key not loaded");

	secrets_hash(secret, hash);
	secrets_mask(secret, masked, sizeof(masked));

	admin_extra_blob(w, "secret", box, len);
	admin_extra_text(w, "secret_hash", hash);
	admin_extra_text(w, "key_masked", masked);
}

static int
key_prepare(struct http_request *req, struct api_body *body,
    struct admin_write *w)
{
	char	*secret, *status;
	int	 new_secret, has_status;

	if ((new_secret = api_get_string(req, body, "key",
	    w->mode == ADMIN_CREATE, &secret)) < 0 ||
	    (has_status = api_get_string(req, body, "status", 0,
	    &status)) < 0)
		return (KORE_RESULT_ERROR);

	if (new_secret) {
		if (!key_valid(secret)) {
			api_error(req, 400, "invalid_request_error",
			    "invalid_field", "field 'key' must be 1 to %d "
			    "printable characters without spaces",
			    KEY_LEN_MAX);
			return (KORE_RESULT_ERROR);
		}
		admin_key_seal(w, secret);
		sodium_memzero(secret, strlen(secret));
	}

	if (has_status && strcmp(status, "active") != 0) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'status' can only be set to 'active' (to clear "
		    "the key's health state)");
		return (KORE_RESULT_ERROR);
	}

	/* An operator's word, or a new secret, clears the health state. */
	if (has_status || (new_secret && w->mode != ADMIN_CREATE)) {
		admin_extra_text(w, "status", "active");
		admin_extra_text(w, "status_reason", "");
		admin_extra_int(w, "cooldown_until", 0);
		admin_extra_int(w, "consecutive_failures", 0);
		w->reset = 1;
	}

	return (KORE_RESULT_OK);
}

/* A new key (its id may have been used before) or a reset one. */
static void
key_committed(const struct admin_write *w)
{
	if (w->mode == ADMIN_CREATE || w->reset)
		health_reset(w->id);
}

/*
 * The fields health holds, from shared memory: status and its reason,
 * cooldown, and the counts with the failed attempts not stored yet.
 */
static int
key_field(struct kore_buf *buf, const struct admin_field *f, int64_t id,
    sqlite3_stmt *st, int col)
{
	struct key_health	h;
	int64_t			v;

	if (f->kind == AK_BOOL || !(f->flags & AF_READONLY) ||
	    strcmp(f->name, "key_masked") == 0 || !health_view(id, &h))
		return (0);

	v = sqlite3_column_int64(st, col);
	if (strcmp(f->name, "status") == 0)
		json_kv_str(buf, f->name, health_status_name(h.status), 1);
	else if (strcmp(f->name, "status_reason") == 0)
		json_kv_str(buf, f->name, h.reason, 1);
	else if (strcmp(f->name, "cooldown_until") == 0)
		json_kv_time(buf, f->name, h.cooldown_until, 1);
	else if (strcmp(f->name, "requests") == 0)
		json_kv_int(buf, f->name, v + h.requests, 1);
	else if (strcmp(f->name, "failures") == 0)
		json_kv_int(buf, f->name, v + h.failures, 1);
	else if (strcmp(f->name, "last_used_at") == 0)
		json_kv_time(buf, f->name, v > h.last_failed ? v :
		    h.last_failed, 1);
	else
		return (0);

	return (1);
}

/*
 * POST {"provider_id": N, "keys": ["...", ...], "label": "..."}: adds
 * every key the provider does not have yet, in one transaction. Answers
 * {"data": [created keys], "total": created, "skipped": duplicates}.
 */
static int
key_bulk(struct http_request *req, struct api_body *body,
    const struct admin_user *user)
{
	struct kore_json_item	*list, *it;
	struct admin_write	 w;
	struct kore_buf		*items, *buf;
	char			*label, target[64];
	int64_t			 provider_id, created, skipped, w_id, i;
	int			 count, rc;
	int64_t			 ids[BULK_MAX];

	if (api_check_fields(req, body, bulk_fields) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	list = api_field(body, "keys");
	if (list->type != KORE_JSON_TYPE_ARRAY) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'keys' must be an array of strings");
		return (KORE_RESULT_OK);
	}

	if (api_get_int(req, body, "provider_id", 1, INT64_MAX, 1,
	    &provider_id) < 0 ||
	    api_get_string(req, body, "label", 0, &label) < 0)
		return (KORE_RESULT_OK);

	if (label != NULL && !validate_label(label)) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'label' must be at most 128 characters");
		return (KORE_RESULT_OK);
	}

	count = 0;
	TAILQ_FOREACH(it, &list->data.items, list) {
		if (it->type != KORE_JSON_TYPE_STRING ||
		    !key_valid(it->data.string)) {
			api_error(req, 400, "invalid_request_error",
			    "invalid_field", "field 'keys' item %d must be 1 "
			    "to %d printable characters without spaces",
			    count, KEY_LEN_MAX);
			return (KORE_RESULT_OK);
		}
		count++;
	}

	if (count == 0 || count > BULK_MAX) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'keys' must hold 1 to %d keys", BULK_MAX);
		return (KORE_RESULT_OK);
	}

	if (store_begin() != KORE_RESULT_OK) {
		api_db_error(req);
		return (KORE_RESULT_OK);
	}

	created = skipped = 0;
	TAILQ_FOREACH(it, &list->data.items, list) {
		admin_write_init(&admin_res_keys, &w, ADMIN_CREATE);
		w.vals[admin_field_index(&admin_res_keys, "provider_id")].i = provider_id;
		if (label != NULL) {
			i = admin_field_index(&admin_res_keys, "label");
			kore_free(w.vals[i].s);
			w.vals[i].s = kore_strdup(label);
		}
		admin_key_seal(&w, it->data.string);
		sodium_memzero(it->data.string, strlen(it->data.string));

		rc = admin_write_row(&admin_res_keys, &w);
		w_id = w.id;
		admin_write_cleanup(&w);

		if (rc == SQLITE_OK) {
			ids[created++] = w_id;
		} else if (rc == SQLITE_CONSTRAINT_UNIQUE) {
			skipped++;
		} else {
			store_rollback();
			admin_write_error(req, &admin_res_keys, rc);
			return (KORE_RESULT_OK);
		}
	}

	if (store_commit() != KORE_RESULT_OK) {
		store_rollback();
		api_db_error(req);
		return (KORE_RESULT_OK);
	}
	for (i = 0; i < created; i++)
		health_reset(ids[i]);
	config_invalidate();
	{
		char	detail[96];

		(void)snprintf(detail, sizeof(detail), "%" PRId64 " keys added, "
		    "%" PRId64 " already there", created, skipped);
		(void)snprintf(target, sizeof(target), "provider %" PRId64,
		    provider_id);
		audit_record(req, user, "bulk_create", target, detail);
	}

	items = kore_buf_alloc(4096);
	for (i = 0; i < created; i++) {
		if (i > 0)
			kore_buf_appendf(items, ",");
		(void)admin_print(items, &admin_res_keys, ids[i]);
		kore_buf_appendf(items, "}");
	}

	buf = kore_buf_alloc(items->offset + 96);
	kore_buf_appendf(buf, "{\"data\":[");
	kore_buf_append(buf, items->data, items->offset);
	kore_buf_appendf(buf, "],\"total\":%" PRId64 ",\"skipped\":%" PRId64
	    "}", created, skipped);
	kore_buf_free(items);
	glue_reply_json(req, 201, buf);

	return (KORE_RESULT_OK);
}

int
admin_keys(struct http_request *req)
{
	struct admin_user	user;
	struct api_body		body;

	if (req->method != HTTP_METHOD_POST)
		return (admin_collection(req, &admin_res_keys));

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (api_body_parse(req, &body) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (api_field(&body, "keys") != NULL) {
		key_bulk(req, &body, &user);
		api_body_cleanup(&body);
		return (KORE_RESULT_OK);
	}

	api_body_cleanup(&body);
	return (admin_collection(req, &admin_res_keys));
}

int
admin_key(struct http_request *req)
{
	return (admin_item(req, &admin_res_keys));
}
