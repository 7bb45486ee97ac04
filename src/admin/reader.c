/*
 * Admin reads that can take long (the request log's pages, stats from
 * the rollups) run on the admin reader: a Kore task thread of each
 * worker with its own read-only connection, so that a long query never
 * holds the worker's event loop and the /v1 requests it serves. The
 * handler checks the session and its parameters on the event loop, then
 * hands a job over and sleeps; the reader runs it, writing the JSON
 * answer, and the handler sends it when woken.
 *
 * Jobs run one at a time, in order; a job that reads for longer than
 * READER_TIMEOUT_MS is interrupted and answered 503. A client that goes
 * away leaves its job to finish unseen. The reader runs forever on one
 * of Kore's two task threads, as the request-log writer does on the
 * other (reqlog.c): nothing else may run Kore tasks.
 */

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "admin/admin.h"

#define READER_TIMEOUT_MS	15000
/*
 * The file read through a memory map, not read(2) into the page cache:
 * the stats look up a row per key, thousands of pages each time.
 */
#define READER_MMAP		"1073741824"

#define READER_OP_RUN		1
#define READER_OP_STOP		2

struct reader_msg {
	int			 op;
	struct admin_read	*job;
};

struct admin_read {
	admin_read_fn		 run;
	void			*arg;
	void			(*arg_free)(void *);
	struct kore_buf		*out;		/* the answer's body */
	int			 status;	/* and status */
	const char		*type;		/* of a 200, or NULL: JSON */
	int			 done;
	struct http_request	*req;		/* NULL: the client went away */
	TAILQ_ENTRY(admin_read)	 list;
};

static TAILQ_HEAD(, admin_read)	queue = TAILQ_HEAD_INITIALIZER(queue);
static struct kore_task		reader;
static int			reader_live = 0;
static int			reader_busy = 0;

/* The reader's side. */
static sqlite3			*reader_db = NULL;
static u_int64_t		 reader_deadline = 0;
static int			 reader_late = 0;

static int	admin_read_start(struct http_request *, admin_read_fn, void *,
		    void (*)(void *), const char *);
static int	admin_read_answer(struct http_request *);
static void	reader_send(void);
static void	reader_answer(struct kore_task *);
static void	reader_take(void);
static void	reader_onfree(struct http_request *);
static void	reader_job_free(struct admin_read *);
static int	reader_thread(struct kore_task *);
static int	reader_progress(void *);
static sqlite3	*reader_connect(void);
static void	reader_run(struct admin_read *);

void
reader_init(void)
{
	kore_task_create(&reader, reader_thread);
	kore_task_bind_callback(&reader, reader_answer);
	kore_task_run(&reader);
	reader_live = 1;
}

/*
 * The worker stops: let the job under way finish (its request is gone),
 * then the reader closes its connection.
 */
void
reader_stop(void)
{
	struct reader_msg	m;

	if (!reader_live)
		return;
	if (reader_busy)
		reader_take();

	m.op = READER_OP_STOP;
	m.job = NULL;
	kore_task_channel_write(&reader, &m, sizeof(m));
	if (kore_task_channel_read(&reader, &m, sizeof(m)) != sizeof(m))
		fatal("admin reader: short answer");
	reader_live = 0;
}

static void
reader_job_free(struct admin_read *job)
{
	if (job->arg_free != NULL)
		job->arg_free(job->arg);
	if (job->out != NULL)
		kore_buf_free(job->out);
	kore_free(job);
}

/* The request went away: its job, if not done, is freed when it is. */
static void
reader_onfree(struct http_request *req)
{
	struct admin_read	**state = http_state_get(req);
	struct admin_read	 *job = *state;

	if (job == NULL)
		return;
	if (job->done)
		reader_job_free(job);
	else
		job->req = NULL;
	*state = NULL;
}

/*
 * Run run(db, arg, out) on the reader for req and answer with what it
 * wrote (arg is freed with arg_free afterwards); the request sleeps
 * meanwhile.
 */
static int
admin_read_start(struct http_request *req, admin_read_fn run, void *arg,
    void (*arg_free)(void *), const char *type)
{
	struct admin_read	**state, *job;

	job = kore_calloc(1, sizeof(*job));
	job->type = type;
	job->run = run;
	job->arg = arg;
	job->arg_free = arg_free;
	job->req = req;

	state = http_state_create(req, sizeof(*state), reader_onfree);
	*state = job;
	TAILQ_INSERT_TAIL(&queue, job, list);
	http_request_sleep(req);
	reader_send();

	return (KORE_RESULT_RETRY);
}

/*
 * The handler of a GET the reader answers: the session, the method and
 * the parameters (params() answers a 400 itself and returns NULL) on the
 * event loop, then run(arg) on the reader; on the call after it, the
 * answer.
 */
int
admin_read_get(struct http_request *req, void *(*params)(struct http_request *),
    admin_read_fn run, void (*arg_free)(void *))
{
	return (admin_read_get_as(req, params, run, arg_free, NULL));
}

/*
 * admin_read_get, for an answer whose body is of content type (errors
 * stay JSON); NULL is JSON.
 */
int
admin_read_get_as(struct http_request *req,
    void *(*params)(struct http_request *), admin_read_fn run,
    void (*arg_free)(void *), const char *type)
{
	struct admin_user	 user;
	void			*arg;

	if (http_state_exists(req))
		return (admin_read_answer(req));
	if (auth_admin(req, &user) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if (api_method(req, HTTP_METHOD_GET, "GET") != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	if ((arg = params(req)) == NULL)
		return (KORE_RESULT_OK);

	return (admin_read_start(req, run, arg, arg_free, type));
}

/* The handler is called again: answer if the job is done. */
static int
admin_read_answer(struct http_request *req)
{
	struct admin_read	**state = http_state_get(req);
	struct admin_read	 *job = *state;

	if (job == NULL || !job->done) {
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}

	if (job->type != NULL && job->status == 200) {
		http_response_header(req, "content-type", job->type);
		http_response_header(req, "cache-control", "no-store");
		http_response(req, 200, job->out->data, job->out->offset);
		kore_buf_free(job->out);
	} else {
		glue_reply_json(req, job->status, job->out);
	}
	job->out = NULL;
	reader_job_free(job);
	*state = NULL;

	return (KORE_RESULT_OK);
}

/* A job's answer when the store fails it: 500, in the error shape. */
int
admin_read_db_error(struct kore_buf *out)
{
	kore_buf_reset(out);
	api_error_body(out, "server_error", "database_error",
	    "the database could not complete the request");
	return (500);
}

/* Give the reader the next job when it is free. */
static void
reader_send(void)
{
	struct reader_msg	m;
	struct admin_read	*job;

	if (!reader_live || reader_busy || (job = TAILQ_FIRST(&queue)) == NULL)
		return;

	TAILQ_REMOVE(&queue, job, list);
	m.op = READER_OP_RUN;
	m.job = job;
	reader_busy = 1;
	kore_task_channel_write(&reader, &m, sizeof(m));
}

static void
reader_answer(struct kore_task *t)
{
	if (!reader_busy || !glue_task_answered(t))
		return;

	reader_take();
	reader_send();
}

static void
reader_take(void)
{
	struct reader_msg	m;

	if (kore_task_channel_read(&reader, &m, sizeof(m)) != sizeof(m))
		fatal("admin reader: short answer");
	reader_busy = 0;

	m.job->done = 1;
	if (m.job->req != NULL)
		http_request_wakeup(m.job->req);
	else
		reader_job_free(m.job);
}

/* SQLite asks every few thousand steps: stop a job past its time. */
static int
reader_progress(void *arg)
{
	if (kore_time_ms() < reader_deadline)
		return (0);
	reader_late = 1;
	return (1);
}

/* The reader's connection, read-only; NULL when it cannot be had. */
static sqlite3 *
reader_connect(void)
{
	sqlite3		*db;

	if ((db = store_connect(fusion_cfg.db_path, 0)) == NULL)
		return (NULL);
	if (store_exec_on(db, "PRAGMA query_only = ON") != KORE_RESULT_OK ||
	    store_exec_on(db, "PRAGMA cache_size = -8192") != KORE_RESULT_OK ||
	    store_exec_on(db, "PRAGMA mmap_size = " READER_MMAP) !=
	    KORE_RESULT_OK) {
		(void)sqlite3_close_v2(db);
		return (NULL);
	}
	sqlite3_progress_handler(db, 1000, reader_progress, NULL);

	return (db);
}

/* On the reader: run one job, answering 503 for one that took too long. */
static void
reader_run(struct admin_read *job)
{
	job->out = kore_buf_alloc(4096);
	if (reader_db == NULL && (reader_db = reader_connect()) == NULL) {
		job->status = 500;
		api_error_body(job->out, "server_error", "database_error",
		    "the database could not be read");
		return;
	}

	reader_late = 0;
	reader_deadline = kore_time_ms() + READER_TIMEOUT_MS;
	job->status = job->run(reader_db, job->arg, job->out);
	if (reader_late) {
		kore_buf_reset(job->out);
		job->status = 503;
		api_error_body(job->out, "server_error", "query_timeout",
		    "the query took longer than 15 s: narrow its filters");
	}
}

/*
 * The reader thread: runs each job it is handed and answers. Told to
 * stop, it closes its connection, answers and parks (glue_task_park()).
 */
static int
reader_thread(struct kore_task *t)
{
	struct reader_msg	 m;

	/* Opened at once: the worker's descriptors are all there early. */
	reader_db = reader_connect();
	for (;;) {
		if (kore_task_channel_read(t, &m, sizeof(m)) != sizeof(m))
			fatal("admin reader: short message");
		if (m.op == READER_OP_STOP)
			break;
		reader_run(m.job);
		kore_task_channel_write(t, &m, sizeof(m));
	}

	if (reader_db != NULL)
		(void)sqlite3_close_v2(reader_db);
	reader_db = NULL;
	kore_task_channel_write(t, &m, sizeof(m));
	glue_task_park();

	/* NOTREACHED */
	return (KORE_RESULT_OK);
}
