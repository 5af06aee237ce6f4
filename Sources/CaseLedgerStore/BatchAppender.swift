import CaseLedgerCore
import Foundation
import GRDB

/// Appends the events of one batch inside one SQLite transaction: idempotency, optimistic
/// concurrency, the domain rules, `seq`/`version`, the hash chain, and every projection kept
/// current. The caller commits or rolls back the whole batch; nothing is visible before the commit.
public final class BatchAppender {
    let db: Database
    /// The ledger clock for this batch; `recorded_at` of every event in it (a generated history
    /// advances it with `advanceClock`).
    public private(set) var now: Timestamp
    private(set) var recordedAt: String
    private var seq: Int64
    private var previousHash: [UInt8]
    public private(set) var appended = 0
    public private(set) var duplicates = 0
    /// Forecasts whose hashes were stored as they came, and forecasts refused (the hashes worked
    /// out here instead).
    public private(set) var forecastsTaken = 0
    public private(set) var forecastsRefused = 0
    /// The first repeats of the batch, with the `seq` each was recorded at (at most `maxReportedRepeats`).
    public private(set) var repeats: [Repeat] = []
    public static let maxReportedRepeats = 1000

    /// An event sent again: where it stood in the batch, and where the log already holds it.
    public struct Repeat: Sendable, Equatable {
        public let line: Int
        public let eventID: String
        public let seq: Int64
    }

    /// Case states touched by this batch (the fold behind both the checks and the case projection),
    /// boxed so that an event folds in place.
    private var states: [String: CaseBox] = [:]
    /// What the cached states weigh together (`CaseBox.weight`), kept under `cacheRecords`.
    private var cachedWeight = 0
    /// The records the batch keeps in memory (`Limits.batchStateCacheRecords`), which also set
    /// the cases it keeps and its shelf.
    private let cacheRecords: Int
    private var dirty: Set<String> = []
    /// Cases whose contacts must be judged again before the commit, but whose contact history is
    /// not in memory (read back from its stored state, or evicted from `states`): each is judged
    /// once, in `finish`, from its events in the log. Judging at every eviction instead made a
    /// batch of many interleaved cases quadratic (each eviction re-read and re-judged a case's history).
    private var complianceDue: Set<String> = []
    /// The lowest `seq` of any due case's opening: where a scan for their events starts.
    private var earliestDueSeq = Int64.max
    /// Set once a batch holds more cases than its cache keeps (`Limits.batchStateCacheCases` of
    /// `cacheRecords`, or states weighing more than `cacheRecords`): from then on no case keeps
    /// its contact history in memory (every changed case is judged once, in `finish`, from the
    /// log), which makes a case in memory several times smaller, and written-back states go to
    /// the shelf.
    private var isBulk = false
    private let caseFeed: Ledger.CaseFeed
    private var canonical = TextBuffer()
    private var hashHex: [UInt8] = []

    private let insertEvent: RawStatement
    private let findEvent: RawStatement
    private let loadState: RawStatement
    private let projections: ProjectionWriters
    /// `case_state`'s writer, which shelves the states a bulk batch writes back (`CaseStateTable.shelve`).
    private let caseStates: CaseStateTable?
    /// The Merkle tree's growing edge: each inserted event adds a leaf; complete tiles are written at once.
    private var tree: MerkleAppender
    private let tiles: Ledger.TileWriter

    init(db: Database, now: Timestamp, cacheRecords: Int = Limits.batchStateCacheRecords) throws {
        self.db = db
        self.cacheRecords = cacheRecords
        let head = try Ledger.head(db)
        seq = head.seq
        previousHash = HashChain.bytes(hex: head.hash) ?? HashChain.genesis
        // recorded_at never runs backwards, whatever the wall clock does.
        let clock = now.utcString
        if let last = head.recordedAt, last > clock {
            recordedAt = last
            self.now = Timestamp(rfc3339: last) ?? now
        } else {
            recordedAt = clock
            self.now = now
        }
        insertEvent = try RawStatement(db, """
            INSERT INTO events (seq, event_id, case_id, version, type, schema_version, occurred_at, recorded_at, actor, data, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (event_id) DO NOTHING
            """)
        findEvent = try RawStatement(db, "SELECT seq, case_id, type, schema_version, occurred_at, actor, data FROM events WHERE event_id = ?")
        loadState = try RawStatement(db, "SELECT state FROM case_state WHERE case_id = ?")
        projections = try ProjectionWriters(db, rules: try Ledger.rules(db))
        caseStates = projections.writers.lazy.compactMap { $0 as? CaseStateTable }.first
        tree = try Ledger.loadTree(db, size: head.seq)
        tiles = try Ledger.TileWriter(db)
        caseFeed = try Ledger.CaseFeed(db, types: ComplianceProjection.eventTypes)
        keepsTree = Self.benchmarkKeepsTree
    }

    /// For `Tools/bench` only, to measure what the tree costs: `CASELEDGER_BENCH_WITHOUT_TREE=1`
    /// appends without tree upkeep. The file is then behind; the next command that opens it
    /// builds the missing tiles (and `verify`, which writes nothing, reports them missing).
    static let benchmarkWithoutTree = "CASELEDGER_BENCH_WITHOUT_TREE"
    private static let benchmarkKeepsTree = ProcessInfo.processInfo.environment[benchmarkWithoutTree] != "1"
    private let keepsTree: Bool

    /// Moves the clock forward for the events that follow (a simulated history's arrivals); never back.
    public func advanceClock(to time: Timestamp) {
        let text = time.utcString
        guard text > recordedAt else { return }
        recordedAt = text
        now = time
    }

    /// The outcome of one submission.
    public enum Outcome: Sendable, Equatable {
        case appended(seq: Int64)
        /// Same `event_id`, same content: already in the log at `seq`.
        case duplicate(seq: Int64)
    }

    /// Appends one event, or recognises it as a repeat. `line` is where it stood in the batch, for errors.
    ///
    /// A repeat is recognised before any rejection is reported, but without a lookup on the common
    /// path: the insert itself skips an existing `event_id`, and only then (or when a check fails)
    /// is the stored event read and compared.
    ///
    /// With a `forecast` that holds for where this event goes, its hashes are taken as they are;
    /// otherwise they are worked out here.
    @discardableResult
    public func append(_ event: EventSubmission, line: Int, forecast: ChainForecast? = nil) throws -> Outcome {
        let seq = self.seq + 1
        let caseEvent = event.caseEvent(seq: seq)
        var target: VoidTarget?
        let box: CaseBox?
        do {
            if case .voided(let id) = event.fact { target = try voidTarget(id: id) }
            box = try caseBox(event.caseID)
            let currentVersion = box?.state?.version ?? 0
            if let expected = event.expectedVersion, expected != currentVersion {
                throw LedgerError.conflict(line: line, caseID: event.caseID, expected: expected, actual: currentVersion)
            }
            do throws(FieldError) {
                try Self.check(caseEvent, on: box?.state, target: target)
            } catch {
                throw LedgerError.invalidEvent(line: line, field: error.path, reason: error.reason)
            }
        } catch {
            if let repeated = try repeatOf(event, line: line) { return repeated }
            throw error
        }
        let version = Int64((box?.state?.version ?? 0) + 1)
        let hash: [UInt8]
        // The leaf hash when forecast; otherwise it is read from `canonical` once the row is in.
        let leafHash: MerkleTree.Hash?
        if let forecast, forecast.holds(seq: seq, version: version, recordedAt: recordedAt, previous: previousHash) {
            hash = forecast.hash
            leafHash = forecast.leafHash
        } else {
            if forecast != nil { forecastsRefused += 1 }
            leafHash = nil
            StoredEvent.writeCanonical(seq: seq, eventID: event.eventID, caseID: event.caseID, version: version,
                                       type: event.type.rawValue, schemaVersion: Int64(event.schemaVersion),
                                       occurredAt: event.occurredAt, recordedAt: recordedAt, actor: event.actor,
                                       canonicalData: event.canonicalData, into: &canonical)
            hash = canonical.withBytes { HashChain.next(previous: previousHash, canonical: $0) }
        }
        insertEvent.bind(1, seq)
        insertEvent.bind(2, event.eventID)
        insertEvent.bind(3, event.caseID)
        insertEvent.bind(4, version)
        insertEvent.bind(5, event.type.rawValue)
        insertEvent.bind(6, Int64(event.schemaVersion))
        insertEvent.bind(7, event.occurredAt)
        insertEvent.bind(8, recordedAt)
        insertEvent.bind(9, event.actor)
        insertEvent.bind(10, utf8: event.canonicalData)
        HashChain.writeHex(hash, into: &hashHex)
        insertEvent.bind(11, utf8: hashHex)
        _ = try insertEvent.step()
        insertEvent.reset()
        guard insertEvent.changes == 1 else {
            // The event_id is already in the log: a repeat, or a clash.
            if let repeated = try repeatOf(event, line: line) { return repeated }
            throw LedgerError.storage("event \(event.eventID) was neither inserted nor found")
        }
        self.seq = seq
        previousHash = hash
        appended += 1
        if leafHash != nil { forecastsTaken += 1 }
        if keepsTree {
            let tiles = self.tiles
            try tree.append(leafHash: leafHash ?? canonical.withBytes(MerkleTree.leafHash)) { level, index, hashes in
                try tiles.write(level: level, index: index, hashes: hashes)
            }
        }
        // Inserted: fold the event into the case, in place (data as text only for what the case keeps).
        if let box {
            box.state!.apply(caseEvent, data: String(decoding: event.canonicalData, as: UTF8.self), target: target)
            if ComplianceProjection.matters(caseEvent.type) { box.complianceChanged = true }
            switch caseEvent.fact {
            // A void can take a filing or a resolution away.
            case .complaintFiled, .complaintResolved, .voided: box.complaintsChanged = true
            default: break
            }
            if box.compliance != nil {
                ComplianceProjection.apply(caseEvent, to: &box.compliance, target: target,
                                           data: String(decoding: event.canonicalData, as: UTF8.self))
            }
            reweigh(box)
        } else {
            let opened = CaseBox(try? CaseState.opening(caseEvent, data: String(decoding: event.canonicalData, as: UTF8.self)),
                                 compliance: isBulk ? nil : ComplianceCase(opening: caseEvent))
            opened.lastUsed = seq
            cache(event.caseID, opened)
        }
        if target != nil {
            try projections.record(caseEvent, target: target, data: String(decoding: event.canonicalData, as: UTF8.self))
        }
        dirty.insert(event.caseID)
        if states.count > Limits.batchStateCacheCases(records: cacheRecords) || cachedWeight > cacheRecords {
            try evictLeastRecentlyUsed()
        }
        return .appended(seq: seq)
    }

    /// Where the appender stood before a request of a group commit: restored when the request is
    /// rolled back to its savepoint, so one rejected request leaves the others untouched.
    struct Mark {
        let seq: Int64
        let previousHash: [UInt8]
        let tree: MerkleAppender
        let appended: Int
        let duplicates: Int
        let repeats: Int
    }

    /// Writes back what earlier requests changed, then marks the appender's state.
    func mark() throws -> Mark {
        try flushStates()
        return Mark(seq: seq, previousHash: previousHash, tree: tree, appended: appended, duplicates: duplicates, repeats: repeats.count)
    }

    /// Back to `mark` (the caller rolls the SQL back to its savepoint): cached case states are
    /// dropped and read again from what the transaction holds.
    func restore(_ mark: Mark) {
        seq = mark.seq
        previousHash = mark.previousHash
        tree = mark.tree
        appended = mark.appended
        duplicates = mark.duplicates
        repeats.removeLast(repeats.count - mark.repeats)
        states.removeAll(keepingCapacity: true)
        cachedWeight = 0
        dirty.removeAll(keepingCapacity: true)
        caseStates?.dropShelf()
    }

    /// Forecasts of the events this batch appends from here on (`SubmissionPipeline.run`), each
    /// case's version before the batch read on a read-only connection of its own to `path`.
    func forecaster(path: String) -> ChainForecaster {
        let versions = StoredVersions(path: path, head: seq, hash: HashChain.hex(previousHash))
        return ChainForecaster(seq: seq, previous: previousHash, recordedAt: recordedAt, storedVersion: versions.version(of:))
    }

    /// The log's head as this transaction has it now.
    var currentHead: Ledger.Head { Ledger.Head(seq: seq, hash: HashChain.hex(previousHash), recordedAt: recordedAt) }

    /// Throws when the rules do not let `event` follow `current` (nil: the case does not exist yet).
    private static func check(_ event: CaseEvent, on current: CaseState?, target: VoidTarget?) throws(FieldError) {
        if let current {
            try current.check(event, target: target)
        } else {
            _ = try CaseState.opening(event, data: "")
        }
    }

    /// Writes the changed case states back, judges the cases whose contacts are due, and moves the
    /// projections' checkpoints; called before the commit.
    func finish() throws -> Ledger.Head {
        // Many cases to judge (a big batch): they are judged on the second core, idle now that
        // the input is parsed, while this one writes the cases' states and reads the contacts of
        // those due from the log. Outcomes are written in the order the cases are handed over.
        let compliance = dirty.count + complianceDue.count >= Self.backgroundJudgingCases
            ? projections.writers.lazy.compactMap { $0 as? ComplianceTable }.first : nil
        compliance?.judgeInBackground()
        defer { compliance?.cancelJudging() }
        try flushStates()
        if isBulk {
            // Written back, and the cases due are judged from the log: their memory goes to judging.
            states.removeAll()
            cachedWeight = 0
        }
        if judgesInOneScan {
            try judgeDueFromOneScan()
        } else {
            for caseID in complianceDue.sorted() {
                // A case opened by a request that was rolled back has no events left: nothing to judge.
                guard let record = try complianceFromLog(caseID) else { continue }
                try projections.saveCompliance(record)
            }
        }
        try compliance?.finishJudging()
        complianceDue.removeAll()
        earliestDueSeq = .max
        try ProjectionWriters.setCheckpoints(db, seq: seq)
        return Ledger.Head(seq: seq, hash: HashChain.hex(previousHash), recordedAt: recordedAt)
    }

    /// Fewer cases than this due at the end of a batch are judged inline: a thread costs more.
    static let backgroundJudgingCases = 256

    /// Whether the due cases are read from one scan of the log rather than one walk of the
    /// (case_id, version) index per case. At a bulk load's end nearly every case is due, and
    /// walking them case by case reads the log's pages in random order, most of them from disk
    /// again (at 10^6 events, a fifth of the appending thread's time went to it, BENCHMARKS.md).
    /// A scan reads each page once, but reads every event from the earliest due case's opening
    /// to the head: it is chosen when the rows it reads are at most `scanJudgingFactor` times
    /// the events this batch appended. Its shares of `Limits.foldCasesPerPass` cases come from
    /// one read of those rows, the later shares' rows read back from spill files (twice the
    /// rows at most), or, when no spill file can be made, from one read a share. (Counted once
    /// a share, a bulk load of 10^7 events into a new ledger, 17 shares, judged its 333,333
    /// cases one by one instead, in about 90 of its 460 s, BENCHMARKS.md.)
    private var judgesInOneScan: Bool {
        guard complianceDue.count >= Self.backgroundJudgingCases, earliestDueSeq <= seq else { return false }
        let stretch = seq - earliestDueSeq + 1
        let reads: Int64 = scanPasses == 1 ? 1 : FeedParser.canSetAside ? 2 : Int64(scanPasses)
        return reads * stretch <= Self.scanJudgingFactor * Int64(appended)
    }

    static let scanJudgingFactor: Int64 = 8

    private var scanPasses: Int { (complianceDue.count + Limits.foldCasesPerPass - 1) / max(1, Limits.foldCasesPerPass) }

    /// Judges every due case from its events, read from `earliestDueSeq` in passes, each over a
    /// share of the due cases (a share's contact histories are in memory together), every pass
    /// from one read of the log (`Ledger.feedEvents(_:fromSeq:shares:…)`).
    private func judgeDueFromOneScan() throws {
        // A scan gains nothing from the big page cache, and the contact histories need its room:
        // the pages this batch changed go to the WAL now rather than at the commit.
        try db.execute(sql: "PRAGMA cache_size = -\(Ledger.scanCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = -\(Ledger.cacheKiB)") }
        let passes = UInt64(scanPasses)
        let hashes = Set(complianceDue.map(Ledger.FoldShare.hash(caseID:)))
        var records: [String: ComplianceCase] = [:]
        try Ledger.feedEvents(db, fromSeq: earliestDueSeq, shares: (0..<passes).map { Ledger.FoldShare(index: $0, count: passes, only: hashes) },
                              types: ComplianceProjection.eventTypes) { event, target, data in
            ComplianceProjection.apply(event, to: &records[event.caseID], target: target, data: data ?? "{}")
        } endOfShare: {
            // A case whose hash matched a due one's but is not due is left as it is.
            for caseID in records.keys.sorted() where complianceDue.contains(caseID) {
                try projections.saveCompliance(records[caseID]!)
            }
            records.removeAll()
        }
    }

    /// Leaves `caseID`'s contacts to be judged from the log in `finish`.
    private func judgeLater(_ caseID: String, _ box: CaseBox) {
        complianceDue.insert(caseID)
        // A case's first record is its opening, which no void takes away.
        earliestDueSeq = min(earliestDueSeq, box.state?.records.first?.seq ?? 1)
    }

    /// Writes each changed case's state back (its contacts judged when their history is in
    /// memory), and the states on the shelf.
    private func flushStates() throws {
        for caseID in dirty {
            guard let box = states[caseID] else { continue }
            try write(caseID, box, evicting: false)
        }
        dirty.removeAll(keepingCapacity: true)
        try caseStates?.emptyShelf()
    }

    /// Writes one case's changed folds; its contacts are judged now when their history is in
    /// memory and it stays there, and otherwise become due for `finish`.
    private func write(_ caseID: String, _ box: CaseBox, evicting: Bool) throws {
        guard box.state != nil else { return }
        if box.complianceChanged, evicting || box.compliance == nil {
            judgeLater(caseID, box)
            box.complianceChanged = false
        }
        try projections.save(box, shelvingState: evicting)
        box.written()
    }

    /// Keeps memory bounded: the least recently used half of the cases in memory (by count, which
    /// roughly halves their weight too) is written back and dropped. A portfolio appended in time
    /// order touches its cases in turn, so dropping the cold half keeps the cases still in play
    /// instead of reading them all back again.
    private func evictLeastRecentlyUsed() throws {
        if !isBulk {
            isBulk = true
            caseStates?.shelfLimitBytes = Limits.batchStateShelfBytes(records: cacheRecords)
            for (caseID, box) in states where box.compliance != nil {
                if box.complianceChanged { judgeLater(caseID, box) }
                box.compliance = nil
                box.complianceChanged = false
            }
        }
        let cold = states.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(states.count / 2)
        for (caseID, box) in cold {
            if dirty.remove(caseID) != nil { try write(caseID, box, evicting: true) }
            states[caseID] = nil
            cachedWeight -= box.counted
        }
    }

    /// Keeps a case in memory, counting its weight.
    private func cache(_ caseID: String, _ box: CaseBox) {
        box.counted = box.weight
        cachedWeight += box.counted
        states[caseID] = box
    }

    /// Counts a cached case's weight again after an event changed it.
    private func reweigh(_ box: CaseBox) {
        let weight = box.weight
        cachedWeight += weight - box.counted
        box.counted = weight
    }

    private func caseBox(_ caseID: String) throws -> CaseBox? {
        if let cached = states[caseID] {
            cached.lastUsed = seq + 1
            return cached
        }
        let box: CaseBox
        if let shelved = caseStates?.takeShelved(caseID) {
            // Written just now, from memory: unreadable only if the ledger's own writer is wrong.
            guard let state = CaseState(storedJSON: shelved.state) else {
                throw LedgerError.storage("the shelved state of case \(caseID) is unreadable")
            }
            box = CaseBox(stored: state)
            box.stored = shelved.inTable
            // Off the shelf, the table does not hold this state yet: it must be written again
            // even if no event of the batch changes it (an event sent twice).
            dirty.insert(caseID)
        } else {
            loadState.bind(1, caseID)
            defer { loadState.reset() }
            guard try loadState.step() else { return nil }
            guard let state = CaseState(storedJSON: loadState.text(0)) else {
                throw LedgerError.storage("the stored state of case \(caseID) is unreadable; run `caseledger verify`")
            }
            box = CaseBox(stored: state)
        }
        box.lastUsed = seq + 1
        cache(caseID, box)
        return box
    }

    /// A case's contact history, read from its events in the log (this batch's included); nil
    /// when the log holds none of its events.
    private func complianceFromLog(_ caseID: String) throws -> ComplianceCase? {
        var record: ComplianceCase?
        try caseFeed.feed(caseID) { event, target, data in
            ComplianceProjection.apply(event, to: &record, target: target, data: data ?? "{}")
        }
        return record
    }

    /// When `event`'s id is already in the log: a no-op for the same content, an error otherwise.
    private func repeatOf(_ event: EventSubmission, line: Int) throws -> Outcome? {
        guard let existing = try storedEvent(id: event.eventID) else { return nil }
        let differences = existing.differences(from: event)
        guard differences.isEmpty else {
            throw LedgerError.invalidEvent(
                line: line, field: "event_id",
                reason: "\(event.eventID) is already recorded at seq \(existing.seq) with different content (\(differences.joined(separator: ", ")) differ)")
        }
        duplicates += 1
        if repeats.count < Self.maxReportedRepeats {
            repeats.append(Repeat(line: line, eventID: event.eventID, seq: existing.seq))
        }
        return .duplicate(seq: existing.seq)
    }

    struct Existing {
        let seq: Int64
        let caseID: String
        let type: String
        let schemaVersion: Int64
        let occurredAt: String
        let actor: String
        let data: String

        func differences(from event: EventSubmission) -> [String] {
            var fields: [String] = []
            if caseID != event.caseID { fields.append("case_id") }
            if type != event.type.rawValue { fields.append("type") }
            if schemaVersion != Int64(event.schemaVersion) { fields.append("schema_version") }
            if occurredAt != event.occurredAt { fields.append("occurred_at") }
            if actor != event.actor { fields.append("actor") }
            if Array(data.utf8) != event.canonicalData { fields.append("data") }
            return fields
        }
    }

    private func storedEvent(id: String) throws -> Existing? {
        findEvent.bind(1, id)
        defer { findEvent.reset() }
        guard try findEvent.step() else { return nil }
        return Existing(seq: findEvent.int64(0), caseID: findEvent.text(1), type: findEvent.text(2),
                        schemaVersion: findEvent.int64(3), occurredAt: findEvent.text(4), actor: findEvent.text(5),
                        data: findEvent.text(6))
    }

    private func voidTarget(id: String) throws -> VoidTarget? {
        guard let stored = try storedEvent(id: id), let type = EventType(rawValue: stored.type),
            case .object(let data) = try JSONParser.parse(stored.data)
        else { return nil }
        return VoidTarget(eventID: id, caseID: stored.caseID, type: type, fact: CaseFact(type: type, data: data))
    }
}

/// Each case's last `version` in the log, read for the forecasts on the forecasting thread, from a
/// read-only connection opened there when first asked. It answers only while that connection sees
/// the log end at the batch's starting head (a write transaction holds the lock, so it does);
/// otherwise, or when a read fails, it answers nil and the forecasts stop.
private final class StoredVersions {
    private let path: String
    private let head: Int64
    private let hash: String
    private var connection: DatabaseQueue?
    private var failed = false

    init(path: String, head: Int64, hash: String) {
        self.path = path
        self.head = head
        self.hash = hash
    }

    func version(of caseID: String) -> Int64? {
        guard !failed else { return nil }
        // An empty log holds no case: no connection needed.
        guard head > 0 else { return 0 }
        do {
            if connection == nil {
                // Never waits for a lock: a read that would is a forecast not made.
                let connection = try Ledger.connectionAlongside(path: path, waitingForLocks: false)
                let seen = try connection.read { db in try Ledger.head(db) }
                guard seen.seq == head, seen.hash == hash else {
                    failed = true
                    return nil
                }
                self.connection = connection
            }
            // Each read its own snapshot: no commit comes between them while the batch holds the lock.
            return try connection!.inDatabase { db in
                try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(version) FROM events WHERE case_id = ?"),
                                   arguments: [caseID]) ?? 0
            }
        } catch {
            failed = true
            connection = nil
            return nil
        }
    }
}
