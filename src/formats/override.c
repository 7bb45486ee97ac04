/*
 * A provider's body_overrides applied to the JSON body it is sent: its
 * top-level members set (added, or replacing the body's own) and
 * removed. Pure: unit tested and fuzzed.
 */

#include <string.h>

#include "formats/formats.h"

#define OVERRIDE_MEMBERS_MAX	256

static int	listed(char *const *, size_t, const char *);

static int
listed(char *const *names, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return (1);
	}

	return (0);
}

/*
 * body (a JSON object of len bytes) into out with every top-level
 * member named in remove or set_names left out, then set_names[i] with
 * the JSON text set_values[i] added at its end. Returns 0, or -1 when
 * body is no JSON object or has more than 256 members (out is then as
 * it was).
 */
int
json_override(const void *body, size_t len, char *const *set_names,
    char *const *set_values, size_t nset, char *const *remove,
    size_t nremove, struct kore_buf *out)
{
	struct json_member	*m;
	const char		*b = body;
	char			 key[130];
	size_t			 end, i;
	int			 n, k, first;

	m = kore_calloc(OVERRIDE_MEMBERS_MAX, sizeof(*m));
	if ((n = json_scan_object(body, len, m, OVERRIDE_MEMBERS_MAX,
	    &end)) < 0) {
		kore_free(m);
		return (-1);
	}

	kore_buf_append(out, "{", 1);
	first = 1;
	for (k = 0; k < n; k++) {
		if (json_scan_string(body, &m[k], 1, key, sizeof(key)) >= 0 &&
		    (listed(remove, nremove, key) ||
		    listed(set_names, nset, key)))
			continue;
		if (!first)
			kore_buf_append(out, ",", 1);
		first = 0;
		kore_buf_append(out, b + m[k].key,
		    m[k].value + m[k].value_len - m[k].key);
	}
	for (i = 0; i < nset; i++) {
		json_key(out, set_names[i], first);
		first = 0;
		kore_buf_appendf(out, "%s", set_values[i]);
	}
	kore_buf_append(out, "}", 1);

	kore_free(m);
	return (0);
}
