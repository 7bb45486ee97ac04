/*
 * LLM Fusion Engine: declarations shared between the subsystems.
 */

#ifndef __H_FUSION_H
#define __H_FUSION_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

struct kore_buf;
struct kore_json_item;
struct http_request;

/* Settings read from the environment by the parent (main.c). */
struct fusion_config {
	char		*db_path;	/* path the workers open */
	int		 privsep;	/* workers chrooted and unprivileged */
	u_int32_t	 session_idle;	/* seconds of inactivity */
	u_int32_t	 login_max_fail;	/* failures before throttling */
	u_int32_t	 login_window;	/* seconds a failure counts */
	u_int32_t	 max_attempts;	/* upstream attempts per request */
	u_int32_t	 deadline_ms;	/* whole request, all attempts */
	u_int32_t	 cooldown_429;	/* when 429 has no Retry-After */
	u_int32_t	 cooldown_base;	/* first cooldown after a 5xx */
	u_int32_t	 cooldown_max;
	u_int32_t	 log_flush_ms;
	u_int32_t	 stream_buffer_max;	/* bytes queued for a client */
	u_int32_t	 response_max;	/* bytes of a non-streamed answer */
	char		*admin_host;	/* admin listener, or NULL: */
	char		*admin_port;	/* admin served everywhere */
};

extern struct fusion_config	fusion_cfg;

/* store.c: SQLite: one connection per process, and a request-log writer's. */

sqlite3		*store_connect(const char *, int);
int		store_open(const char *, int);
void		store_close(void);
sqlite3		*store_db(void);
sqlite3_stmt	*store_prepare(const char *);
sqlite3_stmt	*store_prepare_on(sqlite3 *, const char *);
int		store_exec(const char *);
int		store_exec_on(sqlite3 *, const char *);
int		store_begin(void);
int		store_commit(void);
void		store_rollback(void);
int		store_migrate(sqlite3 *, char *, size_t);
int64_t		store_count(const char *);
int64_t		store_now(void);

/* secrets.c: master key, encryption at rest, tokens, hashes. */
#define SECRET_HASH_HEX		65	/* 32 bytes as hex plus NUL */

int		secrets_init(const char *);
int		secrets_seal(const char *, u_int8_t **, size_t *);
char		*secrets_open(const u_int8_t *, size_t);
void		secrets_token(const char *, char *, size_t);
void		secrets_hash(const char *, char *);
void		secrets_mask(const char *, char *, size_t);
int		secrets_equal(const char *, const char *);
int		secrets_password_hash(const char *, char *, size_t);
int		secrets_password_verify(const char *, const char *);

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
int		api_method(struct http_request *, int, const char *);
int		api_admin_only(struct http_request *);
int		api_paging(struct http_request *, int64_t, int64_t *,
		    int64_t *);
void		api_error(struct http_request *, int, const char *,
		    const char *, const char *, ...)
		    __attribute__((format(printf, 5, 6)));
void		api_reply(struct http_request *, int, struct kore_buf *);
void		api_reply_list(struct http_request *, struct kore_buf *,
		    int64_t);
void		api_db_error(struct http_request *);

void		json_str(struct kore_buf *, const char *);
void		json_key(struct kore_buf *, const char *, int);
void		json_kv_str(struct kore_buf *, const char *, const char *,
		    int);
void		json_kv_int(struct kore_buf *, const char *, int64_t, int);
void		json_kv_bool(struct kore_buf *, const char *, int, int);
void		json_kv_time(struct kore_buf *, const char *, int64_t, int);
void		json_column(struct kore_buf *, sqlite3_stmt *, int);

/* auth.c: users, sessions, the admin guard. */
struct admin_user {
	int64_t		id;
	char		username[64];
	int		must_change_password;
};

int		auth_bootstrap(const char *);
int		auth_admin(struct http_request *, struct admin_user *);
void		auth_remote_addr(struct http_request *, char *, size_t);

/* audit.c: who changed what, when; never a secret value. */
void		audit_record(struct http_request *, const struct admin_user *,
		    const char *, const char *, const char *);

/*
 * admin.c: the engine behind every admin resource. A resource is a table
 * and a list of fields; the engine reads, validates, writes and prints
 * them, and calls the resource's hooks for what is particular to it.
 */
#define ADMIN_CREATE		1
#define ADMIN_PUT		2
#define ADMIN_PATCH		3

#define AF_REQUIRED		0x01	/* must be given on create and PUT */
#define AF_READONLY		0x02	/* shown, never written by clients */

#define AK_STRING		1
#define AK_INT			2
#define AK_BOOL			3
#define AK_TIME			4	/* epoch seconds, RFC 3339 out */
#define AK_NAMES		5	/* JSON array of names */
#define AK_IDS			6	/* JSON array of positive ids */
#define AK_MAP			7	/* JSON object name -> name */

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
	int	(*prepare)(struct http_request *, struct api_body *,
		    struct admin_write *);
	void	(*extra_out)(struct kore_buf *, const struct admin_write *);
};

int		admin_collection(struct http_request *,
		    const struct admin_resource *);
int		admin_item(struct http_request *,
		    const struct admin_resource *);
int		admin_field_index(const struct admin_resource *,
		    const char *);
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

/* validate.c: pure checks of admin input, unit tested. */
int		validate_name(const char *);
int		validate_label(const char *);
int		validate_pem(const char *);
int		validate_time(const char *, int64_t *);
int		validate_base_url(const char *);
int		validate_strategy(const char *);
int		validate_provider_type(const char *);

#endif
