/*
 * Scaffolding shared by the translator tests (xlate.c, xlate_gemini.c).
 */

#ifndef __H_XLATE_UTIL_H
#define __H_XLATE_UTIL_H

#include <stddef.h>

#include <kore/kore.h>

/* A request a translator must refuse, and the field its message names. */
struct refusal {
	const char	*body;
	const char	*field;
};

/* Translates the request body into out: 0, or -1 with the reason in err. */
typedef int	(*translate_fn)(const char *, struct kore_buf *, char *,
		    size_t);

int	json_items(const struct kore_json_item *);
void	check_refusals(translate_fn, const struct refusal *, size_t,
	    struct kore_buf *);

#endif
