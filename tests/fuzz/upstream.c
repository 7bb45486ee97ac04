/*
 * libFuzzer harness of what the gateway reads and rewrites of upstream
 * and client bodies on a provider's behalf: the APIs' lists of models
 * (src/formats/models.c), body_overrides (src/formats/override.c) and
 * the session key of a request (src/dataplane/strategy.c). The input is
 * fed to each; their promises are checked: the names make a valid JSON
 * array, an overridden body is a JSON object without the removed
 * members and with the set ones, the session key fits and is
 * deterministic.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dataplane.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kore_buf		 buf;
	struct json_member	 m[64];
	char			*set[] = { "max_tokens", "extra" };
	char			*val[] = { "7", "{\"a\":[1,null]}" };
	char			*rm[] = { "user", "model" };
	char			 next[64], key[256], again[256], name[130];
	size_t			 end;
	int			 fmt, n, rc, k, i, found;

	for (fmt = XF_OPENAI; fmt <= XF_GEMINI; fmt++) {
		kore_buf_init(&buf, 64);
		kore_buf_append(&buf, "[", 1);
		n = 0;
		rc = models_list_parse(fmt, data, len, &buf, &n, next,
		    sizeof(next));
		kore_buf_append(&buf, "]", 1);
		CHECK(strlen(next) < sizeof(next));
		CHECK(rc == 0 || n == 0);
		CHECK(json_scan_valid(buf.data, buf.offset));
		kore_buf_cleanup(&buf);
	}

	kore_buf_init(&buf, len + 64);
	rc = json_override(data, len, set, val, 2, rm, 2, &buf);
	if (rc == 0) {
		CHECK((k = json_scan_object(buf.data, buf.offset, m, 64,
		    &end)) >= 2);
		for (found = 0, i = 0; i < k; i++) {
			if (json_scan_string(buf.data, &m[i], 1, name,
			    sizeof(name)) < 0)
				continue;
			CHECK(strcmp(name, "user") != 0 &&
			    strcmp(name, "model") != 0);
			found += strcmp(name, "max_tokens") == 0;
		}
		CHECK(found == 1);
	} else {
		CHECK(buf.offset == 0);
	}
	kore_buf_cleanup(&buf);

	n = json_scan_object(data, len, m, 64, &end);
	if (n >= 0) {
		rc = strategy_session(data, m, n, NULL, key, sizeof(key));
		CHECK(strlen(key) < sizeof(key));
		CHECK(rc == (key[0] != '\0'));
		(void)strategy_session(data, m, n, NULL, again, sizeof(again));
		CHECK(strcmp(key, again) == 0);
	}

	return (0);
}
