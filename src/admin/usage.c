/*
 * GET /api/admin/usage.csv?from=&to=&group_by=client_key|model|provider|day:
 * requests, tokens and cost between from and to (epoch seconds or RFC
 * 3339 UTC; default: the last 30 days up to now), per client key,
 * model, provider or UTC day, for billing elsewhere. Read from the
 * rollups on the admin reader, like the stats: from and to are rounded
 * out to the rollups' grain (whole minutes; whole hours per client key,
 * whose rollups are hourly). cost is in micro-units
 * of currency (cost_micros) and in units as an exact decimal (cost).
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"

#define USAGE_DEFAULT	(30 * 86400)

#define UG_CLIENT	0
#define UG_MODEL	1
#define UG_PROVIDER	2
#define UG_DAY		3

static const char *const usage_groups[] = {
	"client_key", "model", "provider", "day", NULL
};

struct usage_query {
	int		 group;
	int64_t		 from;
	int64_t		 to;
};

struct usage_out {
	struct kore_buf		*b;
	sqlite3_stmt		*name;		/* of an id, or NULL */
	int			 group;
};

static int	usage_time(struct http_request *, const char *, int64_t *);
static void	*usage_params(struct http_request *);
static void	usage_text(struct kore_buf *, const char *);
static void	usage_cb(void *, int64_t, const struct rollup_figures *);
static int	usage_run(sqlite3 *, void *, struct kore_buf *);

/* Query parameter name as a time into *t; 0 when absent, -1 after a 400. */
static int
usage_time(struct http_request *req, const char *name, int64_t *t)
{
	char		*v;
	long long	 n;
	int		 err, ok;

	if ((v = api_query_string(req, name)) == NULL)
		return (0);
	ok = validate_time(v, t);
	if (!ok) {
		n = kore_strtonum(v, 10, 0, INT64_MAX / 2, &err);
		if ((ok = (err == KORE_RESULT_OK)))
			*t = (int64_t)n;
	}
	kore_free(v);
	if (ok)
		return (1);
	api_error(req, 400, "invalid_request_error", "invalid_parameter",
	    "query parameter '%s' must be epoch seconds or an RFC 3339 UTC "
	    "time such as 2027-01-31T00:00:00Z", name);
	return (-1);
}

static void *
usage_params(struct http_request *req)
{
	struct usage_query	*q;
	char			*g;
	int			 i, a, b;

	q = kore_calloc(1, sizeof(*q));
	q->to = store_now();
	if ((a = usage_time(req, "from", &q->from)) < 0 ||
	    (b = usage_time(req, "to", &q->to)) < 0) {
		kore_free(q);
		return (NULL);
	}
	if (a == 0)
		q->from = q->to - USAGE_DEFAULT;
	q->group = UG_DAY;
	if ((g = api_query_string(req, "group_by")) != NULL) {
		for (i = 0; usage_groups[i] != NULL &&
		    strcmp(usage_groups[i], g) != 0; i++)
			;
		kore_free(g);
		if (usage_groups[i] == NULL) {
			api_error(req, 400, "invalid_request_error",
			    "invalid_parameter", "query parameter 'group_by' "
			    "must be client_key, model, provider or day");
			kore_free(q);
			return (NULL);
		}
		q->group = i;
	}
	if (q->from >= q->to) {
		api_error(req, 400, "invalid_request_error",
		    "invalid_parameter", "'from' must be before 'to'");
		kore_free(q);
		return (NULL);
	}

	return (q);
}

/* A text cell, quoted; a leading = + - @ made inert for spreadsheets. */
static void
usage_text(struct kore_buf *b, const char *s)
{
	kore_buf_appendf(b, "\"%s", s != NULL && strchr("=+-@", *s) != NULL &&
	    *s != '\0' ? "'" : "");
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"')
			kore_buf_appendf(b, "\"\"");
		else
			kore_buf_append(b, s, 1);
	}
	kore_buf_appendf(b, "\"");
}

static void
usage_cb(void *arg, int64_t id, const struct rollup_figures *f)
{
	struct usage_out	*o = arg;
	const int64_t		*v = f->sums;
	char			 day[16];
	struct tm		 tm;
	time_t			 t;

	if (o->group == UG_DAY) {
		if (v[RS_REQUESTS] == 0)
			return;
		t = (time_t)id;
		(void)gmtime_r(&t, &tm);
		(void)strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		kore_buf_appendf(o->b, "%s,", day);
		usage_text(o->b, day);
	} else if (o->group == UG_MODEL) {
		usage_text(o->b, f->name);
		kore_buf_appendf(o->b, ",");
		usage_text(o->b, f->name);
	} else {
		kore_buf_appendf(o->b, "%" PRId64 ",", id);
		sqlite3_bind_int64(o->name, 1, id);
		usage_text(o->b, sqlite3_step(o->name) == SQLITE_ROW ?
		    (const char *)sqlite3_column_text(o->name, 0) : "");
		sqlite3_reset(o->name);
	}
	kore_buf_appendf(o->b, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
	    ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
	    ".%06" PRId64 ",%s\r\n", v[RS_REQUESTS], v[RS_ERRORS],
	    v[RS_PROMPT], v[RS_COMPLETION], v[RS_CACHED], v[RS_CACHE_WRITE],
	    v[RS_REASONING], v[RS_COST], v[RS_COST] / 1000000,
	    v[RS_COST] % 1000000, fusion_cfg.currency);
}

/* On the reader: the CSV. */
static int
usage_run(sqlite3 *db, void *arg, struct kore_buf *b)
{
	static const int64_t	 spans[] = { 86400, 3600, 60 };
	struct usage_query	*uq = arg;
	struct rollup_query	 q;
	struct usage_out	 o;
	int64_t			 grain, from, to;
	int			 rc;

	memset(&q, 0, sizeof(q));
	memset(&o, 0, sizeof(o));
	q.limit = -1;
	q.nohist = 1;
	grain = uq->group == UG_CLIENT ? 3600 : 60;
	from = uq->from / grain * grain;
	to = (uq->to + grain - 1) / grain * grain;
	switch (uq->group) {
	case UG_CLIENT:
		q.dim = ROLLUP_CLIENT;
		q.column = "client_key_id";
		o.name = store_prepare_on(db, "SELECT name FROM client_keys "
		    "WHERE id = ?");
		break;
	case UG_PROVIDER:
		q.dim = ROLLUP_PROVIDER;
		q.column = "provider_id";
		o.name = store_prepare_on(db, "SELECT name FROM providers "
		    "WHERE id = ?");
		break;
	case UG_MODEL:
		q.dim = ROLLUP_MODEL;
		q.column = "model";
		q.text = 1;
		break;
	default:
		q.dim = ROLLUP_TOTAL;
		q.bucket = 86400;
		break;
	}
	q.by_cost = 1;
	q.nranges = rollup_cover(from, to, spans,
	    uq->group == UG_CLIENT ? 2 : 3, q.ranges, ROLLUP_RANGES_MAX);
	if (q.nranges < 0 || (q.column != NULL && !q.text && o.name == NULL))
		goto fail;

	o.b = b;
	o.group = uq->group;
	kore_buf_appendf(b, "%s,name,requests,errors,prompt_tokens,"
	    "completion_tokens,cached_tokens,cache_write_tokens,"
	    "reasoning_tokens,cost_micros,cost,currency\r\n",
	    uq->group == UG_CLIENT ? "client_key_id" : uq->group == UG_MODEL ?
	    "model" : uq->group == UG_PROVIDER ? "provider_id" : "day");
	rc = rollup_query(db, &q, usage_cb, &o);
	if (o.name != NULL)
		sqlite3_finalize(o.name);
	if (rc != KORE_RESULT_OK)
		return (admin_read_db_error(b));

	return (200);

fail:
	if (o.name != NULL)
		sqlite3_finalize(o.name);
	return (admin_read_db_error(b));
}

int
admin_usage_csv(struct http_request *req)
{
	return (admin_read_get_as(req, usage_params, usage_run, kore_free,
	    "text/csv; charset=utf-8"));
}
