/*
 * POST /api/admin/playground/chat/completions: the admin UI's playground,
 * a chat through the real routing, failover and request log, on the
 * admin's session instead of a client key (the browser never holds
 * one). The request is the /v1 one (proxy_begin) in every way but who
 * asks: the log names the admin as its client, and no client key's
 * allowlists, rpm limit or quota apply.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "admin/admin.h"

static int	playground_client(struct proxy *);

static const struct proxy_ops	playground_ops = {
	.begin = proxy_begin,
	.log = reqlog_add,
	.health = 1,
	.prefix = "/api/admin/playground",
	.client = playground_client,
};

/*
 * Who asks: an admin's session (auth_admin answers when there is none;
 * that is no traffic to log).
 */
static int
playground_client(struct proxy *px)
{
	struct admin_user	user;

	if (auth_admin(px->req, &user) != KORE_RESULT_OK) {
		px->phase = PHASE_DONE;
		px->logged = 1;
		return (KORE_RESULT_ERROR);
	}

	px->client = NULL;
	px->log.admin_user_id = user.id;
	return (KORE_RESULT_OK);
}

int
admin_playground(struct http_request *req)
{
	return (proxy_run(req, &playground_ops));
}
