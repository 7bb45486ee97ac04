/*
 * Streams between formats: the dispatch of each upstream event to the
 * translator of its direction, through the pivot in two stages when
 * neither side speaks OpenAI chat (the upstream's events become chat
 * chunks, which are split again and become the client's events); the
 * same format on both sides, watched for its end and its usage; how
 * each protocol ends (chat: [DONE]; Responses: response.completed or
 * response.incomplete; Anthropic: message_stop; Gemini: a candidate
 * with a finishReason) and how it says it failed; the error event a
 * broken stream ends with, in the client's format.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "formats/formats.h"

typedef int	(*stream_fn)(struct xlate_stream *, const void *, size_t,
		    struct kore_buf *);
typedef void	(*finish_fn)(struct xlate_stream *, struct kore_buf *);

static int	passthrough_event(struct xlate_stream *, const void *, size_t,
		    struct kore_buf *);
static int	chain_event(struct xlate_stream *, const void *, size_t,
		    struct kore_buf *);
static void	chain_sync(struct xlate_stream *);

/* Upstream events into pivot chunks, by the upstream's format. */
static const stream_fn	stream_to_pivot[XF_COUNT] = {
	[XF_ANTHROPIC] = anthropic_stream_to_openai,
	[XF_GEMINI] = gemini_stream_to_openai,
};

/* Pivot chunks into the client's events, by the client's format. */
static const stream_fn	stream_from_pivot[XF_COUNT] = {
	[XF_ANTHROPIC] = anthropic_stream_from_openai,
	[XF_GEMINI] = gemini_stream_from_openai,
	[XF_RESPONSES] = responses_stream_from_openai,
};

/* The closing events of a client's stream whose upstream gave no end. */
static const finish_fn	finish_from_pivot[XF_COUNT] = {
	[XF_ANTHROPIC] = anthropic_stream_finish_from_openai,
	[XF_GEMINI] = gemini_stream_finish_from_openai,
	[XF_RESPONSES] = responses_stream_finish_from_openai,
};

void
xlate_stream_init(struct xlate_stream *st, int from, int to, const char *model,
    const char *id, int64_t created)
{
	memset(st, 0, sizeof(*st));
	st->from = from;
	st->to = to;
	(void)snprintf(st->model, sizeof(st->model), "%s",
	    model != NULL ? model : "");
	(void)snprintf(st->id, sizeof(st->id), "%s", id != NULL ? id : "");
	st->created = created != 0 ? created : (int64_t)time(NULL);
	xlate_usage_init(&st->usage);
	st->block = -1;
	st->tool_index = -1;

	if (from != to && from != XF_OPENAI && to != XF_OPENAI) {
		st->next = kore_malloc(sizeof(*st->next));
		xlate_stream_init(st->next, XF_OPENAI, to, model, id,
		    st->created);
		sse_init(&st->mid);
		st->midbuf = kore_buf_alloc(1024);
	}
	if (st->next == NULL && (to == XF_RESPONSES || to == XF_GEMINI)) {
		st->o = kore_calloc(1, sizeof(*st->o));
		st->o->text = kore_buf_alloc(256);
		st->o->items = kore_buf_alloc(256);
	}
}

void
xlate_stream_free(struct xlate_stream *st)
{
	if (st->next != NULL) {
		xlate_stream_free(st->next);
		kore_free(st->next);
		st->next = NULL;
		sse_free(&st->mid);
	}
	if (st->midbuf != NULL) {
		kore_buf_free(st->midbuf);
		st->midbuf = NULL;
	}
	if (st->o != NULL) {
		kore_buf_free(st->o->text);
		kore_buf_free(st->o->items);
		kore_free(st->o);
		st->o = NULL;
	}
}

int
xlate_stream_event(struct xlate_stream *st, const void *data, size_t len,
    struct kore_buf *out)
{
	size_t	start;
	int	rc;

	start = out->offset;
	if (st->from == st->to)
		rc = passthrough_event(st, data, len, out);
	else if (st->next != NULL)
		rc = chain_event(st, data, len, out);
	else if (st->to == XF_OPENAI && stream_to_pivot[st->from] != NULL)
		rc = stream_to_pivot[st->from](st, data, len, out);
	else if (st->from == XF_OPENAI && stream_from_pivot[st->to] != NULL)
		rc = stream_from_pivot[st->to](st, data, len, out);
	else
		rc = xlate_stream_fail(st, "cannot translate %s streams to %s",
		    xlate_format_name(st->from), xlate_format_name(st->to));
	if (rc == 0)
		st->text_bytes += (int64_t)xlate_text_bytes(out->data + start,
		    out->offset - start);
	return (rc);
}

int
xlate_stream_finish(struct xlate_stream *st, struct kore_buf *out)
{
	if (st->next != NULL) {
		/* The client's stage closes once the upstream ended. */
		if (st->done && !st->closed && !st->next->done)
			(void)stream_from_pivot[st->to](st->next, "[DONE]", 6,
			    out);
		if (!st->next->done)
			finish_from_pivot[st->to](st->next, out);
		st->closed = 1;
		chain_sync(st);
		st->done = st->next->done;
	} else if (st->from == XF_OPENAI && st->to != XF_OPENAI &&
	    finish_from_pivot[st->to] != NULL) {
		finish_from_pivot[st->to](st, out);
	} else if (st->from == XF_GEMINI && st->to == XF_OPENAI &&
	    st->done && !st->closed) {
		/* Gemini ends on its last answer: [DONE] is ours to send. */
		kore_buf_appendf(out, "data: [DONE]\n\n");
		st->closed = 1;
	}
	return (st->done ? 0 : -1);
}

/*
 * The event that ends a broken stream, in the client's format: what
 * Anthropic and Gemini send themselves when a stream breaks, an error
 * event and response.failed for the Responses API, an error chunk for
 * chat.
 */
void
xlate_stream_error(int to, const char *id, const char *message,
    struct kore_buf *out)
{
	if (message == NULL)
		message = "";

	switch (to) {
	case XF_ANTHROPIC:
		kore_buf_appendf(out, "event: error\ndata: {\"type\":\"error\","
		    "\"error\":{\"type\":\"api_error\",\"message\":");
		json_str(out, message);
		kore_buf_appendf(out, "}}\n\n");
		break;
	case XF_GEMINI:
		kore_buf_appendf(out, "data: {\"error\":{\"code\":500,"
		    "\"message\":");
		json_str(out, message);
		kore_buf_appendf(out, ",\"status\":\"INTERNAL\"}}\n\n");
		break;
	case XF_RESPONSES:
		kore_buf_appendf(out, "event: error\ndata: {\"type\":\"error\","
		    "\"code\":\"stream_interrupted\",\"message\":");
		json_str(out, message);
		kore_buf_appendf(out, ",\"param\":null}\n\nevent: "
		    "response.failed\ndata: {\"type\":\"response.failed\","
		    "\"response\":{\"id\":");
		json_str(out, id != NULL ? id : "");
		kore_buf_appendf(out, ",\"object\":\"response\",\"status\":"
		    "\"failed\",\"error\":{\"code\":\"server_error\","
		    "\"message\":");
		json_str(out, message);
		kore_buf_appendf(out, "},\"output\":[]}}\n\n");
		break;
	default:
		kore_buf_appendf(out, "data: {\"error\":{\"message\":");
		json_str(out, message);
		kore_buf_appendf(out, ",\"type\":\"upstream_error\","
		    "\"code\":\"stream_interrupted\"}}\n\n");
		break;
	}
}

/* The status an error's code, type or Gemini status name stands for. */
static int
error_code_status(const char *c)
{
	static const struct {
		const char	*code;
		int		 status;
	} map[] = {
		{ "insufficient_quota", 429 }, { "rate_limit_exceeded", 429 },
		{ "rate_limit_error", 429 }, { "RESOURCE_EXHAUSTED", 429 },
		{ "invalid_api_key", 401 }, { "authentication_error", 401 },
		{ "UNAUTHENTICATED", 401 }, { "permission_error", 403 },
		{ "PERMISSION_DENIED", 403 }, { "invalid_request_error", 400 },
		{ "invalid_prompt", 400 }, { "INVALID_ARGUMENT", 400 },
		{ "context_length_exceeded", 400 }, { "overloaded_error", 503 },
		{ "UNAVAILABLE", 503 }, { "server_is_overloaded", 503 },
		{ "timeout_error", 504 }, { "DEADLINE_EXCEEDED", 504 },
		{ NULL, 0 }
	};
	int	i;

	for (i = 0; c != NULL && map[i].code != NULL; i++) {
		if (strcmp(c, map[i].code) == 0)
			return (map[i].status);
	}
	return (0);
}

int
xlate_event_status(int fmt, const void *data, size_t len, struct kore_buf *body)
{
	struct kore_json	 json;
	struct kore_json_item	*root, *e, *t, *c, *r;
	const char		*msg;
	int64_t			 n;
	int			 status;

	status = 0;
	if (json_parse(&json, data, len) == -1)
		goto done;
	root = json.root;
	e = NULL;
	if ((e = json_get(root, "error")) != NULL && json_is_type(root,
	    "response.failed") == 0 && !json_is_str(e)) {
		/* {"error":{...}}: chat, Anthropic, Gemini. */
	} else if (json_is_type(root, "error")) {
		e = json_is(json_get(root, "error"), KORE_JSON_TYPE_OBJECT) ?
		    json_get(root, "error") : root;
	} else if (json_is_type(root, "response.failed")) {
		r = json_get(root, "response");
		e = json_get(r, "error");
		if (e == NULL)
			e = r;
	} else {
		goto done;
	}
	if (!json_is(e, KORE_JSON_TYPE_OBJECT))
		goto done;

	c = json_get(e, "code");
	t = json_get(e, "type");
	if (json_int(c, &n) == 0 && n >= 400 && n <= 599)
		status = (int)n;
	if (status == 0 && json_is_str(c))
		status = error_code_status(c->data.string);
	if (status == 0 && json_is_str(t))
		status = error_code_status(t->data.string);
	if (status == 0 && json_is_str(json_get(e, "status")))
		status = error_code_status(json_get(e,
		    "status")->data.string);
	if (status == 0)
		status = 500;

	if (body != NULL) {
		msg = json_is_str(json_get(e, "message")) ?
		    json_get(e, "message")->data.string : "the upstream's "
		    "stream reported an error";
		xlate_error_body(fmt == XF_RESPONSES ? XF_OPENAI : fmt, status,
		    json_is_str(t) ? t->data.string : NULL, json_is_str(c) ?
		    c->data.string : NULL, msg, body);
	}
done:
	kore_json_cleanup(&json);
	return (status);
}

/*
 * Bytes of text a client's event carries: the string values of
 * "content", "text", "delta", "partial_json", "arguments" and
 * "thinking" members, escapes counted once. A cheap scan, for the
 * estimate of a stream that was cut before its usage came.
 */
size_t
xlate_text_bytes(const void *data, size_t len)
{
	static const char	*keys[] = { "\"content\":\"", "\"text\":\"",
				    "\"delta\":\"", "\"partial_json\":\"",
				    "\"arguments\":\"", "\"thinking\":\"",
				    NULL };
	const char		*p, *end, *hit, *q;
	size_t			 n, klen;
	int			 i;

	n = 0;
	end = (const char *)data + len;
	for (i = 0; keys[i] != NULL; i++) {
		klen = strlen(keys[i]);
		p = data;
		while (p < end && (hit = memmem(p, (size_t)(end - p), keys[i],
		    klen)) != NULL) {
			for (q = hit + klen; q < end && *q != '"'; q++) {
				if (*q == '\\' && q + 1 < end)
					q++;
				n++;
			}
			p = q;
		}
	}
	return (n);
}

/*
 * The same format on both sides: the events go out unchanged (framed for
 * the client's format), but the stream is watched so that its end, its
 * error events and its usage are known as for a translated one.
 */
static int
passthrough_event(struct xlate_stream *st, const void *data, size_t len,
    struct kore_buf *out)
{
	struct kore_json	 json;
	struct kore_json_item	*t, *u, *m, *c, *fr;
	char			 type[64];
	int			 rc;

	if (st->from == XF_OPENAI && len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		kore_buf_appendf(out, "data: [DONE]\n\n");
		st->done = 1;
		return (0);
	}

	rc = -1;
	type[0] = '\0';
	if (xlate_event(st, &json, data, len) == NULL)
		goto done;

	if (json_get(json.root, "error") != NULL ||
	    json_is_type(json.root, "error") ||
	    json_is_type(json.root, "response.failed")) {
		xlate_event_error(st, data, len);
		goto done;
	}

	if (st->from == XF_OPENAI || st->from == XF_GEMINI) {
		if (st->from == XF_OPENAI) {
			openai_usage_read(json_get(json.root, "usage"),
			    &st->usage);
		} else {
			xlate_answer_usage(XF_GEMINI, data, len, &st->usage);
			c = json_first(json_get(json.root, "candidates"));
			fr = json_get(c, "finishReason");
			if (json_is_str(fr) && fr->data.string[0] != '\0')
				st->done = 1;
		}
		xlate_sse(out, NULL, data, len);
		rc = 0;
		goto done;
	}

	t = json_get(json.root, "type");
	if (t == NULL || t->type != KORE_JSON_TYPE_STRING) {
		(void)xlate_stream_fail(st, "upstream sent an event without a type");
		goto done;
	}
	/* The type becomes an "event:" line: nothing but a name may pass. */
	if (t->data.string[0] == '\0' ||
	    strspn(t->data.string, "abcdefghijklmnopqrstuvwxyz_.") !=
	    strlen(t->data.string) || strlen(t->data.string) >= sizeof(type)) {
		(void)xlate_stream_fail(st, "upstream sent an event of an unknown kind");
		goto done;
	}
	(void)snprintf(type, sizeof(type), "%s", t->data.string);

	u = NULL;
	if (st->from == XF_RESPONSES) {
		if (strcmp(type, "response.completed") == 0 ||
		    strcmp(type, "response.incomplete") == 0) {
			openai_usage_read(json_get(json_get(json.root,
			    "response"), "usage"), &st->usage);
			st->done = 1;
		}
	} else if (strcmp(type, "message_start") == 0) {
		m = json_get(json.root, "message");
		if (m != NULL && m->type == KORE_JSON_TYPE_OBJECT)
			u = json_get(m, "usage");
	} else if (strcmp(type, "message_delta") == 0) {
		u = json_get(json.root, "usage");
	} else if (strcmp(type, "message_stop") == 0) {
		st->done = 1;
	}
	anthropic_usage(u, &st->usage);
	xlate_sse(out, type, data, len);
	rc = 0;
done:
	kore_json_cleanup(&json);
	return (rc);
}

/*
 * Neither side speaks chat: the upstream's stage writes chat chunks into
 * midbuf, which are split again and fed to the client's stage in
 * st->next, one at a time as they come.
 */
static int
chain_event(struct xlate_stream *st, const void *data, size_t len,
    struct kore_buf *out)
{
	struct sse_event	ev;
	int			rc;

	kore_buf_reset(st->midbuf);
	rc = stream_to_pivot[st->from] != NULL ?
	    stream_to_pivot[st->from](st, data, len, st->midbuf) :
	    xlate_stream_fail(st, "cannot translate %s streams",
	    xlate_format_name(st->from));
	if (st->midbuf->offset > 0 &&
	    sse_feed(&st->mid, st->midbuf->data, st->midbuf->offset) != 0) {
		(void)xlate_stream_fail(st, "translated event too large");
		return (-1);
	}
	kore_buf_reset(st->midbuf);

	while (sse_next(&st->mid, &ev) == 1) {
		if (!ev.has_data)
			continue;
		if (stream_from_pivot[st->to](st->next, ev.data, ev.data_len,
		    out) == -1) {
			(void)snprintf(st->err, sizeof(st->err), "%s",
			    st->next->err);
			rc = -1;
			break;
		}
	}
	chain_sync(st);
	return (rc == -1 ? -1 : 0);
}

/*
 * The chain's usage is that of its two stages. Its done is the upstream
 * stage's until the stream is finished, then the client stage's.
 */
static void
chain_sync(struct xlate_stream *st)
{
	struct xlate_stream	*n;

	n = st->next;
	if (n->usage.completion_tokens > st->usage.completion_tokens)
		st->usage.completion_tokens = n->usage.completion_tokens;
	n->usage.completion_tokens = st->usage.completion_tokens;
	xlate_usage_merge(&n->usage, &st->usage);
	xlate_usage_merge(&st->usage, &n->usage);
}
