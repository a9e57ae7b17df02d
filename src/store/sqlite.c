/* SQLite back end of store.h: WAL, one connection per thread, cached statements. */
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "store/schema.h"
#include "util/log.h"
#include "util/strx.h"

#define STMT_CACHE 256 /* power of two */

struct sq {
    sqlite3_stmt *st;
    const char *sql;
    bool busy;
};

struct conn {
    sqlite3 *db;
    struct sq cache[STMT_CACHE];
    bool in_tx;
    bool last_conflict;
};

static char db_path[4096];
static _Thread_local struct conn *tl_conn;

static void conn_free(struct conn *cn)
{
    if (!cn)
        return;
    for (int i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(cn->cache[i].st);
    sqlite3_close_v2(cn->db);
    free(cn);
}

static struct conn *conn_open(void)
{
    struct conn *cn = calloc(1, sizeof(*cn));
    if (!cn)
        return NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(db_path, &cn->db, flags, NULL) != SQLITE_OK) {
        log_error(NULL, "Cannot open database '%s': %s.", db_path, sqlite3_errmsg(cn->db));
        conn_free(cn);
        return NULL;
    }
    sqlite3_busy_timeout(cn->db, 10000);
    sqlite3_exec(cn->db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                 "PRAGMA cache_size=-4000; PRAGMA temp_store=MEMORY;"
                 /* Pages read through a mapping: no read() copy per page, and a reader's
                  * cache emptied by another thread's commit refills from the page cache. */
                 "PRAGMA mmap_size=268435456;"
                 /* Checkpoints run in the background (store_checkpoint), not in the commit
                  * of whichever request fills the log; this is only the backstop. */
                 "PRAGMA wal_autocheckpoint=20000;",
                 NULL, NULL, NULL);
    return cn;
}

static struct conn *conn_get(void)
{
    if (!tl_conn)
        tl_conn = conn_open();
    return tl_conn;
}

int store_open(const char *path)
{
    str_copy(db_path, path, sizeof(db_path));
    if (sqlite3_threadsafe() == 0) {
        log_error(NULL, "SQLite was built without thread support.");
        return -1;
    }
    struct conn *cn = conn_get();
    if (!cn)
        return -1;
    return schema_migrate(cn->db);
}

void store_thread_done(void)
{
    conn_free(tl_conn);
    tl_conn = NULL;
}

void store_close(void)
{
    store_thread_done();
}

static int exec_plain(struct ctx *c, const char *sql)
{
    struct conn *cn = conn_get();
    if (!cn)
        return ctx_fail(c, 500, "The database is not available.");
    char *err = NULL;
    if (sqlite3_exec(cn->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        log_error(c ? c->rid : NULL, "Database statement '%s' failed: %s.", sql, err ? err : "?");
        sqlite3_free(err);
        return ctx_fail(c, 500, "The database failed; nothing was changed.");
    }
    return 0;
}

/* The writers of this process take turns on a mutex before SQLite's write lock. SQLite
 * alone makes a writer that finds the lock taken sleep in steps of 1 to 100 ms (its busy
 * handler), holding its HTTP thread and every request queued behind it; on the mutex it
 * wakes as soon as the writer before it commits. The busy timeout stays for writers of
 * other processes (a backup, another node in tests). */
static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;

int store_begin(struct ctx *c)
{
    if (tl_conn && tl_conn->in_tx) {
        log_error(c ? c->rid : NULL, "A transaction was begun inside another.");
        return ctx_fail(c, 500, "The database failed; nothing was changed.");
    }
    pthread_mutex_lock(&writer_lock);
    if (exec_plain(c, "BEGIN IMMEDIATE") < 0) {
        pthread_mutex_unlock(&writer_lock);
        return -1;
    }
    tl_conn->in_tx = true;
    return 0;
}

int store_commit(struct ctx *c)
{
    int rc = exec_plain(c, "COMMIT");
    if (rc < 0) {
        store_rollback();
        return -1;
    }
    tl_conn->in_tx = false;
    pthread_mutex_unlock(&writer_lock);
    return 0;
}

void store_rollback(void)
{
    if (tl_conn && tl_conn->in_tx) {
        sqlite3_exec(tl_conn->db, "ROLLBACK", NULL, NULL, NULL);
        tl_conn->in_tx = false;
        pthread_mutex_unlock(&writer_lock);
    }
}

int store_checkpoint(struct ctx *c)
{
    struct conn *cn = conn_get();
    if (!cn)
        return ctx_fail(c, 500, "The database is not available.");
    int log_pages = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(cn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        return ctx_fail(c, 500, "The checkpoint failed: %s.", sqlite3_errmsg(cn->db));
    return done;
}

bool store_in_tx(void)
{
    return tl_conn && tl_conn->in_tx;
}

static struct sq *prepare(struct ctx *c, const char *sql)
{
    struct conn *cn = conn_get();
    if (!cn) {
        ctx_fail(c, 500, "The database is not available.");
        return NULL;
    }
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 7;
    h ^= h >> 13;
    size_t slot = h & (STMT_CACHE - 1);
    for (size_t probe = 0; probe < STMT_CACHE; probe++) {
        struct sq *q = &cn->cache[(slot + probe) & (STMT_CACHE - 1)];
        if (q->sql == sql && !q->busy) {
            q->busy = true;
            return q;
        }
        if (q->sql == NULL) {
            if (sqlite3_prepare_v3(cn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->st, NULL) !=
                SQLITE_OK) {
                log_error(c ? c->rid : NULL, "Cannot prepare '%s': %s.", sql,
                          sqlite3_errmsg(cn->db));
                q->st = NULL;
                ctx_fail(c, 500, "The database failed; nothing was changed.");
                return NULL;
            }
            q->sql = sql;
            q->busy = true;
            return q;
        }
    }
    ctx_fail(c, 500, "The statement cache is full.");
    return NULL;
}

static int bind_v(struct ctx *c, struct sq *q, const char *fmt, va_list ap)
{
    int i = 1, rc = SQLITE_OK;
    for (const char *f = fmt; f && *f && rc == SQLITE_OK; f++, i++) {
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(q->st, i, s, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(q->st, i);
            break;
        }
        case 'i':
        case 'b':
            rc = sqlite3_bind_int64(q->st, i, va_arg(ap, int));
            break;
        case 'I':
            rc = sqlite3_bind_int64(q->st, i, va_arg(ap, int64_t));
            break;
        case 'd':
            rc = sqlite3_bind_double(q->st, i, va_arg(ap, double));
            break;
        default:
            rc = SQLITE_MISUSE;
        }
    }
    if (rc != SQLITE_OK)
        return ctx_fail(c, 500, "The database failed; nothing was changed.");
    return 0;
}

static struct sq *query_v(struct ctx *c, const char *sql, const char *fmt, va_list ap)
{
    struct sq *q = prepare(c, sql);
    if (!q)
        return NULL;
    if (bind_v(c, q, fmt, ap) < 0) {
        sq_done(q);
        return NULL;
    }
    return q;
}

struct sq *sq_query(struct ctx *c, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct sq *q = query_v(c, sql, fmt, ap);
    va_end(ap);
    return q;
}

int sq_step(struct ctx *c, struct sq *q)
{
    int rc = sqlite3_step(q->st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    tl_conn->last_conflict = (sqlite3_extended_errcode(tl_conn->db) == SQLITE_CONSTRAINT_UNIQUE ||
                              sqlite3_extended_errcode(tl_conn->db) ==
                                  SQLITE_CONSTRAINT_PRIMARYKEY);
    if (tl_conn->last_conflict)
        return ctx_fail(c, 409, "The resource conflicts with one that already exists.");
    log_error(c ? c->rid : NULL, "Statement '%s' failed: %s.", q->sql, sqlite3_errmsg(tl_conn->db));
    return ctx_fail(c, 500, "The database failed; nothing was changed.");
}

bool store_last_was_conflict(void)
{
    return tl_conn && tl_conn->last_conflict;
}

const char *sq_text(struct sq *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q->st, col);
    return t ? (const char *)t : "";
}

bool sq_is_null(struct sq *q, int col)
{
    return sqlite3_column_type(q->st, col) == SQLITE_NULL;
}

int64_t sq_int(struct sq *q, int col)
{
    return sqlite3_column_int64(q->st, col);
}

double sq_double(struct sq *q, int col)
{
    return sqlite3_column_double(q->st, col);
}

void sq_done(struct sq *q)
{
    if (!q)
        return;
    sqlite3_reset(q->st);
    sqlite3_clear_bindings(q->st);
    q->busy = false;
}

int sq_exec(struct ctx *c, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct sq *q = query_v(c, sql, fmt, ap);
    va_end(ap);
    if (!q)
        return -1;
    /* A write outside a transaction takes its turn as store_begin does. */
    bool turn = !tl_conn->in_tx && !sqlite3_stmt_readonly(q->st);
    if (turn)
        pthread_mutex_lock(&writer_lock);
    int rc = sq_step(c, q);
    int changed = sqlite3_changes(tl_conn->db);
    sq_done(q);
    if (turn)
        pthread_mutex_unlock(&writer_lock);
    return rc < 0 ? -1 : changed;
}

int sq_scalar(struct ctx *c, int64_t *out, int64_t dflt, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct sq *q = query_v(c, sql, fmt, ap);
    va_end(ap);
    if (!q)
        return -1;
    int rc = sq_step(c, q);
    if (rc == 1)
        *out = sq_is_null(q, 0) ? dflt : sq_int(q, 0);
    else if (rc == 0)
        *out = dflt;
    sq_done(q);
    return rc < 0 ? -1 : 0;
}

json_t *sq_row(struct sq *q)
{
    json_t *o = json_object();
    int n = sqlite3_column_count(q->st);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(q->st, i);
        json_t *v;
        switch (sqlite3_column_type(q->st, i)) {
        case SQLITE_INTEGER:
            v = json_integer(sqlite3_column_int64(q->st, i));
            break;
        case SQLITE_FLOAT:
            v = json_real(sqlite3_column_double(q->st, i));
            break;
        case SQLITE_NULL:
            v = json_null();
            break;
        default:
            /* Text in the store was validated as UTF-8 on its way in. */
            v = json_stringn_nocheck((const char *)sqlite3_column_text(q->st, i),
                                     (size_t)sqlite3_column_bytes(q->st, i));
            if (!v)
                v = json_string("");
        }
        json_object_set_new_nocheck(o, name, v);
    }
    return o;
}

json_t *sq_all(struct ctx *c, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct sq *q = query_v(c, sql, fmt, ap);
    va_end(ap);
    if (!q)
        return NULL;
    json_t *rows = json_array();
    int rc;
    while ((rc = sq_step(c, q)) == 1)
        json_array_append_new(rows, sq_row(q));
    sq_done(q);
    if (rc < 0) {
        json_decref(rows);
        return NULL;
    }
    return rows;
}

json_t *sq_one(struct ctx *c, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct sq *q = query_v(c, sql, fmt, ap);
    va_end(ap);
    if (!q)
        return NULL;
    json_t *row = NULL;
    if (sq_step(c, q) == 1)
        row = sq_row(q);
    sq_done(q);
    return row;
}
