/*
 * libFuzzer harness of the format translators (src/xlate.c,
 * src/xlate_anthropic.c). The first byte of the input picks what the
 * rest is fed to:
 *
 *   0-1  a request, OpenAI -> Anthropic / Anthropic -> OpenAI
 *   2    a request in the upstream's own format (the identity)
 *   3-4  an answer, Anthropic -> OpenAI / OpenAI -> Anthropic
 *   5-8  an upstream SSE stream (split by sse.c as the proxy does), in
 *        each direction and each passthrough
 *   9    an upstream error body, in each direction
 *   10   an Anthropic request for a Gemini upstream (through OpenAI)
 *   11   a Gemini SSE stream for an Anthropic client (through OpenAI)
 *
 * Promises checked: a refused request leaves the output as it was and
 * says why; whatever is written is valid JSON; what OpenAI -> Anthropic
 * writes, Anthropic -> OpenAI accepts; translated streams are well
 * framed SSE whose data is JSON (or [DONE]), Anthropic's "event:" line
 * naming the data's type; a stream that ended properly says so once.
 * (Same-format bodies and events pass as kore_json read them, which is
 * laxer than JSON about numbers: only their framing is checked.)
 * A broken promise calls abort(), which libFuzzer reports as a crash.
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
check_json(const struct kore_buf *b, size_t from)
{
	CHECK(b->offset > from);
	CHECK(json_scan_valid(b->data + from, b->offset - from));
}

static void
request(int from, int to, const uint8_t *data, size_t len)
{
	struct kore_buf	out, back;
	char		err[256];
	int		rc;

	kore_buf_init(&out, 256);
	kore_buf_appendf(&out, "x");
	err[0] = '\0';
	rc = xlate_request(from, to, data, len, "model-\"1\"", len & 1, &out,
	    err, sizeof(err));
	if (rc == -1) {
		CHECK(out.offset == 1);
		CHECK(err[0] != '\0');
		kore_buf_cleanup(&out);
		return;
	}
	CHECK(rc == 0);
	check_json(&out, 1);

	/* Our Anthropic requests are what our reverse side accepts. */
	if (from == XF_OPENAI && to == XF_ANTHROPIC &&
	    memmem(out.data, out.offset, "\"document\"", 10) == NULL) {
		kore_buf_init(&back, 256);
		rc = xlate_request(XF_ANTHROPIC, XF_OPENAI, out.data + 1,
		    out.offset - 1, "m", 0, &back, err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "reverse refused: %s\n%.*s\n", err,
			    (int)out.offset - 1, out.data + 1);
		CHECK(rc == 0);
		check_json(&back, 0);
		kore_buf_cleanup(&back);
	}
	kore_buf_cleanup(&out);
}

static void
response(int from, int to, const uint8_t *data, size_t len)
{
	struct kore_buf		out;
	struct xlate_usage	u;

	kore_buf_init(&out, 256);
	kore_buf_appendf(&out, "x");
	if (xlate_response(from, to, data, len, "m", &out, &u) == 0)
		check_json(&out, 1);
	else
		CHECK(out.offset == 1);
	CHECK(u.prompt_tokens >= -1 &&
	    u.prompt_tokens <= 3 * JSON_TOKENS_MAX);
	CHECK(u.completion_tokens >= -1 &&
	    u.completion_tokens <= JSON_TOKENS_MAX);
	kore_buf_cleanup(&out);
}

/* The client's side of a stream: framing and JSON of every event. */
static void
check_client_stream(const struct kore_buf *out, int to, int strict)
{
	struct sse_parser	p;
	struct sse_event	ev;
	const char		*nl;
	struct json_member	m[32];
	const struct json_member *t;
	char			type[64];
	size_t			end, elen;
	int			n;

	sse_init(&p);
	CHECK(sse_feed(&p, out->data, out->offset) == 0);
	while (sse_next(&p, &ev) == 1) {
		CHECK(ev.has_data);
		if (ev.done) {
			CHECK(to == XF_OPENAI);
			continue;
		}
		/* A passthrough forwards what kore_json let through. */
		if (strict)
			CHECK(json_scan_valid(ev.data, ev.data_len));
		if (to != XF_ANTHROPIC)
			continue;
		CHECK(strncmp(ev.raw, "event: ", 7) == 0);
		nl = memchr(ev.raw, '\n', ev.raw_len);
		CHECK(nl != NULL);
		elen = (size_t)(nl - ev.raw) - 7;
		n = json_scan_object(ev.data, ev.data_len, m, 32, &end);
		if (!strict && n <= 0)
			continue;
		CHECK(n > 0);
		t = json_scan_find(ev.data, m, n, "type");
		CHECK(t != NULL);
		CHECK(json_scan_string(ev.data, t, 0, type, sizeof(type)) ==
		    (int)elen);
		CHECK(memcmp(type, ev.raw + 7, elen) == 0);
	}
	CHECK(sse_pending(&p) == 0);
	sse_free(&p);
}

static void
stream(int from, int to, const uint8_t *data, size_t len)
{
	struct xlate_stream	st;
	struct sse_parser	p;
	struct sse_event	ev;
	struct kore_buf		out;
	size_t			before;
	int			rc, ended;

	kore_buf_init(&out, 256);
	xlate_stream_init(&st, from, to, "m", len & 1 ? "id-1" : "", 0);
	sse_init(&p);
	rc = 0;
	(void)sse_feed(&p, data, len);
	while (sse_next(&p, &ev) == 1) {
		if (!ev.has_data)
			continue;
		if ((rc = xlate_stream_event(&st, ev.data, ev.data_len,
		    &out)) == -1) {
			CHECK(st.err[0] != '\0');
			xlate_stream_error(to, "resp_1", st.err, &out);
			break;
		}
		CHECK(rc == 0);
	}
	sse_free(&p);
	if (rc == 0) {
		before = out.offset;
		ended = xlate_stream_finish(&st, &out);
		CHECK(ended == 0 || ended == -1);
		CHECK((ended == 0) == st.done);
		if (ended == -1)
			CHECK(out.offset == before);
		/* Finishing twice adds nothing. */
		before = out.offset;
		CHECK(xlate_stream_finish(&st, &out) == ended);
		CHECK(out.offset == before);
	}
	/* Counts are believed only from 0 to JSON_TOKENS_MAX (or sums). */
	CHECK(st.usage.prompt_tokens >= -1 &&
	    st.usage.prompt_tokens <= 3 * JSON_TOKENS_MAX);
	CHECK(st.usage.completion_tokens >= -1 &&
	    st.usage.completion_tokens <= JSON_TOKENS_MAX);
	xlate_stream_free(&st);
	check_client_stream(&out, to, from != to);
	kore_buf_cleanup(&out);
}

static void
error(const uint8_t *data, size_t len)
{
	struct kore_buf	out;
	char		msg[128];
	int		from, to;

	for (from = XF_OPENAI; from <= XF_GEMINI; from++) {
		for (to = XF_OPENAI; to <= XF_ANTHROPIC; to++) {
			kore_buf_init(&out, 256);
			xlate_error(from, to, 400 + (int)(len % 200), data, len,
			    &out);
			if (from != to)
				check_json(&out, 0);
			kore_buf_cleanup(&out);
		}
	}
	json_error_message(data, len, msg, sizeof(msg));
	CHECK(strlen(msg) < sizeof(msg));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t	mode;

	if (len < 1)
		return (0);
	mode = data[0] % 12;
	data++;
	len--;

	switch (mode) {
	case 0:
		request(XF_OPENAI, XF_ANTHROPIC, data, len);
		break;
	case 1:
		request(XF_ANTHROPIC, XF_OPENAI, data, len);
		break;
	case 2:
		request(XF_OPENAI, XF_OPENAI, data, len);
		request(XF_ANTHROPIC, XF_ANTHROPIC, data, len);
		break;
	case 3:
		response(XF_ANTHROPIC, XF_OPENAI, data, len);
		response(XF_ANTHROPIC, XF_ANTHROPIC, data, len);
		break;
	case 4:
		response(XF_OPENAI, XF_ANTHROPIC, data, len);
		response(XF_OPENAI, XF_OPENAI, data, len);
		break;
	case 5:
		stream(XF_ANTHROPIC, XF_OPENAI, data, len);
		break;
	case 6:
		stream(XF_OPENAI, XF_ANTHROPIC, data, len);
		break;
	case 7:
		stream(XF_ANTHROPIC, XF_ANTHROPIC, data, len);
		break;
	case 8:
		stream(XF_OPENAI, XF_OPENAI, data, len);
		break;
	case 9:
		error(data, len);
		break;
	case 10:
		request(XF_ANTHROPIC, XF_GEMINI, data, len);
		break;
	default:
		stream(XF_GEMINI, XF_ANTHROPIC, data, len);
		break;
	}
	return (0);
}
