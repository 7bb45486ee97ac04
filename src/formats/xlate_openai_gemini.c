/*
 * OpenAI clients in front of Gemini upstreams: an OpenAI chat request
 * becomes a generateContent request (Gemini names the model in the URL),
 * and the answer or the streamGenerateContent chunks come back as an
 * OpenAI chat completion or chunks.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>

#include "formats/formats.h"

static int	user_part(struct xlate_ctx *, struct kore_json_item *,
		    const char *, const char *, struct kore_buf *, int *);
static int	assistant_parts(struct xlate_ctx *, struct kore_json_item *,
		    const char *, struct kore_buf *, int *);
static int	tools_emit(struct xlate_ctx *, struct kore_json_item *,
		    struct kore_buf *);
static int	tool_choice_emit(struct xlate_ctx *, struct kore_json_item *,
		    struct kore_buf *);
static int	generation_config(struct xlate_ctx *, struct kore_json_item *,
		    struct kore_buf *);
static void	stream_finish_chunk(struct xlate_stream *, int64_t,
		    const char *, struct kore_buf *);

/*
 * One block of an OpenAI user message's content that is not text (the
 * part loop of gemini_content_parts), as a Gemini part.
 */
static int
user_part(struct xlate_ctx *x, struct kore_json_item *p, const char *type,
    const char *w, struct kore_buf *parts, int *nparts)
{
	struct kore_json_item	*v, *url, *fmt;
	char			 mime[32];

	if (strcmp(type, "image_url") == 0) {
		v = json_get(p, "image_url");
		url = json_is(v, KORE_JSON_TYPE_OBJECT) ? json_get(v, "url") : v;
		if (!json_is_str(url))
			return (xlate_fail(x, "%s.image_url.url must be a "
			    "string", w));
		if (gemini_media_part(x, parts, nparts, url->data.string,
		    w) == -1)
			return (-1);
	} else if (strcmp(type, "input_audio") == 0) {
		v = json_get(p, "input_audio");
		url = json_get(v, "data");
		fmt = json_get(v, "format");
		if (!json_is_str(url) || !json_is_str(fmt) ||
		    strlen(fmt->data.string) > 16)
			return (xlate_fail(x, "%s.input_audio needs data and "
			    "format strings", w));
		(void)snprintf(mime, sizeof(mime), "audio/%s",
		    fmt->data.string);
		gemini_inline_part(parts, nparts, mime, url->data.string);
	} else if (strcmp(type, "file") == 0) {
		v = json_get(p, "file");
		url = json_get(v, "file_data");
		if (!json_is_str(url))
			return (xlate_fail(x, "%s.file.file_data must be a "
			    "data: URL (file_id is not supported by Gemini)",
			    w));
		if (gemini_media_part(x, parts, nparts, url->data.string,
		    w) == -1)
			return (-1);
	} else {
		return (xlate_fail(x, "%s.type \"%s\" is not supported", w,
		    type));
	}
	return (0);
}

/* An assistant message: its text, then a functionCall per tool call. */
static int
assistant_parts(struct xlate_ctx *x, struct kore_json_item *msg,
    const char *where, struct kore_buf *parts, int *nparts)
{
	struct kore_json_item	*calls, *c, *id, *fn, *name, *type, *fc;
	struct kore_buf		 text;
	char			 w[96];
	int			 i, rc;

	kore_buf_init(&text, 64);
	(void)snprintf(w, sizeof(w), "%s.content", where);
	rc = xlate_text_of(x, json_get(msg, "content"), w, &text, "");
	if (rc == 0 && text.offset > 0) {
		gemini_text_part(parts, nparts, text.data, text.offset);
	}
	kore_buf_cleanup(&text);
	if (rc == -1)
		return (-1);

	if ((calls = json_get(msg, "tool_calls")) != NULL) {
		if (calls->type != KORE_JSON_TYPE_ARRAY)
			return (xlate_fail(x, "%s.tool_calls must be an array",
			    where));
		i = 0;
		TAILQ_FOREACH(c, &calls->data.items, list) {
			(void)snprintf(w, sizeof(w), "%s.tool_calls[%d]",
			    where, i++);
			id = json_get(c, "id");
			fn = json_get(c, "function");
			name = json_get(fn, "name");
			type = json_get(c, "type");
			if (type != NULL && (!json_is_str(type) ||
			    strcmp(type->data.string, "function") != 0))
				return (xlate_fail(x,
				    "%s.type must be \"function\"",
				    w));
			if (!json_is_str(id))
				return (xlate_fail(x, "%s.id must be a string",
				    w));
			if (!json_is_str(name))
				return (xlate_fail(x,
				    "%s.function.name must be a "
				    "string", w));
			(void)snprintf(w, sizeof(w), "%s.tool_calls[%d]."
			    "function", where, i - 1);
			xlate_calls_grow(x);
			x->calls[x->ncalls].name = name->data.string;
			if (gemini_function_call_part(x, id->data.string,
			    json_get(fn, "arguments"), w, parts, nparts) == -1)
				return (-1);
		}
	}

	/* The legacy single function_call. */
	if ((fc = json_get(msg, "function_call")) != NULL) {
		name = json_get(fc, "name");
		if (!json_is_str(name))
			return (xlate_fail(x, "%s.function_call.name must be a "
			    "string", where));
		(void)snprintf(w, sizeof(w), "%s.function_call", where);
		xlate_calls_grow(x);
		x->calls[x->ncalls].name = name->data.string;
		if (gemini_function_call_part(x, "", json_get(fc, "arguments"),
		    w, parts,
		    nparts) == -1)
			return (-1);
	}
	return (0);
}

/* tools: [{type:function, function:{name,description,parameters}}]. */
static int
tools_emit(struct xlate_ctx *x, struct kore_json_item *tools,
    struct kore_buf *b)
{
	struct kore_json_item	*t, *type, *fn, *name, *desc, *params;
	int			 i;

	if (tools->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(x, "tools must be an array"));
	kore_buf_appendf(b, "\"tools\":[{\"functionDeclarations\":[");
	i = 0;
	TAILQ_FOREACH(t, &tools->data.items, list) {
		type = json_get(t, "type");
		fn = json_get(t, "function");
		if (!json_is_str(type) ||
		    strcmp(type->data.string, "function") != 0)
			return (xlate_fail(x,
			    "tools[%d].type must be \"function\" "
			    "(the only kind Gemini is given)", i));
		if (!json_is(fn, KORE_JSON_TYPE_OBJECT))
			return (xlate_fail(x,
			    "tools[%d].function must be an object",
			    i));
		name = json_get(fn, "name");
		desc = json_get(fn, "description");
		params = json_get(fn, "parameters");
		if (!json_is_str(name) || name->data.string[0] == '\0')
			return (xlate_fail(x,
			    "tools[%d].function.name must be a "
			    "non-empty string", i));
		if (desc != NULL && desc->type != KORE_JSON_TYPE_STRING)
			return (xlate_fail(x,
			    "tools[%d].function.description must "
			    "be a string", i));
		if (params != NULL && params->type != KORE_JSON_TYPE_OBJECT)
			return (xlate_fail(x,
			    "tools[%d].function.parameters must be "
			    "an object", i));
		if (i > 0)
			kore_buf_appendf(b, ",");
		kore_buf_appendf(b, "{\"name\":");
		json_str(b, name->data.string);
		if (desc != NULL) {
			kore_buf_appendf(b, ",\"description\":");
			json_str(b, desc->data.string);
		}
		/* Gemini refuses an OBJECT with no properties: say none. */
		if (params != NULL && gemini_schema_nonempty(params)) {
			kore_buf_appendf(b, ",\"parameters\":");
			gemini_schema_emit(b, params);
		}
		kore_buf_appendf(b, "}");
		i++;
	}
	kore_buf_appendf(b, "]}]");
	return (0);
}

/* tool_choice as toolConfig.functionCallingConfig. */
static int
tool_choice_emit(struct xlate_ctx *x, struct kore_json_item *tc,
    struct kore_buf *b)
{
	struct kore_json_item	*name;
	const char		*mode;

	name = NULL;
	if (tc->type == KORE_JSON_TYPE_STRING) {
		if (strcmp(tc->data.string, "auto") == 0)
			mode = "AUTO";
		else if (strcmp(tc->data.string, "none") == 0)
			mode = "NONE";
		else if (strcmp(tc->data.string, "required") == 0)
			mode = "ANY";
		else
			return (xlate_fail(x, "tool_choice must be \"auto\", "
			    "\"none\", \"required\" or a function"));
	} else if (tc->type == KORE_JSON_TYPE_OBJECT) {
		name = json_get(json_get(tc, "function"), "name");
		if (!json_is_str(name))
			return (xlate_fail(x,
			    "tool_choice.function.name must be a "
			    "string"));
		mode = "ANY";
	} else {
		return (xlate_fail(x,
		    "tool_choice must be a string or an object"));
	}
	kore_buf_appendf(b, ",\"toolConfig\":{\"functionCallingConfig\":"
	    "{\"mode\":\"%s\"", mode);
	if (name != NULL) {
		kore_buf_appendf(b, ",\"allowedFunctionNames\":[");
		json_str(b, name->data.string);
		kore_buf_appendf(b, "]");
	}
	kore_buf_appendf(b, "}}");
	return (0);
}

/* Sampling and output options as generationConfig (b gets the members). */
static int
generation_config(struct xlate_ctx *x, struct kore_json_item *root,
    struct kore_buf *b)
{
	static const struct {
		const char	*openai;
		const char	*gemini;
		int		 integer;
	} simple[] = {
		{ "temperature", "temperature", 0 },
		{ "top_p", "topP", 0 },
		{ "top_k", "topK", 1 },
		{ "n", "candidateCount", 1 },
		{ "seed", "seed", 1 },
		{ "presence_penalty", "presencePenalty", 0 },
		{ "frequency_penalty", "frequencyPenalty", 0 },
		{ NULL, NULL, 0 }
	};
	struct kore_json_item	*v, *s, *rf, *type, *js, *schema;
	double			 d;
	int64_t			 n;
	int			 nm, i;

	nm = 0;
	for (i = 0; simple[i].openai != NULL; i++) {
		if ((v = json_get(root, simple[i].openai)) == NULL)
			continue;
		if (simple[i].integer) {
			if (json_int(v, &n) == -1)
				return (xlate_fail(x, "%s must be an integer",
				    simple[i].openai));
			json_key(b, simple[i].gemini, nm++ == 0);
			kore_buf_appendf(b, "%" PRId64, n);
		} else {
			if (json_num(v, &d) == -1)
				return (xlate_fail(x, "%s must be a number",
				    simple[i].openai));
			json_key(b, simple[i].gemini, nm++ == 0);
			json_double(b, d);
		}
	}

	if ((v = json_get(root, "max_completion_tokens")) == NULL)
		v = json_get(root, "max_tokens");
	if (v != NULL) {
		if (json_int(v, &n) == -1 || n < 1)
			return (xlate_fail(x, "%s must be a positive integer",
			    v->name));
		json_key(b, "maxOutputTokens", nm++ == 0);
		kore_buf_appendf(b, "%" PRId64, n);
	}

	if ((v = json_get(root, "stop")) != NULL) {
		if (v->type == KORE_JSON_TYPE_STRING) {
			json_key(b, "stopSequences", nm++ == 0);
			kore_buf_appendf(b, "[");
			json_str(b, v->data.string);
			kore_buf_appendf(b, "]");
		} else if (v->type == KORE_JSON_TYPE_ARRAY) {
			TAILQ_FOREACH(s, &v->data.items, list) {
				if (s->type != KORE_JSON_TYPE_STRING)
					return (xlate_fail(x,
					    "stop must be a string "
					    "or an array of strings"));
			}
			json_key(b, "stopSequences", nm++ == 0);
			json_value(b, v);
		} else {
			return (xlate_fail(x,
			    "stop must be a string or an array of "
			    "strings"));
		}
	}

	if (json_is_str(v = json_get(root, "reasoning_effort"))) {
		n = xlate_effort_budget(v->data.string, 1024, 8192, 24576);
		json_key(b, "thinkingConfig", nm++ == 0);
		kore_buf_appendf(b, "{\"thinkingBudget\":%" PRId64
		    ",\"includeThoughts\":%s}", n, n > 0 ? "true" : "false");
	}

	if ((rf = json_get(root, "response_format")) != NULL) {
		type = json_get(rf, "type");
		if (!json_is_str(type))
			return (xlate_fail(x, "response_format.type must be a "
			    "string"));
		if (strcmp(type->data.string, "json_object") == 0) {
			json_key(b, "responseMimeType", nm++ == 0);
			json_str(b, "application/json");
		} else if (strcmp(type->data.string, "json_schema") == 0) {
			js = json_get(rf, "json_schema");
			schema = json_get(js, "schema");
			if (!json_is(js,
			    KORE_JSON_TYPE_OBJECT) || (schema != NULL &&
			    schema->type != KORE_JSON_TYPE_OBJECT))
				return (xlate_fail(x,
				    "response_format.json_schema "
				    "must be an object with an object schema"));
			json_key(b, "responseMimeType", nm++ == 0);
			json_str(b, "application/json");
			if (schema != NULL) {
				json_key(b, "responseSchema", nm++ == 0);
				gemini_schema_emit(b, schema);
			}
		} else if (strcmp(type->data.string, "text") != 0) {
			return (xlate_fail(x,
			    "response_format.type \"%s\" is not "
			    "supported", type->data.string));
		}
	}
	return (0);
}

/*
 * An OpenAI chat completions request as a GenerateContentRequest. The
 * model goes in the URL, the stream choice in the method name: neither
 * is in the body.
 */
int
gemini_request_from_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *msgs, *m, *role, *v, *id, *name;
	struct kore_buf		 contents, sys, parts, text, gc;
	const char		*cur, *trole, *fname;
	char			 w[64], cw[80];
	int			 rc, i, nparts, nsys;

	kore_buf_init(&contents, 1024);
	kore_buf_init(&sys, 256);
	kore_buf_init(&parts, 256);
	kore_buf_init(&text, 256);
	kore_buf_init(&gc, 128);
	cur = NULL;
	nsys = 0;
	rc = -1;

	if ((root = xlate_begin(x)) == NULL)
		goto done;
	if ((msgs = xlate_messages(x, root)) == NULL)
		goto done;

	i = 0;
	TAILQ_FOREACH(m, &msgs->data.items, list) {
		(void)snprintf(w, sizeof(w), "messages[%d]", i);
		(void)snprintf(cw, sizeof(cw), "messages[%d].content", i++);
		if (m->type != KORE_JSON_TYPE_OBJECT) {
			(void)xlate_fail(x, "%s must be an object", w);
			goto done;
		}
		role = json_get(m, "role");
		if (!json_is_str(role)) {
			(void)xlate_fail(x, "%s.role must be a string", w);
			goto done;
		}
		kore_buf_reset(&parts);
		kore_buf_reset(&text);
		nparts = 0;
		trole = NULL;

		if (strcmp(role->data.string, "system") == 0 ||
		    strcmp(role->data.string, "developer") == 0) {
			if (xlate_text_of(x, json_get(m, "content"), cw, &text,
			    "") == -1)
				goto done;
			if (text.offset == 0)
				continue;
			gemini_text_part(&sys, &nsys, text.data, text.offset);
			continue;
		} else if (strcmp(role->data.string, "user") == 0) {
			if (gemini_content_parts(x, json_get(m, "content"), w, user_part,
			    &parts,
			    &nparts) == -1)
				goto done;
			trole = "user";
		} else if (strcmp(role->data.string, "assistant") == 0) {
			if (assistant_parts(x, m, w, &parts, &nparts) == -1)
				goto done;
			trole = "model";
		} else if (strcmp(role->data.string, "tool") == 0) {
			id = json_get(m, "tool_call_id");
			if (!json_is_str(id)) {
				(void)xlate_fail(x, "%s.tool_call_id must be a "
				    "string", w);
				goto done;
			}
			if ((fname = xlate_call_name(x, id->data.string)) ==
			    NULL) {
				(void)xlate_fail(x, "%s.tool_call_id \"%.64s\" "
				    "answers no earlier tool call", w,
				    id->data.string);
				goto done;
			}
			if (xlate_text_of(x, json_get(m, "content"), cw, &text,
			    "") == -1)
				goto done;
			kore_buf_stringify(&text, NULL);
			gemini_function_response_part(fname,
			    (const char *)text.data, &parts, &nparts);
			trole = "user";
		} else if (strcmp(role->data.string, "function") == 0) {
			name = json_get(m, "name");
			if (!json_is_str(name)) {
				(void)xlate_fail(x, "%s.name must be a string",
				    w);
				goto done;
			}
			if (xlate_text_of(x, json_get(m, "content"), cw, &text,
			    "") == -1)
				goto done;
			kore_buf_stringify(&text, NULL);
			gemini_function_response_part(name->data.string,
			    (const char *)text.data, &parts, &nparts);
			trole = "user";
		} else {
			(void)xlate_fail(x, "%s.role \"%.32s\" is not one of "
			    "system, developer, user, assistant, tool", w,
			    role->data.string);
			goto done;
		}
		if (nparts > 0)
			xlate_turn_add(&contents, &cur, trole, "parts", &parts);
	}
	if (cur == NULL) {
		(void)xlate_fail(x, "messages must hold a user or assistant "
		    "message with content");
		goto done;
	}
	kore_buf_appendf(&contents, "]}");

	kore_buf_reset(&parts);
	if ((v = json_get(root, "tools")) != NULL && json_is(v,
	    KORE_JSON_TYPE_ARRAY) &&
	    TAILQ_EMPTY(&v->data.items))
		v = NULL;
	if (v != NULL) {
		kore_buf_appendf(&parts, ",");
		if (tools_emit(x, v, &parts) == -1)
			goto done;
		if ((v = json_get(root, "tool_choice")) != NULL &&
		    tool_choice_emit(x, v, &parts) == -1)
			goto done;
	} else if ((v = json_get(root, "tool_choice")) != NULL &&
	    v->type != KORE_JSON_TYPE_STRING &&
	    v->type != KORE_JSON_TYPE_OBJECT) {
		(void)xlate_fail(x,
		    "tool_choice must be a string or an object");
		goto done;
	}
	if (generation_config(x, root, &gc) == -1)
		goto done;

	kore_buf_appendf(out, "{\"contents\":[");
	kore_buf_append(out, contents.data, contents.offset);
	kore_buf_appendf(out, "]");
	if (nsys > 0) {
		kore_buf_appendf(out, ",\"systemInstruction\":{\"parts\":[");
		kore_buf_append(out, sys.data, sys.offset);
		kore_buf_appendf(out, "]}");
	}
	kore_buf_append(out, parts.data, parts.offset);
	if (gc.offset > 0) {
		kore_buf_appendf(out, ",\"generationConfig\":{");
		kore_buf_append(out, gc.data, gc.offset);
		kore_buf_appendf(out, "}");
	}
	kore_buf_appendf(out, "}");
	rc = 0;

done:
	kore_buf_cleanup(&contents);
	kore_buf_cleanup(&sys);
	kore_buf_cleanup(&parts);
	kore_buf_cleanup(&text);
	kore_buf_cleanup(&gc);
	return (rc);
}

/*
 * A whole GenerateContentResponse as a chat.completion for model: one
 * choice per candidate, usage filled from usageMetadata (-1 where not
 * reported). -1 when the body is not a GenerateContentResponse.
 */
int
gemini_response_to_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *cands, *c, *fb, *br, *fr, *idx, *rid;
	struct xlate_usage	 u;
	struct gemini_parts	 g;
	int64_t			 total, cached, thoughts, tooluse, n;
	char			 hex[33];
	int			 rc, i, has_usage;

	rc = -1;
	xlate_usage_init(&u);
	if ((root = xlate_begin(x)) == NULL)
		goto done;
	cands = json_get(root, "candidates");
	fb = json_get(root, "promptFeedback");
	if (cands != NULL && cands->type != KORE_JSON_TYPE_ARRAY)
		goto done;
	if (cands == NULL && !json_is(fb, KORE_JSON_TYPE_OBJECT))
		goto done;
	if (gemini_error_object(root) != NULL)
		goto done;
	has_usage = gemini_usage_read(root, &u, &total, &cached, &thoughts,
	    &tooluse);

	kore_buf_appendf(out, "{\"id\":");
	rid = json_get(root, "responseId");
	if (json_is_str(rid) && gemini_id_ok(rid->data.string, 48)) {
		kore_buf_appendf(out, "\"chatcmpl-%s\"", rid->data.string);
	} else {
		secrets_random_hex(hex, sizeof(hex), 12);
		kore_buf_appendf(out, "\"chatcmpl-%s\"", hex);
	}
	kore_buf_appendf(out,
	    ",\"object\":\"chat.completion\",\"created\":%lld,"
	    "\"model\":", (long long)time(NULL));
	json_str(out, x->model);
	kore_buf_appendf(out, ",\"choices\":[");

	i = 0;
	if (cands != NULL) {
		TAILQ_FOREACH(c, &cands->data.items, list) {
			if (c->type != KORE_JSON_TYPE_OBJECT)
				continue;
			gemini_parts_init(&g);
			gemini_parts_read(c, &g, 0, 0);
			fr = json_get(c, "finishReason");
			idx = json_get(c, "index");
			if (json_int(idx, &n) == -1 || n < 0 || n > 1000)
				n = i;
			if (i > 0)
				kore_buf_appendf(out, ",");
			kore_buf_appendf(out,
			    "{\"index\":%" PRId64 ",\"message\":"
			    "{\"role\":\"assistant\",\"content\":", n);
			if (g.text.offset == 0 && g.ncalls > 0)
				kore_buf_appendf(out, "null");
			else
				json_strn(out, (const char *)g.text.data,
				    g.text.offset);
			if (g.thought.offset > 0) {
				kore_buf_appendf(out,
				    ",\"reasoning_content\":");
				json_strn(out, (const char *)g.thought.data,
				    g.thought.offset);
			}
			if (g.ncalls > 0) {
				kore_buf_appendf(out, ",\"tool_calls\":[");
				kore_buf_append(out, g.calls.data,
				    g.calls.offset);
				kore_buf_appendf(out, "]");
			}
			kore_buf_appendf(out, "},\"logprobs\":null,"
			    "\"finish_reason\":\"%s\"}", gemini_finish_reason(
			    json_is_str(fr) ? fr->data.string : NULL,
			    g.ncalls > 0));
			gemini_parts_cleanup(&g);
			i++;
		}
	}
	if (i == 0) {
		/* Blocked prompt (promptFeedback.blockReason), or nothing. */
		br = json_get(fb, "blockReason");
		kore_buf_appendf(out, "{\"index\":0,\"message\":{\"role\":"
		    "\"assistant\",\"content\":\"\"},\"logprobs\":null,"
		    "\"finish_reason\":\"%s\"}",
		    br != NULL ? "content_filter" : "stop");
	}
	kore_buf_appendf(out, "]");
	if (has_usage) {
		kore_buf_appendf(out, ",\"usage\":{\"prompt_tokens\":%" PRId64
		    ",\"completion_tokens\":%" PRId64 ",\"total_tokens\":%"
		    PRId64 ",\"prompt_tokens_details\":{\"cached_tokens\":%"
		    PRId64 "},\"completion_tokens_details\":"
		    "{\"reasoning_tokens\":%" PRId64 "}}", u.prompt_tokens,
		    u.completion_tokens, total, cached, thoughts);
	}
	kore_buf_appendf(out, "}");
	rc = 0;

done:
	if (x->usage != NULL)
		*x->usage = u;
	return (rc);
}

static void
stream_finish_chunk(struct xlate_stream *st, int64_t index, const char *why,
    struct kore_buf *out)
{
	(void)snprintf(st->finish, sizeof(st->finish), "%s", why);
	openai_finish_chunk(st, index, out);
	st->done = 1;
}

/*
 * One event of streamGenerateContent?alt=sse (a whole
 * GenerateContentResponse) as chat.completion.chunk events: the role
 * first, then content, reasoning and tool call deltas (Gemini sends
 * each call whole: one chunk each), the finish reason and, with it,
 * the usage chunk. usageMetadata is cumulative, so the last one counts.
 * -1 with st->err on an error object or an event that is not JSON.
 */
int
gemini_stream_to_openai(struct xlate_stream *st, const void *data, size_t len,
    struct kore_buf *out)
{
	struct kore_json	 j;
	struct kore_json_item	*root, *e, *msg, *cands, *c, *fr, *idx, *rid;
	struct kore_json_item	*fb;
	struct xlate_usage	 u;
	struct gemini_parts	 g;
	int64_t			 total, cached, thoughts, tooluse, n;
	int			 rc, i, k, has_usage, finished;
	size_t			 start;
	char			 hex[33];

	if (len == 0 || (len == 6 && memcmp(data, "[DONE]", 6) == 0))
		return (0);

	rc = -1;
	finished = 0;
	kore_json_init(&j, data, len);
	if (!kore_json_parse(&j)) {
		(void)snprintf(st->err, sizeof(st->err), "the upstream sent "
		    "an event that is not JSON: %s", kore_json_strerror(&j));
		goto done;
	}
	root = j.root;
	if ((e = gemini_error_object(root)) != NULL) {
		msg = json_get(e, "message");
		(void)snprintf(st->err, sizeof(st->err), "%s",
		    json_is_str(msg) && msg->data.string[0] != '\0' ?
		    msg->data.string : "the upstream reported an error");
		goto done;
	}
	if (root->type != KORE_JSON_TYPE_OBJECT) {
		(void)snprintf(st->err, sizeof(st->err), "the upstream sent "
		    "an event that is not a GenerateContentResponse");
		goto done;
	}
	cands = json_get(root, "candidates");
	if (cands != NULL && cands->type != KORE_JSON_TYPE_ARRAY) {
		(void)snprintf(st->err, sizeof(st->err), "the upstream sent "
		    "candidates that are not an array");
		goto done;
	}

	if (!st->started) {
		if (st->id[0] == '\0') {
			rid = json_get(root, "responseId");
			if (json_is_str(rid) && gemini_id_ok(rid->data.string,
			    sizeof(st->id) - 10)) {
				(void)snprintf(st->id, sizeof(st->id),
				    "chatcmpl-%s", rid->data.string);
			} else {
				secrets_random_hex(hex, sizeof(hex), 12);
				(void)snprintf(st->id, sizeof(st->id),
				    "chatcmpl-%s", hex);
			}
		}
		openai_chunk_open(st, out);
		kore_buf_appendf(out, "{\"index\":0,\"delta\":{\"role\":"
		    "\"assistant\",\"content\":\"\"},\"logprobs\":null,"
		    "\"finish_reason\":null}]}\n\n");
		st->started = 1;
	}

	xlate_usage_init(&u);
	has_usage = gemini_usage_read(root, &u, &total, &cached, &thoughts,
	    &tooluse);
	if (has_usage)
		st->usage = u;

	i = 0;
	if (cands != NULL) {
		TAILQ_FOREACH(c, &cands->data.items, list) {
			if (c->type != KORE_JSON_TYPE_OBJECT)
				continue;
			idx = json_get(c, "index");
			if (json_int(idx, &n) == -1 || n < 0 || n > 1000)
				n = i;
			i++;
			gemini_parts_init(&g);
			gemini_parts_read(c, &g, 1, st->ntools);
			if (g.thought.offset > 0)
				openai_delta_chunk(st, n, "reasoning_content",
				    g.thought.data, g.thought.offset, out);
			if (g.text.offset > 0)
				openai_delta_chunk(st, n, "content",
				    g.text.data, g.text.offset, out);
			/* Gemini sends calls whole: one chunk per call. */
			for (k = 0; k < g.ncalls; k++) {
				start = k == 0 ? 0 : g.ends[k - 1] + 1;
				openai_chunk_open(st, out);
				kore_buf_appendf(out, "{\"index\":%" PRId64
				    ",\"delta\":{\"tool_calls\":[", n);
				kore_buf_append(out, g.calls.data + start,
				    g.ends[k] - start);
				kore_buf_appendf(out, "]},\"logprobs\":null,"
				    "\"finish_reason\":null}]}\n\n");
			}
			st->ntools += g.ncalls;
			gemini_parts_cleanup(&g);
			fr = json_get(c, "finishReason");
			if (json_is_str(fr) && fr->data.string[0] != '\0') {
				stream_finish_chunk(st, n, gemini_finish_reason(
				    fr->data.string, st->ntools > 0), out);
				finished = 1;
			}
		}
	}
	fb = json_get(root, "promptFeedback");
	if (i == 0 && json_get(fb, "blockReason") != NULL && !st->done) {
		stream_finish_chunk(st, 0, "content_filter", out);
		finished = 1;
	}
	if (!st->omit_usage && (finished || (st->done && has_usage)) &&
	    (st->usage.prompt_tokens >= 0 || st->usage.completion_tokens >= 0))
		openai_usage_chunk(st, out);
	rc = 0;

done:
	kore_json_cleanup(&j);
	return (rc);
}
