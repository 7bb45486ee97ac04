/*
 * Prometheus metrics, summed across the workers. The parent maps one
 * anonymous shared region before the workers fork (as counters.c does);
 * each finished request, upstream attempt and token count is added to it
 * with atomic operations, so that any worker answering GET /metrics sees
 * the whole gateway. What lives only inside one worker (its request log
 * queue, its trace exporter, its own process figures) is published into
 * that worker's slot once a second and when it renders.
 *
 * Label sets are bounded: paths are a fixed list, models are named only
 * when some provider serves them ("other" otherwise), providers by their
 * configured name, statuses are HTTP codes, outcomes and attempt results
 * short fixed lists. Client keys are never labels. A full series table
 * adds to one overflow series whose labels say "other".
 */

#include <sys/mman.h>

#include <kore/kore.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/dataplane.h"

#define MET_LABEL		96
#define MET_REQ_SLOTS		2048
#define MET_TOK_SLOTS		512
#define MET_ATT_SLOTS		512
#define MET_BUCKETS		14
#define MET_WORKERS		(64 + 1)	/* worker ids are 1..64 */
#define MET_PUBLISH_MS		1000

#define MET_T_REQ		0
#define MET_T_TOK		1
#define MET_T_ATT		2
#define MET_T_COST		3	/* MET_T_TOK's series, their cost */

static const char *const met_paths[METRICS_PATHS] = {
	"/v1/chat/completions", "/v1/completions", "/v1/embeddings",
	"/v1/models", "/v1/messages", "/v1/messages/count_tokens",
	"/v1/responses", "other",
};

static const char *const met_outcomes[] = { "ok", "error", "cancelled" };
static const char *const met_token_kinds[METRICS_TOKEN_KINDS] = {
	"input", "output", "cached_input", "cache_write", "reasoning",
};

static const char *const met_results[] = {
	"ok", "client_error", "cancelled", "rate_limited", "auth_error",
	"server_error", "stream_error", "timeout", "network_error",
};

/* Bucket bounds in milliseconds; rendered in seconds. */
static const u_int64_t met_bounds[MET_BUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
	60000, 120000,
};

/*
 * One labelled series. Written under its table's lock while ready is 0,
 * then published with a release store; readers only look at ready slots.
 */
struct met_series {
	volatile u_int32_t	ready;
	u_int8_t		path;
	u_int8_t		kind;		/* outcome or result */
	u_int16_t		status;
	char			model[MET_LABEL];
	char			provider[MET_LABEL];
	u_int64_t		v[METRICS_COST + 1];	/* tokens, cost */
};

struct met_hist {
	u_int64_t		bucket[MET_BUCKETS + 1];
	u_int64_t		count;
	u_int64_t		sum_ms;
};

struct met_shared {
	int64_t			start_time;
	struct met_series	req[MET_REQ_SLOTS + 1];
	struct met_series	tok[MET_TOK_SLOTS + 1];
	struct met_series	att[MET_ATT_SLOTS + 1];
	volatile int		locks[3];	/* MET_T_* */
	u_int32_t		used[3];
	struct met_hist		duration[METRICS_PATHS];
	struct met_hist		ttfb[METRICS_PATHS];
	int64_t			in_flight[METRICS_PATHS];
	struct metrics_worker	workers[MET_WORKERS];
};

static struct met_shared	*shm = NULL;
static int			 procfd = -1;

static struct met_series	*met_find(int, int, int, int, const char *,
				    const char *);
static struct met_series	*met_table(int, size_t *);
static u_int64_t		 met_hash(int, int, int, const char *,
				    const char *);
static void			 met_observe(struct met_hist *, int64_t);
static void			 met_label(struct kore_buf *, const char *,
				    const char *, int);
static void			 met_family(struct kore_buf *, const char *,
				    const char *, const char *);
static void			 met_scalar(struct kore_buf *, const char *,
				    const char *, const char *, double);
static void			 met_table_render(struct kore_buf *, int);
static void			 met_hist_render(struct kore_buf *,
				    const char *, const struct met_hist *);
static void			 met_keys_render(struct kore_buf *);
static void			 met_proc_read(struct metrics_worker *);
static void			 met_tick(void *, u_int64_t);
static int			 met_provider_cmp(const void *, const void *);

/*
 * Called once by the parent before the workers fork: the shared region,
 * and /proc kept open so that chrooted workers can still read their own
 * figures there.
 */
void
metrics_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("mmap(metrics): %s", errno_s);
	shm = p;
	shm->start_time = (int64_t)time(NULL);

	procfd = open("/proc", O_RDONLY | O_DIRECTORY);
}

/* Each worker publishes what only it knows, now and every second. */
void
metrics_worker_init(void)
{
	met_tick(NULL, 0);
	(void)kore_timer_add(met_tick, MET_PUBLISH_MS, NULL, 0);
}

static void
met_tick(void *arg, u_int64_t now)
{
	metrics_publish();
}

/*
 * The slot of the calling worker, for the figures only it knows (the
 * request log's queue, the trace exporter's). NULL outside a worker.
 */
struct metrics_worker *
metrics_self(void)
{
	if (shm == NULL || worker == NULL || worker->id >= MET_WORKERS)
		return (NULL);
	return (&shm->workers[worker->id]);
}

/* Copy this worker's own figures into its slot. */
void
metrics_publish(void)
{
	struct metrics_worker	*w;
	struct reqlog_state	 us;

	if ((w = metrics_self()) == NULL)
		return;

	reqlog_state(&us);
	w->pid = getpid();
	w->log_rows = us.rows;
	w->log_max = us.max;
	w->log_dropped = us.dropped;
	w->log_failing = us.failing;
	met_proc_read(w);
}

/*
 * CPU time, memory and open descriptors of this process from
 * /proc/self (through the descriptor the parent opened, which still
 * reaches /proc from inside the chroot). Left as they were when /proc
 * cannot be read.
 */
static void
met_proc_read(struct metrics_worker *w)
{
	struct dirent	*d;
	DIR		*dir;
	char		 buf[1024], *p;
	unsigned long	 utime, stime, vsize;
	long		 rss;
	ssize_t		 n;
	int		 fd, count;

	if (procfd == -1)
		return;

	if ((fd = openat(procfd, "self/stat", O_RDONLY)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		/* Fields after the command, whose name may hold spaces. */
		if (n > 0) {
			buf[n] = '\0';
			if ((p = strrchr(buf, ')')) != NULL &&
			    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
			    "%*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %*u %lu "
			    "%ld", &utime, &stime, &vsize, &rss) == 4) {
				w->cpu_ticks = utime + stime;
				w->vsize = vsize;
				w->rss = (u_int64_t)rss *
				    (u_int64_t)sysconf(_SC_PAGESIZE);
			}
		}
	}

	if ((fd = openat(procfd, "self/fd", O_RDONLY | O_DIRECTORY)) == -1)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return;
	}
	count = 0;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] != '.')
			count++;
	}
	(void)closedir(dir);
	/* Less the one the count itself held open. */
	w->fds = count > 0 ? (u_int64_t)(count - 1) : 0;
}

/* The index of a request path in the metrics' fixed list. */
int
metrics_path(const char *path)
{
	int	i;

	for (i = 0; i < METRICS_PATHS - 1; i++) {
		if (strcmp(path, met_paths[i]) == 0)
			return (i);
	}
	return (METRICS_PATHS - 1);
}

/* The slots of table (MET_T_*): *n of them, then the overflow. */
static struct met_series *
met_table(int table, size_t *n)
{
	switch (table) {
	case MET_T_REQ:
		*n = MET_REQ_SLOTS;
		return (shm->req);
	case MET_T_TOK:
	case MET_T_COST:
		*n = MET_TOK_SLOTS;
		return (shm->tok);
	default:
		*n = MET_ATT_SLOTS;
		return (shm->att);
	}
}

/* FNV-1a over a series' labels. */
static u_int64_t
met_hash(int path, int kind, int status, const char *model,
    const char *provider)
{
	u_int64_t	h;
	const char	*s;

	h = 1469598103934665603ULL;
	h = (h ^ (u_int64_t)path) * 1099511628211ULL;
	h = (h ^ (u_int64_t)kind) * 1099511628211ULL;
	h = (h ^ (u_int64_t)status) * 1099511628211ULL;
	for (s = model; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (s = provider; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;

	return (h);
}

/*
 * The series of table (MET_T_*) with these labels, made when missing.
 * Lookups take no lock; a new series is written under the table's lock.
 * Past seven eighths full, new label sets are counted under model and
 * provider "other"; a full table adds to its overflow series.
 */
static struct met_series *
met_find(int table, int path, int kind, int status, const char *model,
    const char *provider)
{
	struct met_series	*t, *s;
	size_t			 n, i, idx, start;
	int			 locked;

	t = met_table(table, &n);
	start = (size_t)(met_hash(path, kind, status, model, provider) % n);
	locked = 0;
	s = NULL;

	for (;;) {
		for (i = 0; i < n; i++) {
			idx = (start + i) % n;
			s = &t[idx];
			if (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
				break;
			if (s->path == path && s->kind == kind &&
			    s->status == status &&
			    strncmp(s->model, model, MET_LABEL - 1) == 0 &&
			    strncmp(s->provider, provider,
			    MET_LABEL - 1) == 0)
				goto found;
		}
		if (locked)
			break;
		/* Look again under the lock: another may have made it. */
		while (__atomic_test_and_set(&shm->locks[table],
		    __ATOMIC_ACQUIRE))
			;
		locked = 1;
	}

	if (shm->used[table] >= n - n / 8 && (strcmp(model, "other") != 0 ||
	    strcmp(provider, "other") != 0)) {
		__atomic_clear(&shm->locks[table], __ATOMIC_RELEASE);
		return (met_find(table, path, kind, status, "other", "other"));
	}
	if (i == n) {
		s = &t[n];
		if (!s->ready) {
			s->path = METRICS_PATHS - 1;
			s->kind = 1;
			(void)kore_strlcpy(s->model, "other", sizeof(s->model));
			(void)kore_strlcpy(s->provider, "other",
			    sizeof(s->provider));
			__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
		}
		goto found;
	}

	s->path = (u_int8_t)path;
	s->kind = (u_int8_t)kind;
	s->status = (u_int16_t)status;
	(void)kore_strlcpy(s->model, model, sizeof(s->model));
	(void)kore_strlcpy(s->provider, provider, sizeof(s->provider));
	s->v[0] = s->v[1] = 0;
	shm->used[table]++;
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);

found:
	if (locked)
		__atomic_clear(&shm->locks[table], __ATOMIC_RELEASE);
	return (s);
}

static void
met_observe(struct met_hist *h, int64_t ms)
{
	int	i;

	if (ms < 0)
		ms = 0;
	for (i = 0; i < MET_BUCKETS && (u_int64_t)ms > met_bounds[i]; i++)
		;
	(void)__atomic_add_fetch(&h->bucket[i], 1, __ATOMIC_RELAXED);
	(void)__atomic_add_fetch(&h->sum_ms, (u_int64_t)ms, __ATOMIC_RELAXED);
	(void)__atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
}

/* A request on path (metrics_path) has begun or ended. */
void
metrics_in_flight(int path, int delta)
{
	if (shm != NULL)
		(void)__atomic_add_fetch(&shm->in_flight[path], delta,
		    __ATOMIC_RELAXED);
}

/*
 * A finished request: counted with its labels, its latency and time to
 * first byte (-1 when none came) in the histograms, its tokens and
 * cost (tokens[METRICS_COST], micro-units). model and provider are
 * label values already bounded by the caller.
 */
void
metrics_request(int path, const char *model, const char *provider,
    int status, const char *outcome, int64_t latency_ms, int64_t ttfb_ms,
    const int64_t *tokens)
{
	struct met_series	*s;
	int			 kind, k;

	if (shm == NULL)
		return;

	kind = strcmp(outcome, "ok") == 0 ? 0 :
	    strcmp(outcome, "cancelled") == 0 ? 2 : 1;
	if (status < 0 || status > 999)
		status = 0;

	s = met_find(MET_T_REQ, path, kind, status, model, provider);
	(void)__atomic_add_fetch(&s->v[0], 1, __ATOMIC_RELAXED);

	met_observe(&shm->duration[path], latency_ms);
	if (ttfb_ms >= 0)
		met_observe(&shm->ttfb[path], ttfb_ms);

	if (tokens[0] <= 0 && tokens[1] <= 0 && tokens[METRICS_COST] <= 0)
		return;
	s = met_find(MET_T_TOK, 0, 0, 0, model, provider);
	for (k = 0; k <= METRICS_COST; k++) {
		if (tokens[k] > 0)
			(void)__atomic_add_fetch(&s->v[k], (u_int64_t)tokens[k],
			    __ATOMIC_RELAXED);
	}
}

/* One upstream attempt of provider ended with result (METRICS_R_*). */
void
metrics_attempt(const char *provider, int result)
{
	struct met_series	*s;

	if (shm == NULL)
		return;
	s = met_find(MET_T_ATT, 0, result, 0, "", provider);
	(void)__atomic_add_fetch(&s->v[0], 1, __ATOMIC_RELAXED);
}

/*
 * The request log's and the exporter's state summed over the workers
 * seen in the last few seconds; *worst is the fullest log queue as a
 * share of its bound (0..1), *failing whether any worker's store
 * refuses its writes. For readiness and the metrics.
 */
void
metrics_workers(struct metrics_worker *sum, double *worst, int *failing)
{
	struct metrics_worker	*w;
	int			 i;

	memset(sum, 0, sizeof(*sum));
	*worst = 0;
	*failing = 0;
	if (shm == NULL)
		return;

	metrics_publish();
	for (i = 0; i < MET_WORKERS; i++) {
		w = &shm->workers[i];
		if (w->pid == 0)
			continue;
		sum->log_rows += w->log_rows;
		sum->log_max += w->log_max;
		sum->log_dropped += w->log_dropped;
		sum->log_lines_lost += w->log_lines_lost;
		sum->otel_queue += w->otel_queue;
		sum->otel_dropped += w->otel_dropped;
		sum->otel_exported += w->otel_exported;
		sum->cpu_ticks += w->cpu_ticks;
		sum->rss += w->rss;
		sum->vsize += w->vsize;
		sum->fds += w->fds;
		if (w->log_max > 0 &&
		    (double)w->log_rows / (double)w->log_max > *worst)
			*worst = (double)w->log_rows / (double)w->log_max;
		if (w->log_failing)
			*failing = 1;
	}
}

/* A label value in the exposition format: \, " and newlines escaped. */
static void
met_label(struct kore_buf *buf, const char *name, const char *v, int first)
{
	kore_buf_appendf(buf, "%s%s=\"", first ? "" : ",", name);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			kore_buf_appendf(buf, "\\%c", *v);
		else if (*v == '\n')
			kore_buf_appendf(buf, "\\n");
		else
			kore_buf_append(buf, v, 1);
	}
	kore_buf_appendf(buf, "\"");
}

static void
met_family(struct kore_buf *buf, const char *name, const char *type,
    const char *help)
{
	kore_buf_appendf(buf, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A family of one sample without labels. */
static void
met_scalar(struct kore_buf *buf, const char *name, const char *type,
    const char *help, double v)
{
	met_family(buf, name, type, help);
	kore_buf_appendf(buf, "%s %.15g\n", name, v);
}

/* The samples of one series table (MET_T_*), with their labels. */
static void
met_table_render(struct kore_buf *buf, int table)
{
	struct met_series	*t, *s;
	size_t			 i, n;
	int			 k;

	t = met_table(table, &n);

	for (i = 0; i <= n; i++) {
		s = &t[i];
		if (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
			continue;
		for (k = 0; k < (table == MET_T_TOK ? METRICS_TOKEN_KINDS :
		    1); k++) {
			if (table == MET_T_REQ) {
				kore_buf_appendf(buf, "fusion_requests_total{");
				met_label(buf, "path", met_paths[s->path], 1);
				met_label(buf, "model", s->model, 0);
				met_label(buf, "provider", s->provider, 0);
				kore_buf_appendf(buf, ",status=\"%u\"",
				    s->status);
				met_label(buf, "outcome",
				    met_outcomes[s->kind], 0);
			} else if (table == MET_T_ATT) {
				kore_buf_appendf(buf,
				    "fusion_upstream_attempts_total{");
				met_label(buf, "provider", s->provider, 1);
				met_label(buf, "result", met_results[s->kind],
				    0);
			} else if (table == MET_T_COST) {
				kore_buf_appendf(buf, "fusion_cost_total{");
				met_label(buf, "model", s->model, 1);
				met_label(buf, "provider", s->provider, 0);
				met_label(buf, "currency", fusion_cfg.currency,
				    0);
				k = METRICS_COST;
			} else {
				kore_buf_appendf(buf, "fusion_tokens_total{");
				met_label(buf, "model", s->model, 1);
				met_label(buf, "provider", s->provider, 0);
				met_label(buf, "kind", met_token_kinds[k], 0);
			}
			kore_buf_appendf(buf, "} %" PRIu64 "\n",
			    __atomic_load_n(&s->v[k], __ATOMIC_RELAXED));
		}
	}
}

static void
met_hist_render(struct kore_buf *buf, const char *name,
    const struct met_hist *hists)
{
	const struct met_hist	*h;
	u_int64_t		 cum;
	int			 p, i;

	for (p = 0; p < METRICS_PATHS; p++) {
		h = &hists[p];
		if (__atomic_load_n(&h->count, __ATOMIC_RELAXED) == 0)
			continue;
		cum = 0;
		for (i = 0; i <= MET_BUCKETS; i++) {
			cum += __atomic_load_n(&h->bucket[i], __ATOMIC_RELAXED);
			kore_buf_appendf(buf, "%s_bucket{", name);
			met_label(buf, "path", met_paths[p], 1);
			if (i < MET_BUCKETS)
				kore_buf_appendf(buf, ",le=\"%g\"} %" PRIu64
				    "\n", (double)met_bounds[i] / 1000.0, cum);
			else
				kore_buf_appendf(buf, ",le=\"+Inf\"} %" PRIu64
				    "\n", cum);
		}
		kore_buf_appendf(buf, "%s_sum{", name);
		met_label(buf, "path", met_paths[p], 1);
		kore_buf_appendf(buf, "} %.3f\n%s_count{",
		    (double)h->sum_ms / 1000.0, name);
		met_label(buf, "path", met_paths[p], 1);
		/* The buckets' total: each observation adds to one bucket. */
		kore_buf_appendf(buf, "} %" PRIu64 "\n", cum);
	}
}

static int
met_provider_cmp(const void *a, const void *b)
{
	const struct cfg_provider	*x = *(const struct cfg_provider *const *)a;
	const struct cfg_provider	*y = *(const struct cfg_provider *const *)b;

	return (strcmp(x->name, y->name));
}

/*
 * Upstream keys by provider name and state, from this worker's
 * configuration, in the states /api/admin/stats counts: active (enabled
 * and healthy), cooldown, disabled (by their health) and operator_disabled
 * (switched off by an operator). Providers of one name in several groups
 * are summed: a series is named once.
 */
static void
met_keys_render(struct kore_buf *buf)
{
	static const char	*const states[] = { "active", "cooldown",
				    "disabled", "operator_disabled" };
	struct cfg		*cfg;
	struct cfg_provider	**order;
	struct cfg_key		*k;
	int64_t			 n[4];
	size_t			 i, j, kk;
	int			 s, st;

	met_family(buf, "fusion_upstream_keys", "gauge",
	    "Upstream API keys by provider and health state.");
	if ((cfg = config_acquire()) == NULL)
		return;

	order = kore_calloc(cfg->nproviders + 1, sizeof(*order));
	for (i = 0; i < cfg->nproviders; i++)
		order[i] = &cfg->providers[i];
	qsort(order, cfg->nproviders, sizeof(*order), met_provider_cmp);

	for (i = 0; i < cfg->nproviders; i = j) {
		memset(n, 0, sizeof(n));
		for (j = i; j < cfg->nproviders &&
		    strcmp(order[j]->name, order[i]->name) == 0; j++) {
			for (kk = 0; kk < order[j]->nkeys; kk++) {
				k = order[j]->keys[kk];
				st = __atomic_load_n(&k->health->status,
				    __ATOMIC_RELAXED);
				if (st == KEY_COOLDOWN)
					n[1]++;
				else if (st == KEY_DISABLED)
					n[2]++;
				else if (!k->enabled)
					n[3]++;
				else
					n[0]++;
			}
		}
		for (s = 0; s < 4; s++) {
			kore_buf_appendf(buf, "fusion_upstream_keys{");
			met_label(buf, "provider", order[i]->name, 1);
			met_label(buf, "state", states[s], 0);
			kore_buf_appendf(buf, "} %" PRId64 "\n", n[s]);
		}
	}

	kore_free(order);
	config_release(cfg);
}

/* Every family, in the text exposition format (version 0.0.4). */
void
metrics_render(struct kore_buf *buf)
{
	struct metrics_worker	 sum;
	struct kore_worker	*kw;
	u_int64_t		 conns;
	double			 worst;
	size_t			 i;
	int			 failing, running;

	if (shm == NULL)
		return;

	met_family(buf, "fusion_requests_total", "counter",
	    "Requests answered on /v1, by path, model, provider, status and "
	    "outcome.");
	met_table_render(buf, MET_T_REQ);

	met_family(buf, "fusion_request_duration_seconds", "histogram",
	    "Time from a request's arrival to its end, by path.");
	met_hist_render(buf, "fusion_request_duration_seconds",
	    shm->duration);
	met_family(buf, "fusion_ttfb_seconds", "histogram",
	    "Time from a request's arrival to the first byte of its upstream's "
	    "answer, by path.");
	met_hist_render(buf, "fusion_ttfb_seconds", shm->ttfb);

	met_family(buf, "fusion_upstream_attempts_total", "counter",
	    "Upstream attempts, by provider and result.");
	met_table_render(buf, MET_T_ATT);

	met_family(buf, "fusion_tokens_total", "counter",
	    "Tokens the upstreams reported, by model, provider and kind "
	    "(input, output; cached_input and cache_write are part of input, "
	    "reasoning part of output).");
	met_table_render(buf, MET_T_TOK);

	met_family(buf, "fusion_cost_total", "counter",
	    "What requests cost at the prices in force, in micro-units "
	    "(millionths) of the currency label, by model and provider.");
	met_table_render(buf, MET_T_COST);

	met_keys_render(buf);

	met_family(buf, "fusion_in_flight", "gauge",
	    "Requests in flight, by path.");
	for (i = 0; i < METRICS_PATHS; i++) {
		kore_buf_appendf(buf, "fusion_in_flight{");
		met_label(buf, "path", met_paths[i], 1);
		kore_buf_appendf(buf, "} %" PRId64 "\n",
		    __atomic_load_n(&shm->in_flight[i], __ATOMIC_RELAXED));
	}

	/* Each worker publishes its connections for the others (Kore). */
	conns = 0;
	running = 0;
	for (i = KORE_WORKER_BASE; i < worker_count; i++) {
		kw = kore_worker_data((u_int8_t)i);
		if (kw->running) {
			conns += kw->connections;
			running++;
		}
	}
	met_scalar(buf, "fusion_connections", "gauge",
	    "Client connections open, all listeners.", (double)conns);
	met_scalar(buf, "fusion_workers", "gauge", "Worker processes running.",
	    running);

	metrics_workers(&sum, &worst, &failing);
	met_scalar(buf, "fusion_log_queue_rows", "gauge",
	    "Request log rows waiting to be written.", (double)sum.log_rows);
	met_scalar(buf, "fusion_log_dropped_total", "counter",
	    "Request log rows dropped because the store refused writes for "
	    "too long.", (double)sum.log_dropped);
	met_scalar(buf, "fusion_log_lines_dropped_total", "counter",
	    "LOG_FORMAT=json lines dropped because standard output had no "
	    "room for them.", (double)sum.log_lines_lost);
	met_scalar(buf, "fusion_config_generation", "gauge",
	    "Generation of the routing configuration; moves on every change.",
	    (double)counters_config_gen());
	met_scalar(buf, "fusion_trace_queue_spans", "gauge",
	    "Spans waiting to be exported (OTLP).", (double)sum.otel_queue);
	met_scalar(buf, "fusion_trace_spans_exported_total", "counter",
	    "Spans the collector accepted.", (double)sum.otel_exported);
	met_scalar(buf, "fusion_trace_spans_dropped_total", "counter",
	    "Spans dropped: the queue was full or the collector failed.",
	    (double)sum.otel_dropped);

	met_scalar(buf, "process_cpu_seconds_total", "counter",
	    "CPU time of the worker processes, user and system.",
	    (double)sum.cpu_ticks / (double)sysconf(_SC_CLK_TCK));
	met_scalar(buf, "process_resident_memory_bytes", "gauge",
	    "Resident memory of the worker processes, summed.",
	    (double)sum.rss);
	met_scalar(buf, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory of the worker processes, summed.",
	    (double)sum.vsize);
	met_scalar(buf, "process_open_fds", "gauge",
	    "Open file descriptors of the worker processes, summed.",
	    (double)sum.fds);
	/* The limit Kore gave the workers (they may not ask: seccomp). */
	met_scalar(buf, "process_max_fds", "gauge",
	    "File descriptors one worker process may open.",
	    worker_rlimit_nofiles);
	met_scalar(buf, "process_start_time_seconds", "gauge",
	    "When the gateway started, seconds since the epoch.",
	    (double)shm->start_time);
}
