/*
 * Gemini API clients (generateContent, streamGenerateContent) in front
 * of chat upstreams, and through the pivot of Anthropic ones: a
 * GenerateContentRequest becomes a chat request, a chat completion a
 * GenerateContentResponse, and chat chunks the stream's responses, the
 * last of them carrying the finishReason and the usage. Gemini's calls
 * have no ids: a functionCall's id is "call_<n>" by its place in the
 * history, and a functionResponse answers the earliest call of its name
 * not answered yet.
 */

#include <sys/types.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <kore/kore.h>

#include "formats/formats.h"

/* The tool calls of a history, for the results that answer them. */
struct gcall {
	const char	*name;
	const char	*id;		/* the call's own, or NULL */
	int		 answered;
};

struct gcalls {
	struct gcall	*v;
	size_t		 n;
};

static void	schema_json(struct kore_buf *, const struct kore_json_item *);
static int	contents_to_chat(struct xlate_ctx *, struct kore_json_item *,
		    struct gcalls *, struct kore_buf *, int *);
static int	part_to_chat(struct xlate_ctx *, struct kore_json_item *,
		    const char *, struct kore_buf *, int *);
static void	call_id(struct kore_buf *, const struct gcalls *, size_t);
static int	config_to_chat(struct xlate_ctx *, struct kore_json_item *,
		    struct kore_buf *);
static void	usage_meta(const struct xlate_usage *, struct kore_buf *);
static const char	*finish_to_gemini(const char *);
static void	calls_flush(struct xlate_stream *);
static void	stream_close(struct xlate_stream *, struct kore_buf *);

/* The HTTP status as the name of Google's status code. */
const char *
gemini_status_name(int status)
{
	switch (status) {
	case 400:
	case 413:
	case 422:
		return ("INVALID_ARGUMENT");
	case 401:
		return ("UNAUTHENTICATED");
	case 403:
		return ("PERMISSION_DENIED");
	case 404:
		return ("NOT_FOUND");
	case 408:
	case 504:
		return ("DEADLINE_EXCEEDED");
	case 409:
		return ("ABORTED");
	case 429:
		return ("RESOURCE_EXHAUSTED");
	case 499:
		return ("CANCELLED");
	case 501:
		return ("UNIMPLEMENTED");
	case 502:
	case 503:
		return ("UNAVAILABLE");
	}
	return (status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION");
}

/*
 * A Gemini schema as JSON Schema: the type names ("OBJECT", "STRING")
 * in lower case, everything else as it is.
 */
static void
schema_json(struct kore_buf *b, const struct kore_json_item *s)
{
	const struct kore_json_item	*m;
	char				 t[32];
	size_t				 i;
	int				 n;

	if (s->type == KORE_JSON_TYPE_ARRAY) {
		kore_buf_appendf(b, "[");
		n = 0;
		TAILQ_FOREACH(m, &s->data.items, list) {
			json_sep(b, &n);
			schema_json(b, m);
		}
		kore_buf_appendf(b, "]");
		return;
	}
	if (s->type != KORE_JSON_TYPE_OBJECT) {
		json_value(b, s);
		return;
	}
	kore_buf_appendf(b, "{");
	n = 0;
	TAILQ_FOREACH(m, &s->data.items, list) {
		json_key(b, m->name, n++ == 0);
		if (strcmp(m->name, "type") == 0 && json_is_str(m) &&
		    strlen(m->data.string) < sizeof(t)) {
			for (i = 0; m->data.string[i] != '\0'; i++)
				t[i] = (char)tolower((unsigned char)
				    m->data.string[i]);
			t[i] = '\0';
			json_str(b, t);
		} else {
			schema_json(b, m);
		}
	}
	kore_buf_appendf(b, "}");
}

/* The id of call k of the history. */
static void
call_id(struct kore_buf *b, const struct gcalls *c, size_t k)
{
	if (c->v[k].id != NULL)
		json_str(b, c->v[k].id);
	else
		kore_buf_appendf(b, "\"call_%zu\"", k);
}

/*
 * One user part that is neither text nor a function response, as a
 * chat content part: inline data as a data: URL, file data as its URL.
 */
static int
part_to_chat(struct xlate_ctx *x, struct kore_json_item *p, const char *w,
    struct kore_buf *parts, int *np)
{
	struct kore_json_item	*d, *mt, *v;

	if ((d = json_get(p, "inlineData")) != NULL ||
	    (d = json_get(p, "inline_data")) != NULL) {
		if ((mt = json_get(d, "mimeType")) == NULL)
			mt = json_get(d, "mime_type");
		v = json_get(d, "data");
		if (!json_is_str(mt) || !json_is_str(v))
			return (xlate_fail(x, "%s.inlineData needs mimeType and "
			    "data strings", w));
		json_sep(parts, np);
		if (strncmp(mt->data.string, "image/", 6) == 0) {
			kore_buf_appendf(parts, "{\"type\":\"image_url\","
			    "\"image_url\":{\"url\":\"data:");
		} else {
			kore_buf_appendf(parts, "{\"type\":\"file\",\"file\":"
			    "{\"file_data\":\"data:");
		}
		kore_buf_appendf(parts, "%s;base64,", mt->data.string);
		/* Base64 needs no escaping; anything else is refused. */
		if (strspn(v->data.string, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
		    "ghijklmnopqrstuvwxyz0123456789+/=-_") !=
		    strlen(v->data.string) || strchr(mt->data.string, '"') ||
		    strchr(mt->data.string, '\\'))
			return (xlate_fail(x, "%s.inlineData.data must be "
			    "base64", w));
		kore_buf_appendf(parts, "%s\"}}", v->data.string);
		return (0);
	}
	if ((d = json_get(p, "fileData")) != NULL ||
	    (d = json_get(p, "file_data")) != NULL) {
		if ((v = json_get(d, "fileUri")) == NULL)
			v = json_get(d, "file_uri");
		if (!json_is_str(v))
			return (xlate_fail(x, "%s.fileData.fileUri must be a "
			    "string", w));
		json_sep(parts, np);
		kore_buf_appendf(parts, "{\"type\":\"image_url\",\"image_url\":"
		    "{\"url\":");
		json_str(parts, v->data.string);
		kore_buf_appendf(parts, "}}");
		return (0);
	}
	return (xlate_fail(x, "%s: this kind of part is not supported by "
	    "this provider", w));
}

/* contents as chat messages, after *nm already in out. */
static int
contents_to_chat(struct xlate_ctx *x, struct kore_json_item *contents,
    struct gcalls *calls, struct kore_buf *out, int *nm)
{
	struct kore_json_item	*c, *role, *ps, *p, *v, *fc, *fr, *args;
	struct kore_buf		 parts, text, tc, ab;
	const char		*r;
	char			 w[64];
	size_t			 k;
	int			 i, j, np, ntc, model, rc;

	if (!json_is(contents, KORE_JSON_TYPE_ARRAY) ||
	    TAILQ_EMPTY(&contents->data.items))
		return (xlate_fail(x, "contents must be a non-empty array"));
	rc = -1;
	kore_buf_init(&parts, 256);
	kore_buf_init(&text, 256);
	kore_buf_init(&tc, 256);
	kore_buf_init(&ab, 256);
	i = 0;
	TAILQ_FOREACH(c, &contents->data.items, list) {
		role = json_get(c, "role");
		r = json_is_str(role) ? role->data.string : "user";
		model = strcmp(r, "model") == 0;
		if (!model && strcmp(r, "user") != 0) {
			(void)xlate_fail(x, "contents[%d].role must be user or "
			    "model", i);
			goto done;
		}
		if (!json_is(ps = json_get(c, "parts"), KORE_JSON_TYPE_ARRAY)) {
			(void)xlate_fail(x, "contents[%d].parts must be an "
			    "array", i);
			goto done;
		}
		kore_buf_reset(&parts);
		kore_buf_reset(&text);
		kore_buf_reset(&tc);
		np = ntc = 0;
		j = 0;
		TAILQ_FOREACH(p, &ps->data.items, list) {
			(void)snprintf(w, sizeof(w), "contents[%d].parts[%d]",
			    i, j++);
			fc = json_get(p, "functionCall");
			fr = json_get(p, "functionResponse");
			if (json_is_str(v = json_get(p, "text"))) {
				if (json_get(p, "thought") != NULL)
					continue;
				kore_buf_appendf(&text, "%s", v->data.string);
				json_sep(&parts, &np);
				kore_buf_appendf(&parts, "{\"type\":\"text\","
				    "\"text\":");
				json_str(&parts, v->data.string);
				kore_buf_appendf(&parts, "}");
			} else if (fc != NULL && model) {
				if (!json_is_str(v = json_get(fc, "name"))) {
					(void)xlate_fail(x, "%s.functionCall."
					    "name must be a string", w);
					goto done;
				}
				calls->v = kore_realloc(calls->v, (calls->n + 1) *
				    sizeof(*calls->v));
				calls->v[calls->n].name = v->data.string;
				calls->v[calls->n].id = json_is_str(json_get(fc,
				    "id")) ? json_get(fc, "id")->data.string :
				    NULL;
				calls->v[calls->n].answered = 0;
				json_sep(&tc, &ntc);
				kore_buf_appendf(&tc, "{\"id\":");
				call_id(&tc, calls, calls->n);
				kore_buf_appendf(&tc, ",\"type\":\"function\","
				    "\"function\":{\"name\":");
				json_str(&tc, v->data.string);
				kore_buf_appendf(&tc, ",\"arguments\":");
				args = json_get(fc, "args");
				kore_buf_reset(&ab);
				if (args != NULL)
					json_value(&ab, args);
				else
					kore_buf_appendf(&ab, "{}");
				json_strn(&tc, ab.data, ab.offset);
				kore_buf_appendf(&tc, "}}");
				calls->n++;
			} else if (fr != NULL && !model) {
				v = json_get(fr, "name");
				for (k = 0; json_is_str(v) && k < calls->n; k++) {
					if (!calls->v[k].answered &&
					    strcmp(calls->v[k].name,
					    v->data.string) == 0)
						break;
				}
				if (!json_is_str(v) || k == calls->n) {
					(void)xlate_fail(x, "%s.functionResponse "
					    "answers no earlier functionCall", w);
					goto done;
				}
				calls->v[k].answered = 1;
				json_sep(out, nm);
				kore_buf_appendf(out, "{\"role\":\"tool\","
				    "\"tool_call_id\":");
				call_id(out, calls, k);
				kore_buf_appendf(out, ",\"content\":");
				kore_buf_reset(&ab);
				if ((args = json_get(fr, "response")) != NULL)
					json_value(&ab, args);
				else
					kore_buf_appendf(&ab, "{}");
				json_strn(out, ab.data, ab.offset);
				kore_buf_appendf(out, "}");
			} else if (!model) {
				if (part_to_chat(x, p, w, &parts, &np) == -1)
					goto done;
			} else {
				(void)xlate_fail(x, "%s: a model turn holds text "
				    "and function calls only", w);
				goto done;
			}
		}
		if (model && (text.offset > 0 || ntc > 0)) {
			json_sep(out, nm);
			kore_buf_appendf(out, "{\"role\":\"assistant\","
			    "\"content\":");
			if (text.offset > 0 || ntc == 0)
				json_strn(out, text.data, text.offset);
			else
				kore_buf_appendf(out, "null");
			if (ntc > 0) {
				kore_buf_appendf(out, ",\"tool_calls\":[");
				kore_buf_append(out, tc.data, tc.offset);
				kore_buf_appendf(out, "]");
			}
			kore_buf_appendf(out, "}");
		} else if (!model && np > 0) {
			json_sep(out, nm);
			kore_buf_appendf(out, "{\"role\":\"user\",\"content\":[");
			kore_buf_append(out, parts.data, parts.offset);
			kore_buf_appendf(out, "]}");
		}
		i++;
	}
	rc = 0;
done:
	kore_buf_cleanup(&parts);
	kore_buf_cleanup(&text);
	kore_buf_cleanup(&tc);
	kore_buf_cleanup(&ab);
	return (rc);
}

/* generationConfig as chat's sampling, limits and formats. */
static int
config_to_chat(struct xlate_ctx *x, struct kore_json_item *gc,
    struct kore_buf *out)
{
	static const struct {
		const char	*gemini;
		const char	*openai;
	} nums[] = {
		{ "temperature", "temperature" }, { "topP", "top_p" },
		{ "presencePenalty", "presence_penalty" },
		{ "frequencyPenalty", "frequency_penalty" },
		{ NULL, NULL }
	};
	struct kore_json_item	*v, *s, *tb;
	double			 d;
	int64_t			 n;
	int			 i;

	if (gc == NULL)
		return (0);
	if (gc->type != KORE_JSON_TYPE_OBJECT)
		return (xlate_fail(x, "generationConfig must be an object"));
	for (i = 0; nums[i].gemini != NULL; i++) {
		if ((v = json_get(gc, nums[i].gemini)) == NULL)
			continue;
		if (json_num(v, &d) == -1)
			return (xlate_fail(x, "generationConfig.%s must be a "
			    "number", nums[i].gemini));
		kore_buf_appendf(out, ",\"%s\":", nums[i].openai);
		json_double(out, d);
	}
	if ((v = json_get(gc, "maxOutputTokens")) != NULL) {
		if (json_int(v, &n) == -1 || n < 1)
			return (xlate_fail(x, "generationConfig.maxOutputTokens "
			    "must be a positive integer"));
		kore_buf_appendf(out, ",\"max_tokens\":%" PRId64, n);
	}
	if ((v = json_get(gc, "seed")) != NULL && json_int(v, &n) == 0)
		kore_buf_appendf(out, ",\"seed\":%" PRId64, n);
	if ((v = json_get(gc, "stopSequences")) != NULL) {
		if (v->type != KORE_JSON_TYPE_ARRAY)
			return (xlate_fail(x, "generationConfig.stopSequences "
			    "must be an array of strings"));
		TAILQ_FOREACH(s, &v->data.items, list) {
			if (!json_is_str(s))
				return (xlate_fail(x, "generationConfig."
				    "stopSequences must be an array of "
				    "strings"));
		}
		if (!TAILQ_EMPTY(&v->data.items)) {
			kore_buf_appendf(out, ",\"stop\":");
			json_value(out, v);
		}
	}
	if ((s = json_get(gc, "responseJsonSchema")) == NULL)
		s = json_get(gc, "responseSchema");
	if (s != NULL && s->type == KORE_JSON_TYPE_OBJECT) {
		kore_buf_appendf(out, ",\"response_format\":{\"type\":"
		    "\"json_schema\",\"json_schema\":{\"name\":\"response\","
		    "\"schema\":");
		schema_json(out, s);
		kore_buf_appendf(out, "}}");
	} else if (json_is_str(v = json_get(gc, "responseMimeType")) &&
	    strcmp(v->data.string, "application/json") == 0) {
		kore_buf_appendf(out, ",\"response_format\":{\"type\":"
		    "\"json_object\"}");
	}
	tb = json_get(json_get(gc, "thinkingConfig"), "thinkingBudget");
	if (tb != NULL && json_int(tb, &n) == 0 && n >= 0) {
		kore_buf_appendf(out, ",\"reasoning_effort\":\"%s\"", n == 0 ?
		    "none" : n <= 2048 ? "low" : n <= 12288 ? "medium" :
		    "high");
	}
	return (0);
}

/*
 * A GenerateContentRequest as a chat request (the model comes from the
 * URL): systemInstruction as a system message, contents as the turns,
 * function declarations as tools, toolConfig as tool_choice.
 */
int
gemini_request_to_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *si, *tools, *t, *decls, *d, *name, *v;
	struct kore_json_item	*fcc, *mode, *allowed;
	struct kore_buf		 sys;
	struct gcalls		 calls;
	int			 nm, nt, rc;

	memset(&calls, 0, sizeof(calls));
	kore_buf_init(&sys, 256);
	rc = -1;
	if ((root = xlate_begin(x)) == NULL)
		goto done;
	kore_buf_appendf(out, "{\"model\":");
	json_str(out, x->model != NULL ? x->model : "");
	kore_buf_appendf(out, ",\"messages\":[");
	nm = 0;
	if ((si = json_get(root, "systemInstruction")) != NULL ||
	    (si = json_get(root, "system_instruction")) != NULL) {
		if (json_is_str(si)) {
			kore_buf_appendf(&sys, "%s", si->data.string);
		} else if (json_is(v = json_get(si, "parts"),
		    KORE_JSON_TYPE_ARRAY)) {
			TAILQ_FOREACH(t, &v->data.items, list) {
				if (json_is_str(json_get(t, "text")))
					kore_buf_appendf(&sys, "%s%s",
					    sys.offset ? "\n" : "",
					    json_get(t, "text")->data.string);
			}
		} else {
			(void)xlate_fail(x, "systemInstruction must be a "
			    "content with parts");
			goto done;
		}
		if (sys.offset > 0) {
			json_sep(out, &nm);
			kore_buf_appendf(out, "{\"role\":\"system\","
			    "\"content\":");
			json_strn(out, sys.data, sys.offset);
			kore_buf_appendf(out, "}");
		}
	}
	if (contents_to_chat(x, json_get(root, "contents"), &calls, out,
	    &nm) == -1)
		goto done;
	kore_buf_appendf(out, "]");

	nt = 0;
	if (json_is(tools = json_get(root, "tools"), KORE_JSON_TYPE_ARRAY)) {
		TAILQ_FOREACH(t, &tools->data.items, list) {
			if ((decls = json_get(t, "functionDeclarations")) ==
			    NULL)
				decls = json_get(t, "function_declarations");
			if (!json_is(decls, KORE_JSON_TYPE_ARRAY)) {
				(void)xlate_fail(x, "tools: only function "
				    "declarations can be sent to this "
				    "provider");
				goto done;
			}
			TAILQ_FOREACH(d, &decls->data.items, list) {
				if (!json_is_str(name = json_get(d, "name"))) {
					(void)xlate_fail(x, "tools: a function "
					    "declaration needs a string name");
					goto done;
				}
				kore_buf_appendf(out, "%s{\"type\":\"function\","
				    "\"function\":{\"name\":", nt++ ? "," :
				    ",\"tools\":[");
				json_str(out, name->data.string);
				if (json_is_str(v = json_get(d,
				    "description"))) {
					kore_buf_appendf(out,
					    ",\"description\":");
					json_str(out, v->data.string);
				}
				if ((v = json_get(d, "parametersJsonSchema")) ==
				    NULL)
					v = json_get(d, "parameters");
				kore_buf_appendf(out, ",\"parameters\":");
				if (json_is(v, KORE_JSON_TYPE_OBJECT))
					schema_json(out, v);
				else
					kore_buf_appendf(out, "{\"type\":"
					    "\"object\",\"properties\":{}}");
				kore_buf_appendf(out, "}}");
			}
		}
		if (nt > 0)
			kore_buf_appendf(out, "]");
	}
	fcc = json_get(json_get(root, "toolConfig"), "functionCallingConfig");
	mode = json_get(fcc, "mode");
	if (nt > 0 && json_is_str(mode)) {
		allowed = json_first(json_get(fcc, "allowedFunctionNames"));
		if (strcmp(mode->data.string, "NONE") == 0) {
			kore_buf_appendf(out, ",\"tool_choice\":\"none\"");
		} else if (strcmp(mode->data.string, "ANY") == 0 &&
		    json_is_str(allowed)) {
			kore_buf_appendf(out, ",\"tool_choice\":{\"type\":"
			    "\"function\",\"function\":{\"name\":");
			json_str(out, allowed->data.string);
			kore_buf_appendf(out, "}}");
		} else if (strcmp(mode->data.string, "ANY") == 0) {
			kore_buf_appendf(out, ",\"tool_choice\":\"required\"");
		}
	}
	if (config_to_chat(x, json_get(root, "generationConfig"), out) == -1)
		goto done;
	if (x->stream)
		kore_buf_appendf(out, ",\"stream\":true,\"stream_options\":"
		    "{\"include_usage\":true}");
	kore_buf_appendf(out, "}");
	rc = 0;
done:
	kore_free(calls.v);
	kore_buf_cleanup(&sys);
	return (rc);
}

/* usageMetadata for u: thoughts apart from the candidates' tokens. */
static void
usage_meta(const struct xlate_usage *u, struct kore_buf *out)
{
	int64_t	p, c, r;

	p = u->prompt_tokens < 0 ? 0 : u->prompt_tokens;
	c = u->completion_tokens < 0 ? 0 : u->completion_tokens;
	r = u->reasoning_tokens > 0 && u->reasoning_tokens <= c ?
	    u->reasoning_tokens : 0;
	kore_buf_appendf(out, "\"usageMetadata\":{\"promptTokenCount\":%"
	    PRId64 ",\"candidatesTokenCount\":%" PRId64 ",\"totalTokenCount\":%"
	    PRId64, p, c - r, p + c);
	if (u->cached_tokens > 0)
		kore_buf_appendf(out, ",\"cachedContentTokenCount\":%" PRId64,
		    u->cached_tokens);
	if (r > 0)
		kore_buf_appendf(out, ",\"thoughtsTokenCount\":%" PRId64, r);
	kore_buf_appendf(out, "}");
}

static const char *
finish_to_gemini(const char *f)
{
	if (strcmp(f, "length") == 0)
		return ("MAX_TOKENS");
	if (strcmp(f, "content_filter") == 0)
		return ("SAFETY");
	return ("STOP");
}

/* A whole chat completion as a GenerateContentResponse. */
int
gemini_response_from_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *ch, *msg, *c, *p, *tc, *fn, *a, *fr;
	struct kore_json	 aj;
	struct xlate_usage	 u;
	int			 n;

	xlate_usage_init(&u);
	if ((root = xlate_begin(x)) == NULL)
		return (-1);
	ch = json_first(json_get(root, "choices"));
	if (!json_is(msg = json_get(ch, "message"), KORE_JSON_TYPE_OBJECT))
		return (-1);
	openai_usage_read(json_get(root, "usage"), &u);
	if (x->usage != NULL)
		*x->usage = u;
	fr = json_get(ch, "finish_reason");

	kore_buf_appendf(out, "{\"candidates\":[{\"content\":{\"role\":"
	    "\"model\",\"parts\":[");
	n = 0;
	if (json_is_str(c = json_get(msg, "reasoning_content")) &&
	    c->data.string[0] != '\0') {
		json_sep(out, &n);
		kore_buf_appendf(out, "{\"text\":");
		json_str(out, c->data.string);
		kore_buf_appendf(out, ",\"thought\":true}");
	}
	c = json_get(msg, "content");
	if (json_is_str(c) && c->data.string[0] != '\0') {
		json_sep(out, &n);
		kore_buf_appendf(out, "{\"text\":");
		json_str(out, c->data.string);
		kore_buf_appendf(out, "}");
	} else if (json_is(c, KORE_JSON_TYPE_ARRAY)) {
		TAILQ_FOREACH(p, &c->data.items, list) {
			if (!json_is_str(json_get(p, "text")))
				continue;
			json_sep(out, &n);
			kore_buf_appendf(out, "{\"text\":");
			json_str(out, json_get(p, "text")->data.string);
			kore_buf_appendf(out, "}");
		}
	}
	if (json_is(tc = json_get(msg, "tool_calls"), KORE_JSON_TYPE_ARRAY)) {
		TAILQ_FOREACH(p, &tc->data.items, list) {
			fn = json_get(p, "function");
			if (!json_is_str(json_get(fn, "name")))
				return (-1);
			json_sep(out, &n);
			kore_buf_appendf(out, "{\"functionCall\":{\"name\":");
			json_str(out, json_get(fn, "name")->data.string);
			kore_buf_appendf(out, ",\"args\":");
			a = json_get(fn, "arguments");
			if (json_is_str(a) && json_parse(&aj, a->data.string,
			    strlen(a->data.string)) == 0)
				json_value(out, aj.root);
			else
				kore_buf_appendf(out, "{}");
			if (json_is_str(a))
				kore_json_cleanup(&aj);
			kore_buf_appendf(out, "}}");
		}
	}
	if (n == 0)
		kore_buf_appendf(out, "{\"text\":\"\"}");
	kore_buf_appendf(out, "]},\"finishReason\":\"%s\",\"index\":0}],",
	    finish_to_gemini(json_is_str(fr) ? fr->data.string : "stop"));
	usage_meta(&u, out);
	kore_buf_appendf(out, ",\"modelVersion\":");
	json_str(out, x->model != NULL ? x->model : "");
	kore_buf_appendf(out, "}");
	return (0);
}

/* The tool call being gathered joins the functionCall parts. */
static void
calls_flush(struct xlate_stream *st)
{
	struct kore_json	aj;

	if (st->block_type != BT_TOOL)
		return;
	if (st->o->nitems++ > 0)
		kore_buf_appendf(st->o->items, ",");
	kore_buf_appendf(st->o->items, "{\"functionCall\":{\"name\":");
	json_str(st->o->items, st->o->call_name);
	kore_buf_appendf(st->o->items, ",\"args\":");
	if (json_parse(&aj, st->o->text->data, st->o->text->offset) == 0)
		json_value(st->o->items, aj.root);
	else
		kore_buf_appendf(st->o->items, "{}");
	kore_json_cleanup(&aj);
	kore_buf_appendf(st->o->items, "}}");
	kore_buf_reset(st->o->text);
	st->block_type = BT_NONE;
}

/* The last response: the calls gathered, finishReason and usage. */
static void
stream_close(struct xlate_stream *st, struct kore_buf *out)
{
	calls_flush(st);
	kore_buf_appendf(out, "data: {\"candidates\":[{\"content\":{\"role\":"
	    "\"model\",\"parts\":[");
	if (st->o->nitems > 0)
		kore_buf_append(out, st->o->items->data, st->o->items->offset);
	else
		kore_buf_appendf(out, "{\"text\":\"\"}");
	kore_buf_appendf(out, "]},\"finishReason\":\"%s\",\"index\":0}],",
	    finish_to_gemini(st->finish[0] ? st->finish : "stop"));
	usage_meta(&st->usage, out);
	kore_buf_appendf(out, ",\"modelVersion\":");
	json_str(out, st->model);
	kore_buf_appendf(out, ",\"responseId\":");
	json_str(out, st->id);
	kore_buf_appendf(out, "}\n\n");
	st->done = 1;
}

/*
 * Chat chunks as streamGenerateContent responses: each text delta one
 * response; tool calls, whose arguments OpenAI streams in pieces, are
 * gathered and sent whole in the last response, with the finishReason
 * and the usage (which OpenAI sends after the finish reason), at [DONE].
 */
int
gemini_stream_from_openai(struct xlate_stream *st, const void *data,
    size_t len, struct kore_buf *out)
{
	struct kore_json	 json;
	struct kore_json_item	*root, *ch, *d, *c, *tcs, *tc, *fn, *name, *a;
	int			 rc, thought;

	if ((rc = xlate_openai_event(st, &json, data, len, out,
	    stream_close)) != 1)
		goto done;
	rc = 0;
	root = json.root;
	st->started = 1;
	openai_usage_read(json_get(root, "usage"), &st->usage);
	ch = json_first(json_get(root, "choices"));
	d = json_get(ch, "delta");
	for (thought = 1; thought >= 0; thought--) {
		c = json_get(d, thought ? "reasoning_content" : "content");
		if (!json_is_str(c) || c->data.string[0] == '\0')
			continue;
		kore_buf_appendf(out, "data: {\"candidates\":[{\"content\":"
		    "{\"role\":\"model\",\"parts\":[{\"text\":");
		json_str(out, c->data.string);
		kore_buf_appendf(out, "%s}]},\"index\":0}],\"modelVersion\":",
		    thought ? ",\"thought\":true" : "");
		json_str(out, st->model);
		kore_buf_appendf(out, ",\"responseId\":");
		json_str(out, st->id);
		kore_buf_appendf(out, "}\n\n");
	}
	if (json_is(tcs = json_get(d, "tool_calls"), KORE_JSON_TYPE_ARRAY)) {
		TAILQ_FOREACH(tc, &tcs->data.items, list) {
			fn = json_get(tc, "function");
			name = json_get(fn, "name");
			a = json_get(fn, "arguments");
			if (json_is_str(name)) {
				calls_flush(st);
				st->block_type = BT_TOOL;
				(void)snprintf(st->o->call_name,
				    sizeof(st->o->call_name), "%s",
				    name->data.string);
			}
			if (st->block_type == BT_TOOL && json_is_str(a))
				kore_buf_appendf(st->o->text, "%s",
				    a->data.string);
		}
	}
	xlate_openai_finish(st, ch);
done:
	kore_json_cleanup(&json);
	return (rc);
}

/*
 * The upstream's stream ended without [DONE]: with a finish reason the
 * last response goes out; without one the stream was cut short.
 */
void
gemini_stream_finish_from_openai(struct xlate_stream *st,
    struct kore_buf *out)
{
	if (!st->done && st->finish[0] != '\0')
		stream_close(st, out);
}
