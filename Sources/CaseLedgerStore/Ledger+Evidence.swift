import CaseLedgerCore
import Foundation
import GRDB

extension Ledger {
    /// The evidence pack for a complaint (docs/compliance.md, evidence.json): the filing (and its
    /// resolution), the case as of the filing and now, every event of the case with its hash,
    /// every contact on the debtor's clock with the rules it broke, the violations, the voided
    /// contacts, the rulebooks in force with their sources, and a check of the whole hash chain.
    ///
    /// With `checkpointNote`, the pack also carries `proof`: every event of the case in that
    /// checkpoint's tree with its inclusion proof (as `prove case` writes it). Everything is read
    /// from one snapshot of the file.
    /// With `rulebook`, the contacts are judged by it instead of the rulebooks in force (a what-if,
    /// said so in the pack when it is applied to contacts before its effective date).
    public func evidence(complaint complaintID: String, caseID requestedCase: String? = nil, checkpointNote: String? = nil,
                         rulebook: Rulebook? = nil, scope: ReadScope = .everything, ledgerLabel: String? = nil,
                         checkChain: Bool = true, now: Timestamp = LedgerClock.now()) throws -> JSONValue {
        let checkpoint = try checkpointNote.map { try Self.parseCheckpoint($0).0 }
        return try database.read { db in
            let chain: (verified: Bool, report: ChainReport?, problem: String?)
            do {
                // A page that only shows the complaint skips the whole-log check (`chain.verified` false, said why).
                chain = checkChain ? (true, try Self.verifyChain(db, alongside: try Self.pathReadableAlongside(db)), nil) : (false, nil, "not checked for this view")
            } catch LedgerError.verificationFailed(let seq, let reason) {
                chain = (false, nil, (seq.map { "seq \($0): " } ?? "") + reason)
            }
            // With the case named, its own events are read (an index); without, the whole log's
            // filings (so a complaint id filed on two cases is found ambiguous, voided or not).
            let scoped = scope.condition(on: "case_id")
            let filings = try RawStatement(db, """
                SELECT \(Self.eventColumns) FROM events
                WHERE \(requestedCase == nil ? "" : "case_id = ? AND ")type = 'complaint.filed'
                  AND json_extract(data, '$.complaint_id') = ? AND \(scoped.sql) ORDER BY seq
                """)
            var arguments = (requestedCase.map { [$0] } ?? []) + [complaintID]
            arguments += scoped.arguments
            for (index, argument) in arguments.enumerated() { filings.bind(Int32(index + 1), argument) }
            var found: [StoredEvent] = []
            while try filings.step() { found.append(Self.storedEvent(filings)) }
            filings.reset()
            guard let filing = found.first else {
                throw LedgerError.notFound("no complaint \(complaintID) in \(path)" + (requestedCase.map { " on case \($0)" } ?? ""))
            }
            guard found.count == 1 else {
                throw LedgerError.invalidInput("complaint \(complaintID) is filed on several cases (\(found.map(\.caseID).joined(separator: ", "))); name one with --case")
            }
            let caseID = filing.caseID

            // The case's events, their void marks, and the folds as of the filing and now.
            var events: [StoredEvent] = []
            try self.forEachCaseEvent(db, caseID: caseID) { events.append($0) }
            var marks: [String: AuditProjection.VoidMark] = [:]
            try Self.forEachVoidMark(db, caseID: caseID) { marks[$0.voidedEventID] = $0 }
            var asOfFiling: CaseState?
            var current: CaseState?
            var record: ComplianceCase?
            try Self.feedCase(db, caseID: caseID) { event, target, data in
                CaseStateProjection.apply(event, to: &current, target: target, data: data ?? "{}")
                ComplianceProjection.apply(event, to: &record, target: target, data: data ?? "{}")
                if event.seq <= filing.seq { asOfFiling = current }
            }
            guard let current, let record else { throw LedgerError.storage("case \(caseID) has no case.opened in the log") }
            let resolution = events.first { event in
                event.type == EventType.complaintResolved.rawValue
                    && (try? JSONParser.parse(event.data))?["complaint_id"]?.stringValue == complaintID
            }
            let head = try Self.head(db)
            var proof: JSONValue = .null
            if let checkpoint, let checkpointNote {
                proof = try Self.caseProof(db, caseID: caseID, checkpoint: checkpoint, noteText: checkpointNote)
            }
            return EvidencePack(
                generatedAt: now, ledger: ledgerLabel ?? path, filing: filing, resolution: resolution, events: events, marks: marks,
                asOfFiling: asOfFiling, current: current, record: record, choice: try rulebook.map { .given($0) } ?? Self.rules(db),
                chain: EvidencePack.Chain(firstSeq: events.first?.seq ?? 0, lastSeq: events.last?.seq ?? 0,
                                          headHash: chain.report?.headHash ?? head.hash, verified: chain.verified,
                                          ledgerEvents: chain.report?.events ?? head.seq, problem: chain.problem),
                proof: proof).json
        }
    }

    /// Every filed complaint: its id, case and seq, in seq order.
    public func complaints() throws -> [(complaintID: String, caseID: String, seq: Int64)] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT json_extract(data, '$.complaint_id') AS complaint_id, case_id, seq FROM events
                WHERE type = 'complaint.filed' ORDER BY seq
                """).map { ($0["complaint_id"], $0["case_id"], $0["seq"]) }
        }
    }

    func forEachCaseEvent(_ db: Database, caseID: String, _ body: (StoredEvent) throws -> Void) throws {
        let rows = try RawStatement(db, "SELECT \(Self.eventColumns) FROM events WHERE case_id = ? ORDER BY version")
        rows.bind(1, caseID)
        defer { rows.reset() }
        while try rows.step() { try body(Self.storedEvent(rows)) }
    }
}
