/// The v1 catalogue (docs/catalogue.md): every kind of event the ledger records.
public enum EventType: String, Sendable, CaseIterable, Hashable {
    case caseOpened = "case.opened"
    case callPlaced = "call.placed"
    case messageSent = "message.sent"
    case visitBooked = "visit.booked"
    case visitCompleted = "visit.completed"
    case visitCancelled = "visit.cancelled"
    case planOffered = "plan.offered"
    case planAccepted = "plan.accepted"
    case planDeclined = "plan.declined"
    case promiseMade = "promise.made"
    case paymentReceived = "payment.received"
    case caseEscalated = "case.escalated"
    case complaintFiled = "complaint.filed"
    case complaintResolved = "complaint.resolved"
    case contactRestricted = "contact.restricted"
    case contactRestrictionLifted = "contact.restriction_lifted"
    case noteRecorded = "note.recorded"
    case entryVoided = "entry.voided"
    case caseClosed = "case.closed"
}

extension EventType {
    /// The type whose name is `utf8` (a stored row's column, read in place: no String is made).
    public init?(utf8: UnsafeBufferPointer<UInt8>) {
        guard utf8.count < Self.byLength.count else { return nil }
        for (name, type) in Self.byLength[utf8.count] where name.withUnsafeBufferPointer({ CanonicalJSON.sameBytes(utf8, at: 0, as: $0) }) {
            self = type
            return
        }
        return nil
    }

    /// Every type with its name's bytes, by the name's length: a row's type is compared with the
    /// one to four names of its length.
    private static let byLength: [[(name: [UInt8], type: EventType)]] = {
        var table = Array(repeating: [(name: [UInt8], type: EventType)](), count: allCases.map(\.rawValue.utf8.count).max()! + 1)
        for type in allCases { table[type.rawValue.utf8.count].append((Array(type.rawValue.utf8), type)) }
        return table
    }()

    /// Hashes the case, not its name (the default for a type with a raw value hashes the String):
    /// tables keyed by type are looked up once per event in a fold.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(ordinal)
    }

    /// Its place in the catalogue, as `allCases` lists it.
    var ordinal: Int {
        switch self {
        case .caseOpened: 0
        case .callPlaced: 1
        case .messageSent: 2
        case .visitBooked: 3
        case .visitCompleted: 4
        case .visitCancelled: 5
        case .planOffered: 6
        case .planAccepted: 7
        case .planDeclined: 8
        case .promiseMade: 9
        case .paymentReceived: 10
        case .caseEscalated: 11
        case .complaintFiled: 12
        case .complaintResolved: 13
        case .contactRestricted: 14
        case .contactRestrictionLifted: 15
        case .noteRecorded: 16
        case .entryVoided: 17
        case .caseClosed: 18
        }
    }
}
