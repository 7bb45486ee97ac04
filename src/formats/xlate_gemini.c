/*
 * Google Gemini generateContent / streamGenerateContent (v1beta REST)
 * seen from OpenAI chat completions: requests out, answers, stream
 * chunks and errors back, and countTokens for /v1/messages/count_tokens.
 *
 * Input is read with kore_json; output is written straight into a
 * kore_buf with xlate.c's writers (xlate_str, xlate_value, ...).
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "formats/formats.h"

/*
 * Gemini 3 refuses a history whose function calls lost the
 * thoughtSignature Gemini gave them. OpenAI clients have nowhere to keep
 * it but the tool call id, which they send back: so a call's id is
 * "call_<random>" THOUGHT_SEP "<signature>" when there is one, and the
 * signature goes back on the functionCall part when the id comes back.
 */
#define THOUGHT_SEP	"__thought__"

/* Appends a string literal. */
#define LIT(b, s)	kore_buf_append((b), (s), sizeof(s) - 1)
#define IS_TYPE(it, t)	((it) != NULL && (it)->type == KORE_JSON_TYPE_##t)

/* A tool call seen in the history: its id names the function. */
struct gcall {
	const char	*id;
	const char	*name;
};

/* What one request translation carries around. */
struct greq {
	char		*err;
	size_t		 errlen;
	struct gcall	*calls;
	size_t		 ncalls;
	size_t		 calls_cap;
};

/* One candidate's parts, sorted out. */
struct gparts {
	struct kore_buf	 text;		/* raw bytes, joined */
	struct kore_buf	 thought;	/* raw bytes of thought summaries */
	struct kore_buf	 calls;		/* tool_calls array members, JSON */
	int		 ncalls;
	size_t		*ends;		/* where each call ends in calls */
};

static int	gerr(struct greq *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static struct kore_json_item	*greq_parse(struct greq *, struct kore_json *,
		    const void *, size_t, char *, size_t);
static void	js_key(struct kore_buf *, int *, const char *);
static int	schema_nonempty(struct kore_json_item *);
static void	schema_emit(struct kore_buf *, struct kore_json_item *);
static int	sig_ok(const char *);
static void	sig_to_id(struct kore_buf *, const char *);
static void	sig_from_id(struct kore_buf *, const char *);
static int	id_ok(const char *, size_t);
static void	rand_hex(char *, size_t);
static const char	*mime_from_url(const char *);
static int	media_part(struct greq *, struct kore_buf *, const char *,
		    const char *, const char *);
static void	part_sep(struct kore_buf *, int *);
static void	text_part(struct kore_buf *, int *, const void *, size_t);
static void	inline_part(struct kore_buf *, int *, const char *,
		    const char *);
static int	user_parts(struct greq *, struct kore_json_item *,
		    const char *, struct kore_buf *, int *);
static int	text_of(struct greq *, struct kore_json_item *,
		    const char *, struct kore_buf *);
static int	assistant_parts(struct greq *, struct kore_json_item *,
		    const char *, struct kore_buf *, int *);
static int	function_call_part(struct greq *, const char *,
		    struct kore_json_item *, const char *,
		    struct kore_buf *, int *);
static void	function_response_part(const char *, const char *,
		    struct kore_buf *, int *);
static void	turn_add(struct kore_buf *, const char **, const char *,
		    struct kore_buf *);
static int	tools_emit(struct greq *, struct kore_json_item *,
		    struct kore_buf *);
static int	tool_choice_emit(struct greq *, struct kore_json_item *,
		    struct kore_buf *);
static int	generation_config(struct greq *, struct kore_json_item *,
		    struct kore_buf *);
static void	gparts_init(struct gparts *);
static void	gparts_cleanup(struct gparts *);
static void	gparts_read(struct kore_json_item *, struct gparts *, int,
		    int);
static const char	*finish_reason(const char *, int);
static int64_t	tokens(struct kore_json_item *);
static int	usage_read(struct kore_json_item *, struct xlate_usage *,
		    int64_t *, int64_t *, int64_t *, int64_t *);
static struct kore_json_item	*error_object(struct kore_json_item *);
static void	chunk_begin(struct xlate_stream *, struct kore_buf *);
static void	chunk_usage(struct xlate_stream *, struct kore_buf *);
static void	stream_finish_chunk(struct xlate_stream *, int64_t,
		    const char *, struct kore_buf *);
static int	anthropic_blocks(struct greq *, struct kore_json_item *,
		    const char *, struct kore_buf *, int *);

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

static int
gerr(struct greq *r, const char *fmt, ...)
{
	va_list		args;

	va_start(args, fmt);
	(void)vsnprintf(r->err, r->errlen, fmt, args);
	va_end(args);
	return (-1);
}

/*
 * Begins a request's translation: r reports into err, j holds body
 * parsed (kore_json_cleanup it either way). Returns the root object, or
 * NULL with the client's message in err.
 */
static struct kore_json_item *
greq_parse(struct greq *r, struct kore_json *j, const void *body, size_t len,
    char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->err = err;
	r->errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	kore_json_init(j, body, len);
	if (!kore_json_parse(j)) {
		(void)gerr(r, "the body is not valid JSON: %s",
		    kore_json_strerror(j));
		return (NULL);
	}
	if (j->root->type != KORE_JSON_TYPE_OBJECT) {
		(void)gerr(r, "the body must be a JSON object");
		return (NULL);
	}
	return (j->root);
}

/* ",\"key\":" or "\"key\":" for the first member. */
static void
js_key(struct kore_buf *b, int *first, const char *key)
{
	if (!*first)
		LIT(b, ",");
	*first = 0;
	json_str(b, key);
	LIT(b, ":");
}

/* The schema has a non-empty "properties" object. */
static int
schema_nonempty(struct kore_json_item *s)
{
	struct kore_json_item	*p;

	p = json_get(s, "properties");
	return (IS_TYPE(p, OBJECT) && !TAILQ_EMPTY(&p->data.items));
}

/*
 * A JSON schema as a Gemini Schema: only the keys in schema_keys, a
 * type array such as ["string","null"] as "type" plus "nullable", an
 * empty "properties" left out (Gemini refuses it for OBJECT), tuple
 * "items" reduced to their first schema. Property names are kept as
 * they are, whatever they are called.
 */
static void
schema_emit(struct kore_buf *b, struct kore_json_item *s)
{
	struct kore_json_item	*m, *c, *type;
	const char		*name, *tname;
	int			 first, cfirst, i, nullable, has_any;

	if (s->type != KORE_JSON_TYPE_OBJECT) {
		LIT(b, "{}");
		return;
	}
	first = 1;
	has_any = json_get(s, "anyOf") != NULL;
	LIT(b, "{");
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
				js_key(b, &first, "type");
				json_str(b, tname);
			}
			if (nullable && json_get(s, "nullable") == NULL) {
				js_key(b, &first, "nullable");
				LIT(b, "true");
			}
		} else if (strcmp(name, "properties") == 0) {
			if (m->type != KORE_JSON_TYPE_OBJECT ||
			    TAILQ_EMPTY(&m->data.items))
				continue;
			js_key(b, &first, name);
			LIT(b, "{");
			cfirst = 1;
			TAILQ_FOREACH(c, &m->data.items, list) {
				js_key(b, &cfirst, c->name);
				schema_emit(b, c);
			}
			LIT(b, "}");
		} else if (strcmp(name, "items") == 0) {
			if (m->type == KORE_JSON_TYPE_ARRAY) {
				if ((c = TAILQ_FIRST(&m->data.items)) == NULL)
					continue;
			} else {
				c = m;
			}
			js_key(b, &first, name);
			schema_emit(b, c);
		} else if (strcmp(name, "anyOf") == 0) {
			if (m->type != KORE_JSON_TYPE_ARRAY)
				continue;
			js_key(b, &first, name);
			LIT(b, "[");
			cfirst = 1;
			TAILQ_FOREACH(c, &m->data.items, list) {
				if (!cfirst)
					LIT(b, ",");
				cfirst = 0;
				schema_emit(b, c);
			}
			LIT(b, "]");
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
			js_key(b, &first, name);
			json_value(b, m);
		} else {
			js_key(b, &first, name);
			json_value(b, m);
		}
	}
	LIT(b, "}");
}

/*
 * A thought signature is base64 (either alphabet), at most 64 KB: it
 * travels inside the tool call id, which clients give back verbatim.
 */
static int
sig_ok(const char *s)
{
	size_t	n;

	n = strlen(s);
	return (n > 0 && n <= 65536 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_") == n);
}

/*
 * The signature inside an id is base64url without padding, so that ids
 * stay within what every client and Anthropic accept ([A-Za-z0-9_-]).
 */
static void
sig_to_id(struct kore_buf *b, const char *sig)
{
	const char	*p;

	for (p = sig; *p != '\0' && *p != '='; p++) {
		if (*p == '+')
			LIT(b, "-");
		else if (*p == '/')
			LIT(b, "_");
		else
			kore_buf_append(b, p, 1);
	}
}

/* The signature back in standard base64, padded, as a JSON string. */
static void
sig_from_id(struct kore_buf *b, const char *s)
{
	struct kore_buf	 sig;
	const char	*p;

	kore_buf_init(&sig, strlen(s) + 4);
	for (p = s; *p != '\0' && *p != '='; p++) {
		if (*p == '-')
			LIT(&sig, "+");
		else if (*p == '_')
			LIT(&sig, "/");
		else
			kore_buf_append(&sig, p, 1);
	}
	while (sig.offset % 4 != 0)
		LIT(&sig, "=");
	json_strn(b, (const char *)sig.data, sig.offset);
	kore_buf_cleanup(&sig);
}

/* s is a non-empty id shorter than max, of letters, digits, - and _. */
static int
id_ok(const char *s, size_t max)
{
	size_t	n;

	n = strlen(s);
	return (n > 0 && n < max && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n);
}

/* nbytes random bytes as hex into out (2 * nbytes + 1 bytes). */
static void
rand_hex(char *out, size_t nbytes)
{
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			 rnd[32];
	size_t			 i;

	if (nbytes > sizeof(rnd))
		nbytes = sizeof(rnd);
	arc4random_buf(rnd, nbytes);
	for (i = 0; i < nbytes; i++) {
		out[i * 2] = hex[rnd[i] >> 4];
		out[i * 2 + 1] = hex[rnd[i] & 0xf];
	}
	out[nbytes * 2] = '\0';
}

/* A MIME type guessed from a URL's file extension; image/jpeg if none. */
static const char *
mime_from_url(const char *url)
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
 * an http(s) URL fileData. mime overrides the type found in the URL.
 */
static int
media_part(struct greq *r, struct kore_buf *parts, const char *url,
    const char *mime, const char *where)
{
	const char	*comma, *semi, *p;

	if (strncmp(url, "data:", 5) == 0) {
		if ((comma = strchr(url, ',')) == NULL ||
		    comma - url < 12 || strncmp(comma - 7, ";base64", 7) != 0)
			return (gerr(r, "%s: only base64 data: URLs are "
			    "supported", where));
		p = url + 5;
		semi = strchr(p, ';');
		LIT(parts, "{\"inlineData\":{\"mimeType\":");
		if (mime != NULL)
			json_str(parts, mime);
		else if (semi == p)
			json_str(parts, "application/octet-stream");
		else
			json_strn(parts, p, (size_t)(semi - p));
		LIT(parts, ",\"data\":");
		json_str(parts, comma + 1);
		LIT(parts, "}}");
		return (0);
	}
	if (strncasecmp(url, "https://", 8) != 0 &&
	    strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "gs://", 5) != 0)
		return (gerr(r, "%s: the URL must be a data:, http(s) or gs "
		    "URL", where));
	LIT(parts, "{\"fileData\":{\"mimeType\":");
	json_str(parts, mime != NULL ? mime : mime_from_url(url));
	LIT(parts, ",\"fileUri\":");
	json_str(parts, url);
	LIT(parts, "}}");
	return (0);
}

static void
part_sep(struct kore_buf *parts, int *nparts)
{
	if (*nparts > 0)
		LIT(parts, ",");
	(*nparts)++;
}

/* A text part: {"text":...} of text[0..len). */
static void
text_part(struct kore_buf *parts, int *nparts, const void *text, size_t len)
{
	part_sep(parts, nparts);
	LIT(parts, "{\"text\":");
	json_strn(parts, text, len);
	LIT(parts, "}");
}

/* An inlineData part: base64 data of type mime. */
static void
inline_part(struct kore_buf *parts, int *nparts, const char *mime,
    const char *data)
{
	part_sep(parts, nparts);
	LIT(parts, "{\"inlineData\":{\"mimeType\":");
	json_str(parts, mime);
	LIT(parts, ",\"data\":");
	json_str(parts, data);
	LIT(parts, "}}");
}

/* A user message's content (string or array of parts) as Gemini parts. */
static int
user_parts(struct greq *r, struct kore_json_item *content, const char *where,
    struct kore_buf *parts, int *nparts)
{
	struct kore_json_item	*p, *type, *v, *url, *fmt;
	char			 w[96], mime[32];
	int			 i;

	if (content == NULL)
		return (0);
	if (content->type == KORE_JSON_TYPE_STRING) {
		if (content->data.string[0] == '\0')
			return (0);
		text_part(parts, nparts, content->data.string,
		    strlen(content->data.string));
		return (0);
	}
	if (content->type != KORE_JSON_TYPE_ARRAY)
		return (gerr(r, "%s.content must be a string or an array",
		    where));

	i = 0;
	TAILQ_FOREACH(p, &content->data.items, list) {
		(void)snprintf(w, sizeof(w), "%s.content[%d]", where, i++);
		if (p->type != KORE_JSON_TYPE_OBJECT)
			return (gerr(r, "%s must be an object", w));
		type = json_get(p, "type");
		if (!IS_TYPE(type, STRING))
			return (gerr(r, "%s.type must be a string", w));
		if (strcmp(type->data.string, "text") == 0) {
			v = json_get(p, "text");
			if (!IS_TYPE(v, STRING))
				return (gerr(r, "%s.text must be a string", w));
			if (v->data.string[0] == '\0')
				continue;
			text_part(parts, nparts, v->data.string,
			    strlen(v->data.string));
		} else if (strcmp(type->data.string, "image_url") == 0) {
			v = json_get(p, "image_url");
			url = IS_TYPE(v, OBJECT) ? json_get(v, "url") : v;
			if (!IS_TYPE(url, STRING))
				return (gerr(r, "%s.image_url.url must be a "
				    "string", w));
			part_sep(parts, nparts);
			if (media_part(r, parts, url->data.string, NULL,
			    w) == -1)
				return (-1);
		} else if (strcmp(type->data.string, "input_audio") == 0) {
			v = json_get(p, "input_audio");
			url = json_get(v, "data");
			fmt = json_get(v, "format");
			if (!IS_TYPE(url, STRING) || !IS_TYPE(fmt, STRING) ||
			    strlen(fmt->data.string) > 16)
				return (gerr(r, "%s.input_audio needs data and "
				    "format strings", w));
			(void)snprintf(mime, sizeof(mime), "audio/%s",
			    fmt->data.string);
			inline_part(parts, nparts, mime, url->data.string);
		} else if (strcmp(type->data.string, "file") == 0) {
			v = json_get(p, "file");
			url = json_get(v, "file_data");
			if (!IS_TYPE(url, STRING))
				return (gerr(r, "%s.file.file_data must be a "
				    "data: URL (file_id is not supported by "
				    "Gemini)", w));
			part_sep(parts, nparts);
			if (media_part(r, parts, url->data.string, NULL,
			    w) == -1)
				return (-1);
		} else {
			return (gerr(r, "%s.type \"%s\" is not supported", w,
			    type->data.string));
		}
	}
	return (0);
}

/* The text of content (string or array of text parts) appended to b. */
static int
text_of(struct greq *r, struct kore_json_item *content, const char *where,
    struct kore_buf *b)
{
	struct kore_json_item	*p, *type, *v;
	int			 i;

	if (content == NULL)
		return (0);
	if (content->type == KORE_JSON_TYPE_STRING) {
		kore_buf_appendf(b, "%s", content->data.string);
		return (0);
	}
	if (content->type != KORE_JSON_TYPE_ARRAY)
		return (gerr(r, "%s.content must be a string or an array",
		    where));
	i = 0;
	TAILQ_FOREACH(p, &content->data.items, list) {
		type = json_get(p, "type");
		v = NULL;
		if (IS_TYPE(type, STRING)) {
			if (strcmp(type->data.string, "text") == 0)
				v = json_get(p, "text");
			else if (strcmp(type->data.string, "refusal") == 0)
				v = json_get(p, "refusal");
		}
		if (!IS_TYPE(v, STRING))
			return (gerr(r, "%s.content[%d] must be a text part",
			    where, i));
		kore_buf_appendf(b, "%s", v->data.string);
		i++;
	}
	return (0);
}

/*
 * A functionCall part for a call named name with arguments args (a JSON
 * string, "" for none), remembering id for the tool messages after it.
 */
static int
function_call_part(struct greq *r, const char *id, struct kore_json_item *args,
    const char *where, struct kore_buf *parts, int *nparts)
{
	struct kore_json	 j;
	const char		*name, *sig;
	size_t			 n;
	int			 rc;

	name = r->calls[r->ncalls].name;
	part_sep(parts, nparts);
	LIT(parts, "{\"functionCall\":{\"name\":");
	json_str(parts, name);
	LIT(parts, ",\"args\":");
	rc = 0;
	if (args == NULL || (IS_TYPE(args, STRING) &&
	    strspn(args->data.string, " \t\r\n") ==
	    strlen(args->data.string))) {
		LIT(parts, "{}");
	} else if (IS_TYPE(args, STRING)) {
		n = strlen(args->data.string);
		kore_json_init(&j, args->data.string, n);
		if (!kore_json_parse(&j) ||
		    j.root->type != KORE_JSON_TYPE_OBJECT)
			rc = gerr(r, "%s.arguments must be a JSON object in a "
			    "string", where);
		else
			json_value(parts, j.root);
		kore_json_cleanup(&j);
	} else if (IS_TYPE(args, OBJECT)) {
		json_value(parts, args);
	} else {
		rc = gerr(r, "%s.arguments must be a string", where);
	}
	LIT(parts, "}");
	if ((sig = strstr(id, THOUGHT_SEP)) != NULL &&
	    sig_ok(sig + sizeof(THOUGHT_SEP) - 1)) {
		LIT(parts, ",\"thoughtSignature\":");
		sig_from_id(parts, sig + sizeof(THOUGHT_SEP) - 1);
	}
	LIT(parts, "}");
	if (rc == 0) {
		r->calls[r->ncalls].id = id;
		r->ncalls++;
	}
	return (rc);
}

/* A functionResponse part: text that is a JSON object goes as is. */
static void
function_response_part(const char *name, const char *text,
    struct kore_buf *parts, int *nparts)
{
	struct kore_json	j;

	part_sep(parts, nparts);
	LIT(parts, "{\"functionResponse\":{\"name\":");
	json_str(parts, name);
	LIT(parts, ",\"response\":");
	kore_json_init(&j, text, strlen(text));
	if (kore_json_parse(&j) && j.root->type == KORE_JSON_TYPE_OBJECT) {
		json_value(parts, j.root);
	} else {
		LIT(parts, "{\"content\":");
		json_str(parts, text);
		LIT(parts, "}");
	}
	kore_json_cleanup(&j);
	LIT(parts, "}}");
}

static void
calls_grow(struct greq *r)
{
	if (r->ncalls < r->calls_cap)
		return;
	r->calls_cap = r->calls_cap ? r->calls_cap * 2 : 8;
	r->calls = kore_realloc(r->calls, r->calls_cap * sizeof(*r->calls));
}

/* An assistant message: its text, then a functionCall per tool call. */
static int
assistant_parts(struct greq *r, struct kore_json_item *msg, const char *where,
    struct kore_buf *parts, int *nparts)
{
	struct kore_json_item	*calls, *c, *id, *fn, *name, *type, *fc;
	struct kore_buf		 text;
	char			 w[96];
	int			 i, rc;

	kore_buf_init(&text, 64);
	rc = text_of(r, json_get(msg, "content"), where, &text);
	if (rc == 0 && text.offset > 0) {
		text_part(parts, nparts, text.data, text.offset);
	}
	kore_buf_cleanup(&text);
	if (rc == -1)
		return (-1);

	if ((calls = json_get(msg, "tool_calls")) != NULL) {
		if (calls->type != KORE_JSON_TYPE_ARRAY)
			return (gerr(r, "%s.tool_calls must be an array",
			    where));
		i = 0;
		TAILQ_FOREACH(c, &calls->data.items, list) {
			(void)snprintf(w, sizeof(w), "%s.tool_calls[%d]",
			    where, i++);
			id = json_get(c, "id");
			fn = json_get(c, "function");
			name = json_get(fn, "name");
			type = json_get(c, "type");
			if (type != NULL && (!IS_TYPE(type, STRING) ||
			    strcmp(type->data.string, "function") != 0))
				return (gerr(r, "%s.type must be \"function\"",
				    w));
			if (!IS_TYPE(id, STRING))
				return (gerr(r, "%s.id must be a string", w));
			if (!IS_TYPE(name, STRING))
				return (gerr(r, "%s.function.name must be a "
				    "string", w));
			(void)snprintf(w, sizeof(w), "%s.tool_calls[%d]."
			    "function", where, i - 1);
			calls_grow(r);
			r->calls[r->ncalls].name = name->data.string;
			if (function_call_part(r, id->data.string,
			    json_get(fn, "arguments"), w, parts, nparts) == -1)
				return (-1);
		}
	}

	/* The legacy single function_call. */
	if ((fc = json_get(msg, "function_call")) != NULL) {
		name = json_get(fc, "name");
		if (!IS_TYPE(name, STRING))
			return (gerr(r, "%s.function_call.name must be a "
			    "string", where));
		(void)snprintf(w, sizeof(w), "%s.function_call", where);
		calls_grow(r);
		r->calls[r->ncalls].name = name->data.string;
		if (function_call_part(r, "", json_get(fc, "arguments"), w, parts,
		    nparts) == -1)
			return (-1);
	}
	return (0);
}

/*
 * Appends a message's parts as a turn of role, or to the turn before
 * it when that has the same role: Gemini wants turns to alternate.
 */
static void
turn_add(struct kore_buf *contents, const char **cur, const char *role,
    struct kore_buf *parts)
{
	if (*cur != NULL && strcmp(*cur, role) == 0) {
		LIT(contents, ",");
	} else {
		if (*cur != NULL)
			LIT(contents, "]},");
		kore_buf_appendf(contents, "{\"role\":\"%s\",\"parts\":[", role);
		*cur = role;
	}
	kore_buf_append(contents, parts->data, parts->offset);
}

/* tools: [{type:function, function:{name,description,parameters}}]. */
static int
tools_emit(struct greq *r, struct kore_json_item *tools, struct kore_buf *b)
{
	struct kore_json_item	*t, *type, *fn, *name, *desc, *params;
	int			 i;

	if (tools->type != KORE_JSON_TYPE_ARRAY)
		return (gerr(r, "tools must be an array"));
	LIT(b, "\"tools\":[{\"functionDeclarations\":[");
	i = 0;
	TAILQ_FOREACH(t, &tools->data.items, list) {
		type = json_get(t, "type");
		fn = json_get(t, "function");
		if (!IS_TYPE(type, STRING) ||
		    strcmp(type->data.string, "function") != 0)
			return (gerr(r, "tools[%d].type must be \"function\" "
			    "(the only kind Gemini is given)", i));
		if (!IS_TYPE(fn, OBJECT))
			return (gerr(r, "tools[%d].function must be an object",
			    i));
		name = json_get(fn, "name");
		desc = json_get(fn, "description");
		params = json_get(fn, "parameters");
		if (!IS_TYPE(name, STRING) || name->data.string[0] == '\0')
			return (gerr(r, "tools[%d].function.name must be a "
			    "non-empty string", i));
		if (desc != NULL && desc->type != KORE_JSON_TYPE_STRING)
			return (gerr(r, "tools[%d].function.description must "
			    "be a string", i));
		if (params != NULL && params->type != KORE_JSON_TYPE_OBJECT)
			return (gerr(r, "tools[%d].function.parameters must be "
			    "an object", i));
		if (i > 0)
			LIT(b, ",");
		LIT(b, "{\"name\":");
		json_str(b, name->data.string);
		if (desc != NULL) {
			LIT(b, ",\"description\":");
			json_str(b, desc->data.string);
		}
		/* Gemini refuses an OBJECT with no properties: say none. */
		if (params != NULL && schema_nonempty(params)) {
			LIT(b, ",\"parameters\":");
			schema_emit(b, params);
		}
		LIT(b, "}");
		i++;
	}
	LIT(b, "]}]");
	return (0);
}

/* tool_choice as toolConfig.functionCallingConfig. */
static int
tool_choice_emit(struct greq *r, struct kore_json_item *tc, struct kore_buf *b)
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
			return (gerr(r, "tool_choice must be \"auto\", "
			    "\"none\", \"required\" or a function"));
	} else if (tc->type == KORE_JSON_TYPE_OBJECT) {
		name = json_get(json_get(tc, "function"), "name");
		if (!IS_TYPE(name, STRING))
			return (gerr(r, "tool_choice.function.name must be a "
			    "string"));
		mode = "ANY";
	} else {
		return (gerr(r, "tool_choice must be a string or an object"));
	}
	kore_buf_appendf(b, ",\"toolConfig\":{\"functionCallingConfig\":"
	    "{\"mode\":\"%s\"", mode);
	if (name != NULL) {
		LIT(b, ",\"allowedFunctionNames\":[");
		json_str(b, name->data.string);
		LIT(b, "]");
	}
	LIT(b, "}}");
	return (0);
}

/* Sampling and output options as generationConfig (b gets the members). */
static int
generation_config(struct greq *r, struct kore_json_item *root,
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
	int			 first, i;

	first = 1;
	for (i = 0; simple[i].openai != NULL; i++) {
		if ((v = json_get(root, simple[i].openai)) == NULL)
			continue;
		if (simple[i].integer) {
			if (json_int(v, &n) == -1)
				return (gerr(r, "%s must be an integer",
				    simple[i].openai));
			js_key(b, &first, simple[i].gemini);
			kore_buf_appendf(b, "%" PRId64, n);
		} else {
			if (json_num(v, &d) == -1)
				return (gerr(r, "%s must be a number",
				    simple[i].openai));
			js_key(b, &first, simple[i].gemini);
			json_double(b, d);
		}
	}

	if ((v = json_get(root, "max_completion_tokens")) == NULL)
		v = json_get(root, "max_tokens");
	if (v != NULL) {
		if (json_int(v, &n) == -1 || n < 1)
			return (gerr(r, "%s must be a positive integer",
			    v->name));
		js_key(b, &first, "maxOutputTokens");
		kore_buf_appendf(b, "%" PRId64, n);
	}

	if ((v = json_get(root, "stop")) != NULL) {
		if (v->type == KORE_JSON_TYPE_STRING) {
			js_key(b, &first, "stopSequences");
			LIT(b, "[");
			json_str(b, v->data.string);
			LIT(b, "]");
		} else if (v->type == KORE_JSON_TYPE_ARRAY) {
			TAILQ_FOREACH(s, &v->data.items, list) {
				if (s->type != KORE_JSON_TYPE_STRING)
					return (gerr(r, "stop must be a string "
					    "or an array of strings"));
			}
			js_key(b, &first, "stopSequences");
			json_value(b, v);
		} else {
			return (gerr(r, "stop must be a string or an array of "
			    "strings"));
		}
	}

	if ((rf = json_get(root, "response_format")) != NULL) {
		type = json_get(rf, "type");
		if (!IS_TYPE(type, STRING))
			return (gerr(r, "response_format.type must be a "
			    "string"));
		if (strcmp(type->data.string, "json_object") == 0) {
			js_key(b, &first, "responseMimeType");
			json_str(b, "application/json");
		} else if (strcmp(type->data.string, "json_schema") == 0) {
			js = json_get(rf, "json_schema");
			schema = json_get(js, "schema");
			if (!IS_TYPE(js, OBJECT) || (schema != NULL &&
			    schema->type != KORE_JSON_TYPE_OBJECT))
				return (gerr(r, "response_format.json_schema "
				    "must be an object with an object schema"));
			js_key(b, &first, "responseMimeType");
			json_str(b, "application/json");
			if (schema != NULL) {
				js_key(b, &first, "responseSchema");
				schema_emit(b, schema);
			}
		} else if (strcmp(type->data.string, "text") != 0) {
			return (gerr(r, "response_format.type \"%s\" is not "
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
gemini_request_from_openai(const void *body, size_t len, const char *model,
    int stream, struct kore_buf *out, char *err, size_t errlen)
{
	struct kore_json	 j;
	struct kore_json_item	*root, *msgs, *m, *role, *v, *id, *name;
	struct kore_buf		 contents, sys, parts, text, gc;
	struct greq		 r;
	const char		*cur, *trole, *fname;
	char			 w[64];
	size_t			 k;
	int			 rc, i, nparts, nsys;

	(void)model;
	(void)stream;
	kore_buf_init(&contents, 1024);
	kore_buf_init(&sys, 256);
	kore_buf_init(&parts, 256);
	kore_buf_init(&text, 256);
	kore_buf_init(&gc, 128);
	cur = NULL;
	nsys = 0;
	rc = -1;

	if ((root = greq_parse(&r, &j, body, len, err, errlen)) == NULL)
		goto done;
	msgs = json_get(root, "messages");
	if (!IS_TYPE(msgs, ARRAY) || TAILQ_EMPTY(&msgs->data.items)) {
		(void)gerr(&r, "messages must be a non-empty array");
		goto done;
	}

	i = 0;
	TAILQ_FOREACH(m, &msgs->data.items, list) {
		(void)snprintf(w, sizeof(w), "messages[%d]", i++);
		if (m->type != KORE_JSON_TYPE_OBJECT) {
			(void)gerr(&r, "%s must be an object", w);
			goto done;
		}
		role = json_get(m, "role");
		if (!IS_TYPE(role, STRING)) {
			(void)gerr(&r, "%s.role must be a string", w);
			goto done;
		}
		kore_buf_reset(&parts);
		kore_buf_reset(&text);
		nparts = 0;
		trole = NULL;

		if (strcmp(role->data.string, "system") == 0 ||
		    strcmp(role->data.string, "developer") == 0) {
			if (text_of(&r, json_get(m, "content"), w, &text) == -1)
				goto done;
			if (text.offset == 0)
				continue;
			text_part(&sys, &nsys, text.data, text.offset);
			continue;
		} else if (strcmp(role->data.string, "user") == 0) {
			if (user_parts(&r, json_get(m, "content"), w, &parts,
			    &nparts) == -1)
				goto done;
			trole = "user";
		} else if (strcmp(role->data.string, "assistant") == 0) {
			if (assistant_parts(&r, m, w, &parts, &nparts) == -1)
				goto done;
			trole = "model";
		} else if (strcmp(role->data.string, "tool") == 0) {
			id = json_get(m, "tool_call_id");
			if (!IS_TYPE(id, STRING)) {
				(void)gerr(&r, "%s.tool_call_id must be a "
				    "string", w);
				goto done;
			}
			fname = NULL;
			for (k = r.ncalls; k > 0; k--) {
				if (strcmp(r.calls[k - 1].id,
				    id->data.string) == 0) {
					fname = r.calls[k - 1].name;
					break;
				}
			}
			if (fname == NULL) {
				(void)gerr(&r, "%s.tool_call_id \"%.64s\" "
				    "answers no earlier tool call", w,
				    id->data.string);
				goto done;
			}
			if (text_of(&r, json_get(m, "content"), w, &text) == -1)
				goto done;
			kore_buf_stringify(&text, NULL);
			function_response_part(fname,
			    (const char *)text.data, &parts, &nparts);
			trole = "user";
		} else if (strcmp(role->data.string, "function") == 0) {
			name = json_get(m, "name");
			if (!IS_TYPE(name, STRING)) {
				(void)gerr(&r, "%s.name must be a string", w);
				goto done;
			}
			if (text_of(&r, json_get(m, "content"), w, &text) == -1)
				goto done;
			kore_buf_stringify(&text, NULL);
			function_response_part(name->data.string,
			    (const char *)text.data, &parts, &nparts);
			trole = "user";
		} else {
			(void)gerr(&r, "%s.role \"%.32s\" is not one of "
			    "system, developer, user, assistant, tool", w,
			    role->data.string);
			goto done;
		}
		if (nparts > 0)
			turn_add(&contents, &cur, trole, &parts);
	}
	if (cur == NULL) {
		(void)gerr(&r, "messages must hold a user or assistant "
		    "message with content");
		goto done;
	}
	LIT(&contents, "]}");

	kore_buf_reset(&parts);
	if ((v = json_get(root, "tools")) != NULL && IS_TYPE(v, ARRAY) &&
	    TAILQ_EMPTY(&v->data.items))
		v = NULL;
	if (v != NULL) {
		LIT(&parts, ",");
		if (tools_emit(&r, v, &parts) == -1)
			goto done;
		if ((v = json_get(root, "tool_choice")) != NULL &&
		    tool_choice_emit(&r, v, &parts) == -1)
			goto done;
	} else if ((v = json_get(root, "tool_choice")) != NULL &&
	    v->type != KORE_JSON_TYPE_STRING &&
	    v->type != KORE_JSON_TYPE_OBJECT) {
		(void)gerr(&r, "tool_choice must be a string or an object");
		goto done;
	}
	if (generation_config(&r, root, &gc) == -1)
		goto done;

	LIT(out, "{\"contents\":[");
	kore_buf_append(out, contents.data, contents.offset);
	LIT(out, "]");
	if (nsys > 0) {
		LIT(out, ",\"systemInstruction\":{\"parts\":[");
		kore_buf_append(out, sys.data, sys.offset);
		LIT(out, "]}");
	}
	kore_buf_append(out, parts.data, parts.offset);
	if (gc.offset > 0) {
		LIT(out, ",\"generationConfig\":{");
		kore_buf_append(out, gc.data, gc.offset);
		LIT(out, "}");
	}
	LIT(out, "}");
	rc = 0;

done:
	kore_json_cleanup(&j);
	kore_buf_cleanup(&contents);
	kore_buf_cleanup(&sys);
	kore_buf_cleanup(&parts);
	kore_buf_cleanup(&text);
	kore_buf_cleanup(&gc);
	kore_free(r.calls);
	return (rc);
}

static void
gparts_init(struct gparts *g)
{
	kore_buf_init(&g->text, 256);
	kore_buf_init(&g->thought, 64);
	kore_buf_init(&g->calls, 64);
	g->ncalls = 0;
	g->ends = NULL;
}

static void
gparts_cleanup(struct gparts *g)
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
static void
gparts_read(struct kore_json_item *cand, struct gparts *g, int indexed,
    int index_base)
{
	struct kore_json_item	*parts, *p, *v, *fc, *name, *args, *th, *sig;
	struct kore_buf		 a;
	char			 id[40];

	parts = json_get(json_get(cand, "content"), "parts");
	if (!IS_TYPE(parts, ARRAY))
		return;
	TAILQ_FOREACH(p, &parts->data.items, list) {
		if ((v = json_get(p, "text")) != NULL &&
		    v->type == KORE_JSON_TYPE_STRING) {
			th = json_get(p, "thought");
			if (IS_TYPE(th, LITERAL) &&
			    th->data.literal == KORE_JSON_TRUE)
				kore_buf_appendf(&g->thought, "%s",
				    v->data.string);
			else
				kore_buf_appendf(&g->text, "%s",
				    v->data.string);
		}
		fc = json_get(p, "functionCall");
		name = json_get(fc, "name");
		if (!IS_TYPE(name, STRING))
			continue;
		args = json_get(fc, "args");
		kore_buf_init(&a, 64);
		if (args != NULL)
			json_value(&a, args);
		else
			LIT(&a, "{}");
		memcpy(id, "call_", 5);
		rand_hex(id + 5, 12);
		if (g->ncalls > 0)
			LIT(&g->calls, ",");
		LIT(&g->calls, "{");
		if (indexed)
			kore_buf_appendf(&g->calls, "\"index\":%d,",
			    index_base + g->ncalls);
		kore_buf_appendf(&g->calls, "\"id\":\"%s", id);
		sig = json_get(p, "thoughtSignature");
		if (IS_TYPE(sig, STRING) && sig_ok(sig->data.string)) {
			LIT(&g->calls, THOUGHT_SEP);
			sig_to_id(&g->calls, sig->data.string);
		}
		LIT(&g->calls, "\",\"type\":\"function\",\"function\":{\"name\":");
		json_str(&g->calls, name->data.string);
		LIT(&g->calls, ",\"arguments\":");
		json_strn(&g->calls, (const char *)a.data, a.offset);
		LIT(&g->calls, "}}");
		kore_buf_cleanup(&a);
		g->ends = kore_realloc(g->ends,
		    (g->ncalls + 1) * sizeof(*g->ends));
		g->ends[g->ncalls++] = g->calls.offset;
	}
}

/* Gemini's finishReason as OpenAI's finish_reason. */
static const char *
finish_reason(const char *r, int has_calls)
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

/* A token count: 0 unless a sane non-negative integer. */
static int64_t
tokens(struct kore_json_item *it)
{
	int64_t	n;

	if (json_int(it, &n) == -1 || n < 0 || n > ((int64_t)1 << 48))
		return (0);
	return (n);
}

/*
 * usageMetadata into u (thoughts count as completion, tool-use prompt
 * tokens as prompt), with the total and the details. 1 if present.
 */
static int
usage_read(struct kore_json_item *root, struct xlate_usage *u,
    int64_t *total, int64_t *cached, int64_t *thoughts, int64_t *tooluse)
{
	struct kore_json_item	*um;
	int64_t			 prompt, cand;

	um = json_get(root, "usageMetadata");
	if (!IS_TYPE(um, OBJECT))
		return (0);
	prompt = tokens(json_get(um, "promptTokenCount"));
	cand = tokens(json_get(um, "candidatesTokenCount"));
	*thoughts = tokens(json_get(um, "thoughtsTokenCount"));
	*cached = tokens(json_get(um, "cachedContentTokenCount"));
	*tooluse = tokens(json_get(um, "toolUsePromptTokenCount"));
	u->prompt_tokens = prompt + *tooluse;
	u->completion_tokens = cand + *thoughts;
	if ((*total = tokens(json_get(um, "totalTokenCount"))) == 0)
		*total = u->prompt_tokens + u->completion_tokens;
	return (1);
}

/* The error object of an error body ({"error":{}}, or in an array). */
static struct kore_json_item *
error_object(struct kore_json_item *root)
{
	struct kore_json_item	*e;

	if (root->type == KORE_JSON_TYPE_ARRAY &&
	    (root = TAILQ_FIRST(&root->data.items)) == NULL)
		return (NULL);
	e = json_get(root, "error");
	return (IS_TYPE(e, OBJECT) ? e : NULL);
}

/*
 * A whole GenerateContentResponse as a chat.completion for model: one
 * choice per candidate, usage filled from usageMetadata (-1 where not
 * reported). -1 when the body is not a GenerateContentResponse.
 */
int
gemini_response_to_openai(const void *body, size_t len, const char *model,
    struct kore_buf *out, struct xlate_usage *usage)
{
	struct kore_json	 j;
	struct kore_json_item	*root, *cands, *c, *fb, *br, *fr, *idx, *rid;
	struct xlate_usage	 u;
	struct gparts		 g;
	int64_t			 total, cached, thoughts, tooluse, n;
	char			 hex[33];
	int			 rc, i, has_usage;

	rc = -1;
	u.prompt_tokens = u.completion_tokens = -1;
	kore_json_init(&j, body, len);
	if (!kore_json_parse(&j) || j.root->type != KORE_JSON_TYPE_OBJECT)
		goto done;
	root = j.root;
	cands = json_get(root, "candidates");
	fb = json_get(root, "promptFeedback");
	if (cands != NULL && cands->type != KORE_JSON_TYPE_ARRAY)
		goto done;
	if (cands == NULL && !IS_TYPE(fb, OBJECT))
		goto done;
	if (error_object(root) != NULL)
		goto done;
	has_usage = usage_read(root, &u, &total, &cached, &thoughts,
	    &tooluse);

	LIT(out, "{\"id\":");
	rid = json_get(root, "responseId");
	if (IS_TYPE(rid, STRING) && id_ok(rid->data.string, 48)) {
		kore_buf_appendf(out, "\"chatcmpl-%s\"", rid->data.string);
	} else {
		rand_hex(hex, 12);
		kore_buf_appendf(out, "\"chatcmpl-%s\"", hex);
	}
	kore_buf_appendf(out, ",\"object\":\"chat.completion\",\"created\":%lld,"
	    "\"model\":", (long long)time(NULL));
	json_str(out, model);
	LIT(out, ",\"choices\":[");

	i = 0;
	if (cands != NULL) {
		TAILQ_FOREACH(c, &cands->data.items, list) {
			if (c->type != KORE_JSON_TYPE_OBJECT)
				continue;
			gparts_init(&g);
			gparts_read(c, &g, 0, 0);
			fr = json_get(c, "finishReason");
			idx = json_get(c, "index");
			if (json_int(idx, &n) == -1 || n < 0 || n > 1000)
				n = i;
			if (i > 0)
				LIT(out, ",");
			kore_buf_appendf(out, "{\"index\":%" PRId64 ",\"message\":"
			    "{\"role\":\"assistant\",\"content\":", n);
			if (g.text.offset == 0 && g.ncalls > 0)
				LIT(out, "null");
			else
				json_strn(out, (const char *)g.text.data,
				    g.text.offset);
			if (g.thought.offset > 0) {
				LIT(out, ",\"reasoning_content\":");
				json_strn(out, (const char *)g.thought.data,
				    g.thought.offset);
			}
			if (g.ncalls > 0) {
				LIT(out, ",\"tool_calls\":[");
				kore_buf_append(out, g.calls.data,
				    g.calls.offset);
				LIT(out, "]");
			}
			kore_buf_appendf(out, "},\"logprobs\":null,"
			    "\"finish_reason\":\"%s\"}", finish_reason(
			    IS_TYPE(fr, STRING) ? fr->data.string : NULL,
			    g.ncalls > 0));
			gparts_cleanup(&g);
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
	LIT(out, "]");
	if (has_usage) {
		kore_buf_appendf(out, ",\"usage\":{\"prompt_tokens\":%" PRId64
		    ",\"completion_tokens\":%" PRId64 ",\"total_tokens\":%"
		    PRId64 ",\"prompt_tokens_details\":{\"cached_tokens\":%"
		    PRId64 "},\"completion_tokens_details\":"
		    "{\"reasoning_tokens\":%" PRId64 "}}", u.prompt_tokens,
		    u.completion_tokens, total, cached, thoughts);
	}
	LIT(out, "}");
	rc = 0;

done:
	kore_json_cleanup(&j);
	if (usage != NULL)
		*usage = u;
	return (rc);
}

/* "data: {" ... up to and including "\"choices\":[". */
static void
chunk_begin(struct xlate_stream *st, struct kore_buf *out)
{
	LIT(out, "data: {\"id\":");
	json_str(out, st->id);
	kore_buf_appendf(out, ",\"object\":\"chat.completion.chunk\","
	    "\"created\":%lld,\"model\":", (long long)st->created);
	json_str(out, st->model);
	LIT(out, ",\"choices\":[");
}

static void
chunk_usage(struct xlate_stream *st, struct kore_buf *out)
{
	chunk_begin(st, out);
	kore_buf_appendf(out, "],\"usage\":{\"prompt_tokens\":%" PRId64
	    ",\"completion_tokens\":%" PRId64 ",\"total_tokens\":%" PRId64
	    "}}\n\n", st->usage.prompt_tokens, st->usage.completion_tokens,
	    st->usage.prompt_tokens + st->usage.completion_tokens);
}

static void
stream_finish_chunk(struct xlate_stream *st, int64_t index, const char *why,
    struct kore_buf *out)
{
	chunk_begin(st, out);
	kore_buf_appendf(out, "{\"index\":%" PRId64 ",\"delta\":{},"
	    "\"logprobs\":null,\"finish_reason\":\"%s\"}]}\n\n", index, why);
	(void)snprintf(st->finish, sizeof(st->finish), "%s", why);
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
	struct gparts		 g;
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
	if ((e = error_object(root)) != NULL) {
		msg = json_get(e, "message");
		(void)snprintf(st->err, sizeof(st->err), "%s",
		    IS_TYPE(msg, STRING) && msg->data.string[0] != '\0' ?
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
			if (IS_TYPE(rid, STRING) && id_ok(rid->data.string,
			    sizeof(st->id) - 10)) {
				(void)snprintf(st->id, sizeof(st->id),
				    "chatcmpl-%s", rid->data.string);
			} else {
				rand_hex(hex, 12);
				(void)snprintf(st->id, sizeof(st->id),
				    "chatcmpl-%s", hex);
			}
		}
		chunk_begin(st, out);
		LIT(out, "{\"index\":0,\"delta\":{\"role\":"
		    "\"assistant\",\"content\":\"\"},\"logprobs\":null,"
		    "\"finish_reason\":null}]}\n\n");
		st->started = 1;
	}

	has_usage = usage_read(root, &u, &total, &cached, &thoughts, &tooluse);
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
			gparts_init(&g);
			gparts_read(c, &g, 1, st->ntools);
			if (g.thought.offset > 0) {
				chunk_begin(st, out);
				kore_buf_appendf(out, "{\"index\":%" PRId64
				    ",\"delta\":{\"reasoning_content\":", n);
				json_strn(out, (const char *)g.thought.data,
				    g.thought.offset);
				LIT(out, "},\"logprobs\":null,"
				    "\"finish_reason\":null}]}\n\n");
			}
			if (g.text.offset > 0) {
				chunk_begin(st, out);
				kore_buf_appendf(out, "{\"index\":%" PRId64
				    ",\"delta\":{\"content\":", n);
				json_strn(out, (const char *)g.text.data,
				    g.text.offset);
				LIT(out, "},\"logprobs\":null,"
				    "\"finish_reason\":null}]}\n\n");
			}
			/* Gemini sends calls whole: one chunk per call. */
			for (k = 0; k < g.ncalls; k++) {
				start = k == 0 ? 0 : g.ends[k - 1] + 1;
				chunk_begin(st, out);
				kore_buf_appendf(out, "{\"index\":%" PRId64
				    ",\"delta\":{\"tool_calls\":[", n);
				kore_buf_append(out, g.calls.data + start,
				    g.ends[k] - start);
				LIT(out, "]},\"logprobs\":null,"
				    "\"finish_reason\":null}]}\n\n");
			}
			st->ntools += g.ncalls;
			gparts_cleanup(&g);
			fr = json_get(c, "finishReason");
			if (IS_TYPE(fr, STRING) && fr->data.string[0] != '\0') {
				stream_finish_chunk(st, n, finish_reason(
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
		chunk_usage(st, out);
	rc = 0;

done:
	kore_json_cleanup(&j);
	return (rc);
}

/*
 * Anthropic content (a string or an array of blocks) as Gemini parts:
 * text, images and documents (base64 or URL), tool_use as functionCall
 * and tool_result as functionResponse. Thinking and server-tool blocks
 * are left out.
 */
static int
anthropic_blocks(struct greq *r, struct kore_json_item *content,
    const char *where, struct kore_buf *parts, int *nparts)
{
	struct kore_json_item	*b, *type, *v, *src, *st, *id, *name, *mt;
	struct kore_buf		 text;
	const char		*fname;
	char			 w[96];
	size_t			 k;
	int			 i, rc;

	if (content == NULL)
		return (gerr(r, "%s.content is missing", where));
	if (content->type == KORE_JSON_TYPE_STRING) {
		if (content->data.string[0] == '\0')
			return (0);
		text_part(parts, nparts, content->data.string,
		    strlen(content->data.string));
		return (0);
	}
	if (content->type != KORE_JSON_TYPE_ARRAY)
		return (gerr(r, "%s.content must be a string or an array",
		    where));
	i = 0;
	TAILQ_FOREACH(b, &content->data.items, list) {
		(void)snprintf(w, sizeof(w), "%s.content[%d]", where, i++);
		type = json_get(b, "type");
		if (!IS_TYPE(type, STRING))
			return (gerr(r, "%s.type must be a string", w));
		if (strcmp(type->data.string, "text") == 0) {
			v = json_get(b, "text");
			if (!IS_TYPE(v, STRING))
				return (gerr(r, "%s.text must be a string", w));
			if (v->data.string[0] == '\0')
				continue;
			text_part(parts, nparts, v->data.string,
			    strlen(v->data.string));
		} else if (strcmp(type->data.string, "image") == 0 ||
		    strcmp(type->data.string, "document") == 0) {
			src = json_get(b, "source");
			st = json_get(src, "type");
			if (!IS_TYPE(st, STRING))
				return (gerr(r, "%s.source.type must be a "
				    "string", w));
			if (strcmp(st->data.string, "base64") == 0) {
				v = json_get(src, "data");
				mt = json_get(src, "media_type");
				if (!IS_TYPE(v, STRING) || !IS_TYPE(mt, STRING))
					return (gerr(r, "%s.source needs data "
					    "and media_type strings", w));
				inline_part(parts, nparts, mt->data.string,
				    v->data.string);
			} else if (strcmp(st->data.string, "url") == 0) {
				v = json_get(src, "url");
				if (!IS_TYPE(v, STRING))
					return (gerr(r, "%s.source.url must be "
					    "a string", w));
				part_sep(parts, nparts);
				if (media_part(r, parts, v->data.string, NULL,
				    w) == -1)
					return (-1);
			} else if (strcmp(st->data.string, "text") == 0) {
				v = json_get(src, "data");
				if (!IS_TYPE(v, STRING))
					return (gerr(r, "%s.source.data must be "
					    "a string", w));
				text_part(parts, nparts, v->data.string,
				    strlen(v->data.string));
			} else {
				return (gerr(r, "%s.source.type \"%.32s\" is not "
				    "supported", w, st->data.string));
			}
		} else if (strcmp(type->data.string, "tool_use") == 0) {
			id = json_get(b, "id");
			name = json_get(b, "name");
			v = json_get(b, "input");
			if (!IS_TYPE(id, STRING) || !IS_TYPE(name, STRING))
				return (gerr(r, "%s needs id and name strings",
				    w));
			if (v != NULL && v->type != KORE_JSON_TYPE_OBJECT)
				return (gerr(r, "%s.input must be an object",
				    w));
			calls_grow(r);
			r->calls[r->ncalls].name = name->data.string;
			if (function_call_part(r, id->data.string, v, w, parts,
			    nparts) == -1)
				return (-1);
		} else if (strcmp(type->data.string, "tool_result") == 0) {
			id = json_get(b, "tool_use_id");
			if (!IS_TYPE(id, STRING))
				return (gerr(r, "%s.tool_use_id must be a "
				    "string", w));
			fname = NULL;
			for (k = r->ncalls; k > 0; k--) {
				if (strcmp(r->calls[k - 1].id,
				    id->data.string) == 0) {
					fname = r->calls[k - 1].name;
					break;
				}
			}
			if (fname == NULL)
				return (gerr(r, "%s.tool_use_id \"%.64s\" answers "
				    "no earlier tool_use", w, id->data.string));
			/* Only the text of a result counts here. */
			kore_buf_init(&text, 64);
			v = json_get(b, "content");
			rc = 0;
			if (IS_TYPE(v, ARRAY)) {
				TAILQ_FOREACH(src, &v->data.items, list) {
					st = json_get(src, "text");
					if (IS_TYPE(st, STRING))
						kore_buf_appendf(&text, "%s",
						    st->data.string);
				}
			} else if (IS_TYPE(v, STRING)) {
				kore_buf_appendf(&text, "%s", v->data.string);
			} else if (v != NULL) {
				rc = gerr(r, "%s.content must be a string or an "
				    "array", w);
			}
			if (rc == 0) {
				kore_buf_stringify(&text, NULL);
				function_response_part(fname,
				    (const char *)text.data, parts, nparts);
			}
			kore_buf_cleanup(&text);
			if (rc == -1)
				return (-1);
		}
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
gemini_count_request(const void *body, size_t len, struct kore_buf *out,
    char *err, size_t errlen)
{
	struct kore_json	 j;
	struct kore_json_item	*root, *msgs, *m, *role, *sys, *tools, *t;
	struct kore_json_item	*name, *desc, *schema;
	struct kore_buf		 contents, parts, decl;
	struct greq		 r;
	const char		*cur, *trole;
	char			 w[64];
	int			 rc, i, nparts;

	kore_buf_init(&contents, 1024);
	kore_buf_init(&parts, 256);
	kore_buf_init(&decl, 256);
	cur = NULL;
	rc = -1;

	if ((root = greq_parse(&r, &j, body, len, err, errlen)) == NULL)
		goto done;
	msgs = json_get(root, "messages");
	if (!IS_TYPE(msgs, ARRAY)) {
		(void)gerr(&r, "messages must be an array");
		goto done;
	}

	nparts = 0;
	if ((sys = json_get(root, "system")) != NULL &&
	    anthropic_blocks(&r, sys, "system", &parts, &nparts) == -1) {
		/* The message names .content; say system instead. */
		(void)gerr(&r, "system must be a string or an array of text "
		    "blocks");
		goto done;
	}
	if ((tools = json_get(root, "tools")) != NULL) {
		if (tools->type != KORE_JSON_TYPE_ARRAY) {
			(void)gerr(&r, "tools must be an array");
			goto done;
		}
		i = 0;
		TAILQ_FOREACH(t, &tools->data.items, list) {
			name = json_get(t, "name");
			desc = json_get(t, "description");
			schema = json_get(t, "input_schema");
			if (!IS_TYPE(name, STRING)) {
				(void)gerr(&r, "tools[%d].name must be a "
				    "string", i);
				goto done;
			}
			kore_buf_append(&decl, i++ ? "," : "[", 1);
			LIT(&decl, "{\"name\":");
			json_str(&decl, name->data.string);
			if (IS_TYPE(desc, STRING)) {
				LIT(&decl, ",\"description\":");
				json_str(&decl, desc->data.string);
			}
			if (IS_TYPE(schema, OBJECT) && schema_nonempty(schema)) {
				LIT(&decl, ",\"parameters\":");
				schema_emit(&decl, schema);
			}
			LIT(&decl, "}");
		}
		if (i > 0) {
			LIT(&decl, "]");
			text_part(&parts, &nparts, decl.data, decl.offset);
		}
	}
	if (nparts > 0)
		turn_add(&contents, &cur, "user", &parts);

	i = 0;
	TAILQ_FOREACH(m, &msgs->data.items, list) {
		(void)snprintf(w, sizeof(w), "messages[%d]", i++);
		role = json_get(m, "role");
		if (!IS_TYPE(role, STRING)) {
			(void)gerr(&r, "%s.role must be a string", w);
			goto done;
		}
		if (strcmp(role->data.string, "user") == 0) {
			trole = "user";
		} else if (strcmp(role->data.string, "assistant") == 0) {
			trole = "model";
		} else {
			(void)gerr(&r, "%s.role must be \"user\" or "
			    "\"assistant\"", w);
			goto done;
		}
		kore_buf_reset(&parts);
		nparts = 0;
		if (anthropic_blocks(&r, json_get(m, "content"), w, &parts,
		    &nparts) == -1)
			goto done;
		if (nparts > 0)
			turn_add(&contents, &cur, trole, &parts);
	}
	if (cur == NULL) {
		(void)gerr(&r, "messages must hold some content");
		goto done;
	}
	LIT(&contents, "]}");
	LIT(out, "{\"contents\":[");
	kore_buf_append(out, contents.data, contents.offset);
	LIT(out, "]}");
	rc = 0;

done:
	kore_json_cleanup(&j);
	kore_buf_cleanup(&contents);
	kore_buf_cleanup(&parts);
	kore_buf_cleanup(&decl);
	kore_free(r.calls);
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
	if (kore_json_parse(&j) && (e = error_object(j.root)) != NULL &&
	    IS_TYPE((details = json_get(e, "details")), ARRAY)) {
		TAILQ_FOREACH(d, &details->data.items, list) {
			reason = json_get(d, "reason");
			if (IS_TYPE(reason, STRING) &&
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
	e = parsed ? error_object(j.root) : NULL;
	msg = json_get(e, "message");
	gs = json_get(e, "status");
	if (gemini_error_status(status, body, len) == 401)
		gs = NULL, status = 401;

	type = NULL;
	code = NULL;
	for (i = 0; map[i].gemini != NULL; i++) {
		if (IS_TYPE(gs, STRING) &&
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

	LIT(out, "{\"error\":{\"message\":");
	if (IS_TYPE(msg, STRING) && msg->data.string[0] != '\0')
		json_str(out, msg->data.string);
	else
		kore_buf_appendf(out, "\"the Gemini upstream answered HTTP "
		    "%d\"", status);
	kore_buf_appendf(out, ",\"type\":\"%s\",\"param\":null,\"code\":", type);
	if (code != NULL)
		kore_buf_appendf(out, "\"%s\"}}", code);
	else
		LIT(out, "null}}");
	kore_json_cleanup(&j);
}
