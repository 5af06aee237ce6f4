import CaseLedgerCore
import Foundation
import GRDB

/// Which events a replay keeps (CONTRACT §5): combined, they narrow.
public struct ReplayFilter: Sendable {
    /// Events that occurred up to this time (the world as of T).
    public var until: Timestamp?
    /// Events recorded up to this time (what the bank knew at T).
    public var knownAt: Timestamp?
    /// The log up to this position.
    public var untilSeq: Int64?

    public init(until: Timestamp? = nil, knownAt: Timestamp? = nil, untilSeq: Int64? = nil) {
        self.until = until
        self.knownAt = knownAt
        self.untilSeq = untilSeq
    }

    public func keeps(seq: Int64, occurredMicros: Int64, recordedAt: String) -> Bool {
        if let untilSeq, seq > untilSeq { return false }
        if let until, occurredMicros > until.epochMicros { return false }
        if let knownAt, let recorded = Timestamp(rfc3339: recordedAt), recorded > knownAt { return false }
        return true
    }

    var json: JSONValue {
        .object(JSONObject([("until", until.map { .string($0.utcString) } ?? .null),
                            ("known_at", knownAt.map { .string($0.utcString) } ?? .null),
                            ("until_seq", untilSeq.map { .int($0) } ?? .null)]))
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
        let sourceHead = try sourceLedger.head()
        let sourceEvents = Int64(try sourceLedger.count())
        // A source that is itself a replay has gaps of its own, bridged by its links.
        let sourceLinks: [Int64: String] = try sourceLedger.read { db in
            guard try db.tableExists("replay_links") else { return [:] }
            return Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT seq, previous_hash FROM replay_links").map {
                (($0["seq"] as Int64), ($0["previous_hash"] as String))
            })
        }
        let partial = output + ".partial-\(getpid())"
        func removePartial() {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: partial + suffix) }
        }
        removePartial()
        do {
            var kept: Int64 = 0
            var info: JSONValue = .null
            do {
                let replay = try Ledger(path: partial, mode: .create, report: { _ in })
                try replay.database.write { db in
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
                    try sourceLedger.forEachEvent(cacheKiB: Ledger.scanCacheKiB) { event in
                        read += 1
                        if read % 20_000 == 0 {
                            if cancelled() { throw LedgerError.invalidInput("replay interrupted; no output written") }
                            progress(read, sourceEvents)
                        }
                        let occurred = Timestamp(rfc3339: event.occurredAt)?.epochMicros ?? .max
                        let keep = filter.keeps(seq: event.seq, occurredMicros: occurred, recordedAt: event.recordedAt)
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
                    progress(sourceEvents, sourceEvents)
                    try Ledger.rebuild(db, names: Projections.all.map(\.name))
                    let choice = try Ledger.rules(db)
                    info = .object(JSONObject([
                        ("source", .string(URL(fileURLWithPath: source).standardizedFileURL.path)),
                        ("source_head_seq", .int(sourceHead.seq)), ("source_head_hash", .string(sourceHead.hash)),
                        ("filters", filter.json), ("events", .int(kept)),
                        ("first_kept", firstKept), ("last_kept", lastKept),
                        ("rules", .string(rules == nil ? "in_force" : "given")),
                        ("rulebooks", .array(choice.rulebooks.map { .string($0.id) })),
                        ("ran_at", .string(now.utcString)),
                    ]))
                    try db.execute(sql: "INSERT OR REPLACE INTO ledger_meta (key, value) VALUES ('replay_info', ?)",
                                   arguments: [CanonicalJSON.string(info)])
                }
                try replay.close()
            }
            try FileManager.default.moveItem(atPath: partial, toPath: output)
            removePartial()
            return ReplaySummary(output: output, events: kept, sourceEvents: sourceEvents, info: info)
        } catch {
            removePartial()
            throw error
        }
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
