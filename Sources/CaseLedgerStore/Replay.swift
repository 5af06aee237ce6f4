import CaseLedgerCore
import CSQLiteTuning
import Foundation
import GRDB

/// Which events a replay keeps (docs/cli.md): combined, they narrow. A bound given as a date alone
/// means that day in each debtor's own time zone.
public struct ReplayFilter: Sendable {
    /// Events that occurred up to this time (the world as of T).
    public var until: TimeBound?
    /// Events recorded up to this time (what the bank knew at T).
    public var knownAt: TimeBound?
    /// The log up to this position.
    public var untilSeq: Int64?

    public init(until: TimeBound? = nil, knownAt: TimeBound? = nil, untilSeq: Int64? = nil) {
        self.until = until
        self.knownAt = knownAt
        self.untilSeq = untilSeq
    }

    public var isEmpty: Bool { until == nil && knownAt == nil && untilSeq == nil }

    var json: JSONValue {
        .object(JSONObject([("until", until?.json ?? .null), ("known_at", knownAt?.json ?? .null),
                            ("until_seq", untilSeq.map { .int($0) } ?? .null)]))
    }
}

/// Applies a `ReplayFilter` to events met in seq order: each case's time zone is learnt from its
/// opening (always its first event), so date-only bounds fall on the debtor's own days.
struct SelectionEvaluator {
    let filter: ReplayFilter
    private var zones: [String: String] = [:]
    private var days = LocalDays()

    init(_ filter: ReplayFilter) { self.filter = filter }

    /// `openingZone` is the debtor's zone when the event is its case's `case.opened`.
    mutating func keeps(seq: Int64, caseID: String, occurredMicros: Int64, recordedAt: String, openingZone: String?) -> Bool {
        if let openingZone { zones[caseID] = openingZone }
        if let untilSeq = filter.untilSeq, seq > untilSeq { return false }
        let zone = zones[caseID] ?? "UTC"
        if let until = filter.until, !until.admitsUntil(micros: occurredMicros, localDay: days.day(of: occurredMicros, zone: zone)) {
            return false
        }
        if let knownAt = filter.knownAt {
            let recorded = Timestamp(rfc3339: recordedAt)?.epochMicros ?? .max
            if !knownAt.admitsUntil(micros: recorded, localDay: days.day(of: recorded, zone: zone)) { return false }
        }
        return true
    }

    /// The debtor's zone, when `event` is a `case.opened`.
    static func openingZone(type: String, data: String) -> String? {
        guard type == EventType.caseOpened.rawValue else { return nil }
        return (try? JSONParser.parse(data))?["debtor_timezone"]?.stringValue
    }
}

/// What a replay did.
public struct ReplaySummary: Sendable {
    public let output: String
    public let events: Int64
    public let sourceEvents: Int64
    public let info: JSONValue
}

/// The ledger as it stood: a new ledger file holding the selected events with their original
/// `seq`, `version` and `hash`, and every projection rebuilt from them by the same code that
/// keeps them current. The source is opened read-only and never written; the output is built
/// under a temporary name and renamed at the end, so an interrupted replay leaves nothing behind.
public enum Replay {
    /// - Parameters:
    ///   - rules: judge compliance by this rulebook instead of the rulebooks in force.
    ///   - progress: called now and then with (events read, events in the source).
    ///   - cancelled: polled while copying; true stops the replay and removes the partial output.
    public static func run(source: String, output: String, filter: ReplayFilter, rules: Rulebook? = nil,
                           now: Timestamp = LedgerClock.now(),
                           progress: (Int64, Int64) -> Void = { _, _ in }, cancelled: () -> Bool = { false }) throws -> ReplaySummary {
        guard !FileManager.default.fileExists(atPath: output) else {
            throw LedgerError.invalidInput("\(output) already exists; a replay writes a new file")
        }
        let sourceLedger = try Ledger(path: source, mode: .readOnly)
        let partial = output + ".partial-\(getpid())"
        func removePartial() {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: partial + suffix) }
        }
        removePartial()
        do {
            // One snapshot of the source for everything read from it: an append running meanwhile
            // cannot make the record disagree with the events copied.
            let summary = try sourceLedger.read { src in
                try copy(from: src, source: source, into: partial, filter: filter, rules: rules, now: now, progress: progress, cancelled: cancelled)
            }
            try FileManager.default.moveItem(atPath: partial, toPath: output)
            removePartial()
            return ReplaySummary(output: output, events: summary.kept, sourceEvents: summary.sourceEvents, info: summary.info)
        } catch {
            removePartial()
            throw error
        }
    }

    private static func copy(from src: Database, source: String, into partial: String, filter: ReplayFilter, rules: Rulebook?,
                             now: Timestamp, progress: (Int64, Int64) -> Void, cancelled: () -> Bool) throws -> (kept: Int64, sourceEvents: Int64, info: JSONValue) {
        // The source is read once, in order: a small cache (its count alone would fill a big one).
        try src.execute(sql: "PRAGMA cache_size = -\(Ledger.scanCacheKiB)")
        let sourceHead = try Ledger.head(src)
        let sourceEvents = try Int64.fetchOne(src, sql: "SELECT count(*) FROM events") ?? 0
        // A source that is itself a replay has gaps of its own, bridged by its links, and a frozen tree.
        let sourceLinks = try Ledger.replayLinks(src)
        let sourceIsLive = try String.fetchOne(src, sql: "SELECT value FROM ledger_meta WHERE key = 'kind'") == "ledger"
        // A source written before the Merkle tree existed (and never opened since) has no stored
        // tree: it is built here from the source's events as they are copied; the source stays untouched.
        let sourceHasTree = try Ledger.hasTree(src)
        guard sourceHasTree || sourceIsLive else {
            throw LedgerError.invalidInput("this replay predates the Merkle tree, and its tree cannot be rebuilt from the events it left out: replay its source instead")
        }
        let treeSize = try Ledger.treeSize(src)
        var builtTree = MerkleAppender()
        let sourceCheckpoints = try Ledger.storedCheckpoints(src)
        var kept: Int64 = 0
        var info: JSONValue = .null
        let replay = try Ledger(path: partial, mode: .create, report: { _ in })
        // Keeping a prefix of a live log (every event, or up to a seq) is one INSERT … SELECT from
        // the source attached read-only, inside SQLite. Time bounds and a source with gaps of its
        // own need each row looked at (and links written across the gaps), so they copy row by row.
        let bulk = sourceHasTree && sourceLinks.isEmpty && filter.until == nil && filter.knownAt == nil
        try replay.database.writeWithoutTransaction { db in
            // The output is a new file no one else has open, written in one transaction: with a
            // rollback journal, its new pages go straight into the file (a rollback journal keeps
            // only pages that existed before), where the WAL would take every page twice, once in
            // the log and once more at the checkpoint. It is a WAL ledger again before it is closed.
            try db.execute(sql: "PRAGMA main.journal_mode = DELETE")
            let lastSeq = min(filter.untilSeq ?? sourceHead.seq, sourceHead.seq)
            // The whole log of a source with this release's schema: the source's pages, copied as
            // they are, hold it with its indexes and tree; what a replay does not carry is cleared.
            let pageCopy = try bulk && lastSeq == sourceHead.seq && canCopyPages(from: src, into: db)
            // Nothing is synced to disk while the file is built, only once it is whole (below,
            // before it is renamed into place): a sync on the way (the page copy's commit, or
            // the journal's before a page of the cache is spilled) waited for every page written
            // so far, with the fold stopped.
            let synchronous = try Int.fetchOne(db, sql: "PRAGMA main.synchronous") ?? 2
            try db.execute(sql: "PRAGMA main.synchronous = OFF")
            if pageCopy {
                let freshMeta = try Row.fetchAll(db, sql: "SELECT key, value FROM ledger_meta ORDER BY key")
                try copyPages(from: src, into: db) { copied, total in
                    if cancelled() { throw LedgerError.invalidInput("replay interrupted; no output written") }
                    progress(sourceEvents * Int64(copied) / Int64(max(total, 1)), sourceEvents)
                }
                try db.inTransaction {
                    try wipeFreePages(db)
                    try clearWhatAReplayDoesNotCarry(db, meta: freshMeta)
                    return .commit
                }
                // The copy's pages go to disk while the fold runs, not all at the last commit.
                _ = caseledger_start_writeback(partial)
            }
            if bulk && !pageCopy { try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [readOnlyURI(source)]) }
            defer { if bulk && !pageCopy { try? db.execute(sql: "DETACH DATABASE source") } }
            try db.inTransaction {
            try db.execute(sql: "UPDATE ledger_meta SET value = 'replay' WHERE key = 'kind'")
            if let rules {
                try db.execute(sql: "INSERT OR REPLACE INTO ledger_meta (key, value) VALUES ('rules', ?)",
                               arguments: [CanonicalJSON.string(rules.json)])
            }
            let insert = try RawStatement(db, """
                INSERT INTO events (seq, event_id, case_id, version, type, schema_version, occurred_at, recorded_at, actor, data, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let link = try RawStatement(db, "INSERT INTO replay_links (seq, previous_hash) VALUES (?, ?)")
            var previousHash = HashChain.hex(HashChain.genesis)
            var previousSeq: Int64 = 0
            var previousKept = true
            var read: Int64 = 0
            var firstKept: JSONValue = .null
            var lastKept: JSONValue = .null
            let tileWriter = try Ledger.TileWriter(db)
            var selection = SelectionEvaluator(filter)
            if pageCopy {
                kept = sourceEvents
                firstKept = try end(of: db, "ASC")
                lastKept = try end(of: db, "DESC")
            } else if bulk {
                // Rows up to the head of the snapshot read above: the log only grows, so an append
                // to the source meanwhile adds rows after it and changes none of these.
                let columns = "seq, event_id, case_id, version, type, schema_version, occurred_at, recorded_at, actor, data, hash"
                // Rows arrive in seq order: a small cache does, and keeps the replay's memory down.
                try db.execute(sql: "PRAGMA main.cache_size = -\(Ledger.scanCacheKiB); PRAGMA source.cache_size = -\(Ledger.scanCacheKiB)")
                defer { try? db.execute(sql: "PRAGMA main.cache_size = -\(Ledger.cacheKiB)") }
                if lastSeq == sourceHead.seq, try sourceHasTheSameColumns(db) {
                    kept = try copyWholeLog(db, upTo: lastSeq)
                } else {
                    try db.execute(sql: "INSERT INTO events (\(columns)) SELECT \(columns) FROM source.events WHERE seq <= ? ORDER BY seq",
                                   arguments: [lastSeq])
                    kept = Int64(db.changesCount)
                }
                firstKept = try end(of: db, "ASC")
                lastKept = try end(of: db, "DESC")
            } else {
            try Ledger.forEachEvent(src, cacheKiB: Ledger.scanCacheKiB) { event in
                read += 1
                if !sourceHasTree {
                    try builtTree.append(leafHash: MerkleTree.leafHash(event.canonicalBytes())) { level, index, hashes in
                        try tileWriter.write(level: level, index: index, hashes: hashes)
                    }
                }
                if read % 20_000 == 0 {
                    if cancelled() { throw LedgerError.invalidInput("replay interrupted; no output written") }
                    progress(read, sourceEvents)
                }
                let occurred = Timestamp(rfc3339: event.occurredAt)?.epochMicros ?? .max
                let keep = selection.keeps(seq: event.seq, caseID: event.caseID, occurredMicros: occurred, recordedAt: event.recordedAt,
                                           openingZone: SelectionEvaluator.openingZone(type: event.type, data: event.data))
                // The hash this event chains from: its predecessor's, or across a gap the source already had, the source's link.
                let gapInSource = event.seq != previousSeq + 1
                let chainsFrom = gapInSource ? (sourceLinks[event.seq] ?? previousHash) : previousHash
                defer {
                    previousHash = event.hash
                    previousSeq = event.seq
                    previousKept = keep
                }
                guard keep else { return }
                if !previousKept || gapInSource {
                    link.bind(1, event.seq)
                    link.bind(2, chainsFrom)
                    _ = try link.step()
                    link.reset()
                }
                insert.bind(1, event.seq)
                insert.bind(2, event.eventID)
                insert.bind(3, event.caseID)
                insert.bind(4, event.version)
                insert.bind(5, event.type)
                insert.bind(6, event.schemaVersion)
                insert.bind(7, event.occurredAt)
                insert.bind(8, event.recordedAt)
                insert.bind(9, event.actor)
                insert.bind(10, event.data)
                insert.bind(11, event.hash)
                _ = try insert.step()
                insert.reset()
                kept += 1
                lastKept = .object(JSONObject([("seq", .int(event.seq)), ("hash", .string(event.hash))]))
                if firstKept == .null { firstKept = lastKept }
            }
            }
            progress(sourceEvents, sourceEvents)
            if cancelled() { throw LedgerError.invalidInput("replay interrupted; no output written") }
            let treeRoot: MerkleTree.Hash
            if sourceHasTree {
                try copyTree(from: src, into: db, sourceIsLive: sourceIsLive, treeSize: treeSize, storedTilesCopied: pageCopy)
                treeRoot = try Ledger.treeRoot(src, size: treeSize)
            } else {
                for tile in builtTree.partialTiles { try tileWriter.write(level: tile.level, index: tile.index, hashes: tile.hashes) }
                treeRoot = builtTree.root
            }
            for held in sourceCheckpoints where !pageCopy {
                try db.execute(sql: "INSERT INTO checkpoints (origin, tree_size, root_hash, note, stored_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [held.checkpoint.origin, held.checkpoint.size, Base64.encode(held.checkpoint.root), held.note.noteText, held.storedAt])
            }
            // A copied prefix of a WAL source is folded as read from the source, on a connection
            // and core of its own (this file, written with a rollback journal, cannot be read
            // beside this connection): this thread then only folds and writes.
            let readable = try bulk && String.fetchOne(src, sql: "PRAGMA journal_mode") == "wal"
            try Ledger.rebuild(db, names: Ledger.projectionNames, copiedFrom: readable ? source : nil)
            if cancelled() { throw LedgerError.invalidInput("replay interrupted; no output written") }
            let choice = try Ledger.rules(db)
            var members: [(key: String, value: JSONValue)] = [
                ("source", .string(URL(fileURLWithPath: source).standardizedFileURL.path)),
                ("source_head_seq", .int(sourceHead.seq)), ("source_head_hash", .string(sourceHead.hash)),
                ("tree_size", .int(treeSize)), ("tree_root", .string(Base64.encode(treeRoot))),
                ("filters", filter.json), ("events", .int(kept)),
                ("first_kept", firstKept), ("last_kept", lastKept),
                ("rules", .string(rules == nil ? "in_force" : "given")),
                ("rulebooks", .array(choice.rulebooks.map { .string($0.id) })),
                ("ran_at", .string(now.utcString)),
            ]
            if let bound = filter.knownAt {
                // A date alone ends earliest where the day ends first (UTC+14): a checkpoint named
                // for it was cosigned before any debtor's day of that date was over.
                let knownAt: Timestamp = switch bound {
                case .instant(let time): time
                case .localDate(let day): Timestamp(epochMicros: (Int64(day + 1) * 86_400 - 14 * 3600) * 1_000_000 - 1)
                }
                members.append(("known_at_checkpoint", try knownAtCheckpoint(knownAt, held: sourceCheckpoints) { size in
                    try Int64.fetchOne(db, sql: "SELECT count(*) FROM events WHERE seq > ?", arguments: [size]) ?? 0
                }))
            }
            info = .object(JSONObject(members))
            try db.execute(sql: "INSERT OR REPLACE INTO ledger_meta (key, value) VALUES ('replay_info', ?)",
                           arguments: [CanonicalJSON.string(info)])
            return .commit
            }
            // Synced again from here: switching to WAL writes the header in a transaction of its
            // own, whose sync writes every page still unwritten before the file is renamed.
            try db.execute(sql: "PRAGMA main.synchronous = \(synchronous)")
        }
        try replay.database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA main.journal_mode = WAL") }
        try replay.close()
        return (kept, sourceEvents, info)
    }

    /// `path` as an SQLite URI that opens it read-only (`?`, `#` and `%` escaped).
    static func readOnlyURI(_ path: String) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var escaped = ""
        for character in absolute {
            switch character {
            case "%": escaped += "%25"
            case "?": escaped += "%3F"
            case "#": escaped += "%23"
            default: escaped.append(character)
            }
        }
        return "file:\(escaped)?mode=ro"
    }

    /// The first or last (`order`) event of `db`'s log, as `first_kept` and `last_kept` name it.
    private static func end(of db: Database, _ order: String) throws -> JSONValue {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM events ORDER BY seq \(order) LIMIT 1") else { return .null }
        return .object(JSONObject([("seq", .int(row["seq"])), ("hash", .string(row["hash"]))]))
    }

    /// The tables a replay of a whole log takes from its source as they are: the log, its tree,
    /// the signed checkpoints of that tree, and the record of the migrations that made the schema.
    static let tablesCarried: Set<String> = ["events", "merkle_tiles", "checkpoints", "grdb_migrations"]

    /// Whether the source's pages can be copied as the replay's: the same schema as this
    /// release's new ledger `db` (tables, indexes, guards, migrations), and at most a tenth of
    /// its pages free. A copy keeps the source's free pages (wiped, `wipeFreePages`), so a source
    /// mostly empty would make a replay as large, and slower than the transfer: at 10^5 events,
    /// 9,006 free pages beside 3,656 used made a 207 MB replay in 1.45 s; the transfer, 59 MB in 0.87 s.
    static func canCopyPages(from src: Database, into db: Database) throws -> Bool {
        let free = try Int.fetchOne(src, sql: "PRAGMA freelist_count") ?? 0
        let pages = try Int.fetchOne(src, sql: "PRAGMA page_count") ?? 0
        guard free * 10 <= pages else { return false }
        let schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        let migrations = "SELECT identifier FROM grdb_migrations ORDER BY identifier"
        return try Row.fetchAll(src, sql: schema) == Row.fetchAll(db, sql: schema)
            && String.fetchAll(src, sql: migrations) == String.fetchAll(db, sql: migrations)
    }

    /// Copies every page of the source, in the snapshot `src` reads, over the new file of `db`
    /// (SQLite's backup: pages copied in order, nothing parsed or inserted), in steps that report
    /// (pages copied, pages in all) to `step`, which may throw to stop. The output is written
    /// with a rollback journal, which the source's header may name WAL: it is set again.
    static func copyPages(from src: Database, into db: Database, step: (Int, Int) throws -> Void) throws {
        try withoutActuallyEscaping(step) { step in
            try src.backup(to: db, pagesPerStep: 4096) { progress in
                try step(progress.completedPageCount, progress.totalPageCount)
            }
        }
        try db.execute(sql: "PRAGMA main.journal_mode = DELETE")
    }

    /// Overwrites with zeros every free page of the page copy `db`: a free page keeps whatever was
    /// deleted from the source, which a replay must not carry. SQLite has no command for this, but
    /// with `secure_delete` on it zeroes every page it frees, and it takes new pages from the free
    /// list before it grows the file: a scratch table grown until the free list is empty takes
    /// every free page, and dropping it gives them all back, as zeros. The pages were free before
    /// this transaction, so reusing them journals nothing; at 10^6 events a source that was
    /// rebuilt once has a few hundred.
    static func wipeFreePages(_ db: Database) throws {
        func freePages() throws -> Int { try Int.fetchOne(db, sql: "PRAGMA main.freelist_count") ?? 0 }
        var free = try freePages()
        guard free > 0 else { return }
        let pageSize = try Int.fetchOne(db, sql: "PRAGMA main.page_size") ?? 4096
        try db.execute(sql: "PRAGMA main.secure_delete = ON")
        defer { try? db.execute(sql: "PRAGMA main.secure_delete = OFF") }
        try db.execute(sql: "CREATE TABLE main.replay_free_pages (zeros BLOB)")
        // Each row's zeros fill about as many overflow pages as are still free (at most 4,096 at a
        // time, so no row nears SQLite's length limit); a last row may take a few pages past them.
        while free > 0 {
            try db.execute(sql: "INSERT INTO main.replay_free_pages VALUES (zeroblob(?))", arguments: [min(free, 4_096) * (pageSize - 4)])
            free = try freePages()
        }
        try db.execute(sql: "DROP TABLE main.replay_free_pages")
    }

    /// Empties, in the page copy `db`, every table that is not carried (`tablesCarried`): the
    /// projections, rebuilt after; tokens, the access log, projection versions, and `ledger_meta`,
    /// which gets `meta`, the rows of a new ledger. Those not derived from the log are cleared with
    /// `secure_delete`, which overwrites their pages with zeros: the replay keeps no trace of them.
    /// (The caller commits this before the rebuild: pages freed by a committed transaction are
    /// reused without their old content being journaled first.)
    static func clearWhatAReplayDoesNotCarry(_ db: Database, meta: [Row]) throws {
        let projectionTables = Set(ProjectionRegistry.all.flatMap { $0.tables })
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        for table in tables where !tablesCarried.contains(table) {
            let derived = projectionTables.contains(table)
            try db.execute(sql: "PRAGMA main.secure_delete = \(derived ? "OFF" : "ON")")
            try withoutGuards(on: table, db) { try db.execute(sql: "DELETE FROM \(table.quotedDatabaseIdentifier)") }
        }
        try db.execute(sql: "PRAGMA main.secure_delete = OFF")
        for row in meta {
            try db.execute(sql: "INSERT INTO ledger_meta (key, value) VALUES (?, ?)", arguments: [row["key"], row["value"]])
        }
    }

    /// Runs `body` with `table`'s triggers dropped, and creates them again from their stored
    /// text after, in the caller's transaction: nothing outside it sees the table without them,
    /// and a failure rolls all of it back.
    static func withoutGuards(on table: String, _ db: Database, _ body: () throws -> Void) throws {
        let guards = try Row.fetchAll(db, sql: "SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' AND tbl_name = ? ORDER BY name",
                                      arguments: [table])
        for guardRow in guards {
            let name: String = guardRow["name"]
            try db.execute(sql: "DROP TRIGGER main.\(name.quotedDatabaseIdentifier)")
        }
        try body()
        for guardRow in guards {
            let sql: String = guardRow["sql"]
            try db.execute(sql: sql)
        }
    }

    /// Copies the attached source's whole log into the new, empty `events`, and returns how many
    /// rows it holds: those up to `lastSeq`, the source's head in the replay's snapshot.
    ///
    /// `INSERT INTO events SELECT * FROM source.events` between two tables of the same shape is
    /// SQLite's transfer: rows and index entries are copied in order, page by page, without
    /// being checked and inserted one by one (2.5 times faster at 10^6 events, commit included).
    /// SQLite makes it only into a table without triggers, so the log's guards are dropped for the
    /// copy (`withoutGuards`). Only for a source whose columns are the output's
    /// (`sourceHasTheSameColumns`); with other indexes, SQLite falls back to inserting row by row
    /// by itself.
    static func copyWholeLog(_ db: Database, upTo lastSeq: Int64) throws -> Int64 {
        var kept: Int64 = 0
        try withoutGuards(on: "events", db) {
            try db.execute(sql: "INSERT INTO main.events SELECT * FROM source.events")
            let copied = db.changesCount
            // Events appended to the source after the snapshot this replay reads: not the log it stood at.
            try db.execute(sql: "DELETE FROM main.events WHERE seq > ?", arguments: [lastSeq])
            kept = Int64(copied - db.changesCount)
        }
        return kept
    }

    /// Whether the attached source's `events` has the output's columns, with the same names and
    /// types in the same order: what `SELECT *` needs, since it maps columns by position. A file
    /// of another release may not; its rows are then copied by name.
    private static func sourceHasTheSameColumns(_ db: Database) throws -> Bool {
        let columns = "SELECT group_concat(name || ' ' || type, ', ') FROM (SELECT name, type FROM pragma_table_info('events', ?) ORDER BY cid)"
        return try String.fetchOne(db, sql: columns, arguments: ["main"]) == String.fetchOne(db, sql: columns, arguments: ["source"])
    }

    /// The source's Merkle tree, so that a case proof taken from the replay checks against the
    /// source's checkpoints: every stored tile (unless the page copy brought them), and for a live
    /// source its growing edge at its head, frozen as partial tiles. Sibling hashes reveal nothing
    /// of the events they cover.
    private static func copyTree(from src: Database, into db: Database, sourceIsLive: Bool, treeSize: Int64, storedTilesCopied: Bool) throws {
        let writer = try Ledger.TileWriter(db)
        if !storedTilesCopied {
            let tiles = try RawStatement(src, "SELECT level, idx, hashes FROM merkle_tiles ORDER BY level, idx")
            defer { tiles.reset() }
            while try tiles.step() {
                try writer.write(level: Int(tiles.int64(0)), index: tiles.int64(1), hashes: Ledger.splitHashes(tiles.blob(2)))
            }
        }
        guard sourceIsLive else { return }
        for tile in try Ledger.loadTree(src, size: treeSize).partialTiles {
            try writer.write(level: tile.level, index: tile.index, hashes: tile.hashes)
        }
    }

    /// The latest checkpoint a witness cosigned at or before `knownAt` (as its cosignature
    /// claims; `verify --checkpoint` with the witness's key checks it): what a third party's
    /// clock says the bank held by then.
    static func knownAtCheckpoint(_ knownAt: Timestamp, held: [StoredCheckpoint], keptBeyond: (Int64) throws -> Int64) rethrows -> JSONValue {
        let limit = knownAt.epochMicros / 1_000_000
        let candidates = held.compactMap { checkpoint -> (StoredCheckpoint, [(name: String, time: Int64)])? in
            let cosigners = checkpoint.note.claimedCosignatures.filter { $0.time <= limit }
            return cosigners.isEmpty ? nil : (checkpoint, cosigners)
        }
        guard let (best, cosigners) = candidates.max(by: { $0.0.checkpoint.size < $1.0.checkpoint.size }) else {
            return .object(JSONObject([("note", .string("no checkpoint was cosigned by a witness at or before this time: which events the bank held then rests on its own clock alone"))]))
        }
        return .object(JSONObject([
            ("origin", .string(best.checkpoint.origin)), ("tree_size", .int(best.checkpoint.size)),
            ("root_hash", .string(Base64.encode(best.checkpoint.root))),
            ("cosigned_by", .array(cosigners.map { .object(JSONObject([("name", .string($0.name)), ("time", .string(Timestamp(epochMicros: $0.time * 1_000_000).utcString))])) })),
            ("kept_events_beyond_it", .int(try keptBeyond(best.checkpoint.size))),
            ("note", .string("the events up to this size were held by \(best.checkpoint.origin) no later than the witness's time; cosignature times are as the note claims until checked with the witness's key")),
            ("checkpoint", .string(best.note.noteText)),
        ]))
    }
}

extension Ledger {
    /// Closes the database, checkpointing the WAL into the file.
    func close() throws {
        try database.close()
    }

    /// A replay's `replay_info`, or nil for a live ledger.
    public func replayInfo() throws -> JSONValue? {
        guard let text = try meta("replay_info") else { return nil }
        return try JSONParser.parse(text)
    }
}
