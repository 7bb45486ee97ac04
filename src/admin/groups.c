/*
 * /api/admin/groups: groups of providers, tried by priority (higher
 * first), each with how a tier chooses among its providers (strategy:
 * round robin, weights, or the least latency, whose average forgets
 * with latency_half_life_seconds) and whether a session sticks to its
 * provider and key (affinity). Deleting a group deletes its providers
 * and their keys.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "admin/admin.h"

static const struct admin_field group_fields[] = {
	{ "name", AK_STRING, AF_REQUIRED, 0, 0, validate_name,
	    "a name of 1 to 128 characters", NULL, 0 },
	{ "priority", AK_INT, 0, -1000000, 1000000, NULL, NULL, NULL, 0 },
	{ "enabled", AK_BOOL, 0, 0, 0, NULL, NULL, NULL, 1 },
	{ "strategy", AK_STRING, 0, 0, 0, validate_strategy,
	    "'round_robin', 'weighted' or 'least_latency'", "round_robin", 0 },
	{ "affinity", AK_STRING, 0, 0, 0, validate_affinity,
	    "'none' or 'session'", "none", 0 },
	{ "latency_half_life_seconds", AK_INT, 0, 1, 3600, NULL, NULL, NULL,
	    10 },
};

const struct admin_resource admin_res_groups = {
	.table = "groups",
	.path = "/api/admin/groups/",
	.noun = "group",
	.fields = group_fields,
	.nfields = sizeof(group_fields) / sizeof(group_fields[0]),
	.conflict_msg = "a group with that name already exists",
};

int
admin_groups(struct http_request *req)
{
	return (admin_collection(req, &admin_res_groups));
}

int
admin_group(struct http_request *req)
{
	return (admin_item(req, &admin_res_groups));
}
