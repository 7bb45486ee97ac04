/*
 * store: where the gateway keeps what must outlive a process: groups,
 * providers, upstream and client keys, users and sessions, the request
 * log and the audit log. One SQLite file in WAL mode shared by every
 * process (sqlite.c), its schema brought up to date by numbered
 * migrations (migrations.c). It depends on core/ only.
 *
 * Each process holds one connection (the parent while it prepares the
 * database, then each worker); the request-log writer has its own.
 * Functions return KORE_RESULT_OK or KORE_RESULT_ERROR after logging why.
 */

#ifndef __H_STORE_H
#define __H_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "core/core.h"

/* sqlite.c */
sqlite3		*store_connect(const char *, int);
int		store_open(const char *, int);
void		store_close(void);
sqlite3		*store_db(void);
sqlite3_stmt	*store_prepare(const char *);
sqlite3_stmt	*store_prepare_on(sqlite3 *, const char *);
int		store_exec(const char *);
int		store_exec_on(sqlite3 *, const char *);
int		store_begin(void);
int		store_commit(void);
void		store_rollback(void);
int64_t		store_count(const char *);
int64_t		store_now(void);

/* migrations.c */
int		store_migrate(sqlite3 *, char *, size_t);
int		store_migrate_upto(sqlite3 *, size_t, char *, size_t);

#endif
