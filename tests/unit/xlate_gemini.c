/*
 * Unit tests of src/xlate_gemini.c: OpenAI chat completions to and from
 * Gemini generateContent, streams split at odd byte boundaries by
 * sse.c, countTokens and error bodies. Every output is parsed back with
 * kore_json and checked field by field.
 */

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"
#include "test.h"
#include "xlate_util.h"

void	run_xlate_gemini_tests(int *, int *);

/* A parsed output, and lookups in it by kore_json_find paths. */
struct out {
	struct kore_json	j;
	int			ok;
};

static int
out_parse(struct out *o, const void *data, size_t len)
{
	kore_json_init(&o->j, data, len);
	o->ok = kore_json_parse(&o->j);
	return (o->ok);
}

static void
out_free(struct out *o)
{
	kore_json_cleanup(&o->j);
}

static const char *
sget(struct out *o, const char *path)
{
	struct kore_json_item	*it;

	if (!o->ok)
		return (NULL);
	it = kore_json_find_string(o->j.root, path);
	return (it ? it->data.string : NULL);
}

/* An integer at path, or -999 when there is none. */
static int64_t
iget(struct out *o, const char *path)
{
	struct kore_json_item	*it;

	if (!o->ok)
		return (-999);
	if ((it = kore_json_find_integer_u64(o->j.root, path)) != NULL)
		return ((int64_t)it->data.u64);
	if ((it = kore_json_find_integer(o->j.root, path)) != NULL)
		return (it->data.s64);
	return (-999);
}

static double
nget(struct out *o, const char *path)
{
	struct kore_json_item	*it;

	if (!o->ok)
		return (-999);
	if ((it = kore_json_find_number(o->j.root, path)) != NULL)
		return (it->data.number);
	return ((double)iget(o, path));
}

static int
has(struct out *o, const char *path, u_int32_t type)
{
	return (o->ok && kore_json_find(o->j.root, path, type) != NULL);
}

static int
count(struct out *o, const char *path)
{
	if (!o->ok)
		return (-1);
	return (json_items(kore_json_find_array(o->j.root, path)));
}

/* Translates an OpenAI request; out holds the Gemini body. */
static int
req(const char *body, struct kore_buf *b, char *err, size_t errlen)
{
	kore_buf_reset(b);
	return (xlate_request(XF_OPENAI, XF_GEMINI, body, strlen(body),
	    "gemini-x", 0, b, err, errlen));
}

/* req, and o parsed from what it wrote: 0, or -1 with err saying why. */
static int
req_out(const char *body, struct kore_buf *b, struct out *o, char *err,
    size_t errlen)
{
	if (req(body, b, err, errlen) != 0)
		return (-1);
	if (!out_parse(o, b->data, b->offset)) {
		out_free(o);
		(void)snprintf(err, errlen, "the output is not JSON");
		return (-1);
	}
	return (0);
}

TEST(request_maps_roles_and_merges_turns)
{
	const char	*body = "{\"model\":\"g\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"Be brief.\"},"
	    "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"Use metric.\"}]},"
	    "{\"role\":\"user\",\"content\":\"Hi\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"there\"}]},"
	    "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
	    "{\"role\":\"assistant\",\"content\":null,\"refusal\":null},"
	    "{\"role\":\"user\",\"content\":\"Weather?\"}],"
	    "\"stream\":true,\"user\":\"u1\",\"temperature\":null}";
	struct kore_buf	 b;
	struct out	 o;
	char		 err[256];

	kore_buf_init(&b, 256);
	if (req_out(body, &b, &o, err, sizeof(err)) != 0)
		FAIL("refused: %s", err);
	ASSERT_STR_EQ(sget(&o, "systemInstruction/parts[0]/text"),
	    "Be brief.");
	ASSERT_STR_EQ(sget(&o, "systemInstruction/parts[1]/text"),
	    "Use metric.");
	ASSERT_INT_EQ(count(&o, "contents"), 3);
	ASSERT_STR_EQ(sget(&o, "contents[0]/role"), "user");
	ASSERT_INT_EQ(count(&o, "contents[0]/parts"), 2);
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[0]/text"), "Hi");
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[1]/text"), "there");
	ASSERT_STR_EQ(sget(&o, "contents[1]/role"), "model");
	ASSERT_INT_EQ(count(&o, "contents[1]/parts"), 1);
	ASSERT_STR_EQ(sget(&o, "contents[1]/parts[0]/text"), "Hello!");
	ASSERT_STR_EQ(sget(&o, "contents[2]/role"), "user");
	/* Nothing of OpenAI's survives at the top: no model, no stream. */
	ASSERT(!has(&o, "model", KORE_JSON_TYPE_STRING));
	ASSERT(!has(&o, "stream", KORE_JSON_TYPE_LITERAL));
	ASSERT(!has(&o, "generationConfig", KORE_JSON_TYPE_OBJECT));
	out_free(&o);
	kore_buf_cleanup(&b);
}

TEST(request_maps_images_and_media)
{
	const char	*body = "{\"messages\":[{\"role\":\"user\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"What is this?\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/png;base64,iVBORw0KGgo=\",\"detail\":\"low\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"https://example.com/a/cat.WEBP?sig=x.png#y\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"https://example.com/img\"}},"
	    "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\","
	    "\"format\":\"wav\"}},"
	    "{\"type\":\"file\",\"file\":{\"file_data\":"
	    "\"data:application/pdf;base64,JVBERi0=\",\"filename\":\"a.pdf\"}}"
	    "]}]}";
	struct kore_buf	 b;
	struct out	 o;
	char		 err[256];

	kore_buf_init(&b, 256);
	if (req_out(body, &b, &o, err, sizeof(err)) != 0)
		FAIL("refused: %s", err);
	ASSERT_INT_EQ(count(&o, "contents[0]/parts"), 6);
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[1]/inlineData/mimeType"),
	    "image/png");
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[1]/inlineData/data"),
	    "iVBORw0KGgo=");
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[2]/fileData/mimeType"),
	    "image/webp");
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[2]/fileData/fileUri"),
	    "https://example.com/a/cat.WEBP?sig=x.png#y");
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[3]/fileData/mimeType"),
	    "image/jpeg");
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[4]/inlineData/mimeType"),
	    "audio/wav");
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[5]/inlineData/mimeType"),
	    "application/pdf");
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[5]/inlineData/data"),
	    "JVBERi0=");
	out_free(&o);

	/* An image_url given as a bare string, as some clients send it. */
	ASSERT_INT_EQ(req("{\"messages\":[{\"role\":\"user\",\"content\":"
	    "[{\"type\":\"image_url\",\"image_url\":\"http://h/x.gif\"}]}]}",
	    &b, err, sizeof(err)), 0);
	ASSERT(out_parse(&o, b.data, b.offset));
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[0]/fileData/mimeType"),
	    "image/gif");
	out_free(&o);

	ASSERT_INT_EQ(req("{\"messages\":[{\"role\":\"user\",\"content\":"
	    "[{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:text/plain,hello\"}}]}]}", &b, err, sizeof(err)), -1);
	ASSERT(strstr(err, "messages[0].content[0]") != NULL);
	ASSERT(strstr(err, "base64") != NULL);
	ASSERT_INT_EQ(req("{\"messages\":[{\"role\":\"user\",\"content\":"
	    "[{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"ftp://h/x.png\"}}]}]}", &b, err, sizeof(err)), -1);
	ASSERT(strstr(err, "URL") != NULL);
	kore_buf_cleanup(&b);
}

TEST(request_maps_tools_and_cleans_schemas)
{
	const char	*body = "{\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":{"
	    "\"name\":\"get_weather\",\"description\":\"Weather \\\"now\\\"\","
	    "\"strict\":true,\"parameters\":{"
	    "\"$schema\":\"http://json-schema.org/draft-07/schema#\","
	    "\"type\":\"object\",\"additionalProperties\":false,"
	    "\"properties\":{\"city\":{\"type\":\"string\",\"format\":\"uri\","
	    "\"description\":\"City\"},"
	    "\"strict\":{\"type\":[\"string\",\"null\"],\"format\":"
	    "\"date-time\"},"
	    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	    "\"additionalProperties\":false,\"$ref\":\"#/$defs/k\"}},"
	    "\"mode\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":"
	    "\"integer\",\"minimum\":1}],\"const\":1}},"
	    "\"required\":[\"city\"]}}},"
	    "{\"type\":\"function\",\"function\":{\"name\":\"now\","
	    "\"parameters\":{\"type\":\"object\",\"properties\":{}}}}],"
	    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\"}}}";
	const char	*choices[][2] = {
		{ "\"auto\"", "AUTO" }, { "\"none\"", "NONE" },
		{ "\"required\"", "ANY" }, { NULL, NULL }
	};
	struct kore_buf	 b;
	struct out	 o;
	char		 err[256], tmp[512];
	int		 i;

	kore_buf_init(&b, 256);
	if (req_out(body, &b, &o, err, sizeof(err)) != 0)
		FAIL("refused: %s", err);
	ASSERT_INT_EQ(count(&o, "tools"), 1);
	ASSERT_INT_EQ(count(&o, "tools[0]/functionDeclarations"), 2);
	ASSERT_STR_EQ(sget(&o, "tools[0]/functionDeclarations[0]/name"),
	    "get_weather");
	ASSERT_STR_EQ(sget(&o, "tools[0]/functionDeclarations[0]/"
	    "description"), "Weather \"now\"");
	ASSERT(!has(&o, "tools[0]/functionDeclarations[0]/strict",
	    KORE_JSON_TYPE_LITERAL));
	ASSERT(!has(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "$schema", KORE_JSON_TYPE_STRING));
	ASSERT(!has(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "additionalProperties", KORE_JSON_TYPE_LITERAL));
	ASSERT_STR_EQ(sget(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "type"), "object");
	ASSERT_STR_EQ(sget(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "required[0]"), "city");
	ASSERT_STR_EQ(sget(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/city/description"), "City");
	/* format "uri" is refused by Gemini, date-time is not. */
	ASSERT(!has(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/city/format", KORE_JSON_TYPE_STRING));
	/* A property called "strict" is a name, not a keyword. */
	ASSERT_STR_EQ(sget(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/strict/type"), "string");
	ASSERT(has(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/strict/nullable", KORE_JSON_TYPE_LITERAL));
	ASSERT_STR_EQ(sget(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/strict/format"), "date-time");
	ASSERT(!has(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/tags/items/additionalProperties",
	    KORE_JSON_TYPE_LITERAL));
	ASSERT_STR_EQ(sget(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/tags/items/type"), "object");
	ASSERT(!has(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/tags/items/$ref", KORE_JSON_TYPE_STRING));
	ASSERT_INT_EQ(count(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/mode/anyOf"), 2);
	ASSERT(!has(&o, "tools[0]/functionDeclarations[0]/parameters/"
	    "properties/mode/const", KORE_JSON_TYPE_INTEGER_U64));
	/* No parameters at all rather than an empty OBJECT. */
	ASSERT_STR_EQ(sget(&o, "tools[0]/functionDeclarations[1]/name"),
	    "now");
	ASSERT(!has(&o, "tools[0]/functionDeclarations[1]/parameters",
	    KORE_JSON_TYPE_OBJECT));
	ASSERT_STR_EQ(sget(&o, "toolConfig/functionCallingConfig/mode"),
	    "ANY");
	ASSERT_STR_EQ(sget(&o, "toolConfig/functionCallingConfig/"
	    "allowedFunctionNames[0]"), "get_weather");
	out_free(&o);
	kore_buf_stringify(&b, NULL);
	ASSERT(strstr((char *)b.data, "additionalProperties") == NULL);
	ASSERT(strstr((char *)b.data, "$schema") == NULL);

	for (i = 0; choices[i][0] != NULL; i++) {
		(void)snprintf(tmp, sizeof(tmp), "{\"messages\":[{\"role\":"
		    "\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":"
		    "\"function\",\"function\":{\"name\":\"f\"}}],"
		    "\"tool_choice\":%s}", choices[i][0]);
		ASSERT_INT_EQ(req(tmp, &b, err, sizeof(err)), 0);
		ASSERT(out_parse(&o, b.data, b.offset));
		ASSERT_STR_EQ(sget(&o, "toolConfig/functionCallingConfig/"
		    "mode"), choices[i][1]);
		ASSERT(!has(&o, "toolConfig/functionCallingConfig/"
		    "allowedFunctionNames", KORE_JSON_TYPE_ARRAY));
		out_free(&o);
	}
	kore_buf_cleanup(&b);
}

TEST(request_maps_tool_calls_and_results)
{
	const char	*body = "{\"messages\":["
	    "{\"role\":\"user\",\"content\":\"Weather in Paris and Oslo?\"},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\","
	    "\\\"days\\\":2}\"}},"
	    "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_time\",\"arguments\":\"\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":"
	    "\"12:00\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":"
	    "\"{\\\"temp\\\":21.5}\"},"
	    "{\"role\":\"assistant\",\"content\":\"Sunny, 21.5.\"}]}";
	struct kore_buf	 b;
	struct out	 o;
	char		 err[256];

	kore_buf_init(&b, 256);
	if (req_out(body, &b, &o, err, sizeof(err)) != 0)
		FAIL("refused: %s", err);
	ASSERT_INT_EQ(count(&o, "contents"), 4);
	ASSERT_STR_EQ(sget(&o, "contents[1]/role"), "model");
	ASSERT_INT_EQ(count(&o, "contents[1]/parts"), 2);
	ASSERT_STR_EQ(sget(&o, "contents[1]/parts[0]/functionCall/name"),
	    "get_weather");
	ASSERT_STR_EQ(sget(&o, "contents[1]/parts[0]/functionCall/args/city"),
	    "Paris");
	ASSERT_INT_EQ(iget(&o, "contents[1]/parts[0]/functionCall/args/days"),
	    2);
	ASSERT_STR_EQ(sget(&o, "contents[1]/parts[1]/functionCall/name"),
	    "get_time");
	ASSERT(has(&o, "contents[1]/parts[1]/functionCall/args",
	    KORE_JSON_TYPE_OBJECT));
	/* Both results in one user turn, names found from the ids. */
	ASSERT_STR_EQ(sget(&o, "contents[2]/role"), "user");
	ASSERT_INT_EQ(count(&o, "contents[2]/parts"), 2);
	ASSERT_STR_EQ(sget(&o, "contents[2]/parts[0]/functionResponse/name"),
	    "get_time");
	ASSERT_STR_EQ(sget(&o, "contents[2]/parts[0]/functionResponse/"
	    "response/content"), "12:00");
	ASSERT_STR_EQ(sget(&o, "contents[2]/parts[1]/functionResponse/name"),
	    "get_weather");
	ASSERT(nget(&o, "contents[2]/parts[1]/functionResponse/response/"
	    "temp") == 21.5);
	ASSERT_STR_EQ(sget(&o, "contents[3]/parts[0]/text"), "Sunny, 21.5.");
	out_free(&o);

	ASSERT_INT_EQ(req("{\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"x\"},{\"role\":\"tool\",\"tool_call_id\":\"call_zz\","
	    "\"content\":\"1\"}]}", &b, err, sizeof(err)), -1);
	ASSERT(strstr(err, "messages[1].tool_call_id") != NULL);
	ASSERT(strstr(err, "call_zz") != NULL);
	ASSERT_INT_EQ(req("{\"messages\":[{\"role\":\"assistant\","
	    "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":"
	    "{\"name\":\"f\",\"arguments\":\"{not json\"}}]}]}", &b, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "messages[0].tool_calls[0].function.arguments") !=
	    NULL);
	kore_buf_cleanup(&b);
}

TEST(request_maps_generation_config)
{
	const char	*body = "{\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"x\"}],\"temperature\":0.7,\"top_p\":1,\"max_tokens\":50,"
	    "\"max_completion_tokens\":100,\"stop\":\"END\",\"n\":2,"
	    "\"seed\":-42,\"presence_penalty\":0.5,\"frequency_penalty\":"
	    "1.25e+2,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
	    "{\"name\":\"r\",\"strict\":true,\"schema\":{\"type\":\"object\","
	    "\"additionalProperties\":false,\"properties\":{\"a\":{\"type\":"
	    "\"number\"}},\"required\":[\"a\"]}}}}";
	struct kore_buf	 b;
	struct out	 o;
	char		 err[256];

	kore_buf_init(&b, 256);
	if (req(body, &b, err, sizeof(err)) != 0)
		FAIL("refused: %s", err);
	kore_buf_stringify(&b, NULL);
	b.offset--;
	/* The numbers as written: 0.7 stays 0.7, integers stay integers. */
	ASSERT(strstr((char *)b.data, "\"temperature\":0.7,") != NULL);
	ASSERT(strstr((char *)b.data, "\"topP\":1,") != NULL);
	ASSERT(strstr((char *)b.data, "\"frequencyPenalty\":125,") != NULL);
	ASSERT(out_parse(&o, b.data, b.offset));
	ASSERT(nget(&o, "generationConfig/temperature") == 0.7);
	ASSERT_INT_EQ(iget(&o, "generationConfig/topP"), 1);
	ASSERT_INT_EQ(iget(&o, "generationConfig/maxOutputTokens"), 100);
	ASSERT_STR_EQ(sget(&o, "generationConfig/stopSequences[0]"), "END");
	ASSERT_INT_EQ(iget(&o, "generationConfig/candidateCount"), 2);
	ASSERT_INT_EQ(iget(&o, "generationConfig/seed"), -42);
	ASSERT(nget(&o, "generationConfig/presencePenalty") == 0.5);
	ASSERT_INT_EQ(iget(&o, "generationConfig/frequencyPenalty"), 125);
	ASSERT_STR_EQ(sget(&o, "generationConfig/responseMimeType"),
	    "application/json");
	ASSERT_STR_EQ(sget(&o, "generationConfig/responseSchema/properties/"
	    "a/type"), "number");
	ASSERT(!has(&o, "generationConfig/responseSchema/"
	    "additionalProperties", KORE_JSON_TYPE_LITERAL));
	out_free(&o);

	ASSERT_INT_EQ(req("{\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"x\"}],\"max_tokens\":7,\"stop\":[\"a\",\"b\"],"
	    "\"response_format\":{\"type\":\"json_object\"}}", &b, err,
	    sizeof(err)), 0);
	ASSERT(out_parse(&o, b.data, b.offset));
	ASSERT_INT_EQ(iget(&o, "generationConfig/maxOutputTokens"), 7);
	ASSERT_INT_EQ(count(&o, "generationConfig/stopSequences"), 2);
	ASSERT_STR_EQ(sget(&o, "generationConfig/stopSequences[1]"), "b");
	ASSERT_STR_EQ(sget(&o, "generationConfig/responseMimeType"),
	    "application/json");
	ASSERT(!has(&o, "generationConfig/responseSchema",
	    KORE_JSON_TYPE_OBJECT));
	out_free(&o);
	kore_buf_cleanup(&b);
}

TEST(request_escapes_text)
{
	const char	*body = "{\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"a \\\"q\\\" \\\\ b\\n\\t\\u0001 \\u00e9\\ud83d\\ude00 </x>\"}]}";
	struct kore_buf	 b;
	struct out	 o;
	char		 err[256];

	kore_buf_init(&b, 256);
	if (req_out(body, &b, &o, err, sizeof(err)) != 0)
		FAIL("refused: %s", err);
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[0]/text"),
	    "a \"q\" \\ b\n\t\x01 \xc3\xa9\xf0\x9f\x98\x80 </x>");
	out_free(&o);

	/* Bytes that are not UTF-8 (kore_json passes them) become U+FFFD. */
	ASSERT_INT_EQ(req("{\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"a\xff b\xc3\x28 c\xed\xa0\x80 d\xe2\x82\"}]}", &b, err,
	    sizeof(err)), 0);
	ASSERT(out_parse(&o, b.data, b.offset));
	ASSERT(json_scan_valid(b.data, b.offset));
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[0]/text"),
	    "a\xef\xbf\xbd b\xef\xbf\xbd( c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd d"
	    "\xef\xbf\xbd\xef\xbf\xbd");
	out_free(&o);
	kore_buf_cleanup(&b);
}

TEST(request_rejects_wrong_types_naming_the_field)
{
	static const struct refusal	cases[] = {
		{ "{\"messages\":", "not valid JSON" },
		{ "[1]", "JSON object" },
		{ "{}", "messages" },
		{ "{\"messages\":{}}", "messages" },
		{ "{\"messages\":[]}", "messages" },
		{ "{\"messages\":[1]}", "messages[0]" },
		{ "{\"messages\":[{\"role\":1}]}", "messages[0].role" },
		{ "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
		    "messages[0].role" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":5}]}",
		    "messages[0].content" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
		    "\"video\"}]}]}", "messages[0].content[0].type" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
		    "\"text\",\"text\":3}]}]}", "messages[0].content[0].text" },
		{ "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}",
		    "user or assistant" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"temperature\":\"hot\"}", "temperature" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"top_p\":true}", "top_p" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"max_tokens\":-1}", "max_tokens" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"max_completion_tokens\":1.5}", "max_completion_tokens" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"n\":\"2\"}", "n must" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"seed\":0.5}", "seed" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"stop\":[1]}", "stop" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"stop\":{}}", "stop" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tools\":{}}", "tools" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tools\":[{\"type\":\"web_search\"}]}", "tools[0].type" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
		    "7}}]}", "tools[0].function.name" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
		    "\"f\",\"parameters\":[]}}]}",
		    "tools[0].function.parameters" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
		    "\"f\"}}],\"tool_choice\":\"maybe\"}", "tool_choice" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tool_choice\":5}", "tool_choice" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"response_format\":{\"type\":\"xml\"}}",
		    "response_format.type" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"response_format\":{\"type\":\"json_schema\"}}",
		    "response_format.json_schema" },
		{ "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":"
		    "{}}]}", "messages[0].tool_calls" },
		{ "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":"
		    "[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}]}",
		    "messages[0].tool_calls[0].id" },
		{ "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
		    "messages[0].tool_call_id" },
	};
	struct kore_buf	 b;

	/* Nothing is written for a request that is refused. */
	kore_buf_init(&b, 256);
	check_refusals(req, cases, sizeof(cases) / sizeof(cases[0]), &b);
	kore_buf_cleanup(&b);
}

/* A Gemini answer as OpenAI; o is parsed from it. */
static int
resp(const char *body, struct kore_buf *b, struct out *o,
    struct xlate_usage *u)
{
	kore_buf_reset(b);
	if (xlate_response(XF_GEMINI, XF_OPENAI, body, strlen(body),
	    "my-alias", b, u) == -1)
		return (-1);
	return (out_parse(o, b->data, b->offset) ? 0 : -2);
}

TEST(response_maps_text_finish_and_usage)
{
	const char		*body = "{\"candidates\":[{\"content\":{"
	    "\"parts\":[{\"text\":\"Let me think\",\"thought\":true},"
	    "{\"text\":\"Hello \"},{\"text\":\"\\\"world\\\"\"}],\"role\":"
	    "\"model\"},\"finishReason\":\"STOP\",\"index\":0,"
	    "\"safetyRatings\":[]}],\"usageMetadata\":{\"promptTokenCount\":"
	    "10,\"candidatesTokenCount\":5,\"thoughtsTokenCount\":3,"
	    "\"totalTokenCount\":18,\"cachedContentTokenCount\":4},"
	    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":"
	    "\"abcXYZ-1_2\"}";
	struct kore_buf		 b;
	struct out		 o;
	struct xlate_usage	 u;

	kore_buf_init(&b, 256);
	ASSERT_INT_EQ(resp(body, &b, &o, &u), 0);
	ASSERT_STR_EQ(sget(&o, "id"), "chatcmpl-abcXYZ-1_2");
	ASSERT_STR_EQ(sget(&o, "object"), "chat.completion");
	ASSERT_STR_EQ(sget(&o, "model"), "my-alias");
	ASSERT(iget(&o, "created") > 1700000000);
	ASSERT_INT_EQ(count(&o, "choices"), 1);
	ASSERT_INT_EQ(iget(&o, "choices[0]/index"), 0);
	ASSERT_STR_EQ(sget(&o, "choices[0]/message/role"), "assistant");
	ASSERT_STR_EQ(sget(&o, "choices[0]/message/content"),
	    "Hello \"world\"");
	ASSERT_STR_EQ(sget(&o, "choices[0]/message/reasoning_content"),
	    "Let me think");
	ASSERT(!has(&o, "choices[0]/message/tool_calls",
	    KORE_JSON_TYPE_ARRAY));
	ASSERT_STR_EQ(sget(&o, "choices[0]/finish_reason"), "stop");
	ASSERT_INT_EQ(iget(&o, "usage/prompt_tokens"), 10);
	ASSERT_INT_EQ(iget(&o, "usage/completion_tokens"), 8);
	ASSERT_INT_EQ(iget(&o, "usage/total_tokens"), 18);
	ASSERT_INT_EQ(iget(&o, "usage/prompt_tokens_details/cached_tokens"),
	    4);
	ASSERT_INT_EQ(iget(&o, "usage/completion_tokens_details/"
	    "reasoning_tokens"), 3);
	ASSERT_INT_EQ(u.prompt_tokens, 10);
	ASSERT_INT_EQ(u.completion_tokens, 8);
	out_free(&o);

	/* No responseId: a fresh id; no usageMetadata: usage unknown. */
	ASSERT_INT_EQ(resp("{\"candidates\":[{\"content\":{\"parts\":[{"
	    "\"text\":\"a\"}]},\"finishReason\":\"STOP\"},{\"content\":{"
	    "\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"MAX_TOKENS\","
	    "\"index\":1}]}", &b, &o, &u), 0);
	ASSERT(sget(&o, "id") != NULL &&
	    strncmp(sget(&o, "id"), "chatcmpl-", 9) == 0 &&
	    strlen(sget(&o, "id")) > 12);
	ASSERT_INT_EQ(count(&o, "choices"), 2);
	ASSERT_STR_EQ(sget(&o, "choices[1]/message/content"), "b");
	ASSERT_INT_EQ(iget(&o, "choices[1]/index"), 1);
	ASSERT_STR_EQ(sget(&o, "choices[1]/finish_reason"), "length");
	ASSERT(!has(&o, "usage", KORE_JSON_TYPE_OBJECT));
	ASSERT_INT_EQ(u.prompt_tokens, -1);
	ASSERT_INT_EQ(u.completion_tokens, -1);
	out_free(&o);
	kore_buf_cleanup(&b);
}

TEST(response_maps_function_calls)
{
	const char		*body = "{\"candidates\":[{\"content\":{"
	    "\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":"
	    "{\"city\":\"Paris\",\"days\":2,\"t\":0.7,\"q\":\"a\\\"b\"}}},"
	    "{\"functionCall\":{\"name\":\"get_time\"}}],\"role\":\"model\"},"
	    "\"finishReason\":\"STOP\"}],\"usageMetadata\":{"
	    "\"promptTokenCount\":7,\"candidatesTokenCount\":9}}";
	struct kore_buf		 b;
	struct out		 o, a;
	struct xlate_usage	 u;
	const char		*args, *id0, *id1;

	kore_buf_init(&b, 256);
	ASSERT_INT_EQ(resp(body, &b, &o, &u), 0);
	ASSERT(has(&o, "choices[0]/message/content", KORE_JSON_TYPE_LITERAL));
	ASSERT_INT_EQ(count(&o, "choices[0]/message/tool_calls"), 2);
	id0 = sget(&o, "choices[0]/message/tool_calls[0]/id");
	id1 = sget(&o, "choices[0]/message/tool_calls[1]/id");
	ASSERT(id0 != NULL && id1 != NULL);
	ASSERT(strncmp(id0, "call_", 5) == 0 && strlen(id0) > 10);
	ASSERT(strcmp(id0, id1) != 0);
	ASSERT_STR_EQ(sget(&o, "choices[0]/message/tool_calls[0]/type"),
	    "function");
	ASSERT_STR_EQ(sget(&o, "choices[0]/message/tool_calls[0]/function/"
	    "name"), "get_weather");
	args = sget(&o, "choices[0]/message/tool_calls[0]/function/"
	    "arguments");
	ASSERT(args != NULL);
	ASSERT(out_parse(&a, args, strlen(args)));
	ASSERT_STR_EQ(sget(&a, "city"), "Paris");
	ASSERT_INT_EQ(iget(&a, "days"), 2);
	ASSERT(nget(&a, "t") == 0.7);
	ASSERT_STR_EQ(sget(&a, "q"), "a\"b");
	out_free(&a);
	ASSERT_STR_EQ(sget(&o, "choices[0]/message/tool_calls[1]/function/"
	    "arguments"), "{}");
	ASSERT_STR_EQ(sget(&o, "choices[0]/finish_reason"), "tool_calls");
	ASSERT_INT_EQ(iget(&o, "usage/total_tokens"), 16);
	out_free(&o);
	kore_buf_cleanup(&b);
}

TEST(thought_signatures_travel_in_tool_call_ids)
{
	const char		*body = "{\"candidates\":[{\"content\":{"
	    "\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}},"
	    "\"thoughtSignature\":\"CiQB/+w=\"},{\"functionCall\":{\"name\":"
	    "\"g\"},\"thoughtSignature\":\"bad\\\"sig\"}]},"
	    "\"finishReason\":\"STOP\"}]}";
	struct kore_buf		 b;
	struct out		 o;
	char			 id0[128], id1[128], tmp[1024], err[256];

	kore_buf_init(&b, 256);
	ASSERT_INT_EQ(resp(body, &b, &o, NULL), 0);
	ASSERT(sget(&o, "choices[0]/message/tool_calls[0]/id") != NULL);
	(void)snprintf(id0, sizeof(id0), "%s",
	    sget(&o, "choices[0]/message/tool_calls[0]/id"));
	(void)snprintf(id1, sizeof(id1), "%s",
	    sget(&o, "choices[0]/message/tool_calls[1]/id"));
	out_free(&o);
	ASSERT(strncmp(id0, "call_", 5) == 0);
	/* base64url without padding: every client and Anthropic keep it. */
	ASSERT(strstr(id0, "__thought__CiQB_-w") != NULL);
	ASSERT_INT_EQ(strspn(id0, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"), strlen(id0));
	/* Not base64: not carried. */
	ASSERT(strstr(id1, "__thought__") == NULL);

	(void)snprintf(tmp, sizeof(tmp), "{\"messages\":[{\"role\":\"user\","
	    "\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":[{"
	    "\"id\":\"%s\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"f\",\"arguments\":\"{}\"}},{\"id\":\"%s\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"g\",\"arguments\":"
	    "\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"%s\","
	    "\"content\":\"1\"},{\"role\":\"tool\",\"tool_call_id\":\"%s\","
	    "\"content\":\"2\"}]}", id0, id1, id0, id1);
	if (req_out(tmp, &b, &o, err, sizeof(err)) != 0)
		FAIL("refused: %s", err);
	ASSERT_STR_EQ(sget(&o, "contents[1]/parts[0]/thoughtSignature"),
	    "CiQB/+w=");
	ASSERT_STR_EQ(sget(&o, "contents[1]/parts[0]/functionCall/name"), "f");
	ASSERT(!has(&o, "contents[1]/parts[1]/thoughtSignature",
	    KORE_JSON_TYPE_STRING));
	ASSERT_STR_EQ(sget(&o, "contents[2]/parts[0]/functionResponse/name"),
	    "f");
	ASSERT_STR_EQ(sget(&o, "contents[2]/parts[1]/functionResponse/name"),
	    "g");
	out_free(&o);
	kore_buf_cleanup(&b);
}

TEST(response_maps_every_finish_reason)
{
	static const char	*cases[][2] = {
		{ "STOP", "stop" }, { "MAX_TOKENS", "length" },
		{ "SAFETY", "content_filter" },
		{ "RECITATION", "content_filter" },
		{ "BLOCKLIST", "content_filter" },
		{ "PROHIBITED_CONTENT", "content_filter" },
		{ "SPII", "content_filter" }, { "OTHER", "stop" },
		{ "MALFORMED_FUNCTION_CALL", "stop" }, { NULL, NULL }
	};
	struct kore_buf		 b;
	struct out		 o;
	char			 body[256];
	int			 i;

	kore_buf_init(&b, 256);
	for (i = 0; cases[i][0] != NULL; i++) {
		(void)snprintf(body, sizeof(body), "{\"candidates\":[{"
		    "\"content\":{\"parts\":[{\"text\":\"x\"}]},"
		    "\"finishReason\":\"%s\"}]}", cases[i][0]);
		ASSERT_INT_EQ(resp(body, &b, &o, NULL), 0);
		if (sget(&o, "choices[0]/finish_reason") == NULL ||
		    strcmp(sget(&o, "choices[0]/finish_reason"),
		    cases[i][1]) != 0)
			FAIL("%s gave %s", cases[i][0],
			    sget(&o, "choices[0]/finish_reason"));
		out_free(&o);
	}

	/* A blocked prompt has no candidates at all. */
	ASSERT_INT_EQ(resp("{\"promptFeedback\":{\"blockReason\":\"SAFETY\","
	    "\"safetyRatings\":[]},\"usageMetadata\":{\"promptTokenCount\":"
	    "12,\"totalTokenCount\":12}}", &b, &o, NULL), 0);
	ASSERT_INT_EQ(count(&o, "choices"), 1);
	ASSERT_STR_EQ(sget(&o, "choices[0]/message/content"), "");
	ASSERT_STR_EQ(sget(&o, "choices[0]/finish_reason"), "content_filter");
	ASSERT_INT_EQ(iget(&o, "usage/prompt_tokens"), 12);
	ASSERT_INT_EQ(iget(&o, "usage/completion_tokens"), 0);
	out_free(&o);
	kore_buf_cleanup(&b);
}

TEST(response_refuses_what_is_not_gemini)
{
	static const char	*bad[] = {
		"", "not json", "[]", "{}", "{\"candidates\":5}",
		"{\"error\":{\"code\":400,\"message\":\"bad\"}}",
		"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
		    "\"choices\":[]}",
		NULL
	};
	struct kore_buf		 b;
	struct xlate_usage	 u;
	int			 i;

	kore_buf_init(&b, 256);
	for (i = 0; bad[i] != NULL; i++) {
		kore_buf_reset(&b);
		u.prompt_tokens = 5;
		if (xlate_response(XF_GEMINI, XF_OPENAI, bad[i], strlen(bad[i]),
		    "m", &b, &u) != -1)
			FAIL("accepted %s", bad[i]);
		ASSERT_INT_EQ(b.offset, 0);
		ASSERT_INT_EQ(u.prompt_tokens, -1);
	}
	kore_buf_cleanup(&b);
}

/* The OpenAI chunks a stream produced, parsed. */
struct chunks {
	struct out	c[32];
	int		n;
};

static void
stream_init(struct xlate_stream *st)
{
	memset(st, 0, sizeof(*st));
	st->from = XF_GEMINI;
	st->to = XF_OPENAI;
	(void)snprintf(st->model, sizeof(st->model), "my-alias");
	st->created = 1700000001;
	st->block = -1;
	st->usage.prompt_tokens = -1;
	st->usage.completion_tokens = -1;
}

/*
 * Feeds stream (SSE bytes as the upstream sends them) in pieces of
 * step bytes through sse.c and the translator. Returns the last
 * translator result, the chunks parsed from what it wrote.
 */
static int
feed_stream(struct xlate_stream *st, const char *stream, size_t step,
    struct chunks *ch)
{
	struct sse_parser	 up, down;
	struct sse_event	 ev;
	struct kore_buf		 out;
	size_t			 len, pos, n;
	int			 rc;

	stream_init(st);
	sse_init(&up);
	kore_buf_init(&out, 1024);
	len = strlen(stream);
	rc = 0;
	for (pos = 0; pos < len && rc == 0; pos += n) {
		n = len - pos < step ? len - pos : step;
		if (sse_feed(&up, stream + pos, n) != 0)
			return (-9);
		while (rc == 0 && sse_next(&up, &ev) == 1) {
			if (!ev.has_data)
				continue;
			rc = gemini_stream_to_openai(st, ev.data, ev.data_len,
			    &out);
		}
	}
	sse_free(&up);

	/* What the client receives is SSE again: split it the same way. */
	ch->n = 0;
	sse_init(&down);
	if (sse_feed(&down, out.data, out.offset) != 0)
		return (-9);
	while (sse_next(&down, &ev) == 1 && ch->n < 32) {
		if (strncmp(ev.raw, "data: {", 7) != 0)
			return (-8);
		if (!out_parse(&ch->c[ch->n], ev.data, ev.data_len)) {
			out_free(&ch->c[ch->n]);
			return (-7);
		}
		ch->n++;
	}
	if (sse_pending(&down) != 0)
		rc = -6;
	sse_free(&down);
	kore_buf_cleanup(&out);
	return (rc);
}

static void
chunks_free(struct chunks *ch)
{
	int	i;

	for (i = 0; i < ch->n; i++)
		out_free(&ch->c[i]);
	ch->n = 0;
}

static const char gemini_stream[] =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
    "\"Hel\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": "
    "{\"promptTokenCount\": 9,\"totalTokenCount\": 9},\"modelVersion\": "
    "\"gemini-2.5-flash\",\"responseId\": \"r3sp0nse\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
    "\"lo \\\"w\\u00f6rld\\\"\\n\"}],\"role\": \"model\"},\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": "
    "4,\"totalTokenCount\": 13},\"responseId\": \"r3sp0nse\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": "
    "{\"name\": \"get_weather\",\"args\": {\"city\": \"Oslo\"}}},"
    "{\"functionCall\": {\"name\": \"get_time\",\"args\": {}}}],\"role\": "
    "\"model\"},\"finishReason\": \"STOP\",\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": "
    "20,\"thoughtsTokenCount\": 5,\"totalTokenCount\": 34},"
    "\"responseId\": \"r3sp0nse\"}\r\n\r\n";

TEST(stream_maps_text_tools_finish_and_usage_at_any_split)
{
	static const size_t	 steps[] = { 1, 2, 3, 7, 13, 64, 100000 };
	struct xlate_stream	 st;
	struct chunks		 ch;
	struct kore_buf		 text;
	struct out		*c;
	size_t			 s;
	int			 i;
	const char		*id0, *id1;

	kore_buf_init(&text, 64);
	for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		if (feed_stream(&st, gemini_stream, steps[s], &ch) != 0)
			FAIL("step %zu: stream refused", steps[s]);
		/* role, 2 texts, 2 calls, finish, usage */
		if (ch.n != 7)
			FAIL("step %zu: %d chunks", steps[s], ch.n);
		c = ch.c;
		for (i = 0; i < ch.n; i++) {
			ASSERT_STR_EQ(sget(&c[i], "id"), "chatcmpl-r3sp0nse");
			ASSERT_STR_EQ(sget(&c[i], "object"),
			    "chat.completion.chunk");
			ASSERT_STR_EQ(sget(&c[i], "model"), "my-alias");
			ASSERT_INT_EQ(iget(&c[i], "created"), 1700000001);
		}
		ASSERT_STR_EQ(sget(&c[0], "choices[0]/delta/role"),
		    "assistant");
		kore_buf_reset(&text);
		kore_buf_appendf(&text, "%s%s",
		    sget(&c[1], "choices[0]/delta/content"),
		    sget(&c[2], "choices[0]/delta/content"));
		kore_buf_stringify(&text, NULL);
		ASSERT_STR_EQ((char *)text.data,
		    "Hello \"w\xc3\xb6rld\"\n");
		ASSERT_INT_EQ(iget(&c[3], "choices[0]/delta/tool_calls[0]/"
		    "index"), 0);
		ASSERT_INT_EQ(count(&c[3], "choices[0]/delta/tool_calls"), 1);
		ASSERT_STR_EQ(sget(&c[3], "choices[0]/delta/tool_calls[0]/"
		    "function/name"), "get_weather");
		ASSERT_STR_EQ(sget(&c[3], "choices[0]/delta/tool_calls[0]/"
		    "function/arguments"), "{\"city\":\"Oslo\"}");
		ASSERT_STR_EQ(sget(&c[3], "choices[0]/delta/tool_calls[0]/"
		    "type"), "function");
		ASSERT_INT_EQ(iget(&c[4], "choices[0]/delta/tool_calls[0]/"
		    "index"), 1);
		ASSERT_STR_EQ(sget(&c[4], "choices[0]/delta/tool_calls[0]/"
		    "function/name"), "get_time");
		id0 = sget(&c[3], "choices[0]/delta/tool_calls[0]/id");
		id1 = sget(&c[4], "choices[0]/delta/tool_calls[0]/id");
		ASSERT(id0 != NULL && id1 != NULL && strcmp(id0, id1) != 0);
		ASSERT(strncmp(id0, "call_", 5) == 0);
		ASSERT(has(&c[4], "choices[0]/finish_reason",
		    KORE_JSON_TYPE_LITERAL));
		ASSERT_STR_EQ(sget(&c[5], "choices[0]/finish_reason"),
		    "tool_calls");
		ASSERT_INT_EQ(count(&c[6], "choices"), 0);
		ASSERT_INT_EQ(iget(&c[6], "usage/prompt_tokens"), 9);
		ASSERT_INT_EQ(iget(&c[6], "usage/completion_tokens"), 25);
		ASSERT_INT_EQ(iget(&c[6], "usage/total_tokens"), 34);
		ASSERT(st.done);
		ASSERT_STR_EQ(st.finish, "tool_calls");
		ASSERT_INT_EQ(st.usage.prompt_tokens, 9);
		ASSERT_INT_EQ(st.usage.completion_tokens, 25);
		chunks_free(&ch);
	}
	kore_buf_cleanup(&text);
}

TEST(stream_without_finish_is_not_done)
{
	struct xlate_stream	st;
	struct chunks		ch;
	char			cut[400];

	/* The first event only: the stream was cut short. */
	(void)snprintf(cut, sizeof(cut), "%.*s",
	    (int)(strstr(gemini_stream, "\r\n\r\n") - gemini_stream + 4),
	    gemini_stream);
	ASSERT_INT_EQ(feed_stream(&st, cut, 5, &ch), 0);
	ASSERT_INT_EQ(ch.n, 2);
	ASSERT(!st.done);
	ASSERT_INT_EQ(st.usage.prompt_tokens, 9);
	chunks_free(&ch);

	/* MAX_TOKENS finishes too, with length; usage after it. */
	ASSERT_INT_EQ(feed_stream(&st, "data: {\"candidates\":[{\"content\":"
	    "{\"parts\":[{\"text\":\"ab\"}]},\"finishReason\":\"MAX_TOKENS\"}]}"
	    "\n\ndata: {\"usageMetadata\":{\"promptTokenCount\":3,"
	    "\"candidatesTokenCount\":2}}\n\n", 4, &ch), 0);
	ASSERT_INT_EQ(ch.n, 4);
	ASSERT_STR_EQ(sget(&ch.c[2], "choices[0]/finish_reason"), "length");
	ASSERT_INT_EQ(iget(&ch.c[3], "usage/completion_tokens"), 2);
	ASSERT(st.done);
	chunks_free(&ch);
}

TEST(stream_blocked_prompt_and_error_events)
{
	struct xlate_stream	st;
	struct chunks		ch;

	ASSERT_INT_EQ(feed_stream(&st, "data: {\"promptFeedback\":{"
	    "\"blockReason\":\"PROHIBITED_CONTENT\"},\"usageMetadata\":{"
	    "\"promptTokenCount\":6,\"totalTokenCount\":6}}\n\n", 3, &ch), 0);
	ASSERT_INT_EQ(ch.n, 3);
	ASSERT_STR_EQ(sget(&ch.c[1], "choices[0]/finish_reason"),
	    "content_filter");
	ASSERT_INT_EQ(iget(&ch.c[2], "usage/prompt_tokens"), 6);
	ASSERT(st.done);
	chunks_free(&ch);

	/* An error object mid-stream ends it with the message. */
	ASSERT_INT_EQ(feed_stream(&st, "data: {\"candidates\":[{\"content\":"
	    "{\"parts\":[{\"text\":\"a\"}]}}]}\n\ndata: {\"error\":{\"code\":"
	    "429,\"message\":\"Resource has been exhausted (e.g. check "
	    "quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n", 11, &ch), -1);
	ASSERT(strstr(st.err, "Resource has been exhausted") != NULL);
	ASSERT(!st.done);
	ASSERT_INT_EQ(ch.n, 2);
	chunks_free(&ch);

	/* In an array, as the non-SSE endpoint wraps it. */
	ASSERT_INT_EQ(feed_stream(&st, "data: [{\"error\":{\"code\":503,"
	    "\"message\":\"The model is overloaded.\",\"status\":"
	    "\"UNAVAILABLE\"}}]\n\n", 100, &ch), -1);
	ASSERT(strstr(st.err, "overloaded") != NULL);
	chunks_free(&ch);

	ASSERT_INT_EQ(feed_stream(&st, "data: {\"candidates\":[{\"conte\n\n",
	    100, &ch), -1);
	ASSERT(strstr(st.err, "not JSON") != NULL);
	chunks_free(&ch);
	ASSERT_INT_EQ(feed_stream(&st, "data: \"hello\"\n\n", 100, &ch), -1);
	ASSERT(st.err[0] != '\0');
	chunks_free(&ch);
	ASSERT_INT_EQ(feed_stream(&st, "data: {\"candidates\":{}}\n\n", 100,
	    &ch), -1);
	chunks_free(&ch);
}

static int
creq(const char *body, struct kore_buf *b, char *err, size_t errlen)
{
	return (xlate_count_request(XF_ANTHROPIC, XF_GEMINI, body, strlen(body), "m", b, err,
	    errlen));
}

static int
cresp(const char *body, int64_t *n)
{
	return (gemini_count_response(body, strlen(body), n));
}

TEST(count_tokens_request_and_response)
{
	const char	*body = "{\"model\":\"claude-x\",\"system\":[{\"type\":"
	    "\"text\",\"text\":\"Be kind.\"}],\"tools\":[{\"name\":\"f\","
	    "\"description\":\"d\",\"input_schema\":{\"type\":\"object\","
	    "\"properties\":{\"a\":{\"type\":\"string\"}}}}],\"messages\":["
	    "{\"role\":\"user\",\"content\":\"Hi\"},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
	    "\"thinking\":\"hm\",\"signature\":\"s\"},{\"type\":\"tool_use\","
	    "\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{\"a\":\"b\"}}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
	    "\"tool_use_id\":\"toolu_1\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"ok\"}]},{\"type\":\"image\",\"source\":{\"type\":"
	    "\"base64\",\"media_type\":\"image/png\",\"data\":\"AAAA\"}}]}]}";
	struct kore_buf	 b;
	struct out	 o;
	char		 err[256];
	int64_t		 n;

	kore_buf_init(&b, 256);
	ASSERT_INT_EQ(xlate_count_request(XF_ANTHROPIC, XF_GEMINI, body, strlen(body), "m",
	    &b, err, sizeof(err)), 0);
	ASSERT(out_parse(&o, b.data, b.offset));
	ASSERT_INT_EQ(count(&o, "contents"), 3);
	ASSERT(!has(&o, "generateContentRequest", KORE_JSON_TYPE_OBJECT));
	ASSERT_STR_EQ(sget(&o, "contents[0]/role"), "user");
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[0]/text"), "Be kind.");
	ASSERT(sget(&o, "contents[0]/parts[1]/text") != NULL &&
	    strstr(sget(&o, "contents[0]/parts[1]/text"), "\"name\":\"f\"") !=
	    NULL);
	ASSERT_STR_EQ(sget(&o, "contents[0]/parts[2]/text"), "Hi");
	ASSERT_STR_EQ(sget(&o, "contents[1]/role"), "model");
	ASSERT_INT_EQ(count(&o, "contents[1]/parts"), 1);
	ASSERT_STR_EQ(sget(&o, "contents[1]/parts[0]/functionCall/args/a"),
	    "b");
	ASSERT_STR_EQ(sget(&o, "contents[2]/parts[0]/functionResponse/name"),
	    "f");
	ASSERT_STR_EQ(sget(&o, "contents[2]/parts[0]/functionResponse/"
	    "response/content"), "ok");
	ASSERT_STR_EQ(sget(&o, "contents[2]/parts[1]/inlineData/mimeType"),
	    "image/png");
	out_free(&o);

	kore_buf_reset(&b);
	ASSERT_INT_EQ(creq("{\"messages\":[{\"role\":\"user\","
	    "\"content\":7}]}", &b, err, sizeof(err)), -1);
	ASSERT(strstr(err, "messages[0].content") != NULL);
	ASSERT_INT_EQ(creq("{\"messages\":3}", &b, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "messages") != NULL);
	ASSERT_INT_EQ(creq("{\"messages\":[{\"role\":\"system\""
	    ",\"content\":\"x\"}]}", &b, err, sizeof(err)), -1);
	ASSERT(strstr(err, "messages[0].role") != NULL);
	ASSERT_INT_EQ(b.offset, 0);

	ASSERT_INT_EQ(cresp("{\"totalTokens\": 31,"
	    "\"promptTokensDetails\":[]}", &n), 0);
	ASSERT_INT_EQ(n, 31);
	ASSERT_INT_EQ(cresp("{\"totalTokens\":\"31\"}",
	    &n), -1);
	ASSERT_INT_EQ(cresp("{}", &n), -1);
	ASSERT_INT_EQ(cresp("[", &n), -1);
	kore_buf_cleanup(&b);
}

TEST(errors_map_to_openai_shape)
{
	static const struct {
		int		 status;
		const char	*body;
		const char	*message;
		const char	*type;
		const char	*code;
	} cases[] = {
		{ 429, "{\"error\":{\"code\":429,\"message\":\"Resource has "
		    "been exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
		    "Resource has been exhausted", "rate_limit_error",
		    "rate_limit_exceeded" },
		{ 503, "[{\"error\":{\"code\":503,\"message\":\"The model is "
		    "overloaded.\",\"status\":\"UNAVAILABLE\"}}]",
		    "The model is overloaded.", "server_error",
		    "service_unavailable" },
		{ 400, "{\"error\":{\"code\":400,\"message\":\"Invalid "
		    "\\\"x\\\"\",\"status\":\"INVALID_ARGUMENT\"}}",
		    "Invalid \"x\"", "invalid_request_error",
		    "invalid_argument" },
		{ 400, "{\"error\":{\"code\":400,\"message\":\"API key not "
		    "valid.\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{"
		    "\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
		    "\"reason\":\"API_KEY_INVALID\"}]}}", "API key not valid.",
		    "authentication_error", "invalid_api_key" },
		{ 403, "{\"error\":{\"code\":403,\"message\":\"denied\","
		    "\"status\":\"PERMISSION_DENIED\"}}", "denied",
		    "permission_error", "permission_denied" },
		{ 404, "{\"error\":{\"code\":404,\"message\":\"models/x is "
		    "not found\",\"status\":\"NOT_FOUND\"}}",
		    "models/x is not found", "invalid_request_error",
		    "model_not_found" },
		{ 500, "{\"error\":{\"code\":500,\"message\":\"oops\","
		    "\"status\":\"INTERNAL\"}}", "oops", "server_error",
		    "internal_error" },
		{ 502, "<html>bad gateway</html>",
		    "the Gemini upstream answered HTTP 502", "server_error",
		    NULL },
		{ 401, "", "the Gemini upstream answered HTTP 401",
		    "authentication_error", "invalid_api_key" },
		{ 0, NULL, NULL, NULL, NULL }
	};
	struct kore_buf	 b;
	struct out	 o;
	int		 i;

	kore_buf_init(&b, 256);
	for (i = 0; cases[i].body != NULL; i++) {
		kore_buf_reset(&b);
		gemini_error_to_openai(cases[i].status, cases[i].body,
		    strlen(cases[i].body), &b);
		ASSERT(out_parse(&o, b.data, b.offset));
		ASSERT_STR_EQ(sget(&o, "error/message"), cases[i].message);
		ASSERT_STR_EQ(sget(&o, "error/type"), cases[i].type);
		if (cases[i].code != NULL)
			ASSERT_STR_EQ(sget(&o, "error/code"), cases[i].code);
		else
			ASSERT(has(&o, "error/code", KORE_JSON_TYPE_LITERAL));
		out_free(&o);
	}
	ASSERT_INT_EQ(gemini_error_status(400, cases[3].body,
	    strlen(cases[3].body)), 401);
	ASSERT_INT_EQ(gemini_error_status(400, cases[2].body,
	    strlen(cases[2].body)), 400);
	ASSERT_INT_EQ(gemini_error_status(429, cases[0].body,
	    strlen(cases[0].body)), 429);
	kore_buf_cleanup(&b);
}

void
run_xlate_gemini_tests(int *passed, int *failed)
{
	RUN(request_maps_roles_and_merges_turns);
	RUN(request_maps_images_and_media);
	RUN(request_maps_tools_and_cleans_schemas);
	RUN(request_maps_tool_calls_and_results);
	RUN(request_maps_generation_config);
	RUN(request_escapes_text);
	RUN(request_rejects_wrong_types_naming_the_field);
	RUN(response_maps_text_finish_and_usage);
	RUN(response_maps_function_calls);
	RUN(thought_signatures_travel_in_tool_call_ids);
	RUN(response_maps_every_finish_reason);
	RUN(response_refuses_what_is_not_gemini);
	RUN(stream_maps_text_tools_finish_and_usage_at_any_split);
	RUN(stream_without_finish_is_not_done);
	RUN(stream_blocked_prompt_and_error_events);
	RUN(count_tokens_request_and_response);
	RUN(errors_map_to_openai_shape);
}
