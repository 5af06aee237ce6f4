import CaseLedgerCore
import GRDB

/// The outcome of a chain check that passed.
public struct ChainReport: Sendable, Equatable {
    public let events: Int64
    public let headHash: String
    /// `ledger`, or `replay` for a replay's output.
    public let kind: String
}

extension Ledger {
    /// The whole check, on one snapshot of the file, writing nothing: the file's kind and replay
    /// record, the hash chain, then every projection against an in-memory rebuild.
    public func verify() throws -> ChainReport {
        try database.read { db in
            let chain = try Self.verifyChain(db)
            try Self.verifyProjections(db)
            return chain
        }
    }

    /// Recomputes the whole hash chain (CONTRACT §4); see `verifyChain(_:)`.
    public func verifyChain() throws -> ChainReport {
        try database.read { db in try Self.verifyChain(db) }
    }

    /// Recomputes the whole hash chain from the stored columns (CONTRACT §4) and checks the log's
    /// invariants: `seq` 1, 2, 3 … with no gap, each case's `version` 1, 2, 3 …, `recorded_at` never
    /// running backwards, `data` in canonical form. A replay may skip events, bridged by its
    /// `replay_links`; a live ledger may not, and holds no link, no replay record and no rulebook
    /// of its own. Throws `verificationFailed` naming the first bad `seq` (or what in the file is wrong).
    static func verifyChain(_ db: Database) throws -> ChainReport {
        let kind = try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'kind'") ?? "(none)"
        let links = try replayLinks(db)
        let info = try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'replay_info'")
        let isReplay: Bool
        switch kind {
        case "ledger":
            isReplay = false
            if !links.isEmpty {
                throw LedgerError.verificationFailed(seq: links.keys.min(), reason: "replay_links holds \(links.count) rows, but this is a live ledger: only a replay may bridge gaps in its log")
            }
            if info != nil {
                throw LedgerError.verificationFailed(seq: nil, reason: "ledger_meta holds a replay_info, but its kind is ledger: the kind or the record was edited")
            }
            if try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'rules'") != nil {
                throw LedgerError.verificationFailed(seq: nil, reason: "ledger_meta holds a rulebook of its own, but a live ledger is judged by the shipped rulebooks; only a replay made with --rules keeps one")
            }
        case "replay":
            isReplay = true
        default:
            throw LedgerError.verificationFailed(seq: nil, reason: "ledger_meta says the file's kind is \(JSONText.quoted(kind)); it must be ledger or replay")
        }
        let record: ReplayRecord? = try info.map { try ReplayRecord(json: $0) }
        if isReplay, record == nil {
            throw LedgerError.verificationFailed(seq: nil, reason: "the file's kind is replay but it holds no replay_info: where it came from cannot be checked")
        }

        var expectedSeq: Int64 = 1
        var previousHash = HashChain.genesis
        var previousRecordedAt = ""
        var versions: [String: Int64] = [:]
        var canonical: [UInt8] = []
        var count: Int64 = 0
        var linksUsed = 0
        var first: (seq: Int64, hash: String)?
        var last: (seq: Int64, hash: String)?
        try forEachEvent(db, cacheKiB: Self.scanCacheKiB) { event in
            func fail(_ reason: String) -> LedgerError { .verificationFailed(seq: event.seq, reason: reason) }
            if event.seq != expectedSeq {
                guard isReplay, event.seq > expectedSeq, let link = links[event.seq], let bytes = HashChain.bytes(hex: link) else {
                    throw LedgerError.verificationFailed(seq: expectedSeq, reason: "seq \(expectedSeq) is missing (next stored seq is \(event.seq))")
                }
                previousHash = bytes
                linksUsed += 1
            }
            let lastVersion = versions[event.caseID] ?? 0
            guard isReplay ? event.version > lastVersion : event.version == lastVersion + 1 else {
                throw fail("case \(event.caseID) has version \(event.version) after version \(lastVersion)")
            }
            guard event.recordedAt >= previousRecordedAt else {
                throw fail("recorded_at \(event.recordedAt) is earlier than the event before it (\(previousRecordedAt))")
            }
            let data: JSONValue
            do { data = try JSONParser.parse(event.data) } catch { throw fail("data is not valid JSON: \(error)") }
            canonical.removeAll(keepingCapacity: true)
            CanonicalJSON.write(data, into: &canonical)
            let canonicalData = canonical
            canonical.removeAll(keepingCapacity: true)
            StoredEvent.writeCanonical(seq: event.seq, eventID: event.eventID, caseID: event.caseID, version: event.version,
                                       type: event.type, schemaVersion: event.schemaVersion, occurredAt: event.occurredAt,
                                       recordedAt: event.recordedAt, actor: event.actor, canonicalData: canonicalData,
                                       into: &canonical)
            let hash = HashChain.next(previous: previousHash, canonical: canonical)
            guard HashChain.hex(hash) == event.hash else {
                throw fail("hash does not match the event's content and the chain before it (stored \(event.hash), computed \(HashChain.hex(hash)))")
            }
            if Array(event.data.utf8) != canonicalData { throw fail("data is not stored in canonical form") }
            versions[event.caseID] = event.version
            previousHash = hash
            previousRecordedAt = event.recordedAt
            expectedSeq = event.seq + 1
            count += 1
            if first == nil { first = (event.seq, event.hash) }
            last = (event.seq, event.hash)
        }
        if linksUsed != links.count {
            throw LedgerError.verificationFailed(seq: nil, reason: "replay_links holds \(links.count) rows but the log has \(linksUsed) gaps to bridge")
        }
        if let record { try record.check(first: first, last: last) }
        return ChainReport(events: count, headHash: HashChain.hex(previousHash), kind: kind)
    }

    /// A replay's bridges across the events it left out: seq → the hash that event chains from.
    static func replayLinks(_ db: Database) throws -> [Int64: String] {
        guard try db.tableExists("replay_links") else { return [:] }
        var links: [Int64: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT seq, previous_hash FROM replay_links") { links[row["seq"]] = row["previous_hash"] }
        return links
    }
}

/// What a replay records of its source (`ledger_meta.replay_info`), as `verify` checks it: the
/// events it kept must begin and end where the record says, within the source's log.
struct ReplayRecord {
    let sourceHeadSeq: Int64
    let sourceHeadHash: String
    let first: (seq: Int64, hash: String)?
    let last: (seq: Int64, hash: String)?

    init(json text: String) throws {
        func bad(_ why: String) -> LedgerError { .verificationFailed(seq: nil, reason: "replay_info \(why)") }
        guard let info = try? JSONParser.parse(text), case .object = info else { throw bad("is not a JSON object") }
        guard let headSeq = info["source_head_seq"]?.intValue, let headHash = info["source_head_hash"]?.stringValue else {
            throw bad("does not name the source's head (source_head_seq, source_head_hash)")
        }
        func kept(_ key: String) throws -> (Int64, String)? {
            guard let value = info[key] else { throw bad("does not record its \(key.replacingOccurrences(of: "_", with: " ")) event (made by an older release? replay the source again)") }
            if value == .null { return nil }
            guard let seq = value["seq"]?.intValue, let hash = value["hash"]?.stringValue else { throw bad("\(key) is not {seq, hash}") }
            return (seq, hash)
        }
        sourceHeadSeq = headSeq
        sourceHeadHash = headHash
        first = try kept("first_kept")
        last = try kept("last_kept")
    }

    func check(first actualFirst: (seq: Int64, hash: String)?, last actualLast: (seq: Int64, hash: String)?) throws {
        func fail(_ seq: Int64?, _ why: String) -> LedgerError { .verificationFailed(seq: seq, reason: "replay_info \(why)") }
        switch (first, actualFirst) {
        case (nil, nil): break
        case (let recorded?, let actual?) where recorded == actual: break
        default:
            throw fail(actualFirst?.seq, "records its first kept event as \(describe(first)), but the log begins with \(describe(actualFirst))")
        }
        switch (last, actualLast) {
        case (nil, nil): break
        case (let recorded?, let actual?) where recorded == actual: break
        default:
            throw fail(actualLast?.seq, "records its last kept event as \(describe(last)), but the log ends with \(describe(actualLast))")
        }
        if let actualLast {
            if actualLast.seq > sourceHeadSeq {
                throw fail(actualLast.seq, "says the source ended at seq \(sourceHeadSeq), but the replay holds seq \(actualLast.seq)")
            }
            if actualLast.seq == sourceHeadSeq, actualLast.hash != sourceHeadHash {
                throw fail(actualLast.seq, "says the source's head hash is \(sourceHeadHash), but its last event, kept here, has \(actualLast.hash)")
            }
        }
    }

    private func describe(_ event: (seq: Int64, hash: String)?) -> String {
        event.map { "seq \($0.seq) (\($0.hash.prefix(12))…)" } ?? "no event"
    }
}
