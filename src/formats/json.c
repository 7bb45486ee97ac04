/*
 * JSON in the gateway, apart from the span scanner (json_scan.c): the one
 * writer, the helpers that read a kore_json tree, and the message of an
 * error body in any of the formats.
 *
 * Writing: strings go through json_str / json_strn (escaped, bytes that
 * are not UTF-8 replaced, so that whatever an upstream sent, what we
 * write is JSON), numbers through json_double, parsed values through
 * json_value, object members through json_key and json_kv_* (a comma
 * before each member but the first); the structure between them is
 * literal text appended with kore_buf_appendf. kore_json_item_tobuf is
 * never used: it neither escapes strings nor prints numbers exactly.
 *
 * Reading: kore_json parses; json_parse takes the body once and insists
 * on an object; json_get treats JSON null as absent.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "formats/formats.h"

struct kore_json_item *
json_get(const struct kore_json_item *obj, const char *name)
{
	struct kore_json_item	*it;

	if (obj == NULL || obj->type != KORE_JSON_TYPE_OBJECT)
		return (NULL);
	TAILQ_FOREACH(it, &obj->data.items, list) {
		if (it->name == NULL || strcmp(it->name, name) != 0)
			continue;
		if (it->type == KORE_JSON_TYPE_LITERAL &&
		    it->data.literal == KORE_JSON_NULL)
			return (NULL);
		return (it);
	}
	return (NULL);
}

/*
 * Parse data[0..len) into json, which must be an object. Returns 0, or -1
 * when it is no JSON or no object; kore_json_cleanup json either way.
 */
int
json_parse(struct kore_json *json, const void *data, size_t len)
{
	kore_json_init(json, data, len);
	if (data == NULL || len == 0)
		return (-1);
	if (kore_json_parse(json) != KORE_RESULT_OK)
		return (-1);
	if (json->root->type != KORE_JSON_TYPE_OBJECT)
		return (-1);
	return (0);
}

/* Is it there, and of kore_json type type? */
int
json_is(const struct kore_json_item *it, int type)
{
	return (it != NULL && it->type == (u_int32_t)type);
}

int
json_is_str(const struct kore_json_item *it)
{
	return (json_is(it, KORE_JSON_TYPE_STRING));
}

/* Is it an object whose member "type" is the string type? */
int
json_is_type(const struct kore_json_item *it, const char *type)
{
	const struct kore_json_item	*t;

	t = json_get(it, "type");
	return (json_is_str(t) && strcmp(t->data.string, type) == 0);
}

/* The first item of an array or object, or NULL. */
struct kore_json_item *
json_first(const struct kore_json_item *arr)
{
	if (arr == NULL || (arr->type != KORE_JSON_TYPE_ARRAY &&
	    arr->type != KORE_JSON_TYPE_OBJECT))
		return (NULL);
	return (TAILQ_FIRST(&arr->data.items));
}

/* Any JSON number as a double; -1 when it is not a number. */
int
json_num(const struct kore_json_item *it, double *out)
{
	if (it == NULL)
		return (-1);
	switch (it->type) {
	case KORE_JSON_TYPE_NUMBER:
		*out = it->data.number;
		return (0);
	case KORE_JSON_TYPE_INTEGER:
		*out = (double)it->data.s64;
		return (0);
	case KORE_JSON_TYPE_INTEGER_U64:
		*out = (double)it->data.u64;
		return (0);
	}
	return (-1);
}

/*
 * A JSON number with an integral value (1 and 1.0 alike) that fits an
 * int64_t; -1 otherwise.
 */
int
json_int(const struct kore_json_item *it, int64_t *out)
{
	if (it == NULL)
		return (-1);
	switch (it->type) {
	case KORE_JSON_TYPE_INTEGER:
		*out = it->data.s64;
		return (0);
	case KORE_JSON_TYPE_INTEGER_U64:
		if (it->data.u64 > INT64_MAX)
			return (-1);
		*out = (int64_t)it->data.u64;
		return (0);
	case KORE_JSON_TYPE_NUMBER:
		if (!(it->data.number > -9.2e18 && it->data.number < 9.2e18) ||
		    it->data.number != (double)(int64_t)it->data.number)
			return (-1);
		*out = (int64_t)it->data.number;
		return (0);
	}
	return (-1);
}

/* A token count, 0 to JSON_TOKENS_MAX; -1 for anything else. */
int
json_tokens(const struct kore_json_item *it, int64_t *out)
{
	int64_t	n;

	if (json_int(it, &n) == -1 || n < 0 || n > JSON_TOKENS_MAX)
		return (-1);
	*out = n;
	return (0);
}

int
json_bool(const struct kore_json_item *it, int *out)
{
	if (it == NULL || it->type != KORE_JSON_TYPE_LITERAL ||
	    it->data.literal == KORE_JSON_NULL)
		return (-1);
	*out = it->data.literal == KORE_JSON_TRUE;
	return (0);
}

void
json_str(struct kore_buf *buf, const char *s)
{
	if (s == NULL) {
		kore_buf_appendf(buf, "null");
		return;
	}
	json_strn(buf, s, strlen(s));
}

/*
 * s[0..len) as a JSON string: controls, quotes and backslashes escaped,
 * UTF-8 kept, bytes that are not UTF-8 replaced by U+FFFD, so that what
 * is written is always valid JSON whatever an upstream sent.
 */
void
json_strn(struct kore_buf *buf, const void *s, size_t len)
{
	const unsigned char	*p, *run;
	size_t			 i, n;
	u_int32_t		 cp;

	p = s;
	run = p;
	kore_buf_append(buf, "\"", 1);
	for (i = 0; i < len; i += n) {
		n = 1;
		if (p[i] >= 0x80 && (n = utf8_seq(p + i, len - i, &cp)) > 0)
			continue;
		if (p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
			continue;
		if (&p[i] > run)
			kore_buf_append(buf, run, (size_t)(&p[i] - run));
		n = 1;
		run = &p[i + 1];
		switch (p[i]) {
		case '"':
			kore_buf_append(buf, "\\\"", 2);
			break;
		case '\\':
			kore_buf_append(buf, "\\\\", 2);
			break;
		case '\n':
			kore_buf_append(buf, "\\n", 2);
			break;
		case '\r':
			kore_buf_append(buf, "\\r", 2);
			break;
		case '\t':
			kore_buf_append(buf, "\\t", 2);
			break;
		default:
			if (p[i] >= 0x80)
				kore_buf_append(buf, "\\ufffd", 6);
			else
				kore_buf_appendf(buf, "\\u%04x", p[i]);
			break;
		}
	}
	if (&p[len] > run)
		kore_buf_append(buf, run, (size_t)(&p[len] - run));
	kore_buf_append(buf, "\"", 1);
}

/*
 * A double as the shortest JSON number that reads back the same (0.7,
 * not 0.700000 nor 0.69999999999999996). Integral values print as
 * integers. NaN and infinities, which JSON lacks, print as 0.
 */
void
json_double(struct kore_buf *buf, double d)
{
	char	tmp[40];
	int	prec;

	if (d != d || d > DBL_MAX || d < -DBL_MAX) {
		kore_buf_appendf(buf, "0");
		return;
	}
	if (d > -1e15 && d < 1e15 && d == (double)(int64_t)d) {
		kore_buf_appendf(buf, "%.0f", d);
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		(void)snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	kore_buf_appendf(buf, "%s", tmp);
}

/* Any parsed JSON value, written back as JSON. */
void
json_value(struct kore_buf *buf, const struct kore_json_item *it)
{
	const struct kore_json_item	*c;
	int				 first;

	switch (it->type) {
	case KORE_JSON_TYPE_OBJECT:
	case KORE_JSON_TYPE_ARRAY:
		kore_buf_append(buf,
		    it->type == KORE_JSON_TYPE_OBJECT ? "{" : "[", 1);
		first = 1;
		TAILQ_FOREACH(c, &it->data.items, list) {
			if (!first)
				kore_buf_append(buf, ",", 1);
			first = 0;
			if (it->type == KORE_JSON_TYPE_OBJECT) {
				json_str(buf, c->name != NULL ? c->name : "");
				kore_buf_append(buf, ":", 1);
			}
			json_value(buf, c);
		}
		kore_buf_append(buf,
		    it->type == KORE_JSON_TYPE_OBJECT ? "}" : "]", 1);
		break;
	case KORE_JSON_TYPE_STRING:
		json_str(buf, it->data.string);
		break;
	case KORE_JSON_TYPE_NUMBER:
		json_double(buf, it->data.number);
		break;
	case KORE_JSON_TYPE_INTEGER:
		kore_buf_appendf(buf, "%" PRId64, it->data.s64);
		break;
	case KORE_JSON_TYPE_INTEGER_U64:
		kore_buf_appendf(buf, "%" PRIu64, it->data.u64);
		break;
	case KORE_JSON_TYPE_LITERAL:
		if (it->data.literal == KORE_JSON_TRUE)
			kore_buf_appendf(buf, "true");
		else if (it->data.literal == KORE_JSON_FALSE)
			kore_buf_appendf(buf, "false");
		else
			kore_buf_appendf(buf, "null");
		break;
	default:
		kore_buf_appendf(buf, "null");
		break;
	}
}

void
json_error_message(const void *body, size_t len, char *out, size_t outlen)
{
	struct kore_json	 json;
	struct kore_json_item	*root, *e, *m;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (body == NULL || len == 0)
		return;

	kore_json_init(&json, body, len);
	if (kore_json_parse(&json) != KORE_RESULT_OK)
		goto done;
	root = json.root;

	/* Gemini's streams answer errors as an array of one object. */
	if (root->type == KORE_JSON_TYPE_ARRAY)
		root = TAILQ_FIRST(&root->data.items);
	if (root == NULL || root->type != KORE_JSON_TYPE_OBJECT)
		goto done;

	m = NULL;
	if ((e = json_get(root, "error")) != NULL) {
		if (e->type == KORE_JSON_TYPE_STRING)
			m = e;
		else if (e->type == KORE_JSON_TYPE_OBJECT)
			m = json_get(e, "message");
	} else {
		m = json_get(root, "message");
	}
	if (m != NULL && m->type == KORE_JSON_TYPE_STRING)
		(void)snprintf(out, outlen, "%s", m->data.string);
done:
	kore_json_cleanup(&json);
}

/*
 * The comma before an item of a list being written, unless it is the
 * first; *n counts the items written so far.
 */
void
json_sep(struct kore_buf *buf, int *n)
{
	if ((*n)++ > 0)
		kore_buf_append(buf, ",", 1);
}

/* "key": preceded by a comma unless first. */
void
json_key(struct kore_buf *buf, const char *key, int first)
{
	if (!first)
		kore_buf_append(buf, ",", 1);
	json_str(buf, key);
	kore_buf_append(buf, ":", 1);
}

void
json_kv_str(struct kore_buf *buf, const char *key, const char *v, int first)
{
	json_key(buf, key, first);
	json_str(buf, v);
}

void
json_kv_int(struct kore_buf *buf, const char *key, int64_t v, int first)
{
	json_key(buf, key, first);
	kore_buf_appendf(buf, "%" PRId64, v);
}

void
json_kv_bool(struct kore_buf *buf, const char *key, int v, int first)
{
	json_key(buf, key, first);
	kore_buf_appendf(buf, v ? "true" : "false");
}

/* A timestamp as RFC 3339 UTC; 0 (never) becomes null. */
void
json_kv_time(struct kore_buf *buf, const char *key, int64_t v, int first)
{
	struct tm	tm;
	time_t		t;
	char		out[32];

	json_key(buf, key, first);
	if (v <= 0) {
		kore_buf_appendf(buf, "null");
		return;
	}

	t = (time_t)v;
	(void)gmtime_r(&t, &tm);
	(void)strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_str(buf, out);
}

