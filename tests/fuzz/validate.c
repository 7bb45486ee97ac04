/*
 * libFuzzer harness of src/validate.c, the checks of admin API input.
 * The input up to its first NUL becomes a string given to every check;
 * what each accepts is compared with what it promises. validate_name()
 * is compared with an independent checker written here. A broken
 * promise calls abort(), which libFuzzer reports as a crash.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/core.h"

#include "fuzz.h"

/*
 * A name as the admin API documents it: 1 to 128 bytes of well-formed
 * UTF-8 (Unicode 15, table 3-7) holding no control character (C0, DEL,
 * C1) and something other than spaces.
 */
static int
ref_name(const char *str)
{
	const uint8_t	*s;
	uint32_t	 cp;
	size_t		 len, i, n, k;
	uint8_t		 lo, hi;
	int		 visible;

	s = (const uint8_t *)str;
	len = strlen(str);
	if (len < 1 || len > 128)
		return (0);
	visible = 0;
	for (i = 0; i < len; i += n) {
		lo = 0x80;
		hi = 0xbf;
		if (s[i] < 0x80) {
			n = 1;
			cp = s[i];
		} else if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 2;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 3;
			cp = s[i] & 0x0f;
			if (s[i] == 0xe0)
				lo = 0xa0;
			if (s[i] == 0xed)
				hi = 0x9f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 4;
			cp = s[i] & 0x07;
			if (s[i] == 0xf0)
				lo = 0x90;
			if (s[i] == 0xf4)
				hi = 0x8f;
		} else {
			return (0);
		}
		if (len - i < n)
			return (0);
		for (k = 1; k < n; k++) {
			if (s[i + k] < (k == 1 ? lo : 0x80) ||
			    s[i + k] > (k == 1 ? hi : 0xbf))
				return (0);
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return (0);
		if (cp != ' ')
			visible = 1;
	}
	return (visible);
}

static int
ref_base_url(const char *s)
{
	const char	*host, *p;

	if (strlen(s) > 2048)
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
		if ((uint8_t)*p <= ' ' || (uint8_t)*p >= 0x7f ||
		    strchr("?#\\", *p) != NULL)
			return (0);
	}
	for (p = host; *p != '\0' && *p != '/'; p++) {
		if (*p == '@')
			return (0);
	}
	return (1);
}

/* YYYY-MM-DDTHH:MM:SS, optional .fraction, then Z or +00:00. */
static int
time_shape(const char *s)
{
	const char	*shape = "dddd-dd-ddTdd:dd:dd";
	size_t		 i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != shape[i])
			return (0);
	}
	s += i;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	}
	return (strcmp(s, "Z") == 0 || strcmp(s, "+00:00") == 0);
}

/* Is s[0..n) lowercase hex? */
static int
ref_hex(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\0' || strchr("0123456789abcdef", s[i]) == NULL)
			return (0);
	}
	return (1);
}

/* W3C trace context level 1, as its specification words it. */
static int
ref_traceparent(const char *s)
{
	size_t	len;

	len = strlen(s);
	if (len < 55 || !ref_hex(s, 2) || strncmp(s, "ff", 2) == 0 ||
	    s[2] != '-' || !ref_hex(s + 3, 32) || s[35] != '-' ||
	    !ref_hex(s + 36, 16) || s[52] != '-' || !ref_hex(s + 53, 2))
		return (0);
	if (strncmp(s + 3, "00000000000000000000000000000000", 32) == 0 ||
	    strncmp(s + 36, "0000000000000000", 16) == 0)
		return (0);
	if (strncmp(s, "00", 2) == 0)
		return (len == 55);
	return (len == 55 || s[55] == '-');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct tm	 tm;
	char		*s, back[32], hex[3];
	uint8_t		 tr[16], sp[8], fl;
	int64_t		 t;
	time_t		 tt;
	size_t		 n;
	int		 name;

	/* An exact-size copy, so ASan sees every read past the NUL. */
	n = strnlen((const char *)data, len);
	if ((s = malloc(n + 1)) == NULL)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';

	name = validate_name(s);
	CHECK(name == ref_name(s));
	CHECK(validate_label(s) == (n == 0 || name));

	CHECK(validate_base_url(s) == ref_base_url(s));
	if (validate_base_url(s))
		CHECK(strncmp(s, "http://", 7) == 0 ||
		    strncmp(s, "https://", 8) == 0);

	t = -1;
	if (validate_time(s, &t)) {
		CHECK(t >= 0);
		CHECK(time_shape(s));
		/* It names the very second it was read from. */
		tt = (time_t)t;
		CHECK(gmtime_r(&tt, &tm) != NULL);
		CHECK(strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%S",
		    &tm) == 19);
		CHECK(memcmp(back, s, 19) == 0);
	}

	if (validate_pem(s))
		CHECK(n == 0 || (n <= 65536 &&
		    strstr(s, "-----BEGIN CERTIFICATE-----") != NULL &&
		    strstr(s, "-----END CERTIFICATE-----") != NULL));

	CHECK(validate_strategy(s) == (strcmp(s, "round_robin") == 0 ||
	    strcmp(s, "weighted") == 0 || strcmp(s, "least_latency") == 0));
	CHECK(validate_affinity(s) == (strcmp(s, "none") == 0 ||
	    strcmp(s, "session") == 0));

	/* A proxy: one of three schemes, printable, no query, a port. */
	if (validate_proxy_url(s)) {
		CHECK(strncmp(s, "http://", 7) == 0 ||
		    strncmp(s, "https://", 8) == 0 ||
		    strncmp(s, "socks5h://", 10) == 0);
		CHECK(n <= 2048 && strpbrk(s, " ?#\\") == NULL);
		for (const char *p = s; *p != '\0'; p++)
			CHECK((unsigned char)*p > 0x20 &&
			    (unsigned char)*p < 0x7f);
		CHECK(strstr(s, "://")[3] != '\0');
	}

	/* A header of the operator's: a token, never one of ours. */
	if (validate_header_name(s)) {
		CHECK(n >= 1 && n <= 64);
		CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
		    "TUVWXYZ0123456789!#$%&'*+-.^_`|~") == n);
		CHECK(strcasecmp(s, "authorization") != 0 &&
		    strcasecmp(s, "x-api-key") != 0 &&
		    strcasecmp(s, "x-goog-api-key") != 0);
	}
	if (validate_header_value(s))
		CHECK(n <= 4096 && strpbrk(s, "\r\n") == NULL);
	CHECK(validate_provider_type(s) == (strcmp(s, "openai") == 0 ||
	    strcmp(s, "anthropic") == 0 || strcmp(s, "gemini") == 0));

	/* A tracestate passed on: bounded, printable, one header line. */
	if (validate_tracestate(s)) {
		CHECK(n > 0 && n <= 512 && strchr(s, '=') != NULL);
		for (const char *p = s; *p != '\0'; p++)
			CHECK(*p == '\t' || ((unsigned char)*p >= 0x20 &&
			    (unsigned char)*p < 0x7f));
	}

	/* The ids it gives are the ones the text spells. */
	CHECK(validate_traceparent(s, tr, sp, &fl) == ref_traceparent(s));
	if (ref_traceparent(s)) {
		for (n = 0; n < 16; n++) {
			(void)snprintf(hex, sizeof(hex), "%02x", tr[n]);
			CHECK(memcmp(hex, s + 3 + 2 * n, 2) == 0);
		}
		for (n = 0; n < 8; n++) {
			(void)snprintf(hex, sizeof(hex), "%02x", sp[n]);
			CHECK(memcmp(hex, s + 36 + 2 * n, 2) == 0);
		}
		(void)snprintf(hex, sizeof(hex), "%02x", fl);
		CHECK(memcmp(hex, s + 53, 2) == 0);
	}

	free(s);
	return (0);
}
