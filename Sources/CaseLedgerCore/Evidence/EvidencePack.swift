/// The evidence pack for a complaint (docs/compliance.md, `evidence.json`), assembled from what the store
/// read: the filing and its resolution, the case as of the filing and now, every event with its
/// void mark, every contact on the debtor's clock judged or not, the violations and notices, the
/// rulebooks that judged the case with their sources, the chain check, and the proof when asked.
public struct EvidencePack {
    public struct Chain {
        public let firstSeq: Int64
        public let lastSeq: Int64
        public let headHash: String
        public let verified: Bool
        public let ledgerEvents: Int64
        public let problem: String?

        public init(firstSeq: Int64, lastSeq: Int64, headHash: String, verified: Bool, ledgerEvents: Int64, problem: String?) {
            self.firstSeq = firstSeq
            self.lastSeq = lastSeq
            self.headHash = headHash
            self.verified = verified
            self.ledgerEvents = ledgerEvents
            self.problem = problem
        }
    }

    public let generatedAt: Timestamp
    public let ledger: String
    public let filing: StoredEvent
    public let resolution: StoredEvent?
    public let events: [StoredEvent]
    public let marks: [String: AuditProjection.VoidMark]
    public let asOfFiling: CaseState?
    public let current: CaseState
    public let record: ComplianceCase
    public let choice: RulebookChoice
    public let chain: Chain
    public let proof: JSONValue

    public init(generatedAt: Timestamp, ledger: String, filing: StoredEvent, resolution: StoredEvent?, events: [StoredEvent],
                marks: [String: AuditProjection.VoidMark], asOfFiling: CaseState?, current: CaseState, record: ComplianceCase,
                choice: RulebookChoice, chain: Chain, proof: JSONValue) {
        self.generatedAt = generatedAt
        self.ledger = ledger
        self.filing = filing
        self.resolution = resolution
        self.events = events
        self.marks = marks
        self.asOfFiling = asOfFiling
        self.current = current
        self.record = record
        self.choice = choice
        self.chain = chain
        self.proof = proof
    }

    public var json: JSONValue {
        let outcome = ContactRules.judge(record, by: choice)
        let judgements = Dictionary(outcome.contacts.map { ($0.eventID, $0) }, uniquingKeysWith: { first, _ in first })
        let used = Set(outcome.contacts.flatMap(\.rulebooks) + outcome.violations.map(\.rulebook))
        let rulebooks = choice.rulebooks.filter { used.contains($0.id) }
        let report = ComplianceTallyCounts(outcome)
        return .object(JSONObject([
            ("generated_at", .string(generatedAt.utcString)), ("ledger", .string(ledger)),
            ("complaint", .object(JSONObject([("filing", filing.envelope), ("resolution", resolution?.envelope ?? .null)]))),
            ("case", .object(JSONObject([("as_of_filing", asOfFiling?.view ?? .null), ("now", current.view)]))),
            ("events", .array(events.map(eventJSON))),
            ("contacts", .array(contactsJSON(outcome: outcome, judgements: judgements))),
            ("violations", .array(outcome.violations.map(\.json))),
            ("notices", .array(outcome.notices.map(\.json))),
            ("summary", .object(JSONObject([
                ("contacts", .int(Int64(report.contacts))), ("contacts_judged", .int(Int64(report.judged))),
                ("contacts_not_judged", .int(Int64(report.contacts - report.judged))), ("violations", .int(Int64(outcome.violations.count))),
            ]))),
            ("rulebook", .object(JSONObject([
                ("mode", .string({ if case .given = choice { "given" } else { "in_force" } }())),
                ("rulebooks", .array(rulebooks.map(\.json))),
                ("applied_before_effective_from", .array(appliedEarly(outcome))),
            ]))),
            ("chain", .object(JSONObject([
                ("first_seq", .int(chain.firstSeq)), ("last_seq", .int(chain.lastSeq)), ("head_hash", .string(chain.headHash)),
                ("verified", .bool(chain.verified)), ("ledger_events", .int(chain.ledgerEvents)),
                ("problem", chain.problem.map { .string($0) } ?? .null),
            ]))),
            ("proof", proof),
        ]))
    }

    func eventJSON(_ event: StoredEvent) -> JSONValue {
        guard case .object(var object) = event.envelope else { return .null }
        object["voided"] = .bool(marks[event.eventID] != nil)
        if let mark = marks[event.eventID] { object["voided_by"] = mark.json }
        return .object(object)
    }

    /// Every contact, inbound and voided ones included, on the debtor's clock; each outbound one
    /// says whether a rulebook judged it, which, and the rules it broke.
    func contactsJSON(outcome: ContactRules.Outcome, judgements: [String: ContactJudgement]) -> [JSONValue] {
        let zone = current.opening.debtorTimeZone
        let byEvent = Dictionary(grouping: outcome.violations, by: \.eventID)
        let stored = Dictionary(events.map { ($0.eventID, $0) }, uniquingKeysWith: { first, _ in first })
        return record.contacts.sorted { ($0.occurredMicros, $0.seq) < ($1.occurredMicros, $1.seq) }.map { contact in
            let event = stored[contact.eventID]
            let local = LocalClock.rewrite(event?.occurredAt ?? "", zone: zone)
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
            let detail = event.flatMap { event in
                (try? JSONParser.parse(event.data)).map { AuditSummary.sentence(type: contact.type, actor: record.actor(of: contact), data: $0) }
            } ?? contact.type.rawValue
            let judgement = judgements[contact.eventID]
            var members: [(key: String, value: JSONValue)] = [
                ("seq", .int(contact.seq)), ("event_id", .string(contact.eventID)), ("type", .string(contact.type.rawValue)),
                ("kind", .string(kind)), ("occurred_at", .string(event?.occurredAt ?? "")), ("local_time", .string(local)),
                ("local_day", .string(LocalClock.readable(local))), ("actor", .string(record.actor(of: contact))),
                ("direction", direction), ("party", party), ("detail", .string(detail)),
                ("voided", .bool(record.voidMark(of: contact.eventID) != nil)),
                ("judged", .bool(judgement?.judged ?? false)),
                ("judged_by", .array((judgement?.rulebooks ?? []).map { .string($0) })),
                ("not_judged", judgement?.notJudged.map { .string($0) } ?? (judgement == nil ? .string(contact.isOutbound ? "voided: not judged" : "inbound: not judged") : .null)),
                ("violations", .array((byEvent[contact.eventID] ?? []).map { .string($0.rule.rawValue) })),
            ]
            if let mark = record.voidMark(of: contact.eventID) { members.append(("voided_by", mark.json)) }
            return .object(JSONObject(members))
        }
    }

    /// A rulebook given with `--rules` judging contacts from before its `effective_from`: said, so
    /// no reader takes a what-if for the law of the day.
    func appliedEarly(_ outcome: ContactRules.Outcome) -> [JSONValue] {
        guard case .given(let rulebook) = choice else { return [] }
        let early = outcome.contacts.filter { (Timestamp(rfc3339: $0.localTime)?.localDay ?? .max) < rulebook.effectiveFromDay }
        guard !early.isEmpty else { return [] }
        return [.object(JSONObject([
            ("rulebook", .string(rulebook.id)), ("effective_from", .string(rulebook.effectiveFrom)), ("contacts", .int(Int64(early.count))),
            ("note", .string("\(rulebook.id) was applied to \(early.count) contact(s) from before it took effect on \(rulebook.effectiveFrom): a what-if, not the rules of the day")),
        ]))]
    }
}

/// Judged and unjudged contacts of one outcome.
struct ComplianceTallyCounts {
    let contacts: Int
    let judged: Int

    init(_ outcome: ContactRules.Outcome) {
        contacts = outcome.contacts.count
        judged = outcome.contactsJudged
    }
}
