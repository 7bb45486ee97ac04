/*
 * POST /api/admin/import[?dry_run=true] and CONFIG_FILE: apply a
 * document of the shape GET /api/admin/export gives (export.c).
 *
 * Declarative for what the document names: a group, provider (within
 * its group) or client key is found by name, an upstream key by its
 * secret (or, without one, by its mask and label), a price by its model
 * and provider; what is found takes the document's values for every
 * field the record gives, what is not is created. Nothing the document does not name is changed or deleted.
 * Every record is checked as the admin API checks it, unknown fields are
 * refused, and the whole document is applied in one transaction: a
 * document that fails anywhere changes nothing. A dry run does all of it
 * and rolls back, answering the same difference.
 *
 * Upstream keys carry their secret only in an export with secrets: the
 * passphrase (X-Fusion-Passphrase, or CONFIG_PASSPHRASE for CONFIG_FILE)
 * opens them. A key without one that is not there already cannot be
 * made, and is reported as a warning. Client keys a document creates get
 * new keys, shown once in the import's answer (never for CONFIG_FILE).
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admin/admin.h"

struct import_ctx {
	int			 dry_run;
	int			 reveal;	/* answer new client keys */
	int			 has_key;
	u_int8_t		 key[SECRETS_KEY];
	int64_t			 created;
	int64_t			 updated;
	int64_t			 unchanged;
	struct kore_buf		 changes;
	struct kore_buf		 warnings;
	struct kore_buf		 revealed;
	char			 err[512];
};

static int	import_fields(struct import_ctx *, struct kore_json_item *,
		    const char *, const struct admin_resource *,
		    const char *const *);
static int	import_unique(struct import_ctx *, struct kore_json_item *,
		    const char *);
static int	import_secrets(struct import_ctx *, struct kore_json_item *,
		    const char *);
static const char	*import_name(struct import_ctx *,
		    struct kore_json_item *, const char *);
static const char	*import_str(struct kore_json_item *, const char *,
		    const char *);
static int64_t	import_find(const char *, int64_t, const char *);
static int	import_record(struct import_ctx *,
		    const struct admin_resource *, struct kore_json_item *,
		    int64_t, const char *, const char *, const char *,
		    const char *, int64_t *);
static void	import_warn(struct import_ctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	import_change(struct import_ctx *, const char *, const char *,
		    const char *, struct kore_buf *);
static int	import_groups(struct import_ctx *, struct kore_json_item *);
static int	import_providers(struct import_ctx *, struct kore_json_item *,
		    int64_t, const char *, const char *);
static int	import_keys(struct import_ctx *, struct kore_json_item *,
		    int64_t, const char *, const char *);
static int	import_client_keys(struct import_ctx *,
		    struct kore_json_item *);
static int	import_prices(struct import_ctx *, struct kore_json_item *);
static int	import_document(struct import_ctx *, struct kore_json_item *,
		    const char *);
static void	import_answer(struct kore_buf *, struct import_ctx *);
static int	import_cmp(const void *, const void *);

static const char *const	doc_fields[] = { "fusion_config", "groups",
				    "client_keys", "currency", "prices",
				    "secrets", NULL };
static const char *const	secret_fields[] = { "kdf", "opslimit",
				    "memlimit", "salt", NULL };
/* What a record holds beyond its resource's writable fields. */
static const char *const	group_extra[] = { "providers", NULL };
static const char *const	provider_extra[] = { "keys", NULL };
static const char *const	key_extra[] = { "key_masked", "secret", NULL };
static const char *const	price_extra[] = { "group", "provider", NULL };

/*
 * Is obj an object whose members are all named in allowed, or (when res
 * is given) writable fields of resource res other than its parent's id
 * (matched as the admin API matches names)? where names the record for
 * the message.
 */
static int
import_fields(struct import_ctx *ctx, struct kore_json_item *obj,
    const char *where, const struct admin_resource *res,
    const char *const *allowed)
{
	struct kore_json_item	*it;
	const struct admin_field *f;
	size_t			 i;
	int			 found;

	if (obj->type != KORE_JSON_TYPE_OBJECT) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "%s must be an "
		    "object", where);
		return (-1);
	}
	TAILQ_FOREACH(it, &obj->data.items, list) {
		found = 0;
		for (i = 0; allowed != NULL && allowed[i] != NULL; i++) {
			if (api_name_equal(it->name, allowed[i]))
				found = 1;
		}
		for (i = 0; res != NULL && i < res->nfields; i++) {
			f = &res->fields[i];
			if (!(f->flags & AF_READONLY) && (res->fk_field == NULL ||
			    strcmp(f->name, res->fk_field) != 0) &&
			    api_name_equal(it->name, f->name))
				found = 1;
		}
		if (!found) {
			(void)snprintf(ctx->err, sizeof(ctx->err), "%s: unknown "
			    "field '%s'", where, it->name);
			return (-1);
		}
	}
	return (0);
}

static int
import_cmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* The array arr of records, each named once. where names it. */
static int
import_unique(struct import_ctx *ctx, struct kore_json_item *arr,
    const char *where)
{
	struct kore_json_item	*it, *name;
	const char		**names;
	size_t			 n, i;
	int			 rc;

	if (arr->type != KORE_JSON_TYPE_ARRAY) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "%s must be an "
		    "array", where);
		return (-1);
	}
	n = 0;
	TAILQ_FOREACH(it, &arr->data.items, list)
		n++;
	names = kore_calloc(n + 1, sizeof(*names));
	n = 0;
	TAILQ_FOREACH(it, &arr->data.items, list) {
		if (it->type == KORE_JSON_TYPE_OBJECT &&
		    (name = json_get(it, "name")) != NULL &&
		    name->type == KORE_JSON_TYPE_STRING)
			names[n++] = name->data.string;
	}
	qsort(names, n, sizeof(*names), import_cmp);
	rc = 0;
	for (i = 1; i < n; i++) {
		if (strcmp(names[i - 1], names[i]) == 0) {
			(void)snprintf(ctx->err, sizeof(ctx->err), "%s names "
			    "'%s' twice", where, names[i]);
			rc = -1;
			break;
		}
	}
	kore_free(names);
	return (rc);
}

/*
 * The document's "secrets": derive the key its upstream keys are sealed
 * under from pass. The limits are bounded so that a document cannot ask
 * the gateway for more than argon2id's "moderate" work.
 */
static int
import_secrets(struct import_ctx *ctx, struct kore_json_item *sec,
    const char *pass)
{
	struct kore_json_item	*it;
	u_int8_t		 salt[SECRETS_SALT];
	int64_t			 ops, mem;
	size_t			 len;
	char			*s;

	if (import_fields(ctx, sec, "secrets", NULL, secret_fields) == -1)
		return (-1);
	if ((it = json_get(sec, "kdf")) == NULL ||
	    api_item_string(it, "kdf", &s, ctx->err, sizeof(ctx->err)) == -1 ||
	    strcmp(s, "argon2id13") != 0) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "secrets: field "
		    "'kdf' must be 'argon2id13'");
		return (-1);
	}
	if ((it = json_get(sec, "opslimit")) == NULL ||
	    api_item_int(it, "secrets.opslimit", 1, 8, &ops, ctx->err,
	    sizeof(ctx->err)) == -1 ||
	    (it = json_get(sec, "memlimit")) == NULL ||
	    api_item_int(it, "secrets.memlimit", 8192, 256 * 1024 * 1024, &mem,
	    ctx->err, sizeof(ctx->err)) == -1) {
		if (it == NULL)
			(void)snprintf(ctx->err, sizeof(ctx->err), "secrets: "
			    "fields 'opslimit' and 'memlimit' are required");
		return (-1);
	}
	if ((it = json_get(sec, "salt")) == NULL ||
	    it->type != KORE_JSON_TYPE_STRING ||
	    sodium_base642bin(salt, sizeof(salt), it->data.string,
	    strlen(it->data.string), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || len != sizeof(salt)) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "secrets: field "
		    "'salt' must be %d bytes in base64", SECRETS_SALT);
		return (-1);
	}
	if (pass == NULL || *pass == '\0') {
		(void)snprintf(ctx->err, sizeof(ctx->err), "the document holds "
		    "sealed upstream keys: give the passphrase it was exported "
		    "with (X-Fusion-Passphrase, or CONFIG_PASSPHRASE)");
		return (-1);
	}
	if (secrets_pass_key(pass, salt, (u_int64_t)ops, (size_t)mem,
	    ctx->key) != KORE_RESULT_OK) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "the passphrase's "
		    "key could not be derived");
		return (-1);
	}
	ctx->has_key = 1;
	return (0);
}

/* The record's name, or NULL when it has none (the reason in ctx). */
static const char *
import_name(struct import_ctx *ctx, struct kore_json_item *obj,
    const char *where)
{
	struct kore_json_item	*name;

	if ((name = json_get(obj, "name")) == NULL ||
	    name->type != KORE_JSON_TYPE_STRING) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "%s: field 'name' "
		    "is required", where);
		return (NULL);
	}
	return (name->data.string);
}

/* Member name of obj when it is a string, else def. */
static const char *
import_str(struct kore_json_item *obj, const char *name, const char *def)
{
	struct kore_json_item	*it;

	it = json_get(obj, name);
	return (json_is_str(it) ? it->data.string : def);
}

/* The id of the row of sql (bound to n, then to s), or 0 when none. */
static int64_t
import_find(const char *sql, int64_t n, const char *s)
{
	sqlite3_stmt	*st;
	int64_t		 id;
	int		 idx;

	if ((st = store_prepare(sql)) == NULL)
		return (-1);
	idx = 1;
	if (n != 0)
		sqlite3_bind_int64(st, idx++, n);
	sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
	id = (sqlite3_step(st) == SQLITE_ROW) ? sqlite3_column_int64(st, 0) :
	    0;
	sqlite3_finalize(st);
	return (id);
}

/* One entry of the answer's "changes". fields is NULL for a creation. */
static void
import_change(struct import_ctx *ctx, const char *action, const char *kind,
    const char *name, struct kore_buf *fields)
{
	kore_buf_appendf(&ctx->changes, ctx->changes.offset ? ",{" : "{");
	json_kv_str(&ctx->changes, "action", action, 1);
	json_kv_str(&ctx->changes, "kind", kind, 0);
	json_kv_str(&ctx->changes, "name", name, 0);
	if (fields != NULL) {
		json_key(&ctx->changes, "fields", 0);
		kore_buf_appendf(&ctx->changes, "[%s]",
		    kore_buf_stringify(fields, NULL));
	}
	kore_buf_appendf(&ctx->changes, "}");
}

static void
import_warn(struct import_ctx *ctx, const char *fmt, ...)
{
	va_list		args;
	char		msg[512];

	va_start(args, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	if (ctx->warnings.offset > 0)
		kore_buf_appendf(&ctx->warnings, ",");
	json_str(&ctx->warnings, msg);
}

/*
 * Create (id 0) or update row id of res from the record obj (its parent's
 * id already added to it): its fields over the stored row (or the
 * defaults), checked as the API checks them. A new upstream key is sealed
 * from secret; a new client key gets a key made for it. Counts and
 * describes the change, and writes only when something changed. *out is
 * the row's id. where names the record in messages, name in the answer.
 */
static int
import_record(struct import_ctx *ctx, const struct admin_resource *res,
    struct kore_json_item *obj, int64_t id, const char *where,
    const char *kind, const char *name, const char *secret, int64_t *out)
{
	struct api_body		 body;
	struct admin_write	 w, old;
	struct kore_buf		 fields;
	const struct admin_field *f;
	const char		*code;
	char			 err[256];
	size_t			 i;
	int			 rc, changed;

	memset(&body, 0, sizeof(body));
	body.root = obj;
	admin_write_init(res, &w, id ? ADMIN_PATCH : ADMIN_CREATE);
	admin_write_init(res, &old, ADMIN_PATCH);
	kore_buf_init(&fields, 64);
	rc = -1;

	if (id != 0) {
		w.id = old.id = id;
		if (admin_load_row(res, &w) != 1 ||
		    admin_load_row(res, &old) != 1) {
			(void)snprintf(ctx->err, sizeof(ctx->err), "%s: the "
			    "store could not be read", where);
			goto done;
		}
	}
	if (admin_read(res, &body, &w, err, sizeof(err), &code) == -1) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "%s: %s", where,
		    err);
		goto done;
	}

	changed = 0;
	for (i = 0; id != 0 && i < res->nfields; i++) {
		f = &res->fields[i];
		if (f->flags & AF_READONLY)
			continue;
		if (f->kind == AK_INT || f->kind == AK_BOOL ||
		    f->kind == AK_TIME ? w.vals[i].i != old.vals[i].i :
		    strcmp(w.vals[i].s ? w.vals[i].s : "",
		    old.vals[i].s ? old.vals[i].s : "") != 0) {
			if (changed++)
				kore_buf_appendf(&fields, ",");
			json_str(&fields, f->name);
		}
	}

	if (id != 0 && !changed) {
		ctx->unchanged++;
		*out = id;
		rc = 0;
		goto done;
	}

	if (id == 0 && res == &admin_res_client_keys)
		admin_client_key_make(&w);
	if (id == 0 && res == &admin_res_keys)
		admin_key_seal(&w, secret);

	if ((rc = admin_write_row(res, &w)) != SQLITE_OK) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "%s: %s", where,
		    rc == SQLITE_CONSTRAINT_UNIQUE ? res->conflict_msg :
		    "the store refused the change");
		rc = -1;
		goto done;
	}
	*out = w.id;

	if (id == 0) {
		ctx->created++;
		import_change(ctx, "create", kind, name, NULL);
		if (res == &admin_res_client_keys && ctx->reveal) {
			kore_buf_appendf(&ctx->revealed,
			    ctx->revealed.offset ? ",{" : "{");
			json_kv_str(&ctx->revealed, "name", name, 1);
			json_kv_str(&ctx->revealed, "key", w.reveal, 0);
			kore_buf_appendf(&ctx->revealed, "}");
		}
	} else {
		ctx->updated++;
		import_change(ctx, "update", kind, name, &fields);
	}
	rc = 0;

done:
	kore_buf_cleanup(&fields);
	admin_write_cleanup(&w);
	admin_write_cleanup(&old);
	return (rc);
}

static int
import_groups(struct import_ctx *ctx, struct kore_json_item *arr)
{
	struct kore_json_item	*g, *p;
	const char		*name;
	char			 where[64];
	int64_t			 id;
	int			 i;

	if (import_unique(ctx, arr, "groups") == -1)
		return (-1);
	i = 0;
	TAILQ_FOREACH(g, &arr->data.items, list) {
		(void)snprintf(where, sizeof(where), "groups[%d]", i++);
		if (import_fields(ctx, g, where, &admin_res_groups, group_extra) == -1)
			return (-1);
		if ((name = import_name(ctx, g, where)) == NULL)
			return (-1);
		if ((id = import_find("SELECT id FROM groups WHERE name = ?",
		    0, name)) < 0 ||
		    import_record(ctx, &admin_res_groups, g, id, where, "group",
		    name, NULL, &id) == -1)
			return (-1);
		if ((p = json_get(g, "providers")) != NULL &&
		    import_providers(ctx, p, id, where,
		    name) == -1)
			return (-1);
	}
	return (0);
}

static int
import_providers(struct import_ctx *ctx, struct kore_json_item *arr,
    int64_t group, const char *gwhere, const char *gname)
{
	struct kore_json_item	*p, *k;
	const char		*name;
	char			 where[96], label[300];
	int64_t			 id;
	int			 i;

	(void)snprintf(where, sizeof(where), "%s.providers", gwhere);
	if (import_unique(ctx, arr, where) == -1)
		return (-1);
	i = 0;
	TAILQ_FOREACH(p, &arr->data.items, list) {
		(void)snprintf(where, sizeof(where), "%s.providers[%d]",
		    gwhere, i++);
		if (import_fields(ctx, p, where, &admin_res_providers,
		    provider_extra) == -1)
			return (-1);
		if ((name = import_name(ctx, p, where)) == NULL)
			return (-1);
		(void)kore_json_create_integer(p, "group_id", group);
		(void)snprintf(label, sizeof(label), "%s/%s", gname,
		    name);
		if ((id = import_find("SELECT id FROM providers WHERE "
		    "group_id = ? AND name = ?", group, name)) < 0 ||
		    import_record(ctx, &admin_res_providers, p, id, where,
		    "provider", label, NULL, &id) == -1)
			return (-1);
		if ((k = json_get(p, "keys")) != NULL &&
		    import_keys(ctx, k, id, where, label) == -1)
			return (-1);
	}
	return (0);
}

/*
 * A provider's keys: found by their secret when the document has it,
 * else by mask and label; made only from a secret.
 */
static int
import_keys(struct import_ctx *ctx, struct kore_json_item *arr,
    int64_t provider, const char *pwhere, const char *plabel)
{
	struct kore_json_item	*k, *it;
	sqlite3_stmt		*st;
	const char		*masked, *label;
	char			 where[128], name[400], hash[SECRET_HASH_HEX];
	char			*plain;
	int64_t			 id;
	int			 i, rc;

	if (arr->type != KORE_JSON_TYPE_ARRAY) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "%s.keys must be "
		    "an array", pwhere);
		return (-1);
	}
	i = 0;
	TAILQ_FOREACH(k, &arr->data.items, list) {
		(void)snprintf(where, sizeof(where), "%s.keys[%d]", pwhere,
		    i++);
		if (import_fields(ctx, k, where, &admin_res_keys,
		    key_extra) == -1)
			return (-1);
		masked = import_str(k, "key_masked", "");
		label = import_str(k, "label", "");
		(void)kore_json_create_integer(k, "provider_id", provider);

		(void)snprintf(name, sizeof(name), "%s/%s", plabel, masked);

		if ((it = json_get(k, "secret")) == NULL) {
			if ((st = store_prepare("SELECT id FROM upstream_keys "
			    "WHERE provider_id = ? AND key_masked = ? AND "
			    "label = ? ORDER BY id")) == NULL)
				return (-1);
			sqlite3_bind_int64(st, 1, provider);
			sqlite3_bind_text(st, 2, masked, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
			id = (sqlite3_step(st) == SQLITE_ROW) ?
			    sqlite3_column_int64(st, 0) : 0;
			sqlite3_finalize(st);
			if (id == 0) {
				import_warn(ctx, "%s (%s): not created, the "
				    "document has no secret for it (export "
				    "with ?secrets=true)", where, name);
				continue;
			}
			if (import_record(ctx, &admin_res_keys, k, id, where,
			    "key", name, NULL, &id) == -1)
				return (-1);
			continue;
		}

		if (!ctx->has_key || it->type != KORE_JSON_TYPE_STRING ||
		    (plain = secrets_pass_open(ctx->key,
		    it->data.string)) == NULL) {
			(void)snprintf(ctx->err, sizeof(ctx->err), "%s: the "
			    "passphrase does not open its secret", where);
			return (-1);
		}
		secrets_hash(plain, hash);
		id = import_find("SELECT id FROM upstream_keys WHERE "
		    "provider_id = ? AND secret_hash = ?", provider, hash);
		rc = id < 0 ? -1 : import_record(ctx, &admin_res_keys, k, id,
		    where, "key", name, plain, &id);
		sodium_memzero(plain, strlen(plain));
		kore_free(plain);
		if (rc == -1)
			return (-1);
	}
	return (0);
}

static int
import_client_keys(struct import_ctx *ctx, struct kore_json_item *arr)
{
	struct kore_json_item	*c, *groups, *it, *ids;
	const char		*name;
	char			 where[64];
	int64_t			 id, gid;
	int			 i;

	if (import_unique(ctx, arr, "client_keys") == -1)
		return (-1);
	i = 0;
	TAILQ_FOREACH(c, &arr->data.items, list) {
		(void)snprintf(where, sizeof(where), "client_keys[%d]", i++);
		if (import_fields(ctx, c, where, &admin_res_client_keys, NULL) == -1)
			return (-1);
		if ((name = import_name(ctx, c, where)) == NULL)
			return (-1);

		/* Groups by name here, by id in the store. */
		if ((groups = api_field(&(struct api_body){ .root = c },
		    "allowed_groups")) != NULL) {
			if (groups->type != KORE_JSON_TYPE_ARRAY) {
				(void)snprintf(ctx->err, sizeof(ctx->err),
				    "%s: field 'allowed_groups' must be an "
				    "array of group names", where);
				return (-1);
			}
			ids = kore_json_create_array(NULL, "allowed_groups");
			TAILQ_FOREACH(it, &groups->data.items, list) {
				gid = it->type != KORE_JSON_TYPE_STRING ? 0 :
				    import_find("SELECT id FROM groups WHERE "
				    "name = ?", 0, it->data.string);
				if (gid <= 0) {
					(void)snprintf(ctx->err,
					    sizeof(ctx->err), "%s: "
					    "'allowed_groups' names no group "
					    "'%s'", where,
					    it->type == KORE_JSON_TYPE_STRING ?
					    it->data.string : "(not a name)");
					kore_json_item_free(ids);
					return (-1);
				}
				(void)kore_json_create_integer(ids, NULL, gid);
			}
			TAILQ_REMOVE(&c->data.items, groups, list);
			kore_json_item_free(groups);
			TAILQ_INSERT_TAIL(&c->data.items, ids, list);
		}

		if ((id = import_find("SELECT id FROM client_keys WHERE "
		    "name = ?", 0, name)) < 0 ||
		    import_record(ctx, &admin_res_client_keys, c, id, where,
		    "client_key", name, NULL, &id) == -1)
			return (-1);
	}
	return (0);
}

/*
 * The document's prices: each found by its model and provider (named by
 * group and provider, or neither for every provider). A price named
 * twice is refused.
 */
static int
import_prices(struct import_ctx *ctx, struct kore_json_item *arr)
{
	struct kore_json_item	*pr;
	const char		*model, *gname, *pname;
	char			 where[64], name[400];
	int64_t			 id, gid, pid, *seen;
	int			 i, n, k, rc;

	if (arr->type != KORE_JSON_TYPE_ARRAY) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "prices must be an "
		    "array");
		return (-1);
	}
	n = 0;
	TAILQ_FOREACH(pr, &arr->data.items, list)
		n++;
	seen = kore_calloc((size_t)n + 1, sizeof(*seen));
	rc = -1;
	i = 0;
	TAILQ_FOREACH(pr, &arr->data.items, list) {
		(void)snprintf(where, sizeof(where), "prices[%d]", i);
		if (import_fields(ctx, pr, where, &admin_res_prices,
		    price_extra) == -1)
			goto done;
		model = import_str(pr, "model", "");
		gname = import_str(pr, "group", NULL);
		pname = import_str(pr, "provider", NULL);
		if ((gname == NULL) != (pname == NULL)) {
			(void)snprintf(ctx->err, sizeof(ctx->err), "%s: fields "
			    "'group' and 'provider' name a provider together "
			    "(neither: every provider)", where);
			goto done;
		}

		pid = 0;
		if (pname != NULL) {
			gid = import_find("SELECT id FROM groups WHERE "
			    "name = ?", 0, gname);
			pid = gid <= 0 ? gid : import_find("SELECT id FROM "
			    "providers WHERE group_id = ? AND name = ?", gid,
			    pname);
			if (pid <= 0) {
				(void)snprintf(ctx->err, sizeof(ctx->err),
				    "%s: names no provider '%s/%s'", where,
				    gname, pname);
				goto done;
			}
			(void)kore_json_create_integer(pr, "provider_id", pid);
			(void)snprintf(name, sizeof(name), "%s @ %s/%s", model,
			    gname, pname);
		} else {
			(void)kore_strlcpy(name, model, sizeof(name));
		}

		id = pid ? import_find("SELECT id FROM prices WHERE "
		    "provider_id = ? AND model = ?", pid, model) :
		    import_find("SELECT id FROM prices WHERE provider_id IS "
		    "NULL AND model = ?", 0, model);
		if (id < 0 || import_record(ctx, &admin_res_prices, pr, id,
		    where, "price", name, NULL, &id) == -1)
			goto done;
		for (k = 0; k < i; k++) {
			if (seen[k] == id) {
				(void)snprintf(ctx->err, sizeof(ctx->err), "%s: "
				    "the price of '%s' is given twice", where,
				    name);
				goto done;
			}
		}
		seen[i++] = id;
	}
	rc = 0;

done:
	kore_free(seen);
	return (rc);
}

/* The whole document, inside the caller's transaction. */
static int
import_document(struct import_ctx *ctx, struct kore_json_item *root,
    const char *pass)
{
	struct kore_json_item	*it;
	int64_t			 version;

	if (import_fields(ctx, root, "the document", NULL, doc_fields) == -1)
		return (-1);
	if ((it = json_get(root, "fusion_config")) == NULL ||
	    api_item_int(it, "fusion_config", EXPORT_VERSION, EXPORT_VERSION,
	    &version, ctx->err, sizeof(ctx->err)) == -1) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "field "
		    "'fusion_config' must be %d (the document's version)",
		    EXPORT_VERSION);
		return (-1);
	}
	if ((it = json_get(root, "secrets")) != NULL &&
	    import_secrets(ctx, it, pass) == -1)
		return (-1);
	if ((it = json_get(root, "groups")) != NULL &&
	    import_groups(ctx, it) == -1)
		return (-1);
	if ((it = json_get(root, "client_keys")) != NULL &&
	    import_client_keys(ctx, it) == -1)
		return (-1);
	/* Prices are amounts of one currency: the gateway's. */
	if ((it = json_get(root, "currency")) != NULL &&
	    (it->type != KORE_JSON_TYPE_STRING ||
	    strcmp(it->data.string, fusion_cfg.currency) != 0)) {
		(void)snprintf(ctx->err, sizeof(ctx->err), "field 'currency' "
		    "must be this gateway's (%s): its prices are amounts of it",
		    fusion_cfg.currency);
		return (-1);
	}
	if ((it = json_get(root, "prices")) != NULL &&
	    import_prices(ctx, it) == -1)
		return (-1);
	return (0);
}

static void
import_answer(struct kore_buf *buf, struct import_ctx *ctx)
{
	kore_buf_appendf(buf, "{");
	json_kv_bool(buf, "dry_run", ctx->dry_run, 1);
	json_kv_int(buf, "created", ctx->created, 0);
	json_kv_int(buf, "updated", ctx->updated, 0);
	json_kv_int(buf, "unchanged", ctx->unchanged, 0);
	kore_buf_appendf(buf, ",\"changes\":[%s],\"warnings\":[%s]",
	    kore_buf_stringify(&ctx->changes, NULL),
	    kore_buf_stringify(&ctx->warnings, NULL));
	if (ctx->revealed.offset > 0)
		kore_buf_appendf(buf, ",\"client_keys\":[%s]",
		    kore_buf_stringify(&ctx->revealed, NULL));
	kore_buf_appendf(buf, "}");
}

/*
 * Apply the document root in one transaction (rolled back when dry_run);
 * the answer goes into out. Returns 0, or -1 with the reason in err
 * (nothing changed).
 */
int
import_apply(struct kore_json_item *root, const char *pass, int dry_run,
    int reveal, struct kore_buf *out, int64_t *changed, char *err,
    size_t errlen)
{
	struct import_ctx	*ctx;
	int			 rc;

	ctx = kore_calloc(1, sizeof(*ctx));
	ctx->dry_run = dry_run;
	ctx->reveal = reveal && !dry_run;
	kore_buf_init(&ctx->changes, 1024);
	kore_buf_init(&ctx->warnings, 64);
	kore_buf_init(&ctx->revealed, 64);

	rc = -1;
	if (store_begin() != KORE_RESULT_OK) {
		(void)kore_strlcpy(err, "the store could not begin a "
		    "transaction", errlen);
		goto done;
	}
	if (import_document(ctx, root, pass) == -1) {
		store_rollback();
		(void)kore_strlcpy(err, ctx->err, errlen);
		goto done;
	}
	if (dry_run) {
		store_rollback();
	} else if (store_commit() != KORE_RESULT_OK) {
		store_rollback();
		(void)kore_strlcpy(err, "the store could not commit", errlen);
		goto done;
	} else if (ctx->created + ctx->updated > 0) {
		config_invalidate();
	}
	import_answer(out, ctx);
	*changed = ctx->created + ctx->updated;
	rc = 0;

done:
	sodium_memzero(ctx->key, sizeof(ctx->key));
	sodium_memzero(ctx->revealed.data, ctx->revealed.length);
	kore_buf_cleanup(&ctx->changes);
	kore_buf_cleanup(&ctx->warnings);
	kore_buf_cleanup(&ctx->revealed);
	kore_free(ctx);
	return (rc);
}

/* POST /api/admin/import[?dry_run=true]: the document is the body. */
int
admin_import(struct http_request *req)
{
	struct admin_user	 user;
	struct api_body		 body;
	struct kore_buf		*buf;
	const char		*pass;
	char			 err[512], detail[128];
	int64_t			 changed;
	int			 dry_run;

	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_method(req, HTTP_METHOD_POST, "POST") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);

	if (api_query_bool(req, "dry_run", &dry_run) < 0)
		return (KORE_RESULT_OK);

	if (api_body_parse(req, &body) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (!http_request_header(req, "x-fusion-passphrase", &pass))
		pass = NULL;

	buf = kore_buf_alloc(1024);
	if (import_apply(body.root, pass, dry_run, 1, buf, &changed, err,
	    sizeof(err)) == -1) {
		kore_buf_free(buf);
		api_error(req, 400, "invalid_request_error", "invalid_config",
		    "%s", err);
	} else {
		if (!dry_run) {
			(void)snprintf(detail, sizeof(detail), "%" PRId64
			    " records created or changed", changed);
			audit_record(req, &user, "import", "configuration",
			    detail);
		}
		glue_reply_json(req, 200, buf);
	}
	api_body_cleanup(&body);

	return (KORE_RESULT_OK);
}

/*
 * CONFIG_FILE: the parent applies the document at path at every start,
 * before the workers fork. A document that cannot be read or applied
 * stops the start with the reason.
 */
void
import_config_file(const char *path, const char *pass)
{
	struct kore_json	 json;
	struct kore_buf		 file, out;
	FILE			*fp;
	char			 err[512], chunk[8192];
	int64_t			 changed;
	size_t			 n;

	if ((fp = fopen(path, "r")) == NULL)
		fatal("CONFIG_FILE %s: %s", path, errno_s);
	kore_buf_init(&file, sizeof(chunk));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		kore_buf_append(&file, chunk, n);
	if (ferror(fp))
		fatal("CONFIG_FILE %s: cannot be read", path);
	fclose(fp);
	if (json_parse(&json, file.data, file.offset) == -1)
		fatal("CONFIG_FILE %s: not a JSON object", path);

	kore_buf_init(&out, 1024);
	if (import_apply(json.root, pass, 0, 0, &out, &changed, err,
	    sizeof(err)) == -1)
		fatal("CONFIG_FILE %s: %s", path, err);
	kore_log(LOG_NOTICE, "CONFIG_FILE %s applied: %" PRId64 " records "
	    "created or changed", path, changed);

	kore_buf_cleanup(&out);
	kore_json_cleanup(&json);
	kore_buf_cleanup(&file);
}
