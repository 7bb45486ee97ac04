/*
 * Google Gemini's generateContent API (v1beta REST): the pieces every
 * translation to or from it shares, JSON schemas as Gemini takes them,
 * thought signatures carried in tool call ids, the parts of contents,
 * its usage metadata, finish reasons and errors.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>

#include <sodium.h>

#include "formats/formats.h"

/*
 * Keys of a JSON schema that Gemini's Schema object (an OpenAPI 3.0
 * subset) accepts. Everything else is dropped: Gemini answers 400
 * "Invalid JSON payload received. Unknown name" for "$schema",
 * "additionalProperties", "strict", "$ref", "$defs", "definitions",
 * "const", "examples", "exclusiveMinimum", "allOf", "not", "$id",
 * "$comment" and the like. "oneOf" becomes "anyOf".
 */
static const char *schema_keys[] = {
	"type", "format", "title", "description", "nullable", "enum",
	"maxItems", "minItems", "properties", "required", "minProperties",
	"maxProperties", "minLength", "maxLength", "pattern", "example",
	"anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
	NULL
};

/* The only "format" values Gemini does not refuse. */
static const char *schema_formats[] = {
	"enum", "date-time", "float", "double", "int32", "int64", NULL
};

/* The schema has a non-empty "properties" object. */
int
gemini_schema_nonempty(struct kore_json_item *s)
{
	struct kore_json_item	*p;

	p = json_get(s, "properties");
	return (json_is(p,
	    KORE_JSON_TYPE_OBJECT) && !TAILQ_EMPTY(&p->data.items));
}

/*
 * A JSON schema as a Gemini Schema: only the keys in schema_keys, a
 * type array such as ["string","null"] as "type" plus "nullable", an
 * empty "properties" left out (Gemini refuses it for OBJECT), tuple
 * "items" reduced to their first schema. Property names are kept as
 * they are, whatever they are called.
 */
void
gemini_schema_emit(struct kore_buf *b, struct kore_json_item *s)
{
	struct kore_json_item	*m, *c, *type;
	const char		*name, *tname;
	int			 nm, nc, i, nullable, has_any;

	if (s->type != KORE_JSON_TYPE_OBJECT) {
		kore_buf_appendf(b, "{}");
		return;
	}
	nm = 0;
	has_any = json_get(s, "anyOf") != NULL;
	kore_buf_appendf(b, "{");
	TAILQ_FOREACH(m, &s->data.items, list) {
		name = m->name;
		if (strcmp(name, "oneOf") == 0 && !has_any)
			name = "anyOf";
		for (i = 0; schema_keys[i] != NULL; i++) {
			if (strcmp(name, schema_keys[i]) == 0)
				break;
		}
		if (schema_keys[i] == NULL)
			continue;

		if (strcmp(name, "type") == 0 &&
		    m->type == KORE_JSON_TYPE_ARRAY) {
			tname = NULL;
			nullable = 0;
			TAILQ_FOREACH(type, &m->data.items, list) {
				if (type->type != KORE_JSON_TYPE_STRING)
					continue;
				if (strcmp(type->data.string, "null") == 0)
					nullable = 1;
				else if (tname == NULL)
					tname = type->data.string;
			}
			if (tname != NULL) {
				json_key(b, "type", nm++ == 0);
				json_str(b, tname);
			}
			if (nullable && json_get(s, "nullable") == NULL) {
				json_key(b, "nullable", nm++ == 0);
				kore_buf_appendf(b, "true");
			}
		} else if (strcmp(name, "properties") == 0) {
			if (m->type != KORE_JSON_TYPE_OBJECT ||
			    TAILQ_EMPTY(&m->data.items))
				continue;
			json_key(b, name, nm++ == 0);
			kore_buf_appendf(b, "{");
			nc = 0;
			TAILQ_FOREACH(c, &m->data.items, list) {
				json_key(b, c->name, nc++ == 0);
				gemini_schema_emit(b, c);
			}
			kore_buf_appendf(b, "}");
		} else if (strcmp(name, "items") == 0) {
			if (m->type == KORE_JSON_TYPE_ARRAY) {
				if ((c = TAILQ_FIRST(&m->data.items)) == NULL)
					continue;
			} else {
				c = m;
			}
			json_key(b, name, nm++ == 0);
			gemini_schema_emit(b, c);
		} else if (strcmp(name, "anyOf") == 0) {
			if (m->type != KORE_JSON_TYPE_ARRAY)
				continue;
			json_key(b, name, nm++ == 0);
			kore_buf_appendf(b, "[");
			nc = 0;
			TAILQ_FOREACH(c, &m->data.items, list) {
				json_sep(b, &nc);
				gemini_schema_emit(b, c);
			}
			kore_buf_appendf(b, "]");
		} else if (strcmp(name, "format") == 0) {
			if (m->type != KORE_JSON_TYPE_STRING)
				continue;
			for (i = 0; schema_formats[i] != NULL; i++) {
				if (strcmp(m->data.string,
				    schema_formats[i]) == 0)
					break;
			}
			if (schema_formats[i] == NULL)
				continue;
			json_key(b, name, nm++ == 0);
			json_value(b, m);
		} else {
			json_key(b, name, nm++ == 0);
			json_value(b, m);
		}
	}
	kore_buf_appendf(b, "}");
}

/*
 * A thought signature is base64 (either alphabet), at most 64 KB: it
 * travels inside the tool call id, which clients give back verbatim.
 */
int
gemini_sig_ok(const char *s)
{
	size_t	n;

	n = strlen(s);
	return (n > 0 && n <= 65536 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_") == n);
}

/*
 * The bytes of base64 text s[0..len) in any of libsodium's variants
 * (either alphabet, padded or not), into a buffer the caller frees with
 * kore_free; NULL when s is no base64.
 */
static u_int8_t *
sig_decode(const char *s, size_t len, size_t *n)
{
	static const int	 variants[] = {
	    sodium_base64_VARIANT_ORIGINAL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	    sodium_base64_VARIANT_URLSAFE,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};
	const char		*end;
	u_int8_t		*bin;
	size_t			 i;

	bin = kore_malloc(len / 4 * 3 + 3);
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		if (sodium_base642bin(bin, len / 4 * 3 + 3, s, len, NULL, n,
		    &end, variants[i]) == 0 && end == s + len)
			return (bin);
	}
	kore_free(bin);
	return (NULL);
}

/* sig, re-encoded in variant, onto b; -1 when sig is no base64. */
static int
sig_encode(struct kore_buf *b, const char *sig, size_t len, int variant)
{
	u_int8_t	*bin;
	char		*text;
	size_t		 n, tlen;

	if ((bin = sig_decode(sig, len, &n)) == NULL)
		return (-1);
	tlen = sodium_base64_ENCODED_LEN(n, variant);
	text = kore_malloc(tlen);
	(void)sodium_bin2base64(text, tlen, bin, n, variant);
	kore_buf_append(b, text, strlen(text));
	kore_free(text);
	kore_free(bin);
	return (0);
}

/*
 * The signature after THOUGHT_SEP inside a tool call id, as base64url
 * without padding, so that ids stay within what every client and
 * Anthropic accept ([A-Za-z0-9_-]). Nothing is written, and -1 returned,
 * when sig is no base64.
 */
int
gemini_sig_to_id(struct kore_buf *b, const char *sig)
{
	size_t	start;

	start = b->offset;
	kore_buf_appendf(b, "%s", THOUGHT_SEP);
	if (sig_encode(b, sig, strlen(sig),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == -1) {
		b->offset = start;
		return (-1);
	}
	return (0);
}

/*
 * The signature of an id back in standard base64, padded, as a JSON
 * string; -1 (nothing written) when it is no base64.
 */
int
gemini_sig_from_id(struct kore_buf *b, const char *s)
{
	struct kore_buf	sig;
	int		rc;

	kore_buf_init(&sig, strlen(s) + 4);
	rc = sig_encode(&sig, s, strlen(s), sodium_base64_VARIANT_ORIGINAL);
	if (rc == 0)
		json_strn(b, sig.data, sig.offset);
	kore_buf_cleanup(&sig);
	return (rc);
}

/* s is a non-empty id shorter than max, of letters, digits, - and _. */
int
gemini_id_ok(const char *s, size_t max)
{
	size_t	n;

	n = strlen(s);
	return (n > 0 && n < max && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n);
}

/* A MIME type guessed from a URL's file extension; image/jpeg if none. */
const char *
gemini_mime_from_url(const char *url)
{
	static const struct {
		const char	*ext;
		const char	*mime;
	} types[] = {
		{ "png", "image/png" }, { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" }, { "gif", "image/gif" },
		{ "webp", "image/webp" }, { "heic", "image/heic" },
		{ "heif", "image/heif" }, { "pdf", "application/pdf" },
		{ "mp3", "audio/mp3" }, { "wav", "audio/wav" },
		{ "ogg", "audio/ogg" }, { "flac", "audio/flac" },
		{ "mp4", "video/mp4" }, { "webm", "video/webm" },
		{ "mov", "video/mov" }, { "txt", "text/plain" },
		{ NULL, NULL }
	};
	const char	*end, *dot, *p;
	size_t		 n;
	int		 i;

	end = url + strcspn(url, "?#");
	dot = NULL;
	for (p = url; p < end; p++) {
		if (*p == '.')
			dot = p + 1;
		else if (*p == '/')
			dot = NULL;
	}
	if (dot == NULL)
		return ("image/jpeg");
	n = (size_t)(end - dot);
	for (i = 0; types[i].ext != NULL; i++) {
		if (strlen(types[i].ext) == n &&
		    strncasecmp(dot, types[i].ext, n) == 0)
			return (types[i].mime);
	}
	return ("image/jpeg");
}

/*
 * A URL given for a media part: a base64 data: URL becomes inlineData,
 * an http(s) or gs URL fileData with the type its extension says.
 */
int
gemini_media_part(struct xlate_ctx *x, struct kore_buf *parts, int *nparts,
    const char *url, const char *where)
{
	const char	*comma, *semi, *p;

	json_sep(parts, nparts);
	if (strncmp(url, "data:", 5) == 0) {
		if ((comma = strchr(url, ',')) == NULL ||
		    comma - url < 12 || strncmp(comma - 7, ";base64", 7) != 0)
			return (xlate_fail(x, "%s: only base64 data: URLs are "
			    "supported", where));
		p = url + 5;
		semi = strchr(p, ';');
		kore_buf_appendf(parts, "{\"inlineData\":{\"mimeType\":");
		if (semi == p)
			json_str(parts, "application/octet-stream");
		else
			json_strn(parts, p, (size_t)(semi - p));
		kore_buf_appendf(parts, ",\"data\":");
		json_str(parts, comma + 1);
		kore_buf_appendf(parts, "}}");
		return (0);
	}
	if (strncasecmp(url, "https://", 8) != 0 &&
	    strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "gs://", 5) != 0)
		return (xlate_fail(x,
		    "%s: the URL must be a data:, http(s) or gs "
		    "URL", where));
	kore_buf_appendf(parts, "{\"fileData\":{\"mimeType\":");
	json_str(parts, gemini_mime_from_url(url));
	kore_buf_appendf(parts, ",\"fileUri\":");
	json_str(parts, url);
	kore_buf_appendf(parts, "}}");
	return (0);
}

/*
 * A message's content as Gemini parts: a string is one text part; an
 * array holds blocks, each with a string type: text blocks become text
 * parts, and block() (of the client's format) makes the others. where
 * names the message in the client's error. Absent content is no part.
 */
int
gemini_content_parts(struct xlate_ctx *x, struct kore_json_item *content,
    const char *where, int (*block)(struct xlate_ctx *,
    struct kore_json_item *, const char *, const char *, struct kore_buf *,
    int *), struct kore_buf *parts, int *nparts)
{
	struct kore_json_item	*b;
	const char		*type, *text;
	char			 w[96];
	int			 i;

	if (content == NULL)
		return (0);
	if (json_is_str(content)) {
		gemini_text_part(parts, nparts, content->data.string,
		    strlen(content->data.string));
		return (0);
	}
	if (content->type != KORE_JSON_TYPE_ARRAY)
		return (xlate_fail(x, "%s.content must be a string or an array",
		    where));

	i = 0;
	TAILQ_FOREACH(b, &content->data.items, list) {
		(void)snprintf(w, sizeof(w), "%s.content[%d]", where, i++);
		if ((type = xlate_member_str(x, b, "type", w)) == NULL)
			return (-1);
		if (strcmp(type, "text") != 0) {
			if (block(x, b, type, w, parts, nparts) == -1)
				return (-1);
			continue;
		}
		if ((text = xlate_member_str(x, b, "text", w)) == NULL)
			return (-1);
		gemini_text_part(parts, nparts, text, strlen(text));
	}
	return (0);
}

/* A text part: {"text":...} of text[0..len); Gemini refuses empty ones. */
void
gemini_text_part(struct kore_buf *parts, int *nparts, const void *text,
    size_t len)
{
	if (len == 0)
		return;
	json_sep(parts, nparts);
	kore_buf_appendf(parts, "{\"text\":");
	json_strn(parts, text, len);
	kore_buf_appendf(parts, "}");
}

/* An inlineData part: base64 data of type mime. */
void
gemini_inline_part(struct kore_buf *parts, int *nparts, const char *mime,
    const char *data)
{
	json_sep(parts, nparts);
	kore_buf_appendf(parts, "{\"inlineData\":{\"mimeType\":");
	json_str(parts, mime);
	kore_buf_appendf(parts, ",\"data\":");
	json_str(parts, data);
	kore_buf_appendf(parts, "}}");
}

/*
 * A functionCall part for a call named name with arguments args (a JSON
 * string, "" for none), remembering id for the tool messages after it.
 */
int
gemini_function_call_part(struct xlate_ctx *x, const char *id,
    struct kore_json_item *args, const char *where, struct kore_buf *parts,
    int *nparts)
{
	struct kore_json	 j;
	const char		*name, *sig;
	size_t			 n, start;
	int			 rc;

	name = x->calls[x->ncalls].name;
	json_sep(parts, nparts);
	kore_buf_appendf(parts, "{\"functionCall\":{\"name\":");
	json_str(parts, name);
	kore_buf_appendf(parts, ",\"args\":");
	rc = 0;
	if (args == NULL || (json_is_str(args) &&
	    strspn(args->data.string, " \t\r\n") ==
	    strlen(args->data.string))) {
		kore_buf_appendf(parts, "{}");
	} else if (json_is_str(args)) {
		n = strlen(args->data.string);
		kore_json_init(&j, args->data.string, n);
		if (!kore_json_parse(&j) ||
		    j.root->type != KORE_JSON_TYPE_OBJECT)
			rc = xlate_fail(x,
			    "%s.arguments must be a JSON object in a "
			    "string", where);
		else
			json_value(parts, j.root);
		kore_json_cleanup(&j);
	} else if (json_is(args, KORE_JSON_TYPE_OBJECT)) {
		json_value(parts, args);
	} else {
		rc = xlate_fail(x, "%s.arguments must be a string", where);
	}
	kore_buf_appendf(parts, "}");
	if ((sig = strstr(id, THOUGHT_SEP)) != NULL &&
	    gemini_sig_ok(sig + sizeof(THOUGHT_SEP) - 1)) {
		start = parts->offset;
		kore_buf_appendf(parts, ",\"thoughtSignature\":");
		if (gemini_sig_from_id(parts, sig + sizeof(THOUGHT_SEP) -
		    1) == -1)
			parts->offset = start;
	}
	kore_buf_appendf(parts, "}");
	if (rc == 0) {
		x->calls[x->ncalls].id = id;
		x->ncalls++;
	}
	return (rc);
}

/* A functionResponse part: text that is a JSON object goes as is. */
void
gemini_function_response_part(const char *name, const char *text,
    struct kore_buf *parts, int *nparts)
{
	struct kore_json	j;

	json_sep(parts, nparts);
	kore_buf_appendf(parts, "{\"functionResponse\":{\"name\":");
	json_str(parts, name);
	kore_buf_appendf(parts, ",\"response\":");
	kore_json_init(&j, text, strlen(text));
	if (kore_json_parse(&j) && j.root->type == KORE_JSON_TYPE_OBJECT) {
		json_value(parts, j.root);
	} else {
		kore_buf_appendf(parts, "{\"content\":");
		json_str(parts, text);
		kore_buf_appendf(parts, "}");
	}
	kore_json_cleanup(&j);
	kore_buf_appendf(parts, "}}");
}

void
gemini_parts_init(struct gemini_parts *g)
{
	kore_buf_init(&g->text, 256);
	kore_buf_init(&g->thought, 64);
	kore_buf_init(&g->calls, 64);
	g->ncalls = 0;
	g->ends = NULL;
}

void
gemini_parts_cleanup(struct gemini_parts *g)
{
	kore_buf_cleanup(&g->text);
	kore_buf_cleanup(&g->thought);
	kore_buf_cleanup(&g->calls);
	kore_free(g->ends);
}

/*
 * A candidate's content.parts: text joined, thought summaries apart,
 * each functionCall as an OpenAI tool call with a fresh id (with
 * "index" from index_base on when indexed, for stream deltas).
 */
void
gemini_parts_read(struct kore_json_item *cand, struct gemini_parts *g,
    int indexed, int index_base)
{
	struct kore_json_item	*parts, *p, *v, *fc, *name, *args, *th, *sig;
	struct kore_buf		 a;
	char			 id[40];

	parts = json_get(json_get(cand, "content"), "parts");
	if (!json_is(parts, KORE_JSON_TYPE_ARRAY))
		return;
	TAILQ_FOREACH(p, &parts->data.items, list) {
		if ((v = json_get(p, "text")) != NULL &&
		    v->type == KORE_JSON_TYPE_STRING) {
			th = json_get(p, "thought");
			if (json_is(th, KORE_JSON_TYPE_LITERAL) &&
			    th->data.literal == KORE_JSON_TRUE)
				kore_buf_appendf(&g->thought, "%s",
				    v->data.string);
			else
				kore_buf_appendf(&g->text, "%s",
				    v->data.string);
		}
		fc = json_get(p, "functionCall");
		name = json_get(fc, "name");
		if (!json_is_str(name))
			continue;
		args = json_get(fc, "args");
		kore_buf_init(&a, 64);
		if (args != NULL)
			json_value(&a, args);
		else
			kore_buf_appendf(&a, "{}");
		memcpy(id, "call_", 5);
		secrets_random_hex(id + 5, sizeof(id) - 5, 12);
		if (g->ncalls > 0)
			kore_buf_appendf(&g->calls, ",");
		kore_buf_appendf(&g->calls, "{");
		if (indexed)
			kore_buf_appendf(&g->calls, "\"index\":%d,",
			    index_base + g->ncalls);
		kore_buf_appendf(&g->calls, "\"id\":\"%s", id);
		sig = json_get(p, "thoughtSignature");
		if (json_is_str(sig) && gemini_sig_ok(sig->data.string))
			(void)gemini_sig_to_id(&g->calls, sig->data.string);
		kore_buf_appendf(&g->calls,
		    "\",\"type\":\"function\",\"function\":{\"name\":");
		json_str(&g->calls, name->data.string);
		kore_buf_appendf(&g->calls, ",\"arguments\":");
		json_strn(&g->calls, (const char *)a.data, a.offset);
		kore_buf_appendf(&g->calls, "}}");
		kore_buf_cleanup(&a);
		g->ends = kore_realloc(g->ends,
		    (g->ncalls + 1) * sizeof(*g->ends));
		g->ends[g->ncalls++] = g->calls.offset;
	}
}

/*
 * usageMetadata into u (thoughts count as completion, tool-use prompt
 * tokens as prompt), with the total and the details. 1 if present.
 */
int
gemini_usage_read(struct kore_json_item *root, struct xlate_usage *u,
    int64_t *total, int64_t *cached, int64_t *thoughts, int64_t *tooluse)
{
	struct kore_json_item	*um;
	int64_t			 prompt, cand;

	um = json_get(root, "usageMetadata");
	if (!json_is(um, KORE_JSON_TYPE_OBJECT))
		return (0);
	prompt = gemini_tokens(json_get(um, "promptTokenCount"));
	cand = gemini_tokens(json_get(um, "candidatesTokenCount"));
	*thoughts = gemini_tokens(json_get(um, "thoughtsTokenCount"));
	*cached = gemini_tokens(json_get(um, "cachedContentTokenCount"));
	*tooluse = gemini_tokens(json_get(um, "toolUsePromptTokenCount"));
	u->prompt_tokens = prompt + *tooluse;
	u->completion_tokens = cand + *thoughts;
	if (json_get(um, "cachedContentTokenCount") != NULL)
		u->cached_tokens = *cached;
	if (json_get(um, "thoughtsTokenCount") != NULL)
		u->reasoning_tokens = *thoughts;
	if ((*total = gemini_tokens(json_get(um, "totalTokenCount"))) == 0)
		*total = u->prompt_tokens + u->completion_tokens;
	return (1);
}

/* A token count: 0 unless a sane non-negative integer. */
int64_t
gemini_tokens(struct kore_json_item *it)
{
	int64_t	n;

	if (json_int(it, &n) == -1 || n < 0 || n > ((int64_t)1 << 48))
		return (0);
	return (n);
}

/* Gemini's finishReason as OpenAI's finish_reason. */
const char *
gemini_finish_reason(const char *r, int has_calls)
{
	static const char *filtered[] = {
		"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT",
		"SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
		"IMAGE_RECITATION", NULL
	};
	int	i;

	if (r != NULL && strcmp(r, "MAX_TOKENS") == 0)
		return ("length");
	for (i = 0; r != NULL && filtered[i] != NULL; i++) {
		if (strcmp(r, filtered[i]) == 0)
			return ("content_filter");
	}
	return (has_calls ? "tool_calls" : "stop");
}

/* The error object of an error body ({"error":{}}, or in an array). */
struct kore_json_item *
gemini_error_object(struct kore_json_item *root)
{
	struct kore_json_item	*e;

	if (root->type == KORE_JSON_TYPE_ARRAY &&
	    (root = TAILQ_FIRST(&root->data.items)) == NULL)
		return (NULL);
	e = json_get(root, "error");
	return (json_is(e, KORE_JSON_TYPE_OBJECT) ? e : NULL);
}

/*
 * The HTTP status an upstream Gemini error deserves: Gemini answers a
 * wrong API key with 400 INVALID_ARGUMENT and reason API_KEY_INVALID in
 * its details, which is a 401 for the key's health. Other statuses are
 * kept.
 */
int
gemini_error_status(int status, const void *body, size_t len)
{
	struct kore_json	 j;
	struct kore_json_item	*e, *details, *d, *reason;

	if (status != 400)
		return (status);
	kore_json_init(&j, body, len);
	if (kore_json_parse(&j) && (e = gemini_error_object(j.root)) != NULL &&
	    json_is((details = json_get(e, "details")), KORE_JSON_TYPE_ARRAY)) {
		TAILQ_FOREACH(d, &details->data.items, list) {
			reason = json_get(d, "reason");
			if (json_is_str(reason) &&
			    strcmp(reason->data.string,
			    "API_KEY_INVALID") == 0) {
				status = 401;
				break;
			}
		}
	}
	kore_json_cleanup(&j);
	return (status);
}

/*
 * A Gemini error body ({"error":{"code","message","status"}}, alone or
 * as the only element of an array) as OpenAI's error shape. The type
 * and code come from Gemini's status name, else from the HTTP status.
 */
void
gemini_error_to_openai(int status, const void *body, size_t len,
    struct kore_buf *out)
{
	static const struct {
		const char	*gemini;
		int		 http;
		const char	*type;
		const char	*code;
	} map[] = {
		{ "INVALID_ARGUMENT", 400, "invalid_request_error",
		    "invalid_argument" },
		{ "FAILED_PRECONDITION", 400, "invalid_request_error",
		    "failed_precondition" },
		{ "OUT_OF_RANGE", 400, "invalid_request_error",
		    "out_of_range" },
		{ "UNAUTHENTICATED", 401, "authentication_error",
		    "invalid_api_key" },
		{ "PERMISSION_DENIED", 403, "permission_error",
		    "permission_denied" },
		{ "NOT_FOUND", 404, "invalid_request_error",
		    "model_not_found" },
		{ "RESOURCE_EXHAUSTED", 429, "rate_limit_error",
		    "rate_limit_exceeded" },
		{ "CANCELLED", 499, "server_error", "cancelled" },
		{ "INTERNAL", 500, "server_error", "internal_error" },
		{ "UNAVAILABLE", 503, "server_error", "service_unavailable" },
		{ "DEADLINE_EXCEEDED", 504, "server_error", "timeout" },
		{ NULL, 0, NULL, NULL }
	};
	struct kore_json	 j;
	struct kore_json_item	*e, *msg, *gs;
	const char		*type, *code;
	int			 i, parsed;

	kore_json_init(&j, body, len);
	parsed = kore_json_parse(&j);
	e = parsed ? gemini_error_object(j.root) : NULL;
	msg = json_get(e, "message");
	gs = json_get(e, "status");
	if (gemini_error_status(status, body, len) == 401)
		gs = NULL, status = 401;

	type = NULL;
	code = NULL;
	for (i = 0; map[i].gemini != NULL; i++) {
		if (json_is_str(gs) &&
		    strcmp(gs->data.string, map[i].gemini) == 0)
			break;
	}
	if (map[i].gemini == NULL) {
		for (i = 0; map[i].gemini != NULL; i++) {
			if (map[i].http == status)
				break;
		}
	}
	if (map[i].gemini != NULL) {
		type = map[i].type;
		code = map[i].code;
	} else {
		type = status >= 500 ? "server_error" :
		    "invalid_request_error";
	}

	kore_buf_appendf(out, "{\"error\":{\"message\":");
	if (json_is_str(msg) && msg->data.string[0] != '\0')
		json_str(out, msg->data.string);
	else
		kore_buf_appendf(out, "\"the Gemini upstream answered HTTP "
		    "%d\"", status);
	kore_buf_appendf(out, ",\"type\":\"%s\",\"param\":null,\"code\":",
	    type);
	if (code != NULL)
		kore_buf_appendf(out, "\"%s\"}}", code);
	else
		kore_buf_appendf(out, "null}}");
	kore_json_cleanup(&j);
}
