#ifndef CSQLITETUNING_H
#define CSQLITETUNING_H

/// sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0): SQLite keeps no memory statistics for this
/// process, so its allocations take no global mutex. sqlite3_config is variadic, which Swift
/// cannot call. Returns SQLITE_OK, or SQLITE_MISUSE (and changes nothing) once SQLite has
/// opened a connection in this process.
int caseledger_sqlite_memory_statistics_off(void);

#endif
