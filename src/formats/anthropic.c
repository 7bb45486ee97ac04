/*
 * The Anthropic Messages API (anthropic-version 2023-06-01): the pieces
 * both directions of translation share, the error shape, the usage
 * object, stop reasons, ids and text blocks.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"

/*
 * An error body in Anthropic's shape, its type chosen from the status.
 */
void
anthropic_error_body(int status, const char *message, struct kore_buf *out)
{
	const char	*type;

	switch (status) {
	case 400:
		type = "invalid_request_error";
		break;
	case 401:
		type = "authentication_error";
		break;
	case 402:
		type = "billing_error";
		break;
	case 403:
		type = "permission_error";
		break;
	case 404:
		type = "not_found_error";
		break;
	case 408:
	case 504:
		type = "timeout_error";
		break;
	case 413:
		type = "request_too_large";
		break;
	case 429:
		type = "rate_limit_error";
		break;
	case 503:
	case 529:
		type = "overloaded_error";
		break;
	default:
		type = status >= 500 || status < 400 ? "api_error" :
		    "invalid_request_error";
		break;
	}
	kore_buf_appendf(out, "{\"type\":\"error\",\"error\":{\"type\":\"%s\","
	    "\"message\":", type);
	json_str(out, message != NULL ? message : "");
	kore_buf_appendf(out, "}}");
}

/*
 * Anthropic's usage object into us (what it lacks stays as it was).
 * Tokens read from or written to the prompt cache are prompt tokens all
 * the same: input_tokens counts only the others.
 */
void
anthropic_usage(const struct kore_json_item *u, struct xlate_usage *us)
{
	int64_t	n, sum, w, r;

	if (u == NULL || u->type != KORE_JSON_TYPE_OBJECT)
		return;
	w = r = -1;
	if (json_tokens(json_get(u, "cache_creation_input_tokens"), &n) == 0)
		w = us->cache_write_tokens = n;
	if (json_tokens(json_get(u, "cache_read_input_tokens"), &n) == 0)
		r = us->cached_tokens = n;
	if (json_tokens(json_get(u, "input_tokens"), &sum) == 0)
		us->prompt_tokens = sum + (w > 0 ? w : 0) + (r > 0 ? r : 0);
	if (json_tokens(json_get(u, "output_tokens"), &n) == 0)
		us->completion_tokens = n;
}

/*
 * The members of Anthropic's usage object for u (without braces):
 * input_tokens without the cache's reads and writes, which have their
 * own counts; unreported counts are 0.
 */
void
anthropic_usage_write(const struct xlate_usage *u, struct kore_buf *out)
{
	int64_t	in, r, w;

	r = u->cached_tokens > 0 ? u->cached_tokens : 0;
	w = u->cache_write_tokens > 0 ? u->cache_write_tokens : 0;
	in = u->prompt_tokens > 0 ? u->prompt_tokens - r - w : 0;
	kore_buf_appendf(out, "\"input_tokens\":%" PRId64
	    ",\"cache_creation_input_tokens\":%" PRId64
	    ",\"cache_read_input_tokens\":%" PRId64 ",\"output_tokens\":%"
	    PRId64, in < 0 ? 0 : in, w, r,
	    u->completion_tokens < 0 ? 0 : u->completion_tokens);
}

const char *
anthropic_finish_to_openai(const char *stop)
{
	if (strcmp(stop, "max_tokens") == 0)
		return ("length");
	if (strcmp(stop, "tool_use") == 0)
		return ("tool_calls");
	if (strcmp(stop, "refusal") == 0)
		return ("content_filter");
	/* end_turn, stop_sequence, pause_turn. */
	return ("stop");
}

const char *
anthropic_stop_from_openai(const char *finish)
{
	if (strcmp(finish, "length") == 0)
		return ("max_tokens");
	if (strcmp(finish, "tool_calls") == 0 ||
	    strcmp(finish, "function_call") == 0)
		return ("tool_use");
	if (strcmp(finish, "content_filter") == 0)
		return ("refusal");
	return ("end_turn");
}

/*
 * An id in the other format: msg_X <-> chatcmpl-X, so that the same
 * answer keeps the same id through a round trip.
 */
void
anthropic_id_from(char *out, size_t outlen, const char *in, const char *from,
    const char *to)
{
	size_t	fl;

	fl = strlen(from);
	if (strncmp(in, from, fl) == 0)
		in += fl;
	if (in[0] == '\0')
		in = "0";
	(void)snprintf(out, outlen, "%s%s", to, in);
}

/*
 * A tool call id as Anthropic accepts it (^[a-zA-Z0-9_-]+$): other
 * bytes become '_', the same way in tool_use and tool_result.
 */
void
anthropic_tool_id(struct kore_buf *b, const char *id)
{
	const char	*p;

	kore_buf_append(b, "\"", 1);
	for (p = id; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
			kore_buf_append(b, p, 1);
		else
			kore_buf_append(b, "_", 1);
	}
	kore_buf_append(b, "\"", 1);
}

/* A text block, unless empty: Anthropic refuses empty text blocks. */
void
anthropic_text_block(struct kore_buf *b, int *nb, const char *text,
    const struct kore_json_item *cache)
{
	if (text[0] == '\0')
		return;
	json_sep(b, nb);
	kore_buf_appendf(b, "{\"type\":\"text\",\"text\":");
	json_str(b, text);
	if (cache != NULL && cache->type == KORE_JSON_TYPE_OBJECT) {
		kore_buf_appendf(b, ",\"cache_control\":");
		json_value(b, cache);
	}
	kore_buf_appendf(b, "}");
}
