/*
 * GET /api/admin/stats[?window=seconds]: counts of the configuration and,
 * over the window (default one hour), requests, errors, tokens, latency
 * percentiles and per-provider counters.
 * GET /api/admin/stats/timeseries[?window=seconds]: the same per minute.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <stdlib.h>

#include "admin/admin.h"

#define WINDOW_DEFAULT	3600
#define WINDOW_MAX	(31 * 86400)
#define BUCKET_SECONDS	60


static int	stats_window(struct http_request *, int64_t *);
static int64_t	percentile(const int64_t *, size_t, int);
static int	cmp_int64(const void *, const void *);

static int
stats_window(struct http_request *req, int64_t *window)
{
	*window = WINDOW_DEFAULT;
	return (api_query_int(req, "window", 60, WINDOW_MAX, window) < 0 ?
	    KORE_RESULT_ERROR : KORE_RESULT_OK);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return ((x > y) - (x < y));
}

/* The pct-th percentile (nearest rank) of sorted v; 0 when empty. */
static int64_t
percentile(const int64_t *v, size_t n, int pct)
{
	size_t	rank;

	if (n == 0)
		return (0);
	rank = (n * (size_t)pct + 99) / 100;
	return (v[rank ? rank - 1 : 0]);
}

int
admin_stats(struct http_request *req)
{
	struct admin_user	 user;
	struct kore_buf		*buf;
	sqlite3_stmt		*st;
	int64_t			 window, since, *lat;
	size_t			 n, cap;
	int			 i, first;
	static const char	*names[] = {
		"total_groups", "enabled_groups", "total_providers",
		"enabled_providers", "total_keys", "active_keys",
		"cooling_keys", "disabled_keys", "total_client_keys",
		"enabled_client_keys", "requests", "errors", "prompt_tokens",
		"completion_tokens",
	};

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_method(req, HTTP_METHOD_GET, "GET") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (stats_window(req, &window) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	since = store_now() - window;

	if ((st = store_prepare("SELECT "
	    "(SELECT count(*) FROM groups),"
	    "(SELECT count(*) FROM groups WHERE enabled),"
	    "(SELECT count(*) FROM providers),"
	    "(SELECT count(*) FROM providers WHERE enabled),"
	    "(SELECT count(*) FROM upstream_keys),"
	    "(SELECT count(*) FROM upstream_keys "
	    "  WHERE enabled AND status = 'active'),"
	    "(SELECT count(*) FROM upstream_keys WHERE status = 'cooldown'),"
	    "(SELECT count(*) FROM upstream_keys WHERE status = 'disabled'),"
	    "(SELECT count(*) FROM client_keys),"
	    "(SELECT count(*) FROM client_keys WHERE enabled),"
	    "(SELECT count(*) FROM request_log WHERE created_at >= ?1),"
	    "(SELECT count(*) FROM request_log WHERE created_at >= ?1 "
	    "  AND outcome != 'ok'),"
	    "(SELECT coalesce(sum(prompt_tokens), 0) FROM request_log "
	    "  WHERE created_at >= ?1),"
	    "(SELECT coalesce(sum(completion_tokens), 0) FROM request_log "
	    "  WHERE created_at >= ?1)")) == NULL) {
		api_db_error(req);
		return (KORE_RESULT_OK);
	}
	sqlite3_bind_int64(st, 1, since);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		api_db_error(req);
		return (KORE_RESULT_OK);
	}

	buf = kore_buf_alloc(1024);
	kore_buf_appendf(buf, "{");
	json_kv_int(buf, "window", window, 1);
	for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		json_kv_int(buf, names[i], sqlite3_column_int64(st, i), 0);
	sqlite3_finalize(st);

	/* Latency percentiles of the requests that reached a provider. */
	lat = NULL;
	n = cap = 0;
	if ((st = store_prepare("SELECT latency_ms FROM request_log "
	    "WHERE created_at >= ? AND provider_id IS NOT NULL "
	    "ORDER BY latency_ms")) != NULL) {
		sqlite3_bind_int64(st, 1, since);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				lat = kore_realloc(lat, cap * sizeof(*lat));
			}
			lat[n++] = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
	}
	json_kv_int(buf, "latency_p50_ms", percentile(lat, n, 50), 0);
	json_kv_int(buf, "latency_p95_ms", percentile(lat, n, 95), 0);
	json_kv_int(buf, "latency_p99_ms", percentile(lat, n, 99), 0);
	kore_free(lat);

	json_key(buf, "providers", 0);
	kore_buf_appendf(buf, "[");
	first = 1;
	if ((st = store_prepare("SELECT p.id, p.name, count(l.id), "
	    "coalesce(sum(l.outcome != 'ok'), 0) FROM providers p "
	    "LEFT JOIN request_log l ON l.provider_id = p.id "
	    "AND l.created_at >= ? GROUP BY p.id ORDER BY p.id")) != NULL) {
		sqlite3_bind_int64(st, 1, since);
		while (sqlite3_step(st) == SQLITE_ROW) {
			kore_buf_appendf(buf, first ? "{" : ",{");
			first = 0;
			json_kv_int(buf, "id", sqlite3_column_int64(st, 0), 1);
			json_kv_str(buf, "name",
			    (const char *)sqlite3_column_text(st, 1), 0);
			json_kv_int(buf, "requests",
			    sqlite3_column_int64(st, 2), 0);
			json_kv_int(buf, "errors",
			    sqlite3_column_int64(st, 3), 0);
			kore_buf_appendf(buf, "}");
		}
		sqlite3_finalize(st);
	}
	kore_buf_appendf(buf, "]");

	json_key(buf, "keys", 0);
	kore_buf_appendf(buf, "[");
	first = 1;
	if ((st = store_prepare("SELECT id, provider_id, key_masked, status, "
	    "requests, failures FROM upstream_keys ORDER BY id")) != NULL) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			kore_buf_appendf(buf, first ? "{" : ",{");
			first = 0;
			json_kv_int(buf, "id", sqlite3_column_int64(st, 0), 1);
			json_kv_int(buf, "provider_id",
			    sqlite3_column_int64(st, 1), 0);
			json_kv_str(buf, "key_masked",
			    (const char *)sqlite3_column_text(st, 2), 0);
			json_kv_str(buf, "status",
			    (const char *)sqlite3_column_text(st, 3), 0);
			json_kv_int(buf, "requests",
			    sqlite3_column_int64(st, 4), 0);
			json_kv_int(buf, "failures",
			    sqlite3_column_int64(st, 5), 0);
			kore_buf_appendf(buf, "}");
		}
		sqlite3_finalize(st);
	}
	kore_buf_appendf(buf, "]}");

	glue_reply_json(req, 200, buf);
	return (KORE_RESULT_OK);
}

/* Per-minute buckets over the window, oldest first, empty ones too. */
int
admin_timeseries(struct http_request *req)
{
	struct admin_user	 user;
	struct kore_buf		*buf;
	sqlite3_stmt		*st;
	int64_t			 window, since, bucket, b, *lat;
	int64_t			 requests, errors, ptok, ctok;
	size_t			 n, cap;
	int			 first, row;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_method(req, HTTP_METHOD_GET, "GET") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (stats_window(req, &window) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	since = (store_now() - window) / BUCKET_SECONDS * BUCKET_SECONDS;
	if ((st = store_prepare("SELECT created_at / 60 * 60, latency_ms, "
	    "outcome != 'ok', prompt_tokens, completion_tokens "
	    "FROM request_log WHERE created_at >= ? "
	    "ORDER BY 1, latency_ms")) == NULL) {
		api_db_error(req);
		return (KORE_RESULT_OK);
	}
	sqlite3_bind_int64(st, 1, since);

	buf = kore_buf_alloc(4096);
	kore_buf_appendf(buf, "{\"bucket_seconds\":%d,\"data\":[",
	    BUCKET_SECONDS);

	lat = NULL;
	n = cap = 0;
	first = 1;
	row = sqlite3_step(st);
	for (bucket = since; bucket <= store_now(); bucket += BUCKET_SECONDS) {
		requests = errors = ptok = ctok = 0;
		n = 0;
		while (row == SQLITE_ROW &&
		    (b = sqlite3_column_int64(st, 0)) <= bucket) {
			if (b == bucket) {
				if (n == cap) {
					cap = cap ? cap * 2 : 64;
					lat = kore_realloc(lat,
					    cap * sizeof(*lat));
				}
				lat[n++] = sqlite3_column_int64(st, 1);
				requests++;
				errors += sqlite3_column_int64(st, 2);
				ptok += sqlite3_column_int64(st, 3);
				ctok += sqlite3_column_int64(st, 4);
			}
			row = sqlite3_step(st);
		}
		if (n > 1)
			qsort(lat, n, sizeof(*lat), cmp_int64);
		kore_buf_appendf(buf, first ? "{" : ",{");
		first = 0;
		json_kv_time(buf, "t", bucket, 1);
		json_kv_int(buf, "requests", requests, 0);
		json_kv_int(buf, "errors", errors, 0);
		json_kv_int(buf, "latency_p50_ms", percentile(lat, n, 50), 0);
		json_kv_int(buf, "latency_p95_ms", percentile(lat, n, 95), 0);
		json_kv_int(buf, "prompt_tokens", ptok, 0);
		json_kv_int(buf, "completion_tokens", ctok, 0);
		kore_buf_appendf(buf, "}");
	}
	sqlite3_finalize(st);
	kore_free(lat);

	kore_buf_appendf(buf, "]}");
	glue_reply_json(req, 200, buf);
	return (KORE_RESULT_OK);
}
