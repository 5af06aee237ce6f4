@testable import CaseLedgerCore
import Foundation
import XCTest

/// `CanonicalJSON.isCanonical` answers, in one pass without a tree, what parsing and writing
/// canonically answers: whether the bytes are exactly the canonical form of a document the
/// strict parser accepts. `verify` trusts its "yes" for every stored `data`, so a "yes" where
/// the definition says no would let an edited row pass: these tests compare the two on
/// canonical documents, on near-misses of each kind, and on many random mutations.
final class CanonicalCheckTests: XCTestCase {
    /// The definition: parse, write canonically, compare.
    private func oracle(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            guard let value = try? JSONParser.parse(bytes: buffer) else { return false }
            return CanonicalJSON.bytes(value) == bytes
        }
    }

    private func check(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer(CanonicalJSON.isCanonical) }

    private func assertAgrees(_ text: String, _ expected: Bool, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = Array(text.utf8)
        XCTAssertEqual(oracle(bytes), expected, "the definition on \(text.debugDescription)", file: file, line: line)
        XCTAssertEqual(check(bytes), expected, "isCanonical on \(text.debugDescription)", file: file, line: line)
    }

    /// (U+10000 is D800 DC00 in UTF-16, so it sorts before U+E000, though its UTF-8 bytes sort after.)
    func testCanonicalDocumentsAndEachKindOfNearMiss() {
        for text in [#"{}"#, #"[]"#, #"0"#, #"-1"#, #"9007199254740991"#, #"-9007199254740991"#, #"true"#, #"null"#,
                     #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#, #"{"amount_minor":125000,"currency":"CNY"}"#,
                     #""\"\\\b\f\n\r\t\u0000\u001f\u000b""#, "\"债务人 \u{7F} / \u{2028} 😀\"",
                     #"{"a":1,"aa":2,"b":3}"#, "{\"\u{10000}\":1,\"\u{E000}\":2}", ##"{"\"":1,"#":2}"##] {
            assertAgrees(text, true)
        }
        for text in [#" {}"#, #"{} "#, #"{"a": 1}"#, #"{"b":1,"a":2}"#, #"{"a":1,"a":2}"#, #"01"#, #"-0"#, #"1.0"#, #"1e3"#,
                     #"9007199254740992"#, #"-9007199254740992"#, #"12345678901234567"#, #"99999999999999999999"#, #"[-123456789012345678901234]"#, #""\/""#, #""\u000a""#, #""\u001F""#,
                     #""\u0041""#, #""\ud83d\ude00""#, "\"\u{01}\"", #""abc"#, #"[1,]"#, #"{"a":1,}"#, #"tru"#, #"nul"#, #""#,
                     #"{"a"}"#, #"[1 ,2]"#, "{\"\u{E000}\":1,\"\u{10000}\":2}", ##"{"#":1,"\"":2}"##,
                     String(repeating: "[", count: 17) + String(repeating: "]", count: 17)] {
            assertAgrees(text, false)
        }
        assertAgrees(String(repeating: "[", count: 16) + String(repeating: "]", count: 16), true)
        // Invalid UTF-8 inside a string: overlong, surrogate, past U+10FFFF, truncated.
        for bytes: [UInt8] in [[0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE4, 0xBD, 0x22]] {
            XCTAssertFalse(oracle(bytes))
            XCTAssertFalse(check(bytes), "isCanonical on \(bytes)")
        }
    }

    /// Keys are ordered by their UTF-16 code units (RFC 8785), compared from their UTF-8 bytes:
    /// every pair of keys made of characters either side of the places where the two encodings
    /// order differently (U+D7FF, U+E000, U+FFFF, U+10000 and beyond) is ordered as UTF-16 orders it.
    func testKeysAreOrderedByTheirUTF16CodeUnits() {
        let alphabet: [String] = ["", "a", "\u{7F}", "é", "\u{7FF}", "\u{800}", "债", "\u{D7FF}", "\u{E000}", "\u{F8FF}", "\u{FFFF}",
                                  "\u{10000}", "😀", "\u{10FFFF}"]
        var keys = Set<String>()
        for x in alphabet { for y in alphabet { for z in ["", "a", "\u{E000}", "😀"] { keys.insert(x + y + z) } } }
        var reversed = 0
        for a in keys {
            for b in keys {
                let expected = a.utf16.lexicographicallyPrecedes(b.utf16)
                XCTAssertEqual(CanonicalJSON.precedes(a, b), expected, "\(a.debugDescription) before \(b.debugDescription)")
                if expected != a.utf8.lexicographicallyPrecedes(b.utf8) { reversed += 1 }
            }
        }
        XCTAssertGreaterThan(reversed, 1_000, "pairs whose UTF-8 bytes order otherwise")
        // An object's members come out in that order, however they went in.
        let object = JSONObject([("\u{E000}", .int(1)), ("b", .int(2)), ("😀", .int(3)), ("a", .int(4))])
        XCTAssertEqual(String(decoding: CanonicalJSON.bytes(.object(object)), as: UTF8.self), "{\"a\":4,\"b\":2,\"😀\":3,\"\u{E000}\":1}")
    }

    /// Random documents, written canonically (yes), then mutated a byte or a few at a time
    /// (mostly no): the check and the definition agree on every one.
    func testRandomDocumentsAndTheirMutationsAgreeWithTheDefinition() {
        var random = SeededRandom(seed: 8785)
        // The long runs reach the eight-bytes-at-a-time paths of the check and the writer.
        let alphabet: [String] = ["a", "b", "z", "A", "_", "0", "\"", "\\", "/", "\u{0}", "\u{8}", "\u{B}", "\u{1F}", "\u{7F}", "é", "债",
                                  "\u{E000}", "\u{FFFF}", "😀", " ", "\n", "abcdefghij", "2024-01-05T09:30:00Z"]
        func text() -> String { (0..<Int.random(in: 0...4, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined() }
        func value(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0...(depth > 3 ? 3 : 5), using: &random) {
            case 0: return .int(Int64.random(in: -JSONParser.maxSafeInteger...JSONParser.maxSafeInteger, using: &random) >> Int64.random(in: 0...52, using: &random))
            case 1: return .string(text())
            case 2: return [.bool(true), .bool(false), .null].randomElement(using: &random)!
            case 3: return .int(Int64.random(in: -12...12, using: &random))
            case 4: return .array((0..<Int.random(in: 0...3, using: &random)).map { _ in value(depth + 1) })
            default:
                var members: [(key: String, value: JSONValue)] = []
                for _ in 0..<Int.random(in: 0...4, using: &random) {
                    let key = text()
                    if !members.contains(where: { $0.key == key }) { members.append((key, value(depth + 1))) }
                }
                return .object(JSONObject(members))
            }
        }
        let pieces: [[UInt8]] = [" ", ",", ":", "\"", "\\", "{", "}", "[", "]", "0", "-", ".", "e", "u", "\\u00", "\\/", "\u{0}"].map { Array($0.utf8) }
            + [[0xC0], [0xED, 0xA0, 0x80], [0xFF], [0xE4]]
        var yes = 0, no = 0
        for _ in 0..<4_000 {
            let canonical = CanonicalJSON.bytes(value(0))
            XCTAssertTrue(check(canonical), "a canonical document: \(String(decoding: canonical, as: UTF8.self))")
            for _ in 0..<6 {
                var mutated = canonical
                for _ in 0..<Int.random(in: 1...2, using: &random) {
                    let at = Int.random(in: 0...mutated.count, using: &random)
                    switch Int.random(in: 0...3, using: &random) {
                    case 0 where at < mutated.count: mutated.remove(at: at)
                    case 1 where at < mutated.count: mutated[at] = UInt8.random(in: 0...255, using: &random)
                    case 2 where at + 1 < mutated.count: mutated.swapAt(at, at + 1)
                    default: mutated.insert(contentsOf: pieces.randomElement(using: &random)!, at: at)
                    }
                }
                let expected = oracle(mutated)
                if expected { yes += 1 } else { no += 1 }
                XCTAssertEqual(check(mutated), expected, "on \(mutated) (\(String(decoding: mutated, as: UTF8.self).debugDescription))")
            }
        }
        // The mutations must reach both answers, or the comparison proves little.
        XCTAssertGreaterThan(yes, 100)
        XCTAssertGreaterThan(no, 10_000)
    }

    /// The check and `writeString` step over plain bytes eight at a time. Whatever breaks a run
    /// (a byte to escape, an escape, DEL, a non-ASCII character, invalid UTF-8) is found at every
    /// offset of a word, in a string alone, as a member name and in an array.
    func testWhatBreaksALongRunIsFoundAtEveryOffset() {
        let breaks: [[UInt8]] = [[0x22], [0x5C], [0x5C, 0x6E], [0x5C, 0x2F], [0x00], [0x1F], [0x20], [0x7F], [0x21], [0x5B], [0x5D],
                                 Array("é".utf8), Array("债".utf8), Array("😀".utf8), [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE4, 0xBD], [0x80], [0xFF]]
        var yes = 0
        for length in 0...19 {
            for at in 0...length {
                for piece in breaks {
                    var inner = [UInt8](repeating: UInt8(ascii: "k"), count: length)
                    inner.insert(contentsOf: piece, at: at)
                    let string = [0x22] + inner + [0x22]
                    for document in [string, Array(#"{"#.utf8) + string + Array(#":1,"l":2}"#.utf8), Array(#"["#.utf8) + string + Array(#","x"]"#.utf8)] {
                        let expected = oracle(document)
                        if expected { yes += 1 }
                        XCTAssertEqual(check(document), expected, "on \(String(decoding: document, as: UTF8.self).debugDescription)")
                    }
                    // Valid UTF-8 is written escaped exactly as a byte at a time would.
                    guard let text = String(validating: inner, as: UTF8.self) else { continue }
                    var written: [UInt8] = []
                    CanonicalJSON.writeString(text, into: &written)
                    XCTAssertEqual(written, escapedByteByByte(inner), "writeString of \(text.debugDescription)")
                }
            }
        }
        XCTAssertGreaterThan(yes, 1_000)
    }

    /// A string longer than one piece of escaping (`CanonicalJSON.escapedPiece`) is escaped a
    /// piece at a time: plain, all escapes (each byte six at worst), and with a break on either
    /// side of each piece's edge, it comes out as a byte at a time would write it.
    func testALongStringIsEscapedPieceByPieceAsAByteAtATime() {
        let piece = CanonicalJSON.escapedPiece
        for length in [piece - 1, piece, piece + 1, 2 * piece, 2 * piece + 3, 5 * piece + 7] {
            var texts: [[UInt8]] = [
                [UInt8](repeating: UInt8(ascii: "k"), count: length),
                [UInt8](repeating: 0x01, count: length),
                (0..<length).map { UInt8($0 % 0x24) },
            ]
            for edge in [piece - 1, piece, piece + 1, 2 * piece - 1, 2 * piece] where edge < length {
                for escape: UInt8 in [0x22, 0x5C, 0x0A, 0x1F] {
                    var text = [UInt8](repeating: UInt8(ascii: "k"), count: length)
                    text[edge] = escape
                    texts.append(text)
                }
            }
            for text in texts {
                var written: [UInt8] = []
                CanonicalJSON.writeString(String(decoding: text, as: UTF8.self), into: &written)
                XCTAssertEqual(written, escapedByteByByte(text), "length \(length): \(String(decoding: text.prefix(40), as: UTF8.self).debugDescription)…")
            }
        }
    }

    /// An event's canonical envelope, written at a pointer into a reused buffer, is the
    /// canonical JSON of the same members: with fields that need escapes, with `data` longer
    /// than the buffer held before (it grows), and a short envelope after a long one (only the
    /// short one's bytes are read back).
    func testAnEnvelopeIsTheCanonicalJSONOfItsMembers() throws {
        let long = #"{"text":""# + String(repeating: #"债务 \"quoted\" \\ \u0001 😀 "#, count: 400) + #""}"#
        let events = [
            StoredEvent(seq: 1, eventID: "e-1", caseID: "C-1", version: 1, type: "note.recorded", schemaVersion: 1,
                        occurredAt: "2024-03-05T10:00:00+08:00", recordedAt: "2024-03-05T02:00:01Z", actor: "a\"b\\c\u{1}d", data: long, hash: ""),
            StoredEvent(seq: 9_007_199_254_740_991, eventID: "018ccb14-fec0-7149-be86-612c1e172385", caseID: "C-\u{7F}é", version: 42,
                        type: "call.placed", schemaVersion: 2, occurredAt: "2024-01-02T16:50:00Z", recordedAt: "2024-01-02T16:50:00.123456Z",
                        actor: "collector:zhang.wei", data: #"{"direction":"outbound"}"#, hash: ""),
        ]
        var buffer = TextBuffer()
        for event in events {
            guard case .object(let data) = try JSONParser.parse(event.data) else { return XCTFail("data is an object") }
            let members: [(key: String, value: JSONValue)] = [
                ("seq", .int(event.seq)), ("event_id", .string(event.eventID)), ("case_id", .string(event.caseID)),
                ("version", .int(event.version)), ("type", .string(event.type)), ("schema_version", .int(event.schemaVersion)),
                ("occurred_at", .string(event.occurredAt)), ("recorded_at", .string(event.recordedAt)),
                ("actor", .string(event.actor)), ("data", .object(data)),
            ]
            let expected = CanonicalJSON.bytes(.object(JSONObject(members)))
            XCTAssertEqual(event.canonicalBytes(), expected, "seq \(event.seq)")
            StoredEvent.writeCanonical(seq: event.seq, eventID: event.eventID, caseID: event.caseID, version: event.version,
                                       type: event.type, schemaVersion: event.schemaVersion, occurredAt: event.occurredAt,
                                       recordedAt: event.recordedAt, actor: event.actor, canonicalData: Array(event.data.utf8), into: &buffer)
            XCTAssertEqual(buffer.withBytes { Array($0) }, expected, "seq \(event.seq), written over the buffer's last contents")
        }
    }

    /// Written two digits at a time from the last: every number below 1,000, each power of ten
    /// and its neighbours (where the digit count changes), either sign, and random ones.
    func testIntegersAreWrittenAsTheirDecimalText() {
        var random = SeededRandom(seed: 10)
        var edges: [Int64] = [JSONParser.maxSafeInteger, -JSONParser.maxSafeInteger, .max, .min, .min + 1] + (-1_000...1_000).map { $0 }
        var power: Int64 = 1
        for _ in 0..<18 {
            power *= 10
            edges += [power - 1, power, power + 1, -power + 1, -power, -power - 1]
        }
        for value in edges + (0..<2_000).map({ _ in Int64.random(in: .min ... .max, using: &random) >> Int64.random(in: 0...63, using: &random) }) {
            var written: [UInt8] = [0x5B]
            CanonicalJSON.writeInteger(value, into: &written)
            XCTAssertEqual(String(decoding: written, as: UTF8.self), "[" + String(value))
        }
    }

    /// RFC 8785's string escapes, one byte at a time: the definition `writeString` keeps to.
    private func escapedByteByByte(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for byte in bytes {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x08: out += Array(#"\b"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0C: out += Array(#"\f"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case ..<0x20: out += Array(String(format: "\\u%04x", Int(byte)).utf8)
            default: out.append(byte)
            }
        }
        return out + [0x22]
    }

    /// A fold reads stored `data` in place (`CanonicalObject`): for a canonical object, each
    /// member read that way is what the parsed tree holds, and anything else is refused (nil),
    /// so that the caller parses it as before.
    func testAnObjectReadInPlaceHoldsWhatTheParsedTreeHolds() {
        func read(_ bytes: [UInt8], _ body: (CanonicalObject?) -> Void) { bytes.withUnsafeBufferPointer { body(CanonicalObject($0)) } }
        let sample = #"{"amount_minor":-125000,"b":[1,{"c":"d"}],"currency":"CNY","e":"a\"b\\c\n\u0007 债 😀","n":null,"t":true,"zero":0}"#
        read(Array(sample.utf8)) { object in
            guard let object else { return XCTFail("a canonical object is read") }
            XCTAssertEqual(object.int("amount_minor"), -125000)
            XCTAssertEqual(object.int("zero"), 0)
            XCTAssertEqual(object.string("currency"), "CNY")
            XCTAssertEqual(object.string("e"), "a\"b\\c\n\u{7} 债 😀")
            XCTAssertEqual(object.value("b"), .array([.int(1), .object(JSONObject([("c", .string("d"))]))]))
            XCTAssertNil(object.string("amount_minor"), "an integer is not a string")
            XCTAssertNil(object.int("currency"), "a string is not an integer")
            XCTAssertNil(object.string("n"))
            XCTAssertNil(object.int("t"))
            XCTAssertNil(object.string("c"), "only the outer object's members are read")
            XCTAssertNil(object.string("amount"), "a prefix of a name is another name")
            XCTAssertNil(object.string("missing"))
            XCTAssertTrue(object.string("currency", is: "CNY"))
            for (name, word) in [("currency", "CN"), ("currency", "CNYX"), ("currency", "cny"), ("amount_minor", "-125000"),
                                 ("n", "null"), ("missing", "")] as [(StaticString, StaticString)] {
                XCTAssertFalse(object.string(name, is: word), "\(name) is not the string \(word)")
            }
        }
        // A name holding a backslash and n is not the name holding a line feed, stored as \n.
        read(Array(#"{"a\n":1,"a\\n":2}"#.utf8)) { object in
            XCTAssertEqual(object?.int("a\n"), 1)
            XCTAssertEqual(object?.int("a\\n"), 2)
            XCTAssertNil(object?.int("a\\\\n"))
        }
        for refused in [#"{"b":1,"a":2}"#, #"{"a": 1}"#, #"[1]"#, #""x""#, #"{"a":1} "#, #"{"a":01}"#, #"{"a":"\u0041"}"#, #"{"a":1"#, #""#] {
            read(Array(refused.utf8)) { XCTAssertNil($0, "not one canonical object: \(refused)") }
        }

        // Random objects and their mutations: read in place exactly when canonical, and then the
        // same as the tree, member by member.
        var random = SeededRandom(seed: 2026)
        let alphabet: [String] = ["a", "b", "_", "0", "\"", "\\", "\u{0}", "\u{1F}", "é", "债", "😀", " "]
        func text() -> String { (0..<Int.random(in: 0...3, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined() }
        func scalar() -> JSONValue {
            switch Int.random(in: 0...4, using: &random) {
            case 0: return .int(Int64.random(in: -JSONParser.maxSafeInteger...JSONParser.maxSafeInteger, using: &random) >> Int64.random(in: 0...52, using: &random))
            case 1, 2: return .string(text())
            case 3: return [.bool(true), .null].randomElement(using: &random)!
            default: return .array([scalar()])
            }
        }
        var readInPlace = 0, refusedCount = 0
        for _ in 0..<3_000 {
            var members: [(key: String, value: JSONValue)] = []
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                let key = text()
                if !members.contains(where: { $0.key == key }) { members.append((key, scalar())) }
            }
            let canonical = CanonicalJSON.bytes(.object(JSONObject(members)))
            var mutated = canonical
            if Bool.random(using: &random) {
                let at = Int.random(in: 0..<mutated.count, using: &random)
                mutated[at] = [UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "1"), UInt8(ascii: "}")].randomElement(using: &random)!
            }
            let tree = try? mutated.withUnsafeBufferPointer { try JSONParser.parse(bytes: $0) }
            read(mutated) { object in
                guard let object else {
                    refusedCount += 1
                    guard case .object = tree else { return }
                    return XCTAssertFalse(oracle(mutated), "a canonical object refused: \(String(decoding: mutated, as: UTF8.self))")
                }
                readInPlace += 1
                guard case .object(let parsed) = tree, oracle(mutated) else {
                    return XCTFail("read in place, but not a canonical object: \(String(decoding: mutated, as: UTF8.self))")
                }
                for (key, value) in parsed.members {
                    XCTAssertEqual(object.string(key), value.stringValue, "\(key.debugDescription) in \(String(decoding: mutated, as: UTF8.self))")
                    XCTAssertEqual(object.int(key), value.intValue, "\(key.debugDescription)")
                    XCTAssertEqual(object.value(key), value, "\(key.debugDescription)")
                }
                XCTAssertNil(object.value("not a key of the alphabet"))
            }
        }
        XCTAssertGreaterThan(readInPlace, 1_000)
        XCTAssertGreaterThan(refusedCount, 500)
    }

    /// Every name of a small alphabet, present or not, is found exactly when it is a member:
    /// names before the first, after the last, between two, prefixes and extensions of the
    /// members' names, with and now and then without every name plain ASCII.
    func testEveryNamePresentOrAbsentIsFoundExactlyWhenItIsAMember() {
        let letters = ["a", "b", "z", "_", "0", "A"]
        let universe = [""] + letters + letters.flatMap { x in letters.map { x + $0 } } + ["aaa", "ab_", "zzz", "0a0"]
        var random = SeededRandom(seed: 77)
        for round in 0..<400 {
            var members: [(key: String, value: JSONValue)] = []
            for _ in 0..<random.int(0...20) {
                let key = universe[random.int(0...(universe.count - 1))]
                if !members.contains(where: { $0.key == key }) { members.append((key, .int(Int64(members.count)))) }
            }
            // Now and then a name that is not plain: an escape, a character past ASCII.
            if round % 4 == 3 { members.append(([#"a"b"#, "b\u{7}", "é", "债"][random.int(0...3)], .int(99))) }
            let bytes = CanonicalJSON.bytes(.object(JSONObject(members)))
            bytes.withUnsafeBufferPointer { buffer in
                guard let object = CanonicalObject(buffer) else { return XCTFail("canonical bytes refused") }
                for name in universe + [#"a"b"#, "b\u{7}", "é", "债"] {
                    XCTAssertEqual(object.int(name), members.first { $0.key == name }?.value.intValue,
                                   "\(name.debugDescription) in \(String(decoding: bytes, as: UTF8.self))")
                }
            }
        }
    }

    /// A fold reads each row's type from the column's bytes: every name gives its type, and
    /// nothing else gives one.
    func testATypeReadFromItsBytesIsTheTypeItNames() {
        for type in EventType.allCases {
            XCTAssertEqual(Array(type.rawValue.utf8).withUnsafeBufferPointer(EventType.init(utf8:)), type)
        }
        for name in ["", "call", "call.place", "call.placedx", "CALL.PLACED", "call_placed", "case.opened ", "entry.voided\u{0}"] {
            XCTAssertNil(Array(name.utf8).withUnsafeBufferPointer(EventType.init(utf8:)), name.debugDescription)
        }
    }

    /// A type hashes its place in the catalogue, not its name: each has its own place, so a table
    /// keyed by type holds one entry per type and finds each.
    func testEachTypeHashesItsOwnPlaceInTheCatalogue() {
        XCTAssertEqual(EventType.allCases.map(\.ordinal), Array(EventType.allCases.indices))
        var names: [EventType: String] = [:]
        for type in EventType.allCases { names[type] = type.rawValue }
        XCTAssertEqual(names.count, EventType.allCases.count)
        for type in EventType.allCases {
            XCTAssertEqual(names[type], type.rawValue)
            XCTAssertEqual(type.hashValue, EventType(rawValue: type.rawValue)?.hashValue)
        }
    }

    /// Every event of a generated portfolio (all types, several time zones): the fact read from
    /// its canonical data in place is the fact read from the parsed tree.
    /// A room lends the same array to one object after another. An object still held when the
    /// room reads the next keeps its own members, and a refused document leaves the room usable.
    func testAnObjectKeptWhileItsRoomReadsTheNextStillReadsItsOwnMembers() {
        var room = CanonicalObject.MemberRoom()
        let documents = [#"{"a":1,"b":"x"}"#, #"{"a":2,"c":[1,{"a":3}],"d":"y","e":"z"}"#, #"{"b":1,"a":2}"#, #"{"z":"last"}"#].map { Array($0.utf8) }
        documents[0].withUnsafeBufferPointer { first in
            documents[1].withUnsafeBufferPointer { second in
                documents[2].withUnsafeBufferPointer { refused in
                    documents[3].withUnsafeBufferPointer { last in
                        guard let kept = CanonicalObject(first, room: &room), let next = CanonicalObject(second, room: &room) else {
                            return XCTFail("canonical objects are read")
                        }
                        XCTAssertNil(CanonicalObject(refused, room: &room), "members out of order")
                        let final = CanonicalObject(last, room: &room)
                        XCTAssertEqual(kept.int("a"), 1)
                        XCTAssertEqual(kept.string("b"), "x")
                        XCTAssertNil(kept.string("d"), "the next object's members are not the kept one's")
                        XCTAssertEqual(next.int("a"), 2)
                        XCTAssertEqual(next.string("d"), "y")
                        XCTAssertEqual(next.string("e"), "z")
                        XCTAssertNil(next.string("b"))
                        XCTAssertEqual(final?.string("z"), "last")
                        XCTAssertNil(final?.int("a"))
                    }
                }
            }
        }
    }

    func testEveryGeneratedEventsFactReadsTheSameInPlace() throws {
        var types: Set<EventType> = []
        var room = CanonicalObject.MemberRoom()  // one for every event, as a fold has
        try PortfolioGenerator(cases: 300, seed: 11).forEachEvent { event in
            guard let type = event["type"]?.stringValue.flatMap(EventType.init(rawValue:)), case .object(let data)? = event["data"] else {
                return XCTFail("an event without a type or data: \(event)")
            }
            types.insert(type)
            let bytes = CanonicalJSON.bytes(.object(data))
            let inPlace = bytes.withUnsafeBufferPointer { CanonicalObject($0, room: &room).map { CaseFact(type: type, canonical: $0) } }
            XCTAssertEqual(try XCTUnwrap(inPlace, "\(type): canonical data refused"), CaseFact(type: type, data: data), "\(type)")
        }
        XCTAssertEqual(types.count, EventType.allCases.count, "the portfolio holds every type")
    }

    /// A plan's installments are read in place when the array holds objects only, and through
    /// the parser otherwise: either way the fact is the one read from the parsed tree.
    func testAPlansInstallmentsReadInPlaceOrParsedGiveTheSameFact() throws {
        // (installments as stored, the number of objects read in place or nil for a parse)
        let cases: [(String, Int?)] = [
            ("[]", 0),
            (#"[{"amount_minor":100,"due_date":"2025-01-01"},{"amount_minor":200,"due_date":"2025-02-01"}]"#, 2),
            (#"[{"amount_minor":-7,"due_date":"a\"b\\c\u001f"}]"#, 1),
            (#"[{"due_date":"2025-03-01"},{"amount_minor":5},{}]"#, 3),
            (#"[{"amount_minor":1,"due_date":"d","extra":[1,{"a":[]}]},{"amount_minor":"ten","due_date":3}]"#, 2),
            (#"[1,{"amount_minor":1,"due_date":"d"}]"#, nil),
            (#"[{"amount_minor":1,"due_date":"d"},"x"]"#, nil),
            (#"[[],null]"#, nil),
            (#""none""#, nil),
            (#"{"amount_minor":1}"#, nil),
        ]
        var room = CanonicalObject.MemberRoom()
        var elementRoom = CanonicalObject.MemberRoom()
        for (installments, inPlace) in cases {
            let text = #"{"installments":"# + installments + #","kind":"instalments","plan_id":"P-1","total_minor":300}"#
            guard case .object(let data) = try JSONParser.parse(text) else { return XCTFail("not an object: \(text)") }
            XCTAssertEqual(CanonicalJSON.bytes(.object(data)), Array(text.utf8), "the test's text is canonical: \(text)")
            let bytes = Array(text.utf8)
            try bytes.withUnsafeBufferPointer { buffer in
                let object = try XCTUnwrap(CanonicalObject(buffer, room: &room), text)
                var elements = 0
                let read = object.forEachObject("installments", room: &elementRoom) { _ in elements += 1 }
                XCTAssertEqual(read ? elements : nil, inPlace, installments)
                XCTAssertEqual(CaseFact(type: .planOffered, canonical: object), CaseFact(type: .planOffered, data: data), installments)
            }
        }
        // No installments member at all: no plan has any.
        let bare = Array(#"{"kind":"k","plan_id":"P-2","total_minor":0}"#.utf8)
        try bare.withUnsafeBufferPointer { buffer in
            let object = try XCTUnwrap(CanonicalObject(buffer, room: &room))
            XCTAssertFalse(object.forEachObject("installments", room: &elementRoom) { _ in XCTFail("no element") })
            guard case .planOffered(let plan) = CaseFact(type: .planOffered, canonical: object) else { return XCTFail("not a plan") }
            XCTAssertEqual(plan.installments, [])
        }
    }
}
