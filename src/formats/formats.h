/*
 * formats: the wire formats the gateway reads and writes, and nothing of
 * a request's life. JSON (json_scan.c: spans of an object's members
 * without parsing; json.c: the one writer, the kore_json helpers, an
 * error body's message), server-sent events (sse.c), translation between
 * OpenAI chat completions (the pivot every other pair goes through),
 * Anthropic Messages and Gemini generateContent (xlate.c and the files
 * it dispatches to), and the Kore and curl glue that writes answers and
 * streams and reads upstream answers' heads (kore_glue.c). Pure but for
 * the glue: unit tested and fuzzed without a Kore process. It depends on
 * core/, Kore's kore_json and kore_buf, and libcurl's headers.
 */

#ifndef __H_FORMATS_H
#define __H_FORMATS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include <kore/kore.h>

#include "core/core.h"

struct http_request;
struct kore_task;

/* json_scan.c: spans of the top-level members of a JSON object. */

#define JSON_SCAN_DEPTH_MAX	128

#define JSON_OBJECT		1
#define JSON_ARRAY		2
#define JSON_STRING		3
#define JSON_NUMBER		4
#define JSON_TRUE		5
#define JSON_FALSE		6
#define JSON_NULL		7

/* Offsets into the scanned bytes; strings include their quotes. */
struct json_member {
	size_t		key;
	size_t		key_len;
	size_t		value;
	size_t		value_len;
	int		type;
};

int	json_scan_valid(const void *, size_t);
int	json_scan_object(const void *, size_t, struct json_member *, int,
	    size_t *);
const struct json_member	*json_scan_find(const void *,
	    const struct json_member *, int, const char *);
int	json_scan_string(const void *, const struct json_member *, int,
	    char *, size_t);
long long	json_scan_uint(const void *, const struct json_member *);
int	json_scan_empty(const void *, const struct json_member *);

/*
 * json.c: the one JSON writer. Strings, numbers and parsed values are
 * written with json_str / json_double / json_value; members with
 * json_key and json_kv_* (a comma before each but the first); the
 * structure around them is kore_buf_appendf's literal text.
 */
void	json_str(struct kore_buf *, const char *);
void	json_strn(struct kore_buf *, const void *, size_t);
void	json_key(struct kore_buf *, const char *, int);
void	json_kv_str(struct kore_buf *, const char *, const char *, int);
void	json_kv_int(struct kore_buf *, const char *, int64_t, int);
void	json_kv_bool(struct kore_buf *, const char *, int, int);
void	json_kv_time(struct kore_buf *, const char *, int64_t, int);
void	json_sep(struct kore_buf *, int *);
void	json_double(struct kore_buf *, double);
void	json_value(struct kore_buf *, const struct kore_json_item *);

/* override.c: a provider's body_overrides on a JSON object body. */
int	json_override(const void *, size_t, char *const *, char *const *,
	    size_t, char *const *, size_t, struct kore_buf *);

/*
 * models.c: an upstream's list of models, in format fmt, its names
 * appended to out as a JSON array's members (a comma before each but
 * the first, counted in *n); what to ask for the next page goes to
 * next ("" when there is none). Gemini's models that cannot
 * generateContent are left out; out NULL only counts them. Returns 0,
 * or -1 when the body is no such list.
 */
int	models_list_parse(int, const void *, size_t, struct kore_buf *,
	    int *, char *, size_t);
void	models_list_query(int, int, const char *, char *, size_t);

/* The largest token count believed; larger or negative is unreported. */
#define JSON_TOKENS_MAX		1000000000000LL

struct kore_json_item	*json_get(const struct kore_json_item *,
	    const char *);
struct kore_json_item	*json_first(const struct kore_json_item *);
int	json_is(const struct kore_json_item *, int);
int	json_is_str(const struct kore_json_item *);
int	json_is_type(const struct kore_json_item *, const char *);
int	json_parse(struct kore_json *, const void *, size_t);
int	json_num(const struct kore_json_item *, double *);
int	json_int(const struct kore_json_item *, int64_t *);
int	json_bool(const struct kore_json_item *, int *);
int	json_tokens(const struct kore_json_item *, int64_t *);
void	json_error_message(const void *, size_t, char *, size_t);

/* sse.c: incremental splitting of a server-sent event stream into events. */

#define SSE_EVENT_MAX		(4 * 1024 * 1024)

struct sse_parser {
	char		*buf;
	size_t		 len;		/* bytes held */
	size_t		 cap;
	size_t		 off;		/* start of the next event */
	size_t		 pos;		/* next line of that event to read */
	size_t		 scan;		/* where its line end is sought */
	char		*data;		/* data of the event being read, or
					   of the last one returned */
	size_t		 data_len;
	size_t		 data_cap;
	int		 has_data;
};

/* One event: its raw bytes (with the blank line) and its joined data. */
struct sse_event {
	const char	*raw;
	size_t		 raw_len;
	const char	*data;
	size_t		 data_len;
	int		 has_data;
	int		 done;		/* data is [DONE] */
};

void	sse_init(struct sse_parser *);
void	sse_free(struct sse_parser *);
void	sse_trim(struct sse_parser *);
int	sse_feed(struct sse_parser *, const void *, size_t);
int	sse_next(struct sse_parser *, struct sse_event *);
size_t	sse_pending(const struct sse_parser *);

/* multipart.c: the text fields of multipart/form-data bodies. */
int	multipart_boundary(const char *, char *, size_t);
int	multipart_field(const void *, size_t, const char *, const char *,
	    char *, size_t);

#define XF_OPENAI		0	/* chat.completions */
#define XF_ANTHROPIC		1	/* messages */
#define XF_GEMINI		2	/* generateContent */
#define XF_RESPONSES		3	/* OpenAI's Responses API */
#define XF_COUNT		4

/* Default max_tokens for Anthropic when an OpenAI client sets none. */
#define XLATE_ANTHROPIC_MAX_TOKENS	4096

/* What the open content block of a stream is. */
#define BT_NONE		0
#define BT_TEXT		1
#define BT_TOOL		2
#define BT_OTHER	3
#define BT_THINK	4

/*
 * Token usage as the pivot counts it, -1 for what was not reported:
 * prompt_tokens are all input tokens, cache reads (cached_tokens) and
 * writes (cache_write_tokens) included; completion_tokens hold the
 * reasoning_tokens. Anthropic counts cache reads and writes outside its
 * input_tokens: anthropic.c converts both ways.
 */
struct xlate_usage {
	int64_t		prompt_tokens;
	int64_t		completion_tokens;
	int64_t		cached_tokens;
	int64_t		cache_write_tokens;
	int64_t		reasoning_tokens;
};

void	xlate_usage_init(struct xlate_usage *);
void	xlate_usage_merge(struct xlate_usage *, const struct xlate_usage *);

/* What a Responses or Gemini client's stream has output so far. */
struct xlate_items {
	struct kore_buf		*text;		/* the open item's text */
	struct kore_buf		*items;		/* output items, JSON */
	int			 nitems;
	int64_t			 seq;		/* Responses sequence_number */
	char			 item_id[640];
	char			 call_id[160];
	char			 call_name[128];
};

/*
 * The state of one translated stream. Only xlate*.c look inside; the
 * proxy keeps it per attempt and reads done and usage.
 */
struct xlate_stream {
	int			 from;		/* the upstream's format */
	int			 to;		/* the client's format */
	char			 model[128];	/* the name the client used */
	char			 id[64];	/* message / completion id */
	int64_t			 created;
	int			 done;		/* the upstream ended properly */
	int			 omit_usage;	/* OpenAI: no usage chunk */
	struct xlate_usage	 usage;

	/* Per-format state (one of the two stages of a chain). */
	int			 started;	/* first event sent */
	int			 block;		/* open content block, -1 */
	int			 block_type;
	int			 nblocks;	/* blocks opened so far */
	int			 tool_index;	/* OpenAI tool_calls index */
	int			 ntools;
	char			 finish[32];	/* finish / stop reason */
	char			 err[256];	/* why the stream failed */
	int			 closed;	/* closing events written */

	struct xlate_items	*o;		/* Responses, Gemini clients */
	int64_t			 text_bytes;	/* text relayed, for estimates */

	/* Neither side speaks OpenAI chat: the stage in the middle. */
	struct xlate_stream	*next;
	struct sse_parser	 mid;
	struct kore_buf		*midbuf;
};

/* xlate.c */
int	xlate_format(const char *);
const char	*xlate_format_name(int);

/*
 * A request body in format from (XF_OPENAI or XF_ANTHROPIC) as a body in
 * format to, asking for model (Gemini names it in the URL, not the body)
 * and for a stream when stream is set (OpenAI: with include_usage).
 * Returns 0, or -1 with a message for the client's 400 in err.
 */
int	xlate_request(int from, int to, const void *body, size_t len,
	    const char *model, int stream, struct kore_buf *out, char *err,
	    size_t errlen);

/*
 * A complete successful answer in format from as an answer in format to
 * naming model; usage is filled from it. Returns 0, or -1 when the
 * upstream's answer is not what its format promises.
 */
int	xlate_response(int from, int to, const void *body, size_t len,
	    const char *model, struct kore_buf *out, struct xlate_usage *);

/*
 * An upstream error answer (status, body in format from) as the body of
 * the same error in format to. The message is kept; type and code are
 * mapped from the status where the formats differ.
 */
void	xlate_error(int from, int to, int status, const void *body,
	    size_t len, struct kore_buf *out);

/* The HTTP status an upstream error of format from stands for. */
int	xlate_error_status(int from, int status, const void *body,
	    size_t len);

/* A gateway error in format to: {"error":{...}} or Anthropic's shape. */
void	xlate_error_body(int to, int status, const char *type,
	    const char *code, const char *message, struct kore_buf *out);

/*
 * Streams. Feed each upstream event's data (JSON, or "[DONE]"); the
 * client's events are appended to out, framed as SSE ("event: ...\n"
 * for Anthropic, "data: ...\n\n"). xlate_stream_event returns -1 when the
 * upstream sent an error event or bytes its format does not allow
 * (st->err says why). xlate_stream_finish, at the end of the upstream
 * stream, appends the closing events and returns 0 when the upstream
 * ended properly, -1 when it was cut short (nothing is appended then).
 */
void	xlate_stream_init(struct xlate_stream *, int from, int to,
	    const char *model, const char *id, int64_t created);
void	xlate_stream_free(struct xlate_stream *);
int	xlate_stream_event(struct xlate_stream *, const void *, size_t,
	    struct kore_buf *);
int	xlate_stream_finish(struct xlate_stream *, struct kore_buf *);

/*
 * An error event that ends a stream that has begun, in format to (for
 * Responses clients an error event and response.failed naming id).
 */
void	xlate_stream_error(int to, const char *id, const char *message,
	    struct kore_buf *);

/*
 * The HTTP status an upstream's stream event of format fmt stands for
 * when it is an error event (an error member, Anthropic's and the
 * Responses API's error events, response.failed), from its code or
 * type; 0 when it is no error event. Fills body, when not NULL, with the
 * error as an error answer of format fmt.
 */
int	xlate_event_status(int fmt, const void *, size_t, struct kore_buf *);

/* Bytes of text (content, arguments) in an event: for estimates. */
size_t	xlate_text_bytes(const void *, size_t);

/*
 * /v1/messages/count_tokens: an Anthropic count request as format to's
 * (XF_ANTHROPIC: as is, with model; XF_GEMINI: countTokens), and its
 * answer as {"input_tokens":N}. -1 on failure, with err for requests.
 */
int	xlate_count_request(int from, int to, const void *, size_t,
	    const char *, struct kore_buf *, char *, size_t);
int	xlate_count_response(int from, int to, const void *, size_t,
	    struct kore_buf *, int64_t *);

/* kore_glue.c: where the gateway reaches into Kore and curl. */
struct glue_upstream {
	long		status;
	char		content_type[128];
	int		event_stream;	/* text/event-stream */
	int64_t		retry_after;	/* seconds; -1 when not given */
};

void	glue_reply_json(struct http_request *, int, struct kore_buf *);
void	glue_remote_addr(struct http_request *, char *, size_t);
void	glue_stream_begin(struct http_request *, int, const char *);
void	glue_stream_chunk(struct http_request *, const void *, size_t);
void	glue_stream_end(struct http_request *);
ssize_t	glue_stream_flush(struct http_request *);
int	glue_task_answered(struct kore_task *);
void	glue_task_park(void) __attribute__((noreturn));
int	glue_upstream_head(CURL *, const char *, size_t,
	    struct glue_upstream *);

/*
 * The usage an answer or a stream event reports, read the same way on
 * every path: from a whole answer or event of format fmt, or from its
 * "usage" member already found; what it lacks stays as it was.
 */
void	xlate_answer_usage(int, const void *, size_t, struct xlate_usage *);
void	xlate_usage_member(int, const void *, const struct json_member *,
	    struct xlate_usage *);

/*
 * What follows is for the translators alone: xlate.c dispatches to the
 * files of each direction, which stand on what their formats share.
 *
 *	xlate.c, xlate_stream.c
 *	    -> xlate_openai_anthropic.c, xlate_anthropic_openai.c,
 *	       xlate_openai_gemini.c, xlate_gemini_openai.c,
 *	       xlate_responses_openai.c, xlate_gemini_count.c
 *	    -> openai.c, anthropic.c, gemini.c -> xlate_ctx.c -> json.c
 *
 * One translation of a request or a whole answer (xlate_ctx.c): what it
 * reads, where it writes, and why a request was refused. xlate_begin
 * parses the body once; xlate_fail says why the client's request cannot
 * be translated (its 400) and returns -1, as xlate_stream_fail does for
 * an upstream's stream; xlate_end frees what the translation held.
 */
struct xlate_call {
	const char	*id;
	const char	*name;
};

struct xlate_ctx {
	const void		*body;
	size_t			 len;
	const char		*model;		/* the name the result carries */
	int			 stream;	/* a request asks for a stream */
	struct kore_buf		*out;
	struct xlate_usage	*usage;		/* an answer's, filled */
	struct kore_json	 json;		/* the body, once parsed */
	int			 parsed;
	char			 err[256];

	/* The tool calls of a request's history: an id names a function. */
	struct xlate_call	*calls;
	size_t			 ncalls;
	size_t			 calls_cap;
};

void	xlate_ctx_init(struct xlate_ctx *, const void *, size_t,
	    const char *, int, struct kore_buf *);
struct kore_json_item	*xlate_begin(struct xlate_ctx *);
void	xlate_end(struct xlate_ctx *);
int	xlate_fail(struct xlate_ctx *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	xlate_stream_fail(struct xlate_stream *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
struct kore_json_item	*xlate_messages(struct xlate_ctx *,
	    const struct kore_json_item *);
const char	*xlate_member_str(struct xlate_ctx *,
	    const struct kore_json_item *, const char *, const char *);
const char	*xlate_block_type(struct xlate_ctx *,
	    const struct kore_json_item *, const char *);
const char	*xlate_call_name(const struct xlate_ctx *, const char *);
void	xlate_calls_grow(struct xlate_ctx *);
int	xlate_text_of(struct xlate_ctx *, const struct kore_json_item *,
	    const char *, struct kore_buf *, const char *);
void	xlate_turn_add(struct kore_buf *, const char **, const char *,
	    const char *, const struct kore_buf *);
void	xlate_sse(struct kore_buf *, const char *, const void *, size_t);
int64_t	xlate_effort_budget(const char *, int64_t, int64_t, int64_t);
struct kore_json_item	*xlate_event(struct xlate_stream *,
	    struct kore_json *, const void *, size_t);
void	xlate_event_error(struct xlate_stream *, const void *, size_t);
int	xlate_openai_event(struct xlate_stream *, struct kore_json *,
	    const void *, size_t, struct kore_buf *,
	    void (*)(struct xlate_stream *, struct kore_buf *));
void	xlate_openai_finish(struct xlate_stream *,
	    const struct kore_json_item *);

/* openai.c: the pivot's chunks and usage. */
void	openai_chunk_open(struct xlate_stream *, struct kore_buf *);
void	openai_chunk_close(struct kore_buf *);
void	openai_delta_chunk(struct xlate_stream *, int64_t, const char *,
	    const void *, size_t, struct kore_buf *);
void	openai_finish_chunk(struct xlate_stream *, int64_t,
	    struct kore_buf *);
void	openai_usage_chunk(struct xlate_stream *, struct kore_buf *);
void	openai_usage_write(const struct xlate_usage *, struct kore_buf *);
void	openai_usage_read(const struct kore_json_item *,
	    struct xlate_usage *);
const char	*openai_error_type(int);

/* anthropic.c: what both Anthropic directions share. */
void	anthropic_error_body(int, const char *, struct kore_buf *);
void	anthropic_usage(const struct kore_json_item *, struct xlate_usage *);
void	anthropic_usage_write(const struct xlate_usage *, struct kore_buf *);
const char	*anthropic_finish_to_openai(const char *);
const char	*anthropic_stop_from_openai(const char *);
void	anthropic_id_from(char *, size_t, const char *, const char *,
	    const char *);
void	anthropic_tool_id(struct kore_buf *, const char *);
void	anthropic_text_block(struct kore_buf *, int *, const char *,
	    const struct kore_json_item *);

/*
 * gemini.c: what every translation to or from Gemini shares. Gemini 3
 * refuses a history whose function calls lost the thoughtSignature
 * Gemini gave them. OpenAI clients have nowhere to keep it but the tool
 * call id, which they send back: so a call's id is "call_<random>"
 * THOUGHT_SEP "<signature>" when there is one, and the signature goes
 * back on the functionCall part when the id comes back.
 */
#define THOUGHT_SEP	"__thought__"

int	gemini_schema_nonempty(struct kore_json_item *);
void	gemini_schema_emit(struct kore_buf *, struct kore_json_item *);
int	gemini_sig_ok(const char *);
int	gemini_sig_to_id(struct kore_buf *, const char *);
int	gemini_sig_from_id(struct kore_buf *, const char *);
int	gemini_id_ok(const char *, size_t);
const char	*gemini_mime_from_url(const char *);
int	gemini_media_part(struct xlate_ctx *, struct kore_buf *, int *,
	    const char *, const char *);
int	gemini_content_parts(struct xlate_ctx *, struct kore_json_item *,
	    const char *, int (*)(struct xlate_ctx *, struct kore_json_item *,
	    const char *, const char *, struct kore_buf *, int *),
	    struct kore_buf *, int *);
void	gemini_text_part(struct kore_buf *, int *, const void *, size_t);
void	gemini_inline_part(struct kore_buf *, int *, const char *,
	    const char *);
int	gemini_function_call_part(struct xlate_ctx *, const char *,
	    struct kore_json_item *, const char *, struct kore_buf *, int *);
void	gemini_function_response_part(const char *, const char *,
	    struct kore_buf *, int *);
/* One candidate's parts, sorted out (gemini_parts_read). */
struct gemini_parts {
	struct kore_buf	 text;		/* raw bytes, joined */
	struct kore_buf	 thought;	/* raw bytes of thought summaries */
	struct kore_buf	 calls;		/* tool_calls array members, JSON */
	int		 ncalls;
	size_t		*ends;		/* where each call ends in calls */
};

void	gemini_parts_init(struct gemini_parts *);
void	gemini_parts_cleanup(struct gemini_parts *);
void	gemini_parts_read(struct kore_json_item *, struct gemini_parts *,
	    int, int);
int	gemini_usage_read(struct kore_json_item *, struct xlate_usage *,
	    int64_t *, int64_t *, int64_t *, int64_t *);
int64_t	gemini_tokens(struct kore_json_item *);
const char	*gemini_finish_reason(const char *, int);
struct kore_json_item	*gemini_error_object(struct kore_json_item *);
int	gemini_error_status(int, const void *, size_t);
void	gemini_error_to_openai(int, const void *, size_t, struct kore_buf *);

/*
 * The directions. "from"/"to" are seen from the upstream's format:
 * anthropic_request_from_openai turns an OpenAI client's request into
 * an Anthropic one, anthropic_response_to_openai brings its answer back.
 */

/* xlate_openai_anthropic.c: OpenAI clients, Anthropic upstreams. */
int	anthropic_request_from_openai(struct xlate_ctx *);
int	anthropic_response_to_openai(struct xlate_ctx *);
int	anthropic_stream_to_openai(struct xlate_stream *, const void *,
	    size_t, struct kore_buf *);

/* xlate_anthropic_openai.c: Anthropic clients, OpenAI upstreams. */
int	anthropic_request_to_openai(struct xlate_ctx *);
int	anthropic_response_from_openai(struct xlate_ctx *);
int	anthropic_stream_from_openai(struct xlate_stream *, const void *,
	    size_t, struct kore_buf *);
void	anthropic_stream_finish_from_openai(struct xlate_stream *,
	    struct kore_buf *);

/* xlate_openai_gemini.c: OpenAI clients, Gemini upstreams. */
int	gemini_request_from_openai(struct xlate_ctx *);
int	gemini_response_to_openai(struct xlate_ctx *);
int	gemini_stream_to_openai(struct xlate_stream *, const void *, size_t,
	    struct kore_buf *);

/*
 * xlate_responses_openai.c, xlate_responses_stream.c: Responses
 * clients, chat upstreams. Nothing is stored, yet clients that think so
 * (the AI SDK with its default store) send earlier output back as
 * item_reference: the ids given to function calls (and to the messages
 * of whole answers) carry their content, base64url after these
 * prefixes, so that a reference reads back as the item it names.
 */
#define ITEM_CALL	"fc_fz"
#define ITEM_MESSAGE	"msg_fz"
#define ITEM_SEP	'\x1f'

void	responses_item_id(struct kore_buf *, const char *, const char *,
	    const char *, const char *);
void	responses_open(struct kore_buf *, const char *, int64_t,
	    const char *, const char *);
void	responses_usage(const struct xlate_usage *, struct kore_buf *);
int	responses_request_to_openai(struct xlate_ctx *);
int	responses_response_from_openai(struct xlate_ctx *);
int	responses_stream_from_openai(struct xlate_stream *, const void *,
	    size_t, struct kore_buf *);
void	responses_stream_finish_from_openai(struct xlate_stream *,
	    struct kore_buf *);

/* xlate_gemini_openai.c: Gemini clients, chat upstreams. */
const char	*gemini_status_name(int);
int	gemini_request_to_openai(struct xlate_ctx *);
int	gemini_response_from_openai(struct xlate_ctx *);
int	gemini_stream_from_openai(struct xlate_stream *, const void *,
	    size_t, struct kore_buf *);
void	gemini_stream_finish_from_openai(struct xlate_stream *,
	    struct kore_buf *);

/* xlate_gemini_count.c: Anthropic's token counting through Gemini. */
int	gemini_count_request(struct xlate_ctx *);
int	gemini_count_response(const void *, size_t, int64_t *);

#endif
