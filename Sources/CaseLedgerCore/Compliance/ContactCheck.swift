import Foundation

/// A contact that has not happened yet: what a dialer or a field app is about to do.
public struct PlannedContact: Sendable, Equatable {
    public enum Channel: String, Sendable, CaseIterable {
        case call, sms, email, app, letter, visit
    }

    /// Who a call or message would reach (the `party` of `call.placed` and `message.sent`).
    public static let parties = ["debtor", "third_party", "emergency_contact"]

    public let channel: Channel
    public let party: String
    public let at: Timestamp
    /// `kind:id`: rulebooks bind some kinds of actor and not others (an agency, a collector).
    public let actor: String
    /// For a call: judge it as one that reaches the debtor, so the connected-calls cap is
    /// checked too (the cautious reading, and the default).
    public let connected: Bool
    /// For a visit: which booked visit it completes; by default the latest booked visit not
    /// yet completed.
    public let visitID: String?

    public init(channel: Channel, party: String = "debtor", at: Timestamp, actor: String = "collector:contact-check",
                connected: Bool = true, visitID: String? = nil) {
        self.channel = channel
        self.party = party
        self.at = at
        self.actor = actor
        self.connected = connected
        self.visitID = visitID
    }

    /// The event id the planned contact is judged under (never a real event's: the nil UUID's v4 twin).
    static let eventID = "00000000-0000-4000-8000-000000000000"
    /// It is judged after every recorded event that occurred at the same instant.
    static let seq = Int64.max
}

/// The answer to "may I contact this debtor now?": the rules the contact would break, under every
/// rulebook in force for the case on the debtor-local day of `at`.
public struct ContactCheck: Sendable, Equatable {
    public let caseID: String
    public let planned: PlannedContact
    /// `at` on the debtor's clock.
    public let localTime: String
    public let wouldBreak: [Violation]
    /// The rulebooks that judged the contact.
    public let rulebooks: [String]
    /// Why no rulebook judged it, when none did.
    public let notJudged: String?

    public var allowed: Bool { wouldBreak.isEmpty }

    public var json: JSONValue {
        .object(JSONObject([
            ("case_id", .string(caseID)), ("allowed", .bool(allowed)),
            ("would_break", .array(wouldBreak.map { violation in
                .object(JSONObject([("rule", .string(violation.rule.rawValue)), ("rulebook", .string(violation.rulebook)),
                                    ("limit", .string(violation.limit.rawValue)), ("detail", .string(violation.detail))]))
            })),
            ("channel", .string(planned.channel.rawValue)), ("party", .string(planned.party)), ("actor", .string(planned.actor)),
            ("at", .string(planned.at.utcString)), ("local_time", .string(localTime)),
            ("rulebooks", .array(rulebooks.map { .string($0) })), ("not_judged", notJudged.map { .string($0) } ?? .null),
        ]))
    }
}

extension ContactRules {
    /// Judges `planned` as if it were appended now to `record`: the same fold and the same rules
    /// as the compliance projection, so what this says a contact would break is what `compliance`
    /// reports once that contact is recorded.
    public static func check(_ record: ComplianceCase, planned: PlannedContact, by choice: RulebookChoice) -> ContactCheck {
        var record = record
        let fact: CaseFact
        let type: EventType
        switch planned.channel {
        case .call:
            type = .callPlaced
            fact = .call(CaseFact.Call(outbound: true, party: planned.party, outcome: planned.connected ? "connected" : "no_answer",
                                       durationSeconds: nil))
        case .visit:
            type = .visitCompleted
            fact = .visitCompleted(visitID: planned.visitID ?? record.openBooking(before: planned.at.epochMicros) ?? "planned-visit",
                                   outcome: "met_debtor")
        case .sms, .email, .app, .letter:
            type = .messageSent
            fact = .message(channel: MessageChannel(rawValue: planned.channel.rawValue)!, party: planned.party)
        }
        record.add(CaseEvent(seq: PlannedContact.seq, id: CompactUUID(PlannedContact.eventID), caseID: record.caseID, type: type,
                             occurredAt: planned.at.utcString, occurredMicros: planned.at.epochMicros, actor: planned.actor, fact: fact),
                   voidReason: "")
        let outcome = judge(record, by: choice)
        let judgement = outcome.contacts.first { $0.seq == PlannedContact.seq }
        var clock = ZoneClock(TimeZoneCache.zone(record.timeZone) ?? TimeZoneCache.zone("UTC")!)
        return ContactCheck(caseID: record.caseID, planned: planned,
                            localTime: judgement?.localTime ?? LocalTime(planned.at.epochMicros, clock: &clock).time,
                            wouldBreak: outcome.violations.filter { $0.seq == PlannedContact.seq },
                            rulebooks: judgement?.rulebooks ?? [], notJudged: judgement?.notJudged)
    }
}

extension ComplianceCase {
    /// The visit booked most recently before `micros` that no recorded visit has completed yet.
    func openBooking(before micros: Int64) -> String? {
        let completed = Set(contacts.compactMap { contact -> String? in
            if case .visit(let visitID, _) = contact.kind, voidMark(of: contact.eventID) == nil { return visitID }
            return nil
        })
        return bookings.filter { $0.at < micros && !completed.contains($0.visitID) && voidMark(of: $0.eventID) == nil }
            .max { ($0.at, $0.seq) < ($1.at, $1.seq) }?.visitID
    }
}
