/*
 * The gateway's settings: environment variables read once by the parent
 * before it forks, so that every worker runs on the same values. A value
 * that does not parse stops the start with the reason.
 */

#include <kore/kore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

#define ZONEINFO	"/usr/share/zoneinfo"

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

/*
 * A fixed offset from UTC: "UTC", "UTC+08:00", "+08:00", "-05:30" or
 * "UTC-5", into *off (seconds east). Returns 1, or 0 when it is none.
 * Zones with daylight-saving rules are not offered: the workers run
 * chrooted, without the zone database.
 */
int
settings_utc_offset(const char *s, int64_t *off)
{
	int	sign, h, m, n;

	if (strncmp(s, "UTC", 3) == 0 || strncmp(s, "GMT", 3) == 0)
		s += 3;
	*off = 0;
	if (*s == '\0')
		return (1);
	if (*s != '+' && *s != '-')
		return (0);
	sign = (*s++ == '-') ? -1 : 1;
	h = m = 0;
	n = 0;
	while (*s >= '0' && *s <= '9' && n < 2) {
		h = h * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0)
		return (0);
	if (*s == ':') {
		s++;
		if (s[0] < '0' || s[0] > '5' || s[1] < '0' || s[1] > '9')
			return (0);
		m = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
	}
	if (*s != '\0' || h > 14 || (h == 14 && m > 0))
		return (0);
	*off = sign * (h * 3600 + m * 60);
	return (1);
}

/*
 * A time zone of the zone database by its name ("Europe/Berlin"): made
 * the process's (TZ) and read now, while the parent still sees
 * ZONEINFO; the workers it forks, chrooted, keep it (glibc reads the
 * zone again only when TZ changes). Returns 0 when s names no zone.
 */
int
settings_zone(const char *s)
{
	char	path[128], magic[4];
	FILE	*fp;
	size_t	n;

	if (*s == '\0' || *s == '/' || strstr(s, "..") != NULL ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_+-/") != strlen(s) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", ZONEINFO, s) >=
	    sizeof(path))
		return (0);
	if ((fp = fopen(path, "r")) == NULL)
		return (0);
	n = fread(magic, 1, sizeof(magic), fp);
	fclose(fp);
	if (n != sizeof(magic) || memcmp(magic, "TZif", 4) != 0)
		return (0);

	if (setenv("TZ", s, 1) == -1)
		return (0);
	tzset();
	return (1);
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
	fusion_cfg.log_buffer_max = settings_uint("LOG_BUFFER_MAX_ROWS", 100000,
	    100, 10000000);
	fusion_cfg.stream_buffer_max = settings_uint("STREAM_BUFFER_MAX_BYTES",
	    4 * 1024 * 1024, 65536, 256 * 1024 * 1024);
	fusion_cfg.response_max = settings_uint("RESPONSE_MAX_BYTES",
	    64 * 1024 * 1024, 65536, 1024 * 1024 * 1024);
	v = settings_str("CURRENCY", "USD");
	if (strlen(v) != 3 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' ||
	    v[1] > 'Z' || v[2] < 'A' || v[2] > 'Z')
		fatal("CURRENCY: '%s' is not a three-letter code such as USD", v);
	(void)kore_strlcpy(fusion_cfg.currency, v,
	    sizeof(fusion_cfg.currency));
	v = settings_str("BUDGET_TIMEZONE", "UTC");
	if (strlen(v) >= sizeof(fusion_cfg.budget_tz) ||
	    (!settings_utc_offset(v, &fusion_cfg.budget_offset) &&
	    !(fusion_cfg.budget_zoned = settings_zone(v))))
		fatal("BUDGET_TIMEZONE: '%s' is neither UTC, an offset such as "
		    "UTC+08:00, nor a time zone of %s such as Europe/Berlin "
		    "(the package tzdata)", v, ZONEINFO);
	(void)kore_strlcpy(fusion_cfg.budget_tz, v,
	    sizeof(fusion_cfg.budget_tz));
	fusion_cfg.budget_output = settings_uint("BUDGET_RESERVE_TOKENS",
	    4096, 1, 10000000);
	if ((v = settings_str("METRICS_TOKEN", NULL)) != NULL) {
		if (strlen(v) < 16)
			fatal("METRICS_TOKEN: at least 16 characters");
		fusion_cfg.metrics_token = kore_strdup(v);
	}
}
