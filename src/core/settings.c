/*
 * The gateway's settings: environment variables read once by the parent
 * before it forks, so that every worker runs on the same values. A value
 * that does not parse stops the start with the reason.
 */

#include <kore/kore.h>

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

struct fusion_config	fusion_cfg;

/* A setting, or def when it is unset or empty. */
const char *
settings_str(const char *name, const char *def)
{
	const char	*v;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);
	return (v);
}

/*
 * A bounded number from the environment; a value that does not parse or
 * falls outside [min, max] stops the start with the reason.
 */
u_int32_t
settings_uint(const char *name, u_int32_t def, u_int32_t min, u_int32_t max)
{
	const char	*v;
	long long	 n;
	int		 err;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);

	n = kore_strtonum(v, 10, min, max, &err);
	if (err != KORE_RESULT_OK)
		fatal("%s: '%s' is not a number from %u to %u", name, v,
		    min, max);

	return ((u_int32_t)n);
}

/* Fill fusion_cfg from the environment. */
void
settings_load(void)
{
	const char	*v;

	memset(&fusion_cfg, 0, sizeof(fusion_cfg));
	fusion_cfg.session_idle = settings_uint("SESSION_IDLE_SECONDS",
	    12 * 3600, 1, 30 * 86400);
	fusion_cfg.login_max_fail = settings_uint("LOGIN_MAX_FAILURES", 5,
	    1, 1000);
	fusion_cfg.login_window = settings_uint("LOGIN_WINDOW_SECONDS", 300,
	    1, 86400);

	fusion_cfg.max_attempts = settings_uint("MAX_ATTEMPTS", 4, 1, 64);
	fusion_cfg.deadline_ms = settings_uint("REQUEST_DEADLINE_MS", 120000,
	    100, 3600000);
	fusion_cfg.cooldown_429 = settings_uint("COOLDOWN_429_SECONDS", 60,
	    1, 86400);
	fusion_cfg.cooldown_base = settings_uint("COOLDOWN_BASE_SECONDS", 5,
	    1, 3600);
	fusion_cfg.cooldown_max = settings_uint("COOLDOWN_MAX_SECONDS", 300, 1,
	    86400);
	fusion_cfg.log_flush_ms = settings_uint("LOG_FLUSH_MS", 500,
	    10, 60000);
	fusion_cfg.log_retention_days = settings_uint("LOG_RETENTION_DAYS", 30,
	    0, 36500);
	fusion_cfg.rollup_retention_days = settings_uint(
	    "ROLLUP_RETENTION_DAYS", 400, 0, 36500);
	fusion_cfg.log_max_mb = settings_uint("LOG_MAX_MB", 0, 0, 16777216);
	fusion_cfg.stream_buffer_max = settings_uint("STREAM_BUFFER_MAX_BYTES",
	    4 * 1024 * 1024, 65536, 256 * 1024 * 1024);
	fusion_cfg.response_max = settings_uint("RESPONSE_MAX_BYTES",
	    64 * 1024 * 1024, 65536, 1024 * 1024 * 1024);
	if ((v = settings_str("METRICS_TOKEN", NULL)) != NULL) {
		if (strlen(v) < 16)
			fatal("METRICS_TOKEN: at least 16 characters");
		fusion_cfg.metrics_token = kore_strdup(v);
	}
}
