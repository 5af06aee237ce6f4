import Foundation

/// A versioned set of contact limits (docs/compliance.md): `Schemas/rulebooks/<id>.json`. An absent
/// (or null) limit is not checked. Immutable, and a class: the contact rules hand the rulebooks in
/// force from contact to contact, and passing a reference costs one count, not one per field.
///
/// ```swift
/// let rulebook = try Rulebook(json: text)
/// rulebook.contactHours   // (start: 480, end: 1320) minutes of the debtor's day, [start, end)
/// ```
public final class Rulebook: Sendable, Equatable {
    public let id: String
    public let title: String
    public let jurisdiction: String
    /// Days since 1970-01-01 of `effective_from` (a debtor-local date).
    public let effectiveFromDay: Int
    public let effectiveFrom: String
    public let source: String
    /// Minutes after local midnight: contact allowed in [start, end).
    public let contactHours: (start: Int, end: Int)?
    public let maxCallsPerDay: Int?
    public let maxConnectedCallsPerDay: Int?
    public let maxCallsPer7Days: Int?
    public let quietDaysAfterConversation: Int?
    public let visitsRequireBooking: Bool
    public let honourRestrictions: Bool
    public let forbidsThirdPartyContact: Bool
    /// The contacts the daily and 7-day caps count (default: calls).
    public let frequencyChannels: Set<ContactChannel>
    /// Whether the caps count calls alone (the default), which is how a breach names what it counted.
    let countsOnlyCalls: Bool
    /// `frequencyChannels` as bits (`ContactChannel.bit`), for `countsFrequency(of:)`.
    private let frequencyChannelBits: UInt8
    /// Whose contacts it judges, by actor kind (`agency` for a law binding only collection
    /// agencies); nil: everyone's.
    public let actorKinds: Set<String>?
    /// The rulebooks it replaces, for cases in its jurisdiction, from its effective date.
    public let supersedes: [String]
    /// An invented demonstration policy, labelled as such wherever it is shown.
    public let fictional: Bool
    /// The file as written, for evidence packs and replay records.
    public let json: JSONValue

    public static func == (a: Rulebook, b: Rulebook) -> Bool { a.json == b.json }

    public convenience init(json text: String) throws(FieldError) {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch { throw FieldError(path: "rulebook", reason: error.description) }
        try self.init(value)
    }

    /// `Schemas/rulebook.schema.json`, compiled: every rulebook is checked against it, as events are against theirs.
    public static let schema: JSONSchema = {
        guard let text = SchemaCatalogue.files["rulebook.schema.json"] else { fatalError("rulebook.schema.json is not embedded") }
        do { return try JSONSchema(json: text) } catch { fatalError("rulebook.schema.json does not load: \(error)") }
    }()

    /// Reads a rulebook file: at most `Limits.maxRulebookBytes`, UTF-8 without a byte-order mark,
    /// valid against the rulebook schema. Errors name the field and the reason.
    public static func read(path: String) throws(FieldError) -> Rulebook {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FieldError(path: "rulebook", reason: "cannot read \(path)")
        }
        defer { try? handle.close() }
        let bytes = [UInt8]((try? handle.read(upToCount: Limits.maxRulebookBytes + 1)) ?? Data())
        guard bytes.count <= Limits.maxRulebookBytes else {
            throw FieldError(path: "rulebook", reason: "\(path) is larger than \(Limits.maxRulebookBytes / 1024) KiB; a rulebook is a short list of limits")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw FieldError(path: "rulebook", reason: byteOrderMarkReason) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FieldError(path: "rulebook", reason: "\(path) is not UTF-8 text")
        }
        return try Rulebook(json: text)
    }

    /// A rulebook from its JSON, checked against `schema` and then field by field.
    public convenience init(_ value: JSONValue) throws(FieldError) {
        try self.init(value, checkingSchema: true)
    }

    /// `checkingSchema: false` is for the rulebooks embedded in this build alone, which a test
    /// checks against the schema: compiling the schema and checking them cost about a seventh of
    /// an empty `append`'s instructions (69.7 M with it, 59.4 M without).
    /// The field-by-field checks below run either way.
    init(_ value: JSONValue, checkingSchema: Bool) throws(FieldError) {
        if checkingSchema { try Self.schema.validate(value, at: "", options: .ledger) }
        guard case .object(let object) = value else { throw FieldError(path: "rulebook", reason: "expected a JSON object") }
        func string(_ key: String) throws(FieldError) -> String {
            guard let text = object[key]?.stringValue, !text.isEmpty else { throw FieldError(path: key, reason: "required, a non-empty string") }
            return text
        }
        func limit(_ key: String) throws(FieldError) -> Int? {
            guard let given = object[key], given != .null else { return nil }
            guard let number = given.intValue, number >= 1 else { throw FieldError(path: key, reason: "expected integer ≥ 1 or null") }
            return Int(number)
        }
        func flag(_ key: String) throws(FieldError) -> Bool {
            guard let given = object[key], given != .null else { return false }
            guard let bool = given.boolValue else { throw FieldError(path: key, reason: "expected true, false or null") }
            return bool
        }
        id = try string("id")
        title = try string("title")
        jurisdiction = try string("jurisdiction")
        effectiveFrom = try string("effective_from")
        guard let day = CalendarDate.days(effectiveFrom) else {
            throw FieldError(path: "effective_from", reason: "expected a date YYYY-MM-DD, got \(effectiveFrom)")
        }
        effectiveFromDay = day
        source = try string("source")
        if let hours = object["contact_hours"], hours != .null {
            guard let start = hours["start"]?.stringValue.flatMap(Self.minutes), let end = hours["end"]?.stringValue.flatMap(Self.minutes),
                start < end
            else { throw FieldError(path: "contact_hours", reason: "expected {\"start\": \"HH:MM\", \"end\": \"HH:MM\"} with start before end") }
            contactHours = (start, end)
        } else {
            contactHours = nil
        }
        maxCallsPerDay = try limit("max_calls_per_day")
        maxConnectedCallsPerDay = try limit("max_connected_calls_per_day")
        maxCallsPer7Days = try limit("max_calls_per_7_days")
        quietDaysAfterConversation = try limit("quiet_days_after_conversation")
        visitsRequireBooking = try flag("visits_require_booking")
        honourRestrictions = try flag("honour_restrictions")
        switch object["third_party_contact"] {
        case nil, .null?, .string("allow")?: forbidsThirdPartyContact = false
        case .string("forbid")?: forbidsThirdPartyContact = true
        default: throw FieldError(path: "third_party_contact", reason: "expected \"allow\", \"forbid\" or null")
        }
        frequencyChannels = Set((object["frequency_channels"]?.arrayValue ?? [.string("call")]).compactMap { $0.stringValue.flatMap(ContactChannel.init) })
        countsOnlyCalls = frequencyChannels == [.call]
        frequencyChannelBits = frequencyChannels.reduce(0) { $0 | $1.bit }
        actorKinds = object["actor_kinds"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) }
        supersedes = (object["supersedes"]?.arrayValue ?? []).compactMap(\.stringValue)
        fictional = object["fictional"]?.boolValue ?? false
        json = value
    }

    /// Whether the daily and 7-day caps count contacts on `channel`.
    func countsFrequency(of channel: ContactChannel) -> Bool {
        frequencyChannelBits & channel.bit != 0
    }

    /// Whether this rulebook judges contacts made by `actor` (`kind:id`).
    public func judges(actor: String) -> Bool {
        guard let actorKinds else { return true }
        return actorKinds.contains(String(actor.prefix { $0 != ":" }))
    }

    /// Whether its jurisdiction covers a case's `region`: the region itself, a prefix of it at a
    /// '-' ("US" covers "US-MA"), or "*".
    public func covers(region: String?) -> Bool {
        if jurisdiction == "*" { return true }
        guard let region else { return false }
        return RegionCode.covers(jurisdiction, region)
    }

    /// Minutes after midnight of `HH:MM`.
    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
            (0...23).contains(h), (0...59).contains(m)
        else { return nil }
        return h * 60 + m
    }

    /// `HH:MM` for minutes after midnight (0 to 1439), written into a small String: a finding
    /// outside the contact hours names three of them.
    static func clock(_ minutes: Int) -> String {
        guard (0..<24 * 60).contains(minutes) else { return "\(pad(minutes / 60, 2)):\(pad(minutes % 60, 2))" }
        return String(unsafeUninitializedCapacity: 5) { text in
            CalendarDate.writeDigits(minutes / 60, count: 2, at: text.baseAddress!)
            text[2] = UInt8(ascii: ":")
            CalendarDate.writeDigits(minutes % 60, count: 2, at: text.baseAddress! + 3)
            return 5
        }
    }
}

/// How a case's contacts are judged: one rulebook for everything (`--rules FILE`, a what-if), or
/// the rulebooks in force (the shipped set, chosen per case and per debtor-local day).
public enum RulebookChoice: Sendable {
    case given(Rulebook)
    case inForce(RulebookLibrary)

    /// The rulebooks that judge a contact of a case in `region` on debtor-local `localDay` (empty
    /// when none applies), and the days around it on which the same ones are in force: the set
    /// changes only on the effective date of a rulebook that covers the region. The judge asks
    /// once per stretch of a case's days.
    public func stretch(region: String?, around localDay: Int) -> (days: Range<Int>, rulebooks: [Rulebook]) {
        switch self {
        case .given(let rulebook): (Int.min..<Int.max, [rulebook])
        case .inForce(let library): library.stretch(region: region, around: localDay)
        }
    }

    public var rulebooks: [Rulebook] {
        switch self {
        case .given(let rulebook): [rulebook]
        case .inForce(let library): library.rulebooks
        }
    }
}

/// The shipped rulebooks (`Schemas/rulebooks/`, embedded at build time) and which are in force.
///
/// For a case's `region` on a debtor-local day, **every** rulebook in force applies at once: a
/// contact is judged by its jurisdiction's law and by the bank's own policy, and each violation
/// names the rulebook it breaks. In force: its jurisdiction covers the region, its
/// `effective_from` is on or before the day, and no other rulebook in force for the case names
/// it in `supersedes`. A contact no rulebook is in force for is *not judged*, and is said so.
public struct RulebookLibrary: Sendable {
    public let rulebooks: [Rulebook]

    /// A digest of the library: when the shipped rulebooks change, the compliance projection is
    /// rebuilt. Computed once: every opening of a ledger compares it.
    public let fingerprint: String

    /// The distinct jurisdictions of `rulebooks`, in their order: a region's jurisdictions (those
    /// that cover it) are a mask of their positions. Empty when there are more than 64.
    private let jurisdictions: [String]
    /// For each mask a region can have (its jurisdictions are a chain: `*`, then a code and the
    /// codes it is a sub-region of), the rulebooks in force on each stretch of days, worked out
    /// once here. The judge asked for them once per case and stretch, 11,000 instructions a time
    /// with the shipped rulebooks: about a tenth of its work in a rebuild.
    private let timelines: [UInt64: Timeline]

    public init(rulebooks: [Rulebook]) {
        self.rulebooks = rulebooks.sorted { ($0.jurisdiction, $0.effectiveFromDay, $0.id) < ($1.jurisdiction, $1.effectiveFromDay, $1.id) }
        var bytes: [UInt8] = []
        for rulebook in self.rulebooks { CanonicalJSON.write(rulebook.json, into: &bytes) }
        fingerprint = HashChain.hex(HashChain.next(previous: HashChain.genesis, canonical: bytes))
        var jurisdictions: [String] = []
        for rulebook in self.rulebooks where !jurisdictions.contains(rulebook.jurisdiction) { jurisdictions.append(rulebook.jurisdiction) }
        guard jurisdictions.count <= 64 else {
            self.jurisdictions = []
            timelines = [:]
            return
        }
        self.jurisdictions = jurisdictions
        var timelines: [UInt64: Timeline] = [:]
        // The jurisdictions of a region that no code covers, or of no region: `*` alone, if there.
        let regions: [String?] = [nil] + jurisdictions.filter { $0 != "*" }
        for region in regions {
            let mask = Self.mask(of: region, among: jurisdictions)
            if timelines[mask] == nil { timelines[mask] = Timeline(self.rulebooks, region: region) }
        }
        self.timelines = timelines
    }

    /// The positions in `jurisdictions` of those that cover `region`.
    private static func mask(of region: String?, among jurisdictions: [String]) -> UInt64 {
        var mask: UInt64 = 0
        for (position, jurisdiction) in jurisdictions.enumerated() where jurisdiction == "*" || region.map({ RegionCode.covers(jurisdiction, $0) }) == true {
            mask |= 1 << UInt64(position)
        }
        return mask
    }

    /// When the rulebooks in force for a region change (the effective dates of those that cover
    /// it) and which are in force from each.
    private struct Timeline: Sendable {
        /// The distinct effective dates, ascending.
        let changes: [Int]
        /// `inForce[0]` before the first change; `inForce[i + 1]` from `changes[i]`.
        let inForce: [[Rulebook]]

        init(_ rulebooks: [Rulebook], region: String?) {
            let covering = rulebooks.filter { $0.covers(region: region) }
            changes = Set(covering.map(\.effectiveFromDay)).sorted()
            inForce = [[]] + changes.map { RulebookLibrary.inForce(among: covering, localDay: $0) }
        }

        func stretch(around localDay: Int) -> (days: Range<Int>, rulebooks: [Rulebook]) {
            var index = 0
            while index < changes.count, changes[index] <= localDay { index += 1 }
            let from = index == 0 ? Int.min : changes[index - 1]
            let until = index == changes.count ? Int.max : changes[index]
            return (from..<until, inForce[index])
        }
    }

    /// The rulebooks embedded in this build (`shippedFiles`), read without compiling the rulebook
    /// schema: `RulebookTests` checks each against it.
    public static let shipped: RulebookLibrary = {
        var books: [Rulebook] = []
        for (path, text) in shippedFiles {
            do {
                books.append(try Rulebook(try JSONParser.parse(text), checkingSchema: false))
            } catch {
                fatalError("shipped rulebook \(path) does not load: \(error)")
            }
        }
        return RulebookLibrary(rulebooks: books)
    }()

    /// The embedded rulebook files, by path (`rulebooks/<id>.json`), in path order.
    static var shippedFiles: [(path: String, text: String)] {
        SchemaCatalogue.files.sorted(by: { $0.key < $1.key })
            .filter { $0.key.hasPrefix("rulebooks/") && $0.key.hasSuffix(".json") }
            .map { ($0.key, $0.value) }
    }

    /// See `RulebookChoice.stretch(region:around:)`. A region whose jurisdictions have no
    /// timeline made beforehand (not a chain of codes, or a library of more than 64) has its
    /// timeline made for the question.
    public func stretch(region: String?, around localDay: Int) -> (days: Range<Int>, rulebooks: [Rulebook]) {
        let made = jurisdictions.isEmpty ? nil : timelines[Self.mask(of: region, among: jurisdictions)]
        return (made ?? Timeline(rulebooks, region: region)).stretch(around: localDay)
    }

    /// Of the rulebooks that cover a region (in the library's order), those in force on
    /// `localDay`: effective by then, and superseded by none of the others effective by then.
    private static func inForce(among covering: [Rulebook], localDay: Int) -> [Rulebook] {
        let candidates = covering.filter { $0.effectiveFromDay <= localDay }
        let superseded = Set(candidates.flatMap(\.supersedes))
        return candidates.filter { !superseded.contains($0.id) }
    }
}
