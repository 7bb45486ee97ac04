/*
 * Relaying a streamed answer: complete SSE events go to the client as
 * HTTP/1.1 chunks the moment they arrive; the usage chunk the gateway
 * asked for is read and, unless the client asked too, held back; a
 * stream that breaks ends with an explicit error event.
 */

#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"

static void	proxy_commit(struct proxy *);
static void	proxy_chunk(struct proxy *, const void *, size_t);
static void	proxy_stream_usage(struct proxy *);
static int	proxy_translate(struct proxy *, const struct sse_event *);

/*
 * Send the head of a streamed answer: from here on the client has bytes
 * and no other candidate may be tried.
 */
static void
proxy_commit(struct proxy *px)
{
	struct kore_buf		head;

	kore_buf_init(&head, 256);
	kore_buf_appendf(&head, "HTTP/1.1 200 OK\r\n"
	    "server: fusion\r\n"
	    "content-type: text/event-stream; charset=utf-8\r\n"
	    "cache-control: no-cache\r\n"
	    "transfer-encoding: chunked\r\n"
	    "connection: keep-alive\r\n"
	    "x-fusion-request-id: %s\r\n\r\n", px->log.request_id);
	net_send_queue(px->req->owner, head.data, head.offset);
	kore_buf_cleanup(&head);

	px->committed = 1;
	px->first_byte = kore_time_ms();
	px->log.status = 200;
	px->req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
}

/*
 * After the last chunk: read the connection's next request, as
 * http_response() does for answers it writes itself.
 */
void
proxy_keepalive(struct proxy *px)
{
	struct connection	*c = px->req->owner;

	if (!(c->flags & CONN_CLOSE_EMPTY) && !(c->flags & CONN_IS_BUSY))
		http_start_recv(c);
}

/*
 * End a stream that has begun with an explicit error event and the last
 * chunk: never a clean [DONE] after a failure.
 */
void
proxy_stream_error(struct proxy *px, const char *why)
{
	struct kore_buf	ev;

	kore_buf_init(&ev, 256);
	if (!px->error_relayed)
		xlate_stream_error(px->client_fmt, why, &ev);
	proxy_chunk(px, ev.data, ev.offset);
	net_send_queue(px->req->owner, "0\r\n\r\n", 5);
	kore_buf_cleanup(&ev);
	proxy_keepalive(px);
}

/* One HTTP/1.1 chunk to the client (queued, not yet flushed). */
static void
proxy_chunk(struct proxy *px, const void *data, size_t len)
{
	char	size[24];

	if (len == 0)
		return;
	(void)snprintf(size, sizeof(size), "%zx\r\n", len);
	net_send_queue(px->req->owner, size, strlen(size));
	net_send_queue(px->req->owner, data, len);
	net_send_queue(px->req->owner, "\r\n", 2);
}

/*
 * The upstream stream ended properly: a translated stream sends its
 * closing events. Returns 0 when the translation says the upstream's
 * stream was cut short after all.
 */
int
proxy_stream_close(struct proxy *px)
{
	if (!px->xlating)
		return (1);
	kore_buf_reset(px->xout);
	if (!xlate_stream_finish(&px->xs, px->xout))
		return (0);
	proxy_stream_usage(px);
	proxy_chunk(px, px->xout->data, px->xout->offset);
	return (1);
}

/* Token counts a translated stream has seen so far. */
static void
proxy_stream_usage(struct proxy *px)
{
	if (px->xs.usage.prompt_tokens >= 0)
		px->prompt_tokens = px->xs.usage.prompt_tokens;
	if (px->xs.usage.completion_tokens >= 0)
		px->completion_tokens = px->xs.usage.completion_tokens;
}

void
proxy_usage(struct proxy *px, const void *data, size_t len)
{
	struct json_member		 top[64], u[16];
	const struct json_member	*m, *t;
	size_t				 end, uend;
	int				 n, nu;
	long long			 v;

	if ((n = json_scan_object(data, len, top, 64, &end)) <= 0)
		return;
	if ((m = json_scan_find(data, top, n, "usage")) == NULL ||
	    m->type != JSON_OBJECT)
		return;
	nu = json_scan_object((const u_int8_t *)data + m->value, m->value_len,
	    u, 16, &uend);
	if (nu <= 0)
		return;
	if ((t = json_scan_find((const u_int8_t *)data + m->value, u, nu,
	    "prompt_tokens")) != NULL &&
	    (v = json_scan_uint((const u_int8_t *)data + m->value, t)) >= 0)
		px->prompt_tokens = v;
	if ((t = json_scan_find((const u_int8_t *)data + m->value, u, nu,
	    "completion_tokens")) != NULL &&
	    (v = json_scan_uint((const u_int8_t *)data + m->value, t)) >= 0)
		px->completion_tokens = v;
}

/*
 * One upstream event through the translator: what it makes of it goes to
 * the client as one chunk. Returns 0 when the upstream sent an error
 * event or something its API does not allow (the attempt fails; before
 * the first byte to the client, the next candidate may still answer).
 */
static int
proxy_translate(struct proxy *px, const struct sse_event *ev)
{
	if (!ev->has_data)
		return (1);
	if (px->xout == NULL)
		px->xout = kore_buf_alloc(1024);
	kore_buf_reset(px->xout);

	if (xlate_stream_event(&px->xs, ev->data, ev->data_len,
	    px->xout) == -1) {
		(void)snprintf(px->abort_reason, sizeof(px->abort_reason),
		    "the upstream stream failed: %.200s", px->xs.err);
		px->upstream_broke = 1;
		/* A client of the same API gets the upstream's own event. */
		if (px->committed && px->up_fmt == px->client_fmt) {
			proxy_chunk(px, ev->raw, ev->raw_len);
			px->error_relayed = 1;
		}
		return (0);
	}
	px->done_seen = px->xs.done;
	proxy_stream_usage(px);

	if (px->xout->offset == 0)
		return (1);
	if (!px->committed)
		proxy_commit(px);
	proxy_chunk(px, px->xout->data, px->xout->offset);
	return (1);
}

/*
 * Relay complete events to the client. Returns 0 when the client is gone
 * or too slow (the transfer must stop), 1 otherwise.
 */
int
proxy_relay(struct proxy *px, const char *data, size_t len)
{
	struct sse_event		 ev;
	struct json_member		 top[64];
	const struct json_member	*ch, *um;
	struct netbuf			*nb;
	struct connection		*c;
	size_t				 end, queued;
	int				 n, drop;

	if (sse_feed(&px->sse, data, len) == -1) {
		(void)kore_strlcpy(px->abort_reason, "an upstream event "
		    "exceeds the size limit", sizeof(px->abort_reason));
		return (0);
	}

	while (sse_next(&px->sse, &ev)) {
		if (px->xlating) {
			if (!proxy_translate(px, &ev))
				return (0);
			continue;
		}
		drop = 0;
		if (ev.done) {
			px->done_seen = 1;
		} else if (ev.has_data) {
			n = json_scan_object(ev.data, ev.data_len, top, 64,
			    &end);
			/* Chunks before the last carry "usage": null. */
			if (n > 0 && (um = json_scan_find(ev.data, top, n,
			    "usage")) != NULL && um->type == JSON_OBJECT) {
				proxy_usage(px, ev.data, ev.data_len);
				ch = json_scan_find(ev.data, top, n, "choices");
				/* The usage chunk we asked for ourselves. */
				if (!px->client_usage && ch != NULL &&
				    ch->type == JSON_ARRAY &&
				    json_scan_empty(ev.data, ch))
					drop = 1;
			}
		}

		if (drop)
			continue;
		if (!px->committed)
			proxy_commit(px);

		proxy_chunk(px, ev.raw, ev.raw_len);
	}

	if (!px->committed)
		return (1);

	c = px->req->owner;
	if (net_send_flush(c) == KORE_RESULT_ERROR) {
		(void)kore_strlcpy(px->abort_reason, "the client went away",
		    sizeof(px->abort_reason));
		return (0);
	}

	/* A client that does not read must not make us buffer forever. */
	queued = 0;
	TAILQ_FOREACH(nb, &c->send_queue, list)
		queued += nb->b_len - nb->s_off;
	if (queued > fusion_cfg.stream_buffer_max) {
		(void)kore_strlcpy(px->abort_reason, "the client does not "
		    "read the stream", sizeof(px->abort_reason));
		return (0);
	}

	return (1);
}
