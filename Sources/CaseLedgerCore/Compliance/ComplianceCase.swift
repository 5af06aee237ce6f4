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

    private mutating func contact(_ event: CaseEvent, _ kind: Contact.Kind) -> Contact {
        let index: Int
        if let known = actors.firstIndex(of: event.actor) { index = known } else {
            actors.append(event.actor)
            index = actors.count - 1
        }
        return Contact(id: CompactUUID(event.eventID), seq: event.seq, type: event.type, occurredMicros: event.occurredMicros,
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

/// A UUID held as its 16 bytes (two words), so keeping one costs no allocation; `string` gives
/// back the lowercase 8-4-4-4-12 form the ledger stores.
struct CompactUUID: Sendable, Hashable {
    let high: UInt64
    let low: UInt64

    init(_ text: String) {
        // Read from the string's contiguous bytes: walking `utf8` a byte at a time costs several
        // times as much, and every contact of a fold makes one.
        var text = text
        (high, low) = text.withUTF8 { utf8 in Self.canonicalWords(utf8) ?? Self.words(utf8) }
    }

    /// `words` for a UUID in its 8-4-4-4-12 form, eight digits at a time (what every stored event
    /// id is); nil for another shape, or a byte that is not a hex digit where a digit stands.
    static func canonicalWords(_ utf8: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        let dash = UInt8(ascii: "-")
        guard utf8.count == 36, utf8[8] == dash, utf8[13] == dash, utf8[18] == dash, utf8[23] == dash else { return nil }
        let raw = UnsafeRawPointer(utf8.baseAddress!)
        func eight(_ offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        func four(_ offset: Int) -> UInt64 { UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        // The digits in four runs of eight: 0–7; 9–12 and 14–17; 19–22 and 24–27; 28–35.
        guard let a = hexValue(eight(0)), let b = hexValue(four(9) | four(14) << 32),
            let c = hexValue(four(19) | four(24) << 32), let d = hexValue(eight(28))
        else { return nil }
        return (UInt64(a) << 32 | UInt64(b), UInt64(c) << 32 | UInt64(d))
    }

    /// The number eight ASCII hex digits spell, the first digit in the lowest byte of `bytes` and
    /// the most significant in the result; nil unless every byte is a digit (either case).
    static func hexValue(_ bytes: UInt64) -> UInt32? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let tops = ones &* 0x80
        // ASCII only, so that adding below 0x80 to a byte never carries into the next one.
        guard bytes & tops == 0 else { return nil }
        /// Each byte's top bit set where that byte is at least `n`.
        func atLeast(_ n: UInt64, _ value: UInt64) -> UInt64 { (value &+ ones &* (0x80 - n)) & tops }
        let digits = atLeast(0x30, bytes) & ~atLeast(0x3A, bytes)
        let lowered = bytes | ones &* 0x20
        let letters = atLeast(0x61, lowered) & ~atLeast(0x67, lowered)
        guard digits | letters == tops else { return nil }
        // A digit's value is its low four bits; a letter's, its low four bits and 9.
        let nibbles = (bytes & (ones &* 0x0F)) &+ (letters >> 7) &* 9
        // Two nibbles to a byte (the first one high), then the four bytes together.
        var packed = (nibbles << 4 | nibbles >> 8) & 0x00FF_00FF_00FF_00FF
        packed = (packed | packed >> 8) & 0x0000_FFFF_0000_FFFF
        packed = (packed | packed >> 16) & 0xFFFF_FFFF
        return UInt32(truncatingIfNeeded: packed).byteSwapped
    }

    /// The two words of a UUID's hex digits; anything else (the dashes) is skipped.
    static func words(_ utf8: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var count = 0
        for byte in utf8 {
            let nibble: UInt64
            switch byte {
            case 48...57: nibble = UInt64(byte - 48)
            case 97...102: nibble = UInt64(byte - 87)
            case 65...70: nibble = UInt64(byte - 55)
            default: continue
            }
            if count < 16 { high = high << 4 | nibble } else { low = low << 4 | nibble }
            count += 1
        }
        return (high, low)
    }

    var string: String {
        // The 36 characters written in place, no intermediate bytes or strings: a report names
        // thousands of event ids.
        String(unsafeUninitializedCapacity: 36) { out in
            var at = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    out[at] = UInt8(ascii: "-")
                    at += 1
                }
                let word = nibble < 16 ? high : low
                out[at] = Hex.digit(UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * (nibble % 16)) & 0xF))
                at += 1
            }
            return at
        }
    }
}
