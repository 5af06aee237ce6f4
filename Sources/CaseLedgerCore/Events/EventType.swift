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
        guard let match = Self.names.first(where: { $0.name.count == utf8.count && $0.name.elementsEqual(utf8) }) else { return nil }
        self = match.type
    }

    /// Every type with its name's bytes.
    private static let names: [(name: [UInt8], type: EventType)] = allCases.map { (Array($0.rawValue.utf8), $0) }
}
