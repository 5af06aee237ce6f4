import CaseLedgerCore
import Foundation
import GRDB
import GRDBSQLite

/// Every projection folded in memory from a stream of events: what a rebuild writes, what
/// `verify` compares with the stored tables, and what a replay writes into its output.
///
/// Memory stays bounded by the open cases: nothing may follow `case.closed`, so a closed case's
/// state is final and handed to `retire` as soon as it is folded. A log with more cases than one
/// pass may hold is folded in several passes, each over its share of the cases
/// (`Ledger.foldPasses`), so memory stays that of one share.
public struct ProjectionFold {
    /// Open cases' states, boxed so that folding an event mutates them in place.
    private var openCases: [String: CaseBox] = [:]
    public private(set) var events: Int64 = 0
    public private(set) var lastSeq: Int64 = 0
    public private(set) var caseCount = 0

    public init() {}

    @inline(never)  // inlined into the folds' closures, it made them copy each event
    mutating func apply(_ event: CaseEvent, target: VoidTarget?, data: String?, retire: (CaseBox) throws -> Void) throws {
        let box: CaseBox
        if let open = openCases[event.caseID] {
            box = open
        } else {
            box = CaseBox()
            openCases[event.caseID] = box
            caseCount += 1
        }
        CaseStateProjection.apply(event, to: &box.state, target: target, data: data ?? "{}")
        ComplianceProjection.apply(event, to: &box.compliance, target: target, data: data ?? "{}")
        events += 1
        lastSeq = max(lastSeq, event.seq)  // passes each run through the log in seq order
        if box.state?.isClosed == true {  // read in place: binding the state would copy it
            openCases[event.caseID] = nil
            try retire(box)
        }
    }

    /// Takes the cases still open, in case_id order: the end of a pass.
    mutating func takeRemaining() -> [CaseBox] {
        let remaining = openCases.keys.sorted().compactMap { openCases[$0] }
        openCases = [:]
        return remaining
    }
}

/// One case's folds in a box, mutated in place while it sits in a dictionary: its state, and
/// its contact history for the compliance rules (nil when it must be read from the log first).
///
/// `state` and `compliance` are mutated in place by the folds, once each an event, and never
/// while another access to the same property is under way (the folds are functions of the
/// value alone). Swift checked each such access of a class's property at run time (a begin and
/// an end, an entry in the thread's set of accesses): 25 M of the 968 M instructions of a
/// rebuild's folding thread at 10^5 events, for a check that could not fail.
/// `@exclusivity(unchecked)` leaves it out.
final class CaseBox {
    @exclusivity(unchecked) var state: CaseState?
    @exclusivity(unchecked) var compliance: ComplianceCase?
    /// Whether the case's violations must be judged and written again: true for a case folded
    /// from its events, false for one read back from its stored state until an event that
    /// matters to compliance (`ComplianceProjection.matters`) arrives.
    var complianceChanged: Bool
    /// The same for the complaints projection (a complaint filed or resolved).
    var complaintsChanged: Bool
    /// The status and escalation `case_state` holds for this case (nil before it is first
    /// written). While they stay the same, the row is updated without touching their indexes.
    var stored: (status: String, escalation: String?)?
    /// True for a case folded from its events or opened in this batch, until first written: its
    /// references go into the case index (they never change afterwards).
    var isNew: Bool
    /// When a batch last used this case (a counter): the least recently used are evicted first.
    var lastUsed: Int64 = 0
    /// The weight a batch's cache last counted for this box (`weight` then).
    var counted = 0

    /// What the box costs a batch's cache, in records (the bulk of a state's memory), at least 1.
    var weight: Int { 1 + (state?.records.count ?? 0) }

    init(_ state: CaseState? = nil, compliance: ComplianceCase? = nil) {
        self.state = state
        self.compliance = compliance
        complianceChanged = true
        complaintsChanged = true
        stored = nil
        isNew = true
    }

    /// A case read back from its stored state: nothing to write until an event changes it.
    init(stored state: CaseState) {
        self.state = state
        compliance = nil
        complianceChanged = false
        complaintsChanged = false
        stored = (state.status.rawValue, state.escalation?.rawValue)
        isNew = false
    }

    /// What is written is now what is stored.
    func written() {
        complianceChanged = false
        complaintsChanged = false
        isNew = false
        if let status = state?.status { stored = (status.rawValue, state?.escalation?.rawValue) }
    }
}

/// An event as the projections' feed reads it: only the columns a fold (or replay's filters) needs.
public struct FeedRow: Sendable {
    public let seq: Int64
    public let caseID: String
    public let type: EventType
    public let occurredMicros: Int64
    public let recordedAt: String
    /// The debtor's time zone, on a `case.opened` row.
    public let openingZone: String?
}

extension Ledger {
    /// A small page cache for one-pass scans: reading the log in order gains nothing from a big one.
    static let scanCacheKiB = 16_384
    /// The page cache while a rebuild builds its indexes, which bounds the memory of their sorts
    /// (SQLite spills a larger sort to a temporary file in runs of this size).
    static let indexSortCacheKiB = 2_048

    /// Feeds the log's events, in `seq` order, as the projections fold them; `types` keeps only
    /// the events of those types (read by SQLite alone), and `include` may skip events (replay's
    /// filters). `data` is read only for the types whose fact needs it, and handed
    /// over as a String only for those a fold keeps it for (`CaseFact.foldKeepsData`; nil for the
    /// others). Void targets are read from the same log, on the thread that reads it where it can be.
    ///
    /// The events of each of `shares` are fed in turn (see `FoldShare`), each share's followed by
    /// `endOfShare`. Without a filter, the log is read on a connection of its own where it can
    /// be (see `FeedParser`): from `db`'s own file when it is in WAL mode, or from `copiedFrom`,
    /// a WAL ledger file whose log begins with every event `db` holds (the source a replay
    /// copied them from).
    static func feedEvents(_ db: Database, shares: [FoldShare] = [.all], types: [EventType]? = nil,
                           include: ((FeedRow) -> Bool)? = nil, copiedFrom source: String? = nil,
                           _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void,
                           endOfShare: () throws -> Void = {}) throws {
        let head = try head(db)
        let only = typeClause(types)
        // Up to this connection's head: a source may have grown since its events were copied.
        let rows: @Sendable (Database, FoldShare) throws -> RawStatement = { db, share in
            let condition = (try share.condition(db).map { " AND \($0)" } ?? "") + only
            return try RawStatement(db, "SELECT seq, event_id, case_id, type, occurred_at, actor, recorded_at, data, schema_version FROM events WHERE seq <= \(head.seq)\(condition) ORDER BY seq")
        }
        if include == nil, let path = try source ?? pathReadableAlongside(db),
            try FeedParser.feed(readingOn: path, head: head, shares: shares, rows: rows, body, endOfShare: endOfShare)
        {
            return
        }
        let lookup = try RawStatement(db, voidTargetLookup)
        guard let include else {
            return try FeedParser.feed(shares: shares, rows: { try rows(db, $0) }, lookup: lookup, body, endOfShare: endOfShare)
        }
        for share in shares {
            try feed(try rows(db, share), lookup: lookup, share: share, include: include, body)
            try endOfShare()
        }
    }

    /// The file of `db` when a second connection can read it while `db` writes: a file in WAL
    /// mode, where readers never wait for the writer. Nil in memory, in a temporary database,
    /// or with a rollback journal (a reader would wait for this connection's own transaction).
    static func pathReadableAlongside(_ db: Database) throws -> String? {
        guard let name = sqlite3_db_filename(db.sqliteConnection, "main"), name.pointee != 0,
            try String.fetchOne(db, sql: "PRAGMA main.journal_mode") == "wal"
        else { return nil }
        return String(cString: name)
    }

    /// One pass's share of the cases: those whose case_id hashes (FNV-1a, the same in every
    /// process, so passes and the rows they write come out in the same order every run) to
    /// `index` modulo `count`.
    struct FoldShare {
        let index: UInt64
        let count: UInt64
        /// When set, only the cases whose hash is one of these (a chosen set of cases, and the
        /// rare other case that hashes alike: the caller tells them apart by case_id).
        var only: Set<UInt64>? = nil

        static let all = FoldShare(index: 0, count: 1)

        /// Whether `shares` are every share of a scan in order, each of the same cases (all, or
        /// the same `only`): `FeedParser` then reads the scan once for all of them.
        static func splitWhole(_ shares: [FoldShare]) -> Bool {
            // Copies of one Set compare equal without reading it (they share its storage).
            shares.count > 1 && shares.enumerated().allSatisfy { position, share in
                share.index == UInt64(position) && share.count == UInt64(shares.count) && share.only == shares[0].only
            }
        }

        /// Whether the row's case (its case_id in `column`) is one of `only`, read without making a
        /// String. The share itself is chosen by the scan's SQL (`condition`).
        func holds(_ rows: RawStatement, column: Int32) -> Bool {
            guard let only else { return true }
            return only.contains(rows.textHash(column))
        }

        /// The SQL condition on `case_id` that keeps this share's rows, nil for the whole log.
        /// SQLite skips the other shares' rows after reading their case_id alone; reading each row
        /// out to hash it here cost about 2,100 instructions a row skipped, a pass's worth of
        /// rows for every pass past the first (BENCHMARKS.md).
        func condition(_ db: Database) throws -> String? {
            guard count > 1 else { return nil }
            try Self.defineFunction(db)
            return "\(Self.function)(case_id, \(count)) = \(index)"
        }

        /// `caseledger_fold_share(case_id, count)`: `hash` of the case_id modulo `count`.
        static let function = "caseledger_fold_share"

        /// Defines `function` on this connection, once.
        private static func defineFunction(_ db: Database) throws {
            if (try? db.makeStatement(sql: "SELECT \(function)('', 1)")) != nil { return }
            let status = sqlite3_create_function_v2(db.sqliteConnection, function, 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, nil, { context, _, arguments in
                guard let arguments, let value = arguments[0], let text = sqlite3_value_text(value) else { return sqlite3_result_null(context) }
                let bytes = UnsafeBufferPointer(start: text, count: Int(sqlite3_value_bytes(value)))
                let count = UInt64(max(1, sqlite3_value_int64(arguments[1])))
                sqlite3_result_int64(context, Int64(FoldShare.hash(bytes) % count))
            }, nil, nil, nil)
            guard status == SQLITE_OK else {
                throw LedgerError.storage("SQLite did not take the function \(function) (code \(status)): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
        }

        /// The hash a share is chosen by: FNV-1a of the case_id's UTF-8 bytes.
        static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
            bytes.reduce(0xcbf2_9ce4_8422_2325) { hash, byte in (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }

        static func hash(caseID: String) -> UInt64 {
            var caseID = caseID
            return caseID.withUTF8(hash)
        }
    }

    /// How many passes a fold of the whole log takes, so that no pass holds more than
    /// `Limits.foldCasesPerPass` cases (`CASELEDGER_FOLD_CASES` overrides it).
    static func foldPasses(_ db: Database) throws -> Int {
        let cases = try caseCount(db)
        let perPass = max(1, Limits.foldCasesPerPass)
        return max(1, (cases + perPass - 1) / perPass)
    }

    /// The log's cases, counted from one to the next through the (case_id, version) index: a
    /// seek a case. `count(DISTINCT case_id)` read every entry of the index, a tenth of a second
    /// per million events on one core, before any fold could start. Every case_id an append
    /// writes is non-empty text, which is what this counts.
    static func caseCount(_ db: Database) throws -> Int {
        let next = try RawStatement(db, "SELECT case_id FROM events WHERE case_id > ? ORDER BY case_id LIMIT 1")
        defer { next.reset() }
        var count = 0
        var last: [UInt8] = []
        while true {
            next.bind(1, utf8: last)
            guard try next.step() else { return count }
            count += 1
            last = Array(next.textBytes(0))
            next.reset()
        }
    }

    /// Feeds one case's events (only those of `types`, when given), in order, through its
    /// (case_id, version) index.
    static func feedCase(_ db: Database, caseID: String, types: [EventType]? = nil,
                         _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void) throws {
        try CaseFeed(db, types: types).feed(caseID, body)
    }

    /// `feedCase` with its statements prepared once, for a writer that feeds many cases; with
    /// `types`, only the events of those types are fed.
    final class CaseFeed {
        private let rows: RawStatement
        private let lookup: RawStatement

        init(_ db: Database, types: [EventType]? = nil) throws {
            rows = try RawStatement(db, "SELECT seq, event_id, case_id, type, occurred_at, actor, recorded_at, data, schema_version FROM events WHERE case_id = ?\(Ledger.typeClause(types)) ORDER BY version")
            lookup = try RawStatement(db, Ledger.voidTargetLookup)
        }

        func feed(_ caseID: String, _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void) throws {
            rows.bind(1, caseID)
            try Ledger.feed(rows, lookup: lookup, share: .all, include: nil, body)
        }
    }

    static let voidTargetLookup = "SELECT case_id, type, data FROM events WHERE event_id = ?"

    /// `AND` the SQL condition that keeps the events of `types` (their names need no quoting),
    /// to follow a `WHERE`; nothing when `types` is nil.
    static func typeClause(_ types: [EventType]?) -> String {
        types.map { " AND type IN (\($0.map { "'\($0.rawValue)'" }.joined(separator: ", ")))" } ?? ""
    }

    /// Feeds the events of the cases in each of `shares` in turn, from `fromSeq` to the head, in
    /// `seq` order, each share's followed by `endOfShare`, read on this connection (it may hold
    /// events no other sees yet). One pass through that stretch of the log serves every share
    /// (`FeedParser`), each page read once. With `types`, only the events of those types are
    /// fed: SQLite skips the others before their columns are read out.
    static func feedEvents(_ db: Database, fromSeq: Int64, shares: [FoldShare], types: [EventType]? = nil,
                           _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void, endOfShare: () throws -> Void) throws {
        let rows = { (share: FoldShare) in
            let condition = (try share.condition(db).map { " AND \($0)" } ?? "") + typeClause(types)
            let rows = try RawStatement(db, "SELECT seq, event_id, case_id, type, occurred_at, actor, recorded_at, data, schema_version FROM events WHERE seq >= ?\(condition) ORDER BY seq")
            rows.bind(1, fromSeq)
            return rows
        }
        try FeedParser.feed(shares: shares, rows: rows, lookup: try RawStatement(db, voidTargetLookup), body, endOfShare: endOfShare)
    }

    /// Feeds `rows` to `body`, parsed on this thread: a case's few rows, or a filtered scan.
    private static func feed(_ rows: RawStatement, lookup: RawStatement, share: FoldShare, include: ((FeedRow) -> Bool)?,
                             _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void) throws {
        defer { rows.reset() }
        var parser = EventParser()
        while try rows.step() {
            guard share.holds(rows, column: 2) else { continue }
            let columns = StoredColumns(rows)
            let header = try EventParser.header(columns)
            // The row a filter sees is made only when there is a filter (a replay's selection).
            if let include {
                let openingZone = header.type == .caseOpened ? SelectionEvaluator.openingZone(type: header.type.rawValue, data: rows.text(7)) : nil
                let row = FeedRow(seq: header.seq, caseID: header.caseID, type: header.type, occurredMicros: header.occurred.epochMicros,
                                  recordedAt: rows.text(6), openingZone: openingZone)
                guard include(row) else { continue }
            }
            let (event, data) = try parser.event(header, columns)
            try body(event, try voidTarget(of: event, lookup: lookup), data)
        }
    }

    /// The event a void names, read from the log, for the folds (nil for any other event, or a
    /// void whose target is not found).
    static func voidTarget(of event: CaseEvent, lookup: RawStatement) throws -> VoidTarget? {
        // The type first: matching the fact copies it out of the event, for every event folded.
        guard event.type == .entryVoided, case .voided(let id) = event.fact else { return nil }
        lookup.bind(1, id)
        defer { lookup.reset() }
        guard try lookup.step(), let targetType = EventType(rawValue: lookup.text(1)),
            case .object(let targetData) = try? JSONParser.parse(lookup.text(2))
        else { return nil }
        return VoidTarget(eventID: id, caseID: lookup.text(0), type: targetType, fact: CaseFact(type: targetType, data: targetData))
    }

    /// Folds every projection from the log, handing each case's final folds to `finished`
    /// (closed cases as they close, the rest at the end of their pass), and returns the fold.
    /// Each event reaches `each` and the fold exactly once, in `seq` order within its case.
    static func foldProjections(_ db: Database, include: ((FeedRow) -> Bool)? = nil, copiedFrom source: String? = nil,
                                each: (CaseEvent, VoidTarget?, String) throws -> Void = { _, _, _ in },
                                finished: (CaseBox) throws -> Void) throws -> ProjectionFold {
        try db.execute(sql: "PRAGMA cache_size = -\(scanCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)") }
        let passes = UInt64(try foldPasses(db))
        var fold = ProjectionFold()
        try feedEvents(db, shares: (0..<passes).map { FoldShare(index: $0, count: passes) }, include: include, copiedFrom: source) { event, target, data in
            try each(event, target, data ?? "{}")
            try fold.apply(event, target: target, data: data, retire: finished)
        } endOfShare: {
            for box in fold.takeRemaining() { try finished(box) }
        }
        return fold
    }

    /// Folds the compliance projection alone from the log, reading only the events it folds
    /// (`ComplianceProjection.eventTypes`) and the closings, and hands each case's contact history
    /// to `finished`: a closed case's as it closes (nothing follows a closing), the others' at the
    /// end of their pass, in case_id order. What a report under another rulebook, or a rule
    /// change's diff, judges. `include` may skip events (a selection), as for `foldProjections`.
    ///
    /// Judging the closed cases while the log is read keeps both cores busy: judging them all at
    /// a pass's end left the reading thread waiting (a diff at 10^6 events, BENCHMARKS.md).
    static func foldCompliance(_ db: Database, include: ((FeedRow) -> Bool)? = nil,
                               finished: (ComplianceCase) throws -> Void) throws {
        try db.execute(sql: "PRAGMA cache_size = -\(scanCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)") }
        let passes = UInt64(try foldPasses(db))
        var records: [String: ComplianceCase] = [:]
        try feedEvents(db, shares: (0..<passes).map { FoldShare(index: $0, count: passes) },
                       types: ComplianceProjection.eventTypes + [.caseClosed], include: include) { event, target, data in
            if event.type == .caseClosed {
                if let record = records.removeValue(forKey: event.caseID) { try finished(record) }
            } else {
                ComplianceProjection.apply(event, to: &records[event.caseID], target: target, data: data ?? "{}")
            }
        } endOfShare: {
            for caseID in records.keys.sorted() { try finished(records[caseID]!) }
            records = [:]
        }
    }

    /// Drops and recreates the named projections' tables, folds the log into them, and sets
    /// their versions and checkpoints. Returns the number of events folded.
    ///
    /// The secondary indexes are created after the fold: building one from a full table sorts
    /// once, where inserting each row into it in case order walks a b-tree per row. `copiedFrom`
    /// names a WAL ledger file whose log begins with every event of `db` (see `feedEvents`).
    @discardableResult
    static func rebuild(_ db: Database, names: [String], include: ((FeedRow) -> Bool)? = nil, copiedFrom source: String? = nil) throws -> Int64 {
        let rules = try rules(db)
        let projections = ProjectionRegistry.named(names)
        // The small cache from the start: dropping the old tables reads all their pages, which
        // would otherwise stay in the big one through the fold.
        try db.execute(sql: "PRAGMA cache_size = -\(scanCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)") }
        var indexes: [String] = []
        for projection in projections {
            for table in projection.tables { try db.execute(sql: "DROP TABLE IF EXISTS \(table)") }
            for statement in projection.schema {
                if statement.hasPrefix("CREATE INDEX") { indexes.append(statement) } else { try db.execute(sql: statement) }
            }
        }
        let writers = try ProjectionWriters(db, rules: rules, projections: projections, emptyTables: true)
        // Contacts are judged on the second core while this one reads, folds and writes.
        let compliance = writers.writers.lazy.compactMap { $0 as? ComplianceTable }.first
        compliance?.judgeInBackground()
        defer { compliance?.cancelJudging() }
        let fold = try foldProjections(db, include: include, copiedFrom: source, each: { event, target, data in
            try writers.record(event, target: target, data: data)
        }) { box in
            try writers.save(box)
            compliance?.discard(box)
        }
        try compliance?.finishJudging()
        // The sorts behind the indexes may take memory up to the page cache's size, on top of the
        // fold's (freed, but kept by the allocator): a small cache keeps the peak the fold's.
        try db.execute(sql: "PRAGMA cache_size = -\(indexSortCacheKiB)")
        for index in indexes { try db.execute(sql: index) }
        for projection in projections {
            try db.execute(sql: "INSERT OR REPLACE INTO projections (name, version, fingerprint, checkpoint_seq) VALUES (?, ?, ?, ?)",
                           arguments: [projection.name, projection.version, projection.fingerprint(rules), fold.lastSeq])
        }
        return fold.events
    }

    /// Every projection's name, in the order they are kept.
    public static var projectionNames: [String] { ProjectionRegistry.all.map { $0.name } }

    /// How this ledger's compliance is judged: the shipped rulebooks in force, unless the ledger
    /// is a replay made with `--rules`, which keeps its rulebook in `ledger_meta` (`rules`).
    static func rules(_ db: Database) throws -> RulebookChoice {
        // Only a replay keeps a rulebook of its own; in a live ledger one is ignored (and `verify` reports it).
        guard try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'kind'") == "replay",
            let text = try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'rules'")
        else { return .inForce(.shipped) }
        do throws(FieldError) { return .given(try Rulebook(json: text)) } catch {
            throw LedgerError.ledgerUnavailable("the rulebook stored in this ledger does not load: \(error)")
        }
    }

    /// A projection that does not match this code and this log: why, and why in words for a person.
    struct StaleProjection {
        enum Cause {
            /// This code has a projection the file does not (a new one).
            case missing
            /// Built by another code version, or from other rulebooks: this code rebuilds it.
            case otherCode
            /// Built to an earlier seq than the log's head: events were added behind its back.
            case behindLog
            /// Built further than the log goes: events are missing. Never repaired by a rebuild,
            /// since the checkpoint is the one trace of the cut; only a person may decide.
            case aheadOfLog
        }

        let name: String
        let cause: Cause
        let reason: String

        var isAheadOfLog: Bool { cause == .aheadOfLog }
        /// A difference with the log itself, not with this code.
        var contradictsLog: Bool { cause == .aheadOfLog || cause == .behindLog }
    }

    /// Projections whose stored version, fingerprint or checkpoint does not match this code and this log.
    static func staleProjections(_ db: Database) throws -> [StaleProjection] {
        let head = try head(db).seq
        let rules = try rules(db)
        var stale: [StaleProjection] = []
        for projection in ProjectionRegistry.all {
            let (name, version, fingerprint) = (projection.name, projection.version, projection.fingerprint(rules))
            guard let row = try Row.fetchOne(db, sql: "SELECT version, fingerprint, checkpoint_seq FROM projections WHERE name = ?", arguments: [name]) else {
                stale.append(StaleProjection(name: name, cause: .missing, reason: "it has no checkpoint in this file"))
                continue
            }
            let storedVersion: Int = row["version"]
            let storedFingerprint: String = row["fingerprint"]
            let checkpoint: Int64 = row["checkpoint_seq"]
            if checkpoint > head {
                stale.append(StaleProjection(name: name, cause: .aheadOfLog, reason: "the log ends at seq \(head), but projection \(name) was built to seq \(checkpoint): events are missing"))
            } else if storedVersion != version {
                stale.append(StaleProjection(name: name, cause: .otherCode, reason: "it was built by code version \(storedVersion), this is version \(version)"))
            } else if storedFingerprint != fingerprint {
                let what = name == ComplianceTable.name ? "the rulebooks it was judged by" : "what it is built from"
                stale.append(StaleProjection(name: name, cause: .otherCode, reason: "\(what) changed since it was built"))
            } else if checkpoint < head {
                stale.append(StaleProjection(name: name, cause: .behindLog, reason: "it was built to seq \(checkpoint), but the log holds events to seq \(head): events were added that it never saw"))
            }
        }
        return stale
    }

    /// Refuses a ledger whose projections or Merkle tree reach further than its log goes (a cut log).
    static func refuseCutLog(_ db: Database, path: String) throws {
        let cut = try staleProjections(db).first(where: \.isAheadOfLog)?.reason ?? treeBeyondLog(db)
        if let cut {
            throw LedgerError.verificationFailed(seq: nil, reason: "\(cut). \(path) is left as it is; compare it with a backup or a signed checkpoint")
        }
    }

    /// Whether opening the file for reading must first bring something up to date (a writer's job).
    static func needsUpdate(_ db: Database) throws -> Bool {
        try !staleProjections(db).isEmpty || treeIsBehind(db)
    }

    /// Brings the file up to date: builds a tree an older file lacks, then rebuilds the stale
    /// projections (drop, replay the log, new checkpoint), saying so through `report`. A log cut
    /// short is refused, never rebuilt over.
    static func bringUpToDate(_ db: Database, path: String, report: (String) -> Void) throws {
        try refuseCutLog(db, path: path)
        // A new, empty ledger builds its projections' tables without a word: there is nothing to rebuild.
        let report = try head(db).seq == 0 ? { _ in } : report
        try catchUpTree(db, report: report)
        let stale = try staleProjections(db)
        guard !stale.isEmpty else { return }
        for projection in stale {
            report("rebuilding projection \(projection.name): \(projection.reason)…")
        }
        let started = Date()
        let events = try rebuild(db, names: stale.map(\.name))
        report(String(format: "rebuilt %@ from %lld events in %.2f s", stale.map(\.name).joined(separator: ", "), events,
                      Date().timeIntervalSince(started)))
    }

    /// Rebuilds every projection from the log now, whatever their versions.
    public func rebuildProjections() throws -> Int64 {
        try database.write { db in
            try Self.refuseCutLog(db, path: path)
            return try Self.rebuild(db, names: Self.projectionNames)
        }
    }

    /// Rebuilds every projection in memory and compares it with what is stored; throws
    /// `verificationFailed` naming the projection and the first case (or event) that differs.
    public func verifyProjections() throws {
        _ = try database.read { db in try Self.verifyProjections(db) }
    }

    /// Compares every projection with an in-memory rebuild. One whose checkpoint does not match
    /// the log fails; one that this code has not built yet (a new projection, or another code
    /// version or rulebook set: any other command rebuilds it, verify writes nothing) is not
    /// compared, and its name is returned.
    @discardableResult
    static func verifyProjections(_ db: Database) throws -> [String] {
        let stale = try Self.staleProjections(db)
        if let wrong = stale.first(where: \.contradictsLog) {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection \(wrong.name) does not match the log: \(wrong.reason)")
        }
        let notCompared = stale.map(\.name)
        let projections = ProjectionRegistry.all.filter { !notCompared.contains($0.name) }
        let writers = try ProjectionWriters(db, rules: try rules(db), projections: projections)
        let compliance = writers.writers.lazy.compactMap { $0 as? ComplianceTable }.first
        compliance?.judgeInBackground(verifying: true)
        defer { compliance?.cancelJudging() }
        let fold = try foldProjections(db, each: { event, target, data in
            for writer in writers.recorders { try writer.verifyRecord(event, target: target, data: data) }
        }) { box in
            for writer in writers.writers { try writer.verify(box) }
            compliance?.discard(box)
        }
        for writer in writers.writers { try writer.verifyFinish(fold) }
        return notCompared
    }

    /// The audit projection's void marks (of one case, or all), read with their exact lengths:
    /// a reason may hold any character, NUL included, which a C-string read would cut short.
    static func forEachVoidMark(_ db: Database, caseID: String? = nil, _ body: (AuditProjection.VoidMark) throws -> Void) throws {
        let columns = "v.voided_event_id, v.voiding_event_id, v.voiding_seq, v.actor, v.occurred_at, v.reason"
        let rows = try RawStatement(db, caseID == nil ? "SELECT \(columns) FROM audit_voids v"
            : "SELECT \(columns) FROM audit_voids v JOIN events e ON e.event_id = v.voided_event_id WHERE e.case_id = ?")
        if let caseID { rows.bind(1, caseID) }
        defer { rows.reset() }
        while try rows.step() {
            try body(AuditProjection.VoidMark(voidedEventID: rows.text(0), voidingEventID: rows.text(1), voidingSeq: rows.int64(2),
                                              actor: rows.text(3), occurredAt: rows.text(4), reason: rows.text(5)))
        }
    }
}
