/* The store: every piece of state hearthd has lives here, and every change is a
 * transaction. Domain code (src/core) speaks this small interface; SQL text stays
 * portable (positional '?' parameters, no SQLite-only syntax in domain code) so a
 * PostgreSQL back end can stand behind the same calls.
 *
 * Threads: each thread gets its own connection on first use (WAL lets readers run
 * beside the one writer). Statements are cached per thread, keyed by the SQL text's
 * address, so pass string literals. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct ctx;
struct sq;

/* Opens (creating and migrating) the database at path. Call once at start-up. */
int store_open(const char *path);
/* Closes the calling thread's connection (threads call it before they exit). */
void store_thread_done(void);
void store_close(void);

/* Transactions. store_begin takes the write lock at once (BEGIN IMMEDIATE), so a
 * read-check-write sequence inside it cannot race with another writer. */
int store_begin(struct ctx *c);
int store_commit(struct ctx *c);
void store_rollback(void);
/* Copies what the write-ahead log holds into the database without waiting for readers or
 * the writer (a passive checkpoint); the conductor calls it every second, so that no
 * request's commit pays for it. Returns the pages copied, or -1. */
int store_checkpoint(struct ctx *c);
/* True while the calling thread is inside store_begin/commit. */
bool store_in_tx(void);

/* Prepares (or takes from the cache) sql and binds args described by fmt:
 * 's' const char * (NULL binds NULL), 'i' int, 'I' int64_t, 'd' double, 'b' bool(int).
 * Returns NULL and records a 500 on c on failure. Finish with sq_done(). */
struct sq *sq_query(struct ctx *c, const char *sql, const char *fmt, ...);
/* 1: a row is ready; 0: no more rows; -1: error (recorded on c). */
int sq_step(struct ctx *c, struct sq *q);
const char *sq_text(struct sq *q, int col); /* "" for NULL; valid until the next step */
bool sq_is_null(struct sq *q, int col);
int64_t sq_int(struct sq *q, int col);
double sq_double(struct sq *q, int col);
/* Releases the statement back to the cache. Accepts NULL. */
void sq_done(struct sq *q);

/* Runs a statement that returns no rows; returns the number of rows changed or -1. */
int sq_exec(struct ctx *c, const char *sql, const char *fmt, ...);
/* Runs a query expected to return one integer (e.g. COUNT); *out = dflt when no row. */
int sq_scalar(struct ctx *c, int64_t *out, int64_t dflt, const char *sql, const char *fmt, ...);
/* The current row as a JSON object keyed by column name (new reference). */
json_t *sq_row(struct sq *q);
/* Runs a query and returns all rows as an array of objects, or NULL on error. */
json_t *sq_all(struct ctx *c, const char *sql, const char *fmt, ...);
/* Runs a query and returns its first row, or NULL when there is none (no error is
 * recorded then) or on failure (recorded on c: check c->status). */
json_t *sq_one(struct ctx *c, const char *sql, const char *fmt, ...);
/* True when the last failed statement on this thread broke a UNIQUE constraint. */
bool store_last_was_conflict(void);
