/// RFC 8785 (JSON Canonicalization Scheme) serialisation for the ledger's JSON: members sorted by
/// their UTF-16 code units, no insignificant whitespace, strings escaped as ECMAScript does.
/// For integer-only JSON this equals Python's
/// `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
///
/// ```swift
/// CanonicalJSON.string(["b": 1, "a": "x"])   // {"a":"x","b":1}
/// ```
public enum CanonicalJSON {
    /// Whether `bytes` hold `other`'s bytes from `start` on (the caller checked they fit): a
    /// plain loop, for the short names a fold looks up on every event.
    @inline(__always)
    static func sameBytes(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, as other: UnsafeBufferPointer<UInt8>) -> Bool {
        var offset = 0
        while offset < other.count {
            if bytes[start + offset] != other[offset] { return false }
            offset += 1
        }
        return true
    }

    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(value, into: &output)
        return output
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    public static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(literal: "null")
        case .bool(let b): output.append(literal: b ? "true" : "false")
        case .int(let i): writeInteger(i, into: &output)
        case .string(let s): writeString(s, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                write(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (position, member) in sortedMembers(object).enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Members in RFC 8785 order: by UTF-16 code units of the key. Members already in that order
    /// (most objects this code writes list them so) are checked, not sorted: sorting every
    /// violation's members took a quarter of a compliance report's time.
    static func sortedMembers(_ object: JSONObject) -> [(key: String, value: JSONValue)] {
        var members = object.members
        if members.indices.dropFirst().contains(where: { !precedes(members[$0 - 1].key, members[$0].key) }) {
            members.sort { precedes($0.key, $1.key) }
        }
        return members
    }

    /// UTF-16 code unit order, read from the UTF-8 bytes in one pass. The two orders agree at the
    /// first byte that differs, except where it sets a character from U+E000 to U+FFFF (lead byte
    /// 0xEE or 0xEF) against one above U+FFFF (lead byte 0xF0 or more): in UTF-16 the latter
    /// begins with a surrogate (0xD800 to 0xDBFF), which comes first. Bytes that differ after
    /// equal ones are both lead bytes or both continuation bytes of characters of the same length.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in b.withUTF8 { y in
            for (p, q) in zip(x, y) where p != q {
                if p >= 0xEE, q >= 0xEE, (p >= 0xF0) != (q >= 0xF0) { return p >= 0xF0 }
                return p < q
            }
            return x.count < y.count
        } }
    }

    public static func writeInteger(_ value: Int64, into output: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: JSONTextWriter.integerRoom) { buffer in
            var writer = JSONTextWriter(at: buffer.baseAddress!)
            writer.integer(value)
            output.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress, count: writer.end - buffer.baseAddress!))
        }
    }

    public static func writeString(_ string: String, into output: inout [UInt8]) {
        var string = string
        string.withUTF8 { writeString(utf8: $0, into: &output) }
    }

    /// `writeString` for text given as its UTF-8 bytes (a column read in place): the same escapes.
    public static func writeString(utf8: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        if firstEscape(in: utf8, from: 0) == nil {
            output.append(contentsOf: utf8)
        } else {
            // Escaped a piece at a time, each in room on the stack (six bytes a byte, at worst).
            var start = 0
            while start < utf8.count {
                let piece = UnsafeBufferPointer(rebasing: utf8[start..<min(start + escapedPiece, utf8.count)])
                output.append(room: JSONTextWriter.escapedRoom(piece.count)) { $0.escaped(utf8: piece) }
                start += piece.count
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// The most text escaped in one piece: its room stays within the 1,024 bytes a temporary
    /// allocation always takes on the stack.
    static let escapedPiece = 160

    /// Where the first byte at or after `start` is that a JSON string must escape (below 0x20,
    /// `"`, `\`), nil when there is none. Eight bytes at a time up to the first that might be.
    @inlinable @inline(__always)
    static func firstEscape(in utf8: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var position = start
        while position < utf8.count {
            if position + 8 <= utf8.count {
                let hits = escapedBytes(word(utf8, at: position))
                guard hits != 0 else {
                    position += 8
                    continue
                }
                position += hits.trailingZeroBitCount / 8
            }
            let byte = utf8[position]
            if byte < 0x20 || byte == 0x22 || byte == 0x5C { return position }
            position += 1
        }
        return nil
    }

    /// The eight bytes of `bytes` from `at` (which has eight left), the first in the lowest byte.
    @inlinable @inline(__always)
    static func word(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self))
    }

    /// The top bit of each byte of `word` that a string must escape (below 0x20, `"`, `\`), and
    /// perhaps of bytes after the first such. The usual bit tricks: `x - 0x01…01` borrows into
    /// the top bit of a byte that was zero, and a borrow spills upwards only past a byte that was
    /// itself a hit. So the word holds one exactly when this is non-zero, and the lowest bit set
    /// marks the first.
    @inlinable @inline(__always)
    static func escapedBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, tops: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
        let below20 = (word &- ones &* 0x20) & ~word
        let isQuote = (quote &- ones) & ~quote
        let isBackslash = (backslash &- ones) & ~backslash
        return (below20 | isQuote | isBackslash) & tops
    }
}

extension [UInt8] {
    /// Appends a literal's UTF-8 bytes in one copy, rather than through a String's `utf8` view:
    /// every stored case state is written from such literals.
    @usableFromInline
    mutating func append(literal: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends, in one copy, what `write` writes into `room` bytes, which must be at least what
    /// it writes (`JSONTextWriter`'s rooms give the worst cases). Each append to an array pays a
    /// call, a uniqueness and a capacity check (about 110 instructions for a literal of a few
    /// bytes), so text made of several pieces is written at a pointer first. Up to 1,024 bytes
    /// of room, the pointer is on the stack; more takes a heap allocation.
    mutating func append(room: Int, _ write: (inout JSONTextWriter) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: room) { buffer in
            var writer = JSONTextWriter(at: buffer.baseAddress!)
            write(&writer)
            let written = writer.end - buffer.baseAddress!
            precondition(written <= room, "JSON text overran the room made for it")
            append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<written]))
        }
    }
}

/// Writes JSON text at a pointer, into room made for it beforehand (a `TextBuffer`, or a
/// temporary allocation): each piece is a copy, with no check of its own, so the room must hold
/// the worst case (`stringRoom`, `integerRoom`). The canonical envelope of every appended and
/// verified event is written this way, as are integers and strings that need escapes.
public struct JSONTextWriter {
    /// Where the next byte goes.
    @usableFromInline var end: UnsafeMutablePointer<UInt8>

    @inlinable
    public init(at start: UnsafeMutablePointer<UInt8>) { end = start }

    /// The most a string of `count` UTF-8 bytes takes: its quotes, and every byte as `\u00XX`.
    @inlinable
    public static func stringRoom(_ count: Int) -> Int { 2 + escapedRoom(count) }

    /// The most `count` UTF-8 bytes take once escaped: six a byte (`\u00XX`).
    @inlinable
    public static func escapedRoom(_ count: Int) -> Int { 6 * count }

    /// The most an integer takes: 19 digits and a sign.
    public static let integerRoom = 20

    @inlinable
    public mutating func byte(_ byte: UInt8) {
        end.pointee = byte
        end += 1
    }

    @inlinable
    public mutating func bytes(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        end.update(from: source, count: bytes.count)
        end += bytes.count
    }

    @inlinable
    public mutating func literal(_ text: StaticString) {
        bytes(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `value` in decimal, written in place: its digits counted first, then written from the
    /// last, two at a time. A digit at a time, each written twice over (counted,
    /// then written), took 194 instructions a number in a rebuild, where the stored states
    /// write each event's time in microseconds, 16 digits.
    public mutating func integer(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 1
        var power: UInt64 = 10
        while digits < 20, magnitude >= power {
            digits += 1
            power = power &* 10  // wraps only past 10^19, beyond every UInt64's 20 digits
        }
        end += digits
        var position = end
        while magnitude >= 10 {
            let pair = UInt8(truncatingIfNeeded: magnitude % 100)
            magnitude /= 100
            position -= 2
            position[0] = UInt8(ascii: "0") + pair / 10
            position[1] = UInt8(ascii: "0") + pair % 10
        }
        if position > end - digits {
            position -= 1
            position.pointee = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude)
        }
    }

    /// A JSON string of these UTF-8 bytes (`escaped`, in quotes).
    public mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        byte(UInt8(ascii: "\""))
        escaped(utf8: utf8)
        byte(UInt8(ascii: "\""))
    }

    /// These UTF-8 bytes escaped as RFC 8785 says for a string's content: `"`, `\` and the
    /// controls below 0x20, those with a short form as `\b \f \n \r \t`, the others as `\u00XX`.
    public mutating func escaped(utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        while let at = CanonicalJSON.firstEscape(in: utf8, from: runStart) {
            bytes(UnsafeBufferPointer(rebasing: utf8[runStart..<at]))
            runStart = at + 1
            let escaped = utf8[at]
            byte(UInt8(ascii: "\\"))
            switch escaped {
            case 0x22: byte(0x22)
            case 0x5C: byte(0x5C)
            case 0x08: byte(UInt8(ascii: "b"))
            case 0x0C: byte(UInt8(ascii: "f"))
            case 0x0A: byte(UInt8(ascii: "n"))
            case 0x0D: byte(UInt8(ascii: "r"))
            case 0x09: byte(UInt8(ascii: "t"))
            default:
                literal("u00")
                byte(Hex.digit(escaped >> 4))
                byte(Hex.digit(escaped & 0x0F))
            }
        }
        bytes(UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }
}

/// Bytes written at a pointer (`JSONTextWriter`) into memory kept from one write to the next:
/// the canonical envelope of each appended or verified event is written over the last one's,
/// with no allocation and no append.
public struct TextBuffer {
    private var storage: [UInt8] = []
    /// How many bytes the last write wrote.
    public private(set) var count = 0

    public init() {}

    /// Replaces the contents with what `write` writes into `room` bytes, which must be at
    /// least what it writes (`JSONTextWriter`'s rooms give the worst cases).
    public mutating func write(room: Int, _ write: (inout JSONTextWriter) -> Void) {
        if storage.count < room { storage = [UInt8](repeating: 0, count: Swift.max(room, 2 * storage.count)) }
        count = storage.withUnsafeMutableBufferPointer { buffer in
            var writer = JSONTextWriter(at: buffer.baseAddress!)
            write(&writer)
            return writer.end - buffer.baseAddress!
        }
        precondition(count <= room, "JSON text overran the room made for it")
    }

    /// The bytes written last.
    public func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try storage.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[..<count])) }
    }
}

extension CanonicalJSON {
    /// Whether `bytes` are exactly the canonical form of a JSON document the parser accepts:
    /// the same answer as `(try? JSONParser.parse(bytes)).map(CanonicalJSON.bytes) == bytes`, but
    /// read in one pass without building a tree. `verify` asks it of every stored `data`, which
    /// is canonical unless someone edited the file; only then does it parse, to say what is wrong.
    public static func isCanonical(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var checker = CanonicalChecker(bytes: bytes)
        return checker.value(depth: 0) && checker.index == bytes.count
    }
}

/// A canonical JSON object read in place: its members' names and values as ranges of its bytes,
/// found while `isCanonical`'s checks run, with no tree built. How a fold reads the few fields it
/// needs from stored `data`, which is canonical unless the file was edited (then `init` gives nil
/// and the caller parses, as before).
///
/// ```swift
/// let object = CanonicalObject(bytes)   // {"amount_minor":1500,"currency":"EUR"}
/// object?.int("amount_minor")           // 1500
/// ```
public struct CanonicalObject {
    /// One member: its name between the quotes, and its whole value token.
    struct Member {
        let name: Range<Int>
        let value: Range<Int>
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private let members: [Member]

    /// Room for the members a check records, kept from one object to the next. A fold reads an
    /// object per event, one after another; an array of its own for each cost an allocation and
    /// a free (about 490 instructions an event). An object still alive when the room is used
    /// again keeps its members: the room then takes a new array. A value passed `inout`, so that
    /// reaching it costs no run-time exclusivity check.
    public struct MemberRoom {
        fileprivate var members: [Member] = []

        public init() {
            members.reserveCapacity(16)  // the schemas' objects have fewer members
        }
    }

    /// Nil unless `bytes` are exactly one canonical JSON object (`CanonicalJSON.isCanonical`).
    /// The object reads `bytes` in place: use it only while they live.
    public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        var room = MemberRoom()
        self.init(bytes, room: &room)
    }

    /// `init(_:)`, its members recorded in `room`'s array.
    public init?(_ bytes: UnsafeBufferPointer<UInt8>, room: inout MemberRoom) {
        guard let (object, length) = Self.leading(bytes, room: &room), length == bytes.count else { return nil }
        self = object
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, members: [Member]) {
        self.bytes = bytes
        self.members = members
    }

    /// The canonical object `bytes` start with, and how many bytes it takes (what follows it is
    /// not read); nil unless they start with one. How a reader finds the end of an object
    /// embedded in a larger document while it checks it.
    public static func leading(_ bytes: UnsafeBufferPointer<UInt8>) -> (object: CanonicalObject, length: Int)? {
        var room = MemberRoom()
        return leading(bytes, room: &room)
    }

    /// `leading(_:)`, its members recorded in `room`'s array.
    public static func leading(_ bytes: UnsafeBufferPointer<UInt8>, room: inout MemberRoom) -> (object: CanonicalObject, length: Int)? {
        guard bytes.first == UInt8(ascii: "{") else { return nil }
        var checker = CanonicalChecker(bytes: bytes)
        // Taken out of the room while the check fills it, so that it is appended to in place.
        checker.members = room.members
        room.members = []
        checker.members!.removeAll(keepingCapacity: true)
        let isObject = checker.value(depth: 0)
        room.members = checker.members ?? []
        guard isObject, let members = checker.members else { return nil }
        return (CanonicalObject(bytes: UnsafeBufferPointer(rebasing: bytes[..<checker.index]), members: members), checker.index)
    }

    /// The whole value token of the member `name`.
    private func token(_ name: String) -> UnsafeBufferPointer<UInt8>? {
        var utf8 = name
        return utf8.withUTF8 { token(named: $0) }
    }

    /// `token` for a name the code spells out (what a fold asks for): no copy of the name, and
    /// no look for characters to escape, since the schemas' names are letters, digits and `_`.
    private func token(_ name: StaticString) -> UnsafeBufferPointer<UInt8>? {
        let bytes = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        assert(bytes.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }, "a name the code spells out needs no escape")
        return find(bytes)
    }

    private func token(named name: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        // A name with a quote, a backslash or a control character is stored escaped; any other
        // is stored as its bytes (and only an escaped name holds a backslash).
        var plain = true
        for byte in name where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            plain = false
            break
        }
        if plain { return find(name) }
        var escaped: [UInt8] = []
        CanonicalJSON.writeString(String(decoding: name, as: UTF8.self), into: &escaped)
        return escaped.withUnsafeBufferPointer { find(UnsafeBufferPointer(rebasing: $0.dropFirst().dropLast())) }
    }

    /// The value token of the member whose name is `name`'s bytes as stored (between the quotes).
    private func find(_ name: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        for member in members where member.name.count == name.count && CanonicalJSON.sameBytes(bytes, at: member.name.lowerBound, as: name) {
            return UnsafeBufferPointer(rebasing: bytes[member.value])
        }
        return nil
    }

    /// The member's string, or nil when it is absent or not a string (as `JSONValue.stringValue`).
    public func string(_ name: String) -> String? { string(token: token(name)) }
    public func string(_ name: StaticString) -> String? { string(token: token(name)) }

    /// Whether the member is the string `word`, a word the code spells out (no escape in it):
    /// compared as bytes, with no String made.
    public func string(_ name: StaticString, is word: StaticString) -> Bool {
        guard let token = token(name), token.count == word.utf8CodeUnitCount + 2 else { return false }
        let inner = UnsafeBufferPointer(rebasing: token.dropFirst().dropLast())
        return token.first == UInt8(ascii: "\"") && token.last == UInt8(ascii: "\"")
            && CanonicalJSON.sameBytes(inner, at: 0, as: UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    private func string(token: UnsafeBufferPointer<UInt8>?) -> String? {
        guard let token, token.first == UInt8(ascii: "\"") else { return nil }
        let inner = UnsafeBufferPointer(rebasing: token.dropFirst().dropLast())
        if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
        return (try? JSONParser.parse(bytes: token))?.stringValue
    }

    /// The member's integer, or nil when it is absent or not an integer (as `JSONValue.intValue`).
    public func int(_ name: String) -> Int64? { int(token: token(name)) }
    public func int(_ name: StaticString) -> Int64? { int(token: token(name)) }

    private func int(token: UnsafeBufferPointer<UInt8>?) -> Int64? {
        guard let token, let first = token.first,
            first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        else { return nil }
        // Canonical: an optional minus and at most 16 digits, within ±(2^53 − 1).
        var magnitude: Int64 = 0
        for digit in token where digit != UInt8(ascii: "-") { magnitude = magnitude * 10 + Int64(digit - UInt8(ascii: "0")) }
        return first == UInt8(ascii: "-") ? -magnitude : magnitude
    }

    /// The member's value, parsed (for the rare nested one).
    public func value(_ name: String) -> JSONValue? { value(token: token(name)) }
    public func value(_ name: StaticString) -> JSONValue? { value(token: token(name)) }

    private func value(token: UnsafeBufferPointer<UInt8>?) -> JSONValue? {
        token.flatMap { try? JSONParser.parse(bytes: $0) }
    }

    /// Calls `body` with each element of the member `name`, read in place, while each is an
    /// object (a plan's installments), one element's members at a time in `room`. Returns false
    /// when the member is absent, not an array, or holds anything but objects: the caller then
    /// drops what it was given and parses the member with `value`. Parsing the array built a
    /// tree, about 14,000 instructions a plan.
    public func forEachObject(_ name: StaticString, room: inout MemberRoom, _ body: (CanonicalObject) -> Void) -> Bool {
        guard let token = token(name), token.first == UInt8(ascii: "[") else { return false }
        if token.count == 2 { return true }  // []
        var index = 1
        while index < token.count {
            // The whole object was checked, so each element is canonical where it starts.
            guard token[index] == UInt8(ascii: "{"),
                let (object, length) = Self.leading(UnsafeBufferPointer(rebasing: token[index...]), room: &room)
            else { return false }
            body(object)
            index += length
            guard index < token.count else { return false }
            switch token[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): return index == token.count - 1
            default: return false
            }
        }
        return false
    }
}

/// The one-pass reader behind `CanonicalJSON.isCanonical`. Every rule of the strict parser holds
/// (integers within ±(2^53 − 1), valid UTF-8, bounded nesting) and every choice RFC 8785 fixes:
/// no whitespace, members in UTF-16 order (so no duplicates), integers without leading zeros or
/// `-0`, and strings escaped exactly as `CanonicalJSON.writeString` escapes them.
private struct CanonicalChecker {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// When set, the outermost object's members are recorded here as they are checked.
    var members: [CanonicalObject.Member]?
    /// Whether the last string read held only ASCII and no escape (so it sorts as its bytes).
    private var lastStringIsASCII = true

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private var next: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func value(depth: Int) -> Bool {
        guard let next else { return false }
        switch next {
        case UInt8(ascii: "{"): return object(depth: depth + 1)
        case UInt8(ascii: "["): return array(depth: depth + 1)
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer()
        default: return false
        }
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        index += count
        return true
    }

    private mutating func object(depth: Int) -> Bool {
        guard depth <= JSONLimits.maxDepth else { return false }
        index += 1  // {
        if next == UInt8(ascii: "}") {
            index += 1
            return true
        }
        var previousKey: Range<Int>?
        var previousIsASCII = true
        while true {
            guard next == UInt8(ascii: "\""), let key = string() else { return false }
            if let previousKey, !precedes(previousKey, key, plain: previousIsASCII && lastStringIsASCII) { return false }
            previousKey = key
            previousIsASCII = lastStringIsASCII
            guard next == UInt8(ascii: ":") else { return false }
            index += 1
            let valueStart = index
            guard value(depth: depth) else { return false }
            if depth == 1 { members?.append(CanonicalObject.Member(name: key, value: valueStart..<index)) }
            switch next {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return true
            default: return false
            }
        }
    }

    private mutating func array(depth: Int) -> Bool {
        guard depth <= JSONLimits.maxDepth else { return false }
        index += 1  // [
        if next == UInt8(ascii: "]") {
            index += 1
            return true
        }
        while true {
            guard value(depth: depth) else { return false }
            switch next {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return true
            default: return false
            }
        }
    }

    /// `-`? then `0` alone or a non-zero digit and digits, at most 2^53 − 1, never `-0`; no fraction or exponent.
    private mutating func integer() -> Bool {
        let negative = next == UInt8(ascii: "-")
        if negative { index += 1 }
        let start = index
        var magnitude: Int64 = 0
        while let byte = next, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            guard index - start < 16 else { return false }  // 2^53 − 1 has 16 digits
            magnitude = magnitude * 10 + Int64(byte - UInt8(ascii: "0"))
            index += 1
        }
        guard index > start, magnitude <= JSONParser.maxSafeInteger else { return false }
        if bytes[start] == UInt8(ascii: "0") && (index - start > 1 || negative) { return false }
        return true
    }

    /// A string token exactly as `writeString` writes it; returns the range between its quotes.
    /// Sets `lastStringIsASCII`.
    private mutating func string() -> Range<Int>? {
        index += 1  // "
        let start = index
        lastStringIsASCII = true
        skipPlainWords()
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return start..<(index - 1)
            case ..<0x20:
                return nil
            case UInt8(ascii: "\\"):
                lastStringIsASCII = false
                guard index + 1 < bytes.count else { return nil }
                switch bytes[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                    UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    // Only the controls without a short escape are written as \u00xx, in lowercase hex.
                    guard index + 6 <= bytes.count, bytes[index + 2] == UInt8(ascii: "0"), bytes[index + 3] == UInt8(ascii: "0"),
                        let high = Self.hex(bytes[index + 4]), high <= 1, let low = Self.hex(bytes[index + 5])
                    else { return nil }
                    switch high << 4 | low {
                    case 0x08, 0x09, 0x0A, 0x0C, 0x0D: return nil
                    default: index += 6
                    }
                default:
                    return nil
                }
                skipPlainWords()
            case ..<0x80:
                index += 1
            default:
                lastStringIsASCII = false
                guard let length = Self.scalarLength(bytes, at: index) else { return nil }
                index += length
                skipPlainWords()
            }
        }
        return nil
    }

    /// Steps over the plain bytes from `index` (0x20 to 0x7F, but for `"` and `\`: each stands
    /// for itself in a string) eight at a time, to the first other byte (or the last word that
    /// fits). Most of a stored object's bytes are such runs (ids, times, names).
    @inline(__always)
    private mutating func skipPlainWords() {
        while index + 8 <= bytes.count {
            let word = CanonicalJSON.word(bytes, at: index)
            // An escaped byte, or one from 0x80 up (its top bit set).
            let hits = (CanonicalJSON.escapedBytes(word) | word) & 0x8080_8080_8080_8080
            if hits != 0 {
                index += hits.trailingZeroBitCount / 8
                return
            }
            index += 8
        }
    }

    /// A lowercase hex digit's value.
    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// The length of the well-formed UTF-8 sequence (of two to four bytes) at `at`, or nil:
    /// no overlong forms, no surrogates, nothing past U+10FFFF.
    private static func scalarLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return nil
        }
        guard index + length <= bytes.count, secondRange.contains(bytes[index + 1]) else { return nil }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) { return nil }
        return length
    }

    /// Whether the member name at `a` comes strictly before the one at `b` in UTF-16 code unit
    /// order. Names without escapes and without a character from U+E000 up (lead byte 0xEE or
    /// more) compare as their UTF-8 bytes; any other pair is decoded and compared as the writer does.
    /// `plain` says both names are ASCII without escapes, as the checker saw when it read them.
    private func precedes(_ a: Range<Int>, _ b: Range<Int>, plain: Bool) -> Bool {
        let first = UnsafeBufferPointer(rebasing: bytes[a]), second = UnsafeBufferPointer(rebasing: bytes[b])
        if plain {
            for offset in 0..<min(a.count, b.count) where first[offset] != second[offset] { return first[offset] < second[offset] }
            return a.count < b.count
        }
        let plain = { (name: UnsafeBufferPointer<UInt8>) in !name.contains { $0 == UInt8(ascii: "\\") || $0 >= 0xEE } }
        if plain(first) && plain(second) { return first.lexicographicallyPrecedes(second) }
        guard case .string(let x)? = try? JSONParser.parse(bytes: UnsafeBufferPointer(rebasing: bytes[(a.lowerBound - 1)..<(a.upperBound + 1)])),
            case .string(let y)? = try? JSONParser.parse(bytes: UnsafeBufferPointer(rebasing: bytes[(b.lowerBound - 1)..<(b.upperBound + 1)]))
        else { return false }
        return CanonicalJSON.precedes(x, y)
    }
}
