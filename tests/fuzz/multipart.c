/*
 * libFuzzer harness of the multipart/form-data reader
 * (src/formats/multipart.c): the input is a body of boundary "b", its
 * first byte choosing the field sought, and the rest again as a content
 * type. Promises: it never reads outside the body, a field found is a
 * NUL-free string no longer than its buffer and lies inside the body,
 * and a boundary accepted is 1 to 70 characters without line breaks.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "formats/formats.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char	*names[] = { "model", "file", "stream", "" };
	char			 out[64], b[80], *type;
	int			 rc;

	if (len == 0)
		return (0);
	rc = multipart_field(data + 1, len - 1, "b", names[data[0] % 4], out,
	    sizeof(out));
	CHECK(rc >= -1 && rc <= 1);
	if (rc == 1) {
		CHECK(strlen(out) < sizeof(out));
		CHECK(memmem(data + 1, len - 1, out, strlen(out)) != NULL);
	}

	type = malloc(len);
	memcpy(type, data + 1, len - 1);
	type[len - 1] = '\0';
	if (multipart_boundary(type, b, sizeof(b)) == 0) {
		CHECK(strlen(b) >= 1 && strlen(b) <= 70);
		CHECK(strpbrk(b, "\r\n") == NULL);
		(void)multipart_field(data + 1, len - 1, b, "model", out,
		    sizeof(out));
	}
	free(type);
	return (0);
}
