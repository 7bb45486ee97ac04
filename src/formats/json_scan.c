/*
 * A validating scanner of JSON objects that reports where each top-level
 * member lies in the original bytes, so that the proxy can read "model",
 * "stream" or "usage" and splice a changed value into a request without
 * re-serialising (and so altering) everything else the client sent.
 *
 * kore_json parses into a tree but keeps no byte positions, prints
 * numbers with %f and strings unescaped, and refuses \u escapes; this
 * scanner does none of that and allocates nothing. Pure C: unit tested
 * and fuzzed.
 */

#include <string.h>

#include "formats/formats.h"

struct scan {
	const unsigned char	*p;
	const unsigned char	*end;
	int			 depth;
};

static int	skip_ws(struct scan *);
static int	scan_value(struct scan *);
static int	scan_string(struct scan *);
static int	scan_number(struct scan *);
static int	scan_literal(struct scan *, const char *);
static int	scan_utf8(struct scan *);

static int
skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
	return (s->p < s->end);
}

/* One UTF-8 sequence starting at s->p (core's decoder). */
static int
scan_utf8(struct scan *s)
{
	u_int32_t	cp;
	size_t		n;

	if ((n = utf8_seq(s->p, (size_t)(s->end - s->p), &cp)) == 0)
		return (0);
	s->p += n;
	return (1);
}

static int
scan_string(struct scan *s)
{
	int	i;

	if (s->p >= s->end || *s->p != '"')
		return (0);
	s->p++;

	while (s->p < s->end) {
		if (*s->p == '"') {
			s->p++;
			return (1);
		}
		if (*s->p < 0x20)
			return (0);
		if (*s->p != '\\') {
			if (!scan_utf8(s))
				return (0);
			continue;
		}
		if (++s->p >= s->end)
			return (0);
		switch (*s->p) {
		case '"': case '\\': case '/': case 'b':
		case 'f': case 'n': case 'r': case 't':
			s->p++;
			break;
		case 'u':
			s->p++;
			for (i = 0; i < 4; i++, s->p++) {
				if (s->p >= s->end ||
				    !((*s->p >= '0' && *s->p <= '9') ||
				    ((*s->p | 0x20) >= 'a' &&
				    (*s->p | 0x20) <= 'f')))
					return (0);
			}
			break;
		default:
			return (0);
		}
	}

	return (0);
}

static int
scan_number(struct scan *s)
{
	const unsigned char	*start;

	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p >= s->end)
		return (0);
	if (*s->p == '0') {
		s->p++;
	} else if (*s->p >= '1' && *s->p <= '9') {
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	} else {
		return (0);
	}
	if (s->p < s->end && *s->p == '.') {
		start = ++s->p;
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
		if (s->p == start)
			return (0);
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		start = s->p;
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
		if (s->p == start)
			return (0);
	}
	return (1);
}

static int
scan_literal(struct scan *s, const char *lit)
{
	size_t	len;

	len = strlen(lit);
	if ((size_t)(s->end - s->p) < len || memcmp(s->p, lit, len) != 0)
		return (0);
	s->p += len;
	return (1);
}

static int
scan_value(struct scan *s)
{
	int	first;

	if (!skip_ws(s))
		return (0);

	switch (*s->p) {
	case '{':
	case '[':
		if (++s->depth > JSON_SCAN_DEPTH_MAX)
			return (0);
		first = 1;
		if (*s->p++ == '{') {
			for (;;) {
				if (!skip_ws(s))
					return (0);
				if (first && *s->p == '}')
					break;
				if (!scan_string(s) || !skip_ws(s) ||
				    *s->p++ != ':' || !scan_value(s) ||
				    !skip_ws(s))
					return (0);
				first = 0;
				if (*s->p == ',') {
					s->p++;
					continue;
				}
				if (*s->p != '}')
					return (0);
				break;
			}
		} else {
			for (;;) {
				if (!skip_ws(s))
					return (0);
				if (first && *s->p == ']')
					break;
				if (!scan_value(s) || !skip_ws(s))
					return (0);
				first = 0;
				if (*s->p == ',') {
					s->p++;
					continue;
				}
				if (*s->p != ']')
					return (0);
				break;
			}
		}
		s->p++;
		s->depth--;
		return (1);
	case '"':
		return (scan_string(s));
	case 't':
		return (scan_literal(s, "true"));
	case 'f':
		return (scan_literal(s, "false"));
	case 'n':
		return (scan_literal(s, "null"));
	default:
		return (scan_number(s));
	}
}

/*
 * Validate data[0..len) as one JSON value (surrounding white space
 * allowed). Returns 1 when valid.
 */
int
json_scan_valid(const void *data, size_t len)
{
	struct scan	s;

	s.p = data;
	s.end = s.p + len;
	s.depth = 0;

	if (!scan_value(&s))
		return (0);
	skip_ws(&s);
	return (s.p == s.end);
}

/*
 * Scan data as one JSON object and fill members (at most max) with the
 * span of each top-level member. Returns the member count, or -1 when
 * data is not a valid JSON object (or has more than max members).
 * obj_end receives the offset of the closing brace.
 */
int
json_scan_object(const void *data, size_t len, struct json_member *members,
    int max, size_t *obj_end)
{
	struct scan		 s;
	const unsigned char	*base, *v;
	int			 n;

	base = data;
	s.p = base;
	s.end = base + len;
	s.depth = 1;
	n = 0;

	if (!skip_ws(&s) || *s.p++ != '{')
		return (-1);

	for (;;) {
		if (!skip_ws(&s))
			return (-1);
		if (n == 0 && *s.p == '}')
			break;
		if (n == max)
			return (-1);
		members[n].key = (size_t)(s.p - base);
		if (!scan_string(&s))
			return (-1);
		members[n].key_len = (size_t)(s.p - base) - members[n].key;
		if (!skip_ws(&s) || *s.p++ != ':' || !skip_ws(&s))
			return (-1);
		v = s.p;
		members[n].value = (size_t)(v - base);
		if (!scan_value(&s))
			return (-1);
		members[n].value_len = (size_t)(s.p - v);
		switch (*v) {
		case '{':
			members[n].type = JSON_OBJECT;
			break;
		case '[':
			members[n].type = JSON_ARRAY;
			break;
		case '"':
			members[n].type = JSON_STRING;
			break;
		case 't':
			members[n].type = JSON_TRUE;
			break;
		case 'f':
			members[n].type = JSON_FALSE;
			break;
		case 'n':
			members[n].type = JSON_NULL;
			break;
		default:
			members[n].type = JSON_NUMBER;
			break;
		}
		n++;
		if (!skip_ws(&s))
			return (-1);
		if (*s.p == ',') {
			s.p++;
			continue;
		}
		if (*s.p != '}')
			return (-1);
		break;
	}

	*obj_end = (size_t)(s.p - base);
	s.p++;
	skip_ws(&s);
	if (s.p != s.end)
		return (-1);

	return (n);
}

/*
 * The member whose key, once unescaped, equals name; NULL if none. Keys
 * with escapes are compared after decoding the simple escapes.
 */
const struct json_member *
json_scan_find(const void *data, const struct json_member *members, int n,
    const char *name)
{
	char	key[64];
	int	i;

	for (i = 0; i < n; i++) {
		if (json_scan_string(data, &members[i], 1, key,
		    sizeof(key)) < 0)
			continue;
		if (strcmp(key, name) == 0)
			return (&members[i]);
	}

	return (NULL);
}

/* Append the UTF-8 encoding of cp; returns the bytes written or -1. */
static int
utf8_put(unsigned long cp, char *out, size_t room)
{
	if (cp < 0x80 && room >= 1) {
		out[0] = (char)cp;
		return (1);
	}
	if (cp < 0x800 && room >= 2) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return (2);
	}
	if (cp < 0x10000 && room >= 3) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return (3);
	}
	if (cp < 0x110000 && room >= 4) {
		out[0] = (char)(0xf0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		return (4);
	}
	return (-1);
}

static unsigned long
hex4(const unsigned char *p)
{
	unsigned long	v;
	int		i;

	v = 0;
	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= (unsigned long)(p[i] - '0');
		else
			v |= (unsigned long)((p[i] | 0x20) - 'a' + 10);
	}
	return (v);
}

/*
 * Decode the string at the key (key != 0) or value of m into out as a
 * NUL-terminated UTF-8 string. Returns its length, or -1 (and an empty
 * out) when it is not a string, does not fit, holds a NUL or a lone
 * surrogate.
 */
int
json_scan_string(const void *data, const struct json_member *m, int key,
    char *out, size_t outlen)
{
	const unsigned char	*p, *end;
	unsigned long		 cp, lo;
	size_t			 o;
	int			 w;

	if (outlen == 0)
		return (-1);
	out[0] = '\0';

	p = (const unsigned char *)data + (key ? m->key : m->value);
	end = p + (key ? m->key_len : m->value_len);
	if (end - p < 2 || *p != '"')
		return (-1);
	p++;
	end--;

	for (o = 0; p < end; ) {
		if (*p != '\\') {
			if (o + 1 >= outlen)
				goto fail;
			out[o++] = (char)*p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			cp = hex4(p + 1);
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 7 || p[1] != '\\' || p[2] != 'u')
					goto fail;
				lo = hex4(p + 3);
				if (lo < 0xdc00 || lo > 0xdfff)
					goto fail;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				goto fail;
			}
			break;
		default:
			cp = *p;
			break;
		}
		p++;
		if (cp == 0 || o + 1 >= outlen)
			goto fail;
		if ((w = utf8_put(cp, out + o, outlen - o - 1)) < 0)
			goto fail;
		o += (size_t)w;
	}

	out[o] = '\0';
	return ((int)o);

fail:
	out[0] = '\0';
	return (-1);
}

/* A whole non-negative integer value (e.g. a token count), else -1. */
long long
json_scan_uint(const void *data, const struct json_member *m)
{
	const unsigned char	*p;
	long long		 v;
	size_t			 i;

	if (m->type != JSON_NUMBER || m->value_len == 0 || m->value_len > 18)
		return (-1);

	p = (const unsigned char *)data + m->value;
	v = 0;
	for (i = 0; i < m->value_len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		v = v * 10 + (p[i] - '0');
	}
	return (v);
}

/* Whether an array or object member holds nothing but white space. */
int
json_scan_empty(const void *data, const struct json_member *m)
{
	const char	*p = (const char *)data + m->value;
	size_t		 i;

	for (i = 1; i + 1 < m->value_len; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return (0);
	}
	return (m->value_len >= 2);
}
