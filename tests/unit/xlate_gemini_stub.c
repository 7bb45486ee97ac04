/*
 * Weak stand-ins for the gemini_* translators of src/xlate_gemini.c,
 * written by another branch, so that xlate.c links before that file is
 * merged. Each refuses with an error starting "stub:", which the tests
 * of the Gemini chain take as "skip". The real functions, once linked,
 * replace these; then this file can go.
 */

#include <stdio.h>

#include <kore/kore.h>

#include "xlate.h"

#define WEAK	__attribute__((weak))

WEAK int
gemini_request_from_openai(const void *body, size_t len, const char *model,
    int stream, struct kore_buf *out, char *err, size_t errlen)
{
	(void)body; (void)len; (void)model; (void)stream; (void)out;
	return (xlate_fail(err, errlen, "stub: no Gemini translator"));
}

WEAK int
gemini_response_to_openai(const void *body, size_t len, const char *model,
    struct kore_buf *out, struct xlate_usage *usage)
{
	(void)body; (void)len; (void)model; (void)out; (void)usage;
	return (-1);
}

WEAK int
gemini_stream_to_openai(struct xlate_stream *st, const void *data,
    size_t len, struct kore_buf *out)
{
	(void)data; (void)len; (void)out;
	return (xlate_fail(st->err, sizeof(st->err),
	    "stub: no Gemini translator"));
}

WEAK int
gemini_count_request(const void *body, size_t len, struct kore_buf *out,
    char *err, size_t errlen)
{
	(void)body; (void)len; (void)out;
	return (xlate_fail(err, errlen, "stub: no Gemini translator"));
}

WEAK int
gemini_count_response(const void *body, size_t len, int64_t *n)
{
	(void)body; (void)len; (void)n;
	return (-1);
}

WEAK int
gemini_error_status(int status, const void *body, size_t len)
{
	(void)body; (void)len;
	return (status);
}

WEAK void
gemini_error_to_openai(int status, const void *body, size_t len,
    struct kore_buf *out)
{
	(void)status; (void)body; (void)len;
	kore_buf_appendf(out, "{\"error\":{\"message\":\"stub\","
	    "\"type\":\"stub\",\"code\":null}}");
}
