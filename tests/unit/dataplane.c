/*
 * Unit tests of the data plane's pure parts: the JSON member scanner,
 * the SSE splitter and candidate selection.
 */

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "core/core.h"
#include "store/store.h"
#include "dataplane/dataplane.h"
#include "formats/formats.h"
#include "test.h"

void	run_dataplane_tests(int *, int *);

TEST(scan_finds_members_and_their_spans)
{
	const char		*j = " {\"model\" : \"gpt-4o\", \"stream\":true,"
	    "\"n\":-1.5e3,\"x\":{\"a\":[1,{\"b\":null}]}} ";
	struct json_member	 m[8];
	const struct json_member *f;
	size_t			 end;
	char			 out[32];

	ASSERT_INT_EQ(json_scan_object(j, strlen(j), m, 8, &end), 4);
	ASSERT_INT_EQ(j[end], '}');
	f = json_scan_find(j, m, 4, "model");
	ASSERT(f != NULL);
	ASSERT_INT_EQ(f->type, JSON_STRING);
	ASSERT_INT_EQ(json_scan_string(j, f, 0, out, sizeof(out)), 6);
	ASSERT_STR_EQ(out, "gpt-4o");
	ASSERT_INT_EQ(json_scan_find(j, m, 4, "stream")->type, JSON_TRUE);
	ASSERT_INT_EQ(json_scan_find(j, m, 4, "n")->type, JSON_NUMBER);
	f = json_scan_find(j, m, 4, "x");
	ASSERT_INT_EQ(f->type, JSON_OBJECT);
	ASSERT(strncmp(j + f->value, "{\"a\":[1,{\"b\":null}]}",
	    f->value_len) == 0);
	ASSERT(json_scan_find(j, m, 4, "absent") == NULL);
}

TEST(scan_decodes_unicode_escapes)
{
	const char		*j = "{\"model\":\"\\u4f60\\ud83d\\ude00\\n\"}";
	struct json_member	 m[2];
	size_t			 end;
	char			 out[32];

	ASSERT_INT_EQ(json_scan_object(j, strlen(j), m, 2, &end), 1);
	ASSERT_INT_EQ(json_scan_string(j, &m[0], 0, out, sizeof(out)), 8);
	ASSERT_STR_EQ(out, "\xe4\xbd\xa0\xf0\x9f\x98\x80\n");
}

TEST(scan_rejects_what_is_not_json)
{
	const char	*bad[] = {
		"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1]", "{} x",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\xff\"}", "{a:1}", "{\"a\":1 \"b\":2}",
		"{\"a\":\"\\u12\"}", "{\"a\":[1,2}", NULL,
	};
	struct json_member	 m[4];
	size_t			 end;
	char			 deep[600];
	int			 i;

	for (i = 0; bad[i] != NULL; i++) {
		if (json_scan_object(bad[i], strlen(bad[i]), m, 4, &end) != -1)
			FAIL("accepted %s", bad[i]);
	}

	/* Nesting is bounded. */
	memset(deep, '[', sizeof(deep));
	memcpy(deep, "{\"a\":", 5);
	ASSERT_INT_EQ(json_scan_object(deep, sizeof(deep), m, 4, &end), -1);

	/* A lone surrogate is refused when decoded. */
	ASSERT_INT_EQ(json_scan_object("{\"a\":\"\\ud800\"}", 14, m, 4, &end),
	    1);
	ASSERT_INT_EQ(json_scan_string("{\"a\":\"\\ud800\"}", &m[0], 0,
	    (char *)deep, sizeof(deep)), -1);
}

TEST(scan_reads_token_counts)
{
	const char		*j = "{\"prompt_tokens\":12,\"x\":-1,\"y\":1.5}";
	struct json_member	 m[4];
	size_t			 end;

	ASSERT_INT_EQ(json_scan_object(j, strlen(j), m, 4, &end), 3);
	ASSERT_INT_EQ(json_scan_uint(j, &m[0]), 12);
	ASSERT_INT_EQ(json_scan_uint(j, &m[1]), -1);
	ASSERT_INT_EQ(json_scan_uint(j, &m[2]), -1);
}

TEST(sse_splits_events_across_arbitrary_chunks)
{
	const char		*s = "data: {\"a\":1}\n\n: comment\n\n"
	    "event: x\r\ndata: line1\r\ndata:line2\r\n\r\ndata: [DONE]\n\n";
	struct sse_parser	 p;
	struct sse_event	 ev;
	size_t			 i, n;
	int			 got;
	char			 seen[4][32];

	/* Byte by byte must give the same events as all at once. */
	sse_init(&p);
	got = 0;
	for (i = 0; i < strlen(s); i++) {
		ASSERT_INT_EQ(sse_feed(&p, s + i, 1), 0);
		while (sse_next(&p, &ev)) {
			if (got < 4) {
				n = ev.has_data ? ev.data_len : 0;
				memcpy(seen[got], ev.data ? ev.data : "", n);
				seen[got][n] = '\0';
			}
			if (got == 3)
				ASSERT(ev.done);
			got++;
		}
	}
	ASSERT_INT_EQ(got, 4);
	ASSERT_STR_EQ(seen[0], "{\"a\":1}");
	ASSERT_STR_EQ(seen[1], "");
	ASSERT_STR_EQ(seen[2], "line1\nline2");
	ASSERT_STR_EQ(seen[3], "[DONE]");
	ASSERT_INT_EQ(sse_pending(&p), 0);
	sse_free(&p);
}

TEST(sse_holds_an_incomplete_event)
{
	struct sse_parser	p;
	struct sse_event	ev;

	sse_init(&p);
	/* Nothing fed yet: no buffer, and no memcpy() into NULL (fuzzer). */
	ASSERT_INT_EQ(sse_feed(&p, NULL, 0), 0);
	ASSERT_INT_EQ(sse_next(&p, &ev), 0);
	ASSERT_INT_EQ(sse_feed(&p, "data: partial\n", 14), 0);
	ASSERT_INT_EQ(sse_next(&p, &ev), 0);
	ASSERT_INT_EQ(sse_feed(&p, "\r", 1), 0);
	/* A lone CR at the end may still become CRLF. */
	ASSERT_INT_EQ(sse_next(&p, &ev), 0);
	ASSERT_INT_EQ(sse_feed(&p, "\n", 1), 0);
	ASSERT_INT_EQ(sse_next(&p, &ev), 1);
	ASSERT_INT_EQ(ev.raw_len, 16);
	sse_free(&p);
}

TEST(sse_trim_frees_between_events_and_keeps_a_partial_one)
{
	struct sse_parser	p;
	struct sse_event	ev;

	sse_init(&p);
	ASSERT_INT_EQ(sse_feed(&p, "data: one\n\ndata: tw", 19), 0);
	ASSERT_INT_EQ(sse_next(&p, &ev), 1);
	ASSERT_STR_EQ(ev.data, "one");
	ASSERT_INT_EQ(sse_next(&p, &ev), 0);
	/* Half an event is pending: it stays, and completes later. */
	sse_trim(&p);
	ASSERT(p.buf != NULL);
	ASSERT_INT_EQ(sse_feed(&p, "o\n\n", 3), 0);
	ASSERT_INT_EQ(sse_next(&p, &ev), 1);
	ASSERT_STR_EQ(ev.data, "two");
	/* Everything returned: a waiting stream holds no buffer. */
	sse_trim(&p);
	ASSERT(p.buf == NULL && p.data == NULL);
	ASSERT_INT_EQ(p.cap + p.data_cap, 0);
	ASSERT_INT_EQ(sse_feed(&p, "data: three\n\n", 13), 0);
	ASSERT_INT_EQ(sse_next(&p, &ev), 1);
	ASSERT_STR_EQ(ev.data, "three");
	sse_free(&p);
}

static u_int64_t	fake_counter;

static u_int64_t
fake_next(const char *name, int64_t n)
{
	(void)name;
	(void)n;
	return (fake_counter);
}

static const struct router_env	fake_env = { fake_next, NULL, "" };

TEST(router_orders_tiers_rotates_and_skips)
{
	struct cfg_group	 g[2] = {
		{ 1, "high", 10, 1, 0, 0, 0 }, { 2, "low", 0, 1, 0, 0, 0 },
	};
	char			*models[] = { "gpt-4o", NULL };
	struct cfg_provider	 p[3];
	struct cfg_key		 k[3], *pk[3][1];
	struct key_health	 h[3];
	struct cfg		 c;
	struct router_pick	 out[8];
	int			 i, n;

	memset(p, 0, sizeof(p));
	memset(k, 0, sizeof(k));
	memset(h, 0, sizeof(h));
	memset(&c, 0, sizeof(c));
	for (i = 0; i < 3; i++) {
		p[i].id = i + 1;
		p[i].group = i < 2 ? &g[0] : &g[1];
		p[i].name = "p";
		p[i].models = models;
		p[i].nmodels = 1;
		p[i].enabled = 1;
		p[i].weight = 1;
		k[i].id = i + 1;
		k[i].provider = &p[i];
		k[i].enabled = 1;
		k[i].masked = "m";
		k[i].health = &h[i];
		pk[i][0] = &k[i];
		p[i].keys = pk[i];
		p[i].nkeys = 1;
	}
	c.providers = p;
	c.nproviders = 3;

	fake_counter = 0;
	n = router_plan(&c, NULL, "gpt-4o", 100, out, 8, &fake_env);
	ASSERT_INT_EQ(n, 3);
	ASSERT_INT_EQ(out[0].provider->id, 1);
	ASSERT_INT_EQ(out[1].provider->id, 2);
	ASSERT_INT_EQ(out[2].provider->id, 3);

	fake_counter = 1;
	n = router_plan(&c, NULL, "gpt-4o", 100, out, 8, &fake_env);
	ASSERT_INT_EQ(out[0].provider->id, 2);
	ASSERT_INT_EQ(out[1].provider->id, 1);
	ASSERT_INT_EQ(out[2].provider->id, 3);

	/* A cooling key makes its provider a skipped candidate. */
	h[1].status = KEY_COOLDOWN;
	h[1].cooldown_until = 200;
	n = router_plan(&c, NULL, "gpt-4o", 100, out, 8, &fake_env);
	ASSERT_INT_EQ(n, 3);
	ASSERT_INT_EQ(out[0].provider->id, 2);
	ASSERT(out[0].key == NULL && out[0].skip_reason != NULL);
	/* ... and usable again (half-open) once the cooldown passed. */
	ASSERT(router_key_usable(&k[1], 200));

	/* Disabled groups are listed as skipped; unknown models give none. */
	g[0].enabled = 0;
	n = router_plan(&c, NULL, "gpt-4o", 100, out, 8, &fake_env);
	ASSERT_INT_EQ(n, 3);
	ASSERT(out[0].key == NULL && out[1].key == NULL);
	ASSERT_INT_EQ(out[2].provider->id, 3);
	ASSERT_INT_EQ(router_plan(&c, NULL, "other", 100, out, 8, &fake_env), 0);
}

TEST(router_weights_pick_in_proportion)
{
	struct cfg_group	 g = { 1, "g", 0, 1, 1, 0, 0 };
	char			*models[] = { "m", NULL };
	struct cfg_provider	 p[2];
	struct cfg_key		 k[2], *pk[2][1];
	struct key_health	 h[2];
	struct cfg		 c;
	struct router_pick	 out[4];
	int			 i, first[3];

	memset(p, 0, sizeof(p));
	memset(k, 0, sizeof(k));
	memset(h, 0, sizeof(h));
	memset(&c, 0, sizeof(c));
	for (i = 0; i < 2; i++) {
		p[i].id = i + 1;
		p[i].group = &g;
		p[i].models = models;
		p[i].nmodels = 1;
		p[i].enabled = 1;
		p[i].weight = i == 0 ? 1 : 3;
		k[i].enabled = 1;
		k[i].provider = &p[i];
		k[i].health = &h[i];
		pk[i][0] = &k[i];
		p[i].keys = pk[i];
		p[i].nkeys = 1;
	}
	c.providers = p;
	c.nproviders = 2;

	memset(first, 0, sizeof(first));
	for (fake_counter = 0; fake_counter < 400; fake_counter++) {
		ASSERT_INT_EQ(router_plan(&c, NULL, "m", 0, out, 4, &fake_env), 2);
		first[out[0].provider->id]++;
		ASSERT(out[1].provider != out[0].provider);
	}
	ASSERT_INT_EQ(first[1], 100);
	ASSERT_INT_EQ(first[2], 300);
}

TEST(router_aliases_and_client_allowlists)
{
	struct cfg_group	 g = { 7, "g", 0, 1, 0, 0, 0 };
	char			*models[] = { "gpt-4o" }, *from[] = { "fast" };
	char			*to[] = { "gpt-4o-mini" }, *allowed[] = { "fast" };
	int64_t			 groups[] = { 8 };
	struct cfg_provider	 p;
	struct cfg_client	 cl;

	memset(&p, 0, sizeof(p));
	memset(&cl, 0, sizeof(cl));
	p.group = &g;
	p.models = models;
	p.nmodels = 1;
	p.alias_from = from;
	p.alias_to = to;
	p.naliases = 1;
	ASSERT_STR_EQ(router_upstream_model(&p, "fast"), "gpt-4o-mini");
	ASSERT_STR_EQ(router_upstream_model(&p, "gpt-4o"), "gpt-4o");
	ASSERT(router_upstream_model(&p, "gpt-4") == NULL);

	ASSERT(router_client_allows(&cl, "anything", &g));
	cl.models = allowed;
	cl.nmodels = 1;
	ASSERT(router_client_allows(&cl, "fast", NULL));
	ASSERT(!router_client_allows(&cl, "gpt-4o", NULL));
	cl.groups = groups;
	cl.ngroups = 1;
	ASSERT(!router_client_allows(&cl, NULL, &g));
}

TEST(multipart_fields_and_boundaries)
{
	const char	*body = "--xb\r\nContent-Disposition: form-data; "
			    "name=\"file\"; filename=\"model\"\r\n\r\nmodel"
			    "\r\n--xb\r\nContent-Disposition: form-data; "
			    "name=\"model\"\r\n\r\nwhisper-1\r\n--xb--\r\n";
	char		 b[80], v[32];

	ASSERT_INT_EQ(multipart_boundary("multipart/form-data; boundary=xb",
	    b, sizeof(b)), 0);
	ASSERT(strcmp(b, "xb") == 0);
	ASSERT_INT_EQ(multipart_boundary("multipart/form-data; "
	    "boundary=\"q r\"", b, sizeof(b)), 0);
	ASSERT(strcmp(b, "q r") == 0);
	ASSERT_INT_EQ(multipart_boundary("application/json", b, sizeof(b)),
	    -1);
	ASSERT_INT_EQ(multipart_boundary("multipart/form-data", b,
	    sizeof(b)), -1);
	/* The file part named "model" by its filename is no text field. */
	ASSERT_INT_EQ(multipart_field(body, strlen(body), "xb", "model", v,
	    sizeof(v)), 1);
	ASSERT(strcmp(v, "whisper-1") == 0);
	ASSERT_INT_EQ(multipart_field(body, strlen(body), "xb", "stream", v,
	    sizeof(v)), 0);
	ASSERT_INT_EQ(multipart_field(body, 30, "xb", "model", v, sizeof(v)),
	    -1);
	ASSERT_INT_EQ(multipart_field("junk", 4, "xb", "model", v, sizeof(v)),
	    -1);
	/* A value larger than the buffer is not found, never cut. */
	ASSERT_INT_EQ(multipart_field(body, strlen(body), "xb", "model", v,
	    5), 0);
}

TEST(usage_cache_counts_between_formats)
{
	struct kore_buf		out;
	struct xlate_usage	u;
	const char		*chat = "{\"id\":\"chatcmpl-1\",\"choices\":[{"
				    "\"index\":0,\"message\":{\"role\":"
				    "\"assistant\",\"content\":\"hi\"},"
				    "\"finish_reason\":\"stop\"}],\"usage\":{"
				    "\"prompt_tokens\":20,\"completion_tokens\":3,"
				    "\"prompt_tokens_details\":{\"cached_tokens\":5},"
				    "\"completion_tokens_details\":"
				    "{\"reasoning_tokens\":1}}}";

	/* OpenAI's 20 with 5 cached is Anthropic's 15 plus 5 read. */
	kore_buf_init(&out, 512);
	ASSERT_INT_EQ(xlate_response(XF_OPENAI, XF_ANTHROPIC, chat,
	    strlen(chat), "m", &out, &u), 0);
	kore_buf_stringify(&out, NULL);
	ASSERT(strstr((char *)out.data, "\"input_tokens\":15") != NULL);
	ASSERT(strstr((char *)out.data, "\"cache_read_input_tokens\":5") !=
	    NULL);
	ASSERT_INT_EQ(u.prompt_tokens, 20);
	ASSERT_INT_EQ(u.cached_tokens, 5);
	ASSERT_INT_EQ(u.reasoning_tokens, 1);

	/* The same as a Responses client's answer. */
	kore_buf_reset(&out);
	ASSERT_INT_EQ(xlate_response(XF_OPENAI, XF_RESPONSES, chat,
	    strlen(chat), "m", &out, &u), 0);
	kore_buf_stringify(&out, NULL);
	ASSERT(strstr((char *)out.data, "\"input_tokens\":20,"
	    "\"input_tokens_details\":{\"cached_tokens\":5}") != NULL);
	ASSERT(strstr((char *)out.data, "\"output_text\",\"text\":\"hi\"") !=
	    NULL);
	ASSERT(strstr((char *)out.data, "\"store\":false") != NULL);

	/* And back: Anthropic's reads and writes are prompt tokens. */
	kore_buf_reset(&out);
	chat = "{\"id\":\"msg_1\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"x\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens"
	    "\":15,\"cache_read_input_tokens\":5,\"cache_creation_input_"
	    "tokens\":2,\"output_tokens\":3}}";
	ASSERT_INT_EQ(xlate_response(XF_ANTHROPIC, XF_OPENAI, chat,
	    strlen(chat), "m", &out, &u), 0);
	ASSERT_INT_EQ(u.prompt_tokens, 22);
	ASSERT_INT_EQ(u.cached_tokens, 5);
	ASSERT_INT_EQ(u.cache_write_tokens, 2);
	kore_buf_cleanup(&out);
}

TEST(responses_requests_become_chat)
{
	struct kore_buf	out;
	char		err[256];
	const char	*req = "{\"model\":\"x\",\"instructions\":\"Be brief\","
			    "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
			    "\"input_text\",\"text\":\"Weather?\"}]},{\"type\":"
			    "\"function_call\",\"call_id\":\"c1\",\"name\":\"w\","
			    "\"arguments\":\"{}\"},{\"type\":\"function_call_output\","
			    "\"call_id\":\"c1\",\"output\":\"sunny\"}],\"tools\":[{"
			    "\"type\":\"function\",\"name\":\"w\",\"parameters\":{"
			    "\"type\":\"object\"}}],\"text\":{\"format\":{\"type\":"
			    "\"json_schema\",\"name\":\"r\",\"schema\":{\"type\":"
			    "\"object\"}}},\"max_output_tokens\":50,\"store\":true}";

	kore_buf_init(&out, 512);
	ASSERT_INT_EQ(xlate_request(XF_RESPONSES, XF_OPENAI, req, strlen(req),
	    "up", 1, &out, err, sizeof(err)), 0);
	kore_buf_stringify(&out, NULL);
	ASSERT(strstr((char *)out.data, "{\"role\":\"system\",\"content\":"
	    "\"Be brief\"}") != NULL);
	ASSERT(strstr((char *)out.data, "\"tool_calls\":[{\"id\":\"c1\"") !=
	    NULL);
	ASSERT(strstr((char *)out.data, "{\"role\":\"tool\",\"tool_call_id\":"
	    "\"c1\",\"content\":\"sunny\"}") != NULL);
	ASSERT(strstr((char *)out.data, "\"response_format\":{\"type\":"
	    "\"json_schema\"") != NULL);
	ASSERT(strstr((char *)out.data, "\"max_tokens\":50") != NULL);
	ASSERT(strstr((char *)out.data, "\"stream_options\":"
	    "{\"include_usage\":true}") != NULL);
	ASSERT(strstr((char *)out.data, "store") == NULL);

	/* Stored state is refused, naming the field. */
	kore_buf_reset(&out);
	ASSERT_INT_EQ(xlate_request(XF_RESPONSES, XF_ANTHROPIC,
	    "{\"input\":\"x\",\"previous_response_id\":\"r\"}", 40, "m", 0,
	    &out, err, sizeof(err)), -1);
	ASSERT(strstr(err, "previous_response_id") != NULL);
	ASSERT_INT_EQ(out.offset, 0);
	kore_buf_cleanup(&out);
}

void
run_dataplane_tests(int *passed, int *failed)
{
	RUN(multipart_fields_and_boundaries);
	RUN(usage_cache_counts_between_formats);
	RUN(responses_requests_become_chat);
	RUN(scan_finds_members_and_their_spans);
	RUN(scan_decodes_unicode_escapes);
	RUN(scan_rejects_what_is_not_json);
	RUN(scan_reads_token_counts);
	RUN(sse_splits_events_across_arbitrary_chunks);
	RUN(sse_holds_an_incomplete_event);
	RUN(sse_trim_frees_between_events_and_keeps_a_partial_one);
	RUN(router_orders_tiers_rotates_and_skips);
	RUN(router_weights_pick_in_proportion);
	RUN(router_aliases_and_client_allowlists);
}
