import CaseLedgerCore
import CSQLiteTuning
import Foundation
import GRDB

/// One ledger file: the append-only event log and the state kept beside it.
///
/// ```swift
/// let ledger = try Ledger(path: "caseledger.sqlite", mode: .create)
/// let summary = try ledger.append(ndjsonFrom: STDIN_FILENO)
/// ```
/// Safe to share between threads: it holds only its path and its GRDB database (a queue or a
/// pool, which serialise their own access).
public final class Ledger: @unchecked Sendable {
    public enum Mode: Sendable {
        /// Create the file when missing.
        case create
        /// The file must exist.
        case readWrite
        /// The file must exist; it is only read, except that projections whose version or
        /// checkpoint is stale are rebuilt first (the reading commands).
        case read
        /// The file must exist and is never written, not even to rebuild a projection.
        case readOnly
        /// Like `create`, for a long-lived server: a pool of reader connections (WAL) that never
        /// wait for the one writer.
        case serve
    }

    public let path: String
    let database: any DatabaseWriter
    /// The records of case states a batch keeps in memory, which also set its shelf
    /// (`Limits.batchStateCacheRecords`, from the environment); tests set a small one.
    var appendCacheRecords = Limits.batchStateCacheRecords

    /// How long to wait for another writer's lock: `Limits.lockWaitSeconds`, or
    /// `CASELEDGER_LOCK_WAIT` (whole seconds, 1–3600) where an operator wants producers to queue longer.
    public static let lockWaitSeconds: Int = {
        if let text = ProcessInfo.processInfo.environment["CASELEDGER_LOCK_WAIT"], let seconds = Int(text), (1...3600).contains(seconds) {
            return seconds
        }
        return Limits.lockWaitSeconds
    }()

    /// SQLite's page cache for appends and queries.
    static let cacheKiB = 49_152

    /// What a ledger file says about itself in `ledger_meta`.
    public static let formatName = "caseledger"

    /// SQLite's memory statistics off for the process, once, before its first connection opens
    /// (afterwards SQLite refuses the change and nothing happens). With them on, every
    /// allocation SQLite makes takes one global mutex, shared by every connection: about 20 lock
    /// and unlock pairs an appended event (BENCHMARKS.md). Nothing here reads them.
    static let sqliteTuned: Void = { _ = caseledger_sqlite_memory_statistics_off() }()

    /// Opens (or creates) the ledger at `path`. Stale projections are rebuilt on opening, unless
    /// `mode` is `.readOnly`; `report` hears about it (default: stderr).
    public init(path: String, mode: Mode, report: @escaping (String) -> Void = Ledger.reportOnStandardError) throws {
        _ = Self.sqliteTuned
        self.path = path
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        if isFolder.boolValue {
            throw LedgerError.ledgerUnavailable("\(path) is a folder; --db names the ledger file itself (e.g. \(path)/caseledger.sqlite)")
        }
        if !exists, mode != .create, mode != .serve {
            throw LedgerError.ledgerUnavailable("no ledger at \(path) (create one with `caseledger init --db \(path)`)")
        }
        var configuration = Configuration()
        configuration.readonly = mode == .readOnly || mode == .read
        configuration.busyMode = .timeout(TimeInterval(Self.lockWaitSeconds))
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                // 16 KiB pages (only takes effect when the file is created): shallower B-trees and
                // about a tenth less SQLite time per append than 4 KiB (BENCHMARKS.md).
                try db.execute(sql: "PRAGMA page_size = 16384")
                try db.execute(sql: "PRAGMA journal_mode = WAL")
            }
            // FULL: an acknowledged append survives power loss, not only a crash of this process.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Debian builds SQLite with secure_delete on: every freed page and cell is overwritten
            // with zeros. What a ledger frees is projection rows, all derived from the log, which
            // keeps them for good, and the old copies of rows rewritten in place (a token's
            // revocation, the projections' checkpoints): the zeros hid nothing and cost writes
            // (a rebuild wrote every page of the tables it dropped, to the WAL and again at the
            // checkpoint).
            try db.execute(sql: "PRAGMA secure_delete = OFF")
            // 48 MiB of page cache. An append of 10^6 events ran as fast with 32 MiB as with 128:
            // the pages it reuses fit, and the rest come from the system's file cache. The memory
            // goes to the case states a big batch keeps (`Limits.batchStateCacheRecords`), which
            // saves writing them back and reading them again (BENCHMARKS.md).
            try db.execute(sql: "PRAGMA cache_size = -\(Ledger.cacheKiB)")
        }
        do {
            if mode == .read { try Self.rollBackInterruptedLoad(path: path, configuration: configuration) }
            if mode == .read {
                // Rebuild stale projections through a short-lived writable connection, then read only.
                let reader = try DatabaseQueue(path: path, configuration: configuration)
                let stale = try reader.read { db in
                    try Self.checkFormat(db, path: path)
                    // A file written by an older release: migrate it first, then rebuild what is stale.
                    guard try LedgerSchema.migrator.hasCompletedMigrations(db) else { return true }
                    try Self.refuseCutLog(db, path: path)
                    return try Self.needsUpdate(db)
                }
                if stale {
                    try reader.close()
                    var writable = configuration
                    writable.readonly = false
                    let writer = try DatabaseQueue(path: path, configuration: writable)
                    try LedgerSchema.migrator.migrate(writer)
                    try writer.write { db in try Self.bringUpToDate(db, path: path, report: report) }
                    try writer.close()
                    database = try DatabaseQueue(path: path, configuration: configuration)
                } else {
                    database = reader
                }
            } else if mode == .readOnly {
                database = try DatabaseQueue(path: path, configuration: configuration)
                try database.read { db in try Self.checkFormat(db, path: path) }
            } else {
                if mode == .serve {
                    configuration.maximumReaderCount = 8
                    let pool = try DatabasePool(path: path, configuration: configuration)
                    // GRDB sets up a pool's WAL with synchronous = NORMAL after our own set-up,
                    // which survives a crash of the process but not of the machine. An
                    // acknowledged append must survive power loss: FULL again, on the writer.
                    // Each request of a group commit is a savepoint, whose statement journal would
                    // otherwise be a temporary file written page by page: in memory (a few pages).
                    try pool.writeWithoutTransaction { db in
                        try db.execute(sql: "PRAGMA synchronous = FULL")
                        try db.execute(sql: "PRAGMA temp_store = MEMORY")
                    }
                    database = pool
                } else {
                    database = try DatabaseQueue(path: path, configuration: configuration)
                }
                try database.write { db in
                    if try db.tableExists("ledger_meta") || (try db.tableExists("events")) {
                        try Self.checkFormat(db, path: path)
                    } else if try !db.tableExists("grdb_migrations"),
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0 > 0
                    {
                        throw LedgerError.ledgerUnavailable("\(path) is a SQLite database but not a CaseLedger ledger")
                    }
                }
                try LedgerSchema.migrator.migrate(database)
                try database.write { db in
                    try db.execute(sql: "INSERT OR IGNORE INTO ledger_meta(key, value) VALUES ('format', ?), ('kind', 'ledger'), ('created_at', ?)",
                                   arguments: [Self.formatName, LedgerClock.now().utcString])
                    try Self.bringUpToDate(db, path: path, report: report)
                }
            }
        } catch let error as LedgerError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw LedgerError.ledgerUnavailable("cannot open \(path): another process holds its write lock; waited \(Self.lockWaitSeconds) s")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY && FileManager.default.fileExists(atPath: path + "-journal") {
            // A command that writes nothing (`verify`, `log`, `backup`, a replay's source) leaves
            // an interrupted load's journal where it is: only a connection that may write plays it back.
            throw LedgerError.ledgerUnavailable("cannot open \(path): a load interrupted by a crash left \(path)-journal, which must be played back before the file can be read, and this command writes nothing. A command that may write the file plays it back first, e.g. `caseledger case list --db \(path)`")
        } catch let error as DatabaseError {
            throw LedgerError.ledgerUnavailable("cannot open \(path): \(error.message ?? error.description)")
        }
    }

    /// A first load into an empty ledger is written with a rollback journal (`Ledger.append`). A
    /// crash during it leaves the journal beside the file, and SQLite reads the file only once a
    /// connection that may write has put the journal's pages back: a read-only one fails
    /// ("attempt to write a readonly database"). So a `.read` command, which may already write
    /// to bring projections up to date, first opens a file that has a journal for writing, which
    /// rolls the interrupted load back (and sets WAL again), as any writing command does when it
    /// opens the file. A `.readOnly` one writes nothing, and says why it cannot read (`init`).
    private static func rollBackInterruptedLoad(path: String, configuration: Configuration) throws {
        guard FileManager.default.fileExists(atPath: path + "-journal") else { return }
        var writable = configuration
        writable.readonly = false
        do {
            try DatabaseQueue(path: path, configuration: writable).close()
        } catch let error as DatabaseError where error.resultCode != .SQLITE_BUSY {
            throw LedgerError.ledgerUnavailable("cannot open \(path): an interrupted load left \(path)-journal, which only a connection that may write the file can roll back: \(error.message ?? error.description)")
        }
    }

    /// Writes a line to stderr: how the store tells a person about a rebuild.
    public static func reportOnStandardError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    static func checkFormat(_ db: Database, path: String) throws {
        guard try db.tableExists("ledger_meta"),
            try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'format'") == formatName
        else { throw LedgerError.ledgerUnavailable("\(path) is not a CaseLedger ledger") }
    }

    /// A read-only connection to the ledger file at `path`, opened beside the caller's own (for a
    /// read on another thread: `ConcurrentRead`, and a fold's reader in `FeedParser`). Whoever
    /// uses it first checks that it sees the caller's head. Without `waitingForLocks`, a read that
    /// would wait for another connection's lock fails at once.
    static func connectionAlongside(path: String, waitingForLocks: Bool = true) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = waitingForLocks ? .timeout(TimeInterval(lockWaitSeconds)) : .immediateError
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Whether the log of `db` holds `head`'s event (the same seq with the same hash), and with
    /// it, since each hash chains every event before it, the same events up to it. Every log
    /// holds an empty log's head.
    static func logHolds(_ db: Database, _ head: Head) throws -> Bool {
        guard head.seq > 0 else { return true }
        return try String.fetchOne(db, sql: "SELECT hash FROM events WHERE seq = ?", arguments: [head.seq]) == head.hash
    }

    /// The last event's position and hash; seq 0 and 32 zero bytes for an empty log.
    public struct Head: Sendable, Equatable {
        public let seq: Int64
        public let hash: String
        public let recordedAt: String?
    }

    public func head() throws -> Head {
        try database.read { db in try Self.head(db) }
    }

    static func head(_ db: Database) throws -> Head {
        if let row = try Row.fetchOne(db, sql: "SELECT seq, hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1") {
            return Head(seq: row["seq"], hash: row["hash"], recordedAt: row["recorded_at"])
        }
        return Head(seq: 0, hash: HashChain.hex(HashChain.genesis), recordedAt: nil)
    }

    /// A value from `ledger_meta` (`kind` is `ledger`, or `replay` for a replay's output).
    public func meta(_ key: String) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = ?", arguments: [key]) }
    }

    /// The write connection's `PRAGMA synchronous` (2 is FULL: each commit synced to disk).
    func writerSynchronous() throws -> Int {
        try database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Runs `body` on the underlying database, read-only. For tools and tests.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }
}
