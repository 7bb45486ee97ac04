/*
 * The data plane: the routing configuration held by each worker, the
 * counters shared by all workers, candidate selection, the request log.
 */

#ifndef __H_GATEWAY_H
#define __H_GATEWAY_H

#include <sys/types.h>

#include <stdint.h>

#define KEY_ACTIVE		0
#define KEY_COOLDOWN		1
#define KEY_DISABLED		2

struct arena_block;

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
	char			*masked;
	int			 enabled;
	int			 status;
	int64_t			 cooldown_until;
	int64_t			 consecutive_failures;
};

struct cfg_provider {
	int64_t			 id;
	struct cfg_group	*group;
	char			*name;
	int			 fmt;		/* XF_* of xlate.h: its API */
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
	int64_t			 tokens_used;
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

	struct arena_block	*arena;
	int			 refs;
	int			 retired;
};

/* config.c */
struct cfg		*config_acquire(void);
void			 config_release(struct cfg *);
void			 config_invalidate(void);
struct cfg_client	*config_client(struct cfg *, const char *);
struct cfg_key		*config_key(struct cfg *, int64_t);

/* counters.c: shared memory set up by the parent before the fork. */
void		counters_init(void);
u_int64_t	counters_next(const char *, int64_t);
int64_t		counters_rpm_hit(int64_t, int64_t, int64_t *);
u_int64_t	counters_config_gen(void);
void		counters_config_bump(void);

/* router.c: the order in which candidates are tried. Pure. */
#define ROUTER_MAX		64

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

/* health.c: upstream key health, shared through the store. */
void		health_failure(struct cfg_key *, int, int64_t, const char *);
void		health_success(struct cfg_key *);
int		health_claim(struct cfg_key *);

/* proxy.c */
void		proxy_load_ca(void);
void		proxy_shutdown(void);

/* usage.c: the request log and counters, written in batches. */
struct log_entry {
	char		 request_id[32];
	int64_t		 created_at;
	int64_t		 client_key_id;
	int		 quota;		/* the client has a token quota */
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

#endif
