import CaseLedgerCore
import GRDB

extension Ledger {
    /// Judges a contact that has not happened yet (`caseledger contact-check`,
    /// `GET /v1/cases/{id}/contact-check`): the case's events folded as the compliance projection
    /// folds them, the planned contact added last, and the rulebooks this ledger judges by.
    public func contactCheck(caseID: String, planned: PlannedContact, scope: ReadScope = .everything) throws -> ContactCheck {
        try database.read { db in
            guard try Self.isVisible(db, caseID: caseID, scope: scope) else {
                throw LedgerError.notFound("no case \(JSONText.shown(caseID))")
            }
            var record: ComplianceCase?
            try Self.feedCase(db, caseID: caseID, types: ComplianceProjection.eventTypes) { event, target, data in
                ComplianceProjection.apply(event, to: &record, target: target, data: data ?? "{}")
            }
            guard let record else { throw LedgerError.storage("case \(caseID) has no case.opened in the log") }
            return ContactRules.check(record, planned: planned, by: try Self.rules(db))
        }
    }
}

extension AppendSummary {
    /// What `append --json` prints and `POST /v1/events` answers.
    public var json: JSONValue {
        .object(JSONObject([
            ("appended", .int(Int64(appended))), ("duplicates", .int(Int64(duplicates))), ("head_seq", .int(headSeq)),
            ("duplicate_events", .array(repeats.map { repeated in
                .object(JSONObject([("line", .int(Int64(repeated.line))), ("event_id", .string(repeated.eventID)), ("seq", .int(repeated.seq))]))
            })),
        ]))
    }
}
