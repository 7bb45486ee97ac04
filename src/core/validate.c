/*
 * Checks of admin input that need no running server (unit tested in
 * tests/unit). Each returns 1 when the value is acceptable.
 */

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/core.h"

#define NAME_MAX_LEN	128

/*
 * The one UTF-8 decoder of the gateway: the length of the sequence at
 * p[0..left) (left > 0), 1 to 4, with its code point in *cp; 0 when the
 * bytes there are no well-formed UTF-8 (overlong, a surrogate, beyond
 * U+10FFFF, cut short). This function can't fail.
 */
size_t
utf8_seq(const unsigned char *p, size_t left, u_int32_t *cp)
{
	size_t		n, i;
	u_int32_t	c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return (1);
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		return (0);
	}
	if (n > left)
		return (0);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);

	*cp = c;
	return (n);
}

/*
 * A name: 1 to 128 bytes of valid UTF-8, no control characters (C0, DEL,
 * and the C1 controls U+0080..U+009F, NEL and CSI among them, that
 * terminals and log viewers act upon), not only spaces.
 */
int
validate_name(const char *s)
{
	const unsigned char	*p;
	size_t			 len, left, n;
	u_int32_t		 cp;
	int			 visible;

	len = strlen(s);
	if (len == 0 || len > NAME_MAX_LEN)
		return (0);

	visible = 0;
	p = (const unsigned char *)s;
	for (left = len; left > 0; p += n, left -= n) {
		if ((n = utf8_seq(p, left, &cp)) == 0)
			return (0);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return (0);
		if (cp != ' ')
			visible = 1;
	}

	return (visible);
}

/*
 * The model of a price row: a name (validate_name) in which '*' may
 * only end it, as a wildcard for every model it is a prefix of.
 */
int
validate_price_model(const char *s)
{
	const char	*star;

	if (!validate_name(s))
		return (0);
	star = strchr(s, '*');
	return (star == NULL || star[1] == '\0');
}

/*
 * An upstream base URL: http:// or https://, a host, no spaces, no
 * credentials, no query or fragment, at most 2048 bytes.
 */
int
validate_base_url(const char *s)
{
	const char	*host, *p;
	size_t		 len;

	len = strlen(s);
	if (len > 2048)
		return (0);

	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return (0);

	if (*host == '\0' || *host == '/' || *host == ':')
		return (0);

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return (0);
		if (*p == '?' || *p == '#' || *p == '\\')
			return (0);
	}

	/* user:password@host would put a secret into logs and the UI. */
	for (p = host; *p != '\0' && *p != '/'; p++) {
		if (*p == '@')
			return (0);
	}

	return (1);
}

int
validate_strategy(const char *s)
{
	return (strcmp(s, "round_robin") == 0 || strcmp(s, "weighted") == 0 ||
	    strcmp(s, "least_latency") == 0);
}

/* How a group's sessions stick: not at all, or by session key. */
int
validate_affinity(const char *s)
{
	return (strcmp(s, "none") == 0 || strcmp(s, "session") == 0);
}

/* Provider types this release can forward to. */
int
validate_provider_type(const char *s)
{
	return (strcmp(s, "openai") == 0 || strcmp(s, "anthropic") == 0 ||
	    strcmp(s, "gemini") == 0);
}

/* A label: empty, or a name. */
int
validate_label(const char *s)
{
	return (*s == '\0' || validate_name(s));
}

/*
 * An RFC 3339 time in UTC ("2027-01-31T12:00:00Z", fractions ignored)
 * into epoch seconds. strptime() alone also takes leading spaces and
 * one-digit fields, and timegm() turns February 31 into March 3, so the
 * shape is checked first and the fields must survive the round trip.
 */
int
validate_time(const char *s, int64_t *out)
{
	static const char	 shape[] = "dddd-dd-ddTdd:dd:dd";
	struct tm		 tm, back;
	const char		*p;
	time_t			 t;
	size_t			 i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != shape[i])
			return (0);
	}

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL ||
	    p != s + sizeof(shape) - 1)
		return (0);

	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}

	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return (0);

	back = tm;
	if ((t = timegm(&tm)) < 0 || gmtime_r(&t, &tm) == NULL ||
	    tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour ||
	    tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
		return (0);

	*out = (int64_t)t;
	return (1);
}

/* Empty, or PEM certificates of at most 64 KiB for an upstream's CA. */
int
validate_pem(const char *s)
{
	if (*s == '\0')
		return (1);
	if (strlen(s) > 65536)
		return (0);
	return (strstr(s, "-----BEGIN CERTIFICATE-----") != NULL &&
	    strstr(s, "-----END CERTIFICATE-----") != NULL);
}

/*
 * n bytes from 2n lowercase hex digits at s into out; 0 when one is not
 * a lowercase hex digit.
 */
static int
hex_bytes(const char *s, u_int8_t *out, size_t n)
{
	size_t		i;
	int		k, v, c;

	for (i = 0; i < n; i++) {
		v = 0;
		for (k = 0; k < 2; k++) {
			c = s[2 * i + k];
			if (c >= '0' && c <= '9')
				v = v << 4 | (c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v << 4 | (c - 'a' + 10);
			else
				return (0);
		}
		out[i] = (u_int8_t)v;
	}
	return (1);
}

/*
 * A W3C trace context traceparent, "00-<trace id>-<parent id>-<flags>"
 * (32, 16 and 2 lowercase hex digits), into trace[16], span[8] and
 * *flags. A later version is read as 00: its first fields are the same,
 * and more may follow after a dash. Version ff and all-zero ids are
 * refused.
 */
int
validate_traceparent(const char *s, u_int8_t *trace, u_int8_t *span,
    u_int8_t *flags)
{
	u_int8_t	version;
	size_t		len, i;
	int		zero_trace, zero_span;

	len = strlen(s);
	if (len < 55 || !hex_bytes(s, &version, 1) || version == 0xff ||
	    s[2] != '-' || !hex_bytes(s + 3, trace, 16) || s[35] != '-' ||
	    !hex_bytes(s + 36, span, 8) || s[52] != '-' ||
	    !hex_bytes(s + 53, flags, 1))
		return (0);
	if (len > 55 && (version == 0 || s[55] != '-'))
		return (0);

	zero_trace = zero_span = 1;
	for (i = 0; i < 16; i++) {
		if (trace[i] != 0)
			zero_trace = 0;
		if (i < 8 && span[i] != 0)
			zero_span = 0;
	}
	return (!zero_trace && !zero_span);
}

/*
 * One key of a tracestate: a simple key (a lowercase letter, then up to
 * 255 of [a-z0-9_*-/]) or tenant@system (tenant up to 241 of them, the
 * first a letter or digit; system up to 14, the first a letter).
 */
static int
tracestate_key(const char *k, size_t len)
{
	static const char	 chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "0123456789_-*/";
	const char		*at;
	size_t			 i, tenant;

	at = memchr(k, '@', len);
	tenant = at != NULL ? (size_t)(at - k) : len;
	if (tenant == 0 || len > 256 || (at == NULL && !islower((u_char)k[0])) ||
	    (at != NULL && !islower((u_char)k[0]) && !isdigit((u_char)k[0])))
		return (0);
	if (at != NULL && (tenant > 241 || len - tenant - 1 == 0 ||
	    len - tenant - 1 > 14 || !islower((u_char)at[1])))
		return (0);
	for (i = 0; i < len; i++) {
		if (i != tenant && strchr(chars, k[i]) == NULL)
			return (0);
	}
	return (1);
}

/*
 * A W3C trace context tracestate the gateway may pass on as it is: at
 * most 512 bytes, at most 32 list members "key=value" separated by
 * commas and optional blanks (empty members allowed), each value 1 to
 * 256 printable characters without ',' or '=', not ending in a blank.
 */
int
validate_tracestate(const char *s)
{
	const char	*m, *end, *eq;
	size_t		 i, vlen;
	int		 members;

	if (strlen(s) > 512)
		return (0);
	members = 0;
	for (m = s;; m = end + 1) {
		if ((end = strchr(m, ',')) == NULL)
			end = m + strlen(m);
		while (m < end && (*m == ' ' || *m == '\t'))
			m++;
		while (end > m && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (m < end) {
			if (++members > 32 ||
			    (eq = memchr(m, '=', (size_t)(end - m))) == NULL ||
			    !tracestate_key(m, (size_t)(eq - m)))
				return (0);
			vlen = (size_t)(end - eq - 1);
			if (vlen == 0 || vlen > 256)
				return (0);
			for (i = 1; i <= vlen; i++) {
				if (eq[i] < 0x20 || eq[i] > 0x7e ||
				    eq[i] == ',' || eq[i] == '=')
					return (0);
			}
		}
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end == '\0')
			break;
	}
	return (members > 0);
}

/*
 * A forward proxy for an upstream: http://, https:// or socks5h:// (the
 * proxy resolves the host name), optional credentials, a host and an
 * optional port, nothing after but one '/', at most 2048 bytes of
 * printable ASCII. The credentials are secrets: the store seals the URL
 * and shows it masked (secrets_mask_url).
 */
int
validate_proxy_url(const char *s)
{
	const char	*host, *p, *at, *end;
	long		 port;

	if (strlen(s) > 2048)
		return (0);
	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "socks5h://", 10) == 0)
		host = s + 10;
	else
		return (0);

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '?' || *p == '#' || *p == '\\')
			return (0);
	}

	if ((end = strchr(host, '/')) != NULL && end[1] != '\0')
		return (0);
	if (end == NULL)
		end = host + strlen(host);
	if ((at = memchr(host, '@', (size_t)(end - host))) != NULL) {
		if (at == host || memchr(at + 1, '@', (size_t)(end - at - 1)))
			return (0);
		host = at + 1;
	}

	if (*host == '[') {
		if ((p = memchr(host, ']', (size_t)(end - host))) == NULL ||
		    p == host + 1)
			return (0);
		p++;
	} else {
		for (p = host; p < end && (isalnum((unsigned char)*p) ||
		    *p == '.' || *p == '-' || *p == '_'); p++)
			;
		if (p == host)
			return (0);
	}
	if (p == end)
		return (1);
	if (*p != ':' || p + 1 == end || end - p > 6)
		return (0);
	for (port = 0, p++; p < end; p++) {
		if (*p < '0' || *p > '9')
			return (0);
		port = port * 10 + (*p - '0');
	}

	return (port >= 1 && port <= 65535);
}

/*
 * A header an operator may add to a provider's requests: an HTTP token
 * of 1 to 64 characters, and none of those the gateway sets itself (the
 * key headers of every provider type, and the message's framing).
 */
int
validate_header_name(const char *s)
{
	static const char	*ours[] = { "authorization", "x-api-key",
				    "x-goog-api-key", "proxy-authorization",
				    "anthropic-version", "host",
				    "content-length", "content-type",
				    "transfer-encoding", "connection",
				    "expect", "te", "upgrade", NULL };
	size_t			 i, len;

	len = strlen(s);
	if (len == 0 || len > 64)
		return (0);
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("!#$%&'*+-.^_`|~", s[i]) == NULL)
			return (0);
	}
	for (i = 0; ours[i] != NULL; i++) {
		if (strcasecmp(s, ours[i]) == 0)
			return (0);
	}

	return (1);
}

/* A header's value: up to 4096 bytes of printable ASCII, tab or space. */
int
validate_header_value(const char *s)
{
	size_t	len;

	if ((len = strlen(s)) > 4096)
		return (0);
	for (; *s != '\0'; s++) {
		if (*s != '\t' && ((unsigned char)*s < 0x20 ||
		    (unsigned char)*s >= 0x7f))
			return (0);
	}

	return (1);
}
