/*
 * Token counting through Gemini: an Anthropic count_tokens request
 * (/v1/messages/count_tokens) becomes a countTokens request, and its
 * totalTokens comes back as {"input_tokens": N}.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>

#include "formats/formats.h"

static int	anthropic_block(struct xlate_ctx *, struct kore_json_item *,
		    const char *, const char *, struct kore_buf *, int *);

/*
 * One block of an Anthropic message's content that is not text (the
 * part loop of gemini_content_parts): images and documents, tool_use as
 * functionCall and tool_result as functionResponse. Thinking and
 * server-tool blocks are left out.
 */
static int
anthropic_block(struct xlate_ctx *x, struct kore_json_item *b,
    const char *type, const char *w, struct kore_buf *parts, int *nparts)
{
	struct kore_json_item	*v, *src, *st, *id, *name, *mt;
	struct kore_buf		 text;
	const char		*fname;
	int			 rc;

	if (strcmp(type, "image") == 0 ||
	    strcmp(type, "document") == 0) {
		src = json_get(b, "source");
		st = json_get(src, "type");
		if (!json_is_str(st))
			return (xlate_fail(x,
			    "%s.source.type must be a "
			    "string", w));
		if (strcmp(st->data.string, "base64") == 0) {
			v = json_get(src, "data");
			mt = json_get(src, "media_type");
			if (!json_is_str(v) || !json_is_str(mt))
				return (xlate_fail(x,
				    "%s.source needs data "
				    "and media_type strings", w));
			gemini_inline_part(parts, nparts,
			    mt->data.string,
			    v->data.string);
		} else if (strcmp(st->data.string, "url") == 0) {
			v = json_get(src, "url");
			if (!json_is_str(v))
				return (xlate_fail(x,
				    "%s.source.url must be "
				    "a string", w));
			if (gemini_media_part(x, parts, nparts, v->data.string,
			    w) == -1)
				return (-1);
		} else if (strcmp(st->data.string, "text") == 0) {
			v = json_get(src, "data");
			if (!json_is_str(v))
				return (xlate_fail(x,
				    "%s.source.data must be "
				    "a string", w));
			gemini_text_part(parts, nparts, v->data.string,
			    strlen(v->data.string));
		} else {
			return (xlate_fail(x,
			    "%s.source.type \"%.32s\" is not "
			    "supported", w, st->data.string));
		}
	} else if (strcmp(type, "tool_use") == 0) {
		id = json_get(b, "id");
		name = json_get(b, "name");
		v = json_get(b, "input");
		if (!json_is_str(id) || !json_is_str(name))
			return (xlate_fail(x,
			    "%s needs id and name strings",
			    w));
		if (v != NULL && v->type != KORE_JSON_TYPE_OBJECT)
			return (xlate_fail(x,
			    "%s.input must be an object",
			    w));
		xlate_calls_grow(x);
		x->calls[x->ncalls].name = name->data.string;
		if (gemini_function_call_part(x, id->data.string, v, w,
		    parts,
		    nparts) == -1)
			return (-1);
	} else if (strcmp(type, "tool_result") == 0) {
		id = json_get(b, "tool_use_id");
		if (!json_is_str(id))
			return (xlate_fail(x,
			    "%s.tool_use_id must be a "
			    "string", w));
		if ((fname = xlate_call_name(x, id->data.string)) ==
		    NULL)
			return (xlate_fail(x,
			    "%s.tool_use_id \"%.64s\" answers "
			    "no earlier tool_use", w, id->data.string));
		/* Only the text of a result counts here. */
		kore_buf_init(&text, 64);
		v = json_get(b, "content");
		rc = 0;
		if (json_is(v, KORE_JSON_TYPE_ARRAY)) {
			TAILQ_FOREACH(src, &v->data.items, list) {
				st = json_get(src, "text");
				if (json_is_str(st))
					kore_buf_appendf(&text, "%s",
					    st->data.string);
			}
		} else if (json_is_str(v)) {
			kore_buf_appendf(&text, "%s", v->data.string);
		} else if (v != NULL) {
			rc = xlate_fail(x,
			    "%s.content must be a string or an "
			    "array", w);
		}
		if (rc == 0) {
			kore_buf_stringify(&text, NULL);
			gemini_function_response_part(fname,
			    (const char *)text.data, parts, nparts);
		}
		kore_buf_cleanup(&text);
		if (rc == -1)
			return (-1);
	}
	return (0);
}

/*
 * An Anthropic count_tokens request as a countTokens body. The
 * documented alternative, {"generateContentRequest":{...}}, needs the
 * upstream model's name inside it, which is not known here: so the
 * plain {"contents":[...]} form is used, the system prompt and the tool
 * declarations (as their JSON text) counted as a first user turn.
 */
int
gemini_count_request(struct xlate_ctx *x)
{
	struct kore_buf		*out = x->out;
	struct kore_json_item	*root, *msgs, *m, *role, *sys, *tools, *t;
	struct kore_json_item	*name, *desc, *schema, *v;
	struct kore_buf		 contents, parts, decl;
	const char		*cur, *trole;
	char			 w[64];
	int			 rc, i, nparts;

	kore_buf_init(&contents, 1024);
	kore_buf_init(&parts, 256);
	kore_buf_init(&decl, 256);
	cur = NULL;
	rc = -1;

	if ((root = xlate_begin(x)) == NULL)
		goto done;
	msgs = json_get(root, "messages");
	if (!json_is(msgs, KORE_JSON_TYPE_ARRAY)) {
		(void)xlate_fail(x, "messages must be an array");
		goto done;
	}

	nparts = 0;
	if ((sys = json_get(root, "system")) != NULL &&
	    gemini_content_parts(x, sys, "system", anthropic_block, &parts,
	    &nparts) == -1) {
		/* The message names .content; say system instead. */
		(void)xlate_fail(x,
		    "system must be a string or an array of text "
		    "blocks");
		goto done;
	}
	if ((tools = json_get(root, "tools")) != NULL) {
		if (tools->type != KORE_JSON_TYPE_ARRAY) {
			(void)xlate_fail(x, "tools must be an array");
			goto done;
		}
		i = 0;
		TAILQ_FOREACH(t, &tools->data.items, list) {
			name = json_get(t, "name");
			desc = json_get(t, "description");
			schema = json_get(t, "input_schema");
			if (!json_is_str(name)) {
				(void)xlate_fail(x, "tools[%d].name must be a "
				    "string", i);
				goto done;
			}
			kore_buf_append(&decl, i++ ? "," : "[", 1);
			kore_buf_appendf(&decl, "{\"name\":");
			json_str(&decl, name->data.string);
			if (json_is_str(desc)) {
				kore_buf_appendf(&decl, ",\"description\":");
				json_str(&decl, desc->data.string);
			}
			if (json_is(schema,
			    KORE_JSON_TYPE_OBJECT) && gemini_schema_nonempty(schema)) {
				kore_buf_appendf(&decl, ",\"parameters\":");
				gemini_schema_emit(&decl, schema);
			}
			kore_buf_appendf(&decl, "}");
		}
		if (i > 0) {
			kore_buf_appendf(&decl, "]");
			gemini_text_part(&parts, &nparts, decl.data,
			    decl.offset);
		}
	}
	if (nparts > 0)
		xlate_turn_add(&contents, &cur, "user", "parts", &parts);

	i = 0;
	TAILQ_FOREACH(m, &msgs->data.items, list) {
		(void)snprintf(w, sizeof(w), "messages[%d]", i++);
		role = json_get(m, "role");
		if (!json_is_str(role)) {
			(void)xlate_fail(x, "%s.role must be a string", w);
			goto done;
		}
		if (strcmp(role->data.string, "user") == 0) {
			trole = "user";
		} else if (strcmp(role->data.string, "assistant") == 0) {
			trole = "model";
		} else {
			(void)xlate_fail(x, "%s.role must be \"user\" or "
			    "\"assistant\"", w);
			goto done;
		}
		kore_buf_reset(&parts);
		nparts = 0;
		if ((v = json_get(m, "content")) == NULL) {
			(void)xlate_fail(x, "%s.content is missing", w);
			goto done;
		}
		if (gemini_content_parts(x, v, w, anthropic_block, &parts,
		    &nparts) == -1)
			goto done;
		if (nparts > 0)
			xlate_turn_add(&contents, &cur, trole, "parts", &parts);
	}
	if (cur == NULL) {
		(void)xlate_fail(x, "messages must hold some content");
		goto done;
	}
	kore_buf_appendf(&contents, "]}");
	kore_buf_appendf(out, "{\"contents\":[");
	kore_buf_append(out, contents.data, contents.offset);
	kore_buf_appendf(out, "]}");
	rc = 0;

done:
	kore_buf_cleanup(&contents);
	kore_buf_cleanup(&parts);
	kore_buf_cleanup(&decl);
	return (rc);
}

/* countTokens' answer {"totalTokens":N}: 0 and N, or -1. */
int
gemini_count_response(const void *body, size_t len, int64_t *n)
{
	struct kore_json	 j;
	int			 rc;

	rc = -1;
	kore_json_init(&j, body, len);
	if (kore_json_parse(&j) && j.root->type == KORE_JSON_TYPE_OBJECT &&
	    json_int(json_get(j.root, "totalTokens"), n) == 0 && *n >= 0)
		rc = 0;
	kore_json_cleanup(&j);
	return (rc);
}
