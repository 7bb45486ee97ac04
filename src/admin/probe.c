/*
 * Key probes: the cheapest request a provider's API allows, its list of
 * models one entry long, sent with one key through the /v1 machinery
 * (struct proxy_ops) to learn whether the key works.
 *
 * POST /api/admin/keys/:id/test probes one key now, for the operator.
 * In the background, one worker (probe_elected) probes the keys of every
 * provider with probe_interval_seconds set: those cooling down after a
 * 5xx, a timeout or a reset, and those disabled by 401/403 when the
 * provider also says probe_disabled; a key, provider or group the
 * operator switched off is never probed. A success makes the key active again; a failure counts
 * as the same failure of traffic would (health.c: a longer cooldown, or
 * disabled); an answer that says nothing of the key (another 4xx)
 * leaves it as it is. The result is the key's state, and a change of
 * state is written to the audit log.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"

#define PROBE_TICK_MS		1000
#define PROBE_INFLIGHT_MAX	8	/* background probes at once */

/* When a key is probed next; one entry per key that wants probing. */
struct probe_due {
	int64_t		key_id;
	u_int64_t	next_ms;
	int		running;
	int		seen;		/* still wants probing */
};

static struct probe_due	*due = NULL;
static size_t		 ndue = 0, due_cap = 0;
static int		 running = 0;

static int	probe_elected(void);
static void	probe_tick(void *, u_int64_t);
static int	probe_wanted(const struct cfg_key *);
static struct probe_due	*probe_due_get(int64_t, u_int64_t);
static int	probe_begin(struct http_request *, struct proxy *);
static int	key_test_begin(struct http_request *, struct proxy *);
static void	probe_settle(struct proxy *, CURLcode, int64_t);

/* The background probes: no client, no log, health set by the result. */
static const struct proxy_ops	probe_ops = {
	.begin = probe_begin,
	.settle = probe_settle,
	.url = probe_models_url,
};

/* The operator's key test: the same, answered. */
static const struct proxy_ops	key_test_ops = {
	.begin = key_test_begin,
	.settle = probe_settle,
	.url = probe_models_url,
};

/*
 * Is this the process that probes? One worker of one node: with the
 * SQLite store, the first worker. A store shared by several nodes
 * (PostgreSQL) needs one node too: an advisory lock held by whoever
 * probes belongs here, and nowhere else.
 */
static int
probe_elected(void)
{
	return (worker != NULL && worker->id == 1);
}

/* Called by each worker at its start; only the elected one probes. */
void
probe_init(void)
{
	if (probe_elected())
		(void)kore_timer_add(probe_tick, PROBE_TICK_MS, NULL, 0);
}

/* A key that was usable, or else any enabled key of p, or NULL. */
struct cfg_key *
probe_key(const struct cfg_provider *p)
{
	struct cfg_key	*k;
	size_t		 i;

	for (k = NULL, i = 0; i < p->nkeys; i++) {
		if (router_key_usable(p->keys[i], store_now()))
			return (p->keys[i]);
		if (k == NULL && p->keys[i]->enabled)
			k = p->keys[i];
	}

	return (k);
}

/* The plan of a request of the gateway's own: provider p with key k. */
void
probe_target(struct proxy *px, struct cfg_provider *p, struct cfg_key *k)
{
	px->picks = kore_calloc(1, sizeof(*px->picks));
	px->picks[0].provider = p;
	px->picks[0].key = k;
	px->npicks = 1;
	px->phase = PHASE_NEXT;
}

/* ops->url of a probe: the smallest page of the provider's models. */
void
probe_models_url(struct proxy *px, struct kore_buf *url)
{
	char	query[64];

	models_list_query(px->cur->provider->fmt, 1, "", query,
	    sizeof(query));
	upstream_models_url(px->cur->provider, query[0] ? query : NULL, url);
}

/*
 * What an attempt of a request of the gateway's own said of its
 * provider and key, in msg. Returns 1 when the provider answered 2xx.
 */
int
probe_message(struct proxy *px, CURLcode result, char *msg, size_t len)
{
	int	ok;

	ok = (!px->timed_out && !px->aborted && result == CURLE_OK &&
	    px->up.status >= 200 && px->up.status <= 299);

	if (ok)
		(void)snprintf(msg, len, "the provider answered %ld with key "
		    "%s", px->up.status, px->cur->key->masked);
	else if (px->timed_out)
		(void)snprintf(msg, len, "no answer within %" PRId64 " ms",
		    px->cur->provider->timeout_ms);
	else if (result != CURLE_OK)
		(void)snprintf(msg, len, "%s", px->curl.errbuf[0] ?
		    px->curl.errbuf : curl_easy_strerror(result));
	else
		upstream_error_message(px, msg, len);

	return (ok);
}

/* Does key k want a background probe now? */
static int
probe_wanted(const struct cfg_key *k)
{
	const struct cfg_provider	*p = k->provider;
	int				 status;

	/* Nothing goes to what an operator switched off. */
	if (p->probe_interval <= 0 || !k->enabled || !p->enabled ||
	    !p->group->enabled)
		return (0);
	status = __atomic_load_n(&k->health->status, __ATOMIC_RELAXED);
	return (status == KEY_COOLDOWN ||
	    (status == KEY_DISABLED && p->probe_disabled));
}

/* The entry of key id, made (due at first) when it has none. */
static struct probe_due *
probe_due_get(int64_t id, u_int64_t first)
{
	size_t	i;

	for (i = 0; i < ndue; i++) {
		if (due[i].key_id == id)
			return (&due[i]);
	}

	if (ndue == due_cap) {
		due_cap = due_cap ? due_cap * 2 : 16;
		due = kore_realloc(due, due_cap * sizeof(*due));
	}
	memset(&due[ndue], 0, sizeof(due[ndue]));
	due[ndue].key_id = id;
	due[ndue].next_ms = first;
	return (&due[ndue++]);
}

/*
 * Every PROBE_TICK_MS on the elected worker: start the probes that are
 * due, at most PROBE_INFLIGHT_MAX at once. A key is first probed one
 * interval after it was seen wanting it, then every interval.
 */
static void
probe_tick(void *arg, u_int64_t now)
{
	struct cfg		*c;
	struct cfg_key		*k;
	struct probe_due	*d;
	int64_t			*id;
	size_t			 i, j;

	if ((c = config_acquire()) == NULL)
		return;

	for (i = 0; i < ndue; i++)
		due[i].seen = 0;

	for (i = 0; i < c->nkeys; i++) {
		k = &c->keys[i];
		if (!probe_wanted(k))
			continue;
		d = probe_due_get(k->id, now + (u_int64_t)
		    k->provider->probe_interval * 1000);
		d->seen = 1;
		if (d->running || now < d->next_ms ||
		    running >= PROBE_INFLIGHT_MAX)
			continue;
		d->next_ms = now + (u_int64_t)k->provider->probe_interval *
		    1000;
		d->running = 1;
		running++;
		id = kore_malloc(sizeof(*id));
		*id = k->id;
		proxy_detached(&probe_ops, id);
	}

	/* Keys that want no probing any more are forgotten. */
	for (i = 0, j = 0; i < ndue; i++) {
		if (due[i].seen || due[i].running)
			due[j++] = due[i];
	}
	ndue = j;

	config_release(c);
}

/* A background probe of the key whose id px->arg holds. */
static int
probe_begin(struct http_request *req, struct proxy *px)
{
	struct cfg_key	*k;

	px->phase = PHASE_DONE;
	if ((px->cfg = config_acquire()) == NULL ||
	    (k = config_key(px->cfg, *(int64_t *)px->arg)) == NULL) {
		probe_settle(px, CURLE_OK, 0);
		return (KORE_RESULT_ERROR);
	}

	probe_target(px, k->provider, k);
	return (KORE_RESULT_OK);
}

/* POST /api/admin/keys/:id/test: probe that key now. */
static int
key_test_begin(struct http_request *req, struct proxy *px)
{
	struct admin_user	 user;
	struct api_body		 body;
	struct cfg_key		*k;
	const char		*none[] = { NULL };
	int64_t			 id;

	px->phase = PHASE_DONE;
	if (auth_admin(req, &user) != KORE_RESULT_OK ||
	    api_method(req, HTTP_METHOD_POST, "POST") != KORE_RESULT_OK)
		return (KORE_RESULT_ERROR);
	if (sscanf(req->path, "/api/admin/keys/%" SCNd64 "/test", &id) != 1) {
		api_error(req, 404, "invalid_request_error", "not_found",
		    "no such key");
		return (KORE_RESULT_ERROR);
	}
	if (req->content_length > 0) {
		if (api_body_parse(req, &body) != KORE_RESULT_OK)
			return (KORE_RESULT_ERROR);
		if (api_check_fields(req, &body, none) != KORE_RESULT_OK) {
			api_body_cleanup(&body);
			return (KORE_RESULT_ERROR);
		}
		api_body_cleanup(&body);
	}

	if ((px->cfg = config_acquire()) == NULL) {
		api_db_error(req);
		return (KORE_RESULT_ERROR);
	}
	if ((k = config_key(px->cfg, id)) == NULL) {
		api_error(req, 404, "invalid_request_error", "not_found",
		    "no key with id %" PRId64, id);
		return (KORE_RESULT_ERROR);
	}

	px->arg = kore_malloc(sizeof(user));
	memcpy(px->arg, &user, sizeof(user));
	probe_target(px, k->provider, k);
	return (KORE_RESULT_OK);
}

/*
 * The probe has ended: the key's health follows what it said, a change
 * of state goes to the audit log, the operator gets the answer of a key
 * test, and a background probe's entry is free for the next.
 */
static void
probe_settle(struct proxy *px, CURLcode result, int64_t latency)
{
	struct attempt_end	 e;
	struct failover		 fo;
	struct kore_buf		*buf;
	struct cfg_key		*k;
	const struct admin_user	*user;
	char			 msg[256], detail[512], target[64], names[8];
	int			 ok, before, after, n;
	size_t			 i;

	px->phase = PHASE_DONE;
	user = px->req != NULL ? px->arg : NULL;
	if (px->req == NULL) {
		for (i = 0; i < ndue; i++) {
			if (px->arg != NULL &&
			    due[i].key_id == *(int64_t *)px->arg) {
				due[i].running = 0;
				running--;
			}
		}
	}
	if ((k = px->cur != NULL ? px->cur->key : NULL) == NULL)
		return;

	/* An answer that is no list of models is no working key. */
	ok = probe_message(px, result, msg, sizeof(msg));
	n = 0;
	if (ok && models_list_parse(px->up_fmt, px->resp->data,
	    px->resp->offset, NULL, &n, names, sizeof(names)) == -1) {
		ok = 0;
		(void)snprintf(msg, sizeof(msg), "the provider's answer is "
		    "no %s list of models", xlate_format_name(px->up_fmt));
	}

	before = __atomic_load_n(&k->health->status, __ATOMIC_RELAXED);
	memset(&e, 0, sizeof(e));
	e.status = ok ? 200 : px->up.status;
	e.complete = ok;
	e.transport = (result != CURLE_OK);
	e.timed_out = px->timed_out;
	e.stopped = px->aborted;
	e.policy = &k->provider->policy;
	failover_decide(&e, &fo);
	if (ok)
		health_success(k);
	else if (fo.action != FO_PASS_ERROR && fo.cooldown != COOL_NONE) {
		(void)snprintf(detail, sizeof(detail), "probe: %s", msg);
		health_failure(k, fo.cooldown, px->up.retry_after, detail);
	}

	(void)snprintf(target, sizeof(target), "key %" PRId64, k->id);
	after = __atomic_load_n(&k->health->status, __ATOMIC_RELAXED);
	if (user != NULL || after != before) {
		(void)snprintf(detail, sizeof(detail), "%s -> %s: %s",
		    health_status_name(before), health_status_name(after), msg);
		audit_record(px->req, user, user != NULL ? "test" : "probe",
		    target, detail);
	}

	if (px->req == NULL)
		return;
	buf = kore_buf_alloc(256);
	kore_buf_appendf(buf, "{");
	json_kv_bool(buf, "ok", ok, 1);
	json_kv_int(buf, "status", result == CURLE_OK ? px->up.status : 0, 0);
	json_kv_int(buf, "latency_ms", latency, 0);
	json_kv_str(buf, "message", msg, 0);
	json_kv_str(buf, "key_status", health_status_name(after), 0);
	kore_buf_appendf(buf, "}");
	glue_reply_json(px->req, 200, buf);
}

int
admin_key_test(struct http_request *req)
{
	return (proxy_run(req, &key_test_ops));
}
