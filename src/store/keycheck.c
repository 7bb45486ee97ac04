/*
 * The master-key rule (issue 16): a store holds data sealed with one
 * master key, and a gateway started with another must refuse to start
 * rather than fail on every stored key (or, on a shared database, seal
 * new ones no other node can open). At the first start with it the store
 * gets a check value, a known text sealed with the master key, in the
 * table store_meta; every start must open it. A store from before the
 * check value is tried on its first sealed upstream key and proxy URL.
 */

#include <kore/kore.h>

#include <sodium.h>

#include <stdio.h>
#include <string.h>

#include "store/store.h"

#define KEYCHECK_NAME	"master_key_check"
#define KEYCHECK_TEXT	"LLM Fusion Engine master key check"

static int	keycheck_opens(sqlite3 *, const char *, const char *, int *);

/*
 * Whether the first value sql selects (a sealed blob) opens with the
 * master key (to the text expect, unless NULL): 1 when it does or there
 * is none, 0 when it does not; *found is set when there was one.
 */
static int
keycheck_opens(sqlite3 *h, const char *sql, const char *expect, int *found)
{
	sqlite3_stmt	*stmt;
	char		*plain;
	int		 ok;

	*found = 0;
	if (sqlite3_prepare_v2(h, sql, -1, &stmt, NULL) != SQLITE_OK)
		return (1);	/* no such table yet: nothing sealed */

	ok = 1;
	if (sqlite3_step(stmt) == SQLITE_ROW &&
	    sqlite3_column_type(stmt, 0) == SQLITE_BLOB) {
		*found = 1;
		plain = secrets_open(sqlite3_column_blob(stmt, 0),
		    (size_t)sqlite3_column_bytes(stmt, 0));
		if (plain == NULL) {
			ok = 0;
		} else {
			if (expect != NULL)
				ok = strcmp(plain, expect) == 0;
			sodium_memzero(plain, strlen(plain));
			kore_free(plain);
		}
	}
	sqlite3_finalize(stmt);

	return (ok);
}

/*
 * KORE_RESULT_OK when what h holds sealed opens with the loaded master
 * key (or nothing is sealed yet); KORE_RESULT_ERROR with the reason in
 * err when it was sealed with another. Reads only.
 */
int
store_key_check(sqlite3 *h, char *err, size_t errlen)
{
	static const char *const sealed[] = {
		"SELECT secret FROM upstream_keys ORDER BY id LIMIT 1",
		"SELECT proxy_secret FROM providers WHERE proxy_secret IS "
		    "NOT NULL ORDER BY id LIMIT 1",
	};
	size_t	i;
	int	found;

	if (!keycheck_opens(h, "SELECT value FROM store_meta WHERE "
	    "name = '" KEYCHECK_NAME "'", KEYCHECK_TEXT, &found))
		goto wrong;
	for (i = 0; !found && i < sizeof(sealed) / sizeof(sealed[0]); i++) {
		if (!keycheck_opens(h, sealed[i], NULL, &found))
			goto wrong;
	}
	return (KORE_RESULT_OK);

wrong:
	(void)snprintf(err, errlen, "its data was sealed with a different "
	    "master key than the one loaded (FUSION_MASTER_KEY or the key "
	    "file); start with the key it was made with, which every node "
	    "sharing a database must have");
	return (KORE_RESULT_ERROR);
}

/*
 * Give h its check value if it has none (at the newest schema, after
 * store_key_check). KORE_RESULT_ERROR with the reason in err.
 */
int
store_key_mark(sqlite3 *h, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	u_int8_t	*box;
	size_t		 len;
	int		 rc;

	if (secrets_seal(KEYCHECK_TEXT, &box, &len) != KORE_RESULT_OK) {
		(void)snprintf(err, errlen, "no master key loaded");
		return (KORE_RESULT_ERROR);
	}

	rc = KORE_RESULT_ERROR;
	if ((stmt = store_prepare_on(h, "INSERT INTO store_meta (name, value) "
	    "VALUES ('" KEYCHECK_NAME "', ?) ON CONFLICT (name) DO NOTHING")) ==
	    NULL) {
		(void)snprintf(err, errlen, "store_meta: %s",
		    sqlite3_errmsg(h));
		goto done;
	}
	(void)sqlite3_bind_blob(stmt, 1, box, (int)len, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_DONE)
		rc = KORE_RESULT_OK;
	else
		(void)snprintf(err, errlen, "store_meta: %s",
		    sqlite3_errmsg(h));
	sqlite3_finalize(stmt);

done:
	kore_free(box);
	return (rc);
}
