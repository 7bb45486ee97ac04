/*
 * /api/admin/prices: what each model costs, in micro-units of CURRENCY
 * (10^-6 of a unit: 2500000 is 2.50 USD) per million tokens of each kind
 * (input, cached_input, cache_write, output, reasoning) and per request.
 * model is a public model name, or a prefix ending in '*'; provider_id
 * null applies to every provider; reasoning null is the output price.
 * The most specific row wins (dataplane/price.c).
 *
 * PUT on the collection replaces every price with those of one document,
 * {"prices": [...]} (or {"data": [...]}, what GET lists), in one
 * transaction: an entry that does not hold is a 400 naming it, and
 * nothing changes. "currency", when the document names one, must be the
 * gateway's; "note" and "as_of" are the document's own.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"

#define PRICE_MAX	(INT64_MAX / 4)		/* micro-units, per million */

static const struct admin_field price_fields[] = {
	{ "model", AK_STRING, AF_REQUIRED, 0, 0, validate_price_model,
	    "a model name of 1 to 128 characters, '*' only at its end", NULL,
	    0 },
	{ "provider_id", AK_INT, AF_NULL, 1, INT64_MAX, NULL, NULL, NULL,
	    ADMIN_NULL },
	{ "input", AK_INT, 0, 0, PRICE_MAX, NULL, NULL, NULL, 0 },
	{ "cached_input", AK_INT, 0, 0, PRICE_MAX, NULL, NULL, NULL, 0 },
	{ "cache_write", AK_INT, 0, 0, PRICE_MAX, NULL, NULL, NULL, 0 },
	{ "output", AK_INT, 0, 0, PRICE_MAX, NULL, NULL, NULL, 0 },
	{ "reasoning", AK_INT, AF_NULL, 0, PRICE_MAX, NULL, NULL, NULL,
	    ADMIN_NULL },
	{ "per_request", AK_INT, 0, 0, PRICE_MAX, NULL, NULL, NULL, 0 },
};

const struct admin_resource admin_res_prices = {
	.table = "prices",
	.path = "/api/admin/prices/",
	.noun = "price",
	.fields = price_fields,
	.nfields = sizeof(price_fields) / sizeof(price_fields[0]),
	.conflict_msg = "a price for that model and provider already exists",
	.fk_field = "provider_id",
};

/* The members a bulk entry may have: the fields, and what GET adds. */
static const char *const price_entry_names[] = {
	"model", "provider_id", "input", "cached_input", "cache_write",
	"output", "reasoning", "per_request", "id", "created_at",
	"updated_at", NULL
};

static int	prices_entry(struct kore_json_item *, struct admin_write *,
		    char *, size_t);
static int	prices_replace(struct http_request *,
		    const struct admin_user *);

/*
 * One entry of a bulk document into w (ADMIN_PUT defaults). Returns 0,
 * or -1 with the reason in err.
 */
static int
prices_entry(struct kore_json_item *it, struct admin_write *w, char *err,
    size_t errlen)
{
	struct kore_json_item	*m;
	struct api_body		 body;
	const char		*code;
	size_t			 i;

	if (it->type != KORE_JSON_TYPE_OBJECT) {
		(void)snprintf(err, errlen, "must be an object");
		return (-1);
	}
	TAILQ_FOREACH(m, &it->data.items, list) {
		for (i = 0; price_entry_names[i] != NULL &&
		    !api_name_equal(m->name, price_entry_names[i]); i++)
			;
		if (price_entry_names[i] == NULL) {
			(void)snprintf(err, errlen, "unknown field '%s'",
			    m->name);
			return (-1);
		}
	}

	memset(&body, 0, sizeof(body));
	body.root = it;
	return (admin_read(&admin_res_prices, &body, w, err, errlen, &code));
}

/*
 * PUT /api/admin/prices: every price replaced by the document's, or
 * none (400 naming the entry, 409 for one given twice).
 */
static int
prices_replace(struct http_request *req, const struct admin_user *user)
{
	struct api_body		 body;
	struct admin_write	 w;
	struct kore_json_item	*list, *cur, *it;
	struct kore_buf		*reply;
	char			 err[256], detail[64];
	int64_t			 n;
	int			 rc;

	if (api_body_parse(req, &body) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_check_fields(req, &body, (const char *const[]){ "prices",
	    "data", "currency", "note", "as_of", "total", NULL }) !=
	    KORE_RESULT_OK)
		goto done;
	if ((list = api_field(&body, "prices")) == NULL)
		list = api_field(&body, "data");
	if (list == NULL || list->type != KORE_JSON_TYPE_ARRAY) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'prices' must be an array of prices");
		goto done;
	}
	if ((cur = api_field(&body, "currency")) != NULL &&
	    (cur->type != KORE_JSON_TYPE_STRING ||
	    strcmp(cur->data.string, fusion_cfg.currency) != 0)) {
		api_error(req, 400, "invalid_request_error", "invalid_field",
		    "field 'currency' must be this gateway's, %s (the "
		    "CURRENCY setting)", fusion_cfg.currency);
		goto done;
	}

	if (store_begin() != KORE_RESULT_OK) {
		api_db_error(req);
		goto done;
	}
	if (store_exec("DELETE FROM prices") != KORE_RESULT_OK) {
		store_rollback();
		api_db_error(req);
		goto done;
	}

	n = 0;
	TAILQ_FOREACH(it, &list->data.items, list) {
		admin_write_init(&admin_res_prices, &w, ADMIN_CREATE);
		if (prices_entry(it, &w, err, sizeof(err)) == -1) {
			admin_write_cleanup(&w);
			store_rollback();
			api_error(req, 400, "invalid_request_error",
			    "invalid_field", "prices[%" PRId64 "]: %s", n, err);
			goto done;
		}
		rc = admin_write_row(&admin_res_prices, &w);
		admin_write_cleanup(&w);
		if (rc != SQLITE_OK) {
			store_rollback();
			if (rc == SQLITE_CONSTRAINT_UNIQUE) {
				api_error(req, 400, "invalid_request_error",
				    "conflict", "prices[%" PRId64 "]: the same "
				    "model and provider as an entry before",
				    n);
			} else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
				api_error(req, 400, "invalid_request_error",
				    "invalid_field", "prices[%" PRId64 "]: "
				    "field 'provider_id' names no provider", n);
			} else {
				api_db_error(req);
			}
			goto done;
		}
		n++;
	}

	if (store_commit() != KORE_RESULT_OK) {
		store_rollback();
		api_db_error(req);
		goto done;
	}
	config_invalidate();
	(void)snprintf(detail, sizeof(detail), "%" PRId64 " prices", n);
	audit_record(req, user, "replace", "prices", detail);

	reply = kore_buf_alloc(64);
	kore_buf_appendf(reply, "{\"replaced\":%" PRId64 "}", n);
	glue_reply_json(req, 200, reply);

done:
	api_body_cleanup(&body);
	return (KORE_RESULT_OK);
}

/* /api/admin/prices: GET lists, POST creates, PUT replaces them all. */
int
admin_prices(struct http_request *req)
{
	struct admin_user	user;

	if (req->method != HTTP_METHOD_PUT)
		return (admin_collection(req, &admin_res_prices));
	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	return (prices_replace(req, &user));
}

int
admin_price(struct http_request *req)
{
	return (admin_item(req, &admin_res_prices));
}
