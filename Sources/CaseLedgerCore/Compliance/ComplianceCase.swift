import Foundation

/// Everything the contact rules need about one case: its contacts, visit bookings, restrictions
/// and their lifts, and which events were voided. Accumulated event by event in any order;
/// judged in `occurred_at` order by `ContactRules`.
public struct ComplianceCase: Sendable {
    public let caseID: String
    public let region: String?
    public let timeZone: String
    public private(set) var contacts: [Contact] = []
    /// The case's actors, once each: contacts refer to them by position (a case has a handful).
    public private(set) var actors: [String] = []
    public private(set) var bookings: [Booking] = []
    public private(set) var restrictions: [Restriction] = []
    public private(set) var lifts: [(eventID: String, restrictionID: String, at: Int64, seq: Int64)] = []
    /// Voided event id (as its 16 bytes) → the void's mark.
    private(set) var voids: [CompactUUID: AuditProjection.VoidMark] = [:]

    /// The void mark of `eventID`, when it was voided.
    public func voidMark(of eventID: String) -> AuditProjection.VoidMark? {
        voids.isEmpty ? nil : voids[CompactUUID(eventID)]
    }

    /// The same by the event id's 16 bytes (no text made: the rules ask this of every contact).
    func voidMark(of id: CompactUUID) -> AuditProjection.VoidMark? {
        voids.isEmpty ? nil : voids[id]
    }

    /// One contact, kept compact (a portfolio holds hundreds of thousands in memory on rebuild):
    /// the event id as its 16 bytes, the actor as a position in `actors`.
    public struct Contact: Sendable {
        public enum Kind: Sendable {
            case call(CaseFact.Call)
            case message(channel: MessageChannel, party: String)
            case visit(visitID: String, outcome: String)
        }
        let id: CompactUUID
        public let seq: Int64
        public let type: EventType
        public let occurredMicros: Int64
        let actorIndex: Int32
        public let kind: Kind

        public var eventID: String { id.string }

        /// Contact the rules judge: outbound calls, messages and completed visits (never inbound calls).
        public var isOutbound: Bool {
            if case .call(let call) = kind { return call.outbound }
            return true
        }

        func isBefore(_ micros: Int64, _ seq: Int64) -> Bool { (occurredMicros, self.seq) < (micros, seq) }
    }

    public struct Booking: Sendable {
        public let eventID: String
        public let visitID: String
        public let location: String
        public let at: Int64
        public let seq: Int64
    }

    public struct Restriction: Sendable {
        public let eventID: String
        public let restrictionID: String
        public let kind: RestrictionKind
        public let at: Int64
        public let seq: Int64
        public let untilMicros: Int64?
    }

    public init(caseID: String, region: String?, timeZone: String) {
        self.caseID = caseID
        self.region = region
        self.timeZone = timeZone
    }

    /// The compliance view of a case from its opening.
    public init?(opening event: CaseEvent) {
        guard case .opened(let opening) = event.fact else { return nil }
        self.init(caseID: event.caseID, region: opening.region, timeZone: opening.debtorTimeZone)
    }

    /// The actor of a contact.
    public func actor(of contact: Contact) -> String { actors[Int(contact.actorIndex)] }

    /// Room for a case's first contacts at once: grown from one at a time, the list was
    /// reallocated and copied at its 1st, 2nd, 3rd and 5th contact (a case has about twenty).
    /// From five contacts on, the capacity is what growing would have given.
    static let firstContactsCapacity = 8

    private mutating func contact(_ event: CaseEvent, _ kind: Contact.Kind) -> Contact {
        if contacts.isEmpty { contacts.reserveCapacity(Self.firstContactsCapacity) }
        let index: Int
        if let known = actors.firstIndex(of: event.actor) { index = known } else {
            actors.append(event.actor)
            index = actors.count - 1
        }
        return Contact(id: event.id, seq: event.seq, type: event.type, occurredMicros: event.occurredMicros,
                       actorIndex: Int32(index), kind: kind)
    }

    public mutating func add(_ event: CaseEvent, voidReason: @autoclosure () -> String) {
        switch event.fact {
        case .call(let call):
            contacts.append(contact(event, .call(call)))
        case .message(let channel, let party):
            contacts.append(contact(event, .message(channel: channel, party: party)))
        case .visitCompleted(let visitID, let outcome):
            contacts.append(contact(event, .visit(visitID: visitID, outcome: outcome)))
        case .visitBooked(let visitID, let location):
            bookings.append(Booking(eventID: event.eventID, visitID: visitID, location: location, at: event.occurredMicros, seq: event.seq))
        case .restricted(let restriction):
            restrictions.append(Restriction(eventID: event.eventID, restrictionID: restriction.restrictionID, kind: restriction.kind,
                                            at: event.occurredMicros, seq: event.seq, untilMicros: restriction.untilMicros))
        case .restrictionLifted(let restrictionID):
            lifts.append((event.eventID, restrictionID, event.occurredMicros, event.seq))
        case .voided(let id):
            voids[CompactUUID(id)] = AuditProjection.VoidMark(voidedEventID: id, voidingEventID: event.eventID, voidingSeq: event.seq,
                                                  actor: event.actor, occurredAt: event.occurredAt, reason: voidReason())
        default:
            break
        }
    }
}

/// A contact that broke a rule (docs/compliance.md): which rule, and which limit of which rulebook.
public struct Violation: Sendable, Equatable {
    public let limit: RuleLimit
    public let rulebook: String
    public let eventID: String
    public let seq: Int64
    public let caseID: String
    public let actor: String
    /// The debtor's wall-clock time of the contact, with the debtor's offset.
    public let localTime: String
    public let detail: String

    public var rule: RuleID { limit.rule }

    public init(limit: RuleLimit, rulebook: String, eventID: String, seq: Int64, caseID: String, actor: String, localTime: String, detail: String) {
        self.limit = limit
        self.rulebook = rulebook
        self.eventID = eventID
        self.seq = seq
        self.caseID = caseID
        self.actor = actor
        self.localTime = localTime
        self.detail = detail
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("actor", .string(actor)), ("case_id", .string(caseID)), ("detail", .string(detail)), ("event_id", .string(eventID)),
            ("limit", .string(limit.rawValue)), ("local_time", .string(localTime)), ("rule", .string(rule.rawValue)),
            ("rulebook", .string(rulebook)), ("seq", .int(seq)),
        ]))
    }
}

/// A voided contact: not a violation, but shown, because a void could hide a breach.
public struct VoidNotice: Sendable, Equatable {
    public let eventID: String
    public let seq: Int64
    public let type: String
    public let caseID: String
    public let actor: String
    public let localTime: String
    public let voidedBy: AuditProjection.VoidMark

    public init(eventID: String, seq: Int64, type: String, caseID: String, actor: String, localTime: String, voidedBy: AuditProjection.VoidMark) {
        self.eventID = eventID
        self.seq = seq
        self.type = type
        self.caseID = caseID
        self.actor = actor
        self.localTime = localTime
        self.voidedBy = voidedBy
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("actor", .string(actor)), ("case_id", .string(caseID)), ("event_id", .string(eventID)), ("local_time", .string(localTime)),
            ("seq", .int(seq)), ("type", .string(type)), ("voided_by", voidedBy.json),
        ]))
    }
}

