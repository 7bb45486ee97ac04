/*
 * dataplane: what happens to a /v1 request. The life of a request
 * (request.c), the client key and what it may use (client.c), the
 * routing configuration each worker serves from memory (config.c), the
 * counters and runtime state all workers share (counters.c), the order
 * candidates are tried in (router.c, with the strategies' arithmetic in
 * strategy.c and the latencies all workers share in latency.c), what a
 * failed attempt means (failover.c), upstream key health (health.c),
 * runtime state to and from the store (state.c), the upstream transfer
 * (upstream.c), relaying streams (relay.c) and the request log with its
 * rollups and retention
 * (reqlog.c).
 */

#ifndef __H_DATAPLANE_H
#define __H_DATAPLANE_H

#include <sys/types.h>

#include <stdint.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>
#include <kore/tasks.h>

#include "core/core.h"
#include "store/store.h"
#include "formats/formats.h"

#define KEY_ACTIVE		0
#define KEY_COOLDOWN		1
#define KEY_DISABLED		2
struct otel_ctx;

#define HEALTH_REASON_MAX	200
#define RPM_SECONDS		60

struct arena_block;
struct proxy;

/* How a tier chooses among its providers (a group's strategy). */
#define ROUTE_ROUND_ROBIN	0
#define ROUTE_WEIGHTED		1
#define ROUTE_LEAST_LATENCY	2

/*
 * An upstream key's health, in the memory every worker shares
 * (counters.c); changed under lock, read without it where one field is
 * enough (the router).
 */
struct key_health {
	volatile int	lock;
	int		status;			/* KEY_* */
	int64_t		cooldown_until;
	int64_t		consecutive_failures;
	int64_t		failures;		/* not in the store yet */
	int64_t		requests;		/* failed attempts, likewise */
	int64_t		last_failed;
	u_int64_t	version;		/* bumped by every change */
	u_int64_t	stored;			/* the version in the store */
	char		reason[HEALTH_REASON_MAX];
};

/*
 * What a client key spent, in micro-units: in all, in the day and the
 * month (BUDGET_TIMEZONE) that began at day_start and month_start, and
 * what the requests in flight reserved.
 */
struct client_spend {
	int64_t		total;
	int64_t		day;
	int64_t		month;
	int64_t		day_start;
	int64_t		month_start;
	int64_t		reserved;
};

/* The day and month a moment is in, [start, end) in epoch seconds. */
struct budget_periods {
	int64_t		day_start;
	int64_t		day_end;
	int64_t		month_start;
	int64_t		month_end;
};

#define BUDGET_DAILY		0
#define BUDGET_MONTHLY		1
#define BUDGET_TOTAL		2
#define BUDGET_KINDS		3

/* A client key's token use, spend and rpm window, shared likewise. */
struct client_usage {
	volatile int	lock;
	int64_t		tokens_used;
	struct client_spend spend;
	u_int64_t	version;
	u_int64_t	stored;
	u_int32_t	second[RPM_SECONDS];
	u_int32_t	count[RPM_SECONDS];
};

struct cfg_group {
	int64_t			 id;
	char			*name;
	int64_t			 priority;
	int			 enabled;
	int			 strategy;	/* ROUTE_* */
	int			 affinity;	/* sessions stick */
	int64_t			 half_life_ms;	/* of the latency average */
};

/*
 * A provider's own failover rules (failover.c): statuses that fail over
 * beyond the defaults, and statuses that fail over without cooling the
 * key down.
 */
struct failover_policy {
	int64_t			*failover;
	size_t			 nfailover;
	int64_t			*no_cooldown;
	size_t			 nno_cooldown;
};

struct cfg_key {
	int64_t			 id;
	struct cfg_provider	*provider;
	char			*secret;	/* wiped on reload */
	char			*hash;		/* of the secret */
	char			*masked;
	int			 enabled;
	struct key_health	*health;	/* shared */
	int			 own_health;	/* none shared: this worker's */
};

struct cfg_provider {
	int64_t			 id;
	struct cfg_group	*group;
	char			*name;
	int			 fmt;		/* XF_* of formats.h: its API */
	char			*base_url;
	char			**models;
	size_t			 nmodels;
	char			**alias_from;
	char			**alias_to;
	size_t			 naliases;
	int64_t			 weight;
	int			 enabled;
	int64_t			 timeout_ms;
	int			 tls_verify;
	int			 responses_api;	/* openai: has /responses */
	char			*ca_cert;	/* PEM, or "" */
	char			*proxy_url;	/* decrypted, or NULL; wiped */
	char			**header_names;	/* extra_headers */
	char			**header_values;
	size_t			 nheaders;
	char			**set_names;	/* body_overrides */
	char			**set_values;	/* JSON text */
	size_t			 nset;
	char			**remove_names;
	size_t			 nremove;
	struct failover_policy	 policy;
	int64_t			 probe_interval;	/* seconds; 0: off */
	int			 probe_disabled;
	struct cfg_key		**keys;
	size_t			 nkeys;
};

struct cfg_client {
	int64_t			 id;
	char			*hash;
	char			*name;
	char			**models;
	size_t			 nmodels;
	int64_t			*groups;
	size_t			 ngroups;
	int			 enabled;
	int64_t			 expires_at;
	int64_t			 rpm_limit;
	int64_t			 token_quota;
	int64_t			 budget[BUDGET_KINDS];	/* 0: none */
};

/*
 * A price row (price.c): micro-units of CURRENCY per million tokens of
 * each kind, per_request per request; reasoning -1 is the output price.
 * model may end in '*' (a prefix); provider_id 0 is any provider.
 */
#define PRICE_MODEL_MAX		132	/* a name (128 bytes at most) */

struct price {
	int64_t			 provider_id;
	char			 model[PRICE_MODEL_MAX];
	int64_t			 input;
	int64_t			 cached_input;
	int64_t			 cache_write;
	int64_t			 output;
	int64_t			 reasoning;
	int64_t			 per_request;
};

struct cfg {
	struct cfg_group	*groups;
	size_t			 ngroups;
	struct cfg_provider	*providers;	/* by priority, then id */
	size_t			 nproviders;
	struct cfg_key		*keys;
	size_t			 nkeys;
	struct cfg_client	*clients;
	size_t			 nclients;
	int32_t			*client_index;	/* by hash, 2 x nclients */
	size_t			 client_index_mask;
	struct price		*prices;
	size_t			 nprices;

	struct arena_block	*arena;
	int			 refs;
	int			 retired;
};

/* config.c */
struct cfg		*config_acquire(void);
void			 config_release(struct cfg *);
void			 config_invalidate(void);
struct cfg_client	*config_client(struct cfg *, const char *);
struct cfg_provider	*config_provider(struct cfg *, int64_t);
struct cfg_key		*config_key(struct cfg *, int64_t);
int64_t			 client_tokens(const struct cfg_client *);

/* price.c: the price that applies and what tokens cost. Pure. */
const struct price *price_find(const struct price *, size_t, int64_t,
		    const char *);
int64_t		price_cost(const struct price *, const struct xlate_usage *);
int64_t		price_estimate(const struct price *, int64_t, int64_t);
void		budget_periods(int64_t, int64_t, int, struct budget_periods *);

/* counters.c: shared memory set up by the parent before the fork. */
#define CLAIM_PERSIST		0	/* background jobs of the writers */
#define CLAIM_PRUNE		1
#define COUNTERS_CLAIMS		2

void		counters_init(size_t, size_t);
void		counters_lock(volatile int *);
void		counters_unlock(volatile int *);
struct key_health *counters_key(int64_t, int);
struct client_usage *counters_client(int64_t, int);
struct key_health *counters_key_at(size_t, int64_t *);
struct client_usage *counters_client_at(size_t, int64_t *);
u_int64_t	counters_next(const char *, int64_t);
int64_t		counters_rpm_hit(int64_t, int64_t, int64_t *);
int64_t		counters_tokens_used(int64_t);
void		counters_tokens(int64_t, int64_t, int);
int		counters_spend_admit(int64_t, const int64_t *, int64_t,
		    const struct budget_periods *);
void		counters_spend_settle(int64_t, int64_t, int64_t,
		    const struct budget_periods *);
int		counters_spend_view(int64_t, const struct budget_periods *,
		    struct client_spend *);
int		counters_claim(int, u_int64_t, u_int64_t);
void		counters_unclaim(int);
void		counters_upkeep(int);
int		counters_upkeep_refused(void);
u_int64_t	counters_config_gen(void);
void		counters_config_bump(void);
u_int64_t	counters_config_loads(int);

/* router.c: the order in which candidates are tried. Pure. */
#define ROUTER_MAX		64
#define ROUTER_SESSION_MAX	256
#define ROUTER_KEYS		16	/* picks of one provider at most */

struct router_pick {
	struct cfg_provider	*provider;
	struct cfg_key		*key;		/* NULL: skipped */
	const char		*skip_reason;
	const char		*strategy;	/* what chose it, for the trace */
	int			 disabled;	/* by an operator */
};

/*
 * What the plan of one request stands on: rotating positions shared by
 * all workers, the latency score of a provider (lower is better; NULL
 * when no tier needs it) and the request's session key ("" for none).
 */
struct router_env {
	u_int64_t	(*next)(const char *, int64_t);
	u_int64_t	(*score)(const struct cfg_provider *);
	char		  session[ROUTER_SESSION_MAX];
};

int		router_plan(struct cfg *, const struct cfg_client *,
		    const char *, int64_t, struct router_pick *, int,
		    const struct router_env *);
int		router_key_usable(const struct cfg_key *, int64_t);
const char	*router_upstream_model(const struct cfg_provider *,
		    const char *);
int		router_client_allows(const struct cfg_client *, const char *,
		    const struct cfg_group *);

/*
 * strategy.c: the arithmetic of the strategies, pure and unit tested.
 * Rendezvous hashing of a session over candidates (stable everywhere:
 * a fixed hash, no seed), the least-latency score, the decaying average
 * of latencies, and the session key of a request body.
 */
#define STRATEGY_EXPLORE_PCT	5	/* least_latency: tries off the best */
#define STRATEGY_P2C_MIN	16	/* tiers from here on: two choices */

u_int64_t	strategy_hash(const char *, int64_t);
double		strategy_rendezvous(const char *, int64_t, int64_t);
u_int64_t	strategy_latency_score(u_int64_t, u_int32_t, int64_t);
u_int64_t	strategy_ewma(u_int64_t, u_int64_t, u_int64_t, u_int64_t);
int		strategy_session(const void *, const struct json_member *,
		    int, const char *, char *, size_t);

/*
 * latency.c: time to first byte per provider, an average that forgets
 * with its group's half-life, and the attempts in flight, in memory
 * shared by every worker (set up by the parent before the fork).
 */
void		latency_init(void);
void		latency_worker_init(void);
void		latency_begin(const struct cfg_provider *);
void		latency_settle(const struct proxy *, int);
u_int64_t	latency_score(const struct cfg_provider *);
u_int64_t	latency_ewma_us(const struct cfg_provider *);

/*
 * failover.c: what the end of an attempt means for the request and for
 * its key. Pure: the table of cases is unit tested.
 */
#define FO_PHASE_HEAD		0	/* nothing has reached the client */
#define FO_PHASE_STREAM		1	/* the client has a stream's bytes */

struct attempt_end {
	int		phase;
	long		status;		/* the upstream's HTTP status, or 0 */
	int		transport;	/* connect, TLS, reset, a broken body */
	int		timed_out;	/* silent too long, or the deadline */
	int		stopped;	/* we stopped it at a limit of ours */
	int		upstream_broke;	/* an error event, or bytes its API
					   does not allow */
	long		event_status;	/* the status an error event before
					   the first byte stands for, or 0 */
	int		complete;	/* the answer or stream is whole */
	int		client_gone;
	const struct failover_policy *policy;	/* the provider's, or NULL */
};

#define FO_ANSWER		1	/* success: the client has the answer */
#define FO_PASS_ERROR		2	/* the client's mistake: passed on */
#define FO_NEXT_KEY		3	/* the next pick, keys of the same
					   provider included */
#define FO_NEXT_PROVIDER	4	/* the next pick of another provider */
#define FO_STREAM_ERROR		5	/* end the stream with an error event */
#define FO_CANCELLED		6	/* the client went away */

#define COOL_NONE		0
#define COOL_DISABLE		1	/* 401/403: until an operator says */
#define COOL_RATE		2	/* 429: Retry-After, or the default */
#define COOL_BACKOFF		3	/* 5xx, timeouts, resets: doubling */

struct failover {
	int		action;		/* FO_* */
	int		cooldown;	/* COOL_* for the attempt's key */
};

void		failover_decide(const struct attempt_end *, struct failover *);
int		failover_client_status(long);

/* health.c: upstream key health, in shared memory. */
void		health_failure(struct cfg_key *, int, int64_t, const char *);
void		health_success(struct cfg_key *);
int		health_claim(struct cfg_key *);
void		health_reset(int64_t);
int		health_status(int64_t);
int		health_view(int64_t, struct key_health *);
const char	*health_status_name(int);

/* state.c: runtime state to and from the store. */
void		state_size(size_t *, size_t *);
int		state_load(void);
int		state_persist(sqlite3 *);

/* reqlog.c: the request log and its rollups, written in batches. */
struct log_entry {
	char		 request_id[32];
	int64_t		 created_at;
	int64_t		 client_key_id;
	char		 model[128];
	char		 upstream_model[128];
	int64_t		 group_id;
	int64_t		 provider_id;
	int64_t		 upstream_key_id;
	char		 key_masked[16];
	char		 path[128];
	int		 status;
	int		 stream;
	int		 attempts;
	int64_t		 latency_ms;
	int64_t		 ttfb_ms;
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
	int64_t		 admin_user_id;	/* a playground request's admin */
	int64_t		 cached_tokens;
	int64_t		 cache_write_tokens;
	int64_t		 reasoning_tokens;
	int		 usage_estimated;	/* counts from what was relayed */
	int		 cost_estimated;	/* from estimated counts */
	int64_t		 cost;		/* micro-units of CURRENCY */
	const char	*outcome;
	char		 error[256];
	char		*trace;		/* JSON array, owned */
};

/* What a worker's request log holds and has lost (metrics, readiness). */
struct reqlog_state {
	int64_t		rows;		/* waiting to be written */
	int64_t		max;		/* held at most before dropping */
	u_int64_t	dropped;
	int		failing;	/* the store refused the last batch */
};

void		reqlog_init(void);
void		reqlog_add(struct log_entry *);
void		reqlog_flush(void);
void		reqlog_stop(void);
void		reqlog_state(struct reqlog_state *);

/* metrics.c: Prometheus metrics, in memory shared by the workers. */
#define METRICS_PATHS		8
/* input, output, cached_input, cache_write, reasoning */
#define METRICS_TOKEN_KINDS	5
#define METRICS_COST		METRICS_TOKEN_KINDS	/* after the tokens */

#define METRICS_R_OK		0
#define METRICS_R_CLIENT	1
#define METRICS_R_CANCELLED	2
#define METRICS_R_RATE_LIMITED	3
#define METRICS_R_AUTH		4
#define METRICS_R_SERVER	5
#define METRICS_R_STREAM	6
#define METRICS_R_TIMEOUT	7
#define METRICS_R_NETWORK	8

/* What one worker alone knows, published into its shared slot. */
struct metrics_worker {
	pid_t		pid;
	int		log_failing;
	int64_t		log_rows;
	int64_t		log_max;
	u_int64_t	log_dropped;
	u_int64_t	log_lines_lost;	/* LOG_FORMAT=json lines */
	u_int64_t	otel_queue;
	u_int64_t	otel_dropped;
	u_int64_t	otel_exported;
	u_int64_t	cpu_ticks;
	u_int64_t	rss;
	u_int64_t	vsize;
	u_int64_t	fds;
};

void		metrics_init(void);
void		metrics_worker_init(void);
struct metrics_worker	*metrics_self(void);
void		metrics_publish(void);
int		metrics_path(const char *);
void		metrics_in_flight(int, int);
void		metrics_request(int, const char *, const char *, int,
		    const char *, int64_t, int64_t, const int64_t *);
void		metrics_attempt(const char *, int);
void		metrics_workers(struct metrics_worker *, double *, int *);
void		metrics_render(struct kore_buf *);

#define PROXY_MEMBERS_MAX	256
/*
 * Top-level members held in struct proxy itself: OpenAI's chat request
 * has about 30 parameters, of which a request sets a handful (model,
 * messages, stream, temperature, tools...). A body using more than 16 is
 * scanned again into a heap array of PROXY_MEMBERS_MAX.
 */
#define PROXY_MEMBERS_INLINE	16
#define PROXY_ERRBODY_MAX	(64 * 1024)
#define PROXY_WATCHDOG_MS	50
/*
 * curl's receive buffer, allocated for each transfer (16 KB by default):
 * answers and stream events are mostly far smaller, and the buffer is
 * held by every request in flight. curl_easy_reset of a reused handle
 * forgets the option: it is set for every transfer.
 */
#define PROXY_CURL_BUFFER	4096
#define PROXY_CURL_UPLOAD_BUFFER	(16 * 1024)	/* libcurl's least */

/* The Messages API version asked of Anthropic upstreams. */
#define ANTHROPIC_VERSION	"2023-06-01"

#define PHASE_NEXT		1	/* pick the next candidate */
#define PHASE_RUNNING		2	/* an upstream transfer is under way */
#define PHASE_DONE		3	/* the client has its answer */

struct proxy;

/*
 * What is particular to one kind of request the data plane runs: /v1
 * requests, the admin's playground, provider and key tests, model
 * syncs and the background probes of keys. begin reads the request and
 * makes the plan (KORE_RESULT_ERROR once it has answered); settle, when
 * set, takes over at the end of every attempt instead of the failover
 * rules; log, when set, records the finished request; health says
 * whether attempts change the health of their keys and the latencies
 * of their providers. For proxy_begin, the /v1 begin: prefix is the
 * path before the API's own, and client says who asks (the client key,
 * or an admin's session) and answers when nobody may. url, when set,
 * makes every attempt a GET of the URL it writes (a model list) instead
 * of the client's request.
 */
struct proxy_ops {
	int	(*begin)(struct http_request *, struct proxy *);
	void	(*settle)(struct proxy *, CURLcode, int64_t);
	void	(*log)(struct log_entry *);
	int	  health;
	const char *prefix;
	int	(*client)(struct proxy *);
	void	(*url)(struct proxy *, struct kore_buf *);
};

struct proxy {
	struct http_request	*req;
	const struct proxy_ops	*ops;
	struct cfg		*cfg;
	struct cfg_client	*client;
	int			 phase;
	struct kore_buf		*own_body;	/* a body begin made */

	/* The client's request. */
	char			 model[256];
	const char		*path;		/* after /v1 */
	int			 client_fmt;	/* XF_* of the client's API */
	int			 chat;		/* a chat: any provider type */
	int			 count_tokens;	/* counting tokens */
	int			 chat_path;	/* /chat/completions, /completions:
						   stream_options exists */
	int			 multipart;	/* multipart/form-data: as is */
	int			 raw;		/* the answer is relayed as it
						   comes (audio, images) */
	const u_int8_t		*body;
	size_t			 body_len;
	struct json_member	*members;	/* members_inline or heap */
	struct json_member	 members_inline[PROXY_MEMBERS_INLINE];
	int			 nmembers;
	size_t			 obj_end;
	int			 stream;
	int			 client_usage;

	/* The plan. */
	struct router_pick	*picks;		/* npicks of them */
	int			 npicks;
	int			 next;
	struct router_pick	*cur;
	int64_t			 skip_provider;
	int			 tried;

	/* The current attempt. */
	struct kore_curl	 curl;
	int			 curl_live;
	int			 timed_out;
	struct kore_buf		*upbody;
	struct glue_upstream	 up;		/* its answer's head */
	int			 head_seen;	/* up is filled */
	struct kore_buf		*resp;
	struct sse_parser	 sse;
	int			 up_fmt;	/* the current provider's API */
	int			 xlating;	/* the stream goes through xs */
	int			 error_relayed;	/* the upstream's error event */
	int			 upstream_broke; /* it sent an error event */
	int			 event_status;	/* what that event stands for */
	struct xlate_stream	 xs;
	struct kore_buf		*xout;		/* translated events, answers */
	struct kore_buf		*hold;		/* events before any content */
	int			 committed;
	int			 done_seen;
	int			 aborted;	/* we stopped the transfer */
	char			 abort_reason[256];
	u_int64_t		 attempt_start;
	u_int64_t		 last_activity;
	u_int64_t		 upstream_first;

	/* What happened, for the answer and the log. */
	u_int64_t		 start;
	u_int64_t		 first_byte;
	int			 last_status;
	int			 last_timeout;
	int64_t			 last_retry_after;
	char			 last_error[384];
	struct xlate_usage	 usage;
	int64_t			 text_bytes;	/* text relayed as it came */
	struct kore_buf		*trace;
	struct log_entry	 log;
	int			 logged;
	int64_t			 budget_reserve;	/* of the client's budgets */
	struct otel_ctx		*otel;		/* trace context, or NULL */
	void			*arg;		/* the ops' own state, freed
						   with the request */

	LIST_ENTRY(proxy)	 list;
};

/* The token counts an answer or a stream reported, where it did. */
static inline void
proxy_usage(struct proxy *px, const struct xlate_usage *u)
{
	xlate_usage_merge(&px->usage, u);
}

/* request.c: the life of a request, from its route to its log entry. */
int	proxy_v1(struct http_request *);
int	proxy_begin(struct http_request *, struct proxy *);
int	proxy_client(struct proxy *);
int	proxy_run(struct http_request *, const struct proxy_ops *);
int	proxy_scan(struct proxy *);
void	proxy_drive(struct proxy *);
void	proxy_error_reply(struct proxy *, int, const char *, const char *,
	    const char *);
void	proxy_finish(struct proxy *, const char *);
void	proxy_trace(struct proxy *, const struct router_pick *,
	    const char *, const char *, const char *, int, int64_t);

/* budget.c: a request's cost, and its client key's budgets. */
int	budget_admit(struct proxy *, char *, size_t, int64_t *);
void	budget_finish(struct proxy *, struct log_entry *);
void	budget_release(struct proxy *, int64_t);

/* inflight.c: the requests in flight, and those without a client. */
void	proxy_init(struct proxy *, struct http_request *,
	    const struct proxy_ops *);
void	proxy_detached(const struct proxy_ops *, void *);
void	proxy_wake(struct kore_curl *, void *);
void	proxy_onfree(struct http_request *);
void	proxy_free(struct proxy *);
void	proxy_shutdown(void);

/* client.c: the client key of a request, and what it may use. */
#define CLIENT_OK		0
#define CLIENT_NO_KEY		1
#define CLIENT_UNKNOWN		2
#define CLIENT_DISABLED		3
#define CLIENT_EXPIRED		4

int	client_find(struct cfg *, struct http_request *,
	    struct cfg_client **);
int	client_models(struct cfg *, const struct cfg_client *, int,
	    const char *, struct kore_buf *);
int	client_route(struct proxy *);
int	client_check_chat(struct proxy *, char *, size_t);
int	client_multipart(struct proxy *, char *, size_t);

/* upstream.c: one attempt's transfer, in the provider's own API. */
void	upstream_load_ca(void);
void	upstream_models_url(const struct cfg_provider *, const char *,
	    struct kore_buf *);
int	upstream_serves(const struct proxy *, const struct cfg_provider *);
int	upstream_start(struct proxy *, const char *, char *, size_t);
int	upstream_answer(struct proxy *);
void	upstream_answer_error(struct proxy *);
void	upstream_error_message(struct proxy *, char *, size_t);

/* relay.c: a streamed answer, event by event. */
int	relay_feed(struct proxy *, const char *, size_t);
int	relay_raw(struct proxy *, const char *, size_t);
int	relay_close(struct proxy *);
void	relay_error(struct proxy *, const char *);
void	relay_usage_log(struct proxy *, struct log_entry *);

/*
 * observe.c: what a request shows outside the gateway, called from its
 * life in request.c: metrics, traces (otel.c) and JSON log lines.
 */
void	observe_configure(void);
void	observe_worker_init(void);
void	observe_worker_stop(void);
void	observe_begin(struct proxy *);
void	observe_attempt(struct proxy *);
void	observe_attempt_end(struct proxy *, const struct router_pick *,
	    const char *, const char *, int);
void	observe_finish(struct proxy *, const struct log_entry *);

/* otel.c: OpenTelemetry traces, exported as OTLP/HTTP JSON. */
void	otel_configure(void);
int	otel_enabled(void);
void	otel_worker_init(void);
void	otel_worker_stop(void);
void	otel_begin(struct proxy *);
void	otel_attempt(struct proxy *);
void	otel_attempt_end(struct proxy *, const struct router_pick *,
	    const char *, int);
void	otel_finish(struct proxy *, const struct log_entry *);

#endif
