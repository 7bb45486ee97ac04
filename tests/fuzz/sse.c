/*
 * libFuzzer harness of src/sse.c, the splitter of upstream event
 * streams. The input (after its first two bytes, which seed the choice
 * of split points) is fed three ways: in one piece, byte by byte, and
 * in chunks of 0 to 31 bytes, draining sse_next() after every feed.
 * Each run must produce the same events. Every event's raw bytes must
 * be the next bytes of the stream once stray blank lines are skipped,
 * end in a blank line, and carry the data a separate line splitter
 * written here finds in them; what is left must be sse_pending().
 * A broken promise calls abort(), which libFuzzer reports as a crash.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

#include "fuzz.h"

/* What one way of feeding saw: events appended as records. */
struct run {
	const uint8_t	*in;		/* the whole stream */
	size_t		 in_len;
	size_t		 fed;		/* bytes fed so far */
	size_t		 consumed;	/* end of the last event in the stream */
	uint8_t		*log;		/* records of the events */
	size_t		 log_len;
	size_t		 log_cap;
	int		 events;
};

static void
log_append(struct run *r, const void *p, size_t n)
{
	if (r->log_len + n > r->log_cap) {
		r->log_cap = (r->log_len + n) * 2 + 64;
		CHECK((r->log = realloc(r->log, r->log_cap)) != NULL);
	}
	memcpy(r->log + r->log_len, p, n);
	r->log_len += n;
}

/* Only blank lines (of "\r", "\n" or "\r\n") lie in in[from..to). */
static int
blank(const uint8_t *in, size_t from, size_t to)
{
	size_t	i;

	for (i = from; i < to; i++) {
		if (in[i] != '\r' && in[i] != '\n')
			return (0);
	}
	return (1);
}

/*
 * The data of the event in raw[0..len), found independently: split
 * into lines at "\r\n", "\r" or "\n", join the values of "data" fields.
 */
static void
ref_data(const uint8_t *raw, size_t len, uint8_t *out, size_t *out_len,
    int *has)
{
	size_t	i, start, end, v;

	*out_len = 0;
	*has = 0;
	for (i = 0; i < len; ) {
		start = i;
		while (i < len && raw[i] != '\r' && raw[i] != '\n')
			i++;
		end = i;
		if (i < len && raw[i] == '\r' && i + 1 < len &&
		    raw[i + 1] == '\n')
			i += 2;
		else if (i < len)
			i++;
		if (end - start < 5 || memcmp(raw + start, "data:", 5) != 0)
			continue;
		v = start + 5;
		if (v < end && raw[v] == ' ')
			v++;
		if (*has)
			out[(*out_len)++] = '\n';
		memcpy(out + *out_len, raw + v, end - v);
		*out_len += end - v;
		*has = 1;
	}
}

static void
drain(struct run *r, struct sse_parser *p)
{
	struct sse_event	 ev;
	uint8_t			*want;
	size_t			 end, start, want_len, rec[2];
	int			 has;

	while (sse_next(p, &ev) == 1) {
		CHECK(ev.raw != NULL && ev.raw_len >= 2);
		CHECK(sse_pending(p) <= r->fed);
		end = r->fed - sse_pending(p);
		CHECK(end >= ev.raw_len);
		start = end - ev.raw_len;
		CHECK(start >= r->consumed);
		CHECK(blank(r->in, r->consumed, start));
		CHECK(memcmp(r->in + start, ev.raw, ev.raw_len) == 0);
		CHECK(ev.raw[ev.raw_len - 1] == '\n' ||
		    ev.raw[ev.raw_len - 1] == '\r');
		/* A blank line never starts an event. */
		CHECK(ev.raw[0] != '\r' && ev.raw[0] != '\n');
		r->consumed = end;

		CHECK((want = malloc(ev.raw_len + 1)) != NULL);
		ref_data((const uint8_t *)ev.raw, ev.raw_len, want, &want_len, &has);
		CHECK(ev.has_data == has);
		if (has) {
			CHECK(ev.data != NULL);
			CHECK(ev.data_len == want_len);
			CHECK(memcmp(ev.data, want, want_len) == 0);
			CHECK(ev.data[ev.data_len] == '\0');
			CHECK(memchr(ev.data, '\r', ev.data_len) == NULL);
			CHECK(ev.done == (want_len == 6 &&
			    memcmp(want, "[DONE]", 6) == 0));
		} else {
			CHECK(ev.data == NULL && ev.data_len == 0 && !ev.done);
		}
		free(want);

		rec[0] = ev.raw_len;
		rec[1] = (size_t)ev.has_data;
		log_append(r, rec, sizeof(rec));
		log_append(r, ev.raw, ev.raw_len);
		r->events++;
	}
	/* Only stray blank lines may have gone since the last event. */
	CHECK(r->fed - sse_pending(p) >= r->consumed);
	CHECK(blank(r->in, r->consumed, r->fed - sse_pending(p)));
}

/* Feed in[0..n): in one piece (mode 0), byte by byte (1), in chunks (2). */
static void
feed(struct run *r, const uint8_t *in, size_t n, int mode, uint32_t seed)
{
	struct sse_parser	p;
	size_t			chunk, pos;

	memset(r, 0, sizeof(*r));
	r->in = in;
	r->in_len = n;
	sse_init(&p);
	for (pos = 0; pos < n || pos == 0; pos += chunk) {
		if (mode == 0) {
			chunk = n;
		} else if (mode == 1) {
			chunk = 1;
		} else {
			seed = seed * 1103515245 + 12345;
			chunk = (seed >> 16) % 32;
		}
		if (chunk > n - pos)
			chunk = n - pos;
		/* Each chunk in its own allocation, for ASan. */
		{
			uint8_t	*c;

			CHECK((c = malloc(chunk ? chunk : 1)) != NULL);
			memcpy(c, in + pos, chunk);
			CHECK(sse_feed(&p, chunk ? c : NULL, chunk) == 0);
			free(c);
		}
		r->fed += chunk;
		drain(r, &p);
		if (n == 0)
			break;
	}
	CHECK(r->fed == n);
	sse_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct run	one, bytes, chunks;
	uint32_t	seed;

	if (len < 2)
		return (0);
	seed = (uint32_t)data[0] << 8 | data[1];
	data += 2;
	len -= 2;

	feed(&one, data, len, 0, seed);
	feed(&bytes, data, len, 1, seed);
	feed(&chunks, data, len, 2, seed);

	/*
	 * The same events whichever way the bytes came. What stays pending
	 * may differ only by stray blank lines already skipped.
	 */
	CHECK(one.events == bytes.events && one.events == chunks.events);
	CHECK(one.log_len == bytes.log_len && one.log_len == chunks.log_len);
	CHECK(one.log_len == 0 ||
	    memcmp(one.log, bytes.log, one.log_len) == 0);
	CHECK(one.log_len == 0 ||
	    memcmp(one.log, chunks.log, one.log_len) == 0);
	CHECK(one.consumed == bytes.consumed &&
	    one.consumed == chunks.consumed);

	free(one.log);
	free(bytes.log);
	free(chunks.log);
	return (0);
}
