/*
 * The few Kore functions the tested files call, so that pure logic runs
 * without a Kore process. Memory and logging only: no behaviour is faked.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

void
kore_log(int prio, const char *fmt, ...)
{
	va_list	args;

	(void)prio;
	if (getenv("TEST_VERBOSE") == NULL)
		return;
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

void
fatal(const char *fmt, ...)
{
	va_list	args;

	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	abort();
}

void *
kore_malloc(size_t len)
{
	void	*p;

	if ((p = malloc(len)) == NULL)
		abort();
	return (p);
}

void
kore_free(void *p)
{
	free(p);
}

char *
kore_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		abort();
	return (p);
}

void *
kore_realloc(void *p, size_t len)
{
	void	*r;

	if ((r = realloc(p, len)) == NULL)
		abort();
	return (r);
}

void *
kore_calloc(size_t n, size_t len)
{
	void	*p;

	if ((p = calloc(n, len)) == NULL)
		abort();
	return (p);
}

/*
 * The number and string helpers Kore's json.c calls, as Kore's
 * src/utils.c has them (ISC licence, Joris Vink): utils.c itself pulls
 * in OpenSSL and the worker machinery.
 */
long long
kore_strtonum(const char *str, int base, long long min, long long max, int *err)
{
	long long	l;
	char		*ep;

	*err = KORE_RESULT_ERROR;
	if (min > max)
		return (0);
	errno = 0;
	l = strtoll(str, &ep, base);
	if (errno != 0 || str == ep || *ep != '\0' || l < min || l > max)
		return (0);
	*err = KORE_RESULT_OK;
	return (l);
}

u_int64_t
kore_strtonum64(const char *str, int sign, int *err)
{
	u_int64_t	l;
	long long	ll;
	char		*ep;
	int		check;

	l = 0;
	check = 1;
	ll = strtoll(str, &ep, 10);
	if ((errno == EINVAL || errno == ERANGE) &&
	    (ll == LLONG_MIN || ll == LLONG_MAX)) {
		if (sign) {
			*err = KORE_RESULT_ERROR;
			return (0);
		}
		check = 0;
	}
	if (!sign) {
		l = strtoull(str, &ep, 10);
		if ((errno == EINVAL || errno == ERANGE) && l == ULONG_MAX) {
			*err = KORE_RESULT_ERROR;
			return (0);
		}
		if (check && ll < 0) {
			*err = KORE_RESULT_ERROR;
			return (0);
		}
	}
	if (str == ep || *ep != '\0') {
		*err = KORE_RESULT_ERROR;
		return (0);
	}
	*err = KORE_RESULT_OK;
	return ((sign) ? (u_int64_t)ll : l);
}

double
kore_strtodouble(const char *str, long double min, long double max, int *err)
{
	double		d;
	char		*ep;

	*err = KORE_RESULT_ERROR;
	if (min > max)
		return (0);
	errno = 0;
	d = strtod(str, &ep);
	if (errno == ERANGE || str == ep || *ep != '\0' || d < min || d > max)
		return (0);
	*err = KORE_RESULT_OK;
	return (d);
}

int
kore_split_string(char *input, const char *delim, char **out, size_t ele)
{
	int		count;
	char		**ap;

	if (ele == 0)
		return (0);
	count = 0;
	for (ap = out; ap < &out[ele - 1] &&
	    (*ap = strsep(&input, delim)) != NULL;) {
		if (**ap != '\0') {
			ap++;
			count++;
		}
	}
	*ap = NULL;
	return (count);
}

void *
kore_mem_find(void *src, size_t slen, const void *needle, size_t len)
{
	size_t		pos;

	for (pos = 0; pos < slen; pos++) {
		if (*((u_int8_t *)src + pos) != *(const u_int8_t *)needle)
			continue;
		if ((slen - pos) < len)
			return (NULL);
		if (!memcmp((u_int8_t *)src + pos, needle, len))
			return ((u_int8_t *)src + pos);
	}
	return (NULL);
}

size_t
kore_strlcpy(char *dst, const char *src, const size_t len)
{
	char		*d = dst;
	const char	*s = src;
	const char	*end = dst + len - 1;

	if (len == 0)
		fatal("kore_strlcpy: len == 0");
	while ((*d = *s) != '\0') {
		if (d == end) {
			*d = '\0';
			break;
		}
		d++;
		s++;
	}
	while (*s != '\0')
		s++;
	return (s - src);
}

/* Weak: a harness may stop the clock (tests/fuzz/kore_http.c). */
__attribute__((weak)) u_int64_t
kore_time_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((u_int64_t)(ts.tv_sec * 1000 + (ts.tv_nsec / 1000000)));
}
