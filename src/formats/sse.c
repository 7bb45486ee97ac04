/*
 * Server-sent events from upstreams, split event by event as bytes
 * arrive, so that each event can be relayed (or held back) whole.
 *
 * An event ends at a blank line; lines end in "\n", "\r\n" or "\r"
 * (WHATWG HTML, 9.2.6). The data of an event is its "data:" lines joined
 * with "\n", one leading space after the colon removed. Pure C.
 */

#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

static void	*grow(void *, size_t *, size_t);
static int	 line_end(const char *, size_t, size_t, size_t *, size_t *);

void
sse_init(struct sse_parser *p)
{
	memset(p, 0, sizeof(*p));
}

void
sse_free(struct sse_parser *p)
{
	free(p->buf);
	free(p->data);
	memset(p, 0, sizeof(*p));
}

/*
 * Give the buffers back when every byte received has been returned as
 * an event: a stream waiting for its next event then holds none. The
 * pointers of the last event returned are invalid afterwards.
 */
void
sse_trim(struct sse_parser *p)
{
	if (p->off == p->len)
		sse_free(p);
}

/* Bytes received that are not part of a complete event yet. */
size_t
sse_pending(const struct sse_parser *p)
{
	return (p->len - p->off);
}

static void *
grow(void *ptr, size_t *cap, size_t need)
{
	size_t	ncap;
	void	*n;

	if (need <= *cap)
		return (ptr);
	ncap = *cap ? *cap : 1024;
	while (ncap < need)
		ncap *= 2;
	if ((n = realloc(ptr, ncap)) == NULL)
		abort();
	*cap = ncap;
	return (n);
}

/*
 * Append bytes. Returns 0, or -1 when one event grows past
 * SSE_EVENT_MAX without ending (the stream is broken or hostile).
 */
int
sse_feed(struct sse_parser *p, const void *data, size_t len)
{
	/* Nothing to add; a fresh parser has no buffer to copy into. */
	if (len == 0)
		return (0);

	if (p->off > 0) {
		memmove(p->buf, p->buf + p->off, p->len - p->off);
		p->len -= p->off;
		p->pos -= p->off;
		p->scan -= p->off;
		p->off = 0;
	}

	if (p->len + len > SSE_EVENT_MAX)
		return (-1);

	p->buf = grow(p->buf, &p->cap, p->len + len);
	memcpy(p->buf + p->len, data, len);
	p->len += len;

	return (0);
}

/*
 * Find the end of a line, looking from pos on: *eol is where its text
 * ends, *next where the following line starts. 0 when the line is
 * incomplete. A lone "\r" at the end of the buffer may still be followed
 * by "\n", so it only counts once another byte is there.
 */
static int
line_end(const char *buf, size_t len, size_t pos, size_t *eol, size_t *next)
{
	size_t	i;

	for (i = pos; i < len; i++) {
		if (buf[i] == '\n') {
			*eol = i;
			*next = i + 1;
			return (1);
		}
		if (buf[i] == '\r') {
			if (i + 1 == len)
				return (0);
			*eol = i;
			*next = (buf[i + 1] == '\n') ? i + 2 : i + 1;
			return (1);
		}
	}

	return (0);
}

/*
 * The next complete event, if any (1), else 0. The pointers in ev stay
 * valid until the next sse_feed() or sse_next().
 *
 * An event that arrives in many pieces is read once: the lines already
 * read and where the search for the current line's end stopped are kept
 * between calls, so a long event costs time in proportion to its length,
 * not to its length times the number of pieces.
 */
int
sse_next(struct sse_parser *p, struct sse_event *ev)
{
	size_t		eol, next, vstart;
	const char	*line;

	memset(ev, 0, sizeof(*ev));

	for (;;) {
		if (!line_end(p->buf, p->len, p->scan, &eol, &next)) {
			/* Nothing before here ends the line; a final "\r" is
			 * looked at again with the byte after it. */
			p->scan = p->len;
			if (p->scan > p->pos && p->buf[p->scan - 1] == '\r')
				p->scan--;
			return (0);
		}

		if (eol == p->pos) {
			/* Blank line: the event ends here. */
			if (p->pos == p->off) {
				/* Stray blank line between events. */
				p->off = p->pos = p->scan = next;
				continue;
			}
			break;
		}

		line = p->buf + p->pos;
		if (eol - p->pos >= 5 && memcmp(line, "data:", 5) == 0) {
			vstart = 5;
			if (eol - p->pos > 5 && line[5] == ' ')
				vstart = 6;
			p->data = grow(p->data, &p->data_cap,
			    p->data_len + (eol - p->pos - vstart) + 2);
			if (p->has_data)
				p->data[p->data_len++] = '\n';
			memcpy(p->data + p->data_len, line + vstart,
			    eol - p->pos - vstart);
			p->data_len += eol - p->pos - vstart;
			p->has_data = 1;
		}
		p->pos = p->scan = next;
	}

	ev->raw = p->buf + p->off;
	ev->raw_len = next - p->off;
	if (p->has_data) {
		p->data[p->data_len] = '\0';
		ev->has_data = 1;
		ev->data = p->data;
		ev->data_len = p->data_len;
		ev->done = (p->data_len == 6 &&
		    memcmp(p->data, "[DONE]", 6) == 0);
	}
	p->off = p->pos = p->scan = next;
	p->data_len = 0;
	p->has_data = 0;

	return (1);
}
