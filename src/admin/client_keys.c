/*
 * /api/admin/client-keys: the keys applications use to call /v1. The key
 * is made here, shown whole once in the create response, and stored only
 * as a keyed hash; afterwards only its prefix is shown. tokens_used is
 * the count all workers share (dataplane/counters.c); an operator's
 * value replaces it. Budgets (daily, monthly, total) are micro-units of
 * CURRENCY, 0 for none; spent_* are what the key spent, shown only.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "admin/admin.h"

#define CLIENT_KEY_PREFIX	"sk-fe-"
#define CLIENT_KEY_SHOWN	10	/* characters of key_prefix */


static int	client_key_prepare(struct http_request *, struct api_body *,
		    struct admin_write *);
static void	client_key_reveal(struct kore_buf *,
		    const struct admin_write *);
static void	client_key_committed(const struct admin_write *);
static int	client_key_field(struct kore_buf *,
		    const struct admin_field *, int64_t, sqlite3_stmt *, int);

static const struct admin_field client_key_fields[] = {
	{ "name", AK_STRING, AF_REQUIRED, 0, 0, validate_name,
	    "a name of 1 to 128 characters", NULL, 0 },
	{ "key_prefix", AK_STRING, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "allowed_models", AK_NAMES, 0, 0, 0, NULL, NULL, "[]", 0 },
	{ "allowed_groups", AK_IDS, 0, 0, 0, NULL, NULL, "[]", 0 },
	{ "enabled", AK_BOOL, 0, 0, 0, NULL, NULL, NULL, 1 },
	{ "expires_at", AK_TIME, 0, 0, 0, NULL, NULL, NULL, 0 },
	{ "rpm_limit", AK_INT, 0, 0, 1000000000, NULL, NULL, NULL, 0 },
	{ "token_quota", AK_INT, 0, 0, INT64_MAX / 2, NULL, NULL, NULL, 0 },
	{ "tokens_used", AK_INT, 0, 0, INT64_MAX / 2, NULL, NULL, NULL, 0 },
	{ "budget_daily", AK_INT, 0, 0, INT64_MAX / 4, NULL, NULL, NULL, 0 },
	{ "budget_monthly", AK_INT, 0, 0, INT64_MAX / 4, NULL, NULL, NULL, 0 },
	{ "budget_total", AK_INT, 0, 0, INT64_MAX / 4, NULL, NULL, NULL, 0 },
	{ "spent_today", AK_INT, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "spent_month", AK_INT, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
	{ "spent_total", AK_INT, AF_READONLY, 0, 0, NULL, NULL, NULL, 0 },
};

/* Read by client_key_prepare, to refuse it with a reason. */
static const char *const	client_key_accepts[] = { "key", NULL };

const struct admin_resource admin_res_client_keys = {
	.table = "client_keys",
	.path = "/api/admin/client-keys/",
	.noun = "client key",
	.fields = client_key_fields,
	.nfields = sizeof(client_key_fields) / sizeof(client_key_fields[0]),
	.conflict_msg = "a client key with that name already exists",
	.prepare = client_key_prepare,
	.extra_out = client_key_reveal,
	.accepts = client_key_accepts,
	.committed = client_key_committed,
	.field_out = client_key_field,
};

static int
client_key_prepare(struct http_request *req, struct api_body *body,
    struct admin_write *w)
{
	if (api_field(body, "key") != NULL) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'key' is made by the gateway and cannot be set");
		return (KORE_RESULT_ERROR);
	}

	/* PATCH sets the count only when it names it; the others always. */
	w->reset = (w->mode != ADMIN_PATCH ||
	    api_field(body, "tokens_used") != NULL);
	if (w->mode == ADMIN_CREATE)
		admin_client_key_make(w);

	return (KORE_RESULT_OK);
}

/*
 * A new client key for the row w creates: its hash and prefix go to the
 * store, the key itself into w->reveal, to be shown once.
 */
void
admin_client_key_make(struct admin_write *w)
{
	char	hash[SECRET_HASH_HEX], prefix[CLIENT_KEY_SHOWN + 1];

	secrets_token(CLIENT_KEY_PREFIX, w->reveal, sizeof(w->reveal));
	secrets_hash(w->reveal, hash);
	(void)kore_strlcpy(prefix, w->reveal, sizeof(prefix));

	admin_extra_text(w, "key_hash", hash);
	admin_extra_text(w, "key_prefix", prefix);
}

/* The whole key, in the create response only. */
static void
client_key_reveal(struct kore_buf *buf, const struct admin_write *w)
{
	if (w->reveal[0] != '\0')
		json_kv_str(buf, "key", w->reveal, 0);
}

/* The count written is the count from now on. */
static void
client_key_committed(const struct admin_write *w)
{
	if (w->reset)
		counters_tokens(w->id, w->vals[admin_field_index(&admin_res_client_keys,
		    "tokens_used")].i, 0);
}

/*
 * tokens_used and what the key spent (micro-units of CURRENCY, in the
 * day and month of BUDGET_TIMEZONE) as all workers count them; the
 * store's copy when no worker has counted any.
 */
static int
client_key_field(struct kore_buf *buf, const struct admin_field *f,
    int64_t id, sqlite3_stmt *st, int col)
{
	struct budget_periods	bp;
	struct client_spend	s;
	int64_t			used;

	if (strcmp(f->name, "tokens_used") == 0) {
		if ((used = counters_tokens_used(id)) < 0)
			return (0);
		json_kv_int(buf, f->name, used, 1);
		return (1);
	}
	if (strncmp(f->name, "spent_", 6) != 0)
		return (0);
	budget_periods(store_now(), fusion_cfg.budget_offset,
	    fusion_cfg.budget_zoned, &bp);
	if (!counters_spend_view(id, &bp, &s))
		return (0);
	json_kv_int(buf, f->name, strcmp(f->name, "spent_today") == 0 ?
	    s.day : strcmp(f->name, "spent_month") == 0 ? s.month : s.total,
	    1);
	return (1);
}

int
admin_client_keys(struct http_request *req)
{
	return (admin_collection(req, &admin_res_client_keys));
}

int
admin_client_key(struct http_request *req)
{
	return (admin_item(req, &admin_res_client_keys));
}
