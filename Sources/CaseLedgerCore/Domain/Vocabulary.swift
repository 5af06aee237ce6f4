/// The ledger's closed vocabularies as types: what the schemas enumerate and what the rules and
/// views derive. Their raw values are exactly the words of the contract and the JSON.

/// A case's status (CONTRACT §6), derived by `CaseState.status`.
public enum CaseStatus: String, Sendable, CaseIterable, Codable {
    case open, promised
    case planActive = "plan_active"
    case escalated, closed
}

/// Where a case was escalated to (`case.escalated` → `to`).
public enum EscalationLevel: String, Sendable, CaseIterable, Codable {
    case supervisor, agency, legal
}

/// What a contact restriction covers (`contact.restricted` → `kind`).
public enum RestrictionKind: String, Sendable, CaseIterable, Codable {
    case ceaseAll = "cease_all"
    case noCalls = "no_calls"
    case noVisits = "no_visits"
    case noWorkplaceContact = "no_workplace_contact"
    case disputeHold = "dispute_hold"
    case hardshipHold = "hardship_hold"
}

/// How a message was sent (`message.sent` → `channel`).
public enum MessageChannel: String, Sendable, CaseIterable, Codable {
    case sms, letter, email, app
}

/// The contact channels a frequency cap can count (a rulebook's `frequency_channels`).
public enum ContactChannel: String, Sendable, CaseIterable, Codable {
    case call, sms, email, app, letter
}

/// The rule ids violations carry (CONTRACT §7).
public enum RuleID: String, Sendable, CaseIterable, Codable {
    case contactHours = "contact_hours"
    case callsPerDay = "calls_per_day"
    case callsPer7Days = "calls_per_7_days"
    case quietAfterConversation = "quiet_after_conversation"
    case visitWithoutBooking = "visit_without_booking"
    case contactDuringRestriction = "contact_during_restriction"
    case thirdPartyContact = "third_party_contact"
}

/// The rulebook field a violation exceeded: two caps share the rule id `calls_per_day`, and a
/// rule-change report tells them apart by this, never by the wording of the detail.
public enum RuleLimit: String, Sendable, CaseIterable, Codable {
    case contactHours = "contact_hours"
    case maxCallsPerDay = "max_calls_per_day"
    case maxConnectedCallsPerDay = "max_connected_calls_per_day"
    case maxCallsPer7Days = "max_calls_per_7_days"
    case quietDaysAfterConversation = "quiet_days_after_conversation"
    case visitsRequireBooking = "visits_require_booking"
    case honourRestrictions = "honour_restrictions"
    case thirdPartyContact = "third_party_contact"

    /// The rule id a breach of this limit is reported under.
    public var rule: RuleID {
        switch self {
        case .contactHours: .contactHours
        case .maxCallsPerDay, .maxConnectedCallsPerDay: .callsPerDay
        case .maxCallsPer7Days: .callsPer7Days
        case .quietDaysAfterConversation: .quietAfterConversation
        case .visitsRequireBooking: .visitWithoutBooking
        case .honourRestrictions: .contactDuringRestriction
        case .thirdPartyContact: .thirdPartyContact
        }
    }
}
