/// The state of one case, folded from its events: the one fold behind the append checks, the
/// case-state projection, `verify` and replay. Pure Swift: no SQL, so it runs anywhere.
///
/// The case keeps a record of each event that matters beyond a count (opening, payments, plans,
/// promises, escalations, visits, restrictions, complaints, close); calls, messages and completed
/// visits are also counted. A void removes its target's record and count, so everything derived
/// (balance, status, active restrictions…) skips voided events, whenever the void arrives.
///
/// ```swift
/// var state = try CaseState.opening(event)          // from its case.opened
/// try state.check(next) { id in lookup(id) }          // may `next` be appended?
/// state.apply(next, voidTarget: target)               // fold it in
/// ```
public struct CaseState: Sendable, Equatable {
    public let caseID: String
    public private(set) var version: Int
    public private(set) var lastSeq: Int64
    /// The latest `occurred_at` of any event of the case, as written, and in microseconds.
    public private(set) var lastEventAt: String
    public private(set) var lastEventMicros: Int64
    public private(set) var calls: Int
    public private(set) var messages: Int
    public private(set) var visits: Int
    /// Ids of this case's events that an `entry.voided` has voided.
    public private(set) var voided: [String]
    /// Records of the events that matter beyond a count, voided ones removed; the opening first.
    public private(set) var records: [Record]
    /// Kept beside the records because every check reads them (a close cannot be voided).
    public private(set) var isClosed: Bool
    public let openedAtMicros: Int64

    /// One event the case remembers.
    public struct Record: Sendable, Equatable {
        /// The event id as its 16 bytes (`eventID` makes the text).
        public let id: CompactUUID
        public let seq: Int64
        public let type: EventType
        public let occurredAt: String
        public let occurredMicros: Int64
        /// `data` as stored (canonical JSON), so the record can be saved and read back.
        public let data: String
        public let fact: CaseFact

        public var eventID: String { id.string }

        /// Orders records by when they happened in the world, then by log position.
        func isLater(than other: Record) -> Bool {
            (occurredMicros, seq) > (other.occurredMicros, other.seq)
        }
    }

    public var opening: CaseFact.Opening {
        guard case .opened(let opening) = records[0].fact else { fatalError("a case state starts with its opening") }
        return opening
    }

    public var openedAt: String { records[0].occurredAt }
    public var currency: String { opening.currency }

    public var closure: Record? { isClosed ? records.last { if case .closed = $0.fact { true } else { false } } : nil }

    // MARK: - Starting a case

    /// The state after a case's first event, which must be its `case.opened`.
    public static func opening(_ event: CaseEvent, data: String) throws(FieldError) -> CaseState {
        guard case .opened = event.fact else {
            throw FieldError(path: "case_id", reason: "case \(event.caseID) has not been opened (its first event must be case.opened, got \(event.type.rawValue))")
        }
        let record = Record(id: event.id, seq: event.seq, type: event.type, occurredAt: event.occurredAt,
                            occurredMicros: event.occurredMicros, data: data, fact: event.fact)
        return CaseState(caseID: event.caseID, version: 1, lastSeq: event.seq, lastEventAt: event.occurredAt,
                         lastEventMicros: event.occurredMicros, calls: 0, messages: 0, visits: 0, voided: [], records: [record],
                         isClosed: false, openedAtMicros: event.occurredMicros)
    }

    // MARK: - The append rules

    /// Throws when `event` may not follow this state (docs/events.md and the domain checks).
    /// `target` is what an `entry.voided` points at (nil when the log has no such event).
    public func check(_ event: CaseEvent, target: VoidTarget?) throws(FieldError) {
        if isClosed, let closure {
            throw FieldError(path: "case_id", reason: "case \(caseID) was closed (\(closure.occurredAt)); no event may follow case.closed")
        }
        if event.occurredMicros < openedAtMicros {
            throw FieldError(path: "occurred_at", reason: "\(event.occurredAt) is before case \(caseID) was opened (\(openedAt))")
        }
        func has(_ match: (CaseFact) -> Bool) -> Bool { records.contains { match($0.fact) } }
        switch event.fact {
        case .opened:
            throw FieldError(path: "type", reason: "case \(caseID) is already open; case.opened must be its first and only opening")
        case .payment(_, let paid) where paid != currency:
            throw FieldError(path: "data.currency", reason: "payment in \(paid), but case \(caseID) is in \(currency)")
        case .payment(let amount, _):
            let (total, overflow) = paidMinor.addingReportingOverflow(amount)
            if overflow || total > Limits.maxMinorUnits {
                throw FieldError(path: "data.amount_minor", reason: "the payments of case \(caseID) would total more than \(Limits.maxMinorUnits), the largest amount the ledger keeps")
            }
        case .visitBooked(let visit, _):
            if has({ if case .visitBooked(visit, _) = $0 { true } else { false } }) {
                throw FieldError(path: "data.visit_id", reason: "visit \(visit) is already booked")
            }
            // A booking may arrive late (feeds do), but it must have been made before the visit took place.
            if let completion = records.first(where: { $0.fact.completesVisit(visit) }), event.occurredMicros >= completion.occurredMicros {
                throw FieldError(path: "data.visit_id", reason: "visit \(visit) was already completed (\(completion.occurredAt)); a booking must come before it")
            }
        case .visitCompleted(let visit, _):
            if has({ $0.completesVisit(visit) || $0 == .visitCancelled(visitID: visit) }) {
                throw FieldError(path: "data.visit_id", reason: "visit \(visit) is already completed or cancelled")
            }
        case .visitCancelled(let visit):
            let booked = has { if case .visitBooked(visit, _) = $0 { true } else { false } }
            if !booked || has({ $0.completesVisit(visit) || $0 == .visitCancelled(visitID: visit) }) {
                throw FieldError(path: "data.visit_id", reason: "visit \(visit) is not a booked, pending visit of case \(caseID)")
            }
        case .planOffered(let plan):
            if offer(plan.planID) != nil { throw FieldError(path: "data.plan_id", reason: "plan \(plan.planID) was already offered") }
        case .planDecided(let plan, _):
            guard offer(plan) != nil else {
                throw FieldError(path: "data.plan_id", reason: "plan \(plan) was never offered on case \(caseID)")
            }
            if let decided = decision(plan) {
                throw FieldError(path: "data.plan_id", reason: "plan \(plan) was already \(decided.type == .planAccepted ? "accepted" : "declined")")
            }
        case .restricted(let restriction):
            if has({ if case .restricted(let r) = $0 { r.restrictionID == restriction.restrictionID } else { false } }) {
                throw FieldError(path: "data.restriction_id", reason: "restriction \(restriction.restrictionID) already exists on case \(caseID)")
            }
        case .restrictionLifted(let restriction):
            let exists = has { if case .restricted(let r) = $0 { r.restrictionID == restriction } else { false } }
            if !exists || has({ $0 == .restrictionLifted(restrictionID: restriction) }) {
                throw FieldError(path: "data.restriction_id", reason: "restriction \(restriction) is not an active restriction of case \(caseID)")
            }
        case .complaintFiled(let complaint):
            if has({ $0 == .complaintFiled(complaintID: complaint) }) {
                throw FieldError(path: "data.complaint_id", reason: "complaint \(complaint) was already filed")
            }
        case .complaintResolved(let complaint):
            if !has({ $0 == .complaintFiled(complaintID: complaint) }) || has({ $0 == .complaintResolved(complaintID: complaint) }) {
                throw FieldError(path: "data.complaint_id", reason: "complaint \(complaint) is not an open complaint of case \(caseID)")
            }
        case .voided(let id):
            guard let target else { throw FieldError(path: "data.voids", reason: "no event \(id) in the ledger") }
            guard target.caseID == caseID else {
                throw FieldError(path: "data.voids", reason: "event \(id) belongs to case \(target.caseID), not \(caseID)")
            }
            guard !voided.contains(id) else { throw FieldError(path: "data.voids", reason: "event \(id) is already voided") }
            guard target.type != .caseOpened, target.type != .entryVoided else {
                throw FieldError(path: "data.voids", reason: "a \(target.type.rawValue) cannot be voided")
            }
        case .call, .message, .promise, .escalated, .note, .closed:
            break
        }
    }

    // MARK: - The fold

    /// Folds `event` in. `target` is the voided event, for an `entry.voided`. `data` is the event's
    /// canonical data, kept for the events the case remembers.
    public mutating func apply(_ event: CaseEvent, data: @autoclosure () -> String, target: VoidTarget?) {
        version += 1
        lastSeq = event.seq
        if event.occurredMicros > lastEventMicros {
            lastEventMicros = event.occurredMicros
            lastEventAt = event.occurredAt
        }
        switch event.fact {
        case .call: calls += 1
        case .message: messages += 1
        case .note: break
        case .voided(let id):
            voided.append(id)
            let voidedID = CompactUUID(id)
            records.removeAll { $0.id == voidedID }
            switch target?.type {
            case .callPlaced: calls -= 1
            case .messageSent: messages -= 1
            case .visitCompleted: visits -= 1
            default: break
            }
        default:
            if case .visitCompleted = event.fact { visits += 1 }
            if case .closed = event.fact { isClosed = true }
            // A fold of the log hands `data` over only for these types: a record kept for another would hold "{}".
            assert(CaseFact.foldKeepsData(event.type), "\(event.type.rawValue) is kept as a record: CaseFact.foldKeepsData must say so")
            records.append(Record(id: event.id, seq: event.seq, type: event.type, occurredAt: event.occurredAt,
                                  occurredMicros: event.occurredMicros, data: data(), fact: event.fact))
        }
    }

    // MARK: - Queries the rules and the view share

    func offer(_ planID: String) -> Record? {
        records.first { if case .planOffered(let plan) = $0.fact { plan.planID == planID } else { false } }
    }

    func decision(_ planID: String) -> Record? {
        records.first { if case .planDecided(planID, _) = $0.fact { true } else { false } }
    }

    /// The latest record (by occurred_at, then seq) of `type`.
    ///
    /// The records are compared in place, by index: walking them as values copied each one (a
    /// dozen retains and releases), several walks for every case state a rebuild writes.
    func latest(_ type: EventType) -> Record? {
        var best: Int?
        for index in records.indices where records[index].type == type {
            if let known = best, !records[index].isLater(than: records[known]) { continue }
            best = index
        }
        return best.map { records[$0] }
    }
}
