/*
 * The request state shared by the files of the data plane: proxy.c (the
 * life of a request), proxy_upstream.c (each provider API's URL, headers,
 * body and answers), proxy_stream.c (relaying streams), proxy_clients.c
 * (client keys and /v1/models) and admin_provider_test.c.
 */

#ifndef __H_PROXY_H
#define __H_PROXY_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "fusion.h"
#include "gateway.h"
#include "json_scan.h"
#include "sse.h"
#include "xlate.h"

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

/* proxy.c */
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
