/// What the ledger must remember about a case to decide whether the next event may be appended:
/// the write-side state of one stream. Pure Swift; the store persists it between batches.
///
/// The rules (CONTRACT §3 and the event-log issue): nothing before `case.opened` (in the log, or in
/// the world: `occurred_at` earlier than the opening), nothing after `case.closed`; payments in the
/// case's currency; a void names a live event of the same case; references name things that exist:
/// a visit cancelled was booked, a plan accepted or declined was offered and not yet decided, a
/// restriction lifted is active, a complaint resolved is open.
///
/// ```swift
/// var state = try StreamState.open(openingEvent)
/// try state.admit(callEvent) { eventID in nil }
/// ```
public struct StreamState: Sendable, Equatable {
    public let caseID: String
    public private(set) var version: Int
    public let currency: String
    public let openedAtMicros: Int64
    public private(set) var closed: Bool
    /// Visit id → what happened to it.
    public private(set) var visits: [String: VisitRecord]
    /// Plan id → offered / accepted / declined.
    public private(set) var plans: [String: String]
    /// Restriction id → active / lifted.
    public private(set) var restrictions: [String: String]
    /// Complaint id → open / resolved.
    public private(set) var complaints: [String: String]
    /// Event ids of this case that an `entry.voided` has voided.
    public private(set) var voided: Set<String>

    public struct VisitRecord: Sendable, Equatable {
        public var booked = false
        public var completed = false
        public var cancelled = false
    }

    /// The event a void points at, as the log holds it.
    public struct VoidTarget: Sendable {
        public let caseID: String
        public let type: EventType
        public let data: JSONValue
        public init(caseID: String, type: EventType, data: JSONValue) {
            self.caseID = caseID
            self.type = type
            self.data = data
        }
    }

    /// Starts a stream from its `case.opened`.
    public static func open(_ event: EventSubmission) throws(FieldError) -> StreamState {
        guard event.type == .caseOpened else {
            throw FieldError(path: "case_id", reason: "case \(event.caseID) has not been opened (its first event must be case.opened, got \(event.type.rawValue))")
        }
        return StreamState(caseID: event.caseID, version: 1, currency: event.subject!,
                           openedAtMicros: event.occurred.epochMicros, closed: false, visits: [:], plans: [:],
                           restrictions: [:], complaints: [:], voided: [])
    }

    /// Checks `event` against the stream and, when it may be appended, takes it in (version + 1).
    /// `lookup` finds any stored event by id, for voids.
    public mutating func admit(_ event: EventSubmission, lookup: (String) throws -> VoidTarget?) throws {
        if closed {
            throw FieldError(path: "case_id", reason: "case \(caseID) is closed (at version \(version)); no event may follow case.closed")
        }
        if event.type == .caseOpened {
            throw FieldError(path: "type", reason: "case \(caseID) is already open; case.opened must be its first and only opening")
        }
        if event.occurred.epochMicros < openedAtMicros {
            throw FieldError(path: "occurred_at", reason: "\(event.occurredAt) is before case \(caseID) was opened")
        }
        // The schema guarantees the subject (an id, or the currency) for the types that need one.
        func id(_ key: String) -> String { event.subject! }
        switch event.type {
        case .paymentReceived:
            let paid = id("currency")
            guard paid == currency else {
                throw FieldError(path: "data.currency", reason: "payment in \(paid), but case \(caseID) is in \(currency)")
            }
        case .visitBooked:
            let visit = id("visit_id")
            if let record = visits[visit], record.booked || record.completed {
                throw FieldError(path: "data.visit_id", reason: "visit \(visit) is already \(record.completed ? "completed" : "booked")")
            }
            visits[visit, default: VisitRecord()].booked = true
        case .visitCompleted:
            let visit = id("visit_id")
            if let record = visits[visit], record.completed || record.cancelled {
                throw FieldError(path: "data.visit_id", reason: "visit \(visit) is already \(record.completed ? "completed" : "cancelled")")
            }
            visits[visit, default: VisitRecord()].completed = true
        case .visitCancelled:
            let visit = id("visit_id")
            guard let record = visits[visit], record.booked, !record.completed, !record.cancelled else {
                throw FieldError(path: "data.visit_id", reason: "visit \(visit) is not a booked, pending visit of case \(caseID)")
            }
            visits[visit]!.cancelled = true
        case .planOffered:
            let plan = id("plan_id")
            if plans[plan] != nil { throw FieldError(path: "data.plan_id", reason: "plan \(plan) was already offered") }
            plans[plan] = "offered"
        case .planAccepted, .planDeclined:
            let plan = id("plan_id")
            guard let status = plans[plan] else {
                throw FieldError(path: "data.plan_id", reason: "plan \(plan) was never offered on case \(caseID)")
            }
            guard status == "offered" else { throw FieldError(path: "data.plan_id", reason: "plan \(plan) was already \(status)") }
            plans[plan] = event.type == .planAccepted ? "accepted" : "declined"
        case .contactRestricted:
            let restriction = id("restriction_id")
            if restrictions[restriction] != nil {
                throw FieldError(path: "data.restriction_id", reason: "restriction \(restriction) already exists on case \(caseID)")
            }
            restrictions[restriction] = "active"
        case .contactRestrictionLifted:
            let restriction = id("restriction_id")
            guard restrictions[restriction] == "active" else {
                throw FieldError(path: "data.restriction_id", reason: "restriction \(restriction) is not an active restriction of case \(caseID)")
            }
            restrictions[restriction] = "lifted"
        case .complaintFiled:
            let complaint = id("complaint_id")
            if complaints[complaint] != nil {
                throw FieldError(path: "data.complaint_id", reason: "complaint \(complaint) was already filed")
            }
            complaints[complaint] = "open"
        case .complaintResolved:
            let complaint = id("complaint_id")
            guard complaints[complaint] == "open" else {
                throw FieldError(path: "data.complaint_id", reason: "complaint \(complaint) is not an open complaint of case \(caseID)")
            }
            complaints[complaint] = "resolved"
        case .entryVoided:
            let target = id("voids").lowercased()
            guard let found = try lookup(target) else {
                throw FieldError(path: "data.voids", reason: "no event \(target) in the ledger")
            }
            guard found.caseID == caseID else {
                throw FieldError(path: "data.voids", reason: "event \(target) belongs to case \(found.caseID), not \(caseID)")
            }
            guard !voided.contains(target) else { throw FieldError(path: "data.voids", reason: "event \(target) is already voided") }
            guard found.type != .caseOpened, found.type != .entryVoided else {
                throw FieldError(path: "data.voids", reason: "a \(found.type.rawValue) cannot be voided")
            }
            voided.insert(target)
            undo(found)
        case .caseClosed:
            closed = true
        case .caseOpened, .callPlaced, .messageSent, .promiseMade, .caseEscalated, .noteRecorded:
            break
        }
        version += 1
    }

    /// A voided event no longer counts: take back what it did to the references.
    mutating func undo(_ target: VoidTarget) {
        func id(_ key: String) -> String? { target.data[key]?.stringValue }
        switch target.type {
        case .visitBooked: if let v = id("visit_id") { visits[v]?.booked = false }
        case .visitCompleted: if let v = id("visit_id") { visits[v]?.completed = false }
        case .visitCancelled: if let v = id("visit_id") { visits[v]?.cancelled = false }
        case .planOffered: if let p = id("plan_id") { plans[p] = nil }
        case .planAccepted, .planDeclined: if let p = id("plan_id"), plans[p] != nil { plans[p] = "offered" }
        case .contactRestricted: if let r = id("restriction_id") { restrictions[r] = nil }
        case .contactRestrictionLifted: if let r = id("restriction_id"), restrictions[r] != nil { restrictions[r] = "active" }
        case .complaintFiled: if let c = id("complaint_id") { complaints[c] = nil }
        case .complaintResolved: if let c = id("complaint_id"), complaints[c] != nil { complaints[c] = "open" }
        default: break
        }
    }
}

// MARK: - Persistence as JSON (the store keeps one row per case)

extension StreamState {
    public var json: JSONValue {
        func map(_ d: [String: String]) -> JSONValue { .object(JSONObject(d.map { ($0.key, .string($0.value)) })) }
        let visitMap = JSONObject(visits.map { entry -> (key: String, value: JSONValue) in
            let r = entry.value
            return (entry.key, .int((r.booked ? 1 : 0) | (r.completed ? 2 : 0) | (r.cancelled ? 4 : 0)))
        })
        return .object(JSONObject([
            ("case_id", .string(caseID)), ("version", .int(Int64(version))), ("currency", .string(currency)),
            ("opened_at_us", .int(openedAtMicros)), ("closed", .bool(closed)), ("visits", .object(visitMap)),
            ("plans", map(plans)), ("restrictions", map(restrictions)), ("complaints", map(complaints)),
            ("voided", .array(voided.sorted().map { .string($0) })),
        ]))
    }

    public init?(json: JSONValue) {
        guard let caseID = json["case_id"]?.stringValue, let version = json["version"]?.intValue,
            let currency = json["currency"]?.stringValue, let opened = json["opened_at_us"]?.intValue,
            let closed = json["closed"]?.boolValue
        else { return nil }
        func map(_ key: String) -> [String: String] {
            var out: [String: String] = [:]
            for member in json[key]?.objectValue?.members ?? [] { out[member.key] = member.value.stringValue }
            return out
        }
        var visits: [String: VisitRecord] = [:]
        for member in json["visits"]?.objectValue?.members ?? [] {
            let bits = member.value.intValue ?? 0
            visits[member.key] = VisitRecord(booked: bits & 1 != 0, completed: bits & 2 != 0, cancelled: bits & 4 != 0)
        }
        self.init(caseID: caseID, version: Int(version), currency: currency, openedAtMicros: opened, closed: closed,
                  visits: visits, plans: map("plans"), restrictions: map("restrictions"), complaints: map("complaints"),
                  voided: Set((json["voided"]?.arrayValue ?? []).compactMap(\.stringValue)))
    }
}
