/*
 * Anthropic Messages API (anthropic-version 2023-06-01) <-> OpenAI chat
 * completions: requests, whole answers, streams and errors, both ways.
 *
 * Requests are read into a kore_json tree and written anew; answers and
 * stream events likewise, one event at a time (a stream is never held
 * whole). Everything the other side cannot express is refused with a
 * message naming the field, rather than dropped without a word, except
 * sampling knobs Anthropic lacks (penalties, seed, logprobs), which the
 * OpenAI API itself treats as hints.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "formats/formats.h"

/* What the open content block of a stream is. */
#define BT_NONE		0
#define BT_TEXT		1
#define BT_TOOL		2
#define BT_OTHER	3
#define BT_THINK	4

/* Longest field path quoted in an error message. */
#define FIELD_MAX	96

static struct kore_json_item	*request_parse(struct kore_json *,
		    const void *, size_t, char *, size_t);
static struct kore_json_item	*first_item(const struct kore_json_item *);
static int	is_str(const struct kore_json_item *);
static int	is_type(const struct kore_json_item *, const char *);
static void	comma(struct kore_buf *, int *);
static void	message_open(struct kore_buf *, int *, const char *);
static void	tool_id(struct kore_buf *, const char *);
static void	id_from(char *, size_t, const char *, const char *,
		    const char *);
static const char	*finish_to_openai(const char *);
static void	usage_to_openai(const struct xlate_usage *, struct kore_buf *);
static const char	*stop_from_openai(const char *);

static int	text_of(const struct kore_json_item *, const char *,
		    struct kore_buf *, const char *, char *, size_t);
static int	image_block(const struct kore_json_item *, const char *,
		    struct kore_buf *, int *, char *, size_t);
static int	user_blocks(const struct kore_json_item *, const char *,
		    struct kore_buf *, int *, char *, size_t);
static int	assistant_blocks(const struct kore_json_item *, const char *,
		    struct kore_buf *, int *, char *, size_t);
static int	tool_result_block(const struct kore_json_item *,
		    const char *, struct kore_buf *, int *, char *, size_t);
static void	turn_add(struct kore_buf *, int *, int, struct kore_buf *,
		    int);
static int	tools_from_openai(const struct kore_json_item *,
		    const struct kore_json_item *, const struct kore_json_item *,
		    struct kore_buf *, char *, size_t);

static int	image_url_from(const struct kore_json_item *, const char *,
		    struct kore_buf *, char *, size_t);
static int	user_to_openai(const struct kore_json_item *, const char *,
		    struct kore_buf *, int *, char *, size_t);
static int	assistant_to_openai(const struct kore_json_item *,
		    const char *, struct kore_buf *, int *, char *, size_t);
static int	tools_to_openai(const struct kore_json_item *,
		    const struct kore_json_item *, struct kore_buf *, char *,
		    size_t);

static void	chunk_open(struct xlate_stream *, struct kore_buf *);
static void	chunk_close(struct kore_buf *);
static void	delta_chunk(struct xlate_stream *, const char *, const char *,
		    struct kore_buf *);
static void	finish_chunk(struct xlate_stream *, struct kore_buf *);
static void	event_open(struct kore_buf *, const char *);
static void	block_close(struct xlate_stream *, struct kore_buf *);
static void	message_start(struct xlate_stream *, const char *,
		    struct kore_buf *);
static void	message_close(struct xlate_stream *, struct kore_buf *);

/*
 * OpenAI chat request -> Anthropic Messages request.
 */
int
anthropic_request_from_openai(const void *body, size_t len,
    const char *model, int stream, struct kore_buf *out, char *err,
    size_t errlen)
{
	struct kore_json	 json;
	struct kore_json_item	*root, *msgs, *m, *role, *it, *rf, *s;
	struct kore_buf		 sys, turns, blocks;
	char			 field[FIELD_MAX];
	const char		*r;
	double			 d;
	int64_t			 n, maxtok;
	int			 i, rc, nb, cur, nstop;

	rc = -1;
	kore_buf_init(&sys, 256);
	kore_buf_init(&turns, len + 256);
	kore_buf_init(&blocks, 256);

	if ((root = request_parse(&json, body, len, err, errlen)) == NULL)
		goto done;

	if ((msgs = json_get(root, "messages")) == NULL ||
	    msgs->type != KORE_JSON_TYPE_ARRAY ||
	    TAILQ_EMPTY(&msgs->data.items)) {
		(void)xlate_fail(err, errlen,
		    "messages must be a non-empty array");
		goto done;
	}

	i = 0;
	cur = 0;
	TAILQ_FOREACH(m, &msgs->data.items, list) {
		(void)snprintf(field, sizeof(field), "messages[%d]", i);
		if (m->type != KORE_JSON_TYPE_OBJECT ||
		    !is_str(role = json_get(m, "role"))) {
			(void)xlate_fail(err, errlen, "%s must be an object "
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
			if (text_of(json_get(m, "content"), field, &sys, "\n",
			    err, errlen) == -1)
				goto done;
		} else if (strcmp(r, "user") == 0) {
			if (user_blocks(json_get(m, "content"), field,
			    &blocks, &nb, err, errlen) == -1)
				goto done;
			turn_add(&turns, &cur, 1, &blocks, nb);
		} else if (strcmp(r, "assistant") == 0) {
			(void)snprintf(field, sizeof(field), "messages[%d]", i);
			if (assistant_blocks(m, field, &blocks, &nb, err,
			    errlen) == -1)
				goto done;
			turn_add(&turns, &cur, 2, &blocks, nb);
		} else if (strcmp(r, "tool") == 0) {
			(void)snprintf(field, sizeof(field), "messages[%d]", i);
			if (tool_result_block(m, field, &blocks, &nb, err,
			    errlen) == -1)
				goto done;
			/* Tool results travel in a user turn. */
			turn_add(&turns, &cur, 1, &blocks, nb);
		} else {
			(void)xlate_fail(err, errlen, "messages[%d].role '%s' "
			    "is not one of system, developer, user, assistant, "
			    "tool", i, r);
			goto done;
		}
		i++;
	}
	if (cur == 0) {
		(void)xlate_fail(err, errlen, "messages hold no user or "
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
		if (rf->type != KORE_JSON_TYPE_OBJECT || !is_str(it)) {
			(void)xlate_fail(err, errlen, "response_format must be "
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
				(void)xlate_fail(err, errlen, "response_format."
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
			(void)xlate_fail(err, errlen, "response_format.type "
			    "'%s' is not one of text, json_object, json_schema",
			    it->data.string);
			goto done;
		}
	}

	maxtok = XLATE_ANTHROPIC_MAX_TOKENS;
	if ((it = json_get(root, "max_completion_tokens")) != NULL ||
	    (it = json_get(root, "max_tokens")) != NULL) {
		if (json_int(it, &maxtok) == -1 || maxtok < 1) {
			(void)xlate_fail(err, errlen, "%s must be a positive "
			    "integer", it->name);
			goto done;
		}
	}
	if ((it = json_get(root, "n")) != NULL) {
		if (json_int(it, &n) == -1 || n < 1) {
			(void)xlate_fail(err, errlen,
			    "n must be a positive integer");
			goto done;
		}
		if (n > 1) {
			(void)xlate_fail(err, errlen, "n > 1 is not supported "
			    "by Anthropic models");
			goto done;
		}
	}

	kore_buf_appendf(out, "{\"model\":");
	json_str(out, model != NULL ? model : "");
	kore_buf_appendf(out, ",\"max_tokens\":%" PRId64, maxtok);
	if (sys.offset > 0) {
		kore_buf_appendf(out, ",\"system\":");
		json_strn(out, sys.data, sys.offset);
	}
	kore_buf_appendf(out, ",\"messages\":[");
	kore_buf_append(out, turns.data, turns.offset);
	kore_buf_appendf(out, "]");

	if (tools_from_openai(json_get(root, "tools"),
	    json_get(root, "tool_choice"),
	    json_get(root, "parallel_tool_calls"), out, err, errlen) == -1)
		goto done;

	if ((it = json_get(root, "temperature")) != NULL) {
		if (json_num(it, &d) == -1) {
			(void)xlate_fail(err, errlen,
			    "temperature must be a number");
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
	if ((it = json_get(root, "top_p")) != NULL) {
		if (json_num(it, &d) == -1 || d < 0 || d > 1) {
			(void)xlate_fail(err, errlen,
			    "top_p must be a number from 0 to 1");
			goto done;
		}
		kore_buf_appendf(out, ",\"top_p\":");
		json_double(out, d);
	}
	if ((it = json_get(root, "stop")) != NULL) {
		if (is_str(it)) {
			if (it->data.string[0] != '\0') {
				kore_buf_appendf(out, ",\"stop_sequences\":[");
				json_str(out, it->data.string);
				kore_buf_appendf(out, "]");
			}
		} else if (it->type == KORE_JSON_TYPE_ARRAY) {
			nstop = 0;
			TAILQ_FOREACH(s, &it->data.items, list) {
				if (!is_str(s)) {
					(void)xlate_fail(err, errlen, "stop must "
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
			(void)xlate_fail(err, errlen,
			    "stop must be a string or an array of strings");
			goto done;
		}
	}
	if ((it = json_get(root, "user")) != NULL) {
		if (!is_str(it)) {
			(void)xlate_fail(err, errlen, "user must be a string");
			goto done;
		}
		kore_buf_appendf(out, ",\"metadata\":{\"user_id\":");
		json_str(out, it->data.string);
		kore_buf_appendf(out, "}");
	}
	if (stream)
		kore_buf_appendf(out, ",\"stream\":true");
	kore_buf_appendf(out, "}");
	rc = 0;

done:
	kore_buf_cleanup(&sys);
	kore_buf_cleanup(&turns);
	kore_buf_cleanup(&blocks);
	kore_json_cleanup(&json);
	return (rc);
}

/*
 * Append the blocks of one message to the turns. Anthropic wants user
 * and assistant turns to alternate: a message of the same role as the
 * turn before joins it. A message without blocks adds nothing.
 */
static void
turn_add(struct kore_buf *turns, int *cur, int role, struct kore_buf *blocks,
    int nb)
{
	if (nb == 0)
		return;
	if (*cur == role) {
		kore_buf_append(turns, ",", 1);
	} else {
		if (*cur != 0)
			kore_buf_appendf(turns, "]},");
		kore_buf_appendf(turns, "{\"role\":\"%s\",\"content\":[",
		    role == 1 ? "user" : "assistant");
		*cur = role;
	}
	kore_buf_append(turns, blocks->data, blocks->offset);
}

/*
 * The text of content that must be text: a string, or an array of text
 * parts joined by sep. Appended raw (not as JSON) to dst. Absent content
 * is empty.
 */
static int
text_of(const struct kore_json_item *content, const char *field,
    struct kore_buf *dst, const char *sep, char *err, size_t errlen)
{
	const struct kore_json_item	*p, *t;
	int				 i;

	if (content == NULL)
		return (0);
	if (is_str(content)) {
		kore_buf_append(dst, content->data.string,
		    strlen(content->data.string));
		return (0);
	}
	if (content->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(err, errlen, "%s must be a string or an "
		    "array of text parts", field));

	i = 0;
	TAILQ_FOREACH(p, &content->data.items, list) {
		t = json_get(p, "text");
		if (!is_type(p, "text") || !is_str(t))
			return (xlate_fail(err, errlen, "%s[%d] must be a text "
			    "part with a string text", field, i));
		if (i > 0)
			kore_buf_append(dst, sep, strlen(sep));
		kore_buf_append(dst, t->data.string, strlen(t->data.string));
		i++;
	}
	return (0);
}

/* A text block, unless empty: Anthropic refuses empty text blocks. */
static void
text_block(struct kore_buf *b, int *nb, const char *text,
    const struct kore_json_item *cache)
{
	if (text[0] == '\0')
		return;
	comma(b, nb);
	kore_buf_appendf(b, "{\"type\":\"text\",\"text\":");
	json_str(b, text);
	if (cache != NULL && cache->type == KORE_JSON_TYPE_OBJECT) {
		kore_buf_appendf(b, ",\"cache_control\":");
		json_value(b, cache);
	}
	kore_buf_appendf(b, "}");
}

/*
 * An OpenAI image_url part as an Anthropic image block: a data URL as a
 * base64 source (a PDF as a document block), an http(s) URL as a url
 * source.
 */
static int
image_block(const struct kore_json_item *part, const char *field,
    struct kore_buf *b, int *nb, char *err, size_t errlen)
{
	const struct kore_json_item	*iu, *u;
	const char			*url, *semi, *b64;
	size_t				 mlen;

	iu = json_get(part, "image_url");
	u = is_str(iu) ? iu : json_get(iu, "url");
	if (!is_str(u))
		return (xlate_fail(err, errlen, "%s.image_url.url must be a "
		    "string", field));
	url = u->data.string;

	if (strncmp(url, "data:", 5) == 0) {
		semi = strchr(url + 5, ';');
		b64 = strstr(url + 5, ";base64,");
		if (semi == NULL || b64 == NULL || semi == url + 5)
			return (xlate_fail(err, errlen, "%s.image_url.url: a "
			    "data URL must be data:<media type>;base64,<data>",
			    field));
		mlen = (size_t)(semi - (url + 5));
		comma(b, nb);
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
		comma(b, nb);
		kore_buf_appendf(b, "{\"type\":\"image\",\"source\":{\"type\":"
		    "\"url\",\"url\":");
		json_str(b, url);
		kore_buf_appendf(b, "}}");
		return (0);
	}
	return (xlate_fail(err, errlen, "%s.image_url.url must be a data: "
	    "or http(s) URL", field));
}

static int
user_blocks(const struct kore_json_item *content, const char *field,
    struct kore_buf *b, int *nb, char *err, size_t errlen)
{
	const struct kore_json_item	*p, *t;
	char				 pf[FIELD_MAX + 16];
	int				 i;

	if (content == NULL)
		return (xlate_fail(err, errlen, "%s is required", field));
	if (is_str(content)) {
		text_block(b, nb, content->data.string, NULL);
		return (0);
	}
	if (content->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(err, errlen, "%s must be a string or an "
		    "array of content parts", field));

	i = 0;
	TAILQ_FOREACH(p, &content->data.items, list) {
		(void)snprintf(pf, sizeof(pf), "%s[%d]", field, i++);
		t = json_get(p, "type");
		if (!is_str(t))
			return (xlate_fail(err, errlen, "%s must be an object "
			    "with a string type", pf));
		if (strcmp(t->data.string, "text") == 0) {
			if (!is_str(json_get(p, "text")))
				return (xlate_fail(err, errlen, "%s.text must be "
				    "a string", pf));
			text_block(b, nb, json_get(p, "text")->data.string,
			    json_get(p, "cache_control"));
		} else if (strcmp(t->data.string, "image_url") == 0) {
			if (image_block(p, pf, b, nb, err, errlen) == -1)
				return (-1);
		} else {
			return (xlate_fail(err, errlen, "%s.type '%s' is not "
			    "supported by Anthropic models", pf,
			    t->data.string));
		}
	}
	return (0);
}

/* An assistant message: its text, then its tool calls as tool_use. */
static int
assistant_blocks(const struct kore_json_item *m, const char *field,
    struct kore_buf *b, int *nb, char *err, size_t errlen)
{
	struct kore_json		 args;
	const struct kore_json_item	*c, *p, *t, *calls, *tc, *fn, *id, *name;
	const struct kore_json_item	*a;
	char				 pf[FIELD_MAX + 32];
	int				 i;

	c = json_get(m, "content");
	if (c != NULL && is_str(c)) {
		text_block(b, nb, c->data.string, NULL);
	} else if (c != NULL && c->type == KORE_JSON_TYPE_ARRAY) {
		i = 0;
		TAILQ_FOREACH(p, &c->data.items, list) {
			/* A refusal the model gave is its text. */
			t = json_get(p, is_type(p, "refusal") ?
			    "refusal" : "text");
			if ((!is_type(p, "text") && !is_type(p, "refusal")) ||
			    !is_str(t))
				return (xlate_fail(err, errlen, "%s.content[%d] "
				    "must be a text part", field, i));
			text_block(b, nb, t->data.string, NULL);
			i++;
		}
	} else if (c != NULL) {
		return (xlate_fail(err, errlen, "%s.content must be a string "
		    "or an array of text parts", field));
	}

	if ((calls = json_get(m, "tool_calls")) == NULL)
		return (0);
	if (calls->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(err, errlen, "%s.tool_calls must be an "
		    "array", field));
	i = 0;
	TAILQ_FOREACH(tc, &calls->data.items, list) {
		(void)snprintf(pf, sizeof(pf), "%s.tool_calls[%d]", field, i++);
		fn = json_get(tc, "function");
		id = json_get(tc, "id");
		name = json_get(fn, "name");
		if (!is_str(id) || id->data.string[0] == '\0')
			return (xlate_fail(err, errlen, "%s.id must be a "
			    "non-empty string", pf));
		if (!is_str(name) || name->data.string[0] == '\0')
			return (xlate_fail(err, errlen, "%s.function.name must "
			    "be a non-empty string", pf));
		a = json_get(fn, "arguments");
		if (a != NULL && !is_str(a))
			return (xlate_fail(err, errlen, "%s.function.arguments "
			    "must be a string", pf));

		comma(b, nb);
		kore_buf_appendf(b, "{\"type\":\"tool_use\",\"id\":");
		tool_id(b, id->data.string);
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
			return (xlate_fail(err, errlen, "%s.function.arguments "
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
tool_result_block(const struct kore_json_item *m, const char *field,
    struct kore_buf *b, int *nb, char *err, size_t errlen)
{
	const struct kore_json_item	*id;
	struct kore_buf			 text;
	char				 cf[FIELD_MAX + 16];

	id = json_get(m, "tool_call_id");
	if (!is_str(id) || id->data.string[0] == '\0')
		return (xlate_fail(err, errlen, "%s.tool_call_id must be a "
		    "non-empty string", field));

	(void)snprintf(cf, sizeof(cf), "%s.content", field);
	kore_buf_init(&text, 256);
	if (text_of(json_get(m, "content"), cf, &text, "\n", err,
	    errlen) == -1) {
		kore_buf_cleanup(&text);
		return (-1);
	}
	comma(b, nb);
	kore_buf_appendf(b, "{\"type\":\"tool_result\",\"tool_use_id\":");
	tool_id(b, id->data.string);
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
tools_from_openai(const struct kore_json_item *tools,
    const struct kore_json_item *choice, const struct kore_json_item *par,
    struct kore_buf *out, char *err, size_t errlen)
{
	const struct kore_json_item	*t, *fn, *name, *desc, *params;
	const char			*c;
	int				 i, nopar, v;

	nopar = 0;
	if (par != NULL) {
		if (json_bool(par, &v) == -1)
			return (xlate_fail(err, errlen,
			    "parallel_tool_calls must be a boolean"));
		nopar = !v;
	}
	if (tools == NULL)
		return (0);
	if (tools->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(err, errlen, "tools must be an array"));
	if (TAILQ_EMPTY(&tools->data.items))
		return (0);

	kore_buf_appendf(out, ",\"tools\":[");
	i = 0;
	TAILQ_FOREACH(t, &tools->data.items, list) {
		fn = json_get(t, "function");
		name = json_get(fn, "name");
		if (!is_type(t, "function") ||
		    fn == NULL || fn->type != KORE_JSON_TYPE_OBJECT)
			return (xlate_fail(err, errlen, "tools[%d] must be a "
			    "function tool ({\"type\":\"function\","
			    "\"function\":{...}})", i));
		if (!is_str(name) || name->data.string[0] == '\0')
			return (xlate_fail(err, errlen, "tools[%d].function."
			    "name must be a non-empty string", i));
		desc = json_get(fn, "description");
		if (desc != NULL && !is_str(desc))
			return (xlate_fail(err, errlen, "tools[%d].function."
			    "description must be a string", i));
		params = json_get(fn, "parameters");
		if (params != NULL && params->type != KORE_JSON_TYPE_OBJECT)
			return (xlate_fail(err, errlen, "tools[%d].function."
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
	if (is_str(choice)) {
		c = choice->data.string;
		if (strcmp(c, "auto") == 0)
			c = "auto";
		else if (strcmp(c, "required") == 0)
			c = "any";
		else if (strcmp(c, "none") == 0)
			c = "none";
		else
			return (xlate_fail(err, errlen, "tool_choice '%s' is "
			    "not one of auto, none, required", c));
		kore_buf_appendf(out, ",\"tool_choice\":{\"type\":\"%s\"", c);
	} else {
		name = json_get(json_get(choice, "function"), "name");
		if (!is_type(choice, "function") || !is_str(name))
			return (xlate_fail(err, errlen, "tool_choice must be "
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
 * Anthropic Messages request -> OpenAI chat request, for the clients of
 * /v1/messages in front of OpenAI-style upstreams.
 */
int
anthropic_request_to_openai(const void *body, size_t len, const char *model,
    int stream, struct kore_buf *out, char *err, size_t errlen)
{
	struct kore_json	 json;
	struct kore_json_item	*root, *msgs, *m, *role, *it, *s, *md;
	struct kore_buf		 sys;
	char			 field[FIELD_MAX];
	double			 d;
	int64_t			 n;
	int			 i, rc, nm, nstop;

	rc = -1;
	kore_buf_init(&sys, 256);

	if ((root = request_parse(&json, body, len, err, errlen)) == NULL)
		goto done;

	kore_buf_appendf(out, "{\"model\":");
	json_str(out, model != NULL ? model : "");
	kore_buf_appendf(out, ",\"messages\":[");
	nm = 0;

	if ((it = json_get(root, "system")) != NULL) {
		if (text_of(it, "system", &sys, "\n\n", err, errlen) == -1)
			goto done;
		if (sys.offset > 0) {
			message_open(out, &nm, "system");
			json_strn(out, sys.data, sys.offset);
			kore_buf_appendf(out, "}");
		}
	}

	if ((msgs = json_get(root, "messages")) == NULL ||
	    msgs->type != KORE_JSON_TYPE_ARRAY ||
	    TAILQ_EMPTY(&msgs->data.items)) {
		(void)xlate_fail(err, errlen,
		    "messages must be a non-empty array");
		goto done;
	}
	i = 0;
	TAILQ_FOREACH(m, &msgs->data.items, list) {
		(void)snprintf(field, sizeof(field), "messages[%d]", i);
		role = json_get(m, "role");
		if (m->type != KORE_JSON_TYPE_OBJECT || !is_str(role)) {
			(void)xlate_fail(err, errlen, "%s must be an object "
			    "with a string role", field);
			goto done;
		}
		if (strcmp(role->data.string, "user") == 0) {
			if (user_to_openai(m, field, out, &nm, err,
			    errlen) == -1)
				goto done;
		} else if (strcmp(role->data.string, "assistant") == 0) {
			if (assistant_to_openai(m, field, out, &nm, err,
			    errlen) == -1)
				goto done;
		} else {
			(void)xlate_fail(err, errlen, "%s.role '%s' is not one "
			    "of user, assistant", field, role->data.string);
			goto done;
		}
		i++;
	}
	kore_buf_appendf(out, "]");

	if ((it = json_get(root, "max_tokens")) != NULL) {
		if (json_int(it, &n) == -1 || n < 1) {
			(void)xlate_fail(err, errlen,
			    "max_tokens must be a positive integer");
			goto done;
		}
		kore_buf_appendf(out, ",\"max_tokens\":%" PRId64, n);
	}
	if ((it = json_get(root, "temperature")) != NULL) {
		if (json_num(it, &d) == -1) {
			(void)xlate_fail(err, errlen,
			    "temperature must be a number");
			goto done;
		}
		kore_buf_appendf(out, ",\"temperature\":");
		json_double(out, d);
	}
	if ((it = json_get(root, "top_p")) != NULL) {
		if (json_num(it, &d) == -1) {
			(void)xlate_fail(err, errlen, "top_p must be a number");
			goto done;
		}
		kore_buf_appendf(out, ",\"top_p\":");
		json_double(out, d);
	}
	if ((it = json_get(root, "top_k")) != NULL && json_int(it, &n) == -1) {
		/* OpenAI has no top_k: checked, then left out. */
		(void)xlate_fail(err, errlen, "top_k must be an integer");
		goto done;
	}
	if ((it = json_get(root, "stop_sequences")) != NULL) {
		if (it->type != KORE_JSON_TYPE_ARRAY) {
			(void)xlate_fail(err, errlen,
			    "stop_sequences must be an array of strings");
			goto done;
		}
		nstop = 0;
		TAILQ_FOREACH(s, &it->data.items, list) {
			if (!is_str(s)) {
				(void)xlate_fail(err, errlen, "stop_sequences "
				    "must be an array of strings");
				goto done;
			}
			kore_buf_appendf(out, nstop++ ? "," : ",\"stop\":[");
			json_str(out, s->data.string);
		}
		if (nstop > 0)
			kore_buf_appendf(out, "]");
	}
	if (tools_to_openai(json_get(root, "tools"),
	    json_get(root, "tool_choice"), out, err, errlen) == -1)
		goto done;
	if ((md = json_get(root, "metadata")) != NULL) {
		if (md->type != KORE_JSON_TYPE_OBJECT) {
			(void)xlate_fail(err, errlen,
			    "metadata must be an object");
			goto done;
		}
		if ((it = json_get(md, "user_id")) != NULL) {
			if (!is_str(it)) {
				(void)xlate_fail(err, errlen,
				    "metadata.user_id must be a string");
				goto done;
			}
			kore_buf_appendf(out, ",\"user\":");
			json_str(out, it->data.string);
		}
	}
	if (stream) {
		kore_buf_appendf(out, ",\"stream\":true,"
		    "\"stream_options\":{\"include_usage\":true}");
	}
	kore_buf_appendf(out, "}");
	rc = 0;

done:
	kore_buf_cleanup(&sys);
	kore_json_cleanup(&json);
	return (rc);
}

/* An Anthropic image block's source as an OpenAI image_url part. */
static int
image_url_from(const struct kore_json_item *blk, const char *field,
    struct kore_buf *b, char *err, size_t errlen)
{
	const struct kore_json_item	*src, *t, *mt, *data, *url;
	struct kore_buf			 u;

	src = json_get(blk, "source");
	t = json_get(src, "type");
	if (!is_str(t))
		return (xlate_fail(err, errlen, "%s.source must be an object "
		    "with a string type", field));
	if (strcmp(t->data.string, "base64") == 0) {
		mt = json_get(src, "media_type");
		data = json_get(src, "data");
		if (!is_str(mt) || !is_str(data))
			return (xlate_fail(err, errlen, "%s.source needs string "
			    "media_type and data", field));
		kore_buf_init(&u, strlen(data->data.string) + 64);
		kore_buf_appendf(&u, "data:%s;base64,", mt->data.string);
		kore_buf_append(&u, data->data.string,
		    strlen(data->data.string));
		kore_buf_appendf(b, "{\"type\":\"image_url\",\"image_url\":"
		    "{\"url\":");
		json_strn(b, u.data, u.offset);
		kore_buf_appendf(b, "}}");
		kore_buf_cleanup(&u);
		return (0);
	}
	if (strcmp(t->data.string, "url") == 0) {
		url = json_get(src, "url");
		if (!is_str(url))
			return (xlate_fail(err, errlen, "%s.source.url must be "
			    "a string", field));
		kore_buf_appendf(b, "{\"type\":\"image_url\",\"image_url\":"
		    "{\"url\":");
		json_str(b, url->data.string);
		kore_buf_appendf(b, "}}");
		return (0);
	}
	return (xlate_fail(err, errlen, "%s.source.type '%s' is not one of "
	    "base64, url", field, t->data.string));
}

/*
 * An Anthropic user turn. Its tool_result blocks become role "tool"
 * messages, which OpenAI wants right after the assistant's tool calls;
 * the rest (text, images, and images returned inside tool results)
 * follows as one user message.
 */
static int
user_to_openai(const struct kore_json_item *m, const char *field,
    struct kore_buf *out, int *nm, char *err, size_t errlen)
{
	const struct kore_json_item	*c, *blk, *t, *id, *rc, *sub;
	struct kore_buf			 parts, text;
	char				 bf[FIELD_MAX + 32];
	int				 i, j, np, ntext, ret;

	c = json_get(m, "content");
	if (c != NULL && is_str(c)) {
		message_open(out, nm, "user");
		json_str(out, c->data.string);
		kore_buf_appendf(out, "}");
		return (0);
	}
	if (c == NULL || c->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(err, errlen, "%s.content must be a string "
		    "or an array of content blocks", field));

	ret = -1;
	kore_buf_init(&parts, 256);
	kore_buf_init(&text, 256);
	np = ntext = 0;
	i = 0;
	TAILQ_FOREACH(blk, &c->data.items, list) {
		(void)snprintf(bf, sizeof(bf), "%s.content[%d]", field, i++);
		t = json_get(blk, "type");
		if (!is_str(t)) {
			(void)xlate_fail(err, errlen, "%s must be an object "
			    "with a string type", bf);
			goto done;
		}
		if (strcmp(t->data.string, "text") == 0) {
			if (!is_str(json_get(blk, "text"))) {
				(void)xlate_fail(err, errlen, "%s.text must be "
				    "a string", bf);
				goto done;
			}
			comma(&parts, &np);
			ntext++;
			kore_buf_appendf(&parts, "{\"type\":\"text\",\"text\":");
			json_str(&parts, json_get(blk, "text")->data.string);
			kore_buf_appendf(&parts, "}");
		} else if (strcmp(t->data.string, "image") == 0) {
			comma(&parts, &np);
			if (image_url_from(blk, bf, &parts, err, errlen) == -1)
				goto done;
		} else if (strcmp(t->data.string, "tool_result") == 0) {
			id = json_get(blk, "tool_use_id");
			if (!is_str(id)) {
				(void)xlate_fail(err, errlen, "%s.tool_use_id "
				    "must be a string", bf);
				goto done;
			}
			kore_buf_reset(&text);
			rc = json_get(blk, "content");
			if (rc != NULL && is_str(rc)) {
				kore_buf_append(&text, rc->data.string,
				    strlen(rc->data.string));
			} else if (rc != NULL &&
			    rc->type == KORE_JSON_TYPE_ARRAY) {
				j = 0;
				TAILQ_FOREACH(sub, &rc->data.items, list) {
					if (is_type(sub, "text") &&
					    is_str(json_get(sub, "text"))) {
						if (text.offset > 0)
							kore_buf_append(&text,
							    "\n", 1);
						kore_buf_appendf(&text, "%s",
						    json_get(sub,
						    "text")->data.string);
					} else if (is_type(sub, "image")) {
						comma(&parts, &np);
						if (image_url_from(sub, bf,
						    &parts, err, errlen) == -1)
							goto done;
					} else {
						(void)xlate_fail(err, errlen,
						    "%s.content[%d] must be a "
						    "text or image block", bf, j);
						goto done;
					}
					j++;
				}
			} else if (rc != NULL) {
				(void)xlate_fail(err, errlen, "%s.content must "
				    "be a string or an array of blocks", bf);
				goto done;
			}
			kore_buf_appendf(out, "%s{\"role\":\"tool\","
			    "\"tool_call_id\":", (*nm)++ ? "," : "");
			json_str(out, id->data.string);
			kore_buf_appendf(out, ",\"content\":");
			json_strn(out, text.data, text.offset);
			kore_buf_appendf(out, "}");
		} else {
			(void)xlate_fail(err, errlen, "%s.type '%s' cannot be "
			    "sent to this provider", bf, t->data.string);
			goto done;
		}
	}

	if (np > 0) {
		message_open(out, nm, "user");
		if (np == 1 && ntext == 1) {
			/* One text part: plain content, as most clients do. */
			TAILQ_FOREACH(blk, &c->data.items, list) {
				if (is_type(blk, "text"))
					break;
			}
			json_str(out, json_get(blk, "text")->data.string);
		} else {
			kore_buf_appendf(out, "[");
			kore_buf_append(out, parts.data, parts.offset);
			kore_buf_appendf(out, "]");
		}
		kore_buf_appendf(out, "}");
	}
	ret = 0;
done:
	kore_buf_cleanup(&parts);
	kore_buf_cleanup(&text);
	return (ret);
}

/* An Anthropic assistant turn: its text, its tool_use as tool_calls. */
static int
assistant_to_openai(const struct kore_json_item *m, const char *field,
    struct kore_buf *out, int *nm, char *err, size_t errlen)
{
	const struct kore_json_item	*c, *blk, *t, *id, *name, *in;
	struct kore_buf			 text, calls, args;
	char				 bf[FIELD_MAX + 32];
	int				 i, nc;

	c = json_get(m, "content");
	if (c != NULL && is_str(c)) {
		message_open(out, nm, "assistant");
		json_str(out, c->data.string);
		kore_buf_appendf(out, "}");
		return (0);
	}
	if (c == NULL || c->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(err, errlen, "%s.content must be a string "
		    "or an array of content blocks", field));

	kore_buf_init(&text, 256);
	kore_buf_init(&calls, 256);
	kore_buf_init(&args, 128);
	nc = 0;
	i = 0;
	TAILQ_FOREACH(blk, &c->data.items, list) {
		(void)snprintf(bf, sizeof(bf), "%s.content[%d]", field, i++);
		t = json_get(blk, "type");
		if (!is_str(t)) {
			(void)xlate_fail(err, errlen, "%s must be an object "
			    "with a string type", bf);
			goto fail;
		}
		if (strcmp(t->data.string, "text") == 0) {
			if (!is_str(json_get(blk, "text"))) {
				(void)xlate_fail(err, errlen, "%s.text must be "
				    "a string", bf);
				goto fail;
			}
			kore_buf_appendf(&text, "%s",
			    json_get(blk, "text")->data.string);
		} else if (strcmp(t->data.string, "tool_use") == 0) {
			id = json_get(blk, "id");
			name = json_get(blk, "name");
			in = json_get(blk, "input");
			if (!is_str(id) || !is_str(name)) {
				(void)xlate_fail(err, errlen, "%s needs string "
				    "id and name", bf);
				goto fail;
			}
			if (in != NULL && in->type != KORE_JSON_TYPE_OBJECT) {
				(void)xlate_fail(err, errlen, "%s.input must be "
				    "an object", bf);
				goto fail;
			}
			comma(&calls, &nc);
			kore_buf_appendf(&calls, "{\"id\":");
			json_str(&calls, id->data.string);
			kore_buf_appendf(&calls, ",\"type\":\"function\","
			    "\"function\":{\"name\":");
			json_str(&calls, name->data.string);
			kore_buf_appendf(&calls, ",\"arguments\":");
			/* OpenAI carries the arguments as JSON text. */
			kore_buf_reset(&args);
			if (in != NULL)
				json_value(&args, in);
			else
				kore_buf_appendf(&args, "{}");
			json_strn(&calls, args.data, args.offset);
			kore_buf_appendf(&calls, "}}");
		} else if (strcmp(t->data.string, "thinking") == 0 ||
		    strcmp(t->data.string, "redacted_thinking") == 0) {
			/* Claude's reasoning means nothing to other models. */
			continue;
		} else {
			(void)xlate_fail(err, errlen, "%s.type '%s' cannot be "
			    "sent to this provider", bf, t->data.string);
			goto fail;
		}
	}

	message_open(out, nm, "assistant");
	if (text.offset > 0 || nc == 0)
		json_strn(out, text.data, text.offset);
	else
		kore_buf_appendf(out, "null");
	if (nc > 0) {
		kore_buf_appendf(out, ",\"tool_calls\":[");
		kore_buf_append(out, calls.data, calls.offset);
		kore_buf_appendf(out, "]");
	}
	kore_buf_appendf(out, "}");
	kore_buf_cleanup(&text);
	kore_buf_cleanup(&calls);
	kore_buf_cleanup(&args);
	return (0);

fail:
	kore_buf_cleanup(&text);
	kore_buf_cleanup(&calls);
	kore_buf_cleanup(&args);
	return (-1);
}

static int
tools_to_openai(const struct kore_json_item *tools,
    const struct kore_json_item *choice, struct kore_buf *out, char *err,
    size_t errlen)
{
	const struct kore_json_item	*t, *name, *desc, *schema, *ct, *dp;
	int				 i, v;

	if (tools != NULL) {
		if (tools->type != KORE_JSON_TYPE_ARRAY)
			return (xlate_fail(err, errlen,
			    "tools must be an array"));
		i = 0;
		TAILQ_FOREACH(t, &tools->data.items, list) {
			name = json_get(t, "name");
			desc = json_get(t, "description");
			schema = json_get(t, "input_schema");
			ct = json_get(t, "type");
			/* Server tools (web search...) run at Anthropic. */
			if (ct != NULL && (!is_str(ct) ||
			    strcmp(ct->data.string, "custom") != 0))
				return (xlate_fail(err, errlen, "tools[%d]: "
				    "only client tools can be sent to this "
				    "provider", i));
			if (!is_str(name))
				return (xlate_fail(err, errlen, "tools[%d].name "
				    "must be a string", i));
			if (desc != NULL && !is_str(desc))
				return (xlate_fail(err, errlen, "tools[%d]."
				    "description must be a string", i));
			if (schema == NULL ||
			    schema->type != KORE_JSON_TYPE_OBJECT)
				return (xlate_fail(err, errlen, "tools[%d]."
				    "input_schema must be an object", i));
			kore_buf_appendf(out, "%s{\"type\":\"function\","
			    "\"function\":{\"name\":", i ? "," : ",\"tools\":[");
			json_str(out, name->data.string);
			if (desc != NULL) {
				kore_buf_appendf(out, ",\"description\":");
				json_str(out, desc->data.string);
			}
			kore_buf_appendf(out, ",\"parameters\":");
			json_value(out, schema);
			kore_buf_appendf(out, "}}");
			i++;
		}
		if (i > 0)
			kore_buf_appendf(out, "]");
		if (i == 0)
			tools = NULL;
	}
	if (choice == NULL)
		return (0);

	ct = json_get(choice, "type");
	if (!is_str(ct))
		return (xlate_fail(err, errlen, "tool_choice must be an object "
		    "with a string type"));
	dp = json_get(choice, "disable_parallel_tool_use");
	if (dp != NULL && json_bool(dp, &v) == -1)
		return (xlate_fail(err, errlen, "tool_choice."
		    "disable_parallel_tool_use must be a boolean"));
	if (tools == NULL)
		return (0);

	if (strcmp(ct->data.string, "auto") == 0) {
		kore_buf_appendf(out, ",\"tool_choice\":\"auto\"");
	} else if (strcmp(ct->data.string, "any") == 0) {
		kore_buf_appendf(out, ",\"tool_choice\":\"required\"");
	} else if (strcmp(ct->data.string, "none") == 0) {
		kore_buf_appendf(out, ",\"tool_choice\":\"none\"");
	} else if (strcmp(ct->data.string, "tool") == 0) {
		name = json_get(choice, "name");
		if (!is_str(name))
			return (xlate_fail(err, errlen,
			    "tool_choice.name must be a string"));
		kore_buf_appendf(out, ",\"tool_choice\":{\"type\":\"function\","
		    "\"function\":{\"name\":");
		json_str(out, name->data.string);
		kore_buf_appendf(out, "}}");
	} else {
		return (xlate_fail(err, errlen, "tool_choice.type '%s' is not "
		    "one of auto, any, tool, none", ct->data.string));
	}
	if (dp != NULL && v)
		kore_buf_appendf(out, ",\"parallel_tool_calls\":false");
	return (0);
}

/*
 * A whole Anthropic answer (a message) as an OpenAI chat completion.
 */
int
anthropic_response_to_openai(const void *body, size_t len, const char *model,
    struct kore_buf *out, struct xlate_usage *usage)
{
	struct kore_json	 json;
	struct kore_json_item	*root, *content, *blk, *t, *id, *sr;
	struct kore_buf		 text, calls, args, think;
	struct xlate_usage	 u;
	char			 cid[128];
	int			 rc, nc;

	rc = -1;
	u.prompt_tokens = u.completion_tokens = -1;
	kore_buf_init(&text, 256);
	kore_buf_init(&calls, 256);
	kore_buf_init(&args, 128);
	kore_buf_init(&think, 128);

	if (json_parse(&json, body, len) == -1)
		goto done;
	root = json.root;
	content = json_get(root, "content");
	if (content == NULL || content->type != KORE_JSON_TYPE_ARRAY)
		goto done;

	nc = 0;
	TAILQ_FOREACH(blk, &content->data.items, list) {
		t = json_get(blk, "type");
		if (is_type(blk, "text") && is_str(json_get(blk, "text"))) {
			kore_buf_appendf(&text, "%s",
			    json_get(blk, "text")->data.string);
		} else if (is_type(blk, "tool_use")) {
			if (!is_str(json_get(blk, "id")) ||
			    !is_str(json_get(blk, "name")))
				goto done;
			comma(&calls, &nc);
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
		} else if (is_type(blk, "thinking") &&
		    is_str(json_get(blk, "thinking"))) {
			kore_buf_appendf(&think, "%s",
			    json_get(blk, "thinking")->data.string);
		} else if (!is_str(t)) {
			goto done;
		}
		/* Other blocks (server tools...) have no OpenAI equivalent. */
	}
	anthropic_usage(json_get(root, "usage"), &u);

	id = json_get(root, "id");
	id_from(cid, sizeof(cid), is_str(id) ? id->data.string : "",
	    "msg_", "chatcmpl-");
	sr = json_get(root, "stop_reason");

	kore_buf_appendf(out, "{\"id\":");
	json_str(out, cid);
	kore_buf_appendf(out, ",\"object\":\"chat.completion\","
	    "\"created\":%" PRId64 ",\"model\":", (int64_t)time(NULL));
	json_str(out, model != NULL ? model : "");
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
	json_str(out, finish_to_openai(is_str(sr) ? sr->data.string :
	    "end_turn"));
	kore_buf_appendf(out, "}],");
	usage_to_openai(&u, out);
	kore_buf_appendf(out, "}");
	rc = 0;

done:
	if (usage != NULL)
		*usage = u;
	kore_buf_cleanup(&text);
	kore_buf_cleanup(&calls);
	kore_buf_cleanup(&args);
	kore_buf_cleanup(&think);
	kore_json_cleanup(&json);
	return (rc);
}

/*
 * A whole OpenAI chat completion as an Anthropic message.
 */
int
anthropic_response_from_openai(const void *body, size_t len,
    const char *model, struct kore_buf *out, struct xlate_usage *usage)
{
	struct kore_json	 json, aj;
	struct kore_json_item	*root, *ch, *msg, *c, *p, *tc, *fn, *a, *id, *fr;
	struct kore_json_item	*name;
	struct xlate_usage	 us;
	char			 mid[128];
	int			 rc, nb, i;

	rc = -1;
	us.prompt_tokens = us.completion_tokens = -1;
	if (json_parse(&json, body, len) == -1)
		goto done;
	root = json.root;
	ch = json_get(root, "choices");
	if (ch == NULL || ch->type != KORE_JSON_TYPE_ARRAY ||
	    (ch = first_item(ch)) == NULL ||
	    (msg = json_get(ch, "message")) == NULL ||
	    msg->type != KORE_JSON_TYPE_OBJECT)
		goto done;

	xlate_openai_usage(json_get(root, "usage"), &us);
	id = json_get(root, "id");
	id_from(mid, sizeof(mid), is_str(id) ? id->data.string : "",
	    "chatcmpl-", "msg_");
	fr = json_get(ch, "finish_reason");

	kore_buf_appendf(out, "{\"id\":");
	json_str(out, mid);
	kore_buf_appendf(out, ",\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":");
	json_str(out, model != NULL ? model : "");
	kore_buf_appendf(out, ",\"content\":[");
	nb = 0;
	c = json_get(msg, "content");
	if (c != NULL && is_str(c)) {
		text_block(out, &nb, c->data.string, NULL);
	} else if (c != NULL && c->type == KORE_JSON_TYPE_ARRAY) {
		TAILQ_FOREACH(p, &c->data.items, list) {
			if (is_str(json_get(p, "text")))
				text_block(out, &nb,
				    json_get(p, "text")->data.string, NULL);
		}
	}
	if ((c = json_get(msg, "refusal")) != NULL && is_str(c))
		text_block(out, &nb, c->data.string, NULL);

	if ((tc = json_get(msg, "tool_calls")) != NULL &&
	    tc->type == KORE_JSON_TYPE_ARRAY) {
		i = 0;
		TAILQ_FOREACH(p, &tc->data.items, list) {
			fn = json_get(p, "function");
			name = json_get(fn, "name");
			if (!is_str(name))
				goto done;
			id = json_get(p, "id");
			comma(out, &nb);
			kore_buf_appendf(out, "{\"type\":\"tool_use\",\"id\":");
			if (is_str(id))
				tool_id(out, id->data.string);
			else
				kore_buf_appendf(out, "\"toolu_%d\"", i);
			kore_buf_appendf(out, ",\"name\":");
			json_str(out, name->data.string);
			kore_buf_appendf(out, ",\"input\":");
			/*
			 * Models do write broken arguments now and then: an
			 * input that is no JSON object goes as {} rather than
			 * failing the whole answer.
			 */
			a = json_get(fn, "arguments");
			if (is_str(a)) {
				if (json_parse(&aj, a->data.string,
				    strlen(a->data.string)) == 0)
					json_value(out, aj.root);
				else
					kore_buf_appendf(out, "{}");
				kore_json_cleanup(&aj);
			} else if (a != NULL &&
			    a->type == KORE_JSON_TYPE_OBJECT) {
				json_value(out, a);
			} else {
				kore_buf_appendf(out, "{}");
			}
			kore_buf_appendf(out, "}");
			i++;
		}
	}
	kore_buf_appendf(out, "],\"stop_reason\":");
	json_str(out, stop_from_openai(is_str(fr) ? fr->data.string :
	    "stop"));
	kore_buf_appendf(out, ",\"stop_sequence\":null,\"usage\":"
	    "{\"input_tokens\":%" PRId64 ",\"output_tokens\":%" PRId64 "}}",
	    us.prompt_tokens < 0 ? 0 : us.prompt_tokens,
	    us.completion_tokens < 0 ? 0 : us.completion_tokens);
	rc = 0;

done:
	if (usage != NULL)
		*usage = us;
	kore_json_cleanup(&json);
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
	if (!is_str(t)) {
		(void)xlate_fail(st->err, sizeof(st->err), "upstream sent an "
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
			if (st->id[0] == '\0' && is_str(id))
				id_from(st->id, sizeof(st->id),
				    id->data.string, "msg_", "chatcmpl-");
		}
		if (st->id[0] == '\0')
			(void)snprintf(st->id, sizeof(st->id), "chatcmpl-%"
			    PRId64, st->created);
		st->started = 1;
		chunk_open(st, out);
		kore_buf_appendf(out, "{\"index\":0,\"delta\":{\"role\":"
		    "\"assistant\",\"content\":\"\"},\"logprobs\":null,"
		    "\"finish_reason\":null}");
		chunk_close(out);
		if (strcmp(type, "message_start") == 0)
			goto done;
	}

	if (strcmp(type, "content_block_start") == 0) {
		cb = json_get(root, "content_block");
		if (is_type(cb, "text")) {
			st->block_type = BT_TEXT;
			x = json_get(cb, "text");
			if (is_str(x) && x->data.string[0] != '\0') {
				delta_chunk(st, "content", x->data.string, out);
			}
		} else if (is_type(cb, "tool_use")) {
			id = json_get(cb, "id");
			name = json_get(cb, "name");
			in = json_get(cb, "input");
			st->block_type = BT_TOOL;
			st->tool_index = st->ntools++;
			chunk_open(st, out);
			kore_buf_appendf(out, "{\"index\":0,\"delta\":"
			    "{\"tool_calls\":[{\"index\":%d,\"id\":",
			    st->tool_index);
			json_str(out, is_str(id) ? id->data.string : "");
			kore_buf_appendf(out, ",\"type\":\"function\","
			    "\"function\":{\"name\":");
			json_str(out, is_str(name) ? name->data.string : "");
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
			chunk_close(out);
		} else if (is_type(cb, "thinking")) {
			/* Claude's thinking: reasoning_content, as others do. */
			st->block_type = BT_THINK;
		} else {
			/* Server tools, redacted thinking: nothing to show. */
			st->block_type = BT_OTHER;
		}
	} else if (strcmp(type, "content_block_delta") == 0) {
		d = json_get(root, "delta");
		if (is_type(d, "text_delta") &&
		    is_str(x = json_get(d, "text")) &&
		    x->data.string[0] != '\0') {
			delta_chunk(st, "content", x->data.string, out);
		} else if (is_type(d, "thinking_delta") &&
		    st->block_type == BT_THINK &&
		    is_str(x = json_get(d, "thinking")) &&
		    x->data.string[0] != '\0') {
			delta_chunk(st, "reasoning_content", x->data.string,
			    out);
		} else if (is_type(d, "input_json_delta") &&
		    st->block_type == BT_TOOL &&
		    is_str(x = json_get(d, "partial_json")) &&
		    x->data.string[0] != '\0') {
			chunk_open(st, out);
			kore_buf_appendf(out, "{\"index\":0,\"delta\":"
			    "{\"tool_calls\":[{\"index\":%d,\"function\":"
			    "{\"arguments\":", st->tool_index);
			json_str(out, x->data.string);
			kore_buf_appendf(out, "}}]},\"logprobs\":null,"
			    "\"finish_reason\":null}");
			chunk_close(out);
		}
	} else if (strcmp(type, "content_block_stop") == 0) {
		st->block_type = BT_NONE;
	} else if (strcmp(type, "message_delta") == 0) {
		anthropic_usage(json_get(root, "usage"), &st->usage);
		x = json_get(json_get(root, "delta"), "stop_reason");
		if (is_str(x) && st->finish[0] == '\0') {
			(void)snprintf(st->finish, sizeof(st->finish), "%s",
			    finish_to_openai(x->data.string));
			finish_chunk(st, out);
		}
	} else if (strcmp(type, "message_stop") == 0) {
		if (st->finish[0] == '\0') {
			(void)snprintf(st->finish, sizeof(st->finish), "stop");
			finish_chunk(st, out);
		}
		if (!st->omit_usage) {
			chunk_open(st, out);
			out->offset--;		/* the '[' of choices */
			kore_buf_appendf(out, "[],");
			usage_to_openai(&st->usage, out);
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

/*
 * OpenAI chunks -> Anthropic stream. message_start goes out with the
 * first chunk; text and each tool call get their own content block; the
 * finish reason is held until the usage (which OpenAI sends after it)
 * or [DONE] arrives, then message_delta and message_stop close the
 * message.
 */
int
anthropic_stream_from_openai(struct xlate_stream *st, const void *data,
    size_t len, struct kore_buf *out)
{
	struct kore_json	 json;
	struct kore_json_item	*root, *ch, *d, *c, *tcs, *tc, *fn, *id, *name;
	struct kore_json_item	*a, *fr, *cid;
	int64_t			 idx;
	int			 rc;

	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		if (!st->done)
			message_close(st, out);
		return (0);
	}

	rc = -1;
	if ((root = xlate_event(st, &json, data, len)) == NULL)
		goto done;
	if (json_get(root, "error") != NULL) {
		xlate_event_error(st, data, len);
		goto done;
	}
	rc = 0;
	if (st->done)
		goto done;

	if (!st->started) {
		cid = json_get(root, "id");
		message_start(st, is_str(cid) ? cid->data.string : NULL, out);
	}

	xlate_openai_usage(json_get(root, "usage"), &st->usage);

	ch = json_get(root, "choices");
	if (ch == NULL || ch->type != KORE_JSON_TYPE_ARRAY ||
	    (ch = first_item(ch)) == NULL)
		goto done;
	d = json_get(ch, "delta");

	if (is_str(c = json_get(d, "content")) && c->data.string[0] != '\0') {
		if (st->block_type != BT_TEXT) {
			block_close(st, out);
			st->block = st->nblocks++;
			st->block_type = BT_TEXT;
			event_open(out, "content_block_start");
			kore_buf_appendf(out, ",\"index\":%d,\"content_block\":"
			    "{\"type\":\"text\",\"text\":\"\"}}\n\n", st->block);
		}
		event_open(out, "content_block_delta");
		kore_buf_appendf(out, ",\"index\":%d,\"delta\":{\"type\":"
		    "\"text_delta\",\"text\":", st->block);
		json_str(out, c->data.string);
		kore_buf_appendf(out, "}}\n\n");
	}

	if ((tcs = json_get(d, "tool_calls")) != NULL &&
	    tcs->type == KORE_JSON_TYPE_ARRAY) {
		TAILQ_FOREACH(tc, &tcs->data.items, list) {
			if (json_int(json_get(tc, "index"), &idx) == -1)
				idx = 0;
			fn = json_get(tc, "function");
			id = json_get(tc, "id");
			name = json_get(fn, "name");
			a = json_get(fn, "arguments");
			if ((st->block_type != BT_TOOL ||
			    idx != st->tool_index) &&
			    (is_str(id) || is_str(name))) {
				/* A new call: a new tool_use block. */
				block_close(st, out);
				st->block = st->nblocks++;
				st->block_type = BT_TOOL;
				st->tool_index = (int)idx;
				st->ntools++;
				event_open(out, "content_block_start");
				kore_buf_appendf(out, ",\"index\":%d,"
				    "\"content_block\":{\"type\":\"tool_use\","
				    "\"id\":", st->block);
				if (is_str(id) && id->data.string[0] != '\0')
					tool_id(out, id->data.string);
				else
					kore_buf_appendf(out, "\"toolu_%" PRId64
					    "_%d\"", st->created, st->ntools);
				kore_buf_appendf(out, ",\"name\":");
				json_str(out, is_str(name) ?
				    name->data.string : "");
				kore_buf_appendf(out, ",\"input\":{}}}\n\n");
			}
			/*
			 * Fragments of a call whose block is closed cannot
			 * be sent any more; OpenAI streams one call at a time.
			 */
			if (st->block_type != BT_TOOL || idx != st->tool_index ||
			    !is_str(a) || a->data.string[0] == '\0')
				continue;
			event_open(out, "content_block_delta");
			kore_buf_appendf(out, ",\"index\":%d,\"delta\":{\"type\":"
			    "\"input_json_delta\",\"partial_json\":", st->block);
			json_str(out, a->data.string);
			kore_buf_appendf(out, "}}\n\n");
		}
	}

	if (is_str(fr = json_get(ch, "finish_reason")))
		(void)snprintf(st->finish, sizeof(st->finish), "%s",
		    stop_from_openai(fr->data.string));

done:
	kore_json_cleanup(&json);
	return (rc);
}

/*
 * The upstream's stream has ended. Without [DONE] but with a finish
 * reason, the answer was whole (some OpenAI-compatible servers omit
 * [DONE]): close it. Without either, it was cut short: append nothing.
 */
int
anthropic_stream_finish_from_openai(struct xlate_stream *st,
    struct kore_buf *out)
{
	if (!st->done && st->finish[0] != '\0')
		message_close(st, out);
	return (st->done);
}

/*
 * An error body in Anthropic's shape, its type chosen from the status.
 */
void
anthropic_error_body(int status, const char *message, struct kore_buf *out)
{
	const char	*type;

	switch (status) {
	case 400:
		type = "invalid_request_error";
		break;
	case 401:
		type = "authentication_error";
		break;
	case 402:
		type = "billing_error";
		break;
	case 403:
		type = "permission_error";
		break;
	case 404:
		type = "not_found_error";
		break;
	case 408:
	case 504:
		type = "timeout_error";
		break;
	case 413:
		type = "request_too_large";
		break;
	case 429:
		type = "rate_limit_error";
		break;
	case 503:
	case 529:
		type = "overloaded_error";
		break;
	default:
		type = status >= 500 || status < 400 ? "api_error" :
		    "invalid_request_error";
		break;
	}
	kore_buf_appendf(out, "{\"type\":\"error\",\"error\":{\"type\":\"%s\","
	    "\"message\":", type);
	json_str(out, message != NULL ? message : "");
	kore_buf_appendf(out, "}}");
}

static void
message_start(struct xlate_stream *st, const char *upstream_id,
    struct kore_buf *out)
{
	if (st->id[0] == '\0') {
		if (upstream_id != NULL && upstream_id[0] != '\0')
			id_from(st->id, sizeof(st->id), upstream_id,
			    "chatcmpl-", "msg_");
		else
			(void)snprintf(st->id, sizeof(st->id), "msg_%" PRId64,
			    st->created);
	}
	st->started = 1;
	event_open(out, "message_start");
	kore_buf_appendf(out, ",\"message\":{\"id\":");
	json_str(out, st->id);
	kore_buf_appendf(out, ",\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":");
	json_str(out, st->model);
	kore_buf_appendf(out, ",\"content\":[],\"stop_reason\":null,"
	    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":%" PRId64
	    ",\"output_tokens\":0}}}\n\n",
	    st->usage.prompt_tokens < 0 ? 0 : st->usage.prompt_tokens);
}

static void
block_close(struct xlate_stream *st, struct kore_buf *out)
{
	if (st->block_type == BT_NONE)
		return;
	event_open(out, "content_block_stop");
	kore_buf_appendf(out, ",\"index\":%d}\n\n", st->block);
	st->block_type = BT_NONE;
	st->block = -1;
}

static void
message_close(struct xlate_stream *st, struct kore_buf *out)
{
	if (!st->started)
		message_start(st, NULL, out);
	block_close(st, out);
	event_open(out, "message_delta");
	kore_buf_appendf(out, ",\"delta\":{\"stop_reason\":\"%s\","
	    "\"stop_sequence\":null},\"usage\":{",
	    st->finish[0] != '\0' ? st->finish : "end_turn");
	if (st->usage.prompt_tokens >= 0)
		kore_buf_appendf(out, "\"input_tokens\":%" PRId64 ",",
		    st->usage.prompt_tokens);
	kore_buf_appendf(out, "\"output_tokens\":%" PRId64 "}}\n\n",
	    st->usage.completion_tokens < 0 ? 0 : st->usage.completion_tokens);
	event_open(out, "message_stop");
	kore_buf_appendf(out, "}\n\n");
	st->done = 1;
}

/* "data: {...chunk head...,"choices":[" of an OpenAI chunk. */
static void
chunk_open(struct xlate_stream *st, struct kore_buf *out)
{
	kore_buf_appendf(out, "data: {\"id\":");
	json_str(out, st->id);
	kore_buf_appendf(out, ",\"object\":\"chat.completion.chunk\","
	    "\"created\":%" PRId64 ",\"model\":", st->created);
	json_str(out, st->model);
	kore_buf_appendf(out, ",\"choices\":[");
}

static void
chunk_close(struct kore_buf *out)
{
	kore_buf_appendf(out, "]}\n\n");
}

/* A whole chunk whose delta is {"<field>":text}. */
static void
delta_chunk(struct xlate_stream *st, const char *field, const char *text,
    struct kore_buf *out)
{
	chunk_open(st, out);
	kore_buf_appendf(out, "{\"index\":0,\"delta\":{\"%s\":", field);
	json_str(out, text);
	kore_buf_appendf(out, "},\"logprobs\":null,\"finish_reason\":null}");
	chunk_close(out);
}

/* A whole chunk with st->finish as its finish_reason. */
static void
finish_chunk(struct xlate_stream *st, struct kore_buf *out)
{
	chunk_open(st, out);
	kore_buf_appendf(out, "{\"index\":0,\"delta\":{},\"logprobs\":null,"
	    "\"finish_reason\":");
	json_str(out, st->finish);
	kore_buf_appendf(out, "}");
	chunk_close(out);
}

/* "event: <type>\ndata: {"type":"<type>"" of an Anthropic event. */
static void
event_open(struct kore_buf *out, const char *type)
{
	kore_buf_appendf(out, "event: %s\ndata: {\"type\":\"%s\"", type, type);
}

/*
 * Anthropic's usage object into us (what it lacks stays as it was).
 * Tokens read from or written to the prompt cache are prompt tokens all
 * the same: input_tokens counts only the others.
 */
void
anthropic_usage(const struct kore_json_item *u, struct xlate_usage *us)
{
	int64_t	n, sum;

	if (u == NULL || u->type != KORE_JSON_TYPE_OBJECT)
		return;
	if (json_tokens(json_get(u, "input_tokens"), &sum) == 0) {
		if (json_tokens(json_get(u, "cache_creation_input_tokens"),
		    &n) == 0)
			sum += n;
		if (json_tokens(json_get(u, "cache_read_input_tokens"),
		    &n) == 0)
			sum += n;
		us->prompt_tokens = sum;
	}
	if (json_tokens(json_get(u, "output_tokens"), &n) == 0)
		us->completion_tokens = n;
}

/* OpenAI's "usage" member; counts not reported are 0. */
static void
usage_to_openai(const struct xlate_usage *u, struct kore_buf *out)
{
	int64_t	p, c;

	p = u->prompt_tokens < 0 ? 0 : u->prompt_tokens;
	c = u->completion_tokens < 0 ? 0 : u->completion_tokens;
	kore_buf_appendf(out, "\"usage\":{\"prompt_tokens\":%" PRId64
	    ",\"completion_tokens\":%" PRId64 ",\"total_tokens\":%" PRId64
	    "}", p, c, p + c);
}

static const char *
finish_to_openai(const char *stop)
{
	if (strcmp(stop, "max_tokens") == 0)
		return ("length");
	if (strcmp(stop, "tool_use") == 0)
		return ("tool_calls");
	if (strcmp(stop, "refusal") == 0)
		return ("content_filter");
	/* end_turn, stop_sequence, pause_turn. */
	return ("stop");
}

static const char *
stop_from_openai(const char *finish)
{
	if (strcmp(finish, "length") == 0)
		return ("max_tokens");
	if (strcmp(finish, "tool_calls") == 0 ||
	    strcmp(finish, "function_call") == 0)
		return ("tool_use");
	if (strcmp(finish, "content_filter") == 0)
		return ("refusal");
	return ("end_turn");
}

/*
 * An id in the other format: msg_X <-> chatcmpl-X, so that the same
 * answer keeps the same id through a round trip.
 */
static void
id_from(char *out, size_t outlen, const char *in, const char *from,
    const char *to)
{
	size_t	fl;

	fl = strlen(from);
	if (strncmp(in, from, fl) == 0)
		in += fl;
	if (in[0] == '\0')
		in = "0";
	(void)snprintf(out, outlen, "%s%s", to, in);
}

/*
 * A tool call id as Anthropic accepts it (^[a-zA-Z0-9_-]+$): other
 * bytes become '_', the same way in tool_use and tool_result.
 */
static void
tool_id(struct kore_buf *b, const char *id)
{
	const char	*p;

	kore_buf_append(b, "\"", 1);
	for (p = id; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
			kore_buf_append(b, p, 1);
		else
			kore_buf_append(b, "_", 1);
	}
	kore_buf_append(b, "\"", 1);
}

/*
 * A request body parsed into json (kore_json_cleanup it either way):
 * its root object, or NULL with the client's message in err.
 */
static struct kore_json_item *
request_parse(struct kore_json *json, const void *body, size_t len,
    char *err, size_t errlen)
{
	if (json_parse(json, body, len) == -1) {
		(void)xlate_fail(err, errlen, "request body is not a JSON "
		    "object%s%s", json->error ? ": " : "",
		    json->error ? kore_json_strerror(json) : "");
		return (NULL);
	}
	return (json->root);
}

static struct kore_json_item *
first_item(const struct kore_json_item *arr)
{
	if (arr == NULL || (arr->type != KORE_JSON_TYPE_ARRAY &&
	    arr->type != KORE_JSON_TYPE_OBJECT))
		return (NULL);
	return (TAILQ_FIRST(&arr->data.items));
}

static int
is_str(const struct kore_json_item *it)
{
	return (it != NULL && it->type == KORE_JSON_TYPE_STRING);
}

/* An object whose "type" member is the string type. */
static int
is_type(const struct kore_json_item *it, const char *type)
{
	const struct kore_json_item	*t;

	t = json_get(it, "type");
	return (is_str(t) && strcmp(t->data.string, type) == 0);
}

/* Before the second and later elements of a list: a comma. */
static void
comma(struct kore_buf *b, int *n)
{
	if ((*n)++ > 0)
		kore_buf_append(b, ",", 1);
}

/* An OpenAI message up to its content: {"role":"<role>","content": */
static void
message_open(struct kore_buf *out, int *nm, const char *role)
{
	comma(out, nm);
	kore_buf_appendf(out, "{\"role\":\"%s\",\"content\":", role);
}
