/*
 * What a /v1 request shows outside the gateway, at four points of its
 * life in request.c: it begins, an upstream attempt starts, an attempt
 * ends, the request is over. Each point feeds the metrics (metrics.c),
 * the traces (otel.c) and, with LOG_FORMAT=json, one JSON line per
 * request on standard output beside the database log.
 *
 * LOG_FORMAT=json also turns the gateway's own messages (everything
 * kore_log writes, Kore's and ours) into JSON lines, through the hook
 * conf/kore-21-log-hook.patch adds to Kore.
 *
 * The lines never hold a worker: when standard output is a pipe, a
 * terminal or a socket, they go through a non-blocking description of
 * it of their own (opened by the parent, so the one a shell or Docker
 * holds keeps its blocking mode), and a line the reader has no room for
 * is dropped and counted (fusion_log_lines_dropped_total).
 */

#include <kore/kore.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/dataplane.h"

/* A line begun is finished within this much waiting, or dropped. */
#define OBSERVE_FINISH_MS	10

static int	log_json = 0;
static int	log_fd = STDOUT_FILENO;
static int	log_sock = 0;

static void		 observe_stdout(void);
static void		 observe_kore_log(int, const char *, const char *);
static void		 observe_time(struct kore_buf *);
static void		 observe_write(struct kore_buf *);
static const char	*observe_model(struct proxy *);
static int		 observe_result(struct proxy *, const char *, int);
static int		 observed(const struct proxy *);

/* The parent reads LOG_FORMAT and the OTEL_* settings before forking. */
void
observe_configure(void)
{
	const char	*v;

	v = settings_str("LOG_FORMAT", "text");
	if (strcmp(v, "json") == 0) {
		log_json = 1;
		observe_stdout();
		kore_log_hook = observe_kore_log;
	} else if (strcmp(v, "text") != 0) {
		fatal("LOG_FORMAT: '%s' is neither 'text' nor 'json'", v);
	}

	otel_configure();
}

void
observe_worker_init(void)
{
	metrics_worker_init();
	otel_worker_init();
}

void
observe_worker_stop(void)
{
	otel_worker_stop();
}

/*
 * Where the JSON lines go: standard output, or for a pipe or terminal a
 * description of it opened again without blocking (before the chroot,
 * while /proc is there); a socket (journald's) is written with
 * MSG_DONTWAIT. A regular file never makes a writer wait for a reader.
 */
static void
observe_stdout(void)
{
	struct stat	st;
	int		fd;

	if (fstat(STDOUT_FILENO, &st) == -1)
		return;
	if (S_ISSOCK(st.st_mode)) {
		log_sock = 1;
		return;
	}
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return;
	if ((fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK)) == -1) {
		kore_log(LOG_WARNING, "LOG_FORMAT=json: standard output cannot "
		    "be opened without blocking (%s): a reader that stops can "
		    "hold the workers", errno_s);
		return;
	}
	log_fd = fd;
}

/* "time":"2026-01-31T12:00:00.123Z" as the first member. */
static void
observe_time(struct kore_buf *buf)
{
	struct timespec	ts;
	struct tm	tm;
	char		date[32];

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	(void)strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	kore_buf_appendf(buf, "{\"time\":\"%s.%03ldZ\"", date,
	    ts.tv_nsec / 1000000);
}

/*
 * One line to standard output in one write, so that the lines of the
 * workers do not mix (a pipe takes up to PIPE_BUF bytes at once). When
 * the reader has no room, the line is lost rather than the worker held;
 * a longer line begun is finished within OBSERVE_FINISH_MS, so that the
 * next one starts on its own line.
 */
static void
observe_write(struct kore_buf *buf)
{
	struct metrics_worker	*w;
	struct pollfd		 pfd;
	ssize_t			 n;
	size_t			 off;
	int			 waited;

	kore_buf_append(buf, "\n", 1);
	waited = 0;
	for (off = 0; off < buf->offset;) {
		n = log_sock ? send(log_fd, buf->data + off, buf->offset - off,
		    MSG_DONTWAIT | MSG_NOSIGNAL) : write(log_fd,
		    buf->data + off, buf->offset - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    off > 0 && waited++ < OBSERVE_FINISH_MS) {
			pfd.fd = log_fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, 1);
			continue;
		}
		/* The parent's own lines are not counted: it has no slot. */
		if ((w = metrics_self()) != NULL)
			w->log_lines_lost++;
		break;
	}
}

/*
 * A message of Kore or of the gateway as a JSON line: to standard output
 * in the foreground, to syslog otherwise.
 */
static void
observe_kore_log(int prio, const char *name, const char *msg)
{
	struct kore_buf	 buf;
	const char	*level;
	size_t		 len;

	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
		level = "critical";
		break;
	case LOG_ERR:
		level = "error";
		break;
	case LOG_WARNING:
		level = "warning";
		break;
	case LOG_NOTICE:
		level = "notice";
		break;
	case LOG_DEBUG:
		level = "debug";
		break;
	default:
		level = "info";
		break;
	}

	kore_buf_init(&buf, 256);
	observe_time(&buf);
	json_kv_str(&buf, "level", level, 0);
	/* Kore names processes "[wrk 1]", "[parent]", "[keymgr]". */
	len = strlen(name);
	json_key(&buf, "process", 0);
	if (len >= 2 && name[0] == '[' && name[len - 1] == ']')
		json_strn(&buf, name + 1, len - 2);
	else
		json_str(&buf, name);
	json_kv_str(&buf, "msg", msg, 0);
	kore_buf_appendf(&buf, "}");

	if (kore_foreground) {
		observe_write(&buf);
	} else {
		syslog(prio, "%s", kore_buf_stringify(&buf, NULL));
	}
	kore_buf_cleanup(&buf);
}

/*
 * The model as a label: the client's name when some provider serves it,
 * "other" when none does (names clients make up must not grow the label
 * set), "" when the request named none.
 */
static const char *
observe_model(struct proxy *px)
{
	size_t	i;

	if (px->model[0] == '\0')
		return ("");
	if (px->npicks > 0)
		return (px->model);
	for (i = 0; px->cfg != NULL && i < px->cfg->nproviders; i++) {
		if (router_upstream_model(&px->cfg->providers[i],
		    px->model) != NULL)
			return (px->model);
	}
	return ("other");
}

void
observe_begin(struct proxy *px)
{
	metrics_in_flight(metrics_path(px->log.path), 1);
	otel_begin(px);
}

/*
 * Requests that leave no log entry (an operator's provider test) are not
 * observed either: they are not traffic.
 */
static int
observed(const struct proxy *px)
{
	return (px->ops->log != NULL);
}

/* An upstream transfer is set up and about to start. */
void
observe_attempt(struct proxy *px)
{
	if (observed(px))
		otel_attempt(px);
}

/* What an attempt's outcome (as the routing trace says it) counts as. */
static int
observe_result(struct proxy *px, const char *outcome, int status)
{
	if (strcmp(outcome, "ok") == 0)
		return (METRICS_R_OK);
	if (strcmp(outcome, "client_error") == 0)
		return (METRICS_R_CLIENT);
	if (strcmp(outcome, "cancelled") == 0)
		return (METRICS_R_CANCELLED);
	if (status == 429)
		return (METRICS_R_RATE_LIMITED);
	if (status == 401 || status == 403)
		return (METRICS_R_AUTH);
	if (status >= 500)
		return (METRICS_R_SERVER);
	if (status >= 200)
		return (METRICS_R_STREAM);
	return (px->timed_out ? METRICS_R_TIMEOUT : METRICS_R_NETWORK);
}

/*
 * A candidate of the routing trace: for one that was tried, the attempt
 * is over (skipped candidates were never attempts).
 */
void
observe_attempt_end(struct proxy *px, const struct router_pick *pk,
    const char *action, const char *outcome, int status)
{
	if (!observed(px) || strcmp(action, "tried") != 0)
		return;

	metrics_attempt(pk->provider->name, observe_result(px, outcome,
	    status));
	otel_attempt_end(px, pk, outcome, status);
}

/* The request is over and e, its log entry, complete. */
void
observe_finish(struct proxy *px, const struct log_entry *e)
{
	struct kore_buf	 buf;
	const char	*provider;
	int64_t		 tokens[METRICS_COST + 1];
	int		 path;

	path = metrics_path(e->path);
	provider = px->cur != NULL ? px->cur->provider->name : "";
	metrics_in_flight(path, -1);
	tokens[0] = e->prompt_tokens;
	tokens[1] = e->completion_tokens;
	tokens[2] = e->cached_tokens;
	tokens[3] = e->cache_write_tokens;
	tokens[4] = e->reasoning_tokens;
	tokens[METRICS_COST] = e->cost;
	metrics_request(path, observe_model(px), provider, e->status,
	    e->outcome, e->latency_ms, px->first_byte ? e->ttfb_ms : -1,
	    tokens);
	otel_finish(px, e);

	if (!log_json)
		return;

	/* The request log's row, as the admin API shows it. */
	kore_buf_init(&buf, 1024);
	observe_time(&buf);
	json_kv_str(&buf, "level", "info", 0);
	json_kv_str(&buf, "msg", "request", 0);
	json_kv_str(&buf, "request_id", e->request_id, 0);
	json_kv_time(&buf, "created_at", e->created_at, 0);
	json_kv_str(&buf, "path", e->path, 0);
	json_kv_str(&buf, "model", e->model, 0);
	json_kv_str(&buf, "upstream_model", e->upstream_model, 0);
	json_kv_int(&buf, "client_key_id", e->client_key_id, 0);
	json_kv_int(&buf, "group_id", e->group_id, 0);
	json_kv_int(&buf, "provider_id", e->provider_id, 0);
	json_kv_str(&buf, "provider", provider, 0);
	json_kv_int(&buf, "upstream_key_id", e->upstream_key_id, 0);
	json_kv_str(&buf, "key_masked", e->key_masked, 0);
	json_kv_int(&buf, "status", e->status, 0);
	json_kv_bool(&buf, "stream", e->stream, 0);
	json_kv_int(&buf, "attempts", e->attempts, 0);
	json_kv_int(&buf, "latency_ms", e->latency_ms, 0);
	json_kv_int(&buf, "ttfb_ms", e->ttfb_ms, 0);
	json_kv_int(&buf, "prompt_tokens", e->prompt_tokens, 0);
	json_kv_int(&buf, "completion_tokens", e->completion_tokens, 0);
	json_kv_int(&buf, "cost", e->cost, 0);
	json_kv_str(&buf, "outcome", e->outcome, 0);
	json_kv_str(&buf, "error", e->error, 0);
	/* The trace is JSON the gateway wrote itself. */
	json_key(&buf, "trace", 0);
	kore_buf_appendf(&buf, "%s}", e->trace != NULL ? e->trace : "[]");
	observe_write(&buf);
	kore_buf_cleanup(&buf);
}
