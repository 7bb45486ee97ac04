/*
 * Format translation, the entry of every xlate_* call: names of the
 * formats, the dispatch to the file of each direction (through a
 * struct xlate_ctx per translation), the chain through OpenAI chat (the
 * pivot) when neither side speaks it, the identity when both sides speak
 * the same format, error bodies, token counting and the usage an answer
 * reports. Streams are dispatched in xlate_stream.c.
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

typedef int	(*xlate_fn)(struct xlate_ctx *);

static int	xlate_run(xlate_fn, const void *, size_t, const char *, int,
		    struct kore_buf *, struct xlate_usage *, char *, size_t);
static int	xlate_pair(xlate_fn, xlate_fn, const void *, size_t,
		    const char *, int, struct kore_buf *, struct xlate_usage *,
		    char *, size_t);
static int	identity(struct xlate_ctx *, int);
static int	identity_openai(struct xlate_ctx *);
static int	identity_anthropic(struct xlate_ctx *);
static int	identity_raw(struct xlate_ctx *);
static int	identity_responses(struct xlate_ctx *);
static int	identity_answer(struct xlate_ctx *, int);
static int	answer_openai(struct xlate_ctx *);
static int	answer_anthropic(struct xlate_ctx *);
static int	answer_gemini(struct xlate_ctx *);
static int	answer_responses(struct xlate_ctx *);
static int	count_anthropic(struct xlate_ctx *);

/* Requests into the pivot, by the client's format. */
static const xlate_fn	request_to_pivot[XF_COUNT] = {
	[XF_OPENAI] = identity_openai,
	[XF_ANTHROPIC] = anthropic_request_to_openai,
	[XF_GEMINI] = gemini_request_to_openai,
	[XF_RESPONSES] = responses_request_to_openai,
};

/* Requests out of the pivot, by the upstream's format. */
static const xlate_fn	request_from_pivot[XF_COUNT] = {
	[XF_OPENAI] = identity_openai,
	[XF_ANTHROPIC] = anthropic_request_from_openai,
	[XF_GEMINI] = gemini_request_from_openai,
};

/* Requests and answers that stay in their format. */
static const xlate_fn	request_same[XF_COUNT] = {
	[XF_OPENAI] = identity_openai,
	[XF_ANTHROPIC] = identity_anthropic,
	[XF_GEMINI] = identity_raw,
	[XF_RESPONSES] = identity_responses,
};

static const xlate_fn	answer_same[XF_COUNT] = {
	[XF_OPENAI] = answer_openai,
	[XF_ANTHROPIC] = answer_anthropic,
	[XF_GEMINI] = answer_gemini,
	[XF_RESPONSES] = answer_responses,
};

/* Whole answers into the pivot, by the upstream's format. */
static const xlate_fn	answer_to_pivot[XF_COUNT] = {
	[XF_OPENAI] = answer_openai,
	[XF_ANTHROPIC] = anthropic_response_to_openai,
	[XF_GEMINI] = gemini_response_to_openai,
};

/* Whole answers out of the pivot, by the client's format. */
static const xlate_fn	answer_from_pivot[XF_COUNT] = {
	[XF_OPENAI] = answer_openai,
	[XF_ANTHROPIC] = anthropic_response_from_openai,
	[XF_GEMINI] = gemini_response_from_openai,
	[XF_RESPONSES] = responses_response_from_openai,
};

static const char	*format_names[XF_COUNT] = {
	[XF_OPENAI] = "openai",
	[XF_ANTHROPIC] = "anthropic",
	[XF_GEMINI] = "gemini",
	[XF_RESPONSES] = "responses",
};

/* A provider type's format; "responses" is no provider type. */
int
xlate_format(const char *name)
{
	int	f;

	if (name == NULL)
		return (-1);
	for (f = 0; f < XF_COUNT; f++) {
		if (f != XF_RESPONSES && strcmp(name, format_names[f]) == 0)
			return (f);
	}
	return (-1);
}

const char *
xlate_format_name(int f)
{
	if (f < 0 || f >= XF_COUNT)
		return ("unknown");
	return (format_names[f]);
}

/*
 * Run translation fn over body[0..len) into out: the result names model,
 * asks for a stream when stream is set, and fills usage (when not NULL)
 * from an answer. Returns fn's 0 or -1, with the client's message in err
 * (when not NULL) for a refused request.
 */
static int
xlate_run(xlate_fn fn, const void *body, size_t len, const char *model,
    int stream, struct kore_buf *out, struct xlate_usage *usage, char *err,
    size_t errlen)
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

/* first, then second over first's result (through the pivot). */
static int
xlate_pair(xlate_fn first, xlate_fn second, const void *body, size_t len,
    const char *model, int stream, struct kore_buf *out,
    struct xlate_usage *usage, char *err, size_t errlen)
{
	struct kore_buf		mid;
	struct xlate_usage	u;
	int			rc;

	kore_buf_init(&mid, len + 256);
	rc = xlate_run(first, body, len, model, stream, &mid, usage, err,
	    errlen);
	if (rc == 0) {
		xlate_usage_init(&u);
		rc = xlate_run(second, mid.data, mid.offset, model, stream,
		    out, &u, err, errlen);
	}
	kore_buf_cleanup(&mid);
	return (rc);
}

int
xlate_request(int from, int to, const void *body, size_t len, const char *model,
    int stream, struct kore_buf *out, char *err, size_t errlen)
{
	size_t		start;
	int		rc;

	start = out->offset;
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	rc = -1;
	if (from < 0 || from >= XF_COUNT || to < 0 || to >= XF_COUNT) {
		(void)snprintf(err, errlen, "unknown format");
	} else if (from == to) {
		rc = xlate_run(request_same[from], body, len, model, stream,
		    out, NULL, err, errlen);
	} else if (request_from_pivot[to] == NULL) {
		if (err != NULL)
			(void)snprintf(err, errlen, "cannot translate %s "
			    "requests to %s", xlate_format_name(from),
			    xlate_format_name(to));
	} else if (from == XF_OPENAI || to == XF_OPENAI) {
		rc = xlate_run(from == XF_OPENAI ? request_from_pivot[to] :
		    request_to_pivot[from], body, len, model, stream, out,
		    NULL, err, errlen);
	} else {
		rc = xlate_pair(request_to_pivot[from], request_from_pivot[to],
		    body, len, model, stream, out, NULL, err, errlen);
	}

	if (rc != 0)
		out->offset = start;
	return (rc);
}

int
xlate_response(int from, int to, const void *body, size_t len,
    const char *model, struct kore_buf *out, struct xlate_usage *usage)
{
	struct xlate_usage	u;
	size_t			start;
	int			rc;

	start = out->offset;
	if (usage == NULL)
		usage = &u;
	xlate_usage_init(usage);

	rc = -1;
	if (from < 0 || from >= XF_COUNT || to < 0 || to >= XF_COUNT ||
	    answer_to_pivot[from] == NULL || answer_from_pivot[to] == NULL) {
		rc = -1;
	} else if (from == to) {
		rc = xlate_run(answer_same[from], body, len, model, 0, out,
		    usage, NULL, 0);
	} else if (from == XF_OPENAI || to == XF_OPENAI) {
		rc = xlate_run(from == XF_OPENAI ? answer_from_pivot[to] :
		    answer_to_pivot[from], body, len, model, 0, out, usage,
		    NULL, 0);
	} else {
		rc = xlate_pair(answer_to_pivot[from], answer_from_pivot[to],
		    body, len, model, 0, out, usage, NULL, 0);
	}

	if (rc != 0)
		out->offset = start;
	return (rc);
}

/*
 * Error answers. Every format carries its message at error.message; the
 * type and code are the target format's for the status. A body in the
 * client's own format goes back unchanged when it is what that format
 * promises, so that an upstream's codes survive. The Responses API's
 * errors are OpenAI's.
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

	if (from == XF_RESPONSES)
		from = XF_OPENAI;
	if (to == XF_RESPONSES)
		to = XF_OPENAI;

	/* Gemini's own file knows its status names and key errors. */
	if (from == XF_GEMINI && to != XF_GEMINI) {
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
		xlate_error_body(to, status, type, to == XF_GEMINI ? NULL :
		    code[0] ? code : NULL, msg, out);
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
		json_str(out, gemini_status_name(status));
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

/*
 * A token count request of format from (an Anthropic count_tokens body,
 * or a Gemini countTokens body) for an upstream of format to, which
 * must be one that counts (Anthropic or Gemini).
 */
int
xlate_count_request(int from, int to, const void *body, size_t len,
    const char *model, struct kore_buf *out, char *err, size_t errlen)
{
	size_t		start;
	int		rc;

	start = out->offset;
	rc = -1;
	if (from == to) {
		rc = xlate_run(to == XF_ANTHROPIC ? identity_anthropic :
		    identity_raw, body, len, model, 0, out, NULL, err, errlen);
	} else if (from == XF_ANTHROPIC && to == XF_GEMINI) {
		/* Gemini names the model in the URL. */
		rc = xlate_run(gemini_count_request, body, len, model, 0, out,
		    NULL, err, errlen);
	} else if (from == XF_GEMINI && to == XF_ANTHROPIC) {
		rc = xlate_pair(gemini_request_to_openai, count_anthropic,
		    body, len, model, 0, out, NULL, err, errlen);
	} else {
		(void)snprintf(err, errlen, "%s upstreams cannot count tokens",
		    xlate_format_name(to));
	}
	if (rc != 0)
		out->offset = start;
	return (rc);
}

/*
 * A token count answer of format from as the answer of format to:
 * {"input_tokens":N} for Anthropic clients, {"totalTokens":N} for
 * Gemini's. The count goes to *tokens.
 */
int
xlate_count_response(int from, int to, const void *body, size_t len,
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
	if (to == XF_GEMINI)
		kore_buf_appendf(out, "{\"totalTokens\":%" PRId64 "}", n);
	else
		kore_buf_appendf(out, "{\"input_tokens\":%" PRId64 "}", n);
	return (0);
}

/*
 * A request in the upstream's own format: the bytes of every top-level
 * member are kept, model is replaced, stream is set as asked (OpenAI:
 * with stream_options.include_usage, for the usage of the stream).
 * Members named in drop (NULL-terminated, or NULL) are left out.
 */
static int
identity_members(struct xlate_ctx *x, int f, const char **drop)
{
	struct kore_buf		*out = x->out;
	struct json_member	*m;
	const char		*p;
	size_t			 end;
	int			 n, i, j, first, skip;

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
		for (j = 0; drop != NULL && drop[j] != NULL; j++) {
			if (json_scan_find(x->body, &m[i], 1, drop[j]))
				skip = 1;
		}
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

static int
identity(struct xlate_ctx *x, int f)
{
	return (identity_members(x, f, NULL));
}

/*
 * An OpenAI chat request as Anthropic's count_tokens body: the Messages
 * request without what counting refuses.
 */
static int
count_anthropic(struct xlate_ctx *x)
{
	static const char	*drop[] = { "max_tokens", "temperature",
				    "top_p", "stop_sequences", "metadata",
				    "thinking", NULL };
	struct kore_buf		 full;
	struct xlate_ctx	 y;
	int			 rc;

	kore_buf_init(&full, x->len + 256);
	x->stream = 0;
	if ((rc = anthropic_request_from_openai(x)) == 0) {
		xlate_ctx_init(&y, x->out->data, x->out->offset, NULL, 0,
		    &full);
		rc = identity_members(&y, XF_ANTHROPIC, drop);
		xlate_end(&y);
		kore_buf_reset(x->out);
		kore_buf_append(x->out, full.data, full.offset);
	}
	kore_buf_cleanup(&full);
	return (rc);
}

/*
 * An answer in the client's own format (or a chat answer into the
 * pivot): usage read, the model replaced where the body names it, the
 * bytes as they are otherwise.
 */
static int
identity_answer(struct xlate_ctx *x, int f)
{
	xlate_answer_usage(f, x->body, x->len, x->usage);
	x->stream = 0;
	if (f == XF_OPENAI || f == XF_ANTHROPIC)
		return (identity(x, XF_ANTHROPIC));
	return (identity_raw(x));
}

static int
answer_openai(struct xlate_ctx *x)
{
	return (identity_answer(x, XF_OPENAI));
}

static int
answer_anthropic(struct xlate_ctx *x)
{
	return (identity_answer(x, XF_ANTHROPIC));
}

static int
answer_gemini(struct xlate_ctx *x)
{
	return (identity_answer(x, XF_GEMINI));
}

static int
answer_responses(struct xlate_ctx *x)
{
	return (identity_answer(x, XF_RESPONSES));
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

/* A Responses request: model replaced, never stream_options. */
static int
identity_responses(struct xlate_ctx *x)
{
	return (identity(x, XF_RESPONSES));
}

/* Gemini's own bodies: the client's bytes, unchanged. */
static int
identity_raw(struct xlate_ctx *x)
{
	const char	*p = x->body;
	size_t		 i;

	for (i = 0; i < x->len && strchr(" \t\r\n", p[i]) != NULL; i++)
		;
	if (json_scan_valid(x->body, x->len) != 1 || i == x->len ||
	    p[i] != '{')
		return (xlate_fail(x, "the body must be a JSON object"));
	kore_buf_append(x->out, x->body, x->len);
	return (0);
}

/*
 * The usage an answer or event of format fmt reports, into u (what it
 * lacks stays as it was): the "usage" member (Gemini's
 * "usageMetadata") is found by the span scanner, and only it is parsed.
 */
void
xlate_answer_usage(int fmt, const void *data, size_t len, struct xlate_usage *u)
{
	struct json_member		 top[64];
	const struct json_member	*m;
	size_t				 end;
	int				 n;

	if (u == NULL || (n = json_scan_object(data, len, top, 64, &end)) <= 0)
		return;
	if ((m = json_scan_find(data, top, n, fmt == XF_GEMINI ?
	    "usageMetadata" : "usage")) != NULL && m->type == JSON_OBJECT)
		xlate_usage_member(fmt, data, m, u);
}

/* The same from the "usage" member m of data, already found. */
void
xlate_usage_member(int fmt, const void *data, const struct json_member *m,
    struct xlate_usage *u)
{
	struct kore_json	json;
	struct kore_buf		wrap;
	int64_t			total, cached, thoughts, tooluse;

	if (fmt == XF_GEMINI) {
		kore_buf_init(&wrap, m->value_len + 32);
		kore_buf_appendf(&wrap, "{\"usageMetadata\":");
		kore_buf_append(&wrap, (const u_int8_t *)data + m->value,
		    m->value_len);
		kore_buf_appendf(&wrap, "}");
		if (json_parse(&json, wrap.data, wrap.offset) == 0)
			(void)gemini_usage_read(json.root, u, &total, &cached,
			    &thoughts, &tooluse);
		kore_json_cleanup(&json);
		kore_buf_cleanup(&wrap);
		return;
	}
	if (json_parse(&json, (const u_int8_t *)data + m->value,
	    m->value_len) == 0) {
		if (fmt == XF_ANTHROPIC)
			anthropic_usage(json.root, u);
		else
			openai_usage_read(json.root, u);
	}
	kore_json_cleanup(&json);
}
