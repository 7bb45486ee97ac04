/*
 * Every place the gateway reaches into Kore's and curl's internals, so
 * that the rest of the code speaks of answers, streams and transfers:
 * JSON answers, the head, chunks and end of a streamed answer (HTTP/1.1
 * chunked, or HTTP/1.0 until the connection closes), how much a client
 * has not read yet, whether its connection goes on after an answer, a
 * task's answer waiting on its channel, and what an upstream's answer
 * said about itself (curl_easy_getinfo).
 */

#include <kore/kore.h>
#include <kore/http.h>

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
