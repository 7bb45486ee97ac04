/*
 * What every translator shares: the context of one translation of a
 * request or a whole answer (the body parsed once, the output, why a
 * request is refused, the tool calls of its history), the text of
 * content that must be text, turns of alternating roles, and the SSE
 * framing and parsing of stream events. Pure: unit tested and fuzzed.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"

/*
 * Set x up to translate body[0..len) into out, the result naming model
 * (NULL: the body's own) and asking for a stream when stream is set.
 * This function can't fail.
 */
void
xlate_ctx_init(struct xlate_ctx *x, const void *body, size_t len,
    const char *model, int stream, struct kore_buf *out)
{
	memset(x, 0, sizeof(*x));
	x->body = body;
	x->len = len;
	x->model = model;
	x->stream = stream;
	x->out = out;
}

/*
 * Parse the body, which must be a JSON object. Returns its root, or NULL
 * with the client's message in x->err.
 */
struct kore_json_item *
xlate_begin(struct xlate_ctx *x)
{
	x->parsed = 1;
	if (json_parse(&x->json, x->body, x->len) == -1) {
		if (x->json.error != KORE_JSON_ERR_NONE) {
			(void)xlate_fail(x, "the body is not valid JSON (%s): a "
			    "JSON object is expected",
			    kore_json_strerror(&x->json));
		} else {
			(void)xlate_fail(x, "the body must be a JSON object");
		}
		return (NULL);
	}
	return (x->json.root);
}

/* What the translation held goes. This function can't fail. */
void
xlate_end(struct xlate_ctx *x)
{
	if (x->parsed)
		kore_json_cleanup(&x->json);
	kore_free(x->calls);
	x->calls = NULL;
	x->ncalls = x->calls_cap = 0;
}

/* Say why the client's request cannot be translated; returns -1. */
int
xlate_fail(struct xlate_ctx *x, const char *fmt, ...)
{
	va_list	args;

	va_start(args, fmt);
	(void)vsnprintf(x->err, sizeof(x->err), fmt, args);
	va_end(args);
	return (-1);
}

/* Say why an upstream's stream cannot be translated; returns -1. */
int
xlate_stream_fail(struct xlate_stream *st, const char *fmt, ...)
{
	va_list	args;

	va_start(args, fmt);
	(void)vsnprintf(st->err, sizeof(st->err), fmt, args);
	va_end(args);
	return (-1);
}

/*
 * The messages array of a chat request's root, which must hold at least
 * one message; NULL after xlate_fail.
 */
struct kore_json_item *
xlate_messages(struct xlate_ctx *x, const struct kore_json_item *root)
{
	struct kore_json_item	*msgs;

	msgs = json_get(root, "messages");
	if (!json_is(msgs, KORE_JSON_TYPE_ARRAY) ||
	    TAILQ_EMPTY(&msgs->data.items)) {
		(void)xlate_fail(x, "messages must be a non-empty array");
		return (NULL);
	}
	return (msgs);
}

/*
 * The string member name of obj, which the client's message calls
 * where; NULL after xlate_fail when it is absent or no string.
 */
const char *
xlate_member_str(struct xlate_ctx *x, const struct kore_json_item *obj,
    const char *name, const char *where)
{
	struct kore_json_item	*v;

	if (!json_is_str(v = json_get(obj, name))) {
		(void)xlate_fail(x, "%s.%s must be a string", where, name);
		return (NULL);
	}
	return (v->data.string);
}

/*
 * The type of a content block (an object with a string "type"); NULL
 * after xlate_fail naming where.
 */
const char *
xlate_block_type(struct xlate_ctx *x, const struct kore_json_item *blk,
    const char *where)
{
	struct kore_json_item	*t;

	if (!json_is_str(t = json_get(blk, "type"))) {
		(void)xlate_fail(x, "%s must be an object with a string type",
		    where);
		return (NULL);
	}
	return (t->data.string);
}

/* The name of the latest tool call of the history with id, or NULL. */
const char *
xlate_call_name(const struct xlate_ctx *x, const char *id)
{
	size_t	k;

	for (k = x->ncalls; k > 0; k--) {
		if (strcmp(x->calls[k - 1].id, id) == 0)
			return (x->calls[k - 1].name);
	}
	return (NULL);
}

/* Room for one more tool call in x->calls. This function can't fail. */
void
xlate_calls_grow(struct xlate_ctx *x)
{
	if (x->ncalls < x->calls_cap)
		return;
	x->calls_cap = x->calls_cap ? x->calls_cap * 2 : 8;
	x->calls = kore_realloc(x->calls, x->calls_cap * sizeof(*x->calls));
}

/*
 * The text of content that must be text: a string, or an array of text
 * parts (and of the refusal parts an assistant's content may hold)
 * joined by sep. Appended raw (not as JSON) to dst. Absent content is
 * empty. field names the content in the client's message.
 */
int
xlate_text_of(struct xlate_ctx *x, const struct kore_json_item *content,
    const char *field, struct kore_buf *dst, const char *sep)
{
	const struct kore_json_item	*p, *t;
	int				 i;

	if (content == NULL)
		return (0);
	if (json_is_str(content)) {
		kore_buf_append(dst, content->data.string,
		    strlen(content->data.string));
		return (0);
	}
	if (content->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(x, "%s must be a string or an array of "
		    "text parts", field));

	i = 0;
	TAILQ_FOREACH(p, &content->data.items, list) {
		t = json_is_type(p, "refusal") ? json_get(p, "refusal") :
		    json_get(p, "text");
		if (!(json_is_type(p, "text") || json_is_type(p, "refusal")) ||
		    !json_is_str(t))
			return (xlate_fail(x, "%s[%d] must be a text "
			    "part with a string text", field, i));
		if (i > 0)
			kore_buf_append(dst, sep, strlen(sep));
		kore_buf_append(dst, t->data.string, strlen(t->data.string));
		i++;
	}
	return (0);
}

/*
 * Append the blocks of one message (blocks, already JSON) to the turns
 * in out as a turn of role, its blocks under key ("content", "parts").
 * Both Anthropic and Gemini want the roles to alternate: a message of
 * the same role as the turn before joins it. No blocks add nothing.
 */
void
xlate_turn_add(struct kore_buf *out, const char **cur, const char *role,
    const char *key, const struct kore_buf *blocks)
{
	if (blocks->offset == 0)
		return;
	if (*cur != NULL && strcmp(*cur, role) == 0) {
		kore_buf_append(out, ",", 1);
	} else {
		if (*cur != NULL)
			kore_buf_appendf(out, "]},");
		kore_buf_appendf(out, "{\"role\":\"%s\",\"%s\":[", role, key);
		*cur = role;
	}
	kore_buf_append(out, blocks->data, blocks->offset);
}

/*
 * Parses a stream event (which must be a JSON object) into json:
 * kore_json_cleanup it either way. Returns the root, or NULL with
 * st->err saying why.
 */
struct kore_json_item *
xlate_event(struct xlate_stream *st, struct kore_json *json, const void *data,
    size_t len)
{
	if (json_parse(json, data, len) == -1) {
		(void)xlate_stream_fail(st,
		    "upstream sent an event that is not a JSON object");
		return (NULL);
	}
	return (json->root);
}

/* An upstream's error event: its message (or a stand-in) in st->err. */
void
xlate_event_error(struct xlate_stream *st, const void *data, size_t len)
{
	json_error_message(data, len, st->err, sizeof(st->err));
	if (st->err[0] == '\0')
		(void)xlate_stream_fail(st,
		    "upstream sent an error event");
}

/*
 * The common start of translating one event of an OpenAI chat stream
 * into another format: "[DONE]" ends the stream with close (unless it
 * has ended), anything else is parsed into json, and an upstream error
 * event is kept in st->err. json is kore_json_cleanup'ed by the caller
 * in every case. Returns 1 when json holds a chunk to translate, 0
 * when there is nothing (more) to write, -1 when the stream failed.
 */
int
xlate_openai_event(struct xlate_stream *st, struct kore_json *json,
    const void *data, size_t len, struct kore_buf *out,
    void (*close)(struct xlate_stream *, struct kore_buf *))
{
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		memset(json, 0, sizeof(*json));
		if (!st->done)
			close(st, out);
		return (0);
	}
	if (xlate_event(st, json, data, len) == NULL)
		return (-1);
	if (json_get(json->root, "error") != NULL) {
		xlate_event_error(st, data, len);
		return (-1);
	}
	return (st->done ? 0 : 1);
}

/* A chunk's choice says why the answer ended: kept for the close. */
void
xlate_openai_finish(struct xlate_stream *st,
    const struct kore_json_item *choice)
{
	struct kore_json_item	*fr;

	if (json_is_str(fr = json_get(choice, "finish_reason")))
		(void)snprintf(st->finish, sizeof(st->finish), "%s",
		    fr->data.string);
}

/*
 * One SSE event: "event: <event>\n" when event is set, then data, a
 * "data: " line for each of its lines, then the blank line.
 */
void
xlate_sse(struct kore_buf *out, const char *event, const void *data, size_t len)
{
	const char	*p, *nl;
	size_t		 left;

	if (event != NULL)
		kore_buf_appendf(out, "event: %s\n", event);
	p = data;
	left = len;
	for (;;) {
		nl = memchr(p, '\n', left);
		kore_buf_appendf(out, "data: ");
		kore_buf_append(out, p, nl != NULL ? (size_t)(nl - p) : left);
		kore_buf_append(out, "\n", 1);
		if (nl == NULL)
			break;
		left -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	kore_buf_append(out, "\n", 1);
}

/*
 * A reasoning effort (none, minimal, low, medium, high, xhigh) as a
 * budget of thinking tokens: 0 for none and minimal, low, medium or
 * high for the others (xhigh twice high).
 */
int64_t
xlate_effort_budget(const char *effort, int64_t low, int64_t medium,
    int64_t high)
{
	if (strcmp(effort, "low") == 0)
		return (low);
	if (strcmp(effort, "medium") == 0)
		return (medium);
	if (strcmp(effort, "high") == 0)
		return (high);
	if (strcmp(effort, "xhigh") == 0)
		return (high * 2);
	return (0);
}
