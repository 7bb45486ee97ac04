/*
 * The few Kore functions the tested files call, so that pure logic runs
 * without a Kore process. Memory and logging only: no behaviour is faked.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
