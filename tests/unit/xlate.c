/*
 * Unit tests of the format translators (src/xlate.c, xlate_anthropic.c):
 * OpenAI chat <-> Anthropic Messages requests, answers, streams fed
 * event by event and in odd splits, errors. Outputs are parsed back
 * with kore_json and checked field by field.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"
#include "test.h"
#include "xlate_util.h"

void	run_xlate_tests(int *, int *);

/*
 * Parsed documents and output buffers live in small rings, reused in
 * turn and freed at the end, so that a failing check (which returns
 * early) leaks nothing.
 */
#define NDOCS		16
#define NBUFS		16

static struct kore_json	docs[NDOCS];
static int		docs_used[NDOCS];
static int		docn;
static struct kore_buf	bufs[NBUFS];
static int		bufs_used[NBUFS];
static int		bufn;

static struct kore_buf *
buf_new(void)
{
	struct kore_buf	*b;

	b = &bufs[bufn];
	if (bufs_used[bufn])
		kore_buf_cleanup(b);
	kore_buf_init(b, 1024);
	bufs_used[bufn] = 1;
	bufn = (bufn + 1) % NBUFS;
	return (b);
}

/* The bytes of b as a C string (b stays usable). */
static const char *
text(struct kore_buf *b)
{
	kore_buf_append(b, "", 1);
	b->offset--;
	return ((const char *)b->data);
}

static struct kore_json_item *
doc(const void *data, size_t len)
{
	struct kore_json	*j;

	j = &docs[docn];
	if (docs_used[docn])
		kore_json_cleanup(j);
	kore_json_init(j, data, len);
	docs_used[docn] = 1;
	docn = (docn + 1) % NDOCS;
	if (kore_json_parse(j) != KORE_RESULT_OK)
		return (NULL);
	return (j->root);
}

static struct kore_json_item *
doc_buf(struct kore_buf *b)
{
	return (doc(b->data, b->offset));
}

static void
rings_free(void)
{
	int	i;

	for (i = 0; i < NDOCS; i++) {
		if (docs_used[i])
			kore_json_cleanup(&docs[i]);
		docs_used[i] = 0;
	}
	for (i = 0; i < NBUFS; i++) {
		if (bufs_used[i])
			kore_buf_cleanup(&bufs[i]);
		bufs_used[i] = 0;
	}
}

/* The item at a dotted path: "messages.0.content.1.type". */
static struct kore_json_item *
at(struct kore_json_item *it, const char *path)
{
	struct kore_json_item	*c;
	char			 key[64];
	const char		*p, *dot;
	size_t			 n;
	int			 idx;

	for (p = path; it != NULL && *p != '\0'; p = dot ? dot + 1 : p + n) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key))
			return (NULL);
		memcpy(key, p, n);
		key[n] = '\0';
		if (it->type == KORE_JSON_TYPE_ARRAY) {
			idx = atoi(key);
			TAILQ_FOREACH(c, &it->data.items, list) {
				if (idx-- == 0)
					break;
			}
			it = c;
		} else if (it->type == KORE_JSON_TYPE_OBJECT) {
			TAILQ_FOREACH(c, &it->data.items, list) {
				if (c->name != NULL && strcmp(c->name, key) == 0)
					break;
			}
			it = c;
		} else {
			return (NULL);
		}
		if (dot == NULL)
			break;
	}
	return (it);
}

static const char *
str_at(struct kore_json_item *root, const char *path)
{
	struct kore_json_item	*it;

	it = at(root, path);
	if (it == NULL || it->type != KORE_JSON_TYPE_STRING)
		return (NULL);
	return (it->data.string);
}

static int64_t
int_at(struct kore_json_item *root, const char *path)
{
	int64_t	v;

	if (json_int(at(root, path), &v) == -1)
		return (-999);
	return (v);
}

static double
num_at(struct kore_json_item *root, const char *path)
{
	double	v;

	if (json_num(at(root, path), &v) == -1)
		return (-999);
	return (v);
}

static int
count_at(struct kore_json_item *root, const char *path)
{
	return (json_items(at(root, path)));
}

static int
is_null_at(struct kore_json_item *root, const char *path)
{
	struct kore_json_item	*it;

	it = at(root, path);
	return (it != NULL && it->type == KORE_JSON_TYPE_LITERAL &&
	    it->data.literal == KORE_JSON_NULL);
}

static int
true_at(struct kore_json_item *root, const char *path)
{
	struct kore_json_item	*it;

	it = at(root, path);
	return (it != NULL && it->type == KORE_JSON_TYPE_LITERAL &&
	    it->data.literal == KORE_JSON_TRUE);
}

static char	err[256];

/* Translate a request; the output, parsed, or NULL (err says why). */
static struct kore_json_item *
req(int from, int to, const char *body, const char *model, int stream,
    struct kore_buf **outp)
{
	struct kore_buf	*out;

	out = buf_new();
	if (outp != NULL)
		*outp = out;
	err[0] = '\0';
	if (xlate_request(from, to, body, strlen(body), model, stream, out,
	    err, sizeof(err)) != 0)
		return (NULL);
	return (doc_buf(out));
}

static struct kore_json_item *
resp(int from, int to, const char *body, const char *model,
    struct xlate_usage *u)
{
	struct kore_buf	*out;

	out = buf_new();
	if (xlate_response(from, to, body, strlen(body), model, out, u) != 0)
		return (NULL);
	return (doc_buf(out));
}

/*
 * Requests: OpenAI -> Anthropic.
 */

TEST(o2a_system_and_developer_become_top_level_system)
{
	struct kore_json_item	*r;

	r = req(XF_OPENAI, XF_ANTHROPIC, "{\"model\":\"fast\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"Be brief.\"},"
	    "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"Speak French.\"}]},"
	    "{\"role\":\"user\",\"content\":\"Hi\"}]}",
	    "claude-sonnet-4", 0, NULL);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "model"), "claude-sonnet-4");
	ASSERT_STR_EQ(str_at(r, "system"), "Be brief.\n\nSpeak French.");
	ASSERT_INT_EQ(count_at(r, "messages"), 1);
	ASSERT_STR_EQ(str_at(r, "messages.0.role"), "user");
	ASSERT_STR_EQ(str_at(r, "messages.0.content.0.type"), "text");
	ASSERT_STR_EQ(str_at(r, "messages.0.content.0.text"), "Hi");
	ASSERT_INT_EQ(int_at(r, "max_tokens"), XLATE_ANTHROPIC_MAX_TOKENS);
	ASSERT(at(r, "stream") == NULL);
	ASSERT(at(r, "messages.0.content.0.cache_control") == NULL);
}

TEST(o2a_consecutive_roles_merge_and_empty_text_goes)
{
	struct kore_json_item	*r;

	r = req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":["
	    "{\"role\":\"user\",\"content\":\"one\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"two\"},{\"type\":\"text\",\"text\":\"\"}]},"
	    "{\"role\":\"assistant\",\"content\":\"three\"},"
	    "{\"role\":\"assistant\",\"content\":\"\"},"
	    "{\"role\":\"system\",\"content\":\"late system\"},"
	    "{\"role\":\"assistant\",\"content\":\"four\"},"
	    "{\"role\":\"user\",\"content\":\"five\"}]}", "m", 0, NULL);
	ASSERT(r != NULL);
	ASSERT_INT_EQ(count_at(r, "messages"), 3);
	ASSERT_STR_EQ(str_at(r, "messages.0.role"), "user");
	ASSERT_INT_EQ(count_at(r, "messages.0.content"), 2);
	ASSERT_STR_EQ(str_at(r, "messages.0.content.1.text"), "two");
	ASSERT_STR_EQ(str_at(r, "messages.1.role"), "assistant");
	ASSERT_INT_EQ(count_at(r, "messages.1.content"), 2);
	ASSERT_STR_EQ(str_at(r, "messages.1.content.1.text"), "four");
	ASSERT_STR_EQ(str_at(r, "messages.2.content.0.text"), "five");
	ASSERT_STR_EQ(str_at(r, "system"), "late system");
}

TEST(o2a_images_as_base64_url_and_pdf)
{
	struct kore_json_item	*r;

	r = req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":\"user\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"What is it?\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/png;base64,iVBORw0KGgo=\",\"detail\":\"low\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"https://example.com/cat.jpg\"}},"
	    "{\"type\":\"image_url\",\"image_url\":\"data:application/pdf;"
	    "base64,JVBERi0=\"}]}]}", "m", 0, NULL);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "messages.0.content.1.type"), "image");
	ASSERT_STR_EQ(str_at(r, "messages.0.content.1.source.type"), "base64");
	ASSERT_STR_EQ(str_at(r, "messages.0.content.1.source.media_type"),
	    "image/png");
	ASSERT_STR_EQ(str_at(r, "messages.0.content.1.source.data"),
	    "iVBORw0KGgo=");
	ASSERT_STR_EQ(str_at(r, "messages.0.content.2.source.type"), "url");
	ASSERT_STR_EQ(str_at(r, "messages.0.content.2.source.url"),
	    "https://example.com/cat.jpg");
	ASSERT_STR_EQ(str_at(r, "messages.0.content.3.type"), "document");
	ASSERT_STR_EQ(str_at(r, "messages.0.content.3.source.media_type"),
	    "application/pdf");

	ASSERT(req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
	    "{\"url\":\"ftp://x/y.png\"}}]}]}", "m", 0, NULL) == NULL);
	ASSERT(strstr(err, "messages[0].content[0].image_url.url") != NULL);
	ASSERT(req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
	    "{\"url\":\"data:image/png,raw\"}}]}]}", "m", 0, NULL) == NULL);
	ASSERT(strstr(err, "base64") != NULL);
	ASSERT(req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":"
	    "{}}]}]}", "m", 0, NULL) == NULL);
	ASSERT(strstr(err, "input_audio") != NULL);
}

/* A tool schema nested deeper than Kore's stock limit of 10. */
#define DEEP_SCHEMA	"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":" \
	"\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"b\":" \
	"{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":" \
	"{\"c\":{\"type\":\"number\",\"minimum\":0.5}}}}}}}},\"required\":" \
	"[\"a\"]}"

TEST(o2a_tools_and_tool_choice)
{
	struct kore_json_item	*r;
	struct kore_buf		*out;
	const char		*base = "{\"messages\":[{\"role\":\"user\","
	    "\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
	    "\"function\":{\"name\":\"get_weather\",\"description\":"
	    "\"Weather now\",\"parameters\":" DEEP_SCHEMA "}},"
	    "{\"type\":\"function\",\"function\":{\"name\":\"noargs\"}}]";
	char			 body[1024];

	(void)snprintf(body, sizeof(body), "%s}", base);
	r = req(XF_OPENAI, XF_ANTHROPIC, body, "m", 0, &out);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "tools.0.name"), "get_weather");
	ASSERT_STR_EQ(str_at(r, "tools.0.description"), "Weather now");
	ASSERT_STR_EQ(str_at(r, "tools.0.input_schema.properties.a.items."
	    "properties.b.items.properties.c.type"), "number");
	ASSERT(strstr(text(out), "\"minimum\":0.5") != NULL);
	ASSERT_STR_EQ(str_at(r, "tools.0.input_schema.required.0"), "a");
	ASSERT_STR_EQ(str_at(r, "tools.1.input_schema.type"), "object");
	ASSERT(at(r, "tool_choice") == NULL);

	(void)snprintf(body, sizeof(body), "%s,\"tool_choice\":\"auto\"}",
	    base);
	ASSERT((r = req(XF_OPENAI, XF_ANTHROPIC, body, "m", 0, NULL)) != NULL);
	ASSERT_STR_EQ(str_at(r, "tool_choice.type"), "auto");
	(void)snprintf(body, sizeof(body), "%s,\"tool_choice\":\"none\"}",
	    base);
	ASSERT((r = req(XF_OPENAI, XF_ANTHROPIC, body, "m", 0, NULL)) != NULL);
	ASSERT_STR_EQ(str_at(r, "tool_choice.type"), "none");
	(void)snprintf(body, sizeof(body), "%s,\"tool_choice\":\"required\","
	    "\"parallel_tool_calls\":false}", base);
	ASSERT((r = req(XF_OPENAI, XF_ANTHROPIC, body, "m", 0, NULL)) != NULL);
	ASSERT_STR_EQ(str_at(r, "tool_choice.type"), "any");
	ASSERT(true_at(r, "tool_choice.disable_parallel_tool_use"));
	(void)snprintf(body, sizeof(body), "%s,\"tool_choice\":{\"type\":"
	    "\"function\",\"function\":{\"name\":\"get_weather\"}}}", base);
	ASSERT((r = req(XF_OPENAI, XF_ANTHROPIC, body, "m", 0, NULL)) != NULL);
	ASSERT_STR_EQ(str_at(r, "tool_choice.type"), "tool");
	ASSERT_STR_EQ(str_at(r, "tool_choice.name"), "get_weather");
	ASSERT(at(r, "tool_choice.disable_parallel_tool_use") == NULL);
	(void)snprintf(body, sizeof(body), "%s,\"parallel_tool_calls\":"
	    "false}", base);
	ASSERT((r = req(XF_OPENAI, XF_ANTHROPIC, body, "m", 0, NULL)) != NULL);
	ASSERT_STR_EQ(str_at(r, "tool_choice.type"), "auto");
	ASSERT(true_at(r, "tool_choice.disable_parallel_tool_use"));

	(void)snprintf(body, sizeof(body), "%s,\"tool_choice\":\"maybe\"}",
	    base);
	ASSERT(req(XF_OPENAI, XF_ANTHROPIC, body, "m", 0, NULL) == NULL);
	ASSERT(strstr(err, "tool_choice") != NULL);
	ASSERT(req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"retrieval\"}]}",
	    "m", 0, NULL) == NULL);
	ASSERT(strstr(err, "tools[0]") != NULL);
}

TEST(o2a_tool_calls_and_results)
{
	struct kore_json_item	*r;

	r = req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":["
	    "{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\","
	    "\\\"days\\\":2}\"}},"
	    "{\"id\":\"call.2\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"arguments\":\"\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":"
	    "\"18C\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call.2\",\"content\":"
	    "[{\"type\":\"text\",\"text\":\"21C\"}]},"
	    "{\"role\":\"user\",\"content\":\"Thanks\"}]}", "m", 0, NULL);
	ASSERT(r != NULL);
	ASSERT_INT_EQ(count_at(r, "messages"), 3);
	ASSERT_STR_EQ(str_at(r, "messages.1.role"), "assistant");
	ASSERT_INT_EQ(count_at(r, "messages.1.content"), 2);
	ASSERT_STR_EQ(str_at(r, "messages.1.content.0.type"), "tool_use");
	ASSERT_STR_EQ(str_at(r, "messages.1.content.0.id"), "call_1");
	ASSERT_STR_EQ(str_at(r, "messages.1.content.0.name"), "get_weather");
	ASSERT_STR_EQ(str_at(r, "messages.1.content.0.input.city"), "Paris");
	ASSERT_INT_EQ(int_at(r, "messages.1.content.0.input.days"), 2);
	/* Anthropic's id pattern is [a-zA-Z0-9_-]+: the same on both ends. */
	ASSERT_STR_EQ(str_at(r, "messages.1.content.1.id"), "call_2");
	ASSERT_INT_EQ(count_at(r, "messages.1.content.1.input"), 0);
	ASSERT_STR_EQ(str_at(r, "messages.2.role"), "user");
	ASSERT_INT_EQ(count_at(r, "messages.2.content"), 3);
	ASSERT_STR_EQ(str_at(r, "messages.2.content.0.type"), "tool_result");
	ASSERT_STR_EQ(str_at(r, "messages.2.content.0.tool_use_id"),
	    "call_1");
	ASSERT_STR_EQ(str_at(r, "messages.2.content.0.content"), "18C");
	ASSERT_STR_EQ(str_at(r, "messages.2.content.1.tool_use_id"),
	    "call_2");
	ASSERT_STR_EQ(str_at(r, "messages.2.content.1.content"), "21C");
	ASSERT_STR_EQ(str_at(r, "messages.2.content.2.text"), "Thanks");

	ASSERT(req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":"
	    "\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
	    "\"{broken\"}}]}]}", "m", 0, NULL) == NULL);
	ASSERT(strstr(err, "messages[0].tool_calls[0].function.arguments")
	    != NULL);
	ASSERT(req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":"
	    "\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
	    "\"[1]\"}}]}]}", "m", 0, NULL) == NULL);
	ASSERT(req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":"
	    "\"tool\",\"content\":\"x\"}]}", "m", 0, NULL) == NULL);
	ASSERT(strstr(err, "tool_call_id") != NULL);
}

TEST(o2a_sampling_limits_stop_stream_user)
{
	struct kore_json_item	*r;
	struct kore_buf		*out;

	r = req(XF_OPENAI, XF_ANTHROPIC, "{\"model\":\"alias\",\"messages\":"
	    "[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":0.7,"
	    "\"top_p\":0.9,\"max_tokens\":300,\"stop\":\"END\",\"user\":"
	    "\"u-42\",\"stream\":true,\"frequency_penalty\":0.5,\"seed\":7}",
	    "claude-3-5-haiku", 1, &out);
	ASSERT(r != NULL);
	ASSERT(strstr(text(out), "\"temperature\":0.7,") != NULL);
	ASSERT(strstr(text(out), "\"top_p\":0.9,") != NULL);
	ASSERT_INT_EQ(int_at(r, "max_tokens"), 300);
	ASSERT(strstr(text(out), "\"max_tokens\":300,") != NULL);
	ASSERT_INT_EQ(count_at(r, "stop_sequences"), 1);
	ASSERT_STR_EQ(str_at(r, "stop_sequences.0"), "END");
	ASSERT_STR_EQ(str_at(r, "metadata.user_id"), "u-42");
	ASSERT(true_at(r, "stream"));
	ASSERT_STR_EQ(str_at(r, "model"), "claude-3-5-haiku");
	ASSERT(at(r, "frequency_penalty") == NULL);
	ASSERT(at(r, "seed") == NULL);

	r = req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":\"user\","
	    "\"content\":\"x\"}],\"temperature\":1.8,\"max_tokens\":10,"
	    "\"max_completion_tokens\":20,\"stop\":[\"a\",\"\",\"b\"],"
	    "\"stream\":true}", "m", 0, NULL);
	ASSERT(r != NULL);
	ASSERT(num_at(r, "temperature") == 1.0);
	ASSERT_INT_EQ(int_at(r, "max_tokens"), 20);
	ASSERT_INT_EQ(count_at(r, "stop_sequences"), 2);
	ASSERT_STR_EQ(str_at(r, "stop_sequences.1"), "b");
	/* The stream parameter decides, not the client's body. */
	ASSERT(at(r, "stream") == NULL);
}

TEST(o2a_response_format_goes_to_system)
{
	struct kore_json_item	*r;
	const char		*s;

	r = req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":\"system\","
	    "\"content\":\"Extract.\"},{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
	    "{\"name\":\"p\",\"schema\":{\"type\":\"object\",\"properties\":"
	    "{\"age\":{\"type\":\"integer\"}}}}}}", "m", 0, NULL);
	ASSERT(r != NULL);
	ASSERT((s = str_at(r, "system")) != NULL);
	ASSERT(strncmp(s, "Extract.\n\n", 10) == 0);
	ASSERT(strstr(s, "JSON schema") != NULL);
	ASSERT(strstr(s, "{\"type\":\"object\",\"properties\":{\"age\":"
	    "{\"type\":\"integer\"}}}") != NULL);
	ASSERT(at(r, "response_format") == NULL);

	r = req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":\"user\","
	    "\"content\":\"x\"}],\"response_format\":{\"type\":"
	    "\"json_object\"}}", "m", 0, NULL);
	ASSERT(r != NULL);
	ASSERT(strstr(str_at(r, "system"), "JSON object") != NULL);

	r = req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":\"user\","
	    "\"content\":\"x\"}],\"response_format\":{\"type\":\"text\"}}",
	    "m", 0, NULL);
	ASSERT(r != NULL);
	ASSERT(at(r, "system") == NULL);

	ASSERT(req(XF_OPENAI, XF_ANTHROPIC, "{\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":"
	    "\"yaml\"}}", "m", 0, NULL) == NULL);
	ASSERT(strstr(err, "response_format") != NULL);
}

/* A request in one direction, asking for model "m": for check_refusals. */
static int
o2a(const char *body, struct kore_buf *out, char *err, size_t errlen)
{
	return (xlate_request(XF_OPENAI, XF_ANTHROPIC, body, strlen(body),
	    "m", 0, out, err, errlen));
}

static int
a2o(const char *body, struct kore_buf *out, char *err, size_t errlen)
{
	return (xlate_request(XF_ANTHROPIC, XF_OPENAI, body, strlen(body),
	    "m", 0, out, err, errlen));
}

TEST(o2a_wrong_types_are_refused_naming_the_field)
{
	static const struct refusal	bad[] = {
		{ "not json", "JSON" },
		{ "[1]", "JSON object" },
		{ "{}", "messages" },
		{ "{\"messages\":{}}", "messages" },
		{ "{\"messages\":[]}", "messages" },
		{ "{\"messages\":[5]}", "messages[0]" },
		{ "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}",
		    "messages[0].role" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":5}]}",
		    "messages[0].content" },
		{ "{\"messages\":[{\"role\":\"user\"}]}",
		    "messages[0].content" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
		    "\"text\",\"text\":5}]}]}", "messages[0].content[0].text" },
		{ "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":"
		    "\"image_url\"}]}]}", "messages[0].content[0]" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"temperature\":\"hot\"}", "temperature" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"top_p\":2}", "top_p" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"max_tokens\":-1}", "max_tokens" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"max_tokens\":\"5\"}", "max_tokens" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"max_completion_tokens\":1.5}", "max_completion_tokens" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"stop\":5}", "stop" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"stop\":[\"a\",1]}", "stop" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tools\":{}}", "tools" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"user\":5}", "user" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"n\":2}", "n" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"parallel_tool_calls\":\"no\"}", "parallel_tool_calls" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
		    "\"f\",\"parameters\":[]}}]}", "tools[0].function.parameters" },
		{ "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":{}}]}",
		    "messages[0].tool_calls" },
	};
	struct kore_buf	*out;

	/* What out held stays; nothing half written is left behind. */
	out = buf_new();
	kore_buf_appendf(out, "kept");
	check_refusals(o2a, bad, sizeof(bad) / sizeof(bad[0]), out);
	ASSERT_INT_EQ(out->offset, 4);
}

/*
 * Requests: Anthropic -> OpenAI.
 */

TEST(a2o_messages_tools_and_parameters)
{
	struct kore_json_item	*r, *args;
	struct kore_buf		*out;
	const char		*a;

	r = req(XF_ANTHROPIC, XF_OPENAI, "{\"model\":\"claude\",\"max_tokens\":"
	    "512,\"system\":[{\"type\":\"text\",\"text\":\"Rule one.\"},"
	    "{\"type\":\"text\",\"text\":\"Rule two.\",\"cache_control\":"
	    "{\"type\":\"ephemeral\"}}],\"messages\":["
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"Look\"},{\"type\":\"image\",\"source\":{\"type\":\"base64\","
	    "\"media_type\":\"image/jpeg\",\"data\":\"/9j/4A==\"}},"
	    "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":"
	    "\"https://example.com/a.png\"}}]},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
	    "\"thinking\":\"hmm\",\"signature\":\"s\"},{\"type\":\"text\","
	    "\"text\":\"Checking.\"},{\"type\":\"tool_use\",\"id\":"
	    "\"toolu_01\",\"name\":\"lookup\",\"input\":{\"q\":\"cat\","
	    "\"n\":3,\"w\":0.25}}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
	    "\"tool_use_id\":\"toolu_01\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"a cat\"}]},{\"type\":\"text\",\"text\":\"And?\"}]}],"
	    "\"temperature\":0.3,\"top_p\":0.8,\"top_k\":40,"
	    "\"stop_sequences\":[\"STOP\"],\"tools\":[{\"name\":\"lookup\","
	    "\"description\":\"Find\",\"input_schema\":{\"type\":\"object\"}}],"
	    "\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":"
	    "true},\"metadata\":{\"user_id\":\"u1\"},\"stream\":true}",
	    "gpt-4o", 1, &out);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "model"), "gpt-4o");
	ASSERT_INT_EQ(count_at(r, "messages"), 5);
	ASSERT_STR_EQ(str_at(r, "messages.0.role"), "system");
	ASSERT_STR_EQ(str_at(r, "messages.0.content"), "Rule one.\n\nRule two.");
	ASSERT_STR_EQ(str_at(r, "messages.1.role"), "user");
	ASSERT_STR_EQ(str_at(r, "messages.1.content.0.text"), "Look");
	ASSERT_STR_EQ(str_at(r, "messages.1.content.1.image_url.url"),
	    "data:image/jpeg;base64,/9j/4A==");
	ASSERT_STR_EQ(str_at(r, "messages.1.content.2.image_url.url"),
	    "https://example.com/a.png");
	ASSERT_STR_EQ(str_at(r, "messages.2.role"), "assistant");
	ASSERT_STR_EQ(str_at(r, "messages.2.content"), "Checking.");
	ASSERT_STR_EQ(str_at(r, "messages.2.tool_calls.0.id"), "toolu_01");
	ASSERT_STR_EQ(str_at(r, "messages.2.tool_calls.0.type"), "function");
	ASSERT_STR_EQ(str_at(r, "messages.2.tool_calls.0.function.name"),
	    "lookup");
	a = str_at(r, "messages.2.tool_calls.0.function.arguments");
	ASSERT(a != NULL);
	ASSERT((args = doc(a, strlen(a))) != NULL);
	ASSERT_STR_EQ(str_at(args, "q"), "cat");
	ASSERT_INT_EQ(int_at(args, "n"), 3);
	ASSERT(num_at(args, "w") == 0.25);
	ASSERT_STR_EQ(str_at(r, "messages.3.role"), "tool");
	ASSERT_STR_EQ(str_at(r, "messages.3.tool_call_id"), "toolu_01");
	ASSERT_STR_EQ(str_at(r, "messages.3.content"), "a cat");
	ASSERT_STR_EQ(str_at(r, "messages.4.role"), "user");
	ASSERT_STR_EQ(str_at(r, "messages.4.content"), "And?");
	ASSERT_INT_EQ(int_at(r, "max_tokens"), 512);
	ASSERT(strstr(text(out), "\"temperature\":0.3,") != NULL);
	ASSERT(num_at(r, "top_p") == 0.8);
	ASSERT(at(r, "top_k") == NULL);
	ASSERT_STR_EQ(str_at(r, "stop.0"), "STOP");
	ASSERT_STR_EQ(str_at(r, "tools.0.type"), "function");
	ASSERT_STR_EQ(str_at(r, "tools.0.function.name"), "lookup");
	ASSERT_STR_EQ(str_at(r, "tools.0.function.description"), "Find");
	ASSERT_STR_EQ(str_at(r, "tools.0.function.parameters.type"), "object");
	ASSERT_STR_EQ(str_at(r, "tool_choice"), "required");
	ASSERT(at(r, "parallel_tool_calls") != NULL &&
	    !true_at(r, "parallel_tool_calls"));
	ASSERT_STR_EQ(str_at(r, "user"), "u1");
	ASSERT(true_at(r, "stream"));
	ASSERT(true_at(r, "stream_options.include_usage"));

	r = req(XF_ANTHROPIC, XF_OPENAI, "{\"max_tokens\":5,\"system\":"
	    "\"Plain.\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
	    "\"id\":\"t1\",\"name\":\"f\",\"input\":{}}]}],\"tools\":[{\"name\":"
	    "\"f\",\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":"
	    "{\"type\":\"tool\",\"name\":\"f\"}}", "gpt", 0, NULL);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "messages.0.content"), "Plain.");
	ASSERT_STR_EQ(str_at(r, "messages.1.content"), "Hi");
	ASSERT(is_null_at(r, "messages.2.content"));
	ASSERT_STR_EQ(str_at(r, "messages.2.tool_calls.0.function.arguments"),
	    "{}");
	ASSERT_STR_EQ(str_at(r, "tool_choice.type"), "function");
	ASSERT_STR_EQ(str_at(r, "tool_choice.function.name"), "f");
	ASSERT(at(r, "stream") == NULL && at(r, "stream_options") == NULL);
}

TEST(a2o_wrong_types_are_refused_naming_the_field)
{
	static const struct refusal	bad[] = {
		{ "{\"max_tokens\":5}", "messages" },
		{ "{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
		    "messages[0].role" },
		{ "{\"system\":5,\"messages\":[{\"role\":\"user\","
		    "\"content\":\"x\"}]}", "system" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
		    "\"image\",\"source\":{\"type\":\"file\"}}]}]}",
		    "messages[0].content[0].source" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
		    "\"document\",\"source\":{}}]}]}", "messages[0].content[0]" },
		{ "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
		    "\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":[]}]}]}",
		    "messages[0].content[0].input" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"max_tokens\":0}", "max_tokens" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"stop_sequences\":\"x\"}", "stop_sequences" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tools\":[{\"type\":\"web_search_20250305\",\"name\":"
		    "\"web_search\"}]}", "tools[0]" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tool_choice\":\"auto\"}", "tool_choice" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"metadata\":{\"user_id\":1}}", "metadata.user_id" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"temperature\":[]}", "temperature" },
	};
	check_refusals(a2o, bad, sizeof(bad) / sizeof(bad[0]), buf_new());
}

/* OpenAI -> Anthropic -> OpenAI keeps what the conversation means. */
TEST(request_round_trip_keeps_meaning)
{
	struct kore_json_item	*r;
	struct kore_buf		*mid;
	const char		*orig = "{\"model\":\"x\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"Sys.\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"Hi \\\"you\\\"\\n\\u00e9\\ud83d\\ude00\"},{\"type\":\"image_url\","
	    "\"image_url\":{\"url\":\"data:image/gif;base64,R0lG\"}}]},"
	    "{\"role\":\"assistant\",\"content\":\"Calling.\",\"tool_calls\":"
	    "[{\"id\":\"call_9\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"f\",\"arguments\":\"{\\\"a\\\":[1,2.5,true,null]}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_9\",\"content\":\"ok\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
	    "\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":"
	    "\"required\",\"temperature\":0.25,\"stop\":[\"x\"],"
	    "\"max_tokens\":77,\"user\":\"me\"}";

	mid = buf_new();
	ASSERT_INT_EQ(xlate_request(XF_OPENAI, XF_ANTHROPIC, orig,
	    strlen(orig), "claude", 0, mid, err, sizeof(err)), 0);
	r = req(XF_ANTHROPIC, XF_OPENAI, text(mid), "gpt", 0, NULL);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "messages.0.role"), "system");
	ASSERT_STR_EQ(str_at(r, "messages.0.content"), "Sys.");
	ASSERT_STR_EQ(str_at(r, "messages.1.content.0.text"),
	    "Hi \"you\"\n\xc3\xa9\xf0\x9f\x98\x80");
	ASSERT_STR_EQ(str_at(r, "messages.1.content.1.image_url.url"),
	    "data:image/gif;base64,R0lG");
	ASSERT_STR_EQ(str_at(r, "messages.2.content"), "Calling.");
	ASSERT_STR_EQ(str_at(r, "messages.2.tool_calls.0.id"), "call_9");
	ASSERT_STR_EQ(str_at(r, "messages.2.tool_calls.0.function.arguments"),
	    "{\"a\":[1,2.5,true,null]}");
	ASSERT_STR_EQ(str_at(r, "messages.3.role"), "tool");
	ASSERT_STR_EQ(str_at(r, "messages.3.tool_call_id"), "call_9");
	ASSERT_STR_EQ(str_at(r, "messages.3.content"), "ok");
	ASSERT_INT_EQ(count_at(r, "messages"), 4);
	ASSERT_STR_EQ(str_at(r, "tools.0.function.name"), "f");
	ASSERT_STR_EQ(str_at(r, "tool_choice"), "required");
	ASSERT(num_at(r, "temperature") == 0.25);
	ASSERT_STR_EQ(str_at(r, "stop.0"), "x");
	ASSERT_INT_EQ(int_at(r, "max_tokens"), 77);
	ASSERT_STR_EQ(str_at(r, "user"), "me");
}

TEST(identity_request_sets_model_and_stream_only)
{
	struct kore_buf		*out;
	struct kore_json_item	*r;
	const char		*b = "{ \"model\" : \"alias\", \"temperature\":0.70,"
	    "\"stream\":false,\"stream_options\":{\"x\":1},\"messages\":[] }";

	r = req(XF_OPENAI, XF_OPENAI, b, "gpt-4o", 1, &out);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(text(out), "{\"model\":\"gpt-4o\",\"temperature\":0.70,"
	    "\"messages\":[],\"stream\":true,\"stream_options\":"
	    "{\"include_usage\":true}}");
	r = req(XF_ANTHROPIC, XF_ANTHROPIC, b, "claude", 1, &out);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "model"), "claude");
	ASSERT(true_at(r, "stream"));
	ASSERT(at(r, "stream_options") == NULL);
	r = req(XF_ANTHROPIC, XF_ANTHROPIC, b, "claude", 0, &out);
	ASSERT(r != NULL && at(r, "stream") == NULL);
	ASSERT(req(XF_OPENAI, XF_OPENAI, "[]", "m", 0, NULL) == NULL);
	ASSERT(req(XF_OPENAI, 7, "{}", "m", 0, NULL) == NULL);
}

TEST(numbers_and_strings_are_written_exactly)
{
	struct kore_buf		*b;
	struct kore_json_item	*r;
	const char		*src = "{\"a\":0.7,\"b\":1e-7,\"c\":100,\"d\":-3,"
	    "\"e\":18446744073709551614,\"f\":0.1,\"g\":2.5e300,\"h\":1.0,"
	    "\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\xc3\xa9\"}";
	static const char	 bad[] = "a\xa0" "b\xed\xa0\x80"
	    "c\xf0\x9f\x98\x80\xf0\x9f\x98";

	ASSERT((r = doc(src, strlen(src))) != NULL);
	b = buf_new();
	json_value(b, r);
	ASSERT_STR_EQ(text(b), "{\"a\":0.7,\"b\":1e-07,\"c\":100,\"d\":-3,"
	    "\"e\":18446744073709551614,\"f\":0.1,\"g\":2.5e+300,\"h\":1,"
	    "\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\xc3\xa9\"}");
	b = buf_new();
	json_double(b, 0.1 + 0.2);
	ASSERT(strtod(text(b), NULL) == 0.1 + 0.2);
	/* Bytes that are not UTF-8 never reach a client as such. */
	b = buf_new();
	json_strn(b, bad, sizeof(bad) - 1);
	ASSERT_STR_EQ(text(b), "\"a\\ufffdb\\ufffd\\ufffd\\ufffdc\xf0\x9f\x98\x80"
	    "\\ufffd\\ufffd\\ufffd\"");
	b = buf_new();
	json_double(b, NAN);
	ASSERT_STR_EQ(text(b), "0");
}

/*
 * Whole answers.
 */

TEST(anthropic_answer_as_openai)
{
	struct kore_json_item	*r, *a;
	struct xlate_usage	 u;
	const char		*s;

	r = resp(XF_ANTHROPIC, XF_OPENAI, "{\"id\":\"msg_01AbC\",\"type\":"
	    "\"message\",\"role\":\"assistant\",\"model\":\"claude-x\","
	    "\"content\":[{\"type\":\"thinking\",\"thinking\":\"Hm.\","
	    "\"signature\":\"sig\"},"
	    "{\"type\":\"text\",\"text\":\"Let me check.\"},{\"type\":"
	    "\"tool_use\",\"id\":\"toolu_7\",\"name\":\"get_weather\","
	    "\"input\":{\"city\":\"Oslo\"}}],\"stop_reason\":\"tool_use\","
	    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,"
	    "\"cache_read_input_tokens\":5,\"cache_creation_input_tokens\":2,"
	    "\"output_tokens\":20}}", "my-alias", &u);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "id"), "chatcmpl-01AbC");
	ASSERT_STR_EQ(str_at(r, "object"), "chat.completion");
	ASSERT_STR_EQ(str_at(r, "model"), "my-alias");
	ASSERT(int_at(r, "created") > 1600000000);
	ASSERT_STR_EQ(str_at(r, "choices.0.message.role"), "assistant");
	ASSERT_STR_EQ(str_at(r, "choices.0.message.content"), "Let me check.");
	ASSERT_STR_EQ(str_at(r, "choices.0.message.reasoning_content"), "Hm.");
	ASSERT_STR_EQ(str_at(r, "choices.0.message.tool_calls.0.id"),
	    "toolu_7");
	ASSERT_STR_EQ(str_at(r, "choices.0.message.tool_calls.0.function."
	    "name"), "get_weather");
	s = str_at(r, "choices.0.message.tool_calls.0.function.arguments");
	ASSERT(s != NULL && (a = doc(s, strlen(s))) != NULL);
	ASSERT_STR_EQ(str_at(a, "city"), "Oslo");
	ASSERT_STR_EQ(str_at(r, "choices.0.finish_reason"), "tool_calls");
	ASSERT_INT_EQ(int_at(r, "usage.prompt_tokens"), 17);
	ASSERT_INT_EQ(int_at(r, "usage.completion_tokens"), 20);
	ASSERT_INT_EQ(int_at(r, "usage.total_tokens"), 37);
	ASSERT_INT_EQ(u.prompt_tokens, 17);
	ASSERT_INT_EQ(u.completion_tokens, 20);

	r = resp(XF_ANTHROPIC, XF_OPENAI, "{\"id\":\"msg_2\",\"content\":[],"
	    "\"stop_reason\":\"max_tokens\",\"usage\":{\"input_tokens\":1,"
	    "\"output_tokens\":0}}", "m", &u);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "choices.0.message.content"), "");
	ASSERT_STR_EQ(str_at(r, "choices.0.finish_reason"), "length");
	ASSERT(at(r, "choices.0.message.tool_calls") == NULL);

	ASSERT(resp(XF_ANTHROPIC, XF_OPENAI, "{\"id\":\"x\"}", "m", &u) ==
	    NULL);
	ASSERT_INT_EQ(u.prompt_tokens, -1);
	ASSERT(resp(XF_ANTHROPIC, XF_OPENAI, "<html>", "m", &u) == NULL);
}

TEST(openai_answer_as_anthropic)
{
	struct kore_json_item	*r;
	struct xlate_usage	 u;

	r = resp(XF_OPENAI, XF_ANTHROPIC, "{\"id\":\"chatcmpl-abc\",\"object\":"
	    "\"chat.completion\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":"
	    "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
	    "\"Sure.\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
	    "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}},"
	    "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"g\",\"arguments\":\"{not json\"}}]},\"finish_reason\":"
	    "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":9,"
	    "\"completion_tokens\":4,\"total_tokens\":13}}", "claude-alias", &u);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "id"), "msg_abc");
	ASSERT_STR_EQ(str_at(r, "type"), "message");
	ASSERT_STR_EQ(str_at(r, "role"), "assistant");
	ASSERT_STR_EQ(str_at(r, "model"), "claude-alias");
	ASSERT_STR_EQ(str_at(r, "content.0.type"), "text");
	ASSERT_STR_EQ(str_at(r, "content.0.text"), "Sure.");
	ASSERT_STR_EQ(str_at(r, "content.1.type"), "tool_use");
	ASSERT_STR_EQ(str_at(r, "content.1.id"), "call_1");
	ASSERT_INT_EQ(int_at(r, "content.1.input.x"), 1);
	ASSERT_STR_EQ(str_at(r, "content.2.name"), "g");
	ASSERT_INT_EQ(count_at(r, "content.2.input"), 0);
	ASSERT_STR_EQ(str_at(r, "stop_reason"), "tool_use");
	ASSERT(is_null_at(r, "stop_sequence"));
	ASSERT_INT_EQ(int_at(r, "usage.input_tokens"), 9);
	ASSERT_INT_EQ(int_at(r, "usage.output_tokens"), 4);
	ASSERT_INT_EQ(u.prompt_tokens, 9);
	ASSERT_INT_EQ(u.completion_tokens, 4);

	ASSERT(resp(XF_OPENAI, XF_ANTHROPIC, "{\"choices\":[]}", "m", &u) ==
	    NULL);
}

TEST(finish_and_stop_reasons_map_both_ways)
{
	static const char	*pairs[][2] = {
		{ "end_turn", "stop" }, { "max_tokens", "length" },
		{ "tool_use", "tool_calls" }, { "refusal", "content_filter" },
	};
	struct kore_json_item	*r;
	char			 body[256];
	size_t			 i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		(void)snprintf(body, sizeof(body), "{\"content\":[],"
		    "\"stop_reason\":\"%s\"}", pairs[i][0]);
		ASSERT((r = resp(XF_ANTHROPIC, XF_OPENAI, body, "m",
		    NULL)) != NULL);
		ASSERT_STR_EQ(str_at(r, "choices.0.finish_reason"),
		    pairs[i][1]);
		(void)snprintf(body, sizeof(body), "{\"choices\":[{\"message\":"
		    "{\"content\":\"\"},\"finish_reason\":\"%s\"}]}",
		    pairs[i][1]);
		ASSERT((r = resp(XF_OPENAI, XF_ANTHROPIC, body, "m",
		    NULL)) != NULL);
		ASSERT_STR_EQ(str_at(r, "stop_reason"), pairs[i][0]);
	}
	ASSERT((r = resp(XF_ANTHROPIC, XF_OPENAI, "{\"content\":[],"
	    "\"stop_reason\":\"stop_sequence\"}", "m", NULL)) != NULL);
	ASSERT_STR_EQ(str_at(r, "choices.0.finish_reason"), "stop");
}

TEST(answer_round_trip_and_identity)
{
	struct kore_buf		*mid;
	struct kore_json_item	*r;
	struct xlate_usage	 u;
	const char		*orig = "{\"id\":\"msg_rt\",\"type\":\"message\","
	    "\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"A\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\","
	    "\"input\":{\"k\":[1,{\"z\":false}]}}],\"stop_reason\":\"tool_use\","
	    "\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}";

	mid = buf_new();
	ASSERT_INT_EQ(xlate_response(XF_ANTHROPIC, XF_OPENAI, orig,
	    strlen(orig), "m", mid, &u), 0);
	r = resp(XF_OPENAI, XF_ANTHROPIC, text(mid), "m", &u);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "id"), "msg_rt");
	ASSERT_STR_EQ(str_at(r, "content.0.text"), "A");
	ASSERT_STR_EQ(str_at(r, "content.1.id"), "toolu_1");
	ASSERT(at(r, "content.1.input.k.1.z") != NULL);
	ASSERT_STR_EQ(str_at(r, "stop_reason"), "tool_use");
	ASSERT_INT_EQ(u.prompt_tokens, 3);
	ASSERT_INT_EQ(u.completion_tokens, 4);

	r = resp(XF_ANTHROPIC, XF_ANTHROPIC, orig, "alias", &u);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "model"), "alias");
	ASSERT_STR_EQ(str_at(r, "content.1.id"), "toolu_1");
	ASSERT_INT_EQ(u.prompt_tokens, 3);
	r = resp(XF_OPENAI, XF_OPENAI, text(mid), "alias2", &u);
	ASSERT(r != NULL);
	ASSERT_STR_EQ(str_at(r, "model"), "alias2");
	ASSERT_INT_EQ(u.completion_tokens, 4);
}

/* Counts an upstream cannot mean are taken as not reported. */
TEST(token_counts_out_of_range_are_ignored)
{
	struct xlate_usage	 u;
	struct xlate_stream	 st;
	struct kore_buf		*out;
	const char		*ev;

	ASSERT(resp(XF_ANTHROPIC, XF_OPENAI, "{\"content\":[],\"usage\":"
	    "{\"input_tokens\":-5,\"output_tokens\":9000000000000000000}}",
	    "m", &u) != NULL);
	ASSERT_INT_EQ(u.prompt_tokens, -1);
	ASSERT_INT_EQ(u.completion_tokens, -1);
	ASSERT(resp(XF_ANTHROPIC, XF_OPENAI, "{\"content\":[],\"usage\":"
	    "{\"input_tokens\":5,\"cache_read_input_tokens\":"
	    "9000000000000000000,\"output_tokens\":2.0}}", "m", &u) != NULL);
	ASSERT_INT_EQ(u.prompt_tokens, 5);
	ASSERT_INT_EQ(u.completion_tokens, 2);
	ASSERT(resp(XF_OPENAI, XF_ANTHROPIC, "{\"choices\":[{\"message\":"
	    "{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":\"7\","
	    "\"completion_tokens\":-1}}", "m", &u) != NULL);
	ASSERT_INT_EQ(u.prompt_tokens, -1);
	ASSERT_INT_EQ(u.completion_tokens, -1);

	out = buf_new();
	xlate_stream_init(&st, XF_ANTHROPIC, XF_ANTHROPIC, "m", "", 0);
	ev = "{\"type\":\"message_start\",\"message\":{\"usage\":"
	    "{\"input_tokens\":-3,\"output_tokens\":1e300}}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ASSERT_INT_EQ(st.usage.prompt_tokens, -1);
	ASSERT_INT_EQ(st.usage.completion_tokens, -1);
	xlate_stream_free(&st);
}

/*
 * Streams. A stream is given as the upstream's raw SSE bytes, split by
 * sse.c as the proxy does, fed to the translator, and the client's
 * bytes split again to check them event by event.
 */

struct evs {
	int			 n;
	char			 name[64][32];	/* "event:" of each */
	struct kore_json_item	*data[64];	/* NULL for [DONE] */
	int			 done_at;
};

/* Feed raw[0..len) in chunks of step bytes (0: all at once). */
static int
run_stream(struct xlate_stream *st, const char *raw, size_t len,
    size_t step, struct kore_buf *out)
{
	struct sse_parser	p;
	struct sse_event	ev;
	size_t			pos, n;
	int			rc;

	rc = 0;
	sse_init(&p);
	for (pos = 0; pos < len; pos += n) {
		n = step == 0 ? len - pos : step;
		if (n > len - pos)
			n = len - pos;
		(void)sse_feed(&p, raw + pos, n);
		while (rc == 0 && sse_next(&p, &ev) == 1) {
			if (ev.has_data && xlate_stream_event(st, ev.data,
			    ev.data_len, out) == -1)
				rc = -1;
		}
	}
	sse_free(&p);
	return (rc);
}

/* Split the client's bytes into events; -1 if framing is off. */
static int
split(struct kore_buf *out, struct evs *e)
{
	struct sse_parser	p;
	struct sse_event	ev;
	const char		*nl;
	int			rc;

	memset(e, 0, sizeof(*e));
	e->done_at = -1;
	rc = 0;
	sse_init(&p);
	(void)sse_feed(&p, out->data, out->offset);
	while (sse_next(&p, &ev) == 1 && e->n < 64) {
		if (strncmp(ev.raw, "event: ", 7) == 0) {
			nl = memchr(ev.raw, '\n', ev.raw_len);
			(void)snprintf(e->name[e->n], sizeof(e->name[0]),
			    "%.*s", (int)(nl - ev.raw - 7), ev.raw + 7);
		}
		if (ev.done) {
			e->done_at = e->n;
		} else if ((e->data[e->n] = doc(ev.data, ev.data_len)) ==
		    NULL) {
			rc = -1;
			break;
		}
		e->n++;
	}
	if (sse_pending(&p) != 0)
		rc = -1;
	sse_free(&p);
	return (rc);
}

static void
cat(char *dst, size_t len, const char *s)
{
	size_t	n;

	n = strlen(dst);
	(void)snprintf(dst + n, len - n, "%s", s);
}

#define ANTHROPIC_STREAM						\
	"event: message_start\n"					\
	"data: {\"type\":\"message_start\",\"message\":{\"id\":"	\
	"\"msg_S1\",\"type\":\"message\",\"role\":\"assistant\","	\
	"\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,"	\
	"\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"	\
	"\"output_tokens\":1}}}\n\n"					\
	"event: content_block_start\n"					\
	"data: {\"type\":\"content_block_start\",\"index\":0,"		\
	"\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"	\
	"event: ping\ndata: {\"type\": \"ping\"}\n\n"			\
	"event: content_block_delta\n"					\
	"data: {\"type\":\"content_block_delta\",\"index\":0,"		\
	"\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"	\
	"event: content_block_delta\r\n"				\
	"data: {\"type\":\"content_block_delta\",\"index\":0,"		\
	"\"delta\":{\"type\":\"text_delta\",\"text\":\" w\\u00f6rld\"}}"	\
	"\r\n\r\n"							\
	"event: content_block_stop\n"					\
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"	\
	"event: content_block_start\n"					\
	"data: {\"type\":\"content_block_start\",\"index\":1,"		\
	"\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_A\","	\
	"\"name\":\"get_weather\",\"input\":{}}}\n\n"			\
	"event: content_block_delta\n"					\
	"data: {\"type\":\"content_block_delta\",\"index\":1,"		\
	"\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":"	\
	"\"\"}}\n\n"							\
	"event: content_block_delta\n"					\
	"data: {\"type\":\"content_block_delta\",\"index\":1,"		\
	"\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":"	\
	"\"{\\\"city\\\": \"}}\n\n"					\
	"event: content_block_delta\n"					\
	"data: {\"type\":\"content_block_delta\",\"index\":1,"		\
	"\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":"	\
	"\"\\\"Paris\\\"}\"}}\n\n"					\
	"event: content_block_stop\n"					\
	"data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"	\
	"event: message_delta\n"					\
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"	\
	"\"tool_use\",\"stop_sequence\":null},\"usage\":"		\
	"{\"output_tokens\":42}}\n\n"					\
	"event: message_stop\n"						\
	"data: {\"type\":\"message_stop\"}\n\n"

TEST(anthropic_stream_as_openai_chunks)
{
	struct xlate_stream	 st;
	struct kore_buf		*out;
	struct evs		 e;
	char			 content[64], args[64];
	int			 i, roles, finishes;
	const char		*s;

	out = buf_new();
	xlate_stream_init(&st, XF_ANTHROPIC, XF_OPENAI, "alias", "", 1700000000);
	ASSERT_INT_EQ(run_stream(&st, ANTHROPIC_STREAM,
	    strlen(ANTHROPIC_STREAM), 0, out), 0);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), 0);
	xlate_stream_free(&st);
	ASSERT(st.done);
	ASSERT_INT_EQ(st.usage.prompt_tokens, 25);
	ASSERT_INT_EQ(st.usage.completion_tokens, 42);

	ASSERT_INT_EQ(split(out, &e), 0);
	ASSERT(e.n >= 6);
	ASSERT_INT_EQ(e.done_at, e.n - 1);
	/* The role first; every chunk names the same id and model. */
	ASSERT_STR_EQ(str_at(e.data[0], "choices.0.delta.role"), "assistant");
	content[0] = args[0] = '\0';
	roles = finishes = 0;
	for (i = 0; i < e.n - 1; i++) {
		ASSERT_STR_EQ(str_at(e.data[i], "id"), "chatcmpl-S1");
		ASSERT_STR_EQ(str_at(e.data[i], "object"),
		    "chat.completion.chunk");
		ASSERT_STR_EQ(str_at(e.data[i], "model"), "alias");
		ASSERT_INT_EQ(int_at(e.data[i], "created"), 1700000000);
		if (str_at(e.data[i], "choices.0.delta.role") != NULL)
			roles++;
		if ((s = str_at(e.data[i], "choices.0.delta.content")) != NULL)
			cat(content, sizeof(content), s);
		if ((s = str_at(e.data[i], "choices.0.delta.tool_calls.0."
		    "function.arguments")) != NULL)
			cat(args, sizeof(args), s);
		if (str_at(e.data[i], "choices.0.finish_reason") != NULL) {
			finishes++;
			ASSERT_STR_EQ(str_at(e.data[i],
			    "choices.0.finish_reason"), "tool_calls");
		}
	}
	ASSERT_INT_EQ(roles, 1);
	ASSERT_INT_EQ(finishes, 1);
	ASSERT_STR_EQ(content, "Hello w\xc3\xb6rld");
	ASSERT_STR_EQ(args, "{\"city\": \"Paris\"}");
	for (i = 0; i < e.n - 1; i++) {
		if (str_at(e.data[i], "choices.0.delta.tool_calls.0.id") != NULL)
			break;
	}
	ASSERT(i < e.n - 1);
	ASSERT_STR_EQ(str_at(e.data[i], "choices.0.delta.tool_calls.0.id"),
	    "toolu_A");
	ASSERT_INT_EQ(int_at(e.data[i], "choices.0.delta.tool_calls.0.index"),
	    0);
	ASSERT_STR_EQ(str_at(e.data[i], "choices.0.delta.tool_calls.0.type"),
	    "function");
	ASSERT_STR_EQ(str_at(e.data[i], "choices.0.delta.tool_calls.0."
	    "function.name"), "get_weather");
	/* The usage chunk, choices empty, right before [DONE]. */
	ASSERT_INT_EQ(count_at(e.data[e.n - 2], "choices"), 0);
	ASSERT_INT_EQ(int_at(e.data[e.n - 2], "usage.prompt_tokens"), 25);
	ASSERT_INT_EQ(int_at(e.data[e.n - 2], "usage.completion_tokens"), 42);
	ASSERT_INT_EQ(int_at(e.data[e.n - 2], "usage.total_tokens"), 67);
}

#define OPENAI_STREAM							\
	"data: {\"id\":\"chatcmpl-Z9\",\"object\":\"chat.completion.chunk\","\
	"\"created\":5,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"	\
	"\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"		\
	"\"finish_reason\":null}]}\n\n"					\
	"data: {\"id\":\"chatcmpl-Z9\",\"choices\":[{\"index\":0,"	\
	"\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"	\
	"data: {\"id\":\"chatcmpl-Z9\",\"choices\":[{\"index\":0,"	\
	"\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n"	\
	": keep-alive\n\n"						\
	"data: {\"id\":\"chatcmpl-Z9\",\"choices\":[{\"index\":0,"	\
	"\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\","	\
	"\"type\":\"function\",\"function\":{\"name\":\"f\","		\
	"\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"		\
	"data: {\"id\":\"chatcmpl-Z9\",\"choices\":[{\"index\":0,"	\
	"\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"		\
	"{\"arguments\":\"{\\\"x\\\"\"}}]},\"finish_reason\":null}]}\n\n"	\
	"data: {\"id\":\"chatcmpl-Z9\",\"choices\":[{\"index\":0,"	\
	"\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"		\
	"{\"arguments\":\":1}\"}}]},\"finish_reason\":null}]}\n\n"	\
	"data: {\"id\":\"chatcmpl-Z9\",\"choices\":[{\"index\":0,"	\
	"\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\","	\
	"\"type\":\"function\",\"function\":{\"name\":\"g\","		\
	"\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n"		\
	"data: {\"id\":\"chatcmpl-Z9\",\"choices\":[{\"index\":0,"	\
	"\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"		\
	"data: {\"id\":\"chatcmpl-Z9\",\"choices\":[],\"usage\":"	\
	"{\"prompt_tokens\":11,\"completion_tokens\":7,"		\
	"\"total_tokens\":18}}\n\n"					\
	"data: [DONE]\n\n"

TEST(openai_stream_as_anthropic_events)
{
	static const char	*want[] = {
		"message_start", "content_block_start", "content_block_delta",
		"content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta",
		"content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop",
	};
	struct xlate_stream	 st;
	struct kore_buf		*out;
	struct evs		 e;
	int			 i;

	out = buf_new();
	xlate_stream_init(&st, XF_OPENAI, XF_ANTHROPIC, "claude-alias", "",
	    0);
	ASSERT_INT_EQ(run_stream(&st, OPENAI_STREAM, strlen(OPENAI_STREAM),
	    0, out), 0);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), 0);
	xlate_stream_free(&st);
	ASSERT_INT_EQ(st.usage.prompt_tokens, 11);
	ASSERT_INT_EQ(st.usage.completion_tokens, 7);

	ASSERT_INT_EQ(split(out, &e), 0);
	ASSERT_INT_EQ(e.n, (int)(sizeof(want) / sizeof(want[0])));
	for (i = 0; i < e.n; i++) {
		ASSERT_STR_EQ(e.name[i], want[i]);
		/* The event line and the data's type agree. */
		ASSERT_STR_EQ(str_at(e.data[i], "type"), want[i]);
	}
	ASSERT_STR_EQ(str_at(e.data[0], "message.id"), "msg_Z9");
	ASSERT_STR_EQ(str_at(e.data[0], "message.model"), "claude-alias");
	ASSERT_STR_EQ(str_at(e.data[0], "message.role"), "assistant");
	ASSERT_INT_EQ(count_at(e.data[0], "message.content"), 0);
	ASSERT_STR_EQ(str_at(e.data[1], "content_block.type"), "text");
	ASSERT_INT_EQ(int_at(e.data[1], "index"), 0);
	ASSERT_STR_EQ(str_at(e.data[2], "delta.type"), "text_delta");
	ASSERT_STR_EQ(str_at(e.data[2], "delta.text"), "Hel");
	ASSERT_STR_EQ(str_at(e.data[3], "delta.text"), "lo");
	ASSERT_INT_EQ(int_at(e.data[4], "index"), 0);
	ASSERT_STR_EQ(str_at(e.data[5], "content_block.type"), "tool_use");
	ASSERT_STR_EQ(str_at(e.data[5], "content_block.id"), "call_a");
	ASSERT_STR_EQ(str_at(e.data[5], "content_block.name"), "f");
	ASSERT_INT_EQ(count_at(e.data[5], "content_block.input"), 0);
	ASSERT_INT_EQ(int_at(e.data[5], "index"), 1);
	ASSERT_STR_EQ(str_at(e.data[6], "delta.type"), "input_json_delta");
	ASSERT_STR_EQ(str_at(e.data[6], "delta.partial_json"), "{\"x\"");
	ASSERT_STR_EQ(str_at(e.data[7], "delta.partial_json"), ":1}");
	ASSERT_INT_EQ(int_at(e.data[8], "index"), 1);
	ASSERT_STR_EQ(str_at(e.data[9], "content_block.id"), "call_b");
	ASSERT_INT_EQ(int_at(e.data[9], "index"), 2);
	ASSERT_STR_EQ(str_at(e.data[10], "delta.partial_json"), "{}");
	ASSERT_STR_EQ(str_at(e.data[12], "delta.stop_reason"), "tool_use");
	ASSERT(is_null_at(e.data[12], "delta.stop_sequence"));
	ASSERT_INT_EQ(int_at(e.data[12], "usage.output_tokens"), 7);
	ASSERT_INT_EQ(int_at(e.data[12], "usage.input_tokens"), 11);
}

/* Claude's thinking reaches OpenAI clients as reasoning_content. */
TEST(anthropic_thinking_as_reasoning_content)
{
	struct xlate_stream	 st;
	struct kore_buf		*out;
	struct evs		 e;
	const char		*ev[] = {
		"{\"type\":\"message_start\",\"message\":{\"id\":\"msg_T\","
		    "\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}",
		"{\"type\":\"content_block_start\",\"index\":0,"
		    "\"content_block\":{\"type\":\"thinking\",\"thinking\":"
		    "\"\"}}",
		"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
		    "{\"type\":\"thinking_delta\",\"thinking\":\"Let me see\"}}",
		"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
		    "{\"type\":\"signature_delta\",\"signature\":\"EqQB\"}}",
		"{\"type\":\"content_block_stop\",\"index\":0}",
		"{\"type\":\"content_block_start\",\"index\":1,"
		    "\"content_block\":{\"type\":\"redacted_thinking\","
		    "\"data\":\"xyz\"}}",
		"{\"type\":\"content_block_stop\",\"index\":1}",
		"{\"type\":\"content_block_start\",\"index\":2,"
		    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
		"{\"type\":\"content_block_delta\",\"index\":2,\"delta\":"
		    "{\"type\":\"text_delta\",\"text\":\"42\"}}",
		"{\"type\":\"content_block_stop\",\"index\":2}",
		"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
		    "\"end_turn\"},\"usage\":{\"output_tokens\":5}}",
		"{\"type\":\"message_stop\"}",
	};
	size_t			 i;

	out = buf_new();
	xlate_stream_init(&st, XF_ANTHROPIC, XF_OPENAI, "m", "", 0);
	for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		ASSERT_INT_EQ(xlate_stream_event(&st, ev[i], strlen(ev[i]),
		    out), 0);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), 0);
	xlate_stream_free(&st);
	ASSERT_INT_EQ(split(out, &e), 0);
	/* role, reasoning, content, finish, usage, [DONE] */
	ASSERT_INT_EQ(e.n, 6);
	ASSERT_STR_EQ(str_at(e.data[1], "choices.0.delta.reasoning_content"),
	    "Let me see");
	ASSERT(at(e.data[1], "choices.0.delta.content") == NULL);
	ASSERT_STR_EQ(str_at(e.data[2], "choices.0.delta.content"), "42");
	ASSERT_STR_EQ(str_at(e.data[3], "choices.0.finish_reason"), "stop");
	ASSERT(strstr(text(out), "EqQB") == NULL);
	ASSERT(strstr(text(out), "xyz") == NULL);
}

/* The same bytes however they are cut give the same client bytes. */
TEST(streams_in_odd_splits_translate_the_same)
{
	static const struct {
		int		 from, to;
		const char	*raw;
	} cases[] = {
		{ XF_ANTHROPIC, XF_OPENAI, ANTHROPIC_STREAM },
		{ XF_OPENAI, XF_ANTHROPIC, OPENAI_STREAM },
		{ XF_ANTHROPIC, XF_ANTHROPIC, ANTHROPIC_STREAM },
		{ XF_OPENAI, XF_OPENAI, OPENAI_STREAM },
	};
	struct xlate_stream	 st;
	struct kore_buf		*whole, *cut;
	size_t			 c, step, len;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		len = strlen(cases[c].raw);
		whole = buf_new();
		xlate_stream_init(&st, cases[c].from, cases[c].to, "m", "id1",
		    9);
		ASSERT_INT_EQ(run_stream(&st, cases[c].raw, len, 0, whole), 0);
		ASSERT_INT_EQ(xlate_stream_finish(&st, whole), 0);
		xlate_stream_free(&st);
		ASSERT(whole->offset > 0);
		for (step = 1; step < 64; step += (step < 8 ? 1 : 7)) {
			cut = buf_new();
			xlate_stream_init(&st, cases[c].from, cases[c].to, "m",
			    "id1", 9);
			ASSERT_INT_EQ(run_stream(&st, cases[c].raw, len, step,
			    cut), 0);
			ASSERT_INT_EQ(xlate_stream_finish(&st, cut), 0);
			xlate_stream_free(&st);
			if (cut->offset != whole->offset ||
			    memcmp(cut->data, whole->data, cut->offset) != 0)
				FAIL("case %zu step %zu differs", c, step);
		}
	}
}

TEST(stream_error_events_stop_the_stream)
{
	struct xlate_stream	 st;
	struct kore_buf		*out;
	const char		*ev;

	out = buf_new();
	xlate_stream_init(&st, XF_ANTHROPIC, XF_OPENAI, "m", "", 0);
	ev = "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
	    "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ev = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	    "\"message\":\"Overloaded\"}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), -1);
	ASSERT_STR_EQ(st.err, "Overloaded");
	/* Cut short: finish adds nothing and says so. */
	out->offset = 0;
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), -1);
	ASSERT_INT_EQ(out->offset, 0);
	ASSERT(!st.done);
	ASSERT_INT_EQ(st.usage.prompt_tokens, 3);
	xlate_stream_free(&st);

	xlate_stream_init(&st, XF_OPENAI, XF_ANTHROPIC, "m", "", 0);
	ev = "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), -1);
	ASSERT_STR_EQ(st.err, "boom");
	ASSERT_INT_EQ(xlate_stream_event(&st, "nope", 4, out), -1);
	ASSERT(strstr(st.err, "JSON") != NULL);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), -1);
	ASSERT_INT_EQ(out->offset, 0);
	xlate_stream_free(&st);

	xlate_stream_init(&st, XF_ANTHROPIC, XF_OPENAI, "m", "", 0);
	ASSERT_INT_EQ(xlate_stream_event(&st, "{\"no\":1}", 8, out), -1);
	ASSERT_INT_EQ(xlate_stream_event(&st, "[1]", 3, out), -1);
	xlate_stream_free(&st);

	xlate_stream_init(&st, XF_ANTHROPIC, XF_ANTHROPIC, "m", "", 0);
	ev = "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
	    "\"message\":\"Internal\"}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), -1);
	ASSERT_STR_EQ(st.err, "Internal");
	ev = "{\"type\":\"bad\\nevent: x\"}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), -1);
	xlate_stream_free(&st);
}

/* Some OpenAI-compatible servers end without [DONE]. */
TEST(openai_stream_without_done_closes_on_finish)
{
	struct xlate_stream	 st;
	struct kore_buf		*out;
	struct evs		 e;
	const char		*ev;

	out = buf_new();
	xlate_stream_init(&st, XF_OPENAI, XF_ANTHROPIC, "m", "msg_given", 0);
	ev = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},"
	    "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":2,"
	    "\"completion_tokens\":1}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ASSERT(!st.done);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), 0);
	ASSERT(st.done);
	xlate_stream_free(&st);
	ASSERT_INT_EQ(split(out, &e), 0);
	ASSERT_INT_EQ(e.n, 6);
	ASSERT_STR_EQ(str_at(e.data[0], "message.id"), "msg_given");
	ASSERT_STR_EQ(e.name[4], "message_delta");
	ASSERT_STR_EQ(str_at(e.data[4], "delta.stop_reason"), "max_tokens");
	ASSERT_STR_EQ(e.name[5], "message_stop");

	/* Only a role chunk, then the end: cut short. */
	out = buf_new();
	xlate_stream_init(&st, XF_OPENAI, XF_ANTHROPIC, "m", "", 0);
	ev = "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), -1);
	xlate_stream_free(&st);

	/* An Anthropic stream without message_stop is cut short too. */
	out = buf_new();
	xlate_stream_init(&st, XF_ANTHROPIC, XF_OPENAI, "m", "", 0);
	ev = "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	    "\"end_turn\"},\"usage\":{\"output_tokens\":3}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), -1);
	ASSERT(strstr(text(out), "[DONE]") == NULL);
	xlate_stream_free(&st);
}

TEST(passthrough_streams_are_watched)
{
	struct xlate_stream	 st;
	struct kore_buf		*out;
	const char		*ev;

	out = buf_new();
	xlate_stream_init(&st, XF_ANTHROPIC, XF_ANTHROPIC, "m", "", 0);
	ev = "{\"type\":\"message_start\",\"message\":{\"usage\":"
	    "{\"input_tokens\":4,\"cache_read_input_tokens\":6,"
	    "\"output_tokens\":1}}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ASSERT(strncmp(text(out), "event: message_start\ndata: {\"type\"",
	    34) == 0);
	ev = "{\"type\":\"message_delta\",\n\"usage\":{\"output_tokens\":9}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	/* Data of two lines stays two data lines. */
	ASSERT(strstr(text(out), "event: message_delta\ndata: {\"type\":"
	    "\"message_delta\",\ndata: \"usage\"") != NULL);
	ASSERT(!st.done);
	ev = "{\"type\":\"message_stop\"}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ASSERT(st.done);
	ASSERT_INT_EQ(st.usage.prompt_tokens, 10);
	ASSERT_INT_EQ(st.usage.completion_tokens, 9);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), 0);
	xlate_stream_free(&st);

	out = buf_new();
	xlate_stream_init(&st, XF_OPENAI, XF_OPENAI, "m", "", 0);
	ev = "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
	    "\"completion_tokens\":6}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), -1);
	ASSERT_INT_EQ(xlate_stream_event(&st, "[DONE]", 6, out), 0);
	ASSERT_STR_EQ(text(out), "data: {\"choices\":[],\"usage\":"
	    "{\"prompt_tokens\":5,\"completion_tokens\":6}}\n\n"
	    "data: [DONE]\n\n");
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), 0);
	ASSERT_INT_EQ(st.usage.prompt_tokens, 5);
	ASSERT_INT_EQ(st.usage.completion_tokens, 6);
	xlate_stream_free(&st);
}

TEST(stream_error_events_in_each_format)
{
	struct kore_buf		*out;
	struct evs		 e;

	out = buf_new();
	xlate_stream_error(XF_OPENAI, NULL, "upstream \"reset\"", out);
	/* Byte for byte what proxy_stream_error writes. */
	ASSERT_STR_EQ(text(out), "data: {\"error\":{\"message\":\"upstream "
	    "\\\"reset\\\"\",\"type\":\"upstream_error\",\"code\":"
	    "\"stream_interrupted\"}}\n\n");
	out = buf_new();
	xlate_stream_error(XF_ANTHROPIC, NULL, "gone", out);
	ASSERT_INT_EQ(split(out, &e), 0);
	ASSERT_INT_EQ(e.n, 1);
	ASSERT_STR_EQ(e.name[0], "error");
	ASSERT_STR_EQ(str_at(e.data[0], "type"), "error");
	ASSERT_STR_EQ(str_at(e.data[0], "error.type"), "api_error");
	ASSERT_STR_EQ(str_at(e.data[0], "error.message"), "gone");
}

/*
 * Errors.
 */

TEST(error_bodies_map_types_from_status)
{
	static const struct {
		int		 status;
		const char	*type;
	} map[] = {
		{ 400, "invalid_request_error" },
		{ 401, "authentication_error" },
		{ 403, "permission_error" },
		{ 404, "not_found_error" },
		{ 413, "request_too_large" },
		{ 422, "invalid_request_error" },
		{ 429, "rate_limit_error" },
		{ 500, "api_error" },
		{ 502, "api_error" },
		{ 503, "overloaded_error" },
		{ 529, "overloaded_error" },
	};
	struct kore_json_item	*r;
	struct kore_buf		*out;
	size_t			 i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		out = buf_new();
		anthropic_error_body(map[i].status, "why \"x\"", out);
		ASSERT((r = doc_buf(out)) != NULL);
		ASSERT_STR_EQ(str_at(r, "type"), "error");
		ASSERT_STR_EQ(str_at(r, "error.type"), map[i].type);
		ASSERT_STR_EQ(str_at(r, "error.message"), "why \"x\"");
	}

	out = buf_new();
	xlate_error_body(XF_OPENAI, 429, NULL, "rate_limited", "slow down",
	    out);
	ASSERT((r = doc_buf(out)) != NULL);
	ASSERT_STR_EQ(str_at(r, "error.message"), "slow down");
	ASSERT_STR_EQ(str_at(r, "error.type"), "rate_limit_error");
	ASSERT_STR_EQ(str_at(r, "error.code"), "rate_limited");
	out = buf_new();
	xlate_error_body(XF_OPENAI, 400, "invalid_request_error", NULL, "bad",
	    out);
	ASSERT((r = doc_buf(out)) != NULL);
	ASSERT(is_null_at(r, "error.code"));
	out = buf_new();
	xlate_error_body(XF_ANTHROPIC, 401, "x", "y", "no key", out);
	ASSERT((r = doc_buf(out)) != NULL);
	ASSERT_STR_EQ(str_at(r, "error.type"), "authentication_error");
}

TEST(upstream_errors_change_shape_keep_message)
{
	struct kore_json_item	*r;
	struct kore_buf		*out;
	char			 msg[64];
	const char		*a = "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"overloaded_error\",\"message\":\"Overloaded\"}}";
	const char		*o = "{\"error\":{\"message\":\"Rate limit "
	    "reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}";

	out = buf_new();
	xlate_error(XF_ANTHROPIC, XF_OPENAI, 529, a, strlen(a), out);
	ASSERT((r = doc_buf(out)) != NULL);
	ASSERT_STR_EQ(str_at(r, "error.message"), "Overloaded");
	ASSERT_STR_EQ(str_at(r, "error.type"), "overloaded_error");

	out = buf_new();
	xlate_error(XF_OPENAI, XF_ANTHROPIC, 429, o, strlen(o), out);
	ASSERT((r = doc_buf(out)) != NULL);
	ASSERT_STR_EQ(str_at(r, "type"), "error");
	ASSERT_STR_EQ(str_at(r, "error.type"), "rate_limit_error");
	ASSERT_STR_EQ(str_at(r, "error.message"), "Rate limit reached");

	out = buf_new();
	xlate_error(XF_OPENAI, XF_OPENAI, 429, o, strlen(o), out);
	ASSERT_STR_EQ(text(out), o);

	out = buf_new();
	xlate_error(XF_ANTHROPIC, XF_OPENAI, 502, "<html>bad gateway</html>",
	    24, out);
	ASSERT((r = doc_buf(out)) != NULL);
	ASSERT_STR_EQ(str_at(r, "error.message"), "upstream answered 502");

	json_error_message(a, strlen(a), msg, sizeof(msg));
	ASSERT_STR_EQ(msg, "Overloaded");
	json_error_message(o, strlen(o), msg, sizeof(msg));
	ASSERT_STR_EQ(msg, "Rate limit reached");
	/* Gemini's streaming error: an array of one error object. */
	json_error_message("[{\"error\":{\"code\":429,\"message\":\"Quota\","
	    "\"status\":\"RESOURCE_EXHAUSTED\"}}]", 72, msg, sizeof(msg));
	ASSERT_STR_EQ(msg, "Quota");
	json_error_message("{\"error\":\"plain\"}", 17, msg, sizeof(msg));
	ASSERT_STR_EQ(msg, "plain");
	json_error_message("{\"message\":\"top\"}", 17, msg, sizeof(msg));
	ASSERT_STR_EQ(msg, "top");
	json_error_message("oops", 4, msg, sizeof(msg));
	ASSERT_STR_EQ(msg, "");
	json_error_message(o, strlen(o), msg, 5);
	ASSERT_STR_EQ(msg, "Rate");
}

TEST(formats_and_token_counts)
{
	struct kore_buf		*out;
	struct kore_json_item	*r;
	const char		*c;
	int64_t			 n;

	ASSERT_INT_EQ(xlate_format("openai"), XF_OPENAI);
	ASSERT_INT_EQ(xlate_format("anthropic"), XF_ANTHROPIC);
	ASSERT_INT_EQ(xlate_format("gemini"), XF_GEMINI);
	ASSERT_INT_EQ(xlate_format("Gemini"), -1);
	ASSERT_INT_EQ(xlate_format(NULL), -1);
	ASSERT_STR_EQ(xlate_format_name(XF_ANTHROPIC), "anthropic");
	ASSERT_STR_EQ(xlate_format_name(XF_GEMINI), "gemini");
	ASSERT_STR_EQ(xlate_format_name(XF_OPENAI), "openai");
	ASSERT_STR_EQ(xlate_format_name(9), "unknown");

	out = buf_new();
	c = "{\"model\":\"a\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"hi\"}]}";
	ASSERT_INT_EQ(xlate_count_request(XF_ANTHROPIC, XF_ANTHROPIC, c, strlen(c),
	    "claude-real", out, err, sizeof(err)), 0);
	ASSERT((r = doc_buf(out)) != NULL);
	ASSERT_STR_EQ(str_at(r, "model"), "claude-real");
	ASSERT_STR_EQ(str_at(r, "messages.0.content"), "hi");
	out = buf_new();
	ASSERT_INT_EQ(xlate_count_request(XF_ANTHROPIC, XF_OPENAI, "{}", 2, "m", out, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "count") != NULL);
	ASSERT_INT_EQ(out->offset, 0);

	out = buf_new();
	ASSERT_INT_EQ(xlate_count_response(XF_ANTHROPIC, XF_ANTHROPIC,
	    "{\"input_tokens\":1234}", 21, out, &n), 0);
	ASSERT_INT_EQ(n, 1234);
	ASSERT_STR_EQ(text(out), "{\"input_tokens\":1234}");
	ASSERT_INT_EQ(xlate_count_response(XF_ANTHROPIC, XF_ANTHROPIC,
	    "{\"input_tokens\":\"x\"}", 20, out, &n), -1);
	ASSERT_INT_EQ(xlate_count_response(XF_OPENAI, XF_ANTHROPIC, "{}", 2, out, &n), -1);
}

/* Anthropic client, Gemini upstream: through OpenAI both ways. */
TEST(gemini_chain_through_openai)
{
	struct xlate_stream	 st;
	struct kore_buf		*out;
	struct kore_json_item	*r;
	const char		*ev;

	r = req(XF_ANTHROPIC, XF_GEMINI, "{\"max_tokens\":9,\"system\":\"S\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
	    "gemini-2.0-flash", 0, NULL);
	ASSERT(r != NULL);
	ASSERT(at(r, "contents") != NULL);

	out = buf_new();
	xlate_stream_init(&st, XF_GEMINI, XF_ANTHROPIC, "alias", "", 0);
	ev = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}],"
	    "\"role\":\"model\"},\"index\":0}]}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ev = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo\"}],"
	    "\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
	    "\"usageMetadata\":{\"promptTokenCount\":3,"
	    "\"candidatesTokenCount\":2,\"totalTokenCount\":5}}";
	ASSERT_INT_EQ(xlate_stream_event(&st, ev, strlen(ev), out), 0);
	ASSERT_INT_EQ(xlate_stream_finish(&st, out), 0);
	xlate_stream_free(&st);
	ASSERT(strstr(text(out), "event: message_start\n") != NULL);
	ASSERT(strstr(text(out), "\"text\":\"Hel\"") != NULL);
	ASSERT(strstr(text(out), "\"stop_reason\":\"end_turn\"") != NULL);
	ASSERT(strstr(text(out), "event: message_stop\n") != NULL);
	ASSERT_INT_EQ(st.usage.prompt_tokens, 3);
	ASSERT_INT_EQ(st.usage.completion_tokens, 2);
}

void
run_xlate_tests(int *passed, int *failed)
{
	RUN(o2a_system_and_developer_become_top_level_system);
	RUN(o2a_consecutive_roles_merge_and_empty_text_goes);
	RUN(o2a_images_as_base64_url_and_pdf);
	RUN(o2a_tools_and_tool_choice);
	RUN(o2a_tool_calls_and_results);
	RUN(o2a_sampling_limits_stop_stream_user);
	RUN(o2a_response_format_goes_to_system);
	RUN(o2a_wrong_types_are_refused_naming_the_field);
	RUN(a2o_messages_tools_and_parameters);
	RUN(a2o_wrong_types_are_refused_naming_the_field);
	RUN(request_round_trip_keeps_meaning);
	RUN(identity_request_sets_model_and_stream_only);
	RUN(numbers_and_strings_are_written_exactly);
	RUN(anthropic_answer_as_openai);
	RUN(openai_answer_as_anthropic);
	RUN(finish_and_stop_reasons_map_both_ways);
	RUN(answer_round_trip_and_identity);
	RUN(token_counts_out_of_range_are_ignored);
	RUN(anthropic_stream_as_openai_chunks);
	RUN(openai_stream_as_anthropic_events);
	RUN(anthropic_thinking_as_reasoning_content);
	RUN(streams_in_odd_splits_translate_the_same);
	RUN(stream_error_events_stop_the_stream);
	RUN(openai_stream_without_done_closes_on_finish);
	RUN(passthrough_streams_are_watched);
	RUN(stream_error_events_in_each_format);
	RUN(error_bodies_map_types_from_status);
	RUN(upstream_errors_change_shape_keep_message);
	RUN(formats_and_token_counts);
	RUN(gemini_chain_through_openai);
	rings_free();
}
