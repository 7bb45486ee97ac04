/*
 * libFuzzer harness of Kore's HTTP request parser as conf/kore-*.patch
 * leave it: .build/kore's own http.c (http_header_recv() and the body
 * readers it hands over to, http_start_recv() with pipelined bytes, the
 * answers), net.c (receive and send buffers) and buf.c, on a connection
 * whose reads come from the fuzz input, answered by a handler that
 * records what each request carried. Kore's error answers get their
 * bodies from the gateway's src/formats/kore_hooks.c.
 *
 * The input: two bytes seed the split points, one byte picks the limits
 * (http_header_max 1024, 1500, 2048 or 8192; http_body_max 0, 64, 1000
 * or 65536; body hashing; keep-alive), the rest is what a client sends on
 * one connection. It is fed twice: in one piece, and in pieces of 1 to
 * 128 bytes, each a read event of its own (partial reads, pipelined
 * requests, bodies and headers cut anywhere). Paths under /a are answered
 * a turn of the event loop later (as the gateway answers /v1 requests
 * once its upstream did), so that pipelined bytes wait behind a request
 * in flight; paths under /s are answered as streams, their head written
 * by the handler and ended with http_response_end(); /g takes GET only,
 * /404 has no route. Both runs must see the same requests (method, path,
 * headers, body) and send the same bytes back, in the same order, and
 * close alike. Every body is as long as it says, an answer after which
 * the connection may not stay open closes it, Kore never asks for a read
 * of 0 bytes (which it takes for the client's close), and nothing is left
 * once the connection goes. A broken promise aborts, which libFuzzer
 * reports as a crash.
 *
 * What this cannot reach, and why:
 * - the socket: reads and writes go through the connection's read and
 *   write functions, as TLS does, so net_read()/net_write() and the rule
 *   of kore-09-net-short-read.patch (which keys on c->read == net_read)
 *   are not run; a read here returns what has arrived, as recv() would;
 * - the event loop and connection.c (platform events, TLS, listeners):
 *   conn_event() and conn_turn() below do what kore_connection_handle()
 *   and the worker's loop do for one connection;
 * - timeouts (408): time stands still; bodies offloaded to disk
 *   (http_body_disk_offload stays 0); auth blocks and validators;
 * - utils.c: its string helpers come as copied in tests/unit/stubs.c
 *   (utils.c pulls in OpenSSL and the worker; its kore_log writes syslog).
 * Built without Kore's CURL and TASKS features, which add only the
 * cleanup of a request's curl handles and tasks. Memory and pools come
 * from malloc, so that AddressSanitizer sees every object's bounds:
 * Kore's own pools would hide an overflow inside a region.
 */

#include <sys/param.h>
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "fuzz.h"

/* Longest piece of a split run. */
#define PIECE_MAX	128

/* What one run saw: the requests' records and the bytes sent back. */
struct run {
	const uint8_t	*in;		/* the client's bytes */
	size_t		 in_len;
	size_t		 arrived;	/* bytes the client has sent so far */
	size_t		 consumed;	/* bytes Kore has read */
	uint64_t	 turn;		/* event-loop turns so far */
	int		 closed;	/* Kore disconnected */
	int		 sending;	/* the log's last record is output */
	char		*log;
	size_t		 log_len;
	size_t		 log_cap;
	size_t		 requests;	/* handler calls that answered */
};

static struct run		*cur;
static struct kore_server	 server;
static struct listener		 listener;
static struct kore_domain	 domain;
static struct kore_module_handle handler_any, handler_get;

extern struct kore_pool		 nb_pool;

static void	stream(struct http_request *, const char *, int);

u_int32_t			 worker_max_connections = 64;
const char			*kore_version = "fuzz";

static void
log_append(struct run *r, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (r->log_len + n > r->log_cap) {
		r->log_cap = (r->log_len + n) * 2 + 256;
		CHECK((r->log = realloc(r->log, r->log_cap)) != NULL);
	}
	memcpy(r->log + r->log_len, p, n);
	r->log_len += n;
}

static void
log_str(struct run *r, const char *tag, const char *s)
{
	log_append(r, tag, strlen(tag));
	if (s != NULL)
		log_append(r, s, strlen(s) + 1);
	else
		log_append(r, "(null)", 7);
}

/* The client's bytes that have arrived and Kore has not read yet. */
static int
fake_read(struct connection *c, size_t *bytes)
{
	size_t	want, n;

	want = c->rnb->b_len - c->rnb->s_off;
	/* recv() of 0 bytes returns 0, which Kore takes for a close. */
	CHECK(want > 0);

	n = MIN(want, cur->arrived - cur->consumed);
	if (n == 0) {
		c->evt.flags &= ~KORE_EVENT_READ;
		*bytes = 0;
		return (KORE_RESULT_OK);
	}
	memcpy(c->rnb->buf + c->rnb->s_off, cur->in + cur->consumed, n);
	cur->consumed += n;
	*bytes = n;
	return (KORE_RESULT_OK);
}

/* Everything Kore sends is written at once, into the run's log. */
static int
fake_write(struct connection *c, size_t len, size_t *written)
{
	/* How the send queue cuts the bytes into writes does not count. */
	if (!cur->sending)
		log_append(cur, "\0OUT", 4);
	cur->sending = 1;
	log_append(cur, c->snb->buf + c->snb->s_off, len);
	*written = len;
	return (KORE_RESULT_OK);
}

/*
 * The route's handler: records the request and answers it, at once or,
 * for paths under /a, on a later turn of the event loop (as the gateway
 * answers a request that waits for its upstream); paths under /s as a
 * stream.
 */
static int
handler(struct http_request *req)
{
	struct http_header	*hdr;
	char			 line[64];
	const char		*clp;
	size_t			 len;
	int			 err, keep;

	/* fsm_state: 1 + the turn it came in (mod 255). */
	if (req->path[0] == '/' && req->path[1] == 'a') {
		if (req->fsm_state == 0) {
			req->fsm_state = 1 + cur->turn % 255;
			return (KORE_RESULT_RETRY);
		}
		if (req->fsm_state == 1 + cur->turn % 255)
			return (KORE_RESULT_RETRY);
	}

	cur->sending = 0;
	log_str(cur, "\nREQ ", http_method_text(req->method));
	log_str(cur, " ", req->path);
	log_str(cur, "?", req->query_string);
	log_str(cur, "@", req->host);
	log_append(cur, req->flags & HTTP_VERSION_1_0 ? "1.0" : "1.1", 3);
	TAILQ_FOREACH(hdr, &req->req_headers, list) {
		log_str(cur, "\nH", hdr->header);
		log_str(cur, ":", hdr->value);
	}

	len = 0;
	if (req->http_body != NULL) {
		len = req->content_length;
		CHECK(req->http_body_length == len);
		log_append(cur, "\nB", 2);
		log_append(cur, req->http_body->data, len);
	}
	if (http_request_header(req, "content-length", &clp) &&
	    req->http_body != NULL) {
		/* A body is as long as it says. */
		CHECK((size_t)kore_strtonum(clp, 10, 0, LONG_MAX, &err) == len);
		CHECK(err == KORE_RESULT_OK);
	}

	cur->requests++;
	(void)snprintf(line, sizeof(line), "%zu %zu", cur->requests, len);
	keep = http_request_keepalive(req);
	if (req->path[0] == '/' && req->path[1] == 's')
		stream(req, line, keep);
	else
		http_response(req, 200, line, strlen(line));

	/*
	 * An answer after which the connection may not carry another
	 * request closes it (the next request read at once may close it
	 * too, so the other way round holds only for its head).
	 */
	CHECK(keep || (req->owner->flags & CONN_CLOSE_EMPTY));
	return (KORE_RESULT_OK);
}

/*
 * An answer whose head the handler writes itself, as the gateway writes
 * a stream's: chunked to HTTP/1.1, unchunked and closed after to HTTP/1.0,
 * ended with http_response_end().
 */
static void
stream(struct http_request *req, const char *data, int keep)
{
	char	head[128];
	int	old;

	old = (req->flags & HTTP_VERSION_1_0) != 0;
	(void)snprintf(head, sizeof(head), "HTTP/1.%d 200 OK\r\n%s%s\r\n",
	    old ? 0 : 1, old ? "" : "transfer-encoding: chunked\r\n",
	    keep && !old ? "" : "connection: close\r\n");
	net_send_queue(req->owner, head, strlen(head));
	if (old) {
		net_send_queue(req->owner, data, strlen(data));
	} else {
		(void)snprintf(head, sizeof(head), "%zx\r\n%s\r\n0\r\n\r\n",
		    strlen(data), data);
		net_send_queue(req->owner, head, strlen(head));
	}
	req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
	http_response_end(req, old);
}

/* What Kore's connection event does with a connection's read and write. */
static void
conn_event(struct connection *c)
{
	if (cur->closed)
		return;
	c->evt.flags |= KORE_EVENT_READ | KORE_EVENT_WRITE;
	if (!net_recv_flush(c) || !net_send_flush(c))
		kore_connection_disconnect(c);
}

/*
 * One turn of the worker's loop after an event: the complete requests
 * are handled (an answer starts reading the next request at once), until
 * none is left that can go on this turn.
 */
static void
conn_turn(void)
{
	size_t	before;
	int	rounds;

	cur->turn++;
	for (rounds = 0; rounds < 1000; rounds++) {
		before = cur->requests;
		http_process();
		if (cur->requests == before)
			return;
	}
	CHECK(!"a turn never ends");
}

/* kore_connection_remove(), as far as the HTTP side goes. */
static void
conn_remove(struct connection *c)
{
	struct http_request	*req, *rnext;
	struct netbuf		*nb, *next;

	kore_free(c->http_pipe);
	for (req = TAILQ_FIRST(&c->http_requests); req != NULL; req = rnext) {
		rnext = TAILQ_NEXT(req, olist);
		TAILQ_REMOVE(&c->http_requests, req, olist);
		req->owner = NULL;
		req->flags |= HTTP_REQUEST_DELETE;
		http_request_wakeup(req);
	}
	for (nb = TAILQ_FIRST(&c->send_queue); nb != NULL; nb = next) {
		next = TAILQ_NEXT(nb, list);
		nb->flags &= ~NETBUF_MUST_RESEND;
		net_remove_netbuf(c, nb);
	}
	if (c->rnb != NULL) {
		kore_free(c->rnb->buf);
		kore_pool_put(&nb_pool, c->rnb);
	}
	kore_free(c);

	/* Requests of a gone connection are freed by the next pass. */
	http_process();
	CHECK(http_request_count == 0);
}

/* Feed r->in to a new connection, split by the seed unless it is 0. */
static void
run_feed(struct run *r, uint32_t seed)
{
	struct connection	*c;
	size_t			 piece;

	cur = r;
	c = kore_calloc(1, sizeof(*c));
	c->owner = &listener;
	c->family = AF_INET;
	c->fd = -1;
	c->read = fake_read;
	c->write = fake_write;
	c->proto = CONN_PROTO_HTTP;
	c->state = CONN_STATE_ESTABLISHED;
	c->http_pipe = NULL;
	c->http_timeout = http_header_timeout * 1000;
	TAILQ_INIT(&c->send_queue);
	TAILQ_INIT(&c->http_requests);
	r->log = NULL;
	r->log_len = r->log_cap = 0;
	net_recv_queue(c, http_header_start_len(), NETBUF_CALL_CB_ALWAYS,
	    http_header_recv);

	while (r->arrived < r->in_len && !r->closed) {
		if (seed == 0) {
			piece = r->in_len;
		} else {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			piece = 1 + seed % PIECE_MAX;
		}
		r->arrived += MIN(piece, r->in_len - r->arrived);
		conn_event(c);
		conn_turn();
	}
	/* Requests still in flight are answered on the next turns. */
	while (!r->closed && !TAILQ_EMPTY(&c->http_requests)) {
		conn_event(c);
		conn_turn();
		if (r->turn > r->in_len + 4)
			break;
	}

	log_str(r, "\nEND ", r->closed ? "closed" : "open");
	conn_remove(c);
	cur = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const u_int16_t	header_max[] = { 1024, 1500, 2048, 8192 };
	static const size_t	body_max[] = { 0, 64, 1000, 65536 };
	struct run		whole, split;
	uint32_t		seed;

	if (size < 3)
		return (0);

	seed = (data[0] << 8 | data[1]) + 1;
	http_header_max = header_max[data[2] & 3];
	http_body_max = body_max[(data[2] >> 2) & 3];
	http_body_hash = (data[2] >> 4) & 1;
	http_keepalive_time = (data[2] >> 5) & 1 ? 0 : 60;

	memset(&whole, 0, sizeof(whole));
	whole.in = data + 3;
	whole.in_len = size - 3;
	split = whole;

	run_feed(&whole, 0);
	run_feed(&split, seed);

	if (whole.log_len != split.log_len ||
	    memcmp(whole.log, split.log, whole.log_len) != 0) {
		fprintf(stderr, "in one piece:\n");
		fwrite(whole.log, 1, whole.log_len, stderr);
		fprintf(stderr, "\nin pieces:\n");
		fwrite(split.log, 1, split.log_len, stderr);
		fprintf(stderr, "\n");
		CHECK(!"the same bytes in pieces are read otherwise");
	}

	free(whole.log);
	free(split.log);
	return (0);
}

int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;

	server.tls = 0;
	listener.server = &server;
	TAILQ_INIT(&domain.handlers);
	TAILQ_INIT(&domain.redirects);
	domain.accesslog = 0;
	handler_any.dom = &domain;
	handler_any.methods = HTTP_METHOD_ALL;
	handler_get.dom = &domain;
	handler_get.methods = HTTP_METHOD_GET;

	net_init();
	http_init();
	return (0);
}

/*
 * Kore's side of the worker, as the parser sees it: one domain, every
 * path but /404... routed (/g... for GET only), the handler above.
 */
struct kore_domain *
kore_domain_lookup(struct kore_server *srv, const char *host)
{
	(void)srv;
	(void)host;
	return (&domain);
}

struct kore_module_handle *
kore_module_handler_find(struct http_request *req, struct kore_domain *dom)
{
	(void)dom;
	if (!strncmp(req->path, "/404", 4))
		return (NULL);
	if (req->path[0] == '/' && req->path[1] == 'g')
		return (&handler_get);
	return (&handler_any);
}

int
kore_runtime_http_request(struct kore_runtime_call *rcall,
    struct http_request *req)
{
	(void)rcall;
	return (handler(req));
}

void
kore_connection_disconnect(struct connection *c)
{
	c->state = CONN_STATE_DISCONNECTING;
	cur->closed = 1;
}

/* The gateway's hooks (src/formats/kore_hooks.c), found by name as in a worker. */
void *
kore_module_getsym(const char *symbol, struct kore_runtime **rt)
{
	if (rt != NULL)
		*rt = NULL;
	if (!strcmp(symbol, "kore_http_error_body"))
		return ((void *)kore_http_error_body);
	return (NULL);
}

/* Time stands still: no request ever takes long. */
u_int64_t
kore_time_ms(void)
{
	return (1);
}

void
kore_accesslog(struct http_request *req)
{
	(void)req;
}

/*
 * Pools from malloc, an element zeroed as a fresh one of Kore's (mmap'd)
 * pools is: http_request_new() relies on req->headers being NULL in an
 * element never used or given back by http_request_free().
 */
void
kore_pool_init(struct kore_pool *pool, const char *name, size_t len,
    size_t elm)
{
	(void)name;
	(void)elm;
	memset(pool, 0, sizeof(*pool));
	pool->elen = len;
}

void *
kore_pool_get(struct kore_pool *pool)
{
	return (kore_calloc(1, pool->elen));
}

void
kore_pool_put(struct kore_pool *pool, void *ptr)
{
	(void)pool;
	kore_free(ptr);
}

void
kore_pool_cleanup(struct kore_pool *pool)
{
	(void)pool;
}

/* What the parser never reaches (no auth, files, validators, dates). */
int
kore_auth_run(struct http_request *req, struct kore_auth *auth)
{
	(void)req;
	(void)auth;
	abort();
}

int
kore_validator_check(struct http_request *req, struct kore_validator *val,
    const void *data)
{
	(void)req;
	(void)val;
	(void)data;
	abort();
}

void
kore_fileref_release(struct kore_fileref *ref)
{
	(void)ref;
	abort();
}

int
kore_platform_sendfile(struct connection *c, struct netbuf *nb)
{
	(void)c;
	(void)nb;
	abort();
}

time_t
kore_date_to_time(const char *date)
{
	(void)date;
	abort();
}

void
kore_strip_chars(char *in, const char strip, char **out)
{
	(void)in;
	(void)strip;
	(void)out;
	abort();
}
