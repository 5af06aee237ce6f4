/*
 * bare_sqlite: what SQLite alone can do with CaseLedger's rows on this machine (the benchmark's
 * physical limit). Built and run by Tools/bench:
 *
 *   cc -O2 -o bare_sqlite Tools/bare_sqlite.c -lsqlite3
 *   bare_sqlite PORTFOLIO.ndjson DB [SINGLE_COMMITS]
 *
 * 1. insert: every NDJSON line becomes one row of a bare `events` table with the same columns,
 *    unique constraints and pragmas as CaseLedger's (WAL, synchronous=FULL, 16 KiB pages, 48 MiB
 *    cache), all in ONE transaction. No JSON parsing, no validation, no hashing: the envelope
 *    fields are pulled out with strstr, `data` is the line's data object as it stands (its
 *    extent found by matching braces), `hash` is a constant 64-hex string and `version` counts
 *    per case. The time includes reading the file and the commit (with its WAL checkpoint).
 * 2. scan: SELECT every row in seq order, touching each column.
 * 3. single commits: SINGLE_COMMITS (default 5,000) more rows, one transaction each (so one
 *    WAL fsync each), into the same, already full table; they are the file's first lines with
 *    their event_id and case_id prefixed so they are new.
 *
 * Prints one JSON object: insert_events_per_s, scan_events_per_s, single_commit_per_s, the seconds
 * behind them, and db_bytes (the database's size after the insert).
 *
 * BARE_JOURNAL=DELETE in the environment writes with a rollback journal instead of the WAL: what
 * CaseLedger does for a first load of more than 8,192 events into an empty ledger (docs/events.md),
 * where each new page goes into the file once. Tools/bench runs the insert both ways.
 *
 *   bare_sqlite --one DB < ONE-EVENT.ndjson
 *
 * 4. one event per process: open DB, insert the line in one transaction, close. Tools/bench runs it
 *    once per event, like its one-event `caseledger append` runs, for that shape's limit.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *DUMMY_HASH = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what) {
    fprintf(stderr, "bare_sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bare_sqlite: %s: %s\n", sql, err);
        exit(1);
    }
}

/* ---- case_id -> last version: an open-addressing hash table that grows ---- */

typedef struct { char *key; int version; } Slot;
typedef struct { Slot *slots; size_t cap, used; } Versions;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static void versions_init(Versions *v) {
    v->cap = 1 << 16;
    v->used = 0;
    v->slots = calloc(v->cap, sizeof(Slot));
}

static void versions_grow(Versions *v) {
    Slot *old = v->slots;
    size_t oldcap = v->cap;
    v->cap *= 2;
    v->used = 0;
    v->slots = calloc(v->cap, sizeof(Slot));
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key) continue;
        size_t j = hash_bytes(old[i].key, strlen(old[i].key)) & (v->cap - 1);
        while (v->slots[j].key) j = (j + 1) & (v->cap - 1);
        v->slots[j] = old[i];
        v->used++;
    }
    free(old);
}

/* The next version of case `key` (1 for a case not seen before). */
static int next_version(Versions *v, const char *key, size_t n) {
    if (2 * (v->used + 1) > v->cap) versions_grow(v);
    size_t j = hash_bytes(key, n) & (v->cap - 1);
    while (v->slots[j].key) {
        if (strlen(v->slots[j].key) == n && memcmp(v->slots[j].key, key, n) == 0) return ++v->slots[j].version;
        j = (j + 1) & (v->cap - 1);
    }
    v->slots[j].key = strndup(key, n);
    v->slots[j].version = 1;
    v->used++;
    return 1;
}

static void versions_free(Versions *v) {
    for (size_t i = 0; i < v->cap; i++) free(v->slots[i].key);
    free(v->slots);
}

/* ---- minimal field extraction from one NDJSON line ---- */

typedef struct { const char *p; int n; } Span;
typedef struct { Span event_id, case_id, type, occurred_at, actor, data; int schema_version; } Fields;

/* The end of the JSON value starting at p (an object, array, string or scalar). */
static const char *value_end(const char *p) {
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '"') {
                for (p++; *p && *p != '"'; p++)
                    if (*p == '\\' && p[1]) p++;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
        }
        return p;
    }
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1]) p++;
        return *p ? p + 1 : p;
    }
    while (*p && *p != ',' && *p != '}') p++;
    return p;
}

/* A top-level string field: looked for outside the data object, so a key of the same name inside
 * `data` is never taken. Envelope strings never contain escapes (CaseLedger's rules forbid them). */
static Span string_field(const char *line, const Span data, const char *pattern) {
    size_t plen = strlen(pattern);
    const char *hit = strstr(data.p + data.n, pattern);
    if (!hit) {
        hit = strstr(line, pattern);
        if (hit && hit >= data.p) hit = NULL;
    }
    Span s = {"", 0};
    if (hit) {
        s.p = hit + plen;
        const char *end = strchr(s.p, '"');
        s.n = end ? (int)(end - s.p) : 0;
    }
    return s;
}

static int extract(const char *line, Fields *f) {
    const char *d = strstr(line, "\"data\":");
    if (!d) return 0;
    f->data.p = d + 7;
    f->data.n = (int)(value_end(f->data.p) - f->data.p);
    f->event_id = string_field(line, f->data, "\"event_id\":\"");
    f->case_id = string_field(line, f->data, "\"case_id\":\"");
    f->type = string_field(line, f->data, "\"type\":\"");
    f->occurred_at = string_field(line, f->data, "\"occurred_at\":\"");
    f->actor = string_field(line, f->data, "\"actor\":\"");
    const char *sv = strstr(f->data.p + f->data.n, "\"schema_version\":");
    f->schema_version = sv ? atoi(sv + 17) : 1;
    return f->event_id.n > 0 && f->case_id.n > 0;
}

static void recorded_at(char *out, size_t size) {
    struct timespec t;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &t);
    gmtime_r(&t.tv_sec, &tm);
    char base[64];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%06dZ", base, (int)(t.tv_nsec / 1000));
}

/* Binds one event; event_id and case_id get `prefix` in front (for the single-commit rows). `v` gives
 * the version; without it (one process per event), the database does. */
static void bind_event(sqlite3 *db, sqlite3_stmt *ins, const Fields *f, Versions *v, const char *prefix,
                       const char *recorded, char *idbuf, char *casebuf) {
    Span id = f->event_id, cs = f->case_id;
    if (prefix[0]) {
        int n = snprintf(idbuf, 256, "%s%.*s", prefix, id.n, id.p);
        id = (Span){idbuf, n};
        n = snprintf(casebuf, 256, "%s%.*s", prefix, cs.n, cs.p);
        cs = (Span){casebuf, n};
    }
    int version = 1;
    if (v) {
        version = next_version(v, cs.p, cs.n);
    } else {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) + 1 FROM events WHERE case_id = ?", -1, &q,
                               NULL) != SQLITE_OK ||
            sqlite3_bind_text(q, 1, cs.p, cs.n, SQLITE_STATIC) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW)
            die(db, "version");
        version = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    if (sqlite3_bind_text(ins, 1, id.p, id.n, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(ins, 2, cs.p, cs.n, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(ins, 3, version) != SQLITE_OK ||
        sqlite3_bind_text(ins, 4, f->type.p, f->type.n, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(ins, 5, f->schema_version) != SQLITE_OK ||
        sqlite3_bind_text(ins, 6, f->occurred_at.p, f->occurred_at.n, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(ins, 7, recorded, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(ins, 8, f->actor.p, f->actor.n, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(ins, 9, f->data.p, f->data.n, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(ins, 10, DUMMY_HASH, 64, SQLITE_STATIC) != SQLITE_OK)
        die(db, "bind");
}

/* Opens (or creates) the bare database with CaseLedger's pragmas; returns it and its insert statement. */
static sqlite3 *open_bare(const char *path, sqlite3_stmt **ins) {
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) die(db, "open");
    exec(db, "PRAGMA page_size = 16384");
    /* BARE_JOURNAL=DELETE: a rollback journal, as CaseLedger writes a first load into an empty ledger. */
    const char *journal = getenv("BARE_JOURNAL");
    exec(db, journal && strcmp(journal, "DELETE") == 0 ? "PRAGMA journal_mode = DELETE" : "PRAGMA journal_mode = WAL");
    exec(db, "PRAGMA synchronous = FULL");
    exec(db, "PRAGMA cache_size = -49152");
    exec(db,
         "CREATE TABLE IF NOT EXISTS events ("
         " seq INTEGER PRIMARY KEY,"
         " event_id TEXT NOT NULL UNIQUE,"
         " case_id TEXT NOT NULL,"
         " version INTEGER NOT NULL,"
         " type TEXT NOT NULL,"
         " schema_version INTEGER NOT NULL,"
         " occurred_at TEXT NOT NULL,"
         " recorded_at TEXT NOT NULL,"
         " actor TEXT NOT NULL,"
         " data TEXT NOT NULL,"
         " hash TEXT NOT NULL,"
         " UNIQUE (case_id, version))");
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO events (event_id, case_id, version, type, schema_version, occurred_at,"
                           " recorded_at, actor, data, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, ins, NULL) != SQLITE_OK)
        die(db, "prepare insert");
    return db;
}

/* --one DB: one event from stdin, as a process of its own: open, one transaction, close (the close of
 * the last connection checkpoints the WAL into the database and removes it, as any short-lived writer's
 * does). The shape of one `caseledger append` of one event. */
static int one_event(const char *path) {
    sqlite3_stmt *ins;
    sqlite3 *db = open_bare(path, &ins);
    char recorded[96], idbuf[256], casebuf[256];
    char *line = NULL;
    size_t cap = 0;
    Fields f;
    if (getline(&line, &cap, stdin) <= 1 || !extract(line, &f)) {
        fprintf(stderr, "bare_sqlite: --one: no event on stdin\n");
        return 1;
    }
    recorded_at(recorded, sizeof recorded);
    exec(db, "BEGIN IMMEDIATE");
    bind_event(db, ins, &f, NULL, "", recorded, idbuf, casebuf);
    if (sqlite3_step(ins) != SQLITE_DONE) die(db, "insert");
    exec(db, "COMMIT");
    sqlite3_finalize(ins);
    if (sqlite3_close(db) != SQLITE_OK) die(db, "close");
    free(line);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--one") == 0) return one_event(argv[2]);
    if (argc < 3) {
        fprintf(stderr, "usage: bare_sqlite PORTFOLIO.ndjson DB [SINGLE_COMMITS]\n"
                        "       bare_sqlite --one DB < ONE-EVENT.ndjson\n");
        return 2;
    }
    const char *ndjson = argv[1], *path = argv[2];
    long single = argc > 3 ? atol(argv[3]) : 5000;
    sqlite3_stmt *ins;
    sqlite3 *db = open_bare(path, &ins);

    char recorded[96], idbuf[256], casebuf[256];
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    Fields f;
    Versions versions;
    versions_init(&versions);

    /* 1. every line, one transaction */
    double t0 = now();
    FILE *in = fopen(ndjson, "r");
    if (!in) { perror(ndjson); return 1; }
    recorded_at(recorded, sizeof recorded);
    exec(db, "BEGIN IMMEDIATE");
    long events = 0;
    while ((len = getline(&line, &cap, in)) > 0) {
        if (len <= 1) continue;
        if (!extract(line, &f)) { fprintf(stderr, "bare_sqlite: line %ld: no envelope\n", events + 1); return 1; }
        bind_event(db, ins, &f, &versions, "", recorded, idbuf, casebuf);
        if (sqlite3_step(ins) != SQLITE_DONE) die(db, "insert");
        sqlite3_reset(ins);
        events++;
    }
    exec(db, "COMMIT");
    double insert_s = now() - t0;
    fclose(in);
    long long db_bytes = 0;
    sqlite3_stmt *size;
    if (sqlite3_prepare_v2(db, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", -1, &size,
                           NULL) != SQLITE_OK || sqlite3_step(size) != SQLITE_ROW)
        die(db, "database size");
    db_bytes = sqlite3_column_int64(size, 0);
    sqlite3_finalize(size);

    /* 2. scan everything back */
    sqlite3_stmt *sel;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, event_id, case_id, version, type, schema_version, occurred_at, recorded_at,"
                           " actor, data, hash FROM events ORDER BY seq",
                           -1, &sel, NULL) != SQLITE_OK)
        die(db, "prepare select");
    t0 = now();
    long scanned = 0;
    uint64_t touched = 0;
    int rc;
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        touched += (uint64_t)sqlite3_column_int64(sel, 0) + (uint64_t)sqlite3_column_int64(sel, 3) +
                   (uint64_t)sqlite3_column_int64(sel, 5);
        for (int c = 1; c <= 10; c++) {
            if (c == 3 || c == 5) continue;
            const unsigned char *text = sqlite3_column_text(sel, c);
            int n = sqlite3_column_bytes(sel, c);
            touched += n ? text[0] + text[n - 1] : 0;
        }
        scanned++;
    }
    if (rc != SQLITE_DONE) die(db, "scan");
    sqlite3_finalize(sel);
    double scan_s = now() - t0;

    /* 3. one row per transaction */
    versions_free(&versions);
    versions_init(&versions);
    in = fopen(ndjson, "r");
    if (!in) { perror(ndjson); return 1; }
    long commits = 0;
    t0 = now();
    while (commits < single && (len = getline(&line, &cap, in)) > 0) {
        if (len <= 1 || !extract(line, &f)) continue;
        recorded_at(recorded, sizeof recorded);
        exec(db, "BEGIN IMMEDIATE");
        bind_event(db, ins, &f, &versions, "s", recorded, idbuf, casebuf);
        if (sqlite3_step(ins) != SQLITE_DONE) die(db, "single insert");
        sqlite3_reset(ins);
        exec(db, "COMMIT");
        commits++;
    }
    double single_s = now() - t0;
    fclose(in);
    versions_free(&versions);
    free(line);
    sqlite3_finalize(ins);
    if (sqlite3_close(db) != SQLITE_OK) die(db, "close");

    printf("{\"events\": %ld, \"db_bytes\": %lld, \"insert_s\": %.4f, \"insert_events_per_s\": %.0f, "
           "\"scanned\": %ld, \"scan_s\": %.4f, \"scan_events_per_s\": %.0f, \"scan_checksum\": %llu, "
           "\"single_commits\": %ld, \"single_commit_s\": %.4f, \"single_commit_per_s\": %.0f, "
           "\"sqlite_version\": \"%s\"}\n",
           events, db_bytes, insert_s, events / insert_s, scanned, scan_s, scanned / scan_s, (unsigned long long)touched,
           commits, single_s, commits ? commits / single_s : 0.0, sqlite3_libversion());
    return 0;
}
