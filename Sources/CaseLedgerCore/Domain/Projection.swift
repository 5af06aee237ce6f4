/// A projection: a named, versioned fold of the log into tables of the ledger file, kept current
/// in the same transaction as every append, and rebuilt from the log (drop, replay, new
/// checkpoint) when its version changes. The fold is pure Swift, so the same code runs on append,
/// on rebuild, in `verify` and in replay.
///
/// Bump `version` whenever the fold or its stored form changes: a ledger written by an older
/// release then rebuilds the projection when it is opened.
public protocol Projection {
    associatedtype State
    /// Stable name: the key of the projection's checkpoint.
    static var name: String { get }
    static var version: Int { get }
    /// Folds one event into the state.
    static func apply(_ event: CaseEvent, to state: inout State, target: VoidTarget?, data: @autoclosure () -> String)
}

/// Every case's current state (docs/compliance.md, `case show`, `case list`), one row per case.
public enum CaseStateProjection: Projection {
    public static let name = "case_state"
    public static let version = 1

    public static func apply(_ event: CaseEvent, to state: inout CaseState?, target: VoidTarget?, data: @autoclosure () -> String) {
        // Folded in place through the optional chain: comparing `state` with nil first made a
        // copy of the whole state (every field retained, then released) for each event.
        if state?.apply(event, data: data(), target: target) == nil {
            state = try? CaseState.opening(event, data: data())
        }
    }
}

/// The audit trail's one derived fact: which events were voided, by which event, who, when and
/// why. Entries themselves are read from the log through the `(actor, seq)` and `(case_id,
/// version)` indexes, with their summary sentence made by `AuditSummary`.
public enum AuditProjection: Projection {
    public static let name = "audit"
    public static let version = 1

    /// A voided event's mark.
    public struct VoidMark: Sendable, Equatable {
        public let voidedEventID: String
        public let voidingEventID: String
        public let voidingSeq: Int64
        public let actor: String
        public let occurredAt: String
        public let reason: String

        public init(voidedEventID: String, voidingEventID: String, voidingSeq: Int64, actor: String, occurredAt: String, reason: String) {
            self.voidedEventID = voidedEventID
            self.voidingEventID = voidingEventID
            self.voidingSeq = voidingSeq
            self.actor = actor
            self.occurredAt = occurredAt
            self.reason = reason
        }

        /// The void as reports show it on the voided event: the voiding event, who, when and why
        /// (members in canonical order, so writing it sorts nothing).
        public var json: JSONValue {
            .object(JSONObject([("actor", .string(actor)), ("event_id", .string(voidingEventID)), ("occurred_at", .string(occurredAt)),
                                ("reason", .string(reason)), ("seq", .int(voidingSeq))]))
        }
    }

    public static func apply(_ event: CaseEvent, to marks: inout [VoidMark], target: VoidTarget?, data: @autoclosure () -> String) {
        guard case .voided(let id) = event.fact else { return }
        let reason = (try? JSONParser.parse(data()))?["reason"]?.stringValue ?? ""
        marks.append(VoidMark(voidedEventID: id, voidingEventID: event.eventID, voidingSeq: event.seq, actor: event.actor,
                              occurredAt: event.occurredAt, reason: reason))
    }
}

/// Violations of the rulebooks in force (docs/compliance.md), per case: a case's contacts are judged
/// again whenever one of its events arrives, since a late contact can change what breaks a limit.
public enum ComplianceProjection: Projection {
    public static let name = "compliance"
    /// 2: every rulebook in force judges at once; violations name their limit; contacts judged or not.
    public static let version = 2

    /// Whether an event of this type can change what the rules find for its case: an opening, a
    /// contact, a booking, a restriction or its lift, a void. Anything else (a note, a payment, a
    /// plan) leaves the case's violations as they were: the appender need not judge the case
    /// again, and `apply` leaves its record as it is.
    public static func matters(_ type: EventType) -> Bool {
        switch type {
        case .caseOpened, .callPlaced, .messageSent, .visitBooked, .visitCompleted, .contactRestricted, .contactRestrictionLifted,
             .entryVoided: true
        default: false
        }
    }

    /// The types `matters` names: a fold of this projection alone reads only these from the log
    /// (about four events in five of a generated portfolio).
    public static let eventTypes = EventType.allCases.filter(matters)

    public static func apply(_ event: CaseEvent, to record: inout ComplianceCase?, target: VoidTarget?, data: @autoclosure () -> String) {
        if record == nil {
            record = ComplianceCase(opening: event)
        } else {
            record!.add(event, voidReason: (try? JSONParser.parse(data()))?["reason"]?.stringValue ?? "")
        }
    }
}
