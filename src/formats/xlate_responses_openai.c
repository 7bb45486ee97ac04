/*
 * Responses API clients in front of chat upstreams (and, through the
 * pivot, of Anthropic and Gemini ones): a Responses request becomes a
 * chat request and a chat completion a response object; the stream's
 * events are xlate_responses_stream.c's. Nothing is stored: a request
 * naming previous_response_id is refused, store is answered false.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include <sodium.h>

#include "formats/formats.h"


/* An assistant message being gathered from message and call items. */
struct assistant {
	struct kore_buf	text;
	struct kore_buf	calls;
	int		ncalls;
	int		open;
};

static void	assistant_flush(struct assistant *, struct kore_buf *, int *);
static int	item_reference(struct xlate_ctx *, const char *,
		    struct assistant *, struct kore_buf *, int *);
static int	content_parts(struct xlate_ctx *, struct kore_json_item *,
		    const char *, struct kore_buf *, struct kore_buf *);
static int	input_items(struct xlate_ctx *, struct kore_json_item *,
		    struct kore_buf *, int *);
static int	tools_to_chat(struct xlate_ctx *, struct kore_json_item *,
		    struct kore_buf *);
static int	options_to_chat(struct xlate_ctx *, struct kore_json_item *,
		    struct kore_buf *);

/* The assistant message gathered so far, as a chat message. */
static void
assistant_flush(struct assistant *a, struct kore_buf *out, int *nm)
{
	if (!a->open)
		return;
	json_sep(out, nm);
	kore_buf_appendf(out, "{\"role\":\"assistant\",\"content\":");
	if (a->text.offset > 0 || a->ncalls == 0)
		json_strn(out, a->text.data, a->text.offset);
	else
		kore_buf_appendf(out, "null");
	if (a->ncalls > 0) {
		kore_buf_appendf(out, ",\"tool_calls\":[");
		kore_buf_append(out, a->calls.data, a->calls.offset);
		kore_buf_appendf(out, "]");
	}
	kore_buf_appendf(out, "}");
	kore_buf_reset(&a->text);
	kore_buf_reset(&a->calls);
	a->ncalls = 0;
	a->open = 0;
}

/*
 * An item id carrying its content: prefix, then base64url of a (and of
 * b and c after ITEM_SEP when given), as a JSON string.
 */
void
responses_item_id(struct kore_buf *out, const char *prefix, const char *a,
    const char *b, const char *c)
{
	struct kore_buf	raw;
	char		*text;
	size_t		 tlen;

	kore_buf_init(&raw, 256);
	kore_buf_append(&raw, a, strlen(a));
	if (b != NULL) {
		kore_buf_appendf(&raw, "%c%s%c", ITEM_SEP, b, ITEM_SEP);
		if (c != NULL)
			kore_buf_append(&raw, c, strlen(c));
	}
	tlen = sodium_base64_ENCODED_LEN(raw.offset,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	text = kore_malloc(tlen);
	(void)sodium_bin2base64(text, tlen, raw.data, raw.offset,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	kore_buf_appendf(out, "\"%s%s\"", prefix, text);
	kore_free(text);
	kore_buf_cleanup(&raw);
}

/*
 * An item_reference to one of our ids, as the item it names: a function
 * call joins the assistant message being gathered, a message's text
 * too. -1 (the client's 400) for an id that carries nothing.
 */
static int
item_reference(struct xlate_ctx *x, const char *id, struct assistant *a,
    struct kore_buf *out, int *nm)
{
	const char	*b64, *end;
	u_int8_t	*bin;
	char		*sep1, *sep2;
	size_t		 len, n;
	int		 call;

	call = strncmp(id, ITEM_CALL, strlen(ITEM_CALL)) == 0;
	if (!call && strncmp(id, ITEM_MESSAGE, strlen(ITEM_MESSAGE)) != 0)
		return (xlate_fail(x, "item_reference '%.64s' needs the stored "
		    "state of earlier responses, which this provider does not "
		    "keep: send the items themselves (store false)", id));
	b64 = id + (call ? strlen(ITEM_CALL) : strlen(ITEM_MESSAGE));
	len = strlen(b64);
	bin = kore_malloc(len + 1);
	if (sodium_base642bin(bin, len, b64, len, NULL, &n, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    *end != '\0') {
		kore_free(bin);
		return (xlate_fail(x, "item_reference '%.64s' names no item",
		    id));
	}
	bin[n] = '\0';
	a->open = 1;
	if (!call) {
		kore_buf_append(&a->text, bin, n);
		kore_free(bin);
		return (0);
	}
	if ((sep1 = memchr(bin, ITEM_SEP, n)) == NULL ||
	    (sep2 = memchr(sep1 + 1, ITEM_SEP, n - (size_t)(sep1 + 1 -
	    (char *)bin))) == NULL) {
		kore_free(bin);
		return (xlate_fail(x, "item_reference '%.64s' names no function "
		    "call", id));
	}
	*sep1 = *sep2 = '\0';
	json_sep(&a->calls, &a->ncalls);
	kore_buf_appendf(&a->calls, "{\"id\":");
	json_str(&a->calls, (char *)bin);
	kore_buf_appendf(&a->calls, ",\"type\":\"function\",\"function\":"
	    "{\"name\":");
	json_str(&a->calls, sep1 + 1);
	kore_buf_appendf(&a->calls, ",\"arguments\":");
	json_str(&a->calls, sep2[1] != '\0' ? sep2 + 1 : "{}");
	kore_buf_appendf(&a->calls, "}}");
	kore_free(bin);
	(void)out;
	(void)nm;
	return (0);
}

/*
 * A message item's content (a string, or input_text, output_text,
 * refusal, input_image and input_file parts) as chat content parts in
 * parts, and its text alone in text (for the roles whose content must
 * be text).
 */
static int
content_parts(struct xlate_ctx *x, struct kore_json_item *c, const char *where,
    struct kore_buf *parts, struct kore_buf *text)
{
	struct kore_json_item	*p, *v, *d;
	const char		*type;
	char			 w[96];
	int			 i, np;

	if (json_is_str(c)) {
		kore_buf_appendf(parts, "{\"type\":\"text\",\"text\":");
		json_str(parts, c->data.string);
		kore_buf_appendf(parts, "}");
		kore_buf_appendf(text, "%s", c->data.string);
		return (0);
	}
	if (!json_is(c, KORE_JSON_TYPE_ARRAY))
		return (xlate_fail(x, "%s.content must be a string or an array "
		    "of content parts", where));
	i = np = 0;
	TAILQ_FOREACH(p, &c->data.items, list) {
		(void)snprintf(w, sizeof(w), "%s.content[%d]", where, i++);
		if ((type = xlate_block_type(x, p, w)) == NULL)
			return (-1);
		if (strcmp(type, "input_text") == 0 ||
		    strcmp(type, "output_text") == 0 ||
		    strcmp(type, "refusal") == 0) {
			v = json_get(p, strcmp(type, "refusal") == 0 ?
			    "refusal" : "text");
			if (!json_is_str(v))
				return (xlate_fail(x, "%s.text must be a "
				    "string", w));
			json_sep(parts, &np);
			kore_buf_appendf(parts, "{\"type\":\"text\",\"text\":");
			json_str(parts, v->data.string);
			kore_buf_appendf(parts, "}");
			kore_buf_appendf(text, "%s", v->data.string);
		} else if (strcmp(type, "input_image") == 0) {
			if (!json_is_str(v = json_get(p, "image_url")))
				return (xlate_fail(x, "%s.image_url must be a "
				    "string (file_id needs OpenAI's file store)",
				    w));
			json_sep(parts, &np);
			kore_buf_appendf(parts, "{\"type\":\"image_url\","
			    "\"image_url\":{\"url\":");
			json_str(parts, v->data.string);
			if (json_is_str(d = json_get(p, "detail"))) {
				kore_buf_appendf(parts, ",\"detail\":");
				json_str(parts, d->data.string);
			}
			kore_buf_appendf(parts, "}}");
		} else if (strcmp(type, "input_file") == 0) {
			if (!json_is_str(v = json_get(p, "file_data")))
				return (xlate_fail(x, "%s.file_data must be a "
				    "data: URL (file_id needs OpenAI's file "
				    "store)", w));
			json_sep(parts, &np);
			kore_buf_appendf(parts, "{\"type\":\"file\",\"file\":"
			    "{\"file_data\":");
			json_str(parts, v->data.string);
			if (json_is_str(d = json_get(p, "filename"))) {
				kore_buf_appendf(parts, ",\"filename\":");
				json_str(parts, d->data.string);
			}
			kore_buf_appendf(parts, "}}");
		} else {
			return (xlate_fail(x, "%s.type '%s' is not supported by "
			    "this provider", w, type));
		}
	}
	return (0);
}

/* input as chat messages after those already in out (*nm of them). */
static int
input_items(struct xlate_ctx *x, struct kore_json_item *input,
    struct kore_buf *out, int *nm)
{
	struct kore_json_item	*it, *role, *v, *id, *name;
	struct assistant	 a;
	struct kore_buf		 parts, text;
	const char		*type, *r;
	char			 w[64];
	int			 i, rc;

	if (json_is_str(input)) {
		json_sep(out, nm);
		kore_buf_appendf(out, "{\"role\":\"user\",\"content\":");
		json_str(out, input->data.string);
		kore_buf_appendf(out, "}");
		return (0);
	}
	if (!json_is(input, KORE_JSON_TYPE_ARRAY) ||
	    TAILQ_EMPTY(&input->data.items))
		return (xlate_fail(x, "input must be a string or a non-empty "
		    "array of items"));

	rc = -1;
	memset(&a, 0, sizeof(a));
	kore_buf_init(&a.text, 256);
	kore_buf_init(&a.calls, 256);
	kore_buf_init(&parts, 256);
	kore_buf_init(&text, 256);
	i = 0;
	TAILQ_FOREACH(it, &input->data.items, list) {
		(void)snprintf(w, sizeof(w), "input[%d]", i++);
		if (it->type != KORE_JSON_TYPE_OBJECT) {
			(void)xlate_fail(x, "%s must be an object", w);
			goto done;
		}
		v = json_get(it, "type");
		role = json_get(it, "role");
		if (v == NULL && json_is_str(role))
			type = "message";
		else if ((type = xlate_block_type(x, it, w)) == NULL)
			goto done;

		if (strcmp(type, "message") == 0) {
			if (!json_is_str(role)) {
				(void)xlate_fail(x, "%s.role must be a string",
				    w);
				goto done;
			}
			r = role->data.string;
			if (strcmp(r, "user") != 0 && strcmp(r, "system") != 0 &&
			    strcmp(r, "developer") != 0 &&
			    strcmp(r, "assistant") != 0) {
				(void)xlate_fail(x, "%s.role '%s' is not one of "
				    "user, system, developer, assistant", w, r);
				goto done;
			}
			kore_buf_reset(&parts);
			kore_buf_reset(&text);
			if (content_parts(x, json_get(it, "content"), w, &parts,
			    &text) == -1)
				goto done;
			if (strcmp(r, "assistant") == 0) {
				if (a.open && a.ncalls > 0)
					assistant_flush(&a, out, nm);
				a.open = 1;
				kore_buf_append(&a.text, text.data, text.offset);
				continue;
			}
			assistant_flush(&a, out, nm);
			json_sep(out, nm);
			kore_buf_appendf(out, "{\"role\":\"%s\",\"content\":", r);
			if (strcmp(r, "user") == 0) {
				kore_buf_appendf(out, "[");
				kore_buf_append(out, parts.data, parts.offset);
				kore_buf_appendf(out, "]}");
			} else {
				json_strn(out, text.data, text.offset);
				kore_buf_appendf(out, "}");
			}
		} else if (strcmp(type, "function_call") == 0) {
			id = json_get(it, "call_id");
			name = json_get(it, "name");
			v = json_get(it, "arguments");
			if (!json_is_str(id) || !json_is_str(name) ||
			    (v != NULL && !json_is_str(v))) {
				(void)xlate_fail(x, "%s needs string call_id, "
				    "name and arguments", w);
				goto done;
			}
			a.open = 1;
			json_sep(&a.calls, &a.ncalls);
			kore_buf_appendf(&a.calls, "{\"id\":");
			json_str(&a.calls, id->data.string);
			kore_buf_appendf(&a.calls, ",\"type\":\"function\","
			    "\"function\":{\"name\":");
			json_str(&a.calls, name->data.string);
			kore_buf_appendf(&a.calls, ",\"arguments\":");
			json_str(&a.calls, v != NULL ? v->data.string : "{}");
			kore_buf_appendf(&a.calls, "}}");
		} else if (strcmp(type, "function_call_output") == 0) {
			id = json_get(it, "call_id");
			v = json_get(it, "output");
			if (!json_is_str(id)) {
				(void)xlate_fail(x, "%s.call_id must be a "
				    "string", w);
				goto done;
			}
			kore_buf_reset(&parts);
			kore_buf_reset(&text);
			if (!json_is_str(v) && content_parts(x, v, w, &parts,
			    &text) == -1) {
				(void)xlate_fail(x, "%s.output must be a string "
				    "or an array of input_text parts", w);
				goto done;
			}
			assistant_flush(&a, out, nm);
			json_sep(out, nm);
			kore_buf_appendf(out, "{\"role\":\"tool\","
			    "\"tool_call_id\":");
			json_str(out, id->data.string);
			kore_buf_appendf(out, ",\"content\":");
			if (json_is_str(v))
				json_str(out, v->data.string);
			else
				json_strn(out, text.data, text.offset);
			kore_buf_appendf(out, "}");
		} else if (strcmp(type, "reasoning") == 0) {
			/* A model's reasoning means nothing to the next. */
			continue;
		} else if (strcmp(type, "item_reference") == 0) {
			if (!json_is_str(id = json_get(it, "id"))) {
				(void)xlate_fail(x, "%s.id must be a string", w);
				goto done;
			}
			if (a.open && a.ncalls > 0 &&
			    strncmp(id->data.string, ITEM_MESSAGE,
			    strlen(ITEM_MESSAGE)) == 0)
				assistant_flush(&a, out, nm);
			if (item_reference(x, id->data.string, &a, out,
			    nm) == -1)
				goto done;
		} else {
			(void)xlate_fail(x, "%s.type '%s' is not supported by "
			    "this provider", w, type);
			goto done;
		}
	}
	assistant_flush(&a, out, nm);
	rc = 0;
done:
	kore_buf_cleanup(&a.text);
	kore_buf_cleanup(&a.calls);
	kore_buf_cleanup(&parts);
	kore_buf_cleanup(&text);
	return (rc);
}

/* Function tools and tool_choice as chat's. */
static int
tools_to_chat(struct xlate_ctx *x, struct kore_json_item *root,
    struct kore_buf *out)
{
	struct kore_json_item	*tools, *t, *name, *v, *tc;
	int			 i;

	if ((tools = json_get(root, "tools")) != NULL) {
		if (tools->type != KORE_JSON_TYPE_ARRAY)
			return (xlate_fail(x, "tools must be an array"));
		i = 0;
		TAILQ_FOREACH(t, &tools->data.items, list) {
			name = json_get(t, "name");
			if (!json_is_type(t, "function"))
				return (xlate_fail(x, "tools[%d]: only function "
				    "tools can be sent to this provider", i));
			if (!json_is_str(name) || name->data.string[0] == '\0')
				return (xlate_fail(x, "tools[%d].name must be "
				    "a non-empty string", i));
			kore_buf_appendf(out, "%s{\"type\":\"function\","
			    "\"function\":{\"name\":", i ? "," :
			    ",\"tools\":[");
			json_str(out, name->data.string);
			if (json_is_str(v = json_get(t, "description"))) {
				kore_buf_appendf(out, ",\"description\":");
				json_str(out, v->data.string);
			}
			if ((v = json_get(t, "parameters")) != NULL) {
				if (v->type != KORE_JSON_TYPE_OBJECT)
					return (xlate_fail(x, "tools[%d]."
					    "parameters must be an object", i));
				kore_buf_appendf(out, ",\"parameters\":");
				json_value(out, v);
			}
			kore_buf_appendf(out, "}}");
			i++;
		}
		if (i > 0)
			kore_buf_appendf(out, "]");
		else
			tools = NULL;
	}

	if ((tc = json_get(root, "tool_choice")) == NULL || tools == NULL)
		return (0);
	if (json_is_str(tc)) {
		if (strcmp(tc->data.string, "auto") != 0 &&
		    strcmp(tc->data.string, "none") != 0 &&
		    strcmp(tc->data.string, "required") != 0)
			return (xlate_fail(x, "tool_choice '%s' is not one of "
			    "auto, none, required", tc->data.string));
		kore_buf_appendf(out, ",\"tool_choice\":");
		json_str(out, tc->data.string);
		return (0);
	}
	name = json_get(tc, "name");
	if (!json_is_type(tc, "function") || !json_is_str(name))
		return (xlate_fail(x, "tool_choice must be auto, none, "
		    "required or {\"type\":\"function\",\"name\":...}"));
	kore_buf_appendf(out, ",\"tool_choice\":{\"type\":\"function\","
	    "\"function\":{\"name\":");
	json_str(out, name->data.string);
	kore_buf_appendf(out, "}}");
	return (0);
}

/* Sampling, limits, text.format and reasoning.effort as chat's. */
static int
options_to_chat(struct xlate_ctx *x, struct kore_json_item *root,
    struct kore_buf *out)
{
	static const char	*nums[] = { "temperature", "top_p", NULL };
	static const char	*efforts[] = { "none", "minimal", "low",
				    "medium", "high", "xhigh", NULL };
	struct kore_json_item	*v, *f, *t, *s;
	double			 d;
	int64_t			 n;
	int			 i, b;

	for (i = 0; nums[i] != NULL; i++) {
		if ((v = json_get(root, nums[i])) == NULL)
			continue;
		if (json_num(v, &d) == -1)
			return (xlate_fail(x, "%s must be a number", nums[i]));
		kore_buf_appendf(out, ",\"%s\":", nums[i]);
		json_double(out, d);
	}
	if ((v = json_get(root, "max_output_tokens")) != NULL) {
		if (json_int(v, &n) == -1 || n < 1)
			return (xlate_fail(x, "max_output_tokens must be a "
			    "positive integer"));
		kore_buf_appendf(out, ",\"max_tokens\":%" PRId64, n);
	}
	if ((v = json_get(root, "parallel_tool_calls")) != NULL) {
		if (json_bool(v, &b) == -1)
			return (xlate_fail(x, "parallel_tool_calls must be a "
			    "boolean"));
		kore_buf_appendf(out, ",\"parallel_tool_calls\":%s",
		    b ? "true" : "false");
	}
	if ((v = json_get(root, "user")) != NULL) {
		if (!json_is_str(v))
			return (xlate_fail(x, "user must be a string"));
		kore_buf_appendf(out, ",\"user\":");
		json_str(out, v->data.string);
	}
	if ((f = json_get(json_get(root, "text"), "format")) != NULL) {
		if (!json_is_str(t = json_get(f, "type")))
			return (xlate_fail(x, "text.format must be an object "
			    "with a string type"));
		if (strcmp(t->data.string, "json_schema") == 0) {
			s = json_get(f, "schema");
			if (!json_is(s, KORE_JSON_TYPE_OBJECT))
				return (xlate_fail(x, "text.format.schema must "
				    "be an object"));
			kore_buf_appendf(out, ",\"response_format\":{\"type\":"
			    "\"json_schema\",\"json_schema\":{\"name\":");
			v = json_get(f, "name");
			json_str(out, json_is_str(v) ? v->data.string :
			    "response");
			kore_buf_appendf(out, ",\"schema\":");
			json_value(out, s);
			if (json_bool(json_get(f, "strict"), &b) == 0)
				kore_buf_appendf(out, ",\"strict\":%s",
				    b ? "true" : "false");
			kore_buf_appendf(out, "}}");
		} else if (strcmp(t->data.string, "json_object") == 0) {
			kore_buf_appendf(out, ",\"response_format\":{\"type\":"
			    "\"json_object\"}");
		} else if (strcmp(t->data.string, "text") != 0) {
			return (xlate_fail(x, "text.format.type '%s' is not one "
			    "of text, json_schema, json_object",
			    t->data.string));
		}
	}
	if ((v = json_get(json_get(root, "reasoning"), "effort")) != NULL) {
		for (i = 0; efforts[i] != NULL && (!json_is_str(v) ||
		    strcmp(v->data.string, efforts[i]) != 0); i++)
			;
		if (efforts[i] == NULL)
			return (xlate_fail(x, "reasoning.effort must be one of "
			    "none, minimal, low, medium, high, xhigh"));
		kore_buf_appendf(out, ",\"reasoning_effort\":\"%s\"",
		    efforts[i]);
	}
	return (0);
}

/*
 * A Responses request as a chat request. instructions come first as a
 * system message; input follows, its function_call items joined to the
 * assistant message before them.
 */
int
responses_request_to_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *v;
	int			 nm;

	if ((root = xlate_begin(x)) == NULL)
		return (-1);
	if (json_get(root, "previous_response_id") != NULL)
		return (xlate_fail(x, "previous_response_id is not supported "
		    "by this provider: it keeps no responses; send the whole "
		    "conversation in input"));
	if (json_get(root, "conversation") != NULL)
		return (xlate_fail(x, "conversation is not supported by this "
		    "provider: it keeps no conversations; send the whole "
		    "conversation in input"));
	if ((v = json_get(root, "background")) != NULL &&
	    v->type == KORE_JSON_TYPE_LITERAL &&
	    v->data.literal == KORE_JSON_TRUE)
		return (xlate_fail(x, "background is not supported by this "
		    "provider"));

	kore_buf_appendf(out, "{\"model\":");
	json_str(out, x->model != NULL ? x->model : "");
	kore_buf_appendf(out, ",\"messages\":[");
	nm = 0;
	if ((v = json_get(root, "instructions")) != NULL) {
		if (!json_is_str(v))
			return (xlate_fail(x, "instructions must be a string"));
		if (v->data.string[0] != '\0') {
			json_sep(out, &nm);
			kore_buf_appendf(out, "{\"role\":\"system\","
			    "\"content\":");
			json_str(out, v->data.string);
			kore_buf_appendf(out, "}");
		}
	}
	if (input_items(x, json_get(root, "input"), out, &nm) == -1)
		return (-1);
	kore_buf_appendf(out, "]");
	if (tools_to_chat(x, root, out) == -1 ||
	    options_to_chat(x, root, out) == -1)
		return (-1);
	if (x->stream)
		kore_buf_appendf(out, ",\"stream\":true,\"stream_options\":"
		    "{\"include_usage\":true}");
	kore_buf_appendf(out, "}");
	return (0);
}

/* The Responses API's usage object. */
void
responses_usage(const struct xlate_usage *u, struct kore_buf *out)
{
	int64_t	p, c;

	p = u->prompt_tokens < 0 ? 0 : u->prompt_tokens;
	c = u->completion_tokens < 0 ? 0 : u->completion_tokens;
	kore_buf_appendf(out, "\"usage\":{\"input_tokens\":%" PRId64
	    ",\"input_tokens_details\":{\"cached_tokens\":%" PRId64 "},"
	    "\"output_tokens\":%" PRId64 ",\"output_tokens_details\":"
	    "{\"reasoning_tokens\":%" PRId64 "},\"total_tokens\":%" PRId64 "}",
	    p, u->cached_tokens < 0 ? 0 : u->cached_tokens, c,
	    u->reasoning_tokens < 0 ? 0 : u->reasoning_tokens, p + c);
}

/*
 * A response object up to its output array's opening bracket: status,
 * and incomplete_details for an answer cut by its token limit.
 */
void
responses_open(struct kore_buf *out, const char *id, int64_t created,
    const char *model, const char *finish)
{
	int	incomplete;

	incomplete = finish != NULL && strcmp(finish, "length") == 0;
	kore_buf_appendf(out, "{\"id\":");
	json_str(out, id);
	kore_buf_appendf(out, ",\"object\":\"response\",\"created_at\":%"
	    PRId64 ",\"status\":\"%s\",\"error\":null,\"incomplete_details\":",
	    created, finish == NULL ? "in_progress" : incomplete ?
	    "incomplete" : "completed");
	if (incomplete)
		kore_buf_appendf(out, "{\"reason\":\"max_output_tokens\"}");
	else
		kore_buf_appendf(out, "null");
	kore_buf_appendf(out, ",\"instructions\":null,\"max_output_tokens\":"
	    "null,\"metadata\":{},\"model\":");
	json_str(out, model != NULL ? model : "");
	kore_buf_appendf(out, ",\"parallel_tool_calls\":true,"
	    "\"previous_response_id\":null,\"reasoning\":{\"effort\":null,"
	    "\"summary\":null},\"store\":false,\"temperature\":null,\"text\":"
	    "{\"format\":{\"type\":\"text\"}},\"tool_choice\":\"auto\","
	    "\"tools\":[],\"top_p\":null,\"truncation\":\"disabled\","
	    "\"user\":null,\"output\":[");
}

/* A whole chat completion as a response object. */
int
responses_response_from_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *ch, *msg, *c, *p, *tc, *fn, *id, *fr;
	struct xlate_usage	 u;
	struct kore_buf		 text;
	char			 rid[128];
	int			 n;

	xlate_usage_init(&u);
	if ((root = xlate_begin(x)) == NULL)
		return (-1);
	ch = json_first(json_get(root, "choices"));
	if ((msg = json_get(ch, "message")) == NULL ||
	    msg->type != KORE_JSON_TYPE_OBJECT)
		return (-1);
	openai_usage_read(json_get(root, "usage"), &u);
	if (x->usage != NULL)
		*x->usage = u;
	id = json_get(root, "id");
	anthropic_id_from(rid, sizeof(rid), json_is_str(id) ? id->data.string :
	    "", "chatcmpl-", "resp_");
	fr = json_get(ch, "finish_reason");

	responses_open(out, rid, (int64_t)time(NULL), x->model, json_is_str(fr) ?
	    fr->data.string : "stop");
	n = 0;
	if (json_is_str(c = json_get(msg, "reasoning_content")) &&
	    c->data.string[0] != '\0') {
		json_sep(out, &n);
		kore_buf_appendf(out, "{\"type\":\"reasoning\",\"id\":\"rs_%s\","
		    "\"summary\":[{\"type\":\"summary_text\",\"text\":",
		    rid + 5);
		json_str(out, c->data.string);
		kore_buf_appendf(out, "}]}");
	}
	kore_buf_init(&text, 256);
	c = json_get(msg, "content");
	if (json_is_str(c)) {
		kore_buf_appendf(&text, "%s", c->data.string);
	} else if (json_is(c, KORE_JSON_TYPE_ARRAY)) {
		TAILQ_FOREACH(p, &c->data.items, list) {
			if (json_is_str(json_get(p, "text")))
				kore_buf_appendf(&text, "%s",
				    json_get(p, "text")->data.string);
		}
	}
	if (text.offset > 0) {
		json_sep(out, &n);
		kore_buf_appendf(out, "{\"type\":\"message\",\"id\":");
		kore_buf_stringify(&text, NULL);
		text.offset--;		/* the NUL stays after the text */
		responses_item_id(out, ITEM_MESSAGE, (const char *)text.data, NULL,
		    NULL);
		kore_buf_appendf(out, ",\"status\":\"completed\",\"role\":"
		    "\"assistant\",\"content\":[{\"type\":\"output_text\","
		    "\"text\":");
		json_strn(out, text.data, text.offset);
		kore_buf_appendf(out, ",\"annotations\":[],\"logprobs\":[]}]}");
	}
	kore_buf_cleanup(&text);
	if (json_is(tc = json_get(msg, "tool_calls"), KORE_JSON_TYPE_ARRAY)) {
		TAILQ_FOREACH(p, &tc->data.items, list) {
			fn = json_get(p, "function");
			id = json_get(p, "id");
			if (!json_is_str(json_get(fn, "name")) ||
			    !json_is_str(id))
				return (-1);
			json_sep(out, &n);
			kore_buf_appendf(out, "{\"type\":\"function_call\","
			    "\"id\":");
			responses_item_id(out, ITEM_CALL, id->data.string,
			    json_get(fn, "name")->data.string,
			    json_is_str(json_get(fn, "arguments")) ?
			    json_get(fn, "arguments")->data.string : "{}");
			kore_buf_appendf(out, ",\"call_id\":");
			json_str(out, id->data.string);
			kore_buf_appendf(out, ",\"name\":");
			json_str(out, json_get(fn, "name")->data.string);
			kore_buf_appendf(out, ",\"arguments\":");
			json_str(out, json_is_str(json_get(fn, "arguments")) ?
			    json_get(fn, "arguments")->data.string : "{}");
			kore_buf_appendf(out, ",\"status\":\"completed\"}");
		}
	}
	kore_buf_appendf(out, "],");
	responses_usage(&u, out);
	kore_buf_appendf(out, "}");
	return (0);
}

