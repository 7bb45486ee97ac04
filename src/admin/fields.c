/*
 * A write's body read into a resource's fields (crud.c writes them):
 * every name it gives must be a field the client may write or one the
 * resource's prepare reads, and each field is parsed and checked as its
 * kind says. The readers say why a field is refused in an error buffer,
 * so that documents read without a request (an import, CONFIG_FILE) are
 * checked as the API checks them; admin_check_names answers itself.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"

static int	read_names(const struct admin_field *, struct kore_json_item *,
		    struct admin_value *, char *, size_t);
static int	read_json(const struct admin_resource *,
		    const struct admin_field *, struct kore_json_item *,
		    struct admin_value *, char *, size_t);
static int	read_field(struct api_body *, const struct admin_resource *,
		    const struct admin_field *, struct admin_value *, char *,
		    size_t);

/*
 * An array of names (or ids, or a map), stored as canonical JSON text.
 * -1 with the reason in err when it is not one.
 */
static int
read_names(const struct admin_field *f, struct kore_json_item *item,
    struct admin_value *v, char *err, size_t errlen)
{
	struct kore_json_item	*it;
	struct kore_buf		 buf;
	int			 first;

	kore_buf_init(&buf, 64);
	kore_buf_append(&buf, f->kind == AK_MAP ? "{" : "[", 1);
	first = 1;

	TAILQ_FOREACH(it, &item->data.items, list) {
		if (!first)
			kore_buf_append(&buf, ",", 1);
		first = 0;

		if (f->kind == AK_IDS) {
			if (it->type != KORE_JSON_TYPE_INTEGER_U64 &&
			    it->type != KORE_JSON_TYPE_INTEGER)
				goto bad;
			if (f->max > 0 ? it->data.s64 < f->min ||
			    it->data.s64 > f->max : it->data.s64 < 1)
				goto bad;
			kore_buf_appendf(&buf, "%" PRId64, it->data.s64);
			continue;
		}

		if (it->type != KORE_JSON_TYPE_STRING ||
		    !validate_name(it->data.string))
			goto bad;

		if (f->kind == AK_MAP) {
			if (!validate_name(it->name))
				goto bad;
			json_key(&buf, it->name, 1);
		}
		json_str(&buf, it->data.string);
	}

	kore_buf_append(&buf, f->kind == AK_MAP ? "}" : "]", 1);
	kore_free(v->s);
	v->s = kore_strdup(kore_buf_stringify(&buf, NULL));
	kore_buf_cleanup(&buf);
	return (1);

bad:
	kore_buf_cleanup(&buf);
	if (f->kind == AK_IDS && f->max > 0) {
		(void)snprintf(err, errlen, "field '%s' must be an array of "
		    "whole numbers from %" PRId64 " to %" PRId64, f->name,
		    f->min, f->max);
		return (-1);
	}
	(void)snprintf(err, errlen, "field '%s' must be %s", f->name,
	    f->kind == AK_IDS ? "an array of positive ids" :
	    f->kind == AK_MAP ? "an object mapping names to names" :
	    "an array of names (1 to 128 characters)");
	return (-1);
}

/* A JSON value its resource checks, stored as canonical JSON text. */
static int
read_json(const struct admin_resource *res, const struct admin_field *f,
    struct kore_json_item *item, struct admin_value *v, char *err,
    size_t errlen)
{
	struct kore_buf		buf;
	char			must[256];

	must[0] = '\0';
	if (!res->check_json(f->name, item, must, sizeof(must))) {
		(void)snprintf(err, errlen, "field '%s' must %s", f->name,
		    must);
		return (-1);
	}

	kore_buf_init(&buf, 128);
	json_value(&buf, item);
	kore_free(v->s);
	v->s = kore_strdup(kore_buf_stringify(&buf, NULL));
	kore_buf_cleanup(&buf);
	return (1);
}

/*
 * Read one field from the body into v. Returns 1 when given, 0 when
 * absent, -1 with the reason in err.
 */
static int
read_field(struct api_body *body, const struct admin_resource *res,
    const struct admin_field *f, struct admin_value *v, char *err,
    size_t errlen)
{
	struct kore_json_item	*item;
	char			*s;
	int64_t			 n;
	int			 b;

	if ((item = api_field(body, f->name)) == NULL)
		return (0);

	switch (f->kind) {
	case AK_STRING:
		if (api_item_string(item, f->name, &s, err, errlen) == -1)
			return (-1);
		if (f->check != NULL && !f->check(s)) {
			(void)snprintf(err, errlen, "field '%s' must be %s",
			    f->name, f->check_msg);
			return (-1);
		}
		kore_free(v->s);
		v->s = kore_strdup(s);
		return (1);
	case AK_INT:
		if ((f->flags & AF_NULL) &&
		    item->type == KORE_JSON_TYPE_LITERAL &&
		    item->data.literal == KORE_JSON_NULL) {
			v->i = ADMIN_NULL;
			return (1);
		}
		if (api_item_int(item, f->name, f->min, f->max, &n, err,
		    errlen) == -1)
			return (-1);
		v->i = n;
		return (1);
	case AK_BOOL:
		if (api_item_bool(item, f->name, &b, err, errlen) == -1)
			return (-1);
		v->i = b;
		return (1);
	case AK_TIME:
		if (item->type == KORE_JSON_TYPE_LITERAL &&
		    item->data.literal == KORE_JSON_NULL) {
			v->i = 0;
			return (1);
		}
		if (item->type == KORE_JSON_TYPE_STRING &&
		    validate_time(item->data.string, &n)) {
			v->i = n;
			return (1);
		}
		if (item->type == KORE_JSON_TYPE_INTEGER_U64 ||
		    (item->type == KORE_JSON_TYPE_INTEGER &&
		    item->data.s64 >= 0)) {
			v->i = item->data.s64;
			return (1);
		}
		(void)snprintf(err, errlen, "field '%s' must be null, epoch "
		    "seconds or an RFC 3339 UTC time such as "
		    "2027-01-31T00:00:00Z", f->name);
		return (-1);
	case AK_NAMES:
	case AK_IDS:
	case AK_MAP:
		if (item->type != (f->kind == AK_MAP ?
		    KORE_JSON_TYPE_OBJECT : KORE_JSON_TYPE_ARRAY)) {
			(void)snprintf(err, errlen, "field '%s' must be %s",
			    f->name, f->kind == AK_MAP ? "an object" :
			    "an array");
			return (-1);
		}
		return (read_names(f, item, v, err, errlen));
	case AK_JSON:
		return (read_json(res, f, item, v, err, errlen));
	}

	fatal("admin: unknown field kind %d", f->kind);
	return (-1);
}

/*
 * Read every field clients may write from body into w; in create and PUT
 * the required ones must be given. Returns 0, or -1 with the reason in
 * err and the error code ("invalid_field", "missing_field") in *code.
 * Sends no reply.
 */
int
admin_read(const struct admin_resource *res, struct api_body *body,
    struct admin_write *w, char *err, size_t errlen, const char **code)
{
	const struct admin_field	*f;
	size_t				 i;
	int				 rc;

	for (i = 0; i < res->nfields; i++) {
		f = &res->fields[i];
		if (f->flags & AF_READONLY)
			continue;
		if ((rc = read_field(body, res, f, &w->vals[i], err,
		    errlen)) < 0) {
			*code = "invalid_field";
			return (-1);
		}
		if (rc == 0 && w->mode != ADMIN_PATCH &&
		    (f->flags & AF_REQUIRED)) {
			(void)snprintf(err, errlen, "field '%s' is required",
			    f->name);
			*code = "missing_field";
			return (-1);
		}
	}

	return (0);
}

/*
 * Every member of a write's body must name a field the client may
 * write, or one the resource's prepare reads: a read-only field gets
 * 400 saying so, an unknown one 400 naming it (api_check_fields).
 * KORE_RESULT_ERROR after the reply.
 */
int
admin_check_names(struct http_request *req, const struct admin_resource *res,
    struct api_body *body)
{
	static const char *const fixed[] = { "id", "created_at", "updated_at" };
	const char	*names[ADMIN_FIELDS_MAX + ADMIN_EXTRA_MAX + 1];
	const char	*ro;
	size_t		 i, j, n, a;

	n = 0;
	for (i = 0; res->accepts != NULL && res->accepts[i] != NULL; i++)
		names[n++] = res->accepts[i];
	a = n;
	for (i = 0; i < res->nfields; i++) {
		if (!(res->fields[i].flags & AF_READONLY))
			names[n++] = res->fields[i].name;
	}
	names[n] = NULL;

	for (i = 0; i < res->nfields + 3; i++) {
		if (i < res->nfields && !(res->fields[i].flags & AF_READONLY))
			continue;
		ro = i < res->nfields ? res->fields[i].name :
		    fixed[i - res->nfields];
		for (j = 0; j < a && strcmp(names[j], ro) != 0; j++)
			;
		if (j < a || api_field(body, ro) == NULL)
			continue;
		api_error(req, 400, "invalid_request_error", "read_only_field",
		    "field '%s' is set by the gateway and cannot be written",
		    ro);
		return (KORE_RESULT_ERROR);
	}

	return (api_check_fields(req, body, names));
}
