/*
 * POST /api/admin/providers/:id/models/sync[?apply=true]: the provider's
 * own list of models (OpenAI's /models, Anthropic's /v1/models, Gemini's
 * models, every page), fetched with one of its keys through the /v1
 * machinery, against the provider's models: what the upstream has that
 * the provider does not list (added) and what the provider lists that
 * the upstream does not have (removed). With ?apply=true the provider's
 * models become the upstream's, in their old order with the new ones
 * after. Names are compared as they are: "GPT-4o" and "gpt-4o" are two
 * models. Aliases are left as they are.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"

#define SYNC_PAGES_MAX		50

/*
 * What a sync gathers across pages: px->arg, with the names so far in
 * px->own_body (JSON array members), both freed with the request.
 */
struct sync_state {
	struct admin_user	 user;
	int			 apply;
	int			 pages;
	int			 n;		/* names in px->own_body */
	char			 next[512];	/* the page to ask next */
};

static int	sync_begin(struct http_request *, struct proxy *);
static void	sync_url(struct proxy *, struct kore_buf *);
static void	sync_settle(struct proxy *, CURLcode, int64_t);
static int	sync_has(struct kore_json_item *, const char *,
		    const struct kore_json_item *);
static int	sync_listed(const struct cfg_provider *, const char *);
static void	sync_answer(struct proxy *, struct sync_state *);
static int	sync_write(struct proxy *, struct sync_state *,
		    struct kore_buf *);

/* One attempt per page; no log entry; key health left alone. */
static const struct proxy_ops	sync_ops = {
	.begin = sync_begin,
	.settle = sync_settle,
	.url = sync_url,
};

static int
sync_begin(struct http_request *req, struct proxy *px)
{
	struct sync_state	*st;
	struct cfg_provider	*p;
	struct cfg_key		*k;
	struct admin_user	 user;
	char			*apply;
	int64_t			 id;

	px->phase = PHASE_DONE;
	if (auth_admin(req, &user) != KORE_RESULT_OK ||
	    api_method(req, HTTP_METHOD_POST, "POST") != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
	if (sscanf(req->path, "/api/admin/providers/%" SCNd64 "/models/sync",
	    &id) != 1) {
		api_error(req, 404, "invalid_request_error", "not_found",
		    "no such provider");
		return (KORE_RESULT_ERROR);
	}
	if ((apply = api_query_string(req, "apply")) != NULL &&
	    strcmp(apply, "true") != 0 && strcmp(apply, "false") != 0) {
		kore_free(apply);
		api_error(req, 400, "invalid_request_error",
		    "invalid_parameter", "query parameter 'apply' must be "
		    "true or false");
		return (KORE_RESULT_ERROR);
	}

	if ((px->cfg = config_acquire()) == NULL) {
		kore_free(apply);
		api_db_error(req);
		return (KORE_RESULT_ERROR);
	}
	if ((p = config_provider(px->cfg, id)) == NULL) {
		kore_free(apply);
		api_error(req, 404, "invalid_request_error", "not_found",
		    "no provider with id %" PRId64, id);
		return (KORE_RESULT_ERROR);
	}
	if ((k = probe_key(p)) == NULL) {
		kore_free(apply);
		api_error(req, 400, "invalid_request_error", "no_keys",
		    "the provider has no enabled key to ask its models with");
		return (KORE_RESULT_ERROR);
	}

	st = kore_calloc(1, sizeof(*st));
	st->user = user;
	st->apply = (apply != NULL && strcmp(apply, "true") == 0);
	px->own_body = kore_buf_alloc(1024);
	kore_free(apply);
	px->arg = st;
	probe_target(px, p, k);
	return (KORE_RESULT_OK);
}

/* ops->url: the largest page the API gives, the next one after that. */
static void
sync_url(struct proxy *px, struct kore_buf *url)
{
	struct sync_state	*st = px->arg;
	char			 query[1200];

	models_list_query(px->cur->provider->fmt, 0, st->next, query,
	    sizeof(query));
	upstream_models_url(px->cur->provider, query[0] ? query : NULL, url);
}

/* A page has come: the next one, or the answer. */
static void
sync_settle(struct proxy *px, CURLcode result, int64_t latency)
{
	struct sync_state	*st = px->arg;
	char			 msg[256];

	px->phase = PHASE_DONE;
	if (!probe_message(px, result, msg, sizeof(msg))) {
		api_error(px->req, 502, "server_error", "upstream_error",
		    "the provider's list of models could not be read: %s",
		    msg);
		return;
	}
	if (models_list_parse(px->up_fmt, px->resp->data, px->resp->offset,
	    px->own_body, &st->n, st->next, sizeof(st->next)) == -1) {
		api_error(px->req, 502, "server_error", "upstream_error",
		    "the provider answered, but not with a %s list of models",
		    xlate_format_name(px->up_fmt));
		return;
	}

	if (st->next[0] != '\0' && ++st->pages < SYNC_PAGES_MAX) {
		/* The same pick again, for the next page. */
		px->next = 0;
		px->tried = 0;
		px->phase = PHASE_NEXT;
		return;
	}
	sync_answer(px, st);
}

/*
 * Is name an item of the JSON array list before item stop (NULL: at
 * all)? Exactly: case counts.
 */
static int
sync_has(struct kore_json_item *list, const char *name,
    const struct kore_json_item *stop)
{
	struct kore_json_item	*it;

	TAILQ_FOREACH(it, &list->data.items, list) {
		if (it == stop)
			break;
		if (strcmp(it->data.string, name) == 0)
			return (1);
	}

	return (0);
}

/* Is name one of the provider's models? */
static int
sync_listed(const struct cfg_provider *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->nmodels; i++) {
		if (strcmp(p->models[i], name) == 0)
			return (1);
	}

	return (0);
}

/*
 * {"provider_id", "upstream": [...], "added": [...], "removed": [...],
 * "applied": bool, "models": [what the provider lists now]}.
 */
static void
sync_answer(struct proxy *px, struct sync_state *st)
{
	const struct cfg_provider	*p = px->cur->provider;
	struct kore_json		 j;
	struct kore_json_item		*it;
	struct kore_buf			 arr, models, *buf;
	size_t				 i;
	int				 nup, nadd, nrem, nmod, applied;

	kore_buf_init(&arr, px->own_body->offset + 2);
	kore_buf_appendf(&arr, "[");
	kore_buf_append(&arr, px->own_body->data, px->own_body->offset);
	kore_buf_appendf(&arr, "]");
	kore_json_init(&j, arr.data, arr.offset);
	if (!kore_json_parse(&j)) {
		kore_json_cleanup(&j);
		kore_buf_cleanup(&arr);
		api_db_error(px->req);
		return;
	}

	buf = kore_buf_alloc(arr.offset * 2 + 256);
	kore_buf_init(&models, arr.offset + 256);
	nup = nadd = nrem = nmod = 0;
	kore_buf_appendf(buf, "{");
	json_kv_int(buf, "provider_id", p->id, 1);
	kore_buf_appendf(buf, ",\"upstream\":[");
	TAILQ_FOREACH(it, &j.root->data.items, list) {
		if (sync_has(j.root, it->data.string, it))
			continue;
		json_sep(buf, &nup);
		json_str(buf, it->data.string);
	}

	/* What stays, in the provider's order, then what comes. */
	kore_buf_appendf(buf, "],\"removed\":[");
	kore_buf_appendf(&models, "[");
	for (i = 0; i < p->nmodels; i++) {
		if (sync_has(j.root, p->models[i], NULL)) {
			json_sep(&models, &nmod);
			json_str(&models, p->models[i]);
		} else {
			json_sep(buf, &nrem);
			json_str(buf, p->models[i]);
		}
	}
	kore_buf_appendf(buf, "],\"added\":[");
	TAILQ_FOREACH(it, &j.root->data.items, list) {
		if (sync_listed(p, it->data.string) ||
		    sync_has(j.root, it->data.string, it))
			continue;
		json_sep(buf, &nadd);
		json_str(buf, it->data.string);
		json_sep(&models, &nmod);
		json_str(&models, it->data.string);
	}
	kore_buf_appendf(&models, "]");
	kore_buf_appendf(buf, "]");

	applied = 0;
	if (st->apply && (nadd > 0 || nrem > 0)) {
		if (sync_write(px, st, &models) != KORE_RESULT_OK) {
			kore_buf_free(buf);
			goto done;
		}
		applied = 1;
	}
	json_kv_bool(buf, "applied", applied, 0);
	json_key(buf, "models", 0);
	if (applied) {
		kore_buf_append(buf, models.data, models.offset);
	} else {
		kore_buf_appendf(buf, "[");
		for (nmod = 0, i = 0; i < p->nmodels; i++) {
			json_sep(buf, &nmod);
			json_str(buf, p->models[i]);
		}
		kore_buf_appendf(buf, "]");
	}
	kore_buf_appendf(buf, "}");
	glue_reply_json(px->req, 200, buf);

done:
	kore_buf_cleanup(&models);
	kore_json_cleanup(&j);
	kore_buf_cleanup(&arr);
}

/* The provider's models become models (a JSON array): stored, audited. */
static int
sync_write(struct proxy *px, struct sync_state *st, struct kore_buf *models)
{
	const struct cfg_provider	*p = px->cur->provider;
	sqlite3_stmt			*stmt;
	char				 target[64], detail[64];
	int				 rc;

	if ((stmt = store_prepare("UPDATE providers SET models = ?, "
	    "updated_at = ? WHERE id = ?")) == NULL) {
		api_db_error(px->req);
		return (KORE_RESULT_ERROR);
	}
	sqlite3_bind_text(stmt, 1, (const char *)models->data,
	    (int)models->offset, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, store_now());
	sqlite3_bind_int64(stmt, 3, p->id);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE || sqlite3_changes(store_db()) != 1) {
		api_db_error(px->req);
		return (KORE_RESULT_ERROR);
	}
	config_invalidate();

	(void)snprintf(target, sizeof(target), "provider %" PRId64, p->id);
	(void)snprintf(detail, sizeof(detail), "fields: models (synced from "
	    "the upstream)");
	audit_record(px->req, &st->user, "models_sync", target, detail);
	return (KORE_RESULT_OK);
}

int
admin_models_sync(struct http_request *req)
{
	return (proxy_run(req, &sync_ops));
}
