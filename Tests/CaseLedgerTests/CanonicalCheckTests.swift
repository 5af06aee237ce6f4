import CaseLedgerCore
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

    /// Random documents, written canonically (yes), then mutated a byte or a few at a time
    /// (mostly no): the check and the definition agree on every one.
    func testRandomDocumentsAndTheirMutationsAgreeWithTheDefinition() {
        var random = SeededRandom(seed: 8785)
        let alphabet: [String] = ["a", "b", "z", "A", "_", "0", "\"", "\\", "/", "\u{0}", "\u{8}", "\u{B}", "\u{1F}", "\u{7F}", "é", "债",
                                  "\u{E000}", "\u{FFFF}", "😀", " ", "\n"]
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
}
