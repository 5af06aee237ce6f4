import CaseLedgerCore
import GRDB

/// The outcome of a chain check that passed.
public struct ChainReport: Sendable, Equatable {
    public let events: Int64
    public let headHash: String
}

extension Ledger {
    /// Recomputes the whole hash chain from the stored columns (CONTRACT §4) and checks the log's
    /// invariants: `seq` 1, 2, 3 … with no gap, each case's `version` 1, 2, 3 …, `recorded_at` never
    /// running backwards, `data` in canonical form. Throws `verificationFailed` naming the first bad `seq`.
    public func verifyChain() throws -> ChainReport {
        // A replay holds a selection of a log: where it skips, replay_links keeps the hash the
        // next kept event chains from, so every kept event is still checked against its hash.
        let links: [Int64: String] = try database.read { db in
            var links: [Int64: String] = [:]
            guard try db.tableExists("replay_links") else { return links }
            for row in try Row.fetchAll(db, sql: "SELECT seq, previous_hash FROM replay_links") { links[row["seq"]] = row["previous_hash"] }
            return links
        }
        let isReplay = try meta("kind") == "replay"
        var expectedSeq: Int64 = 1
        var previousHash = HashChain.genesis
        var previousRecordedAt = ""
        var versions: [String: Int64] = [:]
        var canonical: [UInt8] = []
        var count: Int64 = 0
        try forEachEvent(cacheKiB: Self.scanCacheKiB) { event in
            func fail(_ reason: String) -> LedgerError { .verificationFailed(seq: event.seq, reason: reason) }
            if event.seq != expectedSeq {
                guard event.seq > expectedSeq, let link = links[event.seq], let bytes = HashChain.bytes(hex: link) else {
                    throw LedgerError.verificationFailed(seq: expectedSeq, reason: "seq \(expectedSeq) is missing (next stored seq is \(event.seq))")
                }
                previousHash = bytes
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
        }
        return ChainReport(events: count, headHash: HashChain.hex(previousHash))
    }
}
