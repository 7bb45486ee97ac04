/*
 * multipart/form-data bodies (RFC 7578), as OpenAI's audio and image
 * endpoints take them: only read, to find a text field (the model) the
 * request is routed by; the body itself goes upstream unchanged. Outside
 * input: every length is checked against the body, nothing is copied
 * but the field's value, and a body that is not what its content type
 * says is refused. Pure: unit tested and fuzzed.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "formats/formats.h"

/* RFC 2046: a boundary is 1 to 70 characters. */
#define BOUNDARY_MAX	70

/*
 * The boundary parameter of a multipart/form-data content type into
 * out (quotes removed). -1 when the type is another or has no valid
 * boundary.
 */
int
multipart_boundary(const char *type, char *out, size_t outlen)
{
	const char	*p, *end;
	size_t		 n;

	if (strncasecmp(type, "multipart/form-data", 19) != 0 ||
	    (type[19] != ';' && type[19] != ' '))
		return (-1);
	for (p = type + 19; *p != '\0'; p++) {
		if (strncasecmp(p, "boundary=", 9) == 0 &&
		    (p[-1] == ';' || p[-1] == ' '))
			break;
	}
	if (*p == '\0')
		return (-1);
	p += 9;
	if (*p == '"') {
		p++;
		if ((end = strchr(p, '"')) == NULL)
			return (-1);
	} else {
		end = p + strcspn(p, "; \t");
	}
	n = (size_t)(end - p);
	if (n == 0 || n > BOUNDARY_MAX || n + 1 > outlen ||
	    memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL)
		return (-1);
	memcpy(out, p, n);
	out[n] = '\0';
	return (0);
}

/* The first occurrence of needle in [p, end), or NULL. */
static const char *
find(const char *p, const char *end, const char *needle, size_t nlen)
{
	if (p >= end)
		return (NULL);
	return (memmem(p, (size_t)(end - p), needle, nlen));
}

/*
 * Whether the part headers [h, hend) name the form field name (and no
 * file): Content-Disposition: form-data; name="<name>".
 */
static int
part_is(const char *h, const char *hend, const char *name)
{
	const char	*line, *eol, *p;
	size_t		 n;

	n = strlen(name);
	for (line = h; line < hend; line = eol + 2) {
		if ((eol = find(line, hend, "\r\n", 2)) == NULL)
			eol = hend;
		if ((size_t)(eol - line) < 20 ||
		    strncasecmp(line, "content-disposition:", 20) != 0)
			continue;
		if (find(line, eol, "filename=", 9) != NULL)
			return (0);
		for (p = line; (p = find(p, eol, "name=\"", 6)) != NULL; p++) {
			if (p > line && p[-1] != ' ' && p[-1] != ';')
				continue;
			p += 6;
			return ((size_t)(eol - p) > n && memcmp(p, name, n) == 0 &&
			    p[n] == '"');
		}
		return (0);
	}
	return (0);
}

/*
 * The value of text field name of a multipart/form-data body of the
 * given boundary, into out (NUL-terminated). Returns 1 when found, 0
 * when the body has no such field (or its value does not fit), -1 when
 * the body is no multipart body of that boundary.
 */
int
multipart_field(const void *body, size_t len, const char *boundary,
    const char *name, char *out, size_t outlen)
{
	const char	*p, *end, *part, *hend, *next;
	char		 delim[BOUNDARY_MAX + 5];
	size_t		 dlen, vlen;
	int		 n;

	n = snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	if (n < 5 || (size_t)n >= sizeof(delim))
		return (-1);
	dlen = (size_t)n;
	end = (const char *)body + len;

	/* The first delimiter may open the body, without its CRLF. */
	p = body;
	if (len >= dlen - 2 && memcmp(p, delim + 2, dlen - 2) == 0)
		p += dlen - 2;
	else if ((p = find(p, end, delim, dlen)) != NULL)
		p += dlen;
	else
		return (-1);

	for (;;) {
		/* After a delimiter: "--" ends the body, CRLF a part. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return (0);
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return (-1);
		part = p + 2;
		if ((hend = find(part, end, "\r\n\r\n", 4)) == NULL)
			return (-1);
		if ((next = find(hend + 4, end, delim, dlen)) == NULL)
			return (-1);
		if (part_is(part, hend + 2, name)) {
			vlen = (size_t)(next - (hend + 4));
			if (vlen + 1 > outlen)
				return (0);
			memcpy(out, hend + 4, vlen);
			out[vlen] = '\0';
			return (memchr(out, '\0', vlen) == NULL);
		}
		p = next + dlen;
	}
}
