/*
 * Scaffolding shared by the translator tests (xlate.c, xlate_gemini.c).
 */

#include <string.h>

#include <kore/kore.h>

#include "test.h"
#include "xlate_util.h"

/* The number of items of an array or object; -1 for anything else. */
int
json_items(const struct kore_json_item *it)
{
	const struct kore_json_item	*c;
	int				 n;

	if (it == NULL || (it->type != KORE_JSON_TYPE_ARRAY &&
	    it->type != KORE_JSON_TYPE_OBJECT))
		return (-1);
	n = 0;
	TAILQ_FOREACH(c, &it->data.items, list)
		n++;
	return (n);
}

/*
 * Every case's body is refused with a message naming its field, and out
 * holds after each refusal what it held before: nothing half written.
 */
void
check_refusals(translate_fn translate, const struct refusal *cases,
    size_t n, struct kore_buf *out)
{
	char	err[256];
	size_t	i, before;

	for (i = 0; i < n; i++) {
		before = out->offset;
		err[0] = '\0';
		if (translate(cases[i].body, out, err, sizeof(err)) != -1)
			FAIL("accepted %s", cases[i].body);
		if (strstr(err, cases[i].field) == NULL)
			FAIL("%s: \"%s\" does not name %s", cases[i].body,
			    err, cases[i].field);
		ASSERT_INT_EQ(out->offset, before);
	}
}
