/*
 * What the gateway reads and rewrites of upstream bodies on a provider's
 * behalf (src/formats/models.c, override.c): the APIs' lists of models
 * and their pages, and body_overrides.
 */

#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"
#include "test.h"

void	run_models_tests(int *, int *);

/* The names parsed from body, as a JSON array, and the next page. */
static const char *
names_of(int fmt, const char *body, char *next, size_t len, int *rc)
{
	static char	out[512];
	struct kore_buf	buf;
	int		n;

	kore_buf_init(&buf, 64);
	n = 0;
	kore_buf_append(&buf, "[", 1);
	*rc = models_list_parse(fmt, body, strlen(body), &buf, &n, next, len);
	kore_buf_append(&buf, "]", 1);
	(void)snprintf(out, sizeof(out), "%.*s", (int)buf.offset, buf.data);
	kore_buf_cleanup(&buf);
	return (out);
}

TEST(model_lists_of_each_api)
{
	char	next[64];
	int	rc;

	ASSERT_STR_EQ(names_of(XF_OPENAI, "{\"object\":\"list\",\"data\":["
	    "{\"id\":\"gpt-4o\",\"object\":\"model\"},{\"id\":\"GPT-4O\"},"
	    "{\"id\":7},{\"name\":\"x\"},{\"id\":\"\"},\"y\"]}", next,
	    sizeof(next), &rc), "[\"gpt-4o\",\"GPT-4O\"]");
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(next, "");

	ASSERT_STR_EQ(names_of(XF_ANTHROPIC, "{\"data\":[{\"type\":\"model\","
	    "\"id\":\"claude-a\"},{\"id\":\"claude-b\"}],\"has_more\":true,"
	    "\"first_id\":\"claude-a\",\"last_id\":\"claude-b\"}", next,
	    sizeof(next), &rc), "[\"claude-a\",\"claude-b\"]");
	ASSERT_STR_EQ(next, "claude-b");
	(void)names_of(XF_ANTHROPIC, "{\"data\":[],\"has_more\":false,"
	    "\"last_id\":null}", next, sizeof(next), &rc);
	ASSERT_STR_EQ(next, "");

	ASSERT_STR_EQ(names_of(XF_GEMINI, "{\"models\":[{\"name\":"
	    "\"models/gemini-2.0-flash\",\"supportedGenerationMethods\":"
	    "[\"generateContent\",\"countTokens\"]},{\"name\":"
	    "\"models/text-embedding-004\",\"supportedGenerationMethods\":"
	    "[\"embedContent\"]},{\"name\":\"tunedModels/x\"}],"
	    "\"nextPageToken\":\"Cg4=\"}", next, sizeof(next), &rc),
	    "[\"gemini-2.0-flash\",\"tunedModels/x\"]");
	ASSERT_STR_EQ(next, "Cg4=");

	/* Not a list of models at all. */
	(void)names_of(XF_OPENAI, "[1]", next, sizeof(next), &rc);
	ASSERT_INT_EQ(rc, -1);
	(void)names_of(XF_GEMINI, "{\"data\":[]}", next, sizeof(next), &rc);
	ASSERT_INT_EQ(rc, -1);
}

TEST(model_list_queries)
{
	char	q[128];

	models_list_query(XF_OPENAI, 1, "", q, sizeof(q));
	ASSERT_STR_EQ(q, "");
	models_list_query(XF_ANTHROPIC, 1, "", q, sizeof(q));
	ASSERT_STR_EQ(q, "limit=1");
	models_list_query(XF_ANTHROPIC, 0, "claude-b", q, sizeof(q));
	ASSERT_STR_EQ(q, "limit=1000&after_id=claude-b");
	models_list_query(XF_GEMINI, 0, "Cg4=/x y", q, sizeof(q));
	ASSERT_STR_EQ(q, "pageSize=1000&pageToken=Cg4%3D%2Fx%20y");
}

static const char *
override(const char *body, int *rc)
{
	static char	out[512];
	char		*set[] = { "max_tokens", "metadata" };
	char		*val[] = { "7", "{\"team\":\"a\"}" };
	char		*rm[] = { "user", "seed" };
	struct kore_buf	buf;

	kore_buf_init(&buf, 64);
	*rc = json_override(body, strlen(body), set, val, 2, rm, 2, &buf);
	(void)snprintf(out, sizeof(out), "%.*s", (int)buf.offset, buf.data);
	kore_buf_cleanup(&buf);
	return (out);
}

TEST(body_overrides_set_and_remove_top_level_members)
{
	int	rc;

	ASSERT_STR_EQ(override("{\"model\":\"m\",\"user\":\"u\","
	    "\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"hi\",\"user\":1}],\"seed\":3}", &rc), "{\"model\":\"m\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"user\":1}],"
	    "\"max_tokens\":7,\"metadata\":{\"team\":\"a\"}}");
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(override(" { } ", &rc),
	    "{\"max_tokens\":7,\"metadata\":{\"team\":\"a\"}}");
	ASSERT_STR_EQ(override("{\"us\\u0065r\":\"escaped name\"}", &rc),
	    "{\"max_tokens\":7,\"metadata\":{\"team\":\"a\"}}");
	ASSERT_STR_EQ(override("[1,2]", &rc), "");
	ASSERT_INT_EQ(rc, -1);
	ASSERT_STR_EQ(override("{\"a\":", &rc), "");
	ASSERT_INT_EQ(rc, -1);
}

void
run_models_tests(int *passed, int *failed)
{
	RUN(model_lists_of_each_api);
	RUN(model_list_queries);
	RUN(body_overrides_set_and_remove_top_level_members);
}
