/*
 * Anthropic clients in front of OpenAI upstreams: a Messages request
 * becomes an OpenAI chat request, and the chat completion or its chunks
 * come back as an Anthropic message or Messages stream events.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"

/* Longest field path quoted in an error message. */
#define FIELD_MAX	96

static void	message_open(struct kore_buf *, int *, const char *);
static int	message_text(struct kore_buf *, int *, const char *,
		    const char *);
static int	image_url_from(struct xlate_ctx *,
		    const struct kore_json_item *, const char *,
		    struct kore_buf *);
static int	user_to_openai(struct xlate_ctx *,
		    const struct kore_json_item *, const char *,
		    struct kore_buf *, int *);
static int	assistant_to_openai(struct xlate_ctx *,
		    const struct kore_json_item *, const char *,
		    struct kore_buf *, int *);
static int	tools_to_openai(struct xlate_ctx *,
		    const struct kore_json_item *,
		    const struct kore_json_item *,
		    struct kore_buf *);
static void	message_start(struct xlate_stream *, const char *,
		    struct kore_buf *);
static void	block_close(struct xlate_stream *, struct kore_buf *);
static void	message_close(struct xlate_stream *, struct kore_buf *);
static void	event_open(struct kore_buf *, const char *);

/*
 * Anthropic Messages request -> OpenAI chat request, for the clients of
 * /v1/messages in front of OpenAI-style upstreams.
 */
int
anthropic_request_to_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *msgs, *m, *role, *it, *s, *md;
	struct kore_buf		 sys;
	char			 field[FIELD_MAX];
	double			 d;
	int64_t			 n;
	int			 i, rc, nm, nstop;

	rc = -1;
	kore_buf_init(&sys, 256);

	if ((root = xlate_begin(x)) == NULL)
		goto done;

	kore_buf_appendf(out, "{\"model\":");
	json_str(out, x->model != NULL ? x->model : "");
	kore_buf_appendf(out, ",\"messages\":[");
	nm = 0;

	if ((it = json_get(root, "system")) != NULL) {
		if (xlate_text_of(x, it, "system", &sys, "\n\n") == -1)
			goto done;
		if (sys.offset > 0) {
			message_open(out, &nm, "system");
			json_strn(out, sys.data, sys.offset);
			kore_buf_appendf(out, "}");
		}
	}

	if ((msgs = xlate_messages(x, root)) == NULL)
		goto done;
	i = 0;
	TAILQ_FOREACH(m, &msgs->data.items, list) {
		(void)snprintf(field, sizeof(field), "messages[%d]", i);
		role = json_get(m, "role");
		if (m->type != KORE_JSON_TYPE_OBJECT || !json_is_str(role)) {
			(void)xlate_fail(x, "%s must be an object "
			    "with a string role", field);
			goto done;
		}
		if (strcmp(role->data.string, "user") == 0) {
			if (user_to_openai(x, m, field, out, &nm) == -1)
				goto done;
		} else if (strcmp(role->data.string, "assistant") == 0) {
			if (assistant_to_openai(x, m, field, out, &nm) == -1)
				goto done;
		} else {
			(void)xlate_fail(x, "%s.role '%s' is not one "
			    "of user, assistant", field, role->data.string);
			goto done;
		}
		i++;
	}
	kore_buf_appendf(out, "]");

	if ((it = json_get(root, "max_tokens")) != NULL) {
		if (json_int(it, &n) == -1 || n < 1) {
			(void)xlate_fail(x, "max_tokens must be a positive integer");
			goto done;
		}
		kore_buf_appendf(out, ",\"max_tokens\":%" PRId64, n);
	}
	if ((it = json_get(root, "temperature")) != NULL) {
		if (json_num(it, &d) == -1) {
			(void)xlate_fail(x, "temperature must be a number");
			goto done;
		}
		kore_buf_appendf(out, ",\"temperature\":");
		json_double(out, d);
	}
	if ((it = json_get(root, "top_p")) != NULL) {
		if (json_num(it, &d) == -1) {
			(void)xlate_fail(x, "top_p must be a number");
			goto done;
		}
		kore_buf_appendf(out, ",\"top_p\":");
		json_double(out, d);
	}
	if ((it = json_get(root, "top_k")) != NULL && json_int(it, &n) == -1) {
		/* OpenAI has no top_k: checked, then left out. */
		(void)xlate_fail(x, "top_k must be an integer");
		goto done;
	}
	if ((it = json_get(root, "stop_sequences")) != NULL) {
		if (it->type != KORE_JSON_TYPE_ARRAY) {
			(void)xlate_fail(x, "stop_sequences must be an array of strings");
			goto done;
		}
		nstop = 0;
		TAILQ_FOREACH(s, &it->data.items, list) {
			if (!json_is_str(s)) {
				(void)xlate_fail(x, "stop_sequences "
				    "must be an array of strings");
				goto done;
			}
			kore_buf_appendf(out, nstop++ ? "," : ",\"stop\":[");
			json_str(out, s->data.string);
		}
		if (nstop > 0)
			kore_buf_appendf(out, "]");
	}
	if (tools_to_openai(x, json_get(root, "tools"), json_get(root,
	    "tool_choice"), out) == -1)
		goto done;
	if ((md = json_get(root, "metadata")) != NULL) {
		if (md->type != KORE_JSON_TYPE_OBJECT) {
			(void)xlate_fail(x, "metadata must be an object");
			goto done;
		}
		if ((it = json_get(md, "user_id")) != NULL) {
			if (!json_is_str(it)) {
				(void)xlate_fail(x, "metadata.user_id must be a string");
				goto done;
			}
			kore_buf_appendf(out, ",\"user\":");
			json_str(out, it->data.string);
		}
	}
	if (x->stream) {
		kore_buf_appendf(out, ",\"stream\":true,"
		    "\"stream_options\":{\"include_usage\":true}");
	}
	kore_buf_appendf(out, "}");
	rc = 0;

done:
	kore_buf_cleanup(&sys);
	return (rc);
}

/* An OpenAI message up to its content: {"role":"<role>","content": */
static void
message_open(struct kore_buf *out, int *nm, const char *role)
{
	json_sep(out, nm);
	kore_buf_appendf(out, "{\"role\":\"%s\",\"content\":", role);
}

/* A whole message of one string's content; this function can't fail. */
static int
message_text(struct kore_buf *out, int *nm, const char *role,
    const char *text)
{
	message_open(out, nm, role);
	json_str(out, text);
	kore_buf_appendf(out, "}");
	return (0);
}

/* An Anthropic image block's source as an OpenAI image_url part. */
static int
image_url_from(struct xlate_ctx *x, const struct kore_json_item *blk,
    const char *field, struct kore_buf *b)
{
	const struct kore_json_item	*src, *t, *mt, *data, *url;
	struct kore_buf			 u;

	src = json_get(blk, "source");
	t = json_get(src, "type");
	if (!json_is_str(t))
		return (xlate_fail(x, "%s.source must be an object "
		    "with a string type", field));
	if (strcmp(t->data.string, "base64") == 0) {
		mt = json_get(src, "media_type");
		data = json_get(src, "data");
		if (!json_is_str(mt) || !json_is_str(data))
			return (xlate_fail(x, "%s.source needs string "
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
		if (!json_is_str(url))
			return (xlate_fail(x, "%s.source.url must be "
			    "a string", field));
		kore_buf_appendf(b, "{\"type\":\"image_url\",\"image_url\":"
		    "{\"url\":");
		json_str(b, url->data.string);
		kore_buf_appendf(b, "}}");
		return (0);
	}
	return (xlate_fail(x, "%s.source.type '%s' is not one of "
	    "base64, url", field, t->data.string));
}

/*
 * An Anthropic user turn. Its tool_result blocks become role "tool"
 * messages, which OpenAI wants right after the assistant's tool calls;
 * the rest (text, images, and images returned inside tool results)
 * follows as one user message.
 */
static int
user_to_openai(struct xlate_ctx *x, const struct kore_json_item *m,
    const char *field, struct kore_buf *out, int *nm)
{
	const char			*type, *text_s = NULL;
	const struct kore_json_item	*c, *blk, *id, *rc, *sub;
	struct kore_buf			 parts, text;
	char				 bf[FIELD_MAX + 32];
	int				 i, j, np, ntext, ret;

	if (json_is_str(c = json_get(m, "content")))
		return (message_text(out, nm, "user", c->data.string));
	if (!json_is(c, KORE_JSON_TYPE_ARRAY))
		return (xlate_fail(x, "%s.content must be a string or an "
		    "array of content blocks", field));

	ret = -1;
	kore_buf_init(&parts, 256);
	kore_buf_init(&text, 256);
	np = ntext = 0;
	i = 0;
	TAILQ_FOREACH(blk, &c->data.items, list) {
		(void)snprintf(bf, sizeof(bf), "%s.content[%d]", field, i++);
		if ((type = xlate_block_type(x, blk, bf)) == NULL)
			goto done;
		if (strcmp(type, "text") == 0) {
			if ((text_s = xlate_member_str(x, blk, "text", bf)) ==
			    NULL)
				goto done;
			json_sep(&parts, &np);
			ntext++;
			kore_buf_appendf(&parts,
			    "{\"type\":\"text\",\"text\":");
			json_str(&parts, text_s);
			kore_buf_appendf(&parts, "}");
		} else if (strcmp(type, "image") == 0) {
			json_sep(&parts, &np);
			if (image_url_from(x, blk, bf, &parts) == -1)
				goto done;
		} else if (strcmp(type, "tool_result") == 0) {
			id = json_get(blk, "tool_use_id");
			if (!json_is_str(id)) {
				(void)xlate_fail(x, "%s.tool_use_id "
				    "must be a string", bf);
				goto done;
			}
			kore_buf_reset(&text);
			rc = json_get(blk, "content");
			if (rc != NULL && json_is_str(rc)) {
				kore_buf_append(&text, rc->data.string,
				    strlen(rc->data.string));
			} else if (rc != NULL &&
			    rc->type == KORE_JSON_TYPE_ARRAY) {
				j = 0;
				TAILQ_FOREACH(sub, &rc->data.items, list) {
					if (json_is_type(sub, "text") &&
					    json_is_str(json_get(sub,
					    "text"))) {
						if (text.offset > 0)
							kore_buf_append(&text,
							    "\n", 1);
						kore_buf_appendf(&text, "%s",
						    json_get(sub,
						    "text")->data.string);
					} else if (json_is_type(sub, "image")) {
						json_sep(&parts, &np);
						if (image_url_from(x, sub, bf,
						    &parts) == -1)
							goto done;
					} else {
						(void)xlate_fail(x, "%s.content[%d] must be a "
						    "text or image block", bf,
						    j);
						goto done;
					}
					j++;
				}
			} else if (rc != NULL) {
				(void)xlate_fail(x, "%s.content must "
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
			(void)xlate_fail(x, "%s.type '%s' cannot be "
			    "sent to this provider", bf, type);
			goto done;
		}
	}

	if (np > 0) {
		message_open(out, nm, "user");
		if (np == 1 && ntext == 1) {
			/* One text part: plain content, as most clients do. */
			json_str(out, text_s);
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
assistant_to_openai(struct xlate_ctx *x, const struct kore_json_item *m,
    const char *field, struct kore_buf *out, int *nm)
{
	const char			*type, *text_s;
	const struct kore_json_item	*c, *blk, *id, *name, *in;
	struct kore_buf			 text, calls, args;
	char				 bf[FIELD_MAX + 32];
	int				 i, nc;

	if (json_is_str(c = json_get(m, "content")))
		return (message_text(out, nm, "assistant", c->data.string));
	if (!json_is(c, KORE_JSON_TYPE_ARRAY))
		return (xlate_fail(x, "%s.content must be a string or an "
		    "array of content blocks", field));

	kore_buf_init(&text, 256);
	kore_buf_init(&calls, 256);
	kore_buf_init(&args, 128);
	nc = 0;
	i = 0;
	TAILQ_FOREACH(blk, &c->data.items, list) {
		(void)snprintf(bf, sizeof(bf), "%s.content[%d]", field, i++);
		if ((type = xlate_block_type(x, blk, bf)) == NULL)
			goto fail;
		if (strcmp(type, "text") == 0) {
			if ((text_s = xlate_member_str(x, blk, "text", bf)) ==
			    NULL)
				goto fail;
			kore_buf_appendf(&text, "%s",
			    text_s);
		} else if (strcmp(type, "tool_use") == 0) {
			id = json_get(blk, "id");
			name = json_get(blk, "name");
			in = json_get(blk, "input");
			if (!json_is_str(id) || !json_is_str(name)) {
				(void)xlate_fail(x, "%s needs string "
				    "id and name", bf);
				goto fail;
			}
			if (in != NULL && in->type != KORE_JSON_TYPE_OBJECT) {
				(void)xlate_fail(x, "%s.input must be "
				    "an object", bf);
				goto fail;
			}
			json_sep(&calls, &nc);
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
		} else if (strcmp(type, "thinking") == 0 ||
		    strcmp(type, "redacted_thinking") == 0) {
			/* Claude's reasoning means nothing to other models. */
			continue;
		} else {
			(void)xlate_fail(x, "%s.type '%s' cannot be "
			    "sent to this provider", bf, type);
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
tools_to_openai(struct xlate_ctx *x, const struct kore_json_item *tools,
    const struct kore_json_item *choice, struct kore_buf *out)
{
	const struct kore_json_item	*t, *name, *desc, *schema, *ct, *dp;
	int				 i, v;

	if (tools != NULL) {
		if (tools->type != KORE_JSON_TYPE_ARRAY)
			return (xlate_fail(x, "tools must be an array"));
		i = 0;
		TAILQ_FOREACH(t, &tools->data.items, list) {
			name = json_get(t, "name");
			desc = json_get(t, "description");
			schema = json_get(t, "input_schema");
			ct = json_get(t, "type");
			/* Server tools (web search...) run at Anthropic. */
			if (ct != NULL && (!json_is_str(ct) ||
			    strcmp(ct->data.string, "custom") != 0))
				return (xlate_fail(x, "tools[%d]: "
				    "only client tools can be sent to this "
				    "provider", i));
			if (!json_is_str(name))
				return (xlate_fail(x, "tools[%d].name "
				    "must be a string", i));
			if (desc != NULL && !json_is_str(desc))
				return (xlate_fail(x, "tools[%d]."
				    "description must be a string", i));
			if (schema == NULL ||
			    schema->type != KORE_JSON_TYPE_OBJECT)
				return (xlate_fail(x, "tools[%d]."
				    "input_schema must be an object", i));
			kore_buf_appendf(out, "%s{\"type\":\"function\","
			    "\"function\":{\"name\":",
			    i ? "," : ",\"tools\":[");
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
	if (!json_is_str(ct))
		return (xlate_fail(x, "tool_choice must be an object "
		    "with a string type"));
	dp = json_get(choice, "disable_parallel_tool_use");
	if (dp != NULL && json_bool(dp, &v) == -1)
		return (xlate_fail(x, "tool_choice."
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
		if (!json_is_str(name))
			return (xlate_fail(x, "tool_choice.name must be a string"));
		kore_buf_appendf(out, ",\"tool_choice\":{\"type\":\"function\","
		    "\"function\":{\"name\":");
		json_str(out, name->data.string);
		kore_buf_appendf(out, "}}");
	} else {
		return (xlate_fail(x, "tool_choice.type '%s' is not "
		    "one of auto, any, tool, none", ct->data.string));
	}
	if (dp != NULL && v)
		kore_buf_appendf(out, ",\"parallel_tool_calls\":false");
	return (0);
}

/*
 * A whole OpenAI chat completion as an Anthropic message.
 */
int
anthropic_response_from_openai(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json	 aj;
	struct kore_json_item	*root, *ch, *msg, *c, *p, *tc, *fn, *a, *id,
	    *fr;
	struct kore_json_item	*name;
	struct xlate_usage	 us;
	char			 mid[128];
	int			 rc, nb, i;

	rc = -1;
	xlate_usage_init(&us);
	if ((root = xlate_begin(x)) == NULL)
		goto done;
	ch = json_get(root, "choices");
	if (ch == NULL || ch->type != KORE_JSON_TYPE_ARRAY ||
	    (ch = json_first(ch)) == NULL ||
	    (msg = json_get(ch, "message")) == NULL ||
	    msg->type != KORE_JSON_TYPE_OBJECT)
		goto done;

	openai_usage_read(json_get(root, "usage"), &us);
	id = json_get(root, "id");
	anthropic_id_from(mid, sizeof(mid),
	    json_is_str(id) ? id->data.string : "",
	    "chatcmpl-", "msg_");
	fr = json_get(ch, "finish_reason");

	kore_buf_appendf(out, "{\"id\":");
	json_str(out, mid);
	kore_buf_appendf(out, ",\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":");
	json_str(out, x->model != NULL ? x->model : "");
	kore_buf_appendf(out, ",\"content\":[");
	nb = 0;
	c = json_get(msg, "content");
	if (c != NULL && json_is_str(c)) {
		anthropic_text_block(out, &nb, c->data.string, NULL);
	} else if (c != NULL && c->type == KORE_JSON_TYPE_ARRAY) {
		TAILQ_FOREACH(p, &c->data.items, list) {
			if (json_is_str(json_get(p, "text")))
				anthropic_text_block(out, &nb,
				    json_get(p, "text")->data.string, NULL);
		}
	}
	if ((c = json_get(msg, "refusal")) != NULL && json_is_str(c))
		anthropic_text_block(out, &nb, c->data.string, NULL);

	if ((tc = json_get(msg, "tool_calls")) != NULL &&
	    tc->type == KORE_JSON_TYPE_ARRAY) {
		i = 0;
		TAILQ_FOREACH(p, &tc->data.items, list) {
			fn = json_get(p, "function");
			name = json_get(fn, "name");
			if (!json_is_str(name))
				goto done;
			id = json_get(p, "id");
			json_sep(out, &nb);
			kore_buf_appendf(out, "{\"type\":\"tool_use\",\"id\":");
			if (json_is_str(id))
				anthropic_tool_id(out, id->data.string);
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
			if (json_is_str(a)) {
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
	json_str(out,
	    anthropic_stop_from_openai(json_is_str(fr) ? fr->data.string :
	    "stop"));
	kore_buf_appendf(out, ",\"stop_sequence\":null,\"usage\":{");
	anthropic_usage_write(&us, out);
	kore_buf_appendf(out, "}}");
	rc = 0;

done:
	if (x->usage != NULL)
		*x->usage = us;
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

	if ((rc = xlate_openai_event(st, &json, data, len, out,
	    message_close)) != 1)
		goto done;
	rc = 0;
	root = json.root;

	if (!st->started) {
		cid = json_get(root, "id");
		message_start(st, json_is_str(cid) ? cid->data.string : NULL,
		    out);
	}

	openai_usage_read(json_get(root, "usage"), &st->usage);

	ch = json_get(root, "choices");
	if (ch == NULL || ch->type != KORE_JSON_TYPE_ARRAY ||
	    (ch = json_first(ch)) == NULL)
		goto done;
	d = json_get(ch, "delta");

	if (json_is_str(c = json_get(d,
	    "content")) && c->data.string[0] != '\0') {
		if (st->block_type != BT_TEXT) {
			block_close(st, out);
			st->block = st->nblocks++;
			st->block_type = BT_TEXT;
			event_open(out, "content_block_start");
			kore_buf_appendf(out, ",\"index\":%d,\"content_block\":"
			    "{\"type\":\"text\",\"text\":\"\"}}\n\n",
			    st->block);
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
			    (json_is_str(id) || json_is_str(name))) {
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
				if (json_is_str(id) && id->data.string[0] != '\0')
					anthropic_tool_id(out, id->data.string);
				else
					kore_buf_appendf(out, "\"toolu_%" PRId64
					    "_%d\"", st->created, st->ntools);
				kore_buf_appendf(out, ",\"name\":");
				json_str(out, json_is_str(name) ?
				    name->data.string : "");
				kore_buf_appendf(out, ",\"input\":{}}}\n\n");
			}
			/*
			 * Fragments of a call whose block is closed cannot
			 * be sent any more; OpenAI streams one call at a time.
			 */
			if (st->block_type != BT_TOOL || idx != st->tool_index ||
			    !json_is_str(a) || a->data.string[0] == '\0')
				continue;
			event_open(out, "content_block_delta");
			kore_buf_appendf(out,
			    ",\"index\":%d,\"delta\":{\"type\":"
			    "\"input_json_delta\",\"partial_json\":",
			    st->block);
			json_str(out, a->data.string);
			kore_buf_appendf(out, "}}\n\n");
		}
	}

	if (json_is_str(fr = json_get(ch, "finish_reason")))
		(void)snprintf(st->finish, sizeof(st->finish), "%s",
		    anthropic_stop_from_openai(fr->data.string));

done:
	kore_json_cleanup(&json);
	return (rc);
}

/*
 * The upstream's stream has ended. Without [DONE] but with a finish
 * reason, the answer was whole (some OpenAI-compatible servers omit
 * [DONE]): close it. Without either, it was cut short: append nothing.
 */
void
anthropic_stream_finish_from_openai(struct xlate_stream *st,
    struct kore_buf *out)
{
	if (!st->done && st->finish[0] != '\0')
		message_close(st, out);
}

static void
message_start(struct xlate_stream *st, const char *upstream_id,
    struct kore_buf *out)
{
	if (st->id[0] == '\0') {
		if (upstream_id != NULL && upstream_id[0] != '\0')
			anthropic_id_from(st->id, sizeof(st->id), upstream_id,
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
	    "\"stop_sequence\":null,\"usage\":{");
	anthropic_usage_write(&st->usage, out);
	kore_buf_appendf(out, "}}}\n\n");
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
	anthropic_usage_write(&st->usage, out);
	kore_buf_appendf(out, "}}\n\n");
	event_open(out, "message_stop");
	kore_buf_appendf(out, "}\n\n");
	st->done = 1;
}

/* "event: <type>\ndata: {"type":"<type>"" of an Anthropic event. */
static void
event_open(struct kore_buf *out, const char *type)
{
	kore_buf_appendf(out, "event: %s\ndata: {\"type\":\"%s\"", type, type);
}
