/*
 * OpenAI clients in front of Anthropic upstreams: an OpenAI chat request
 * becomes a Messages request, and the Messages answer or stream comes
 * back as an OpenAI chat completion or chunks. Requests are read into a
 * kore_json tree and written anew; answers and events likewise.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"

#define FIELD_MAX	96

static int	image_block(struct xlate_ctx *, const struct kore_json_item *,
		    const char *, struct kore_buf *, int *);
static int	user_blocks(struct xlate_ctx *, const struct kore_json_item *,
		    const char *, struct kore_buf *, int *);
static int	assistant_blocks(struct xlate_ctx *,
		    const struct kore_json_item *, const char *,
		    struct kore_buf *, int *);
static int	tool_result_block(struct xlate_ctx *,
		    const struct kore_json_item *, const char *,
		    struct kore_buf *, int *);
static int	tools_from_openai(struct xlate_ctx *,
		    const struct kore_json_item *,
		    const struct kore_json_item *,
		    const struct kore_json_item *, struct kore_buf *);

/*
 * OpenAI chat request -> Anthropic Messages request.
 */
int
anthropic_request_from_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *msgs, *m, *role, *it, *rf, *s;
	struct kore_buf		 sys, turns, blocks;
	char			 field[FIELD_MAX];
	const char		*r;
	double			 d;
	int64_t			 n, maxtok, budget;
	const char		*cur;
	int			 i, rc, nb, nstop;

	rc = -1;
	kore_buf_init(&sys, 256);
	kore_buf_init(&turns, x->len + 256);
	kore_buf_init(&blocks, 256);

	if ((root = xlate_begin(x)) == NULL)
		goto done;

	if ((msgs = xlate_messages(x, root)) == NULL)
		goto done;

	i = 0;
	cur = NULL;
	TAILQ_FOREACH(m, &msgs->data.items, list) {
		(void)snprintf(field, sizeof(field), "messages[%d]", i);
		if (m->type != KORE_JSON_TYPE_OBJECT ||
		    !json_is_str(role = json_get(m, "role"))) {
			(void)xlate_fail(x, "%s must be an object "
			    "with a string role", field);
			goto done;
		}
		r = role->data.string;
		kore_buf_reset(&blocks);
		nb = 0;
		(void)snprintf(field, sizeof(field), "messages[%d].content", i);

		if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0) {
			/* Anthropic has one system prompt, at the top. */
			if (sys.offset > 0)
				kore_buf_append(&sys, "\n\n", 2);
			if (xlate_text_of(x, json_get(m, "content"), field,
			    &sys, "\n") == -1)
				goto done;
		} else if (strcmp(r, "user") == 0) {
			if (user_blocks(x, json_get(m, "content"), field,
			    &blocks, &nb) == -1)
				goto done;
			xlate_turn_add(&turns, &cur, "user", "content", &blocks);
		} else if (strcmp(r, "assistant") == 0) {
			(void)snprintf(field, sizeof(field), "messages[%d]", i);
			if (assistant_blocks(x, m, field, &blocks, &nb) == -1)
				goto done;
			xlate_turn_add(&turns, &cur, "assistant", "content", &blocks);
		} else if (strcmp(r, "tool") == 0) {
			(void)snprintf(field, sizeof(field), "messages[%d]", i);
			if (tool_result_block(x, m, field, &blocks, &nb) == -1)
				goto done;
			/* Tool results travel in a user turn. */
			xlate_turn_add(&turns, &cur, "user", "content", &blocks);
		} else {
			(void)xlate_fail(x, "messages[%d].role '%s' "
			    "is not one of system, developer, user, assistant, "
			    "tool", i, r);
			goto done;
		}
		i++;
	}
	if (cur == NULL) {
		(void)xlate_fail(x, "messages hold no user or "
		    "assistant content");
		goto done;
	}
	kore_buf_appendf(&turns, "]}");

	/*
	 * response_format: the Messages API of 2023-06-01 has no JSON mode
	 * and refuses unknown fields, so the format is asked for the way
	 * Anthropic's own documentation does it, in the system prompt; the
	 * answer comes back as plain text holding the JSON.
	 */
	if ((rf = json_get(root, "response_format")) != NULL) {
		it = json_get(rf, "type");
		if (rf->type != KORE_JSON_TYPE_OBJECT || !json_is_str(it)) {
			(void)xlate_fail(x, "response_format must be "
			    "an object with a string type");
			goto done;
		}
		if (strcmp(it->data.string, "json_object") == 0) {
			if (sys.offset > 0)
				kore_buf_append(&sys, "\n\n", 2);
			kore_buf_appendf(&sys, "Respond with one valid JSON "
			    "object only, with no text before or after it.");
		} else if (strcmp(it->data.string, "json_schema") == 0) {
			s = json_get(json_get(rf, "json_schema"), "schema");
			if (s == NULL || s->type != KORE_JSON_TYPE_OBJECT) {
				(void)xlate_fail(x, "response_format."
				    "json_schema.schema must be an object");
				goto done;
			}
			if (sys.offset > 0)
				kore_buf_append(&sys, "\n\n", 2);
			kore_buf_appendf(&sys, "Respond with one valid JSON "
			    "value only, with no text before or after it, that "
			    "conforms to this JSON schema:\n");
			json_value(&sys, s);
		} else if (strcmp(it->data.string, "text") != 0) {
			(void)xlate_fail(x, "response_format.type "
			    "'%s' is not one of text, json_object, json_schema",
			    it->data.string);
			goto done;
		}
	}

	maxtok = XLATE_ANTHROPIC_MAX_TOKENS;
	if ((it = json_get(root, "max_completion_tokens")) != NULL ||
	    (it = json_get(root, "max_tokens")) != NULL) {
		if (json_int(it, &maxtok) == -1 || maxtok < 1) {
			(void)xlate_fail(x, "%s must be a positive "
			    "integer", it->name);
			goto done;
		}
	}
	if ((it = json_get(root, "n")) != NULL) {
		if (json_int(it, &n) == -1 || n < 1) {
			(void)xlate_fail(x, "n must be a positive integer");
			goto done;
		}
		if (n > 1) {
			(void)xlate_fail(x, "n > 1 is not supported "
			    "by Anthropic models");
			goto done;
		}
	}

	/* reasoning_effort as a thinking budget, below max_tokens. */
	budget = 0;
	if (json_is_str(it = json_get(root, "reasoning_effort")))
		budget = xlate_effort_budget(it->data.string, 1024, 4096, 16384);
	if (budget >= maxtok)
		budget = maxtok - 1;
	if (budget < 1024)
		budget = 0;

	kore_buf_appendf(out, "{\"model\":");
	json_str(out, x->model != NULL ? x->model : "");
	kore_buf_appendf(out, ",\"max_tokens\":%" PRId64, maxtok);
	if (budget > 0)
		kore_buf_appendf(out, ",\"thinking\":{\"type\":\"enabled\","
		    "\"budget_tokens\":%" PRId64 "}", budget);
	if (sys.offset > 0) {
		kore_buf_appendf(out, ",\"system\":");
		json_strn(out, sys.data, sys.offset);
	}
	kore_buf_appendf(out, ",\"messages\":[");
	kore_buf_append(out, turns.data, turns.offset);
	kore_buf_appendf(out, "]");

	if (tools_from_openai(x, json_get(root, "tools"), json_get(root,
	    "tool_choice"), json_get(root, "parallel_tool_calls"), out) == -1)
		goto done;

	/* Anthropic refuses sampling changes while it thinks. */
	if ((it = json_get(root, "temperature")) != NULL && budget == 0) {
		if (json_num(it, &d) == -1) {
			(void)xlate_fail(x, "temperature must be a number");
			goto done;
		}
		/* OpenAI's 0..2 in Anthropic's 0..1. */
		if (d < 0)
			d = 0;
		if (d > 1)
			d = 1;
		kore_buf_appendf(out, ",\"temperature\":");
		json_double(out, d);
	}
	if ((it = json_get(root, "top_p")) != NULL && budget == 0) {
		if (json_num(it, &d) == -1 || d < 0 || d > 1) {
			(void)xlate_fail(x, "top_p must be a number from 0 to 1");
			goto done;
		}
		kore_buf_appendf(out, ",\"top_p\":");
		json_double(out, d);
	}
	if ((it = json_get(root, "stop")) != NULL) {
		if (json_is_str(it)) {
			if (it->data.string[0] != '\0') {
				kore_buf_appendf(out, ",\"stop_sequences\":[");
				json_str(out, it->data.string);
				kore_buf_appendf(out, "]");
			}
		} else if (it->type == KORE_JSON_TYPE_ARRAY) {
			nstop = 0;
			TAILQ_FOREACH(s, &it->data.items, list) {
				if (!json_is_str(s)) {
					(void)xlate_fail(x, "stop must "
					    "be a string or an array of strings");
					goto done;
				}
				if (s->data.string[0] == '\0')
					continue;
				kore_buf_appendf(out, nstop++ ? "," :
				    ",\"stop_sequences\":[");
				json_str(out, s->data.string);
			}
			if (nstop > 0)
				kore_buf_appendf(out, "]");
		} else {
			(void)xlate_fail(x, "stop must be a string or an array of strings");
			goto done;
		}
	}
	if ((it = json_get(root, "user")) != NULL) {
		if (!json_is_str(it)) {
			(void)xlate_fail(x, "user must be a string");
			goto done;
		}
		kore_buf_appendf(out, ",\"metadata\":{\"user_id\":");
		json_str(out, it->data.string);
		kore_buf_appendf(out, "}");
	}
	if (x->stream)
		kore_buf_appendf(out, ",\"stream\":true");
	kore_buf_appendf(out, "}");
	rc = 0;

done:
	kore_buf_cleanup(&sys);
	kore_buf_cleanup(&turns);
	kore_buf_cleanup(&blocks);
	return (rc);
}

/*
 * An OpenAI image_url part as an Anthropic image block: a data URL as a
 * base64 source (a PDF as a document block), an http(s) URL as a url
 * source.
 */
static int
image_block(struct xlate_ctx *x, const struct kore_json_item *part,
    const char *field, struct kore_buf *b, int *nb)
{
	const struct kore_json_item	*iu, *u;
	const char			*url, *semi, *b64;
	size_t				 mlen;

	iu = json_get(part, "image_url");
	u = json_is_str(iu) ? iu : json_get(iu, "url");
	if (!json_is_str(u))
		return (xlate_fail(x, "%s.image_url.url must be a "
		    "string", field));
	url = u->data.string;

	if (strncmp(url, "data:", 5) == 0) {
		semi = strchr(url + 5, ';');
		b64 = strstr(url + 5, ";base64,");
		if (semi == NULL || b64 == NULL || semi == url + 5)
			return (xlate_fail(x, "%s.image_url.url: a "
			    "data URL must be data:<media type>;base64,<data>",
			    field));
		mlen = (size_t)(semi - (url + 5));
		json_sep(b, nb);
		kore_buf_appendf(b, "{\"type\":\"%s\",\"source\":{\"type\":"
		    "\"base64\",\"media_type\":",
		    mlen == 15 && strncmp(url + 5, "application/pdf", 15) == 0 ?
		    "document" : "image");
		json_strn(b, url + 5, mlen);
		kore_buf_appendf(b, ",\"data\":");
		json_str(b, b64 + 8);
		kore_buf_appendf(b, "}}");
		return (0);
	}
	if (strncmp(url, "https://", 8) == 0 ||
	    strncmp(url, "http://", 7) == 0) {
		json_sep(b, nb);
		kore_buf_appendf(b, "{\"type\":\"image\",\"source\":{\"type\":"
		    "\"url\",\"url\":");
		json_str(b, url);
		kore_buf_appendf(b, "}}");
		return (0);
	}
	return (xlate_fail(x, "%s.image_url.url must be a data: "
	    "or http(s) URL", field));
}

static int
user_blocks(struct xlate_ctx *x, const struct kore_json_item *content,
    const char *field, struct kore_buf *b, int *nb)
{
	const struct kore_json_item	*p, *t;
	char				 pf[FIELD_MAX + 16];
	int				 i;

	if (content == NULL)
		return (xlate_fail(x, "%s is required", field));
	if (json_is_str(content)) {
		anthropic_text_block(b, nb, content->data.string, NULL);
		return (0);
	}
	if (content->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(x, "%s must be a string or an "
		    "array of content parts", field));

	i = 0;
	TAILQ_FOREACH(p, &content->data.items, list) {
		(void)snprintf(pf, sizeof(pf), "%s[%d]", field, i++);
		t = json_get(p, "type");
		if (!json_is_str(t))
			return (xlate_fail(x, "%s must be an object "
			    "with a string type", pf));
		if (strcmp(t->data.string, "text") == 0) {
			if (!json_is_str(json_get(p, "text")))
				return (xlate_fail(x, "%s.text must be "
				    "a string", pf));
			anthropic_text_block(b, nb, json_get(p,
			    "text")->data.string,
			    json_get(p, "cache_control"));
		} else if (strcmp(t->data.string, "image_url") == 0) {
			if (image_block(x, p, pf, b, nb) == -1)
				return (-1);
		} else {
			return (xlate_fail(x, "%s.type '%s' is not "
			    "supported by Anthropic models", pf,
			    t->data.string));
		}
	}
	return (0);
}

/* An assistant message: its text, then its tool calls as tool_use. */
static int
assistant_blocks(struct xlate_ctx *x, const struct kore_json_item *m,
    const char *field, struct kore_buf *b, int *nb)
{
	struct kore_json		 args;
	const struct kore_json_item	*c, *p, *t, *calls, *tc, *fn, *id,
	    *name;
	const struct kore_json_item	*a;
	char				 pf[FIELD_MAX + 32];
	int				 i;

	c = json_get(m, "content");
	if (c != NULL && json_is_str(c)) {
		anthropic_text_block(b, nb, c->data.string, NULL);
	} else if (c != NULL && c->type == KORE_JSON_TYPE_ARRAY) {
		i = 0;
		TAILQ_FOREACH(p, &c->data.items, list) {
			/* A refusal the model gave is its text. */
			t = json_get(p, json_is_type(p, "refusal") ?
			    "refusal" : "text");
			if ((!json_is_type(p, "text") && !json_is_type(p,
			    "refusal")) ||
			    !json_is_str(t))
				return (xlate_fail(x, "%s.content[%d] "
				    "must be a text part", field, i));
			anthropic_text_block(b, nb, t->data.string, NULL);
			i++;
		}
	} else if (c != NULL) {
		return (xlate_fail(x, "%s.content must be a string "
		    "or an array of text parts", field));
	}

	if ((calls = json_get(m, "tool_calls")) == NULL)
		return (0);
	if (calls->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(x, "%s.tool_calls must be an "
		    "array", field));
	i = 0;
	TAILQ_FOREACH(tc, &calls->data.items, list) {
		(void)snprintf(pf, sizeof(pf), "%s.tool_calls[%d]", field, i++);
		fn = json_get(tc, "function");
		id = json_get(tc, "id");
		name = json_get(fn, "name");
		if (!json_is_str(id) || id->data.string[0] == '\0')
			return (xlate_fail(x, "%s.id must be a "
			    "non-empty string", pf));
		if (!json_is_str(name) || name->data.string[0] == '\0')
			return (xlate_fail(x, "%s.function.name must "
			    "be a non-empty string", pf));
		a = json_get(fn, "arguments");
		if (a != NULL && !json_is_str(a))
			return (xlate_fail(x, "%s.function.arguments "
			    "must be a string", pf));

		json_sep(b, nb);
		kore_buf_appendf(b, "{\"type\":\"tool_use\",\"id\":");
		anthropic_tool_id(b, id->data.string);
		kore_buf_appendf(b, ",\"name\":");
		json_str(b, name->data.string);
		kore_buf_appendf(b, ",\"input\":");

		/* Anthropic wants the arguments as an object, not text. */
		if (a == NULL || strspn(a->data.string, " \t\r\n") ==
		    strlen(a->data.string)) {
			kore_buf_appendf(b, "{}}");
			continue;
		}
		if (json_parse(&args, a->data.string,
		    strlen(a->data.string)) == -1) {
			kore_json_cleanup(&args);
			return (xlate_fail(x, "%s.function.arguments "
			    "is not a JSON object", pf));
		}
		json_value(b, args.root);
		kore_json_cleanup(&args);
		kore_buf_appendf(b, "}");
	}
	return (0);
}

/* A role "tool" message as a tool_result block. */
static int
tool_result_block(struct xlate_ctx *x, const struct kore_json_item *m,
    const char *field, struct kore_buf *b, int *nb)
{
	const struct kore_json_item	*id;
	struct kore_buf			 text;
	char				 cf[FIELD_MAX + 16];

	id = json_get(m, "tool_call_id");
	if (!json_is_str(id) || id->data.string[0] == '\0')
		return (xlate_fail(x, "%s.tool_call_id must be a "
		    "non-empty string", field));

	(void)snprintf(cf, sizeof(cf), "%s.content", field);
	kore_buf_init(&text, 256);
	if (xlate_text_of(x, json_get(m, "content"), cf, &text, "\n") == -1) {
		kore_buf_cleanup(&text);
		return (-1);
	}
	json_sep(b, nb);
	kore_buf_appendf(b, "{\"type\":\"tool_result\",\"tool_use_id\":");
	anthropic_tool_id(b, id->data.string);
	if (text.offset > 0) {
		kore_buf_appendf(b, ",\"content\":");
		json_strn(b, text.data, text.offset);
	}
	kore_buf_appendf(b, "}");
	kore_buf_cleanup(&text);
	return (0);
}

/* tools, tool_choice and parallel_tool_calls. */
static int
tools_from_openai(struct xlate_ctx *x, const struct kore_json_item *tools,
    const struct kore_json_item *choice, const struct kore_json_item *par,
    struct kore_buf *out)
{
	const struct kore_json_item	*t, *fn, *name, *desc, *params;
	const char			*c;
	int				 i, nopar, v;

	nopar = 0;
	if (par != NULL) {
		if (json_bool(par, &v) == -1)
			return (xlate_fail(x, "parallel_tool_calls must be a boolean"));
		nopar = !v;
	}
	if (tools == NULL)
		return (0);
	if (tools->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(x, "tools must be an array"));
	if (TAILQ_EMPTY(&tools->data.items))
		return (0);

	kore_buf_appendf(out, ",\"tools\":[");
	i = 0;
	TAILQ_FOREACH(t, &tools->data.items, list) {
		fn = json_get(t, "function");
		name = json_get(fn, "name");
		if (!json_is_type(t, "function") ||
		    fn == NULL || fn->type != KORE_JSON_TYPE_OBJECT)
			return (xlate_fail(x, "tools[%d] must be a "
			    "function tool ({\"type\":\"function\","
			    "\"function\":{...}})", i));
		if (!json_is_str(name) || name->data.string[0] == '\0')
			return (xlate_fail(x, "tools[%d].function."
			    "name must be a non-empty string", i));
		desc = json_get(fn, "description");
		if (desc != NULL && !json_is_str(desc))
			return (xlate_fail(x, "tools[%d].function."
			    "description must be a string", i));
		params = json_get(fn, "parameters");
		if (params != NULL && params->type != KORE_JSON_TYPE_OBJECT)
			return (xlate_fail(x, "tools[%d].function."
			    "parameters must be an object", i));

		kore_buf_appendf(out, "%s{\"name\":", i ? "," : "");
		json_str(out, name->data.string);
		if (desc != NULL) {
			kore_buf_appendf(out, ",\"description\":");
			json_str(out, desc->data.string);
		}
		kore_buf_appendf(out, ",\"input_schema\":");
		if (params != NULL)
			json_value(out, params);
		else
			kore_buf_appendf(out,
			    "{\"type\":\"object\",\"properties\":{}}");
		kore_buf_appendf(out, "}");
		i++;
	}
	kore_buf_appendf(out, "]");

	if (choice == NULL) {
		if (nopar)
			kore_buf_appendf(out, ",\"tool_choice\":{\"type\":"
			    "\"auto\",\"disable_parallel_tool_use\":true}");
		return (0);
	}
	if (json_is_str(choice)) {
		c = choice->data.string;
		if (strcmp(c, "auto") == 0)
			c = "auto";
		else if (strcmp(c, "required") == 0)
			c = "any";
		else if (strcmp(c, "none") == 0)
			c = "none";
		else
			return (xlate_fail(x, "tool_choice '%s' is "
			    "not one of auto, none, required", c));
		kore_buf_appendf(out, ",\"tool_choice\":{\"type\":\"%s\"", c);
	} else {
		name = json_get(json_get(choice, "function"), "name");
		if (!json_is_type(choice, "function") || !json_is_str(name))
			return (xlate_fail(x, "tool_choice must be "
			    "auto, none, required or {\"type\":\"function\","
			    "\"function\":{\"name\":...}}"));
		kore_buf_appendf(out, ",\"tool_choice\":{\"type\":\"tool\","
		    "\"name\":");
		json_str(out, name->data.string);
		c = "tool";
	}
	if (nopar && strcmp(c, "none") != 0)
		kore_buf_appendf(out, ",\"disable_parallel_tool_use\":true");
	kore_buf_appendf(out, "}");
	return (0);
}

/*
 * A whole Anthropic answer (a message) as an OpenAI chat completion.
 */
int
anthropic_response_to_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *content, *blk, *t, *id, *sr;
	struct kore_buf		 text, calls, args, think;
	struct xlate_usage	 u;
	char			 cid[128];
	int			 rc, nc;

	rc = -1;
	xlate_usage_init(&u);
	kore_buf_init(&text, 256);
	kore_buf_init(&calls, 256);
	kore_buf_init(&args, 128);
	kore_buf_init(&think, 128);

	if ((root = xlate_begin(x)) == NULL)
		goto done;
	content = json_get(root, "content");
	if (content == NULL || content->type != KORE_JSON_TYPE_ARRAY)
		goto done;

	nc = 0;
	TAILQ_FOREACH(blk, &content->data.items, list) {
		t = json_get(blk, "type");
		if (json_is_type(blk, "text") && json_is_str(json_get(blk,
		    "text"))) {
			kore_buf_appendf(&text, "%s",
			    json_get(blk, "text")->data.string);
		} else if (json_is_type(blk, "tool_use")) {
			if (!json_is_str(json_get(blk, "id")) ||
			    !json_is_str(json_get(blk, "name")))
				goto done;
			json_sep(&calls, &nc);
			kore_buf_appendf(&calls, "{\"id\":");
			json_str(&calls, json_get(blk, "id")->data.string);
			kore_buf_appendf(&calls, ",\"type\":\"function\","
			    "\"function\":{\"name\":");
			json_str(&calls, json_get(blk, "name")->data.string);
			kore_buf_appendf(&calls, ",\"arguments\":");
			kore_buf_reset(&args);
			if (json_get(blk, "input") != NULL)
				json_value(&args, json_get(blk, "input"));
			else
				kore_buf_appendf(&args, "{}");
			json_strn(&calls, args.data, args.offset);
			kore_buf_appendf(&calls, "}}");
		} else if (json_is_type(blk, "thinking") &&
		    json_is_str(json_get(blk, "thinking"))) {
			kore_buf_appendf(&think, "%s",
			    json_get(blk, "thinking")->data.string);
		} else if (!json_is_str(t)) {
			goto done;
		}
		/* Other blocks (server tools...) have no OpenAI equivalent. */
	}
	anthropic_usage(json_get(root, "usage"), &u);

	id = json_get(root, "id");
	anthropic_id_from(cid, sizeof(cid),
	    json_is_str(id) ? id->data.string : "",
	    "msg_", "chatcmpl-");
	sr = json_get(root, "stop_reason");

	kore_buf_appendf(out, "{\"id\":");
	json_str(out, cid);
	kore_buf_appendf(out, ",\"object\":\"chat.completion\","
	    "\"created\":%" PRId64 ",\"model\":", (int64_t)time(NULL));
	json_str(out, x->model != NULL ? x->model : "");
	kore_buf_appendf(out, ",\"choices\":[{\"index\":0,\"message\":"
	    "{\"role\":\"assistant\",\"content\":");
	if (text.offset > 0 || nc == 0)
		json_strn(out, text.data, text.offset);
	else
		kore_buf_appendf(out, "null");
	if (think.offset > 0) {
		kore_buf_appendf(out, ",\"reasoning_content\":");
		json_strn(out, think.data, think.offset);
	}
	if (nc > 0) {
		kore_buf_appendf(out, ",\"tool_calls\":[");
		kore_buf_append(out, calls.data, calls.offset);
		kore_buf_appendf(out, "]");
	}
	kore_buf_appendf(out, "},\"logprobs\":null,\"finish_reason\":");
	json_str(out,
	    anthropic_finish_to_openai(json_is_str(sr) ? sr->data.string :
	    "end_turn"));
	kore_buf_appendf(out, "}],");
	openai_usage_write(&u, out);
	kore_buf_appendf(out, "}");
	rc = 0;

done:
	if (x->usage != NULL)
		*x->usage = u;
	kore_buf_cleanup(&text);
	kore_buf_cleanup(&calls);
	kore_buf_cleanup(&args);
	kore_buf_cleanup(&think);
	return (rc);
}

/*
 * Anthropic stream -> OpenAI chunks. Anthropic sends message_start,
 * then per content block content_block_start, content_block_delta...,
 * content_block_stop (ping events anywhere), then message_delta with the
 * stop reason and the output tokens, then message_stop. OpenAI clients
 * get a role chunk, content and tool_calls chunks, a finish_reason
 * chunk, a usage chunk (choices []) and data: [DONE].
 */
int
anthropic_stream_to_openai(struct xlate_stream *st, const void *data,
    size_t len, struct kore_buf *out)
{
	struct kore_json	 json;
	struct kore_json_item	*root, *t, *m, *cb, *d, *x, *id, *name, *in;
	struct kore_buf		 args;
	const char		*type;
	int			 rc;

	rc = -1;
	if ((root = xlate_event(st, &json, data, len)) == NULL)
		goto done;
	t = json_get(root, "type");
	if (!json_is_str(t)) {
		(void)xlate_stream_fail(st, "upstream sent an "
		    "event without a type");
		goto done;
	}
	type = t->data.string;

	if (strcmp(type, "error") == 0) {
		xlate_event_error(st, data, len);
		goto done;
	}
	rc = 0;
	if (st->done || strcmp(type, "ping") == 0)
		goto done;

	if (!st->started) {
		m = json_get(root, "message");
		if (strcmp(type, "message_start") == 0) {
			anthropic_usage(json_get(m, "usage"), &st->usage);
			id = json_get(m, "id");
			if (st->id[0] == '\0' && json_is_str(id))
				anthropic_id_from(st->id, sizeof(st->id),
				    id->data.string, "msg_", "chatcmpl-");
		}
		if (st->id[0] == '\0')
			(void)snprintf(st->id, sizeof(st->id), "chatcmpl-%"
			    PRId64, st->created);
		st->started = 1;
		openai_chunk_open(st, out);
		kore_buf_appendf(out, "{\"index\":0,\"delta\":{\"role\":"
		    "\"assistant\",\"content\":\"\"},\"logprobs\":null,"
		    "\"finish_reason\":null}");
		openai_chunk_close(out);
		if (strcmp(type, "message_start") == 0)
			goto done;
	}

	if (strcmp(type, "content_block_start") == 0) {
		cb = json_get(root, "content_block");
		if (json_is_type(cb, "text")) {
			st->block_type = BT_TEXT;
			x = json_get(cb, "text");
			if (json_is_str(x) && x->data.string[0] != '\0') {
				openai_delta_chunk(st, 0, "content",
				    x->data.string, strlen(x->data.string), out);
			}
		} else if (json_is_type(cb, "tool_use")) {
			id = json_get(cb, "id");
			name = json_get(cb, "name");
			in = json_get(cb, "input");
			st->block_type = BT_TOOL;
			st->tool_index = st->ntools++;
			openai_chunk_open(st, out);
			kore_buf_appendf(out, "{\"index\":0,\"delta\":"
			    "{\"tool_calls\":[{\"index\":%d,\"id\":",
			    st->tool_index);
			json_str(out, json_is_str(id) ? id->data.string : "");
			kore_buf_appendf(out, ",\"type\":\"function\","
			    "\"function\":{\"name\":");
			json_str(out,
			    json_is_str(name) ? name->data.string : "");
			kore_buf_appendf(out, ",\"arguments\":");
			/* The input comes in deltas; {} here means none yet. */
			if (in != NULL && in->type == KORE_JSON_TYPE_OBJECT &&
			    !TAILQ_EMPTY(&in->data.items)) {
				kore_buf_init(&args, 128);
				json_value(&args, in);
				json_strn(out, args.data, args.offset);
				kore_buf_cleanup(&args);
			} else {
				kore_buf_appendf(out, "\"\"");
			}
			kore_buf_appendf(out, "}}]},\"logprobs\":null,"
			    "\"finish_reason\":null}");
			openai_chunk_close(out);
		} else if (json_is_type(cb, "thinking")) {
			/* Claude's thinking: reasoning_content,
			    as others do. */
			st->block_type = BT_THINK;
		} else {
			/* Server tools, redacted thinking: nothing to show. */
			st->block_type = BT_OTHER;
		}
	} else if (strcmp(type, "content_block_delta") == 0) {
		d = json_get(root, "delta");
		if (json_is_type(d, "text_delta") &&
		    json_is_str(x = json_get(d, "text")) &&
		    x->data.string[0] != '\0') {
			openai_delta_chunk(st, 0, "content", x->data.string,
			    strlen(x->data.string), out);
		} else if (json_is_type(d, "thinking_delta") &&
		    st->block_type == BT_THINK &&
		    json_is_str(x = json_get(d, "thinking")) &&
		    x->data.string[0] != '\0') {
			openai_delta_chunk(st, 0, "reasoning_content",
			    x->data.string, strlen(x->data.string), out);
		} else if (json_is_type(d, "input_json_delta") &&
		    st->block_type == BT_TOOL &&
		    json_is_str(x = json_get(d, "partial_json")) &&
		    x->data.string[0] != '\0') {
			openai_chunk_open(st, out);
			kore_buf_appendf(out, "{\"index\":0,\"delta\":"
			    "{\"tool_calls\":[{\"index\":%d,\"function\":"
			    "{\"arguments\":", st->tool_index);
			json_str(out, x->data.string);
			kore_buf_appendf(out, "}}]},\"logprobs\":null,"
			    "\"finish_reason\":null}");
			openai_chunk_close(out);
		}
	} else if (strcmp(type, "content_block_stop") == 0) {
		st->block_type = BT_NONE;
	} else if (strcmp(type, "message_delta") == 0) {
		anthropic_usage(json_get(root, "usage"), &st->usage);
		x = json_get(json_get(root, "delta"), "stop_reason");
		if (json_is_str(x) && st->finish[0] == '\0') {
			(void)snprintf(st->finish, sizeof(st->finish), "%s",
			    anthropic_finish_to_openai(x->data.string));
			openai_finish_chunk(st, 0, out);
		}
	} else if (strcmp(type, "message_stop") == 0) {
		if (st->finish[0] == '\0') {
			(void)snprintf(st->finish, sizeof(st->finish), "stop");
			openai_finish_chunk(st, 0, out);
		}
		if (!st->omit_usage) {
			openai_chunk_open(st, out);
			out->offset--;		/* the '[' of choices */
			kore_buf_appendf(out, "[],");
			openai_usage_write(&st->usage, out);
			kore_buf_appendf(out, "}\n\n");
		}
		kore_buf_appendf(out, "data: [DONE]\n\n");
		st->done = 1;
	}
	/* Event types added later by Anthropic are ignored, as it asks. */

done:
	kore_json_cleanup(&json);
	return (rc);
}
