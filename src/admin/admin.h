/*
 * admin: the control plane. The admin API's JSON in and out (api.c),
 * users, sessions and the admin guard (auth.c), the audit of changes
 * (audit.c), the engine behind every resource (crud.c) and one file per
 * resource, the provider test, stats from the rollups and the request
 * log's pages (both on the admin reader, reader.c). It reads the data
 * plane's state and never changes how a request runs; an operator's
 * reset of a key's health or a client's token use is written to it.
 */

#ifndef __H_ADMIN_H
#define __H_ADMIN_H

#include "dataplane/dataplane.h"

/* api.c: JSON in and out of the admin API, OpenAI's error shape. */
#define API_FIELD_MAX		32
#define API_LIMIT_MAX		1000	/* rows in one page of a list */

struct api_body {
	struct kore_json_item	*root;
	void			*json;	/* struct kore_json */
};

int		api_body_parse(struct http_request *, struct api_body *);
void		api_body_cleanup(struct api_body *);
struct kore_json_item	*api_field(struct api_body *, const char *);
int		api_name_equal(const char *, const char *);
int		api_item_string(const struct kore_json_item *, const char *,
		    char **, char *, size_t);
int		api_item_int(const struct kore_json_item *, const char *,
		    int64_t, int64_t, int64_t *, char *, size_t);
int		api_item_bool(const struct kore_json_item *, const char *,
		    int *, char *, size_t);
int		api_check_fields(struct http_request *, struct api_body *,
		    const char *const *);
int		api_get_string(struct http_request *, struct api_body *,
		    const char *, int, char **);
int		api_get_int(struct http_request *, struct api_body *,
		    const char *, int64_t, int64_t, int, int64_t *);
int		api_get_bool(struct http_request *, struct api_body *,
		    const char *, int, int *);
int		api_path_id(struct http_request *, const char *, int64_t *);
int		api_query_int(struct http_request *, const char *,
		    int64_t, int64_t, int64_t *);
char		*api_query_string(struct http_request *, const char *);
int		api_query_bool(struct http_request *, const char *, int *);
int		api_method(struct http_request *, int, const char *);
int		api_admin_only(struct http_request *);
int		api_paging(struct http_request *, int64_t, int64_t *,
		    int64_t *);
void		api_error(struct http_request *, int, const char *,
		    const char *, const char *, ...)
		    __attribute__((format(printf, 5, 6)));
void		api_error_body(struct kore_buf *, const char *, const char *,
		    const char *);
void		api_reply_list(struct http_request *, struct kore_buf *,
		    int64_t);
void		api_db_error(struct http_request *);

void		json_column(struct kore_buf *, sqlite3_stmt *, int);

/*
 * reader.c: long reads off the event loop. A job writes the JSON answer
 * into its buffer (it may use the store's functions on the connection it
 * is given, kore_buf and the JSON writer, nothing of the request) and
 * returns the HTTP status.
 */
typedef int	(*admin_read_fn)(sqlite3 *, void *, struct kore_buf *);

void		reader_init(void);
void		reader_stop(void);
int		admin_read_get(struct http_request *,
		    void *(*)(struct http_request *), admin_read_fn,
		    void (*)(void *));
int		admin_read_get_as(struct http_request *,
		    void *(*)(struct http_request *), admin_read_fn,
		    void (*)(void *), const char *);
int		admin_read_db_error(struct kore_buf *);

/* auth.c: users, sessions, the admin guard. */
struct admin_user {
	int64_t		id;
	char		username[64];
	int		must_change_password;
};

int		auth_bootstrap(const char *);
int		auth_admin(struct http_request *, struct admin_user *);

/* audit.c: who changed what, when; never a secret value. */
void		audit_record(struct http_request *, const struct admin_user *,
		    const char *, const char *, const char *);

/*
 * crud.c: the engine behind every admin resource. A resource is a table
 * and a list of fields; the engine reads (fields.c), validates, writes
 * and prints them, and calls the resource's hooks for what is particular
 * to it.
 */
#define ADMIN_CREATE		1
#define ADMIN_PUT		2
#define ADMIN_PATCH		3

#define AF_REQUIRED		0x01	/* must be given on create and PUT */
#define AF_READONLY		0x02	/* shown, never written by clients */
#define AF_NULL			0x04	/* AK_INT: null allowed (ADMIN_NULL) */

/* The value of an AF_NULL field that is null (SQL NULL in the store). */
#define ADMIN_NULL		INT64_MIN

#define AK_STRING		1
#define AK_INT			2
#define AK_BOOL			3
#define AK_TIME			4	/* epoch seconds, RFC 3339 out */
#define AK_NAMES		5	/* JSON array of names */
#define AK_IDS			6	/* JSON array of positive ids, or
					   of numbers in [min, max] */
#define AK_MAP			7	/* JSON object name -> name */
#define AK_JSON			8	/* JSON the resource's check_json
					   accepts */

#define ADMIN_FIELDS_MAX	24
#define ADMIN_EXTRA_MAX		8

struct admin_field {
	const char	*name;		/* JSON name and column */
	int		 kind;
	int		 flags;
	int64_t		 min;		/* AK_INT bounds */
	int64_t		 max;
	int		(*check)(const char *);	/* AK_STRING */
	const char	*check_msg;	/* "must be ..." */
	const char	*def_str;	/* default of text kinds */
	int64_t		 def_int;	/* default of number kinds */
};

struct admin_value {
	int64_t		 i;
	char		*s;		/* owned by the write */
};

/* A column a hook sets itself (sealed secrets, hashes, health). */
struct admin_extra {
	const char	*column;
	int		 type;		/* SQLITE_INTEGER, _TEXT or _BLOB */
	int64_t		 i;
	void		*data;		/* owned by the write */
	size_t		 len;
};

struct admin_write {
	int			mode;
	int64_t			id;
	struct admin_value	vals[ADMIN_FIELDS_MAX];
	struct admin_extra	extra[ADMIN_EXTRA_MAX];
	int			nextra;
	char			reveal[128];	/* secret shown once */
	int			reset;		/* runtime state cleared */
};

struct admin_resource {
	const char			*table;
	const char			*path;	/* ends with '/' */
	const char			*noun;
	const struct admin_field	*fields;
	size_t				 nfields;
	const char			*filter;	/* query = column */
	const char			*conflict_msg;
	const char			*fk_field;	/* field a FK names */
	const char *const		*accepts;	/* names prepare reads */
	int	(*prepare)(struct http_request *, struct api_body *,
		    struct admin_write *);
	void	(*extra_out)(struct kore_buf *, const struct admin_write *);
	/* AK_JSON fields: 1 when good, else 0 with "must ..." written */
	int	(*check_json)(const char *, const struct kore_json_item *,
		    char *, size_t);
	/* After the commit: the runtime state follows the write. */
	void	(*committed)(const struct admin_write *);
	/* A field the runtime state holds: printed by it when it returns 1. */
	int	(*field_out)(struct kore_buf *, const struct admin_field *,
		    int64_t, sqlite3_stmt *, int);
};

int		admin_collection(struct http_request *,
		    const struct admin_resource *);
int		admin_item(struct http_request *,
		    const struct admin_resource *);
int		admin_field_index(const struct admin_resource *,
		    const char *);
int		admin_check_names(struct http_request *,
		    const struct admin_resource *, struct api_body *);
int		admin_read_field(struct http_request *, struct api_body *,
		    const struct admin_resource *, const struct admin_field *,
		    struct admin_value *);
void		admin_extra_int(struct admin_write *, const char *, int64_t);
void		admin_extra_text(struct admin_write *, const char *,
		    const char *);
void		admin_extra_blob(struct admin_write *, const char *,
		    void *, size_t);
int		admin_write_row(const struct admin_resource *,
		    struct admin_write *);
void		admin_write_error(struct http_request *,
		    const struct admin_resource *, int);
void		admin_write_cleanup(struct admin_write *);
int		admin_print(struct kore_buf *, const struct admin_resource *,
		    int64_t);
void		admin_write_init(const struct admin_resource *,
		    struct admin_write *, int);
int		admin_read(const struct admin_resource *, struct api_body *,
		    struct admin_write *, char *, size_t, const char **);
int		admin_load_row(const struct admin_resource *,
		    struct admin_write *);
void		admin_select(struct kore_buf *, const struct admin_resource *);
void		admin_print_fields(struct kore_buf *,
		    const struct admin_resource *, sqlite3_stmt *, int,
		    const char *const *, int);

/* export.c, import.c: the configuration as one document. */
#define EXPORT_VERSION		1
#define EXPORT_PASSPHRASE_MIN	12
#define EXPORT_OPSLIMIT		2		/* argon2id "interactive" */
#define EXPORT_MEMLIMIT		(64 * 1024 * 1024)

int		import_apply(struct kore_json_item *, const char *, int, int,
		    struct kore_buf *, int64_t *, char *, size_t);
void		import_config_file(const char *, const char *);

/* The resources, for export and import. */
extern const struct admin_resource	admin_res_groups;
extern const struct admin_resource	admin_res_providers;
extern const struct admin_resource	admin_res_keys;
extern const struct admin_resource	admin_res_client_keys;
extern const struct admin_resource	admin_res_prices;

void		admin_key_seal(struct admin_write *, const char *);
void		admin_client_key_make(struct admin_write *);

/*
 * probe.c: requests of the gateway's own to one provider with one key
 * (the provider and key tests, model syncs, key probes), and the
 * background probes of cooling and disabled keys.
 */
struct cfg_key	*probe_key(const struct cfg_provider *);
void		 probe_target(struct proxy *, struct cfg_provider *,
		    struct cfg_key *);
void		 probe_models_url(struct proxy *, struct kore_buf *);
int		 probe_message(struct proxy *, CURLcode, char *, size_t);
void		 probe_init(void);

/* The handlers conf/routes.conf names. */
int		admin_audit_log(struct http_request *);
int		auth_login(struct http_request *);
int		auth_logout(struct http_request *);
int		auth_me(struct http_request *);
int		auth_password(struct http_request *);
int		admin_client_keys(struct http_request *);
int		admin_client_key(struct http_request *);
int		admin_prices(struct http_request *);
int		admin_usage_csv(struct http_request *);
int		admin_price(struct http_request *);
int		api_not_found(struct http_request *);
int		admin_groups(struct http_request *);
int		admin_group(struct http_request *);
int		admin_keys(struct http_request *);
int		admin_key(struct http_request *);
int		admin_key_test(struct http_request *);
int		admin_models_sync(struct http_request *);
int		admin_playground(struct http_request *);
int		admin_log(struct http_request *);
int		admin_logs(struct http_request *);
int		admin_provider_test(struct http_request *);
int		admin_providers(struct http_request *);
int		admin_provider(struct http_request *);
int		admin_settings(struct http_request *);
int		admin_stats(struct http_request *);
int		admin_timeseries(struct http_request *);
int		admin_export(struct http_request *);
int		admin_import(struct http_request *);
int		ops_healthz(struct http_request *);
int		ops_metrics(struct http_request *);
int		ops_readyz(struct http_request *);

#endif
