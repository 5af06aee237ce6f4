/// What one event means for its case, taken once from `data`: the facts the case state folds and
/// the domain rules judge. Built by the parsing thread on append, and from stored rows on
/// rebuild, verify and replay, by this one function.
public enum CaseFact: Sendable, Equatable {
    indirect case opened(Opening)
    case call(Call)
    case message(channel: MessageChannel, party: String)
    case visitBooked(visitID: String, location: String)
    case visitCompleted(visitID: String, outcome: String)
    case visitCancelled(visitID: String)
    case planOffered(Plan)
    case planDecided(planID: String, accepted: Bool)
    case promise(amountMinor: Int64, date: String)
    case payment(amountMinor: Int64, currency: String)
    case escalated(to: EscalationLevel)
    case complaintFiled(complaintID: String)
    case complaintResolved(complaintID: String)
    indirect case restricted(Restriction)
    case restrictionLifted(restrictionID: String)
    case note
    /// `voids` names the target; the store resolves what the target was (`VoidTarget`).
    case voided(eventID: String)
    case closed(reason: String)

    public struct Opening: Sendable, Equatable {
        public let debtorRef: String
        public let accountRef: String
        public let branch: String?
        public let currency: String
        public let principalMinor: Int64
        public let feesMinor: Int64
        public let product: String
        public let debtorTimeZone: String
        public let region: String?
    }

    /// A telephone call, as the contact rules see it.
    public struct Call: Sendable, Equatable {
        public let outbound: Bool
        public let party: String
        public let outcome: String
        public let durationSeconds: Int64?

        public var connected: Bool { outcome == "connected" }
    }

    public struct Plan: Sendable, Equatable {
        public let planID: String
        public let kind: String
        public let totalMinor: Int64
        public let installments: [Installment]
    }

    public struct Installment: Sendable, Equatable {
        public let dueDate: String
        public let amountMinor: Int64
    }

    public struct Restriction: Sendable, Equatable {
        public let restrictionID: String
        public let kind: RestrictionKind
        public let reason: String
        public let until: String?
        public let untilMicros: Int64?
    }

    /// Whether `type`'s fact needs anything from `data` (notes do not: a rebuild skips parsing them).
    public static func needsData(_ type: EventType) -> Bool { type != .noteRecorded }

    /// Whether a fold keeps `type`'s `data` as stored, beyond its fact: a case's records keep it
    /// for every type but the contacts it only counts and notes (`CaseState.apply`), and a void's
    /// reason is read from it. A fold of the log makes the String only for these types.
    public static func foldKeepsData(_ type: EventType) -> Bool {
        type != .callPlaced && type != .messageSent && type != .noteRecorded
    }

    /// The fact of an event whose `data` already matched its schema.
    public init(type: EventType, data: JSONObject) {
        self.init(type: type, fields: data)
    }

    /// The fact of a stored event, read from its canonical `data` in place (no tree is built).
    public init(type: EventType, canonical data: CanonicalObject) {
        self.init(type: type, fields: data)
    }

    /// The one reading of `data` into a fact, whichever way its fields are reached.
    private init<Fields: FactFields>(type: EventType, fields data: Fields) {
        func string(_ key: StaticString) -> String { data.string(key) ?? "" }
        func int(_ key: StaticString) -> Int64 { data.int(key) ?? 0 }
        switch type {
        case .caseOpened:
            self = .opened(Opening(debtorRef: string("debtor_ref"), accountRef: string("account_ref"), branch: data.string("branch"),
                                   currency: string("currency"), principalMinor: int("principal_minor"),
                                   feesMinor: int("fees_minor"), product: string("product"),
                                   debtorTimeZone: string("debtor_timezone"), region: data.string("region")))
        case .callPlaced:
            self = .call(Call(outbound: data.string("direction", is: "outbound"), party: string("party"), outcome: string("outcome"),
                              durationSeconds: data.int("duration_s")))
        // Data matched its schema, so the words are the enumerations'; a tampered row reads as the
        // most restrictive word rather than trapping (and `verify` names the row).
        case .messageSent: self = .message(channel: MessageChannel(rawValue: string("channel")) ?? .sms, party: string("party"))
        case .visitBooked: self = .visitBooked(visitID: string("visit_id"), location: string("location"))
        case .visitCompleted: self = .visitCompleted(visitID: string("visit_id"), outcome: string("outcome"))
        case .visitCancelled: self = .visitCancelled(visitID: string("visit_id"))
        case .planOffered:
            self = .planOffered(Plan(planID: string("plan_id"), kind: string("kind"), totalMinor: int("total_minor"),
                                     installments: data.installments("installments")))
        case .planAccepted: self = .planDecided(planID: string("plan_id"), accepted: true)
        case .planDeclined: self = .planDecided(planID: string("plan_id"), accepted: false)
        case .promiseMade: self = .promise(amountMinor: int("amount_minor"), date: string("promised_date"))
        case .paymentReceived: self = .payment(amountMinor: int("amount_minor"), currency: string("currency"))
        case .caseEscalated: self = .escalated(to: EscalationLevel(rawValue: string("to")) ?? .legal)
        case .complaintFiled: self = .complaintFiled(complaintID: string("complaint_id"))
        case .complaintResolved: self = .complaintResolved(complaintID: string("complaint_id"))
        case .contactRestricted:
            let until = data.string("until")
            self = .restricted(Restriction(restrictionID: string("restriction_id"), kind: RestrictionKind(rawValue: string("kind")) ?? .ceaseAll, reason: string("reason"),
                                           until: until, untilMicros: until.flatMap { Timestamp(rfc3339: $0)?.epochMicros }))
        case .contactRestrictionLifted: self = .restrictionLifted(restrictionID: string("restriction_id"))
        case .noteRecorded: self = .note
        case .entryVoided: self = .voided(eventID: string("voids").lowercased())
        case .caseClosed: self = .closed(reason: string("reason"))
        }
    }
}

/// Where `CaseFact` reads `data`'s fields: a parsed object, or canonical bytes in place. Each
/// answers nil for a field that is absent or of another JSON type.
private protocol FactFields {
    func string(_ key: StaticString) -> String?
    func string(_ key: StaticString, is word: StaticString) -> Bool
    func int(_ key: StaticString) -> Int64?
    func value(_ key: StaticString) -> JSONValue?
    /// A plan's installments: one for each element of the array, with "" and 0 for a field that
    /// is absent or of another type (an element that is not an object has neither).
    func installments(_ key: StaticString) -> [CaseFact.Installment]
}

extension CaseFact.Installment {
    /// An installment's fields, whichever way they are reached; nil (an element that is not an
    /// object) has neither.
    fileprivate init(_ fields: (some FactFields)?) {
        self.init(dueDate: fields?.string("due_date") ?? "", amountMinor: fields?.int("amount_minor") ?? 0)
    }

    /// One for each element of a parsed array (none when it is not one).
    fileprivate static func all(in array: JSONValue?) -> [Self] {
        (array?.arrayValue ?? []).map { Self($0.objectValue) }
    }
}

extension JSONObject: FactFields {
    func string(_ key: StaticString) -> String? { self[key.description]?.stringValue }
    func string(_ key: StaticString, is word: StaticString) -> Bool { string(key) == word.description }
    func int(_ key: StaticString) -> Int64? { self[key.description]?.intValue }
    func value(_ key: StaticString) -> JSONValue? { self[key.description] }
    func installments(_ key: StaticString) -> [CaseFact.Installment] { CaseFact.Installment.all(in: value(key)) }
}

extension CanonicalObject: FactFields {
    /// Read in place when every element is an object (as the schema requires); parsed otherwise.
    func installments(_ key: StaticString) -> [CaseFact.Installment] {
        var installments: [CaseFact.Installment] = []
        var room = MemberRoom()
        guard forEachObject(key, room: &room, { installments.append(CaseFact.Installment($0)) }) else {
            return CaseFact.Installment.all(in: value(key))
        }
        return installments
    }
}

extension CaseFact {
    /// True for the `visit.completed` of `visitID`.
    func completesVisit(_ visitID: String) -> Bool {
        if case .visitCompleted(visitID, _) = self { return true }
        return false
    }
}

/// One event as the case projection folds it: where it stands in the log, and its fact.
public struct CaseEvent: Sendable {
    public let seq: Int64
    /// The event id as its 16 bytes: the folds keep it so, or only count the event.
    public let id: CompactUUID
    public let caseID: String
    public let type: EventType
    public let occurredAt: String
    public let occurredMicros: Int64
    public let actor: String
    public let fact: CaseFact

    /// The event id as the log stores it (made on each call).
    public var eventID: String { id.string }

    public init(seq: Int64, id: CompactUUID, caseID: String, type: EventType, occurredAt: String, occurredMicros: Int64,
                actor: String, fact: CaseFact) {
        self.seq = seq
        self.id = id
        self.caseID = caseID
        self.type = type
        self.occurredAt = occurredAt
        self.occurredMicros = occurredMicros
        self.actor = actor
        self.fact = fact
    }
}

/// The event an `entry.voided` points at, as the log holds it.
public struct VoidTarget: Sendable {
    public let eventID: String
    public let caseID: String
    public let type: EventType
    public let fact: CaseFact

    public init(eventID: String, caseID: String, type: EventType, fact: CaseFact) {
        self.eventID = eventID
        self.caseID = caseID
        self.type = type
        self.fact = fact
    }
}
