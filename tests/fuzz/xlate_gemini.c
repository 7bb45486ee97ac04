/*
 * libFuzzer harness of src/xlate_gemini.c, the Gemini translator. The
 * first byte of the input picks what the rest is fed to: an OpenAI
 * request, a Gemini answer, a Gemini SSE stream (split at points the
 * second byte seeds), an Anthropic count_tokens request, a countTokens
 * answer or an error body. Promises checked: whatever is written is
 * valid JSON (json_scan_valid, which also checks UTF-8), a stream
 * writes only whole "data: {...}\n\n" events, a refused request writes
 * nothing and says why, usage is -1 or not negative. A broken promise
 * calls abort(), which libFuzzer reports as a crash.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"

#include "fuzz.h"

static void
check_json(struct kore_buf *b)
{
	CHECK(b->offset > 0);
	CHECK(json_scan_valid(b->data, b->offset));
}

/* out holds only whole events, each "data: " and one JSON object. */
static void
check_events(struct kore_buf *out)
{
	struct sse_parser	p;
	struct sse_event	ev;

	sse_init(&p);
	CHECK(sse_feed(&p, out->data, out->offset) == 0);
	while (sse_next(&p, &ev) == 1) {
		CHECK(ev.raw_len > 8 && memcmp(ev.raw, "data: {", 7) == 0);
		CHECK(ev.has_data && !ev.done);
		CHECK(json_scan_valid(ev.data, ev.data_len));
	}
	CHECK(sse_pending(&p) == 0);
	sse_free(&p);
}

static void
fuzz_stream(const uint8_t *data, size_t len, uint32_t seed)
{
	struct xlate_stream	 st;
	struct sse_parser	 up;
	struct sse_event	 ev;
	struct kore_buf		 out;
	size_t			 pos, n;
	int			 rc;

	memset(&st, 0, sizeof(st));
	st.from = XF_GEMINI;
	st.to = XF_OPENAI;
	(void)snprintf(st.model, sizeof(st.model), "m\"odel");
	st.usage.prompt_tokens = st.usage.completion_tokens = -1;
	sse_init(&up);
	kore_buf_init(&out, 256);
	rc = 0;
	for (pos = 0; pos < len && rc == 0; pos += n) {
		seed = seed * 1103515245 + 12345;
		n = 1 + (seed >> 16) % 64;
		if (n > len - pos)
			n = len - pos;
		CHECK(sse_feed(&up, data + pos, n) == 0);
		while (rc == 0 && sse_next(&up, &ev) == 1) {
			if (!ev.has_data)
				continue;
			st.err[0] = '\0';
			rc = gemini_stream_to_openai(&st, ev.data, ev.data_len,
			    &out);
			CHECK(rc == 0 || rc == -1);
			if (rc == -1)
				CHECK(st.err[0] != '\0');
		}
	}
	check_events(&out);
	CHECK(st.usage.prompt_tokens >= -1 && st.ntools >= 0);
	if (st.done)
		CHECK(st.finish[0] != '\0');
	sse_free(&up);
	kore_buf_cleanup(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kore_buf		 out;
	struct xlate_usage	 u;
	char			 err[256];
	int64_t			 n;
	int			 rc, mode;

	if (len < 2)
		return (0);
	mode = data[0] % 6;
	if (mode == 2) {
		fuzz_stream(data + 2, len - 2, data[1]);
		return (0);
	}
	data++;
	len--;
	kore_buf_init(&out, 256);
	err[0] = '\0';
	switch (mode) {
	case 0:
		rc = xlate_request(XF_OPENAI, XF_GEMINI, data, len, "m", 1,
		    &out, err, sizeof(err));
		if (rc == 0) {
			check_json(&out);
		} else {
			CHECK(rc == -1 && err[0] != '\0' && out.offset == 0);
		}
		break;
	case 1:
		rc = xlate_response(XF_GEMINI, XF_OPENAI, data, len, "m\\x",
		    &out, &u);
		CHECK(u.prompt_tokens >= -1 && u.completion_tokens >= -1);
		if (rc == 0)
			check_json(&out);
		else
			CHECK(rc == -1 && out.offset == 0);
		break;
	case 3:
		rc = xlate_count_request(XF_ANTHROPIC, XF_GEMINI, data, len, "m", &out, err,
		    sizeof(err));
		if (rc == 0)
			check_json(&out);
		else
			CHECK(rc == -1 && err[0] != '\0' && out.offset == 0);
		break;
	case 4:
		if (gemini_count_response(data, len, &n) == 0)
			CHECK(n >= 0);
		break;
	case 5:
		gemini_error_to_openai(400 + data[0] % 200, data, len, &out);
		check_json(&out);
		CHECK(gemini_error_status(400, data, len) == 400 ||
		    gemini_error_status(400, data, len) == 401);
		break;
	}
	kore_buf_cleanup(&out);
	return (0);
}
