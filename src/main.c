/*
 * LLM Fusion Engine: start-up, the one file that knows every layer.
 *
 * The parent reads the environment, creates the listeners, prepares the
 * database (migrations, first admin, master key) and decides how the
 * workers are confined. Each worker then opens its own SQLite connection.
 */

#include <sys/resource.h>
#include <sys/stat.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/hooks.h>
#include <kore/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "admin/admin.h"

void		kore_parent_configure(int, char **);
void		kore_worker_configure(void);
void		kore_worker_teardown(void);

extern char	*keymgr_root_path;
extern char	*keymgr_runas_user;

/*
 * What the workers need beyond Kore's own filter: SQLite's file I/O, and
 * the thread curl starts to resolve an upstream's host name. glibc starts
 * threads with clone3 and falls back to clone (which Kore's curl filter
 * allows) when clone3 answers ENOSYS; unlisted, clone3 killed the worker
 * on the first upstream named by host (any real provider). A new thread
 * registers rseq (glibc aborts the thread if that fails); ASan's thread
 * start also asks gettid and sched_getaffinity. A worker counts its open
 * descriptors for the metrics by reading /proc/self/fd (getdents64).
 */
KORE_SECCOMP_FILTER("fusion",
	KORE_SYSCALL_DENY(clone3, ENOSYS),
	KORE_SYSCALL_ALLOW(rseq),
	KORE_SYSCALL_ALLOW(gettid),
	KORE_SYSCALL_ALLOW(sched_getaffinity),
	KORE_SYSCALL_ALLOW(pread64),
	KORE_SYSCALL_ALLOW(pwrite64),
	KORE_SYSCALL_ALLOW(fsync),
	KORE_SYSCALL_ALLOW(fdatasync),
	KORE_SYSCALL_ALLOW(ftruncate),
	KORE_SYSCALL_ALLOW(fchown),
	KORE_SYSCALL_ALLOW(fchmod),
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(mremap),
	KORE_SYSCALL_ALLOW(getdents64),
);

static void		 limits_configure(void);
static void		 listeners_create(void);
static void		 privsep_prepare(const char *);
static void		 privsep_resolver_files(const char *);
static void		 store_prepare_parent(const char *);

/*
 * How many client connections each worker may hold, from MAX_CONNECTIONS
 * (all workers together). Kore's limits are per worker and answer 503
 * (requests) or stop accepting (connections) past them; a stream holds
 * its connection and its request for the whole answer, so both limits
 * are the connections a worker takes: its share of the total, plus a
 * quarter, since new connections go to the worker holding the fewest
 * (conf/kore-17-accept-balance) but a worker busy for a moment is left
 * out. Each connection may hold an upstream socket as well (curl), so
 * a worker needs two descriptors per connection and some for the store,
 * its logs and the listeners. Nothing is allocated up front per
 * connection (Kore's pools fill lazily, conf/kore-14-pool-lazy); its
 * epoll event array is what a larger limit costs (12 bytes each).
 *
 * The workers set their descriptor limit themselves, which cannot go
 * past the hard limit unless the parent may raise it (root with
 * CAP_SYS_RESOURCE; not in a default container). The parent raises it
 * here, or else gives each worker the connections its descriptors allow
 * and says so: Kore would only log that setrlimit failed and go on with
 * a limit below its connections.
 */
static void
limits_configure(void)
{
	struct rlimit	rl;
	u_int32_t	total, workers, per, asked;
	rlim_t		want, max;
	long		cpus;

	workers = worker_count;
	if (workers == 0) {
		/* Kore's own default, decided later: one per CPU. */
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		workers = cpus > 0 ? (u_int32_t)cpus : 1;
	}

	total = settings_uint("MAX_CONNECTIONS", 20000, 16, 1000000);
	per = (total + workers - 1) / workers;
	per += per / 4;

	/* Kore adds the descriptors a process has open at the fork. */
	asked = per;
	want = 2 * (rlim_t)per + 256 + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		max = rl.rlim_max;
		rl.rlim_cur = rl.rlim_max = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			per = max > 256 + 64 + 32 ?
			    (u_int32_t)((max - 256 - 64) / 2) : 16;
			kore_log(LOG_WARNING, "the hard descriptor limit (%llu) "
			    "holds %u connections a worker, not the %u that "
			    "MAX_CONNECTIONS=%u asks: raise it (ulimit -Hn)",
			    (unsigned long long)max, per, asked, total);
		}
	}

	worker_max_connections = per;
	http_request_limit = per;
	worker_rlimit_nofiles = 2 * per + 256;
}

static void
listeners_create(void)
{
	struct kore_server	*plain, *tls;
	const char		*bind_addr, *tls_bind, *admin_bind;
	char			 port[8], tls_port[8], admin_port[8];

	bind_addr = settings_str("BIND_ADDRESS", "0.0.0.0");
	tls_bind = settings_str("TLS_BIND_ADDRESS", bind_addr);

	(void)snprintf(port, sizeof(port), "%u",
	    settings_uint("PORT", 8080, 1, 65535));
	(void)snprintf(tls_port, sizeof(tls_port), "%u",
	    settings_uint("TLS_PORT", 8443, 1, 65535));

	plain = kore_server_create("plain");
	plain->tls = 0;
	if (!kore_server_bind(plain, bind_addr, port, NULL))
		fatal("cannot listen on %s:%s", bind_addr, port);

	/*
	 * The admin listener is one more address of the plain server; the
	 * admin and UI handlers refuse requests from any other listener
	 * (api_admin_only()).
	 */
	if ((admin_bind = getenv("ADMIN_BIND_ADDRESS")) != NULL &&
	    *admin_bind != '\0') {
		(void)snprintf(admin_port, sizeof(admin_port), "%u",
		    settings_uint("ADMIN_PORT", 8081, 1, 65535));
		if (!kore_server_bind(plain, admin_bind, admin_port, NULL))
			fatal("cannot listen on %s:%s", admin_bind, admin_port);
		fusion_cfg.admin_host = kore_strdup(admin_bind);
		fusion_cfg.admin_port = kore_strdup(admin_port);
	} else if (getenv("ADMIN_PORT") != NULL) {
		fatal("ADMIN_PORT needs ADMIN_BIND_ADDRESS");
	}
	kore_server_finalize(plain);

	tls = kore_server_create("tls");
	if (!kore_server_bind(tls, tls_bind, tls_port, NULL))
		fatal("cannot listen on %s:%s", tls_bind, tls_port);
	kore_server_finalize(tls);
}

/*
 * The chrooted workers resolve upstream host names themselves (curl's
 * resolver thread, glibc): give them the resolver's files, copied into
 * <root>/etc at every start so that they follow the system's. Without
 * them glibc asks a nameserver on 127.0.0.1 and knows no /etc/hosts name.
 */
static void
privsep_resolver_files(const char *root)
{
	const char	*files[] = { "resolv.conf", "hosts", "nsswitch.conf",
			    "host.conf", "gai.conf", NULL };
	char		 src[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX + 8];
	char		 buf[8192];
	ssize_t		 n;
	int		 i, in, out;

	(void)snprintf(dst, sizeof(dst), "%s/etc", root);
	if (mkdir(dst, 0755) == -1 && errno != EEXIST)
		fatal("mkdir(%s): %s", dst, errno_s);

	for (i = 0; files[i] != NULL; i++) {
		(void)snprintf(src, sizeof(src), "/etc/%s", files[i]);
		(void)snprintf(dst, sizeof(dst), "%s/etc/%s", root, files[i]);
		(void)snprintf(tmp, sizeof(tmp), "%s.new", dst);
		if ((in = open(src, O_RDONLY)) == -1) {
			(void)unlink(dst);
			continue;
		}
		if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
			fatal("open(%s): %s", tmp, errno_s);
		while ((n = read(in, buf, sizeof(buf))) > 0) {
			if (write(out, buf, n) != n)
				fatal("write(%s): %s", tmp, errno_s);
		}
		if (n == -1)
			fatal("read(%s): %s", src, errno_s);
		if (fchmod(out, 0644) == -1 || close(out) == -1)
			fatal("close(%s): %s", tmp, errno_s);
		(void)close(in);
		if (rename(tmp, dst) == -1)
			fatal("rename(%s): %s", tmp, errno_s);
	}
}

/*
 * As root without -n/-r, Kore chroots the workers and drops them to an
 * unprivileged user. The workers live in the database's directory; the
 * key manager lives where the certificate is (the working directory).
 * SQLite needs the database, its WAL and its shared-memory file writable
 * by that user: the parent has created them (the store keeps its WAL
 * files persistent, so no worker ever has to create or delete one in a
 * directory it cannot write) and hands them over here.
 */
static void
privsep_prepare(const char *db_path)
{
	struct passwd	*pw;
	struct stat	 st;
	const char	*user;
	char		 dir[PATH_MAX], base[PATH_MAX], cwd[PATH_MAX];
	char		 path[PATH_MAX + 8];
	const char	*suffix[] = { "", "-wal", "-shm", NULL };
	int		 i, len;

	if (geteuid() != 0 || skip_chroot || skip_runas) {
		fusion_cfg.db_path = kore_strdup(db_path);
		return;
	}

	user = settings_str("FUSION_USER", "nobody");
	if ((pw = getpwnam(user)) == NULL)
		fatal("FUSION_USER '%s' does not exist", user);

	if (realpath(db_path, path) == NULL)
		fatal("realpath(%s): %s", db_path, errno_s);
	(void)kore_strlcpy(dir, path, sizeof(dir));
	(void)kore_strlcpy(base, path, sizeof(base));

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		fatal("getcwd: %s", errno_s);

	kore_root_path = kore_strdup(dirname(dir));

	/* After chroot, the user opens "/<file>": it must search the dir. */
	if (stat(kore_root_path, &st) == -1)
		fatal("stat(%s): %s", kore_root_path, errno_s);
	if (!(st.st_mode & S_IXOTH) &&
	    !(st.st_uid == pw->pw_uid && (st.st_mode & S_IXUSR)) &&
	    !(st.st_gid == pw->pw_gid && (st.st_mode & S_IXGRP)))
		fatal("the database directory %s must be searchable by user "
		    "'%s' (chmod o+x, or chown it to that user)",
		    kore_root_path, user);
	privsep_resolver_files(kore_root_path);
	kore_runas_user = kore_strdup(user);
	keymgr_root_path = kore_strdup(cwd);
	keymgr_runas_user = kore_strdup(user);

	len = snprintf(path, sizeof(path), "/%s", basename(base));
	if (len < 0 || (size_t)len >= sizeof(path))
		fatal("database path too long");
	fusion_cfg.db_path = kore_strdup(path);
	fusion_cfg.privsep = 1;

	for (i = 0; suffix[i] != NULL; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s%s",
		    kore_root_path, basename(base), suffix[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) == -1)
			fatal("chown(%s): %s", path, errno_s);
	}
}

/*
 * The master key file of the database at db_path, into path:
 * FUSION_MASTER_KEY_FILE, else the database's path and ".key".
 */
static void
master_key_path(const char *db_path, char *path, size_t len)
{
	const char	*p;
	int		 n;

	if ((p = getenv("FUSION_MASTER_KEY_FILE")) != NULL && *p != '\0') {
		(void)kore_strlcpy(path, p, len);
	} else {
		n = snprintf(path, len, "%s.key", db_path);
		if (n < 0 || (size_t)n >= len)
			fatal("database path too long");
	}
}

/*
 * Open the database in the parent: load or create the master key, check
 * that the database's sealed data is the key's, apply migrations, create
 * the first administrator. Fails loudly: a gateway that cannot read its
 * store must not start. A database sealed with another key is refused
 * before anything changes (a key file made for it is removed again).
 */
static void
store_prepare_parent(const char *db_path)
{
	char		err[512];
	char		keyfile[PATH_MAX];
	const char	*p;
	int		target, made;

	if (store_open(db_path, 1) != KORE_RESULT_OK)
		fatal("cannot open database %s", db_path);

	master_key_path(db_path, keyfile, sizeof(keyfile));
	made = ((p = getenv("FUSION_MASTER_KEY")) == NULL || *p == '\0') &&
	    access(keyfile, F_OK) == -1;
	if (secrets_init(keyfile) != KORE_RESULT_OK)
		fatal("cannot load the master key");
	if (store_key_check(store_db(), err, sizeof(err)) != KORE_RESULT_OK) {
		if (made)
			(void)unlink(keyfile);
		fatal("refusing to start on database %s: %s", db_path, err);
	}

	/*
	 * FUSION_SCHEMA_TARGET migrates to an older schema and stops: the
	 * tests and bench/scale make the file of an earlier release with
	 * it, to upgrade.
	 */
	if ((p = getenv("FUSION_SCHEMA_TARGET")) != NULL && *p != '\0')
		target = (int)settings_uint("FUSION_SCHEMA_TARGET", 0, 1,
		    (u_int32_t)store_schema_version());
	else
		target = store_schema_version();
	if (store_migrate_to(store_db(), target, err, sizeof(err)) !=
	    KORE_RESULT_OK)
		fatal("database %s: %s", db_path, err);
	if (target != store_schema_version()) {
		kore_log(LOG_NOTICE, "database %s at schema version %d "
		    "(FUSION_SCHEMA_TARGET): stopping", db_path, target);
		store_close();
		exit(0);
	}
	/* A migration may leave a long WAL: into the file, and cut. */
	(void)store_exec("PRAGMA wal_checkpoint(TRUNCATE)");

	if (store_key_mark(store_db(), err, sizeof(err)) != KORE_RESULT_OK)
		fatal("database %s: %s", db_path, err);

	if (auth_bootstrap(getenv("ADMIN_PASSWORD")) !=
	    KORE_RESULT_OK)
		fatal("cannot create the first administrator");

	/* Declarative: the file wins for what it names, at every start. */
	if ((p = settings_str("CONFIG_FILE", NULL)) != NULL)
		import_config_file(p, getenv("CONFIG_PASSPHRASE"));
}

/*
 * ./fusion --import-sqlite FILE: copy FILE into the empty PostgreSQL
 * database DATABASE_URL names (store/pg_import.c) and exit: 0 when every
 * row arrived, 1 when refused or failed, the target then unchanged.
 */
static void
import_command(int argc, char **argv)
{
	char		 err[1024], keyfile[PATH_MAX];
	const char	*url, *p;

	/* Kore's log lines (SQLite's errors) to stdout, beside ours. */
	kore_foreground = 1;
	if (argc != 3) {
		fprintf(stderr, "usage: DATABASE_URL=postgresql://... "
		    "%s --import-sqlite FILE\n", argv[0]);
		exit(2);
	}
	if ((url = getenv("DATABASE_URL")) == NULL || *url == '\0') {
		fprintf(stderr, "fusion: --import-sqlite needs DATABASE_URL "
		    "(postgresql://user:password@host:port/database) naming "
		    "an empty database\n");
		exit(1);
	}
	if (sodium_init() < 0)
		fatal("libsodium failed to initialise");

	if (access(argv[2], F_OK) == -1) {
		fprintf(stderr, "fusion: import of %s refused: %s: %s\n",
		    argv[2], argv[2], errno_s);
		exit(1);
	}
	/* The file's own key, never a new one: its sealed keys need it. */
	master_key_path(argv[2], keyfile, sizeof(keyfile));
	if (((p = getenv("FUSION_MASTER_KEY")) == NULL || *p == '\0') &&
	    access(keyfile, F_OK) == -1) {
		fprintf(stderr, "fusion: import of %s refused: no master key "
		    "(FUSION_MASTER_KEY is not set and %s: %s)\n", argv[2],
		    keyfile, errno_s);
		exit(1);
	}
	if (secrets_init(keyfile) != KORE_RESULT_OK) {
		fprintf(stderr, "fusion: import of %s refused: cannot load the "
		    "master key\n", argv[2]);
		exit(1);
	}

	if (store_import_sqlite(argv[2], url, err, sizeof(err)) !=
	    KORE_RESULT_OK) {
		fprintf(stderr, "fusion: import of %s refused, the target is "
		    "unchanged: %s\n", argv[2], err);
		exit(1);
	}
	exit(0);
}

void
kore_parent_configure(int argc, char **argv)
{
	const char	*db_path;
	size_t		 nkeys, nclients;

	if (argc > 1 && strcmp(argv[1], "--import-sqlite") == 0)
		import_command(argc, argv);
	kore_default_getopt(argc, argv);

	/* Log lines go out whole and at once, also into a pipe. */
	(void)setvbuf(stdout, NULL, _IOLBF, 0);

	if (sodium_init() < 0)
		fatal("libsodium failed to initialise");

	settings_load();

	/*
	 * PostgreSQL (issue 16) is not served from yet: the data plane, the
	 * admin engine and the log writer use SQLite. Say so rather than
	 * silently serve from DB_PATH; the URL itself is not shown.
	 */
	if (settings_str("DATABASE_URL", NULL) != NULL)
		fatal("DATABASE_URL is set, but serving from PostgreSQL is not "
		    "built yet: only ./fusion --import-sqlite FILE uses it so "
		    "far; unset it to serve from SQLite at DB_PATH");

	worker_drain_ms = 1000ULL * settings_uint("SHUTDOWN_GRACE_SECONDS", 8, 0,
	    3600);

	worker_count = settings_uint("WORKERS", worker_count, 1, 64);
	/* Ticket keys shared by all workers (conf/kore-22-ticket-keys). */
	tls_ticket_rotate = settings_uint("TLS_TICKET_ROTATE_SECONDS", 7200,
	    1, 7 * 24 * 3600);
	http_body_max = settings_uint("BODY_MAX_BYTES", 4 * 1024 * 1024,
	    1024, 256 * 1024 * 1024);
	/* Nothing here asks for http_body_digest(): skip the SHA-256. */
	http_body_hash = 0;

	db_path = settings_str("DB_PATH", "fusion.db");
	kore_pidfile = kore_strdup(settings_str("PID_FILE", "fusion.pid"));

	observe_configure();
	/* After the log format is set: it may have something to say. */
	limits_configure();
	listeners_create();
	metrics_init();
	latency_init();
	upstream_load_ca();
	store_prepare_parent(db_path);

	/* Key health and quota use as the last run left them. */
	state_size(&nkeys, &nclients);
	counters_init(nkeys, nclients);
	if (state_load() != KORE_RESULT_OK)
		fatal("cannot load key health and quota use");

	/* No SQLite connection may cross the fork into the workers. */
	store_close();
	privsep_prepare(db_path);
}

void
kore_worker_configure(void)
{
	/*
	 * Each request allocates its state (15 KB) and curl's buffers at
	 * the top of the heap and frees them again; with glibc's defaults
	 * the freed top is given back to the kernel and faulted in again
	 * on the next request (one page fault per request under load).
	 * Keep up to 2 MB of it.
	 */
	(void)mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024);
	(void)mallopt(M_TOP_PAD, 512 * 1024);

	if (store_open(fusion_cfg.db_path, 0) != KORE_RESULT_OK)
		fatal("worker cannot open database %s", fusion_cfg.db_path);

	reqlog_init();
	reader_init();
	observe_worker_init();
	latency_worker_init();
	probe_init();
}

/*
 * The worker stops: what is still in flight after the grace period ends
 * with an error, then the request log is written out.
 */
void
kore_worker_teardown(void)
{
	proxy_shutdown();
	reader_stop();
	reqlog_stop();
	observe_worker_stop();
	store_close();
}
