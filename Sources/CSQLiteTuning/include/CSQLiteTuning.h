#ifndef CSQLITETUNING_H
#define CSQLITETUNING_H

/// sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0): SQLite keeps no memory statistics for this
/// process, so its allocations take no global mutex. sqlite3_config is variadic, which Swift
/// cannot call. Returns SQLITE_OK, or SQLITE_MISUSE (and changes nothing) once SQLite has
/// opened a connection in this process.
int caseledger_sqlite_memory_statistics_off(void);

/// Starts writing the file at `path`'s dirty pages to disk, without waiting for them (Linux's
/// sync_file_range with SYNC_FILE_RANGE_WRITE, which Swift's Glibc module does not export):
/// a later fsync then finds most of them written. Guarantees nothing by itself. Returns 0, or
/// the errno of the open or the call.
int caseledger_start_writeback(const char *path);

#endif
