/*
 * sse.c: incremental splitting of a server-sent event stream into events.
 */

#ifndef __H_SSE_H
#define __H_SSE_H

#include <stddef.h>

#define SSE_EVENT_MAX		(4 * 1024 * 1024)

struct sse_parser {
	char		*buf;
	size_t		 len;		/* bytes held */
	size_t		 cap;
	size_t		 off;		/* start of the next event */
	size_t		 pos;		/* next line of that event to read */
	size_t		 scan;		/* where its line end is sought */
	char		*data;		/* data of the event being read, or
					   of the last one returned */
	size_t		 data_len;
	size_t		 data_cap;
	int		 has_data;
};

/* One event: its raw bytes (with the blank line) and its joined data. */
struct sse_event {
	const char	*raw;
	size_t		 raw_len;
	const char	*data;
	size_t		 data_len;
	int		 has_data;
	int		 done;		/* data is [DONE] */
};

void	sse_init(struct sse_parser *);
void	sse_free(struct sse_parser *);
int	sse_feed(struct sse_parser *, const void *, size_t);
int	sse_next(struct sse_parser *, struct sse_event *);
size_t	sse_pending(const struct sse_parser *);

#endif
