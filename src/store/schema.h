#pragma once
#include <sqlite3.h>

/* Brings the database up to the newest schema version, one migration per step,
 * each in its own transaction. */
int schema_migrate(sqlite3 *db);
