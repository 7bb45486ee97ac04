/*
 * The arithmetic of the routing strategies, pure C (router.c and
 * latency.c stand on it; tests/unit/strategy.c checks it):
 *
 * - session affinity: rendezvous (highest random weight) hashing of the
 *   session key over a tier's healthy candidates. Every worker and every
 *   node computes the same order from the same key and ids with nothing
 *   shared, restarts included (the hash has no seed), and a candidate's
 *   loss moves only the sessions that were on it.
 * - least latency: an average time to first byte that forgets with a
 *   half-life, times the attempts in flight plus one, over the weight.
 * - the session key of a request body.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"

static u_int64_t	mix64(u_int64_t);
static int		session_string(const char *, const struct json_member *,
			    char *, size_t);

/* splitmix64's finalizer: every input bit moves every output bit. */
static u_int64_t
mix64(u_int64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (x);
}

/*
 * A 64-bit hash of (s, id), the same on every machine and in every
 * process: FNV-1a over s, mixed with id. This function can't fail.
 */
u_int64_t
strategy_hash(const char *s, int64_t id)
{
	u_int64_t	h;

	h = 1469598103934665603ULL;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}

	return (mix64(mix64(h) ^ mix64((u_int64_t)id + 0x9e3779b97f4a7c15ULL)));
}

/*
 * The rendezvous score of candidate id with weight for session: the
 * highest wins. Weighted as w / -ln(u) with u uniform in (0, 1) from
 * the hash, so a candidate wins a share of sessions in proportion to
 * its weight; weight 0 scores below every weighted candidate (a
 * fallback), still in a stable order among its kind.
 */
double
strategy_rendezvous(const char *session, int64_t id, int64_t weight)
{
	double	u;

	u = ((double)(strategy_hash(session, id) >> 11) + 0.5) /
	    9007199254740992.0;
	if (weight <= 0)
		return (log(u));
	return ((double)weight / -log(u));
}

/*
 * A provider's least-latency score, lower is better: its average time
 * to first byte in microseconds (0 before it was measured, which makes
 * it the first to try) plus a millisecond, times the attempts in flight
 * plus one, over its weight. Weight 0 scores after every weighted one.
 */
u_int64_t
strategy_latency_score(u_int64_t ewma_us, u_int32_t inflight, int64_t weight)
{
	u_int64_t	cost;

	if (ewma_us > 3600ULL * 1000000)
		ewma_us = 3600ULL * 1000000;
	cost = (ewma_us + 1000) * ((u_int64_t)inflight + 1);
	if (weight <= 0)
		return ((1ULL << 62) + cost);

	return (cost * 100 / (u_int64_t)weight);
}

/*
 * The average after sample (microseconds) came dt_ms after the last
 * one: the old average keeps the weight 2^(-dt / half_life). The first
 * sample (old 0) is taken as it is.
 */
u_int64_t
strategy_ewma(u_int64_t old, u_int64_t sample, u_int64_t dt_ms,
    u_int64_t half_life_ms)
{
	u_int64_t	avg;
	double		keep;

	if (old == 0 || half_life_ms == 0) {
		avg = sample;
	} else {
		keep = exp2(-(double)dt_ms / (double)half_life_ms);
		avg = (u_int64_t)((double)old * keep +
		    (double)sample * (1 - keep));
	}

	/* 0 stands for "never measured". */
	return (avg > 0 ? avg : 1);
}

/*
 * A string member as a session key: decoded, or when it does not fit
 * its JSON text cut to fit (the same bytes give the same key). 1 when
 * it is a non-empty string.
 */
static int
session_string(const char *body, const struct json_member *f, char *out,
    size_t outlen)
{
	size_t	len;

	if (f == NULL || f->type != JSON_STRING || f->value_len <= 2)
		return (0);
	if (json_scan_string(body, f, 0, out, outlen) > 0)
		return (1);
	len = f->value_len - 2 < outlen - 1 ? f->value_len - 2 : outlen - 1;
	memcpy(out, body + f->value + 1, len);
	out[len] = '\0';
	return (1);
}

/*
 * The session key of a request, copied into out: the x-session-id
 * header (header, or NULL), else the body's prompt_cache_key (OpenAI),
 * metadata.user_id (Anthropic) or user, the first that is a non-empty
 * string. Returns 1 when there is one, 0 when there is none.
 */
int
strategy_session(const void *body, const struct json_member *m, int n,
    const char *header, char *out, size_t outlen)
{
	const struct json_member	*f;
	struct json_member		 sub[16];
	const char			*b, *meta;
	size_t				 end;
	int				 nsub;

	out[0] = '\0';
	if (header != NULL && *header != '\0') {
		(void)snprintf(out, outlen, "%s", header);
		return (1);
	}
	if ((b = body) == NULL)
		return (0);

	if (session_string(b, json_scan_find(b, m, n, "prompt_cache_key"),
	    out, outlen))
		return (1);

	f = json_scan_find(b, m, n, "metadata");
	if (f != NULL && f->type == JSON_OBJECT) {
		meta = b + f->value;
		nsub = json_scan_object(meta, f->value_len, sub, 16, &end);
		if (nsub > 0 && session_string(meta, json_scan_find(meta, sub,
		    nsub, "user_id"), out, outlen))
			return (1);
	}

	return (session_string(b, json_scan_find(b, m, n, "user"), out,
	    outlen));
}
