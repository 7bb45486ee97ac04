/*
 * Relaying a streamed answer: complete SSE events go to the client the
 * moment they arrive, through the translator when the provider speaks
 * another API; the usage chunk the gateway asked for is read and, unless
 * the client asked too, held back; a client that does not read is cut
 * off rather than buffered for; a stream that breaks ends with an
 * explicit error event in the client's API.
 */

#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"

static void	relay_commit(struct proxy *);
static int	relay_hold(struct proxy *, const void *, size_t, size_t, int);
static int	relay_broke(struct proxy *, const struct sse_event *,
		    const char *);
static int	relay_translate(struct proxy *, const struct sse_event *);
static int	relay_event(struct proxy *, const struct sse_event *);

/*
 * The head of the streamed answer: from here on the client has bytes and
 * no other candidate may be tried.
 */
static void
relay_commit(struct proxy *px)
{
	http_response_header(px->req, "cache-control", "no-cache");
	http_response_header(px->req, "x-fusion-request-id",
	    px->log.request_id);
	glue_stream_begin(px->req, 200, px->raw ? px->up.content_type :
	    "text/event-stream; charset=utf-8");
	px->committed = 1;
	px->first_byte = kore_time_ms();
	px->log.status = 200;
}

/*
 * Events that carry no content yet (response.created, message_start, a
 * chat role chunk) are held back until content comes or the stream
 * ends, so that an error event right after them still finds nothing
 * sent and fails over. text is the content bytes among data[0..len),
 * done whether the stream has ended. Returns 1 when the bytes were held,
 * 0 when they (and what was held) are to go to the client now.
 */
static int
relay_hold(struct proxy *px, const void *data, size_t len, size_t text,
    int done)
{
	if (px->committed)
		return (0);
	if (px->hold == NULL)
		px->hold = kore_buf_alloc(1024);
	if (text == 0 && !done &&
	    px->hold->offset + len <= fusion_cfg.stream_buffer_max) {
		kore_buf_append(px->hold, data, len);
		return (1);
	}
	relay_commit(px);
	glue_stream_chunk(px->req, px->hold->data, px->hold->offset);
	/* Committed: nothing is held again in this stream. */
	kore_buf_free(px->hold);
	px->hold = NULL;
	return (0);
}

/*
 * End a stream that has begun with an explicit error event: never a
 * clean [DONE] after a failure.
 */
void
relay_error(struct proxy *px, const char *why)
{
	struct kore_buf	ev;
	char		id[64];

	(void)snprintf(id, sizeof(id), "resp_%s", px->log.request_id);
	kore_buf_init(&ev, 256);
	if (!px->error_relayed)
		xlate_stream_error(px->client_fmt, id, why, &ev);
	glue_stream_chunk(px->req, ev.data, ev.offset);
	kore_buf_cleanup(&ev);
	glue_stream_end(px->req);
}

/*
 * The upstream stream ended properly: a translated stream sends its
 * closing events. Returns KORE_RESULT_ERROR when the translation says
 * the upstream's stream was cut short after all.
 */
int
relay_close(struct proxy *px)
{
	if (!px->xlating)
		return (KORE_RESULT_OK);
	kore_buf_reset(px->xout);
	if (xlate_stream_finish(&px->xs, px->xout) == -1)
		return (KORE_RESULT_ERROR);
	proxy_usage(px, &px->xs.usage);
	glue_stream_chunk(px->req, px->xout->data, px->xout->offset);
	return (KORE_RESULT_OK);
}

/*
 * One upstream event through the translator: what it makes of it goes to
 * the client as one chunk. Returns KORE_RESULT_ERROR when the upstream
 * sent an error event or something its API does not allow (the attempt fails; before
 * the first byte to the client, the next candidate may still answer).
 */
static int
relay_translate(struct proxy *px, const struct sse_event *ev)
{
	if (!ev->has_data)
		return (KORE_RESULT_OK);
	if (px->xout == NULL)
		px->xout = kore_buf_alloc(1024);
	kore_buf_reset(px->xout);

	if (xlate_stream_event(&px->xs, ev->data, ev->data_len,
	    px->xout) == -1)
		return (relay_broke(px, ev, px->xs.err));
	px->done_seen = px->xs.done;
	proxy_usage(px, &px->xs.usage);

	if (px->xout->offset == 0 || relay_hold(px, px->xout->data,
	    px->xout->offset, xlate_text_bytes(px->xout->data,
	    px->xout->offset), px->done_seen))
		return (KORE_RESULT_OK);
	glue_stream_chunk(px->req, px->xout->data, px->xout->offset);
	return (KORE_RESULT_OK);
}

/*
 * The upstream sent an error event (or bytes its API does not allow):
 * the attempt fails. Before the first byte went to the client the error
 * event stands for the HTTP error it names, with its body as the
 * answer's, so that it fails over (or is passed on) like one; after it,
 * a client of the same API gets the upstream's own event. Returns
 * KORE_RESULT_ERROR.
 */
static int
relay_broke(struct proxy *px, const struct sse_event *ev, const char *why)
{
	(void)snprintf(px->abort_reason, sizeof(px->abort_reason),
	    "the upstream stream failed: %.200s", why);
	px->upstream_broke = 1;
	if (!px->committed) {
		kore_buf_reset(px->resp);
		px->event_status = xlate_event_status(px->up_fmt, ev->data,
		    ev->data_len, px->resp);
	} else if (px->up_fmt == px->client_fmt) {
		glue_stream_chunk(px->req, ev->raw, ev->raw_len);
		px->error_relayed = 1;
	}
	return (KORE_RESULT_ERROR);
}

/*
 * One event of an OpenAI stream to an OpenAI client, as it came: its
 * usage read, the usage chunk only the gateway asked for held back, an
 * error event failing the attempt.
 */
static int
relay_event(struct proxy *px, const struct sse_event *ev)
{
	struct json_member		 top[64];
	const struct json_member	*ch, *um;
	struct xlate_usage		 u;
	size_t				 end, text;
	int				 n;

	text = 0;
	if (ev->done) {
		px->done_seen = 1;
	} else if (ev->has_data) {
		n = json_scan_object(ev->data, ev->data_len, top, 64, &end);
		if (n > 0 && json_scan_find(ev->data, top, n, "error") != NULL)
			return (relay_broke(px, ev, "an error event"));
		/* An audio transcription's stream ends on its own event. */
		if (n > 0 && (um = json_scan_find(ev->data, top, n,
		    "type")) != NULL && um->value_len == 22 &&
		    memcmp(ev->data + um->value, "\"transcript.text.done\"",
		    22) == 0)
			px->done_seen = 1;
		/* Chunks before the last carry "usage": null. */
		if (n > 0 && (um = json_scan_find(ev->data, top, n,
		    "usage")) != NULL && um->type == JSON_OBJECT) {
			xlate_usage_init(&u);
			xlate_usage_member(XF_OPENAI, ev->data, um, &u);
			proxy_usage(px, &u);
			ch = json_scan_find(ev->data, top, n, "choices");
			/* The usage chunk we asked for ourselves. */
			if (!px->client_usage && ch != NULL &&
			    ch->type == JSON_ARRAY &&
			    json_scan_empty(ev->data, ch))
				return (KORE_RESULT_OK);
		}
		text = xlate_text_bytes(ev->data, ev->data_len);
		px->text_bytes += (int64_t)text;
	}

	if (!relay_hold(px, ev->raw, ev->raw_len, text, px->done_seen))
		glue_stream_chunk(px->req, ev->raw, ev->raw_len);
	return (KORE_RESULT_OK);
}

/*
 * Bytes of an answer that is neither JSON nor events (speech, images):
 * to the client as they come, under the same limit of what a client
 * that does not read may make us queue. Returns KORE_RESULT_ERROR when
 * the transfer must stop.
 */
int
relay_raw(struct proxy *px, const char *data, size_t len)
{
	ssize_t	queued;

	if (!px->committed)
		relay_commit(px);
	glue_stream_chunk(px->req, data, len);
	if ((queued = glue_stream_flush(px->req)) == -1) {
		(void)kore_strlcpy(px->abort_reason, "the client went away",
		    sizeof(px->abort_reason));
		return (KORE_RESULT_ERROR);
	}
	if ((size_t)queued > fusion_cfg.stream_buffer_max) {
		(void)kore_strlcpy(px->abort_reason, "the client does not "
		    "read the answer", sizeof(px->abort_reason));
		return (KORE_RESULT_ERROR);
	}
	return (KORE_RESULT_OK);
}

/*
 * Bytes of the upstream's stream: relay the complete events among them.
 * Returns KORE_RESULT_ERROR when the transfer must stop (the client is
 * gone or too slow, the upstream broke its stream).
 */
int
relay_feed(struct proxy *px, const char *data, size_t len)
{
	struct sse_event	ev;
	ssize_t			queued;

	if (sse_feed(&px->sse, data, len) == -1) {
		(void)kore_strlcpy(px->abort_reason, "an upstream event "
		    "exceeds the size limit", sizeof(px->abort_reason));
		return (KORE_RESULT_ERROR);
	}

	while (sse_next(&px->sse, &ev)) {
		if ((px->xlating ? relay_translate(px, &ev) :
		    relay_event(px, &ev)) != KORE_RESULT_OK)
			return (KORE_RESULT_ERROR);
	}
	/* Between events a stream holds no parser buffers. */
	sse_trim(&px->sse);

	if (!px->committed)
		return (KORE_RESULT_OK);

	if ((queued = glue_stream_flush(px->req)) == -1) {
		(void)kore_strlcpy(px->abort_reason, "the client went away",
		    sizeof(px->abort_reason));
		return (KORE_RESULT_ERROR);
	}

	/* A client that does not read must not make us buffer forever. */
	if ((size_t)queued > fusion_cfg.stream_buffer_max) {
		(void)kore_strlcpy(px->abort_reason, "the client does not "
		    "read the stream", sizeof(px->abort_reason));
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/*
 * The usage of the finished request into its log entry. A stream that
 * ended before its usage came (the client left, the upstream broke)
 * records an estimate from what was relayed, flagged: a token for four
 * bytes of text, and of the request for the prompt when no count came.
 */
void
relay_usage_log(struct proxy *px, struct log_entry *e)
{
	const struct xlate_usage	*u = &px->usage;
	int64_t				 text;

	e->prompt_tokens = u->prompt_tokens > 0 ? u->prompt_tokens : 0;
	e->completion_tokens = u->completion_tokens > 0 ?
	    u->completion_tokens : 0;
	e->cached_tokens = u->cached_tokens > 0 ? u->cached_tokens : 0;
	e->cache_write_tokens = u->cache_write_tokens > 0 ?
	    u->cache_write_tokens : 0;
	e->reasoning_tokens = u->reasoning_tokens > 0 ? u->reasoning_tokens :
	    0;
	text = px->text_bytes + (px->xlating ? px->xs.text_bytes : 0);
	if (!px->committed || px->done_seen)
		return;
	e->usage_estimated = 1;
	if ((text + 3) / 4 > e->completion_tokens)
		e->completion_tokens = (text + 3) / 4;
	if (u->prompt_tokens < 0)
		e->prompt_tokens = (int64_t)(px->body_len + 3) / 4;
}

