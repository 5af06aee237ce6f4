import CaseLedgerCore
import Foundation
import GRDB

extension Ledger {
    /// The evidence pack for a complaint (CONTRACT §6, evidence.json): the filing (and its
    /// resolution), the case as of the filing and now, every event of the case with its hash,
    /// every contact on the debtor's clock with the rules it broke, the violations, the voided
    /// contacts, the rulebooks in force with their sources, and a check of the whole hash chain.
    ///
    /// With `checkpointNote`, the pack also carries `proof`: every event of the case in that
    /// checkpoint's tree with its inclusion proof (as `prove case` writes it). Everything is read
    /// from one snapshot of the file.
    public func evidence(complaint complaintID: String, caseID requestedCase: String? = nil, checkpointNote: String? = nil,
                         now: Timestamp = LedgerClock.now()) throws -> JSONValue {
        let checkpoint = try checkpointNote.map { try Self.parseCheckpoint($0).0 }
        return try database.read { db in
            let chain: (verified: Bool, report: ChainReport?, problem: String?)
            do {
                chain = (true, try Self.verifyChain(db), nil)
            } catch LedgerError.verificationFailed(let seq, let reason) {
                chain = (false, nil, (seq.map { "seq \($0): " } ?? "") + reason)
            }
            let filings = try RawStatement(db, """
                SELECT \(Self.eventColumns) FROM events
                WHERE type = 'complaint.filed' AND json_extract(data, '$.complaint_id') = ? ORDER BY seq
                """)
            filings.bind(1, complaintID)
            var found: [StoredEvent] = []
            while try filings.step() { found.append(Self.storedEvent(filings)) }
            filings.reset()
            if let requestedCase { found = found.filter { $0.caseID == requestedCase } }
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
            let rules = try Self.rules(db)
            let outcome = ContactRules.judge(record, by: rules)

            let resolution = events.first { event in
                event.type == EventType.complaintResolved.rawValue
                    && (try? JSONParser.parse(event.data))?["complaint_id"]?.stringValue == complaintID
            }
            func envelope(_ event: StoredEvent) -> JSONValue { event.envelope }
            func markJSON(_ mark: AuditProjection.VoidMark) -> JSONValue {
                .object(JSONObject([("event_id", .string(mark.voidingEventID)), ("seq", .int(mark.voidingSeq)), ("actor", .string(mark.actor)),
                                    ("occurred_at", .string(mark.occurredAt)), ("reason", .string(mark.reason))]))
            }

            let zone = current.opening.debtorTimeZone
            let rulesByEvent = Dictionary(grouping: outcome.violations, by: \.eventID)
            let contacts: [JSONValue] = record.contacts.sorted { ($0.occurredMicros, $0.seq) < ($1.occurredMicros, $1.seq) }.map { contact in
                let stored = events.first { $0.eventID == contact.eventID }
                let local = Self.localTime(stored?.occurredAt ?? "", zone: zone)
                var direction: JSONValue = .null
                var party: JSONValue = .null
                let kind: String
                switch contact.kind {
                case .call(let call):
                    kind = "call"
                    direction = .string(call.outbound ? "outbound" : "inbound")
                    party = .string(call.party)
                case .message(_, let to):
                    kind = "message"
                    direction = .string("outbound")
                    party = .string(to)
                case .visit:
                    kind = "visit"
                }
                let detail = stored.flatMap { event in
                    (try? JSONParser.parse(event.data)).map { AuditSummary.sentence(type: contact.type, actor: record.actor(of: contact), data: $0) }
                } ?? contact.type.rawValue
                var members: [(key: String, value: JSONValue)] = [
                    ("seq", .int(contact.seq)), ("event_id", .string(contact.eventID)), ("type", .string(contact.type.rawValue)),
                    ("kind", .string(kind)), ("occurred_at", .string(stored?.occurredAt ?? "")), ("local_time", .string(local)),
                    ("local_day", .string(Self.readableLocal(local))), ("actor", .string(record.actor(of: contact))),
                    ("direction", direction), ("party", party), ("detail", .string(detail)),
                    ("voided", .bool(record.voidMark(of: contact.eventID) != nil)),
                    ("violations", .array((rulesByEvent[contact.eventID] ?? []).map { .string($0.rule) })),
                ]
                if let mark = record.voidMark(of: contact.eventID) { members.append(("voided_by", markJSON(mark))) }
                return .object(JSONObject(members))
            }

            // The rulebooks that judged this case's contacts (in force on their days), with their sources.
            var usedRulebooks: [Rulebook] = []
            for contact in record.contacts {
                let day = CalendarDate.days(String(Self.localTime(events.first { $0.eventID == contact.eventID }?.occurredAt ?? "", zone: zone).prefix(10))) ?? 0
                if let rulebook = rules.rulebook(region: record.region, localDay: day), !usedRulebooks.contains(rulebook) {
                    usedRulebooks.append(rulebook)
                }
            }

            let eventsJSON: [JSONValue] = events.map { event in
                guard case .object(var object) = envelope(event) else { return .null }
                object["voided"] = .bool(marks[event.eventID] != nil)
                if let mark = marks[event.eventID] { object["voided_by"] = markJSON(mark) }
                return .object(object)
            }
            let head = try Self.head(db)
            var proof: JSONValue = .null
            if let checkpoint, let checkpointNote {
                proof = try Self.caseProof(db, caseID: caseID, checkpoint: checkpoint, noteText: checkpointNote)
            }
            return .object(JSONObject([
                ("generated_at", .string(now.utcString)), ("ledger", .string(path)),
                ("complaint", .object(JSONObject([("filing", envelope(filing)), ("resolution", resolution.map(envelope) ?? .null)]))),
                ("case", .object(JSONObject([("as_of_filing", asOfFiling?.view ?? .null), ("now", current.view)]))),
                ("events", .array(eventsJSON)),
                ("contacts", .array(contacts)),
                ("violations", .array(outcome.violations.map(\.json))),
                ("notices", .array(outcome.notices.map(\.json))),
                ("rulebook", .object(JSONObject([("mode", .string({ if case .given = rules { "given" } else { "in_force" } }())), ("rulebooks", .array(usedRulebooks.map(\.json)))]))),
                ("chain", .object(JSONObject([
                    ("first_seq", .int(events.first?.seq ?? 0)), ("last_seq", .int(events.last?.seq ?? 0)),
                    ("head_hash", .string(chain.report?.headHash ?? head.hash)),
                    ("verified", .bool(chain.verified)), ("ledger_events", .int(chain.report?.events ?? head.seq)),
                    ("problem", chain.problem.map { .string($0) } ?? .null),
                ]))),
                ("proof", proof),
            ]))
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

    /// "Tue 5 Mar 2024 22:30" from a local RFC 3339 time.
    static func readableLocal(_ local: String) -> String {
        guard let days = CalendarDate.days(String(local.prefix(10))), local.count >= 16 else { return local }
        let (year, month, day) = CalendarDate.civilFromDays(days)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
        let monthName = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][month - 1]
        return "\(weekday) \(day) \(monthName) \(year) \(local.dropFirst(11).prefix(5))"
    }
}
