/*
 * Unit tests of the pure parts: input validation, secrets, migrations.
 * Run by tests/run; prints "N passed, N failed".
 */

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <kore/kore.h>

#include "core/core.h"
#include "store/store.h"
#include "test.h"

int			test_failed;
struct fusion_config	fusion_cfg;

char		unit_tmpdir[] = "/tmp/fusion-unit-XXXXXX";

void		run_xlate_tests(int *, int *);
void		run_dataplane_tests(int *, int *);
void		run_xlate_gemini_tests(int *, int *);
void		run_failover_tests(int *, int *);
void		run_strategy_tests(int *, int *);
void		run_models_tests(int *, int *);
void		run_scale_tests(int *, int *);
void		run_price_tests(int *, int *);

TEST(name_accepts_utf8_and_rejects_junk)
{
	char	long_name[200];

	ASSERT(validate_name("openai-group"));
	ASSERT(validate_name("组 一"));
	ASSERT(!validate_name(""));
	ASSERT(!validate_name("   "));
	ASSERT(!validate_name("tab\there"));
	ASSERT(!validate_name("\xc3\x28"));		/* broken sequence */
	ASSERT(!validate_name("\xe0\x80\xaf"));		/* overlong '/' */
	ASSERT(!validate_name("\xed\xa0\x80"));		/* surrogate */
	ASSERT(!validate_name("\xf4\x90\x80\x80"));	/* > U+10FFFF */
	ASSERT(!validate_name("a\xc2\x85" "b"));		/* C1 control NEL */
	ASSERT(validate_name("a\xc2\xa0" "b"));		/* no-break space */
	memset(long_name, 'a', sizeof(long_name));
	long_name[128] = '\0';
	ASSERT(validate_name(long_name));
	long_name[128] = 'a';
	long_name[129] = '\0';
	ASSERT(!validate_name(long_name));
}

TEST(base_url_only_plain_http_and_https)
{
	ASSERT(validate_base_url("https://api.openai.com/v1"));
	ASSERT(validate_base_url("http://127.0.0.1:9000"));
	ASSERT(!validate_base_url("ftp://example.com"));
	ASSERT(!validate_base_url("https://"));
	ASSERT(!validate_base_url("https:///path"));
	ASSERT(!validate_base_url("https://user:pw@example.com"));
	ASSERT(!validate_base_url("https://example.com/v1?x=1"));
	ASSERT(!validate_base_url("https://exa mple.com"));
	ASSERT(!validate_base_url("javascript:alert(1)"));
}

TEST(strategy_type_and_label)
{
	ASSERT(validate_strategy("round_robin"));
	ASSERT(validate_strategy("weighted"));
	ASSERT(!validate_strategy("random"));
	ASSERT(validate_provider_type("openai"));
	ASSERT(!validate_provider_type("OpenAI"));
	ASSERT(validate_label(""));
	ASSERT(!validate_label("\x01"));
}

TEST(traceparent_w3c_shape_only)
{
	u_int8_t	tr[16], sp[8], fl;

	ASSERT(validate_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01", tr, sp, &fl));
	ASSERT_INT_EQ(tr[0], 0x4b);
	ASSERT_INT_EQ(tr[15], 0x36);
	ASSERT_INT_EQ(sp[7], 0xb7);
	ASSERT_INT_EQ(fl, 1);
	/* A later version with more fields is read as 00. */
	ASSERT(validate_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-00-what-comes-next", tr, sp, &fl));
	ASSERT_INT_EQ(fl, 0);
	ASSERT(!validate_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01-x", tr, sp, &fl));
	ASSERT(!validate_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01", tr, sp, &fl));
	ASSERT(!validate_traceparent("00-00000000000000000000000000000000-"
	    "00f067aa0ba902b7-01", tr, sp, &fl));
	ASSERT(!validate_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "0000000000000000-01", tr, sp, &fl));
	ASSERT(!validate_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-"
	    "00f067aa0ba902b7-01", tr, sp, &fl));
	ASSERT(!validate_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-"
	    "600f067aa0ba902b7-01", tr, sp, &fl));
	ASSERT(!validate_traceparent("", tr, sp, &fl));
}

TEST(tracestate_w3c_list)
{
	ASSERT(validate_tracestate("congo=t61rcWkgMzE"));
	ASSERT(validate_tracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"));
	ASSERT(validate_tracestate("fw529a3039@dt=ffffffff,,\t x=y z"));
	ASSERT(validate_tracestate("a*/_-1=!\"#$%&'()*+-./:;<>?@[]^_`{|}~"));
	ASSERT(!validate_tracestate(""));
	ASSERT(!validate_tracestate(" , "));
	ASSERT(!validate_tracestate("Congo=x"));
	ASSERT(!validate_tracestate("1abc=x"));
	ASSERT(!validate_tracestate("a@=x"));
	ASSERT(!validate_tracestate("a@1b=x"));
	ASSERT(!validate_tracestate("a@b@c=x"));
	ASSERT(validate_tracestate("a@bcdefghijklmno=x"));
	ASSERT(!validate_tracestate("a@bcdefghijklmnop=x"));
	ASSERT(!validate_tracestate("congo"));
	ASSERT(!validate_tracestate("congo="));
	ASSERT(!validate_tracestate("congo=a=b"));
	ASSERT(!validate_tracestate("congo=a\r\nx-injected: 1"));
	ASSERT(!validate_tracestate("congo=caf\xc3\xa9"));
}

TEST(proxy_urls_and_extra_headers)
{
	char	masked[128];

	ASSERT(validate_proxy_url("http://127.0.0.1:3128"));
	ASSERT(validate_proxy_url("https://proxy.example/"));
	ASSERT(validate_proxy_url("socks5h://u:p%40ss@[::1]:1080"));
	ASSERT(!validate_proxy_url("socks5://x:1080"));
	ASSERT(!validate_proxy_url("ftp://x"));
	ASSERT(!validate_proxy_url("http://"));
	ASSERT(!validate_proxy_url("http://x:0"));
	ASSERT(!validate_proxy_url("http://x:65536"));
	ASSERT(!validate_proxy_url("http://x:1a"));
	ASSERT(!validate_proxy_url("http://x/y"));
	ASSERT(!validate_proxy_url("http://@x"));
	ASSERT(!validate_proxy_url("http://a@b@x"));
	ASSERT(!validate_proxy_url("http://x y"));
	ASSERT(!validate_proxy_url("http://[::1"));

	secrets_mask_url("http://alice:secret-password@proxy:3128", masked,
	    sizeof(masked));
	ASSERT_STR_EQ(masked, "http://ali...word@proxy:3128");
	secrets_mask_url("socks5h://tok@p:1", masked, sizeof(masked));
	ASSERT_STR_EQ(masked, "socks5h://****@p:1");
	secrets_mask_url("http://proxy:3128", masked, sizeof(masked));
	ASSERT_STR_EQ(masked, "http://proxy:3128");

	ASSERT(validate_header_name("X-Org"));
	ASSERT(validate_header_name("OpenAI-Project"));
	ASSERT(!validate_header_name("Authorization"));
	ASSERT(!validate_header_name("X-API-KEY"));
	ASSERT(!validate_header_name("x-goog-api-key"));
	ASSERT(!validate_header_name("content-length"));
	ASSERT(!validate_header_name("bad header"));
	ASSERT(!validate_header_name(""));
	ASSERT(validate_header_value("a b\tc"));
	ASSERT(!validate_header_value("a\r\nb: c"));
	ASSERT(validate_affinity("session"));
	ASSERT(!validate_affinity("sticky"));
	ASSERT(validate_strategy("least_latency"));
}

TEST(time_parses_rfc3339_utc_only)
{
	int64_t	t;

	ASSERT(validate_time("1970-01-01T00:00:00Z", &t));
	ASSERT_INT_EQ(t, 0);
	ASSERT(validate_time("2030-01-01T00:00:00.123Z", &t));
	ASSERT_INT_EQ(t, 1893456000);
	ASSERT(validate_time("2030-01-01T00:00:00+00:00", &t));
	ASSERT(!validate_time("2030-01-01T00:00:00+02:00", &t));
	ASSERT(!validate_time("2030-01-01", &t));
	ASSERT(!validate_time("tomorrow", &t));
	ASSERT(!validate_time(" 2030-1-1T0:0:0Z", &t));	/* lax strptime */
	ASSERT(!validate_time("2027-02-31T12:00:00Z", &t));	/* no such day */
	ASSERT(!validate_time("2027-01-31T12:00:61Z", &t));
	ASSERT(validate_time("2028-02-29T23:59:59Z", &t));
}

TEST(master_key_file_created_private_and_reused)
{
	struct stat	st;
	char		path[128], masked[32], *plain;
	u_int8_t	*box;
	size_t		 len;

	(void)snprintf(path, sizeof(path), "%s/master.key", unit_tmpdir);
	ASSERT_INT_EQ(secrets_init(path), KORE_RESULT_OK);
	ASSERT_INT_EQ(stat(path, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);

	ASSERT_INT_EQ(secrets_seal("sk-live-0123456789", &box, &len),
	    KORE_RESULT_OK);
	ASSERT(memmem(box, len, "sk-live", 7) == NULL);

	/* A restart reads the same key back and opens old boxes. */
	ASSERT_INT_EQ(secrets_init(path), KORE_RESULT_OK);
	plain = secrets_open(box, len);
	ASSERT_STR_EQ(plain, "sk-live-0123456789");
	free(plain);

	/* A damaged box is refused, not half opened. */
	box[len - 1] ^= 1;
	ASSERT(secrets_open(box, len) == NULL);
	ASSERT(secrets_open(box, 3) == NULL);
	free(box);

	secrets_mask("sk-live-0123456789", masked, sizeof(masked));
	ASSERT_STR_EQ(masked, "sk-...6789");
	secrets_mask("short", masked, sizeof(masked));
	ASSERT_STR_EQ(masked, "****");
}

TEST(master_key_file_readable_by_others_is_refused)
{
	char	path[128];
	FILE	*fp;

	(void)snprintf(path, sizeof(path), "%s/open.key", unit_tmpdir);
	ASSERT((fp = fopen(path, "w")) != NULL);
	fprintf(fp, "%064d\n", 0);
	fclose(fp);
	ASSERT_INT_EQ(chmod(path, 0644), 0);
	ASSERT_INT_EQ(secrets_init(path), KORE_RESULT_ERROR);
}

TEST(master_key_from_environment)
{
	char	path[128];

	(void)snprintf(path, sizeof(path), "%s/unused.key", unit_tmpdir);
	setenv("FUSION_MASTER_KEY", "not hex", 1);
	ASSERT_INT_EQ(secrets_init(path), KORE_RESULT_ERROR);
	setenv("FUSION_MASTER_KEY",
	    "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff", 1);
	ASSERT_INT_EQ(secrets_init(path), KORE_RESULT_OK);
	ASSERT(access(path, F_OK) != 0);
	unsetenv("FUSION_MASTER_KEY");
}

TEST(tokens_are_random_and_hashes_stable)
{
	char	a[80], b[80], ha[SECRET_HASH_HEX], hb[SECRET_HASH_HEX];

	secrets_token("sk-fe-", a, sizeof(a));
	secrets_token("sk-fe-", b, sizeof(b));
	ASSERT(strncmp(a, "sk-fe-", 6) == 0);
	ASSERT_INT_EQ(strlen(a), 6 + 43);
	ASSERT(strcmp(a, b) != 0);

	secrets_hash(a, ha);
	secrets_hash(a, hb);
	ASSERT_STR_EQ(ha, hb);
	secrets_hash(b, hb);
	ASSERT(strcmp(ha, hb) != 0);

	ASSERT(secrets_equal(a, a));
	ASSERT(!secrets_equal(a, b));
	ASSERT(!secrets_equal("abc", "abcd"));
}

TEST(passwords_hash_with_argon2id)
{
	char	hash[crypto_pwhash_STRBYTES];

	ASSERT_INT_EQ(secrets_password_hash("correct horse", hash,
	    sizeof(hash)), KORE_RESULT_OK);
	ASSERT(strncmp(hash, "$argon2id$", 10) == 0);
	ASSERT(secrets_password_verify(hash, "correct horse"));
	ASSERT(!secrets_password_verify(hash, "correct horse "));
}

static int64_t
query_int(const char *sql)
{
	return (store_count(sql));
}

TEST(migrations_create_schema_and_are_idempotent)
{
	char	path[128], err[256];
	int64_t	version;

	(void)snprintf(path, sizeof(path), "%s/m.db", unit_tmpdir);
	ASSERT_INT_EQ(store_open(path, 1), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_migrate(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	version = query_int("PRAGMA user_version");
	ASSERT_INT_EQ(version, store_schema_version());
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM pragma_table_info("
	    "'request_log') WHERE name IN ('cached_tokens', "
	    "'cache_write_tokens', 'reasoning_tokens', 'usage_estimated')"), 4);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM pragma_table_info("
	    "'providers') WHERE name = 'responses_api'"), 1);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'rollups'"), 1);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name IN ('users', 'sessions', 'groups', "
	    "'providers', 'upstream_keys', 'client_keys', 'request_log')"), 7);

	/* A second start changes nothing. */
	ASSERT_INT_EQ(store_migrate(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(query_int("PRAGMA user_version"), version);
	store_close();

	/* WAL and foreign keys hold on every connection. */
	ASSERT_INT_EQ(store_open(path, 0), KORE_RESULT_OK);
	ASSERT_INT_EQ(query_int("PRAGMA foreign_keys"), 1);
	store_close();
}

TEST(deleting_a_group_cascades_to_providers_and_keys)
{
	char	path[128], err[256];

	(void)snprintf(path, sizeof(path), "%s/c.db", unit_tmpdir);
	ASSERT_INT_EQ(store_open(path, 1), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_migrate(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(store_exec("INSERT INTO groups (name, created_at, "
	    "updated_at) VALUES ('g', 0, 0); INSERT INTO providers (group_id,"
	    " name, base_url, created_at, updated_at) VALUES (1, 'p', "
	    "'http://x', 0, 0); INSERT INTO upstream_keys (provider_id, "
	    "secret, secret_hash, key_masked, created_at, updated_at) VALUES "
	    "(1, x'00', 'h', 'm', 0, 0)"), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_exec("DELETE FROM groups"), KORE_RESULT_OK);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM providers"), 0);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM upstream_keys"), 0);
	store_close();
}

/*
 * A database made by the first release keeps its groups, providers and
 * keys through every later migration, the rebuilt groups table among
 * them (dropping it with foreign keys on would delete its providers).
 */
TEST(upgrade_keeps_groups_providers_and_keys)
{
	char	path[128], err[256];

	(void)snprintf(path, sizeof(path), "%s/u.db", unit_tmpdir);
	ASSERT_INT_EQ(store_open(path, 1), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_migrate_to(store_db(), 1, err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(store_exec("INSERT INTO groups (name, priority, "
	    "strategy, created_at, updated_at) VALUES ('g', 5, 'weighted', 0,"
	    " 0); INSERT INTO providers (group_id, name, base_url, created_at,"
	    " updated_at) VALUES (1, 'p', 'http://x', 0, 0); INSERT INTO "
	    "upstream_keys (provider_id, secret, secret_hash, key_masked, "
	    "created_at, updated_at) VALUES (1, x'00', 'h', 'm', 0, 0)"),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(store_migrate(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM groups WHERE name = 'g'"
	    " AND priority = 5 AND strategy = 'weighted' AND affinity = "
	    "'none'"), 1);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM providers WHERE "
	    "group_id = 1 AND probe_interval_seconds = 0"), 1);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM upstream_keys"), 1);
	ASSERT_INT_EQ(query_int("PRAGMA foreign_keys"), 1);

	/* The new strategy is allowed, others still are not. */
	ASSERT_INT_EQ(store_exec("UPDATE groups SET strategy = "
	    "'least_latency'"), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_exec("UPDATE groups SET strategy = 'random'"),
	    KORE_RESULT_ERROR);

	/* The groups table still cascades. */
	ASSERT_INT_EQ(store_exec("DELETE FROM groups"), KORE_RESULT_OK);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM upstream_keys"), 0);
	store_close();
}

TEST(newer_schema_is_refused_with_a_reason)
{
	char	path[128], err[256];

	(void)snprintf(path, sizeof(path), "%s/n.db", unit_tmpdir);
	ASSERT_INT_EQ(store_open(path, 1), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_exec("PRAGMA user_version = 99"), KORE_RESULT_OK);
	err[0] = '\0';
	ASSERT_INT_EQ(store_migrate(store_db(), err, sizeof(err)),
	    KORE_RESULT_ERROR);
	ASSERT(strstr(err, "newer") != NULL);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM sqlite_master"), 0);
	store_close();
}

/*
 * PostgreSQL's text of every migration: SQLite's types in its words,
 * quoted text and the names of things untouched, and no step missing.
 */
TEST(migrations_in_postgresql_dialect)
{
	struct kore_buf	 b;
	const char	*sql;
	int		 i;

	kore_buf_init(&b, 4096);
	ASSERT_INT_EQ(store_migration_pg(-1, &b), -1);
	ASSERT_INT_EQ(store_migration_pg(store_schema_version(), &b), -1);
	for (i = 0; i < store_schema_version(); i++) {
		kore_buf_reset(&b);
		ASSERT(store_migration_pg(i, &b) >= 0);
		sql = kore_buf_stringify(&b, NULL);
		ASSERT(strlen(sql) > 0);
		ASSERT(strstr(sql, "INTEGER") == NULL);
		ASSERT(strstr(sql, "BLOB") == NULL);
		ASSERT(strstr(sql, "WITHOUT ROWID") == NULL);
		ASSERT(strstr(sql, "x''") == NULL);
		ASSERT(strstr(sql, "groups_new") == NULL);
	}

	kore_buf_reset(&b);
	ASSERT_INT_EQ(store_migration_pg(0, &b), 0);
	sql = kore_buf_stringify(&b, NULL);
	ASSERT(strstr(sql, "CREATE TABLE users (  id BIGINT GENERATED BY "
	    "DEFAULT AS IDENTITY PRIMARY KEY,") != NULL);
	ASSERT(strstr(sql, "  user_id BIGINT NOT NULL REFERENCES users(id)")
	    != NULL);
	ASSERT(strstr(sql, "  secret BYTEA NOT NULL,") != NULL);
	ASSERT(strstr(sql, "DEFAULT 'round_robin'") != NULL);

	/* The rollups: a bytea default, a table with rows of its own. */
	kore_buf_reset(&b);
	ASSERT_INT_EQ(store_migration_pg(4, &b), 1);
	sql = kore_buf_stringify(&b, NULL);
	ASSERT(strstr(sql, "latency_hist BYTEA NOT NULL DEFAULT ''::bytea,")
	    != NULL);
	ASSERT(strstr(sql, "client_key_id, model, status_class));") != NULL);

	/* The groups' constraint changes in place. */
	kore_buf_reset(&b);
	ASSERT_INT_EQ(store_migration_pg(2, &b), 0);
	sql = kore_buf_stringify(&b, NULL);
	ASSERT(strstr(sql, "ALTER TABLE groups DROP CONSTRAINT "
	    "groups_strategy_check") != NULL);
	ASSERT(strstr(sql, "ADD COLUMN proxy_secret BYTEA;") != NULL);
	kore_buf_cleanup(&b);
}

/* Load the master key hex, as FUSION_MASTER_KEY gives it. */
static int
use_master_key(const char *hex)
{
	setenv("FUSION_MASTER_KEY", hex, 1);
	return (secrets_init("/nonexistent"));
}

/*
 * The master-key rule: a store sealed with one key refuses another, by
 * its check value or, in a store from before it, by a sealed key.
 */
TEST(master_key_check_refuses_another_key)
{
	sqlite3_stmt	*st;
	u_int8_t	*box;
	size_t		 len;
	char		 path[128], err[512];
	const char	*a = "00112233445566778899aabbccddeeff"
			    "00112233445566778899aabbccddeeff";
	const char	*b = "ffeeddccbbaa99887766554433221100"
			    "ffeeddccbbaa99887766554433221100";

	(void)snprintf(path, sizeof(path), "%s/k.db", unit_tmpdir);
	ASSERT_INT_EQ(store_open(path, 1), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_migrate(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(use_master_key(a), KORE_RESULT_OK);

	/* Nothing sealed yet: any key will do, and the store takes it. */
	ASSERT_INT_EQ(store_key_check(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(store_key_mark(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(store_key_mark(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM store_meta"), 1);
	ASSERT_INT_EQ(store_key_check(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);

	ASSERT_INT_EQ(use_master_key(b), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_key_check(store_db(), err, sizeof(err)),
	    KORE_RESULT_ERROR);
	ASSERT(strstr(err, "different master key") != NULL);

	/* Without the check value, a key sealed with a tells. */
	ASSERT_INT_EQ(use_master_key(a), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_exec("DELETE FROM store_meta;"
	    "INSERT INTO groups (name, created_at, updated_at) VALUES "
	    "('g', 0, 0); INSERT INTO providers (group_id, name, base_url, "
	    "created_at, updated_at) VALUES (1, 'p', 'http://x', 0, 0)"),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(secrets_seal("sk-a-0123456789", &box, &len),
	    KORE_RESULT_OK);
	ASSERT((st = store_prepare("INSERT INTO upstream_keys (provider_id, "
	    "secret, secret_hash, key_masked, created_at, updated_at) VALUES "
	    "(1, ?, 'h', 'm', 0, 0)")) != NULL);
	(void)sqlite3_bind_blob(st, 1, box, (int)len, SQLITE_STATIC);
	ASSERT_INT_EQ(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	kore_free(box);
	ASSERT_INT_EQ(store_key_check(store_db(), err, sizeof(err)),
	    KORE_RESULT_OK);
	ASSERT_INT_EQ(use_master_key(b), KORE_RESULT_OK);
	ASSERT_INT_EQ(store_key_check(store_db(), err, sizeof(err)),
	    KORE_RESULT_ERROR);
	ASSERT_INT_EQ(query_int("SELECT count(*) FROM store_meta"), 0);
	unsetenv("FUSION_MASTER_KEY");
	store_close();
}

static void
run_store_tests(int *passed, int *failed)
{
	RUN(name_accepts_utf8_and_rejects_junk);
	RUN(base_url_only_plain_http_and_https);
	RUN(strategy_type_and_label);
	RUN(proxy_urls_and_extra_headers);
	RUN(time_parses_rfc3339_utc_only);
	RUN(traceparent_w3c_shape_only);
	RUN(tracestate_w3c_list);
	RUN(master_key_file_created_private_and_reused);
	RUN(master_key_file_readable_by_others_is_refused);
	RUN(master_key_from_environment);
	RUN(tokens_are_random_and_hashes_stable);
	RUN(passwords_hash_with_argon2id);
	RUN(migrations_create_schema_and_are_idempotent);
	RUN(deleting_a_group_cascades_to_providers_and_keys);
	RUN(upgrade_keeps_groups_providers_and_keys);
	RUN(newer_schema_is_refused_with_a_reason);
	RUN(migrations_in_postgresql_dialect);
	RUN(master_key_check_refuses_another_key);
}

int
main(void)
{
	int	passed, failed;
	char	cmd[128];

	passed = failed = 0;
	if (sodium_init() < 0 || mkdtemp(unit_tmpdir) == NULL) {
		fprintf(stderr, "cannot set up\n");
		return (1);
	}

	run_store_tests(&passed, &failed);
	run_xlate_tests(&passed, &failed);
	run_dataplane_tests(&passed, &failed);
	run_xlate_gemini_tests(&passed, &failed);
	run_failover_tests(&passed, &failed);
	run_strategy_tests(&passed, &failed);
	run_models_tests(&passed, &failed);
	run_scale_tests(&passed, &failed);
	run_price_tests(&passed, &failed);

	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", unit_tmpdir);
	(void)system(cmd);

	printf("%d passed, %d failed\n", passed, failed);
	return (failed != 0);
}
