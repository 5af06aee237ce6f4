import Foundation

/// An event as a client submits it (docs/events.md), checked: envelope fields, `data` against its
/// schema, and `data`'s canonical bytes ready for hashing.
///
/// ```swift
/// let event = try EventSubmission(json: JSONParser.parse(line), now: .now)
/// ```
public struct EventSubmission: Sendable {
    /// Lowercased UUID: the idempotency key.
    public let eventID: String
    /// `eventID` as its 16 bytes, read here (on the thread that checks the line) once for the folds.
    public let id: CompactUUID
    public let caseID: String
    public let type: EventType
    public let schemaVersion: Int
    /// As submitted (RFC 3339 with an offset); this exact text is stored and hashed.
    public let occurredAt: String
    public let occurred: Timestamp
    public let actor: String
    public let expectedVersion: Int?
    /// What the event means for its case (taken from `data`), for the rules and the case state.
    /// Kept instead of the parsed tree, so a batch in flight holds compact events.
    public let fact: CaseFact
    /// RFC 8785 bytes of `data`: what is stored and hashed.
    public let canonicalData: [UInt8]

    /// The kinds an actor may be (`kind:id`).
    public static let actorKinds: Set<String> = ["collector", "visitor", "supervisor", "agency", "system", "debtor"]

    /// Checks everything that can be checked without the ledger's state. `now` is the ledger clock.
    public init(json: JSONValue, now: Timestamp, catalogue: SchemaCatalogue = .shared) throws(FieldError) {
        guard case .object(let envelope) = json else {
            throw FieldError(path: "event", reason: "expected a JSON object, got \(json.typeName)")
        }
        // One pass over the members: no hashing, no repeated lookups.
        var fields: (eventID: JSONValue?, caseID: JSONValue?, type: JSONValue?, occurredAt: JSONValue?, actor: JSONValue?,
                     expectedVersion: JSONValue?, data: JSONValue?, schemaVersion: JSONValue?)
        for member in envelope.members {
            switch member.key {
            case "event_id": fields.eventID = member.value
            case "case_id": fields.caseID = member.value
            case "type": fields.type = member.value
            case "occurred_at": fields.occurredAt = member.value
            case "actor": fields.actor = member.value
            case "data": fields.data = member.value
            case "expected_version": fields.expectedVersion = member.value
            case "schema_version": fields.schemaVersion = member.value
            case "seq", "version", "recorded_at", "hash":
                throw FieldError(path: member.key, reason: "assigned by the ledger, not by the client")
            default:
                throw FieldError(path: member.key, reason: "unknown field")
            }
        }
        func string(_ key: String, _ value: JSONValue?) throws(FieldError) -> String {
            guard let value else { throw FieldError(path: key, reason: "required field is missing") }
            guard case .string(let text) = value else { throw FieldError(path: key, reason: "expected string, got \(value.typeName)") }
            return text
        }

        let eventID = try string("event_id", fields.eventID)
        guard UUIDText.isValid(eventID) else {
            throw FieldError(path: "event_id", reason: "expected a UUID (8-4-4-4-12 hex digits), got \(JSONText.quoted(eventID))")
        }
        self.eventID = eventID.lowercased()
        id = CompactUUID(self.eventID)

        let caseID = try string("case_id", fields.caseID)
        guard Self.isValidCaseID(caseID) else {
            throw FieldError(path: "case_id", reason: "expected 1–\(Limits.maxCaseIDLength) characters of [A-Za-z0-9._:-], got \(JSONText.quoted(caseID))")
        }
        self.caseID = caseID

        let typeName = try string("type", fields.type)
        guard let type = EventType(rawValue: typeName) else {
            throw FieldError(path: "type", reason: "unknown event type \(JSONText.quoted(typeName))")
        }
        self.type = type

        if let given = fields.schemaVersion {
            guard let version = given.intValue, catalogue.schema(for: type, version: Int(version)) != nil else {
                let known = catalogue.versions(of: type).map(String.init).joined(separator: ", ")
                throw FieldError(path: "schema_version", reason: "\(type.rawValue) has schema versions \(known); got \(CanonicalJSON.string(given))")
            }
            schemaVersion = Int(version)
        } else {
            schemaVersion = catalogue.currentVersion(of: type)
        }

        occurredAt = try string("occurred_at", fields.occurredAt)
        guard let occurred = Timestamp(rfc3339: occurredAt), occurred.isInLedgerRange else {
            throw FieldError(path: "occurred_at", reason: Timestamp.problem(rfc3339: occurredAt) ?? "not a time the ledger accepts")
        }
        guard occurred.epochMicros <= now.epochMicros + Limits.maxFutureSkewSeconds * 1_000_000 else {
            throw FieldError(path: "occurred_at", reason: "\(occurredAt) is more than 5 minutes ahead of the ledger clock (\(now.utcString))")
        }
        self.occurred = occurred

        actor = try string("actor", fields.actor)
        guard Self.isValidActor(actor) else {
            throw FieldError(path: "actor", reason: "expected kind:id with kind one of \(Self.actorKinds.sorted().joined(separator: ", ")) and an id of [A-Za-z0-9._@+-] (at most \(Limits.maxActorLength) characters in all), got \(JSONText.quoted(actor))")
        }

        if let given = fields.expectedVersion {
            guard let version = given.intValue, version >= 0 else {
                throw FieldError(path: "expected_version", reason: "expected integer ≥ 0, got \(CanonicalJSON.string(given))")
            }
            expectedVersion = Int(version)
        } else {
            expectedVersion = nil
        }

        guard let dataValue = fields.data else { throw FieldError(path: "data", reason: "required field is missing") }
        try catalogue.schema(for: type, version: schemaVersion)!.validate(dataValue, at: "data", options: .ledger)
        guard case .object(let data) = dataValue else { throw FieldError(path: "data", reason: "expected object") }
        canonicalData = CanonicalJSON.bytes(dataValue)
        guard canonicalData.count <= Limits.maxDataBytes else {
            throw FieldError(path: "data", reason: "\(canonicalData.count) bytes; at most \(Limits.maxDataBytes) allowed")
        }
        try Self.checkSemantics(type: type, data: data)
        fact = CaseFact(type: type, data: Upcasters.upcast(type, from: schemaVersion, data, catalogue: catalogue))
    }

    /// The event as the case fold sees it, once the ledger has given it a `seq`.
    public func caseEvent(seq: Int64) -> CaseEvent {
        CaseEvent(seq: seq, id: id, caseID: caseID, type: type, occurredAt: occurredAt,
                  occurredMicros: occurred.epochMicros, actor: actor, fact: fact)
    }

    /// What a schema cannot say: the time zone exists, dates are in order, amounts add up.
    static func checkSemantics(type: EventType, data: JSONObject) throws(FieldError) {
        switch type {
        case .caseOpened:
            let zone = data["debtor_timezone"]!.stringValue!
            guard TimeZoneCache.zone(zone) != nil else {
                throw FieldError(path: "data.debtor_timezone", reason: "unknown IANA time zone \(JSONText.quoted(zone))")
            }
            // The balance starts at principal + fees: it must stay an exact JSON integer.
            let principal = data["principal_minor"]!.intValue!
            let fees = data["fees_minor"]?.intValue ?? 0
            let (owed, overflow) = principal.addingReportingOverflow(fees)
            guard !overflow, owed <= Limits.maxMinorUnits else {
                throw FieldError(path: "data.fees_minor", reason: "principal_minor + fees_minor is more than \(Limits.maxMinorUnits), the largest amount the ledger keeps")
            }
        case .complaintFiled:
            if let from = data["period_from"]?.stringValue, let to = data["period_to"]?.stringValue, from > to {
                throw FieldError(path: "data.period_to", reason: "\(to) is before period_from \(from)")
            }
        case .planOffered:
            let installments = data["installments"]!.arrayValue!
            var previous = ""
            for (position, installment) in installments.enumerated() {
                let due = installment["due_date"]!.stringValue!
                guard due >= previous else {
                    throw FieldError(path: "data.installments[\(position)].due_date", reason: "\(due) is before the installment before it (\(previous))")
                }
                previous = due
            }
        default:
            break
        }
    }

    static func isValidCaseID(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { u in
            guard !u.isEmpty, u.count <= Limits.maxCaseIDLength else { return false }
            for c in u where !(isAlphanumeric(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || c == UInt8(ascii: "-")) {
                return false
            }
            return true
        }
    }

    public static func isValidActor(_ actor: String) -> Bool {
        var actor = actor
        return actor.withUTF8 { u in
            guard u.count <= Limits.maxActorLength, let colon = u.firstIndex(of: UInt8(ascii: ":")), colon + 1 < u.count else { return false }
            let kind = UnsafeBufferPointer(rebasing: u[0..<colon])
            guard actorKindBytes.contains(where: { $0.elementsEqual(kind) }) else { return false }
            for c in u[(colon + 1)...] where !(isAlphanumeric(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_")
                || c == UInt8(ascii: "@") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")) {
                return false
            }
            return true
        }
    }

    private static let actorKindBytes: [[UInt8]] = actorKinds.map { Array($0.utf8) }

    @inline(__always)
    static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }
}

/// IANA time zones, looked up once each (Foundation's lookup reads the zoneinfo files).
public enum TimeZoneCache {
    nonisolated(unsafe) private static var zones: [String: TimeZone?] = [:]
    private static let lock = NSLock()

    public static func zone(_ identifier: String) -> TimeZone? {
        lock.lock()
        defer { lock.unlock() }
        if let cached = zones[identifier] { return cached }
        let zone = TimeZone(identifier: identifier)
        zones[identifier] = zone
        return zone
    }
}
