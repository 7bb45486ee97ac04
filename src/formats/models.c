/*
 * The upstream APIs' lists of models, as the model sync and the key
 * probes ask for them: OpenAI's GET /models ({"data":[{"id"}]}, one
 * page), Anthropic's GET /v1/models ({"data":[{"id"}], "has_more",
 * "last_id"}, paged with after_id) and Gemini's GET models
 * ({"models":[{"name":"models/..","supportedGenerationMethods"}],
 * "nextPageToken"}, paged with pageToken). Pure: unit tested, fuzzed.
 */

#include <stdio.h>
#include <string.h>

#include "formats/formats.h"

#define MODELS_PAGE_MAX		1000	/* the largest page both allow */

static int	models_generates(const struct kore_json_item *);

/* May a Gemini model generateContent (or does it not say)? */
static int
models_generates(const struct kore_json_item *m)
{
	const struct kore_json_item	*methods, *it;

	if ((methods = json_get(m, "supportedGenerationMethods")) == NULL ||
	    methods->type != KORE_JSON_TYPE_ARRAY)
		return (1);
	TAILQ_FOREACH(it, &methods->data.items, list) {
		if (json_is_str(it) &&
		    strcmp(it->data.string, "generateContent") == 0)
			return (1);
	}

	return (0);
}

int
models_list_parse(int fmt, const void *body, size_t len,
    struct kore_buf *out, int *n, char *next, size_t nextlen)
{
	struct kore_json	 j;
	struct kore_json_item	*list, *it, *name, *more;
	const char		*s;
	int			 rc;

	next[0] = '\0';
	if (json_parse(&j, body, len) == -1) {
		kore_json_cleanup(&j);
		return (-1);
	}

	rc = -1;
	list = json_get(j.root, fmt == XF_GEMINI ? "models" : "data");
	if (list == NULL || list->type != KORE_JSON_TYPE_ARRAY)
		goto done;

	TAILQ_FOREACH(it, &list->data.items, list) {
		if (it->type != KORE_JSON_TYPE_OBJECT)
			continue;
		name = json_get(it, fmt == XF_GEMINI ? "name" : "id");
		if (name == NULL || !json_is_str(name))
			continue;
		s = name->data.string;
		if (fmt == XF_GEMINI) {
			if (strncmp(s, "models/", 7) == 0)
				s += 7;
			if (!models_generates(it))
				continue;
		}
		if (!validate_name(s))
			continue;
		if ((*n)++ > 0 && out != NULL)
			kore_buf_append(out, ",", 1);
		if (out != NULL)
			json_str(out, s);
	}

	if (fmt == XF_GEMINI) {
		name = json_get(j.root, "nextPageToken");
	} else if (fmt == XF_ANTHROPIC &&
	    (more = json_get(j.root, "has_more")) != NULL &&
	    more->type == KORE_JSON_TYPE_LITERAL &&
	    more->data.literal == KORE_JSON_TRUE) {
		name = json_get(j.root, "last_id");
	} else {
		name = NULL;
	}
	if (name != NULL && json_is_str(name) &&
	    strlen(name->data.string) < nextlen)
		(void)snprintf(next, nextlen, "%s", name->data.string);
	rc = 0;

done:
	kore_json_cleanup(&j);
	return (rc);
}

/*
 * The query of a model list request of format fmt into out: the
 * smallest page for a probe (whether the key works is all it asks), the
 * largest for a sync, then the page after next (or none: next "").
 */
void
models_list_query(int fmt, int probe, const char *next, char *out,
    size_t outlen)
{
	const char	*hex = "0123456789ABCDEF";
	size_t		 o;
	int		 w;

	out[0] = '\0';
	if (fmt == XF_OPENAI)
		return;

	w = snprintf(out, outlen, "%s=%d", fmt == XF_GEMINI ? "pageSize" :
	    "limit", probe ? 1 : MODELS_PAGE_MAX);
	if (w < 0 || (size_t)w >= outlen || next[0] == '\0')
		return;
	o = (size_t)w;
	w = snprintf(out + o, outlen - o, "&%s=", fmt == XF_GEMINI ?
	    "pageToken" : "after_id");
	if (w < 0 || (size_t)w >= outlen - o)
		return;
	for (o += (size_t)w; *next != '\0' && o + 4 < outlen; next++) {
		if ((*next >= 'A' && *next <= 'Z') ||
		    (*next >= 'a' && *next <= 'z') ||
		    (*next >= '0' && *next <= '9') || strchr("-._~", *next)) {
			out[o++] = *next;
		} else {
			out[o++] = '%';
			out[o++] = hex[(unsigned char)*next >> 4];
			out[o++] = hex[(unsigned char)*next & 15];
		}
	}
	out[o] = '\0';
}
