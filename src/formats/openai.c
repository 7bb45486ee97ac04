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

/*
 * OpenAI's "usage" member; counts not reported are 0, the details only
 * when reported.
 */
void
openai_usage_write(const struct xlate_usage *u, struct kore_buf *out)
{
	int64_t	p, c;

	p = u->prompt_tokens < 0 ? 0 : u->prompt_tokens;
	c = u->completion_tokens < 0 ? 0 : u->completion_tokens;
	kore_buf_appendf(out, "\"usage\":{\"prompt_tokens\":%" PRId64
	    ",\"completion_tokens\":%" PRId64 ",\"total_tokens\":%" PRId64,
	    p, c, p + c);
	if (u->cached_tokens >= 0)
		kore_buf_appendf(out, ",\"prompt_tokens_details\":"
		    "{\"cached_tokens\":%" PRId64 "}", u->cached_tokens);
	if (u->reasoning_tokens >= 0)
		kore_buf_appendf(out, ",\"completion_tokens_details\":"
		    "{\"reasoning_tokens\":%" PRId64 "}", u->reasoning_tokens);
	kore_buf_appendf(out, "}");
}

/*
 * OpenAI's usage object into u, in the names of chat completions
 * (prompt_tokens, prompt_tokens_details.cached_tokens, ...) or of the
 * Responses API (input_tokens, input_tokens_details.cached_tokens, ...);
 * what it lacks stays as it was.
 */
void
openai_usage_read(const struct kore_json_item *usage, struct xlate_usage *u)
{
	int64_t	n;
	int	resp;

	if (usage == NULL || usage->type != KORE_JSON_TYPE_OBJECT)
		return;
	resp = json_get(usage, "input_tokens") != NULL;
	if (json_tokens(json_get(usage, resp ? "input_tokens" :
	    "prompt_tokens"), &n) == 0)
		u->prompt_tokens = n;
	if (json_tokens(json_get(usage, resp ? "output_tokens" :
	    "completion_tokens"), &n) == 0)
		u->completion_tokens = n;
	if (json_tokens(json_get(json_get(usage, resp ? "input_tokens_details" :
	    "prompt_tokens_details"), "cached_tokens"), &n) == 0)
		u->cached_tokens = n;
	if (json_tokens(json_get(json_get(usage, resp ?
	    "output_tokens_details" : "completion_tokens_details"),
	    "reasoning_tokens"), &n) == 0)
		u->reasoning_tokens = n;
}

/* Every count unreported. This function can't fail. */
void
xlate_usage_init(struct xlate_usage *u)
{
	u->prompt_tokens = u->completion_tokens = -1;
	u->cached_tokens = u->cache_write_tokens = u->reasoning_tokens = -1;
}

/* The counts src reported, over those of dst. */
void
xlate_usage_merge(struct xlate_usage *dst, const struct xlate_usage *src)
{
	if (src->prompt_tokens >= 0)
		dst->prompt_tokens = src->prompt_tokens;
	if (src->completion_tokens >= 0)
		dst->completion_tokens = src->completion_tokens;
	if (src->cached_tokens >= 0)
		dst->cached_tokens = src->cached_tokens;
	if (src->cache_write_tokens >= 0)
		dst->cache_write_tokens = src->cache_write_tokens;
	if (src->reasoning_tokens >= 0)
		dst->reasoning_tokens = src->reasoning_tokens;
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
