/*
 * Format translation, the entry of every xlate_* call: names of the
 * formats, the dispatch to the file of each direction (through a
 * struct xlate_ctx per translation), the chain through OpenAI when
 * neither side speaks it (an Anthropic client in front of a Gemini
 * upstream), the identity when both sides speak the same format, error
 * bodies, and the usage an answer reports.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <float.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "formats/formats.h"

/* Top-level members an identity rewrite looks at. */
#define XLATE_MEMBERS_MAX	512

static int	xlate_run(int (*)(struct xlate_ctx *), const void *, size_t,
		    const char *, int, struct kore_buf *, struct xlate_usage *,
		    char *, size_t);
static int	identity(struct xlate_ctx *, int);
static int	identity_answer(struct xlate_ctx *, int);
static int	identity_openai(struct xlate_ctx *);
static int	identity_anthropic(struct xlate_ctx *);
static int	identity_answer_openai(struct xlate_ctx *);
static int	identity_answer_anthropic(struct xlate_ctx *);
static int	passthrough_event(struct xlate_stream *, const void *, size_t,
		    struct kore_buf *);
static int	chain_event(struct xlate_stream *, const void *, size_t,
		    struct kore_buf *);
static void	chain_sync(struct xlate_stream *);

int
xlate_format(const char *name)
{
	if (name == NULL)
		return (-1);
	if (strcmp(name, "openai") == 0)
		return (XF_OPENAI);
	if (strcmp(name, "anthropic") == 0)
		return (XF_ANTHROPIC);
	if (strcmp(name, "gemini") == 0)
		return (XF_GEMINI);
	return (-1);
}

const char *
xlate_format_name(int f)
{
	switch (f) {
	case XF_OPENAI:
		return ("openai");
	case XF_ANTHROPIC:
		return ("anthropic");
	case XF_GEMINI:
		return ("gemini");
	}
	return ("unknown");
}

/*
 * Run translation fn over body[0..len) into out: the result names model,
 * asks for a stream when stream is set, and fills usage (when not NULL)
 * from an answer. Returns fn's 0 or -1, with the client's message in err
 * (when not NULL) for a refused request.
 */
static int
xlate_run(int (*fn)(struct xlate_ctx *), const void *body, size_t len,
    const char *model, int stream, struct kore_buf *out,
    struct xlate_usage *usage, char *err, size_t errlen)
{
	struct xlate_ctx	x;
	int			rc;

	xlate_ctx_init(&x, body, len, model, stream, out);
	x.usage = usage;
	rc = fn(&x);
	if (rc != 0 && err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s", x.err);
	xlate_end(&x);
	return (rc);
}

int
xlate_request(int from, int to, const void *body, size_t len, const char *model,
    int stream, struct kore_buf *out, char *err, size_t errlen)
{
	struct kore_buf	mid;
	size_t		start;
	int		rc;

	start = out->offset;
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	if (from == to && from == XF_OPENAI)
		rc = xlate_run(identity_openai, body, len, model, stream, out,
		    NULL, err, errlen);
	else if (from == to && from == XF_ANTHROPIC)
		rc = xlate_run(identity_anthropic, body, len, model, stream,
		    out, NULL, err, errlen);
	else if (from == XF_OPENAI && to == XF_ANTHROPIC)
		rc = xlate_run(anthropic_request_from_openai, body, len, model,
		    stream, out, NULL, err, errlen);
	else if (from == XF_ANTHROPIC && to == XF_OPENAI)
		rc = xlate_run(anthropic_request_to_openai, body, len, model,
		    stream, out, NULL, err, errlen);
	else if (from == XF_OPENAI && to == XF_GEMINI)
		rc = xlate_run(gemini_request_from_openai, body, len, model,
		    stream, out, NULL, err, errlen);
	else if (from == XF_ANTHROPIC && to == XF_GEMINI) {
		kore_buf_init(&mid, len + 256);
		rc = xlate_run(anthropic_request_to_openai, body, len, model,
		    stream, &mid, NULL, err, errlen);
		if (rc == 0) {
			rc = xlate_run(gemini_request_from_openai, mid.data,
			    mid.offset, model, stream, out, NULL, err, errlen);
		}
		kore_buf_cleanup(&mid);
	} else {
		rc = -1;
		if (err != NULL)
			(void)snprintf(err, errlen, "cannot translate %s "
			    "requests to %s", xlate_format_name(from),
			    xlate_format_name(to));
	}

	if (rc != 0)
		out->offset = start;
	return (rc);
}

int
xlate_response(int from, int to, const void *body, size_t len,
    const char *model, struct kore_buf *out, struct xlate_usage *usage)
{
	struct kore_buf		mid;
	struct xlate_usage	u;
	size_t			start;
	int			rc;

	start = out->offset;
	if (usage == NULL)
		usage = &u;
	usage->prompt_tokens = -1;
	usage->completion_tokens = -1;

	rc = -1;
	if (from == to && from == XF_OPENAI) {
		rc = xlate_run(identity_answer_openai, body, len, model, 0, out,
		    usage, NULL, 0);
	} else if (from == to && from == XF_ANTHROPIC) {
		rc = xlate_run(identity_answer_anthropic, body, len, model, 0,
		    out, usage, NULL, 0);
	} else if (from == XF_ANTHROPIC && to == XF_OPENAI) {
		rc = xlate_run(anthropic_response_to_openai, body, len, model,
		    0, out, usage, NULL, 0);
	} else if (from == XF_OPENAI && to == XF_ANTHROPIC) {
		rc = xlate_run(anthropic_response_from_openai, body, len, model,
		    0, out, usage, NULL, 0);
	} else if (from == XF_GEMINI && to == XF_OPENAI) {
		rc = xlate_run(gemini_response_to_openai, body, len, model, 0,
		    out, usage, NULL, 0);
	} else if (from == XF_GEMINI && to == XF_ANTHROPIC) {
		kore_buf_init(&mid, len + 256);
		rc = xlate_run(gemini_response_to_openai, body, len, model, 0,
		    &mid, usage, NULL, 0);
		if (rc == 0) {
			rc = xlate_run(anthropic_response_from_openai, mid.data,
			    mid.offset, model, 0, out, &u, NULL, 0);
		}
		kore_buf_cleanup(&mid);
	}

	if (rc != 0)
		out->offset = start;
	return (rc);
}

/*
 * Error answers. Every format carries its message at error.message; the
 * type and code are the target format's for the status. A body in the
 * client's own format goes back unchanged when it is what that format
 * promises, so that an upstream's codes survive.
 */
void
xlate_error(int from, int to, int status, const void *body, size_t len,
    struct kore_buf *out)
{
	struct kore_json	 json;
	struct kore_json_item	*e, *t, *c;
	struct kore_buf		 mid;
	char			 msg[1024], code[64];
	const char		*type;
	int			 same;

	/* Gemini's own file knows its status names and key errors. */
	if (from == XF_GEMINI) {
		if (to == XF_OPENAI) {
			gemini_error_to_openai(status, body, len, out);
			return;
		}
		kore_buf_init(&mid, len + 128);
		gemini_error_to_openai(status, body, len, &mid);
		xlate_error(XF_OPENAI, to, gemini_error_status(status, body,
		    len), mid.data, mid.offset, out);
		kore_buf_cleanup(&mid);
		return;
	}

	json_error_message(body, len, msg, sizeof(msg));
	if (msg[0] == '\0')
		(void)snprintf(msg, sizeof(msg), "upstream answered %d", status);

	type = NULL;
	code[0] = '\0';
	same = 0;
	if (json_parse(&json, body, len) == 0 &&
	    (e = json_get(json.root, "error")) != NULL &&
	    e->type == KORE_JSON_TYPE_OBJECT) {
		t = json_get(e, "type");
		if (from == to && json_get(e, "message") != NULL &&
		    json_get(e, "message")->type == KORE_JSON_TYPE_STRING)
			same = 1;
		if (from == XF_ANTHROPIC && t != NULL &&
		    t->type == KORE_JSON_TYPE_STRING && to == XF_OPENAI)
			type = t->data.string;
		c = json_get(e, "code");
		if (c != NULL && c->type == KORE_JSON_TYPE_STRING)
			(void)snprintf(code, sizeof(code), "%s", c->data.string);
	}

	if (same)
		kore_buf_append(out, body, len);
	else
		xlate_error_body(to, status, type, code[0] ? code : NULL, msg,
		    out);
	kore_json_cleanup(&json);
}

/*
 * The status an upstream error really means: Gemini answers a bad key
 * with 400 (INVALID_ARGUMENT, reason API_KEY_INVALID), which is a 401
 * for key health and the client.
 */
int
xlate_error_status(int from, int status, const void *body, size_t len)
{
	if (from == XF_GEMINI)
		return (gemini_error_status(status, body, len));
	return (status);
}

void
xlate_error_body(int to, int status, const char *type, const char *code,
    const char *message, struct kore_buf *out)
{
	if (message == NULL)
		message = "";

	switch (to) {
	case XF_ANTHROPIC:
		anthropic_error_body(status, message, out);
		break;
	case XF_GEMINI:
		kore_buf_appendf(out, "{\"error\":{\"code\":%d,\"message\":",
		    status);
		json_str(out, message);
		kore_buf_appendf(out, ",\"status\":");
		json_str(out, code != NULL ? code : "UNKNOWN");
		kore_buf_appendf(out, "}}");
		break;
	default:
		kore_buf_appendf(out, "{\"error\":{\"message\":");
		json_str(out, message);
		kore_buf_appendf(out, ",\"type\":");
		json_str(out, type != NULL ? type : openai_error_type(status));
		kore_buf_appendf(out, ",\"code\":");
		if (code != NULL)
			json_str(out, code);
		else
			kore_buf_appendf(out, "null");
		kore_buf_appendf(out, "}}");
		break;
	}
}

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
	st->usage.prompt_tokens = -1;
	st->usage.completion_tokens = -1;
	st->block = -1;
	st->tool_index = -1;

	if (from == XF_GEMINI && to == XF_ANTHROPIC) {
		st->next = kore_malloc(sizeof(*st->next));
		xlate_stream_init(st->next, XF_OPENAI, XF_ANTHROPIC, model, id,
		    st->created);
		sse_init(&st->mid);
		st->midbuf = kore_buf_alloc(1024);
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
}

int
xlate_stream_event(struct xlate_stream *st, const void *data, size_t len,
    struct kore_buf *out)
{
	if (st->from == st->to)
		return (passthrough_event(st, data, len, out));

	if (st->from == XF_ANTHROPIC && st->to == XF_OPENAI)
		return (anthropic_stream_to_openai(st, data, len, out));
	if (st->from == XF_OPENAI && st->to == XF_ANTHROPIC)
		return (anthropic_stream_from_openai(st, data, len, out));
	if (st->from == XF_GEMINI && st->to == XF_OPENAI)
		return (gemini_stream_to_openai(st, data, len, out));
	if (st->from == XF_GEMINI && st->to == XF_ANTHROPIC)
		return (chain_event(st, data, len, out));

	(void)xlate_stream_fail(st, "cannot translate %s "
	    "streams to %s", xlate_format_name(st->from),
	    xlate_format_name(st->to));
	return (-1);
}

int
xlate_stream_finish(struct xlate_stream *st, struct kore_buf *out)
{
	if (st->from == XF_OPENAI && st->to == XF_ANTHROPIC) {
		anthropic_stream_finish_from_openai(st, out);
	} else if (st->next != NULL) {
		/* The Anthropic stage closes once Gemini gave its reason. */
		if (st->done && !st->closed)
			anthropic_stream_finish_from_openai(st->next, out);
		st->closed = 1;
		chain_sync(st);
		st->done = st->next->done;
	} else if (st->from == XF_GEMINI && st->to == XF_OPENAI &&
	    st->done && !st->closed) {
		/* Gemini ends on its last answer: [DONE] is ours to send. */
		kore_buf_appendf(out, "data: [DONE]\n\n");
		st->closed = 1;
	}
	return (st->done ? 0 : -1);
}

void
xlate_stream_error(int to, const char *message, struct kore_buf *out)
{
	if (message == NULL)
		message = "";

	if (to == XF_ANTHROPIC) {
		/* What Anthropic itself sends when a stream breaks. */
		kore_buf_appendf(out, "event: error\ndata: {\"type\":\"error\","
		    "\"error\":{\"type\":\"api_error\",\"message\":");
		json_str(out, message);
		kore_buf_appendf(out, "}}\n\n");
		return;
	}

	kore_buf_appendf(out, "data: {\"error\":{\"message\":");
	json_str(out, message);
	kore_buf_appendf(out, ",\"type\":\"upstream_error\","
	    "\"code\":\"stream_interrupted\"}}\n\n");
}

/*
 * The same format on both sides: the events go out unchanged (framed for
 * the client's format), but the stream is watched so that done and the
 * usage are known as for a translated one.
 */
static int
passthrough_event(struct xlate_stream *st, const void *data, size_t len,
    struct kore_buf *out)
{
	struct kore_json	 json;
	struct kore_json_item	*t, *u, *m;
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

	if (json_get(json.root, "error") != NULL) {
		xlate_event_error(st, data, len);
		goto done;
	}

	if (st->from == XF_OPENAI) {
		openai_usage_read(json_get(json.root, "usage"), &st->usage);
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
	    strspn(t->data.string, "abcdefghijklmnopqrstuvwxyz_") !=
	    strlen(t->data.string) || strlen(t->data.string) >= sizeof(type)) {
		(void)xlate_stream_fail(st, "upstream sent an event of an unknown kind");
		goto done;
	}
	(void)snprintf(type, sizeof(type), "%s", t->data.string);

	u = NULL;
	if (strcmp(type, "message_start") == 0) {
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
 * Gemini upstream, Anthropic client: the Gemini stage writes OpenAI
 * events into midbuf, which are split again and fed to the Anthropic
 * stage in st->next, one at a time as they come.
 */
static int
chain_event(struct xlate_stream *st, const void *data, size_t len,
    struct kore_buf *out)
{
	struct sse_event	ev;
	int			rc;

	kore_buf_reset(st->midbuf);
	rc = gemini_stream_to_openai(st, data, len, st->midbuf);
	if (st->midbuf->offset > 0 &&
	    sse_feed(&st->mid, st->midbuf->data, st->midbuf->offset) != 0) {
		(void)xlate_stream_fail(st, "translated event too large");
		return (-1);
	}
	kore_buf_reset(st->midbuf);

	while (sse_next(&st->mid, &ev) == 1) {
		if (!ev.has_data)
			continue;
		if (anthropic_stream_from_openai(st->next, ev.data,
		    ev.data_len, out) == -1) {
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
 * The chain's usage is that of its two stages. Its done is the Gemini
 * stage's until the stream is finished, then the Anthropic stage's.
 */
static void
chain_sync(struct xlate_stream *st)
{
	struct xlate_stream	*n;

	n = st->next;
	if (st->usage.prompt_tokens < 0)
		st->usage.prompt_tokens = n->usage.prompt_tokens;
	if (st->usage.completion_tokens < 0 ||
	    n->usage.completion_tokens > st->usage.completion_tokens)
		st->usage.completion_tokens = n->usage.completion_tokens;
}

int
xlate_count_request(int to, const void *body, size_t len, const char *model,
    struct kore_buf *out, char *err, size_t errlen)
{
	size_t		start;
	int		rc;

	start = out->offset;
	switch (to) {
	case XF_ANTHROPIC:
		rc = xlate_run(identity_anthropic, body, len, model, 0, out,
		    NULL, err, errlen);
		break;
	case XF_GEMINI:
		/* Gemini names the model in the URL. */
		rc = xlate_run(gemini_count_request, body, len, model, 0, out,
		    NULL, err, errlen);
		break;
	default:
		rc = -1;
		(void)snprintf(err, errlen, "%s upstreams cannot count tokens",
		    xlate_format_name(to));
		break;
	}
	if (rc != 0)
		out->offset = start;
	return (rc);
}

int
xlate_count_response(int from, const void *body, size_t len,
    struct kore_buf *out, int64_t *tokens)
{
	struct kore_json	json;
	int64_t			n;
	int			rc;

	rc = -1;
	n = -1;
	if (from == XF_ANTHROPIC) {
		if (json_parse(&json, body, len) == 0 &&
		    json_tokens(json_get(json.root, "input_tokens"), &n) == 0)
			rc = 0;
		kore_json_cleanup(&json);
	} else if (from == XF_GEMINI) {
		rc = gemini_count_response(body, len, &n);
	}
	if (rc != 0 || n < 0)
		return (-1);

	if (tokens != NULL)
		*tokens = n;
	kore_buf_appendf(out, "{\"input_tokens\":%" PRId64 "}", n);
	return (0);
}

/*
 * A request in the upstream's own format: the bytes of every top-level
 * member are kept, model is replaced, stream is set as asked (OpenAI:
 * with stream_options.include_usage, for the usage of the stream).
 */
static int
identity(struct xlate_ctx *x, int f)
{
	struct kore_buf		*out = x->out;
	struct json_member	*m;
	const char		*p;
	size_t			 end;
	int			 n, i, first, skip;

	m = kore_malloc(sizeof(*m) * XLATE_MEMBERS_MAX);
	n = json_scan_object(x->body, x->len, m, XLATE_MEMBERS_MAX, &end);
	if (n < 0) {
		kore_free(m);
		return (xlate_fail(x, "the body must be a JSON object"));
	}

	p = x->body;
	first = 1;
	kore_buf_append(out, "{", 1);
	if (x->model != NULL) {
		kore_buf_appendf(out, "\"model\":");
		json_str(out, x->model);
		first = 0;
	}
	for (i = 0; i < n; i++) {
		skip = 0;
		if (x->model != NULL && json_scan_find(x->body, &m[i], 1, "model"))
			skip = 1;
		if (json_scan_find(x->body, &m[i], 1, "stream") ||
		    json_scan_find(x->body, &m[i], 1, "stream_options"))
			skip = 1;
		if (skip)
			continue;
		if (!first)
			kore_buf_append(out, ",", 1);
		first = 0;
		kore_buf_append(out, p + m[i].key, m[i].key_len);
		kore_buf_append(out, ":", 1);
		kore_buf_append(out, p + m[i].value, m[i].value_len);
	}
	if (x->stream) {
		kore_buf_appendf(out, "%s\"stream\":true", first ? "" : ",");
		if (f == XF_OPENAI)
			kore_buf_appendf(out, ",\"stream_options\":"
			    "{\"include_usage\":true}");
	}
	kore_buf_append(out, "}", 1);
	kore_free(m);
	return (0);
}

/* An answer in the client's own format: model replaced, usage read. */
static int
identity_answer(struct xlate_ctx *x, int f)
{
	struct kore_json_item	*u;

	if (xlate_begin(x) != NULL) {
		u = json_get(x->json.root, "usage");
		if (f == XF_OPENAI)
			openai_usage_read(u, x->usage);
		else
			anthropic_usage(u, x->usage);
	}

	/* The request's rewrite, without stream (an answer has none). */
	x->stream = 0;
	return (identity(x, XF_ANTHROPIC));
}

static int
identity_openai(struct xlate_ctx *x)
{
	return (identity(x, XF_OPENAI));
}

static int
identity_anthropic(struct xlate_ctx *x)
{
	return (identity(x, XF_ANTHROPIC));
}

static int
identity_answer_openai(struct xlate_ctx *x)
{
	return (identity_answer(x, XF_OPENAI));
}

static int
identity_answer_anthropic(struct xlate_ctx *x)
{
	return (identity_answer(x, XF_ANTHROPIC));
}

/*
 * The usage an answer or event of format fmt reports, into u (what it
 * lacks stays as it was): the "usage" member is found by the span
 * scanner, and only it is parsed.
 */
void
xlate_answer_usage(int fmt, const void *data, size_t len, struct xlate_usage *u)
{
	struct json_member		 top[64];
	const struct json_member	*m;
	size_t				 end;
	int				 n;

	if ((n = json_scan_object(data, len, top, 64, &end)) <= 0)
		return;
	if ((m = json_scan_find(data, top, n, "usage")) != NULL &&
	    m->type == JSON_OBJECT)
		xlate_usage_member(fmt, data, m, u);
}

/* The same from the "usage" member m of data, already found. */
void
xlate_usage_member(int fmt, const void *data, const struct json_member *m,
    struct xlate_usage *u)
{
	struct kore_json	json;

	if (json_parse(&json, (const u_int8_t *)data + m->value,
	    m->value_len) == 0) {
		if (fmt == XF_ANTHROPIC)
			anthropic_usage(json.root, u);
		else
			openai_usage_read(json.root, u);
	}
	kore_json_cleanup(&json);
}

