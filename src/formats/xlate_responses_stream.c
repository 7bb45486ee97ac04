/*
 * Chat chunks as the Responses API's stream for its clients: the events
 * of response.created, output items (text, reasoning, function calls)
 * with their deltas, and response.completed (or response.incomplete)
 * holding the whole output and the usage.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "formats/formats.h"

static void	ev_open(struct xlate_stream *, struct kore_buf *,
		    const char *);
static void	item_open(struct xlate_stream *, struct kore_buf *, int,
		    const char *, const char *);
static void	item_close(struct xlate_stream *, struct kore_buf *);
static void	stream_close(struct xlate_stream *, struct kore_buf *);

/* "event: <type>\ndata: {"type":...,"sequence_number":N" of an event. */
static void
ev_open(struct xlate_stream *st, struct kore_buf *out, const char *type)
{
	kore_buf_appendf(out, "event: %s\ndata: {\"type\":\"%s\","
	    "\"sequence_number\":%" PRId64, type, type, st->o->seq++);
}

/*
 * A new output item of kind bt (text, a tool call, reasoning), with its
 * added events; call_id and name for a tool call.
 */
static void
item_open(struct xlate_stream *st, struct kore_buf *out, int bt,
    const char *call_id, const char *name)
{
	struct kore_buf	id;

	item_close(st, out);
	st->block_type = bt;
	st->block = st->o->nitems;
	kore_buf_reset(st->o->text);
	ev_open(st, out, "response.output_item.added");
	kore_buf_appendf(out, ",\"output_index\":%d,\"item\":", st->block);
	if (bt == BT_TOOL) {
		(void)snprintf(st->o->call_id, sizeof(st->o->call_id), "%s", call_id);
		(void)snprintf(st->o->call_name, sizeof(st->o->call_name), "%s",
		    name);
		/* The arguments join the id at output_item.done. */
		kore_buf_init(&id, 256);
		responses_item_id(&id, ITEM_CALL, st->o->call_id, st->o->call_name,
		    NULL);
		if (id.offset - 2 < sizeof(st->o->item_id))
			(void)snprintf(st->o->item_id, sizeof(st->o->item_id),
			    "%.*s", (int)id.offset - 2, id.data + 1);
		else
			(void)snprintf(st->o->item_id, sizeof(st->o->item_id),
			    "fc_%s_%d", st->id, st->block);
		kore_buf_cleanup(&id);
		kore_buf_appendf(out, "{\"type\":\"function_call\",\"id\":\"%s\","
		    "\"call_id\":", st->o->item_id);
		json_str(out, st->o->call_id);
		kore_buf_appendf(out, ",\"name\":");
		json_str(out, st->o->call_name);
		kore_buf_appendf(out, ",\"arguments\":\"\",\"status\":"
		    "\"in_progress\"}}\n\n");
	} else if (bt == BT_THINK) {
		(void)snprintf(st->o->item_id, sizeof(st->o->item_id), "rs_%s_%d",
		    st->id, st->block);
		kore_buf_appendf(out, "{\"type\":\"reasoning\",\"id\":\"%s\","
		    "\"summary\":[]}}\n\n", st->o->item_id);
		ev_open(st, out, "response.reasoning_summary_part.added");
		kore_buf_appendf(out, ",\"item_id\":\"%s\",\"output_index\":%d,"
		    "\"summary_index\":0,\"part\":{\"type\":\"summary_text\","
		    "\"text\":\"\"}}\n\n", st->o->item_id, st->block);
	} else {
		(void)snprintf(st->o->item_id, sizeof(st->o->item_id), "msg_%s_%d",
		    st->id, st->block);
		kore_buf_appendf(out, "{\"type\":\"message\",\"id\":\"%s\","
		    "\"status\":\"in_progress\",\"role\":\"assistant\","
		    "\"content\":[]}}\n\n", st->o->item_id);
		ev_open(st, out, "response.content_part.added");
		kore_buf_appendf(out, ",\"item_id\":\"%s\",\"output_index\":%d,"
		    "\"content_index\":0,\"part\":{\"type\":\"output_text\","
		    "\"annotations\":[],\"text\":\"\"}}\n\n", st->o->item_id,
		    st->block);
	}
}

/* The open item's done events; the item joins st->o->items. */
static void
item_close(struct xlate_stream *st, struct kore_buf *out)
{
	struct kore_buf	item;

	if (st->block_type == BT_NONE)
		return;
	kore_buf_init(&item, st->o->text->offset + 256);
	if (st->block_type == BT_TOOL) {
		ev_open(st, out, "response.function_call_arguments.done");
		kore_buf_appendf(out, ",\"item_id\":\"%s\",\"output_index\":%d,"
		    "\"arguments\":", st->o->item_id, st->block);
		json_strn(out, st->o->text->data, st->o->text->offset);
		kore_buf_appendf(out, "}\n\n");
		kore_buf_appendf(&item, "{\"type\":\"function_call\",\"id\":");
		kore_buf_stringify(st->o->text, NULL);
		st->o->text->offset--;	/* the NUL stays after the text */
		responses_item_id(&item, ITEM_CALL, st->o->call_id,
		    st->o->call_name, (const char *)st->o->text->data);
		kore_buf_appendf(&item, ",\"call_id\":");
		json_str(&item, st->o->call_id);
		kore_buf_appendf(&item, ",\"name\":");
		json_str(&item, st->o->call_name);
		kore_buf_appendf(&item, ",\"arguments\":");
		json_strn(&item, st->o->text->data, st->o->text->offset);
		kore_buf_appendf(&item, ",\"status\":\"completed\"}");
	} else if (st->block_type == BT_THINK) {
		ev_open(st, out, "response.reasoning_summary_text.done");
		kore_buf_appendf(out, ",\"item_id\":\"%s\",\"output_index\":%d,"
		    "\"summary_index\":0,\"text\":", st->o->item_id, st->block);
		json_strn(out, st->o->text->data, st->o->text->offset);
		kore_buf_appendf(out, "}\n\n");
		kore_buf_appendf(&item, "{\"type\":\"reasoning\",\"id\":\"%s\","
		    "\"summary\":[{\"type\":\"summary_text\",\"text\":",
		    st->o->item_id);
		json_strn(&item, st->o->text->data, st->o->text->offset);
		kore_buf_appendf(&item, "}]}");
	} else {
		ev_open(st, out, "response.output_text.done");
		kore_buf_appendf(out, ",\"item_id\":\"%s\",\"output_index\":%d,"
		    "\"content_index\":0,\"text\":", st->o->item_id, st->block);
		json_strn(out, st->o->text->data, st->o->text->offset);
		kore_buf_appendf(out, ",\"logprobs\":[]}\n\n");
		ev_open(st, out, "response.content_part.done");
		kore_buf_appendf(out, ",\"item_id\":\"%s\",\"output_index\":%d,"
		    "\"content_index\":0,\"part\":{\"type\":\"output_text\","
		    "\"annotations\":[],\"text\":", st->o->item_id, st->block);
		json_strn(out, st->o->text->data, st->o->text->offset);
		kore_buf_appendf(out, "}}\n\n");
		kore_buf_appendf(&item, "{\"type\":\"message\",\"id\":\"%s\","
		    "\"status\":\"completed\",\"role\":\"assistant\","
		    "\"content\":[{\"type\":\"output_text\",\"annotations\":[],"
		    "\"logprobs\":[],\"text\":", st->o->item_id);
		json_strn(&item, st->o->text->data, st->o->text->offset);
		kore_buf_appendf(&item, "}]}");
	}
	ev_open(st, out, "response.output_item.done");
	kore_buf_appendf(out, ",\"output_index\":%d,\"item\":", st->block);
	kore_buf_append(out, item.data, item.offset);
	kore_buf_appendf(out, "}\n\n");
	if (st->o->nitems > 0)
		kore_buf_appendf(st->o->items, ",");
	kore_buf_append(st->o->items, item.data, item.offset);
	kore_buf_cleanup(&item);
	st->o->nitems++;
	st->block_type = BT_NONE;
}

/* The open item closed, then response.completed (or .incomplete). */
static void
stream_close(struct xlate_stream *st, struct kore_buf *out)
{
	char	rid[96];
	int	incomplete;

	item_close(st, out);
	incomplete = strcmp(st->finish, "length") == 0;
	(void)snprintf(rid, sizeof(rid), "resp_%s", st->id);
	ev_open(st, out, incomplete ? "response.incomplete" :
	    "response.completed");
	kore_buf_appendf(out, ",\"response\":");
	responses_open(out, rid, st->created, st->model, st->finish[0] ?
	    st->finish : "stop");
	kore_buf_append(out, st->o->items->data, st->o->items->offset);
	kore_buf_appendf(out, "],");
	responses_usage(&st->usage, out);
	kore_buf_appendf(out, "}}\n\n");
	st->done = 1;
}

/*
 * Chat chunks as Responses events. The first chunk opens the response
 * (response.created, response.in_progress); text, reasoning and each
 * tool call are output items of their own, opened and closed in turn;
 * the finish reason and the usage (which follows it) are held until
 * [DONE], which closes the response.
 */
int
responses_stream_from_openai(struct xlate_stream *st, const void *data,
    size_t len, struct kore_buf *out)
{
	struct kore_json	 json;
	struct kore_json_item	*root, *ch, *d, *c, *tcs, *tc, *fn, *id, *name;
	struct kore_json_item	*a;
	char			 rid[96];
	int			 rc;

	if ((rc = xlate_openai_event(st, &json, data, len, out,
	    stream_close)) != 1)
		goto done;
	rc = 0;
	root = json.root;
	if (!st->started) {
		st->started = 1;
		(void)snprintf(rid, sizeof(rid), "resp_%s", st->id);
		ev_open(st, out, "response.created");
		kore_buf_appendf(out, ",\"response\":");
		responses_open(out, rid, st->created, st->model, NULL);
		kore_buf_appendf(out, "],\"usage\":null}}\n\n");
		ev_open(st, out, "response.in_progress");
		kore_buf_appendf(out, ",\"response\":");
		responses_open(out, rid, st->created, st->model, NULL);
		kore_buf_appendf(out, "],\"usage\":null}}\n\n");
	}
	openai_usage_read(json_get(root, "usage"), &st->usage);
	ch = json_first(json_get(root, "choices"));
	d = json_get(ch, "delta");

	if (json_is_str(c = json_get(d, "reasoning_content")) &&
	    c->data.string[0] != '\0') {
		if (st->block_type != BT_THINK)
			item_open(st, out, BT_THINK, NULL, NULL);
		ev_open(st, out, "response.reasoning_summary_text.delta");
		kore_buf_appendf(out, ",\"item_id\":\"%s\",\"output_index\":%d,"
		    "\"summary_index\":0,\"delta\":", st->o->item_id, st->block);
		json_str(out, c->data.string);
		kore_buf_appendf(out, "}\n\n");
		kore_buf_appendf(st->o->text, "%s", c->data.string);
	}
	if (json_is_str(c = json_get(d, "content")) &&
	    c->data.string[0] != '\0') {
		if (st->block_type != BT_TEXT)
			item_open(st, out, BT_TEXT, NULL, NULL);
		ev_open(st, out, "response.output_text.delta");
		kore_buf_appendf(out, ",\"item_id\":\"%s\",\"output_index\":%d,"
		    "\"content_index\":0,\"delta\":", st->o->item_id, st->block);
		json_str(out, c->data.string);
		kore_buf_appendf(out, ",\"logprobs\":[]}\n\n");
		kore_buf_appendf(st->o->text, "%s", c->data.string);
	}
	if (json_is(tcs = json_get(d, "tool_calls"), KORE_JSON_TYPE_ARRAY)) {
		TAILQ_FOREACH(tc, &tcs->data.items, list) {
			fn = json_get(tc, "function");
			id = json_get(tc, "id");
			name = json_get(fn, "name");
			a = json_get(fn, "arguments");
			if (json_is_str(id) || json_is_str(name)) {
				item_open(st, out, BT_TOOL, json_is_str(id) ?
				    id->data.string : "", json_is_str(name) ?
				    name->data.string : "");
			}
			if (st->block_type != BT_TOOL || !json_is_str(a) ||
			    a->data.string[0] == '\0')
				continue;
			ev_open(st, out,
			    "response.function_call_arguments.delta");
			kore_buf_appendf(out, ",\"item_id\":\"%s\","
			    "\"output_index\":%d,\"delta\":", st->o->item_id,
			    st->block);
			json_str(out, a->data.string);
			kore_buf_appendf(out, "}\n\n");
			kore_buf_appendf(st->o->text, "%s", a->data.string);
		}
	}
	xlate_openai_finish(st, ch);
done:
	kore_json_cleanup(&json);
	return (rc);
}

/*
 * The upstream's stream ended without [DONE]: with a finish reason the
 * answer was whole, and the response is completed; without one it was
 * cut short, and nothing is appended.
 */
void
responses_stream_finish_from_openai(struct xlate_stream *st,
    struct kore_buf *out)
{
	if (!st->done && st->finish[0] != '\0')
		stream_close(st, out);
}
