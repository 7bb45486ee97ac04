/*
 * libFuzzer harness of src/json_scan.c, the scanner of client request
 * bodies and upstream JSON. Arbitrary bytes go into json_scan_object();
 * every member's key and value are decoded, numbers read, objects
 * scanned again recursively, and each result is checked against what
 * the scanner promises. json_scan_valid() is compared with an
 * independent recursive-descent checker written here from RFC 8259.
 * A broken promise calls abort(), which libFuzzer reports as a crash.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

#include "fuzz.h"

/* The reference checker: a cursor over the bytes and the nesting depth. */
struct ref {
	const uint8_t	*p;
	size_t		 i;
	size_t		 n;
	int		 depth;
};

static int	ref_value(struct ref *);

static int
ref_peek(struct ref *r)
{
	return (r->i < r->n ? r->p[r->i] : -1);
}

static void
ref_ws(struct ref *r)
{
	int	c;

	while ((c = ref_peek(r)) == ' ' || c == '\t' || c == '\n' ||
	    c == '\r')
		r->i++;
}

/*
 * Length of the UTF-8 sequence at p[0..n) (1 to 4) or 0 when it is not
 * one well-formed sequence (Unicode 15, table 3-7).
 */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
	uint8_t	lo, hi;
	size_t	len, i;

	if (n == 0)
		return (0);
	if (p[0] < 0x80)
		return (1);
	lo = 0x80;
	hi = 0xbf;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return (0);
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return (0);
	for (i = 2; i < len; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return (0);
	}
	return (len);
}

static int
ref_string(struct ref *r)
{
	size_t	k, l;
	int	c;

	if (ref_peek(r) != '"')
		return (0);
	r->i++;
	for (;;) {
		if ((c = ref_peek(r)) < 0 || c < 0x20)
			return (0);
		if (c == '"') {
			r->i++;
			return (1);
		}
		if (c == '\\') {
			r->i++;
			c = ref_peek(r);
			if (c <= 0 || strchr("\"\\/bfnrtu", c) == NULL)
				return (0);
			r->i++;
			if (c == 'u') {
				for (k = 0; k < 4; k++) {
					c = ref_peek(r);
					if (c <= 0 || strchr("0123456789"
					    "abcdefABCDEF", c) == NULL)
						return (0);
					r->i++;
				}
			}
			continue;
		}
		if ((l = utf8_len(r->p + r->i, r->n - r->i)) == 0)
			return (0);
		r->i += l;
	}
}

static int
ref_digits(struct ref *r)
{
	size_t	start;
	int	c;

	start = r->i;
	while ((c = ref_peek(r)) >= '0' && c <= '9')
		r->i++;
	return (r->i > start);
}

static int
ref_number(struct ref *r)
{
	int	c;

	if (ref_peek(r) == '-')
		r->i++;
	if (ref_peek(r) == '0')
		r->i++;
	else if ((c = ref_peek(r)) >= '1' && c <= '9')
		ref_digits(r);
	else
		return (0);
	if (ref_peek(r) == '.') {
		r->i++;
		if (!ref_digits(r))
			return (0);
	}
	if ((c = ref_peek(r)) == 'e' || c == 'E') {
		r->i++;
		if ((c = ref_peek(r)) == '+' || c == '-')
			r->i++;
		if (!ref_digits(r))
			return (0);
	}
	return (1);
}

static int
ref_word(struct ref *r, const char *w)
{
	size_t	l;

	l = strlen(w);
	if (r->n - r->i < l || memcmp(r->p + r->i, w, l) != 0)
		return (0);
	r->i += l;
	return (1);
}

/* An object or array: open, close, and whether members have keys. */
static int
ref_container(struct ref *r, int open, int close, int keyed)
{
	if (ref_peek(r) != open || ++r->depth > JSON_SCAN_DEPTH_MAX)
		return (0);
	r->i++;
	ref_ws(r);
	if (ref_peek(r) == close) {
		r->i++;
		r->depth--;
		return (1);
	}
	for (;;) {
		ref_ws(r);
		if (keyed) {
			if (!ref_string(r))
				return (0);
			ref_ws(r);
			if (ref_peek(r) != ':')
				return (0);
			r->i++;
		}
		if (!ref_value(r))
			return (0);
		ref_ws(r);
		if (ref_peek(r) == ',') {
			r->i++;
			continue;
		}
		if (ref_peek(r) != close)
			return (0);
		r->i++;
		r->depth--;
		return (1);
	}
}

static int
ref_value(struct ref *r)
{
	ref_ws(r);
	switch (ref_peek(r)) {
	case '{':
		return (ref_container(r, '{', '}', 1));
	case '[':
		return (ref_container(r, '[', ']', 0));
	case '"':
		return (ref_string(r));
	case 't':
		return (ref_word(r, "true"));
	case 'f':
		return (ref_word(r, "false"));
	case 'n':
		return (ref_word(r, "null"));
	default:
		return (ref_number(r));
	}
}

static int
ref_valid(const uint8_t *p, size_t n)
{
	struct ref	r;

	r.p = p;
	r.i = 0;
	r.n = n;
	r.depth = 0;
	if (!ref_value(&r))
		return (0);
	ref_ws(&r);
	return (r.i == n);
}

/* out[0..len) is valid UTF-8 without NUL and out[len] is NUL. */
static void
check_decoded(const char *out, int len)
{
	const uint8_t	*p;
	size_t		 i, l;

	CHECK(len >= 0);
	CHECK(out[len] == '\0');
	CHECK(strlen(out) == (size_t)len);
	p = (const uint8_t *)out;
	for (i = 0; i < (size_t)len; i += l)
		CHECK((l = utf8_len(p + i, (size_t)len - i)) != 0);
}

/*
 * Decode the key (key != 0) or value of m with a buffer that is always
 * large enough and with a small one of size small; the small one must
 * succeed exactly when the string fits in it, with the same result.
 */
static void
check_string(const uint8_t *data, const struct json_member *m, int key,
    size_t small)
{
	char	*big, *sm;
	size_t	 biglen, raw;
	int	 rb, rs;

	raw = key ? m->key_len : m->value_len;
	biglen = raw + 1;
	CHECK((big = malloc(biglen)) != NULL);
	CHECK((sm = malloc(small ? small : 1)) != NULL);

	rb = json_scan_string(data, m, key, big, biglen);
	if (rb >= 0) {
		check_decoded(big, rb);
		CHECK((size_t)rb + 2 <= raw);
	} else {
		CHECK(big[0] == '\0');
	}
	if (key)
		CHECK(data[m->key] == '"');
	if (key || m->type == JSON_STRING) {
		CHECK(raw >= 2 && data[key ? m->key : m->value] == '"');
	} else {
		CHECK(rb == -1);
	}

	rs = json_scan_string(data, m, key, sm, small);
	if (rb >= 0 && (size_t)rb < small) {
		CHECK(rs == rb);
		CHECK(memcmp(sm, big, (size_t)rb + 1) == 0);
	} else {
		CHECK(rs == -1);
		CHECK(small == 0 || sm[0] == '\0');
	}

	free(big);
	free(sm);
}

static void
check_uint(const uint8_t *data, const struct json_member *m)
{
	long long	v, want;
	size_t		i;
	int		digits;

	v = json_scan_uint(data, m);
	digits = m->type == JSON_NUMBER && m->value_len > 0 &&
	    m->value_len <= 18;
	for (i = 0; digits && i < m->value_len; i++) {
		if (data[m->value + i] < '0' || data[m->value + i] > '9')
			digits = 0;
	}
	if (!digits) {
		CHECK(v == -1);
		return;
	}
	want = 0;
	for (i = 0; i < m->value_len; i++)
		want = want * 10 + (data[m->value + i] - '0');
	CHECK(v == want);
}

static int
type_of(uint8_t c)
{
	switch (c) {
	case '{':
		return (JSON_OBJECT);
	case '[':
		return (JSON_ARRAY);
	case '"':
		return (JSON_STRING);
	case 't':
		return (JSON_TRUE);
	case 'f':
		return (JSON_FALSE);
	case 'n':
		return (JSON_NULL);
	default:
		return (JSON_NUMBER);
	}
}

/* Scan data[0..len) as an object and check everything about it. */
static void
check_object(const uint8_t *data, size_t len, size_t small, int depth)
{
	struct json_member		*m;
	const struct json_member	*f;
	char				 key[64];
	size_t				 max, obj_end, i, prev, first;
	int				 n, k, valid, want;

	/* Each member takes at least 4 bytes ("":0), so max never binds. */
	max = len / 4 + 1;
	CHECK((m = calloc(max, sizeof(*m))) != NULL);

	valid = json_scan_valid(data, len);
	CHECK(valid == ref_valid(data, len));
	for (first = 0; first < len && (data[first] == ' ' ||
	    data[first] == '\t' || data[first] == '\n' ||
	    data[first] == '\r'); first++)
		;
	want = valid && first < len && data[first] == '{';

	obj_end = (size_t)-1;
	n = json_scan_object(data, len, m, (int)max, &obj_end);
	CHECK((n >= 0) == want);
	if (n < 0) {
		free(m);
		return;
	}
	CHECK(obj_end < len && data[obj_end] == '}');

	/* A limit of n members still fits; n - 1 does not. */
	if (n > 0) {
		struct json_member	*m2;
		size_t			 e2;

		CHECK((m2 = calloc((size_t)n, sizeof(*m2))) != NULL);
		CHECK(json_scan_object(data, len, m2, n, &e2) == n);
		CHECK(memcmp(m, m2, (size_t)n * sizeof(*m)) == 0);
		CHECK(json_scan_object(data, len, m2, n - 1, &e2) == -1);
		free(m2);
	}

	prev = first + 1;
	for (k = 0; k < n; k++) {
		/* Spans are in order, inside the object, not overlapping. */
		CHECK(m[k].key >= prev);
		CHECK(m[k].key_len >= 2);
		CHECK(m[k].key + m[k].key_len <= m[k].value);
		CHECK(m[k].value_len >= 1);
		CHECK(m[k].value + m[k].value_len <= obj_end);
		prev = m[k].value + m[k].value_len;
		CHECK(data[m[k].key] == '"');
		CHECK(data[m[k].key + m[k].key_len - 1] == '"');
		CHECK(m[k].type == type_of(data[m[k].value]));
		CHECK(json_scan_valid(data + m[k].key, m[k].key_len));
		CHECK(json_scan_valid(data + m[k].value, m[k].value_len));
		for (i = m[k].key + m[k].key_len; i < m[k].value; i++)
			CHECK(data[i] != '\0' &&
			    strchr(" \t\r\n:", data[i]) != NULL);

		check_string(data, &m[k], 1, small);
		check_string(data, &m[k], 0, small);
		check_uint(data, &m[k]);

		/* json_scan_find() returns the first member with this key. */
		if (json_scan_string(data, &m[k], 1, key, sizeof(key)) >= 0) {
			f = json_scan_find(data, m, n, key);
			CHECK(f != NULL && f <= &m[k]);
		}

		if (m[k].type == JSON_OBJECT && depth < JSON_SCAN_DEPTH_MAX)
			check_object(data + m[k].value, m[k].value_len,
			    small, depth + 1);
	}

	free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t	 small;
	uint8_t	*copy;

	/* The last byte, when there is one, picks the small buffer's size. */
	small = len > 0 ? data[len - 1] % 16 : 0;

	/* An exact-size copy, so ASan sees every read past the end. */
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, len);
	check_object(copy, len, small, 0);
	free(copy);

	return (0);
}
