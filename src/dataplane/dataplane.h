/*
 * dataplane: what happens to a /v1 request. The life of a request
 * (request.c), the client key and what it may use (client.c), the
 * routing configuration each worker serves from memory (config.c), the
 * counters and runtime state all workers share (counters.c), the order
 * candidates are tried in (router.c), what a failed attempt means
 * (failover.c), upstream key health (health.c), runtime state to and
 * from the store (state.c), the upstream transfer (upstream.c), relaying
 * streams (relay.c) and the request log with its rollups and retention
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

#define HEALTH_REASON_MAX	200
#define RPM_SECONDS		60

struct arena_block;

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

/* A client key's token use and rpm window, shared likewise. */
struct client_usage {
	volatile int	lock;
	int64_t		tokens_used;
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
	int			 weighted;
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
	char			*ca_cert;	/* PEM, or "" */
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

	struct arena_block	*arena;
	int			 refs;
	int			 retired;
};

/* config.c */
struct cfg		*config_acquire(void);
void			 config_release(struct cfg *);
void			 config_invalidate(void);
struct cfg_client	*config_client(struct cfg *, const char *);
int64_t			 client_tokens(const struct cfg_client *);

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
int		counters_claim(int, u_int64_t, u_int64_t);
void		counters_unclaim(int);
u_int64_t	counters_config_gen(void);
void		counters_config_bump(void);
u_int64_t	counters_config_loads(int);

/* router.c: the order in which candidates are tried. Pure. */
#define ROUTER_MAX		64
#define ROUTER_KEYS		16	/* picks of one provider at most */

struct router_pick {
	struct cfg_provider	*provider;
	struct cfg_key		*key;		/* NULL: skipped */
	const char		*skip_reason;
	int			 disabled;	/* by an operator */
};

int		router_plan(struct cfg *, const struct cfg_client *,
		    const char *, int64_t, struct router_pick *, int,
		    u_int64_t (*)(const char *, int64_t));
int		router_key_usable(const struct cfg_key *, int64_t);
const char	*router_upstream_model(const struct cfg_provider *,
		    const char *);
int		router_client_allows(const struct cfg_client *, const char *,
		    const struct cfg_group *);

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

/* proxy.c */
void		proxy_load_ca(void);
void		proxy_shutdown(void);

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
	const char	*outcome;
	char		 error[256];
	char		*trace;		/* JSON array, owned */
};

void		usage_init(void);
void		usage_log(struct log_entry *);
void		usage_flush(void);
void		usage_stop(void);
int		task_answered(struct kore_task *);
void		task_park(void) __attribute__((noreturn));

/* request.c, upstream.c, relay.c, client.c: one request in flight. */
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

/* The Messages API version asked of Anthropic upstreams. */
#define ANTHROPIC_VERSION	"2023-06-01"

#define PHASE_NEXT		1	/* pick the next candidate */
#define PHASE_RUNNING		2	/* an upstream transfer is under way */
#define PHASE_DONE		3	/* the client has its answer */

struct proxy {
	struct http_request	*req;
	struct cfg		*cfg;
	struct cfg_client	*client;
	int			 phase;
	struct kore_buf		*test_body;	/* provider test, no client */

	/* The client's request. */
	char			 model[256];
	const char		*path;		/* after /v1 */
	int			 client_fmt;	/* XF_OPENAI or XF_ANTHROPIC */
	int			 chat;		/* a chat: any provider type */
	int			 count_tokens;	/* /messages/count_tokens */
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
	int			 attempts;
	int			 tried;

	/* The current attempt. */
	struct kore_curl	 curl;
	int			 curl_live;
	int			 timed_out;
	struct kore_buf		*upbody;
	long			 status;
	int			 headers_done;
	int64_t			 retry_after;
	char			 content_type[128];
	struct kore_buf		*resp;
	struct sse_parser	 sse;
	int			 sse_active;
	int			 up_fmt;	/* the current provider's API */
	int			 xlating;	/* the stream goes through xs */
	int			 error_relayed;	/* the upstream's error event */
	int			 upstream_broke; /* it sent an error event */
	struct xlate_stream	 xs;
	struct kore_buf		*xout;		/* translated events, answers */
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
	char			 last_error[512];
	int64_t			 prompt_tokens;
	int64_t			 completion_tokens;
	struct kore_buf		*trace;
	struct log_entry	 log;
	int			 logged;

	LIST_ENTRY(proxy)	 list;
};

/* request.c */
int	proxy_v1(struct http_request *);
void	proxy_error_reply(struct proxy *, int, const char *, const char *,
	    const char *);
void	proxy_error(struct proxy *, int, const char *, const char *,
	    const char *, ...) __attribute__((format(printf, 5, 6)));
void	proxy_finish(struct proxy *, const char *);
void	proxy_error_message(struct proxy *, char *, size_t);
int	proxy_scan(struct proxy *);
int	proxy_run(struct http_request *,
	    int (*)(struct http_request *, struct proxy *));

/* proxy_upstream.c */
int	proxy_serves(const struct proxy *, const struct cfg_provider *);
int	proxy_upstream_request(struct proxy *, const char *, char *, size_t,
	    const void **, size_t *);
void	proxy_upstream_url(struct proxy *, const char *, struct kore_buf *);
void	proxy_upstream_headers(struct proxy *);
int	proxy_answer(struct proxy *);
void	proxy_answer_error(struct proxy *);

/* proxy_stream.c */
int	proxy_relay(struct proxy *, const char *, size_t);
void	proxy_stream_error(struct proxy *, const char *);
int	proxy_stream_close(struct proxy *);
void	proxy_keepalive(struct proxy *);
void	proxy_usage(struct proxy *, const void *, size_t);

/* proxy_clients.c */
int	proxy_client_authenticate(struct proxy *);
void	proxy_models(struct proxy *);

/* admin_provider_test.c */
void	provider_test_report(struct proxy *, CURLcode, int64_t);

#endif
