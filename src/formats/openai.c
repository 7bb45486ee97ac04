/*
 * OpenAI chat completions, the pivot every translation goes through: the
 * pieces of its answers and stream chunks that every translator to an
 * OpenAI client writes, and its usage object, read and written.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"

/* "data: {...chunk head...,"choices":[" of an OpenAI chunk. */
void
openai_chunk_open(struct xlate_stream *st, struct kore_buf *out)
{
	kore_buf_appendf(out, "data: {\"id\":");
	json_str(out, st->id);
	kore_buf_appendf(out, ",\"object\":\"chat.completion.chunk\","
	    "\"created\":%" PRId64 ",\"model\":", st->created);
	json_str(out, st->model);
	kore_buf_appendf(out, ",\"choices\":[");
}

void
openai_chunk_close(struct kore_buf *out)
{
	kore_buf_appendf(out, "]}\n\n");
}

/* A whole chunk whose delta is {"<field>":text}. */
void
openai_delta_chunk(struct xlate_stream *st, int64_t index, const char *field,
    const void *text, size_t len, struct kore_buf *out)
{
	openai_chunk_open(st, out);
	kore_buf_appendf(out, "{\"index\":%" PRId64 ",\"delta\":{\"%s\":",
	    index, field);
	json_strn(out, text, len);
	kore_buf_appendf(out, "},\"logprobs\":null,\"finish_reason\":null}");
	openai_chunk_close(out);
}
/* A whole chunk with st->finish as its finish_reason. */
void
openai_finish_chunk(struct xlate_stream *st, int64_t index,
    struct kore_buf *out)
{
	openai_chunk_open(st, out);
	kore_buf_appendf(out, "{\"index\":%" PRId64 ",\"delta\":{},"
	    "\"logprobs\":null,\"finish_reason\":", index);
	json_str(out, st->finish);
	kore_buf_appendf(out, "}");
	openai_chunk_close(out);
}

/*
 * The chunk that carries a stream's usage, after the last choice: an
 * empty choices array, as OpenAI sends it for include_usage.
 */
void
openai_usage_chunk(struct xlate_stream *st, struct kore_buf *out)
{
	openai_chunk_open(st, out);
	kore_buf_appendf(out, "],");
	openai_usage_write(&st->usage, out);
	kore_buf_appendf(out, "}\n\n");
}

/* OpenAI's "usage" member; counts not reported are 0. */
void
openai_usage_write(const struct xlate_usage *u, struct kore_buf *out)
{
	int64_t	p, c;

	p = u->prompt_tokens < 0 ? 0 : u->prompt_tokens;
	c = u->completion_tokens < 0 ? 0 : u->completion_tokens;
	kore_buf_appendf(out, "\"usage\":{\"prompt_tokens\":%" PRId64
	    ",\"completion_tokens\":%" PRId64 ",\"total_tokens\":%" PRId64
	    "}", p, c, p + c);
}

/* OpenAI's usage object into u; what it lacks stays as it was. */
void
openai_usage_read(const struct kore_json_item *usage, struct xlate_usage *u)
{
	int64_t	n;

	if (usage == NULL || usage->type != KORE_JSON_TYPE_OBJECT)
		return;
	if (json_tokens(json_get(usage, "prompt_tokens"), &n) == 0)
		u->prompt_tokens = n;
	if (json_tokens(json_get(usage, "completion_tokens"), &n) == 0)
		u->completion_tokens = n;
}

/* OpenAI's error type for a status. */
const char *
openai_error_type(int status)
{
	switch (status) {
	case 401:
		return ("authentication_error");
	case 403:
		return ("permission_error");
	case 404:
		return ("not_found_error");
	case 429:
		return ("rate_limit_error");
	}
	if (status >= 500)
		return ("upstream_error");
	return ("invalid_request_error");
}
