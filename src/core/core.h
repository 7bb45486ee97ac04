/*
 * core: the settings read from the environment, secrets (libsodium) and
 * the checks of outside text that every other folder uses. It depends on
 * Kore and libsodium only.
 *
 * The layers of src/ and what each may call (never the other way):
 *
 *	main.c (start-up: it starts every layer)
 *	ui/, admin/  ->  dataplane/ (its state, read only)
 *	    ->  formats/ and store/  ->  core/
 *
 * formats/ and store/ know nothing of each other. Each folder has one
 * header, which includes the headers of the folders it stands on; the
 * handlers conf/routes.conf names are declared in it.
 *
 * Return conventions, one per kind of function:
 * - pure functions (core/, formats/, and the pure parts of dataplane/:
 *   router, failover) return 0 on success and -1 on failure, with the
 *   reason written to an err buffer where the caller shows one;
 * - predicates (validate_*, *_usable, *_allows, *_serves) return 1 for
 *   yes and 0 for no;
 * - lookups of something that may be absent (an admin API field or
 *   query parameter, a row) return 1 when found, 0 when absent and -1
 *   when they failed (for those that take the request: after answering);
 * - functions that talk to Kore or the store return KORE_RESULT_OK or
 *   KORE_RESULT_ERROR; when such a function takes the request, ERROR
 *   means "the request has been answered (an error was sent): stop".
 */

#ifndef __H_CORE_H
#define __H_CORE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* Settings read from the environment by the parent (settings.c). */
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
	u_int32_t	 log_retention_days;	/* raw log rows; 0: forever */
	u_int32_t	 rollup_retention_days;	/* hour and day rollups */
	u_int32_t	 log_max_mb;	/* 0: no limit */
	u_int32_t	 log_buffer_max; /* rows held while the store refuses */
	u_int32_t	 stream_buffer_max;	/* bytes queued for a client */
	u_int32_t	 response_max;	/* bytes of a non-streamed answer */
	char		*admin_host;	/* admin listener, or NULL: */
	char		*admin_port;	/* admin served everywhere */
	char		*metrics_token;	/* bearer token of /metrics, or NULL */
	char		 currency[4];	/* ISO 4217 code of every amount */
	int64_t		 budget_offset;	/* seconds east of UTC of budgets' days */
	int		 budget_zoned;	/* or the zone in TZ (daylight saving) */
	char		 budget_tz[64];	/* as set, for the messages */
	u_int32_t	 budget_output;	/* tokens reserved without max_tokens */
};

extern struct fusion_config	fusion_cfg;

/* settings.c: the environment, read once by the parent. */
const char	*settings_str(const char *, const char *);
u_int32_t	 settings_uint(const char *, u_int32_t, u_int32_t, u_int32_t);
void		 settings_load(void);
int		 settings_utc_offset(const char *, int64_t *);
int		 settings_zone(const char *);

/* secrets.c: master key, encryption at rest, tokens, hashes. */
#define SECRET_HASH_HEX		65	/* 32 bytes as hex plus NUL */

#define SECRETS_KEY		32	/* crypto_secretbox_KEYBYTES */
#define SECRETS_SALT		16	/* crypto_pwhash_SALTBYTES */

int		secrets_init(const char *);
int		secrets_seal(const char *, u_int8_t **, size_t *);
char		*secrets_open(const u_int8_t *, size_t);
void		secrets_token(const char *, char *, size_t);
void		secrets_hash(const char *, char *);
void		secrets_mask(const char *, char *, size_t);
void		secrets_mask_url(const char *, char *, size_t);
int		secrets_equal(const char *, const char *);
int		secrets_password_hash(const char *, char *, size_t);
int		secrets_password_verify(const char *, const char *);
void		secrets_random_hex(char *, size_t, size_t);
int		secrets_pass_key(const char *, const u_int8_t *, u_int64_t,
		    size_t, u_int8_t *);
char		*secrets_pass_seal(const u_int8_t *, const char *);
char		*secrets_pass_open(const u_int8_t *, const char *);

/* validate.c: checks of outside text, pure and unit tested. */
size_t		utf8_seq(const unsigned char *, size_t, u_int32_t *);
int		validate_name(const char *);
int		validate_label(const char *);
int		validate_price_model(const char *);
int		validate_pem(const char *);
int		validate_time(const char *, int64_t *);
int		validate_base_url(const char *);
int		validate_strategy(const char *);
int		validate_affinity(const char *);
int		validate_provider_type(const char *);
int		validate_traceparent(const char *, u_int8_t *, u_int8_t *,
		    u_int8_t *);
int		validate_tracestate(const char *);
int		validate_proxy_url(const char *);
int		validate_header_name(const char *);
int		validate_header_value(const char *);

#endif
