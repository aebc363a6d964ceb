#ifndef LEDGERD_CSQLITESETTINGS_SHIM_H
#define LEDGERD_CSQLITESETTINGS_SHIM_H
// Process-wide SQLite settings. sqlite3_config is variadic, which Swift cannot call.
#include <sqlite3.h>

/// Turns off SQLite's memory statistics. They cost a global mutex on every allocation and
/// free inside SQLite (about a seventh of the time a posting spends in SQLite), and ledgerd
/// never reads them. Only possible before SQLite is first used in the process; returns
/// SQLITE_MISUSE after that (and changes nothing).
static inline int ledgerd_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
