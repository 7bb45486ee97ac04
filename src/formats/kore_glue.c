/*
 * Every place the gateway reaches into Kore's and curl's internals, so
 * that the rest of the code speaks of answers, streams and transfers:
 * JSON answers; the head, chunks and end of a streamed answer (HTTP/1.1
 * chunked, or for an HTTP/1.0 client the bytes as they are until the
 * connection closes), with Kore's rules for when a connection goes on;
 * how much a client has not read yet; a task's answer waiting on its
 * channel; and what an upstream's answer says about itself, read with
 * curl_easy_getinfo rather than from its header lines.
 */

#include <sys/socket.h>

#include <arpa/inet.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "formats/formats.h"

/* Send buf (freed here) as an application/json answer. */
void
glue_reply_json(struct http_request *req, int status, struct kore_buf *buf)
{
	http_response_header(req, "content-type", "application/json");
	http_response_header(req, "cache-control", "no-store");
	http_response(req, status, buf->data, buf->offset);
	kore_buf_free(buf);
}

/* The client's address as text ("unix" for a local socket). */
void
glue_remote_addr(struct http_request *req, char *out, size_t len)
{
	const void	*src;

	switch (req->owner->family) {
	case AF_INET:
		src = &req->owner->addr.ipv4.sin_addr;
		break;
	case AF_INET6:
		src = &req->owner->addr.ipv6.sin6_addr;
		break;
	default:
		src = NULL;
		break;
	}

	if (src == NULL ||
	    inet_ntop(req->owner->family, src, out, len) == NULL)
		(void)kore_strlcpy(out, "unix", len);
}

/*
 * Send the head of a streamed answer with status and content type, and
 * the headers set on req with http_response_header. HTTP/1.1 clients
 * get the body chunked and may keep the connection; an HTTP/1.0 client
 * gets it as it comes and the connection closes after it, as does one
 * that asked for "Connection: close". Nothing is flushed yet.
 */
void
glue_stream_begin(struct http_request *req, int status, const char *type)
{
	struct connection	*c = req->owner;
	struct http_header	*hdr;
	struct kore_buf		 head;
	int			 close;

	/*
	 * An HTTP/1.0 client reads the body until the connection closes;
	 * an HTTP/1.1 one keeps it when Kore's rules say so (patch 19).
	 */
	close = (req->flags & HTTP_VERSION_1_0) || !http_request_keepalive(req);
	kore_buf_init(&head, 512);
	kore_buf_appendf(&head, "HTTP/1.%c %d %s\r\nserver: fusion\r\n"
	    "content-type: %s\r\n", (req->flags & HTTP_VERSION_1_0) ?
	    '0' : '1', status, http_status_text(status), type);
	TAILQ_FOREACH(hdr, &req->resp_headers, list)
		kore_buf_appendf(&head, "%s: %s\r\n", hdr->header, hdr->value);
	if (!(req->flags & HTTP_VERSION_1_0))
		kore_buf_appendf(&head, "transfer-encoding: chunked\r\n");
	if (close) {
		kore_buf_appendf(&head, "connection: close\r\n\r\n");
	} else {
		kore_buf_appendf(&head, "connection: keep-alive\r\n"
		    "keep-alive: timeout=%d\r\n\r\n", http_keepalive_time);
	}
	net_send_queue(c, head.data, head.offset);
	kore_buf_cleanup(&head);

	req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
}

/* Queue len bytes of a streamed answer (a chunk for HTTP/1.1). */
void
glue_stream_chunk(struct http_request *req, const void *data, size_t len)
{
	char	size[24];
	int	n;

	if (len == 0)
		return;
	if (req->flags & HTTP_VERSION_1_0) {
		net_send_queue(req->owner, data, len);
		return;
	}
	n = snprintf(size, sizeof(size), "%zx\r\n", len);
	net_send_queue(req->owner, size, (size_t)n);
	net_send_queue(req->owner, data, len);
	net_send_queue(req->owner, "\r\n", 2);
}

/*
 * The streamed answer is complete: the last chunk, then the connection
 * reads the client's next request, as after an answer Kore writes itself,
 * or closes once the queued bytes are out.
 */
void
glue_stream_end(struct http_request *req)
{
	if (!(req->flags & HTTP_VERSION_1_0))
		net_send_queue(req->owner, "0\r\n\r\n", 5);
	http_response_end(req, req->flags & HTTP_VERSION_1_0);
}

/*
 * Send what is queued for req's client as far as its socket takes it.
 * Returns the bytes still waiting, or -1 when the client is gone.
 */
ssize_t
glue_stream_flush(struct http_request *req)
{
	struct netbuf	*nb;
	size_t		 queued;

	if (req->owner == NULL ||
	    net_send_flush(req->owner) == KORE_RESULT_ERROR)
		return (-1);
	queued = 0;
	TAILQ_FOREACH(nb, &req->owner->send_queue, list)
		queued += nb->b_len - nb->s_off;
	return ((ssize_t)queued);
}

/*
 * Has task t begun to answer on its channel? Kore's task events are
 * edge-triggered and an answer may arrive in two pieces: read one only
 * when its length has arrived.
 */
int
glue_task_answered(struct kore_task *t)
{
	u_int32_t	len;

	return (recv(t->fds[0], &len, sizeof(len), MSG_PEEK | MSG_DONTWAIT) ==
	    (ssize_t)sizeof(len));
}

/*
 * A task thread that has closed what it owns waits here for the process
 * to end: Kore unmaps its pools (the task thread's own state among them)
 * as the worker exits, so the thread must not run Kore's task loop
 * again. Never returns.
 */
void
glue_task_park(void)
{
	static pthread_mutex_t	parked_lock = PTHREAD_MUTEX_INITIALIZER;
	static pthread_cond_t	parked = PTHREAD_COND_INITIALIZER;

	(void)pthread_mutex_lock(&parked_lock);
	for (;;)
		(void)pthread_cond_wait(&parked, &parked_lock);
}

/*
 * curl's header callback got line: at the blank line that ends the
 * headers of an answer, fill u from curl's own reading of them and
 * return 1 when that answer is the final one (not a 1xx), 0 otherwise.
 */
int
glue_upstream_head(CURL *h, const char *line, size_t len,
    struct glue_upstream *u)
{
	struct curl_header	*hdr;
	curl_off_t		 retry;
	char			*type;
	long			 status;

	if (len > 2 || (len > 0 && line[0] != '\r' && line[0] != '\n'))
		return (0);
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK || status < 200)
		return (0);

	u->status = status;
	u->content_type[0] = '\0';
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK &&
	    type != NULL)
		(void)kore_strlcpy(u->content_type, type,
		    sizeof(u->content_type));
	u->event_stream = strncasecmp(u->content_type, "text/event-stream",
	    17) == 0;
	/* curl says 0 both for "Retry-After: 0" and for no such header. */
	u->retry_after = -1;
	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK &&
	    (retry > 0 || curl_easy_header(h, "retry-after", 0, CURLH_HEADER,
	    -1, &hdr) == CURLHE_OK))
		u->retry_after = retry > 86400 ? 86400 : (int64_t)retry;
	return (1);
}
