@testable import CaseLedgerCore
import Foundation
import XCTest

/// A contact's event id is held as two words (`CompactUUID`): its 32 hex digits in either case,
/// anything else skipped, and written back as the lowercase UUID.
final class CompactUUIDTests: XCTestCase {
    func testAUUIDInEitherCaseReadsAndWritesBackLowercase() {
        for _ in 0..<500 {
            let text = UUID().uuidString
            XCTAssertEqual(CompactUUID(text).string, text.lowercased())
            XCTAssertEqual(CompactUUID(text), CompactUUID(text.lowercased()))
        }
        XCTAssertNotEqual(CompactUUID("00000000-0000-0000-0000-000000000001"), CompactUUID("10000000-0000-0000-0000-000000000000"))
    }

    /// The text is written eight digits at a time (`CompactUUID.write(to:)`): each of the 16
    /// digit values, in each of the 32 places, comes out in its place and in lowercase, and the
    /// dashes in theirs.
    func testEachDigitIsWrittenInItsPlace() {
        func text(_ digits: [Int]) -> String {
            var text = ""
            for (place, digit) in digits.enumerated() {
                if [8, 12, 16, 20].contains(place) { text += "-" }
                text += String(digit, radix: 16)
            }
            return text
        }
        for place in 0..<32 {
            for value in 0..<16 {
                var digits = Array(repeating: 0, count: 32)
                digits[place] = value
                XCTAssertEqual(CompactUUID(text(digits)).string, text(digits))
                digits = Array(repeating: 15, count: 32)
                digits[place] = value
                XCTAssertEqual(CompactUUID(text(digits)).string, text(digits))
            }
        }
        XCTAssertEqual(CompactUUID(text((0..<32).map { $0 % 16 })).string, "01234567-89ab-cdef-0123-456789abcdef")
    }

    /// Every byte that is not a hex digit is skipped wherever it stands, and a hex digit counts.
    func testEveryOtherByteIsSkipped() {
        let uuid = "0a1b2c3d-4e5f-6789-aBcD-eF0123456789"
        let expected = CompactUUID(uuid)
        let hex = Set("0123456789abcdefABCDEF".utf8)
        for byte in UInt8(0)...UInt8(0x7F) {
            for position in [0, 8, 20, 36] {
                var bytes = Array(uuid.utf8)
                bytes.insert(byte, at: position)
                let read = CompactUUID(String(decoding: bytes, as: UTF8.self))
                if hex.contains(byte) {
                    // (A 33rd digit only shifts the low word, where it may be lost off the top.)
                    if position < 20 { XCTAssertNotEqual(read, expected, "the digit \(UnicodeScalar(byte)) at \(position) counts") }
                } else {
                    XCTAssertEqual(read, expected, "byte \(byte) at \(position) is skipped")
                }
            }
        }
    }
}

/// The 8-4-4-4-12 form is read eight digits at a time (`CompactUUID.canonicalWords`): it must give
/// what the byte-at-a-time reading gives, and leave to it any text where a digit is not one.
final class CompactUUIDCanonicalFormTests: XCTestCase {
    func testEightDigitsAtATimeReadAsOneAtATime() {
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789abcdefABCDEF".utf8)
        for _ in 0..<2_000 {
            var bytes = Array(UUID().uuidString.utf8)
            for index in bytes.indices where bytes[index] != UInt8(ascii: "-") {
                bytes[index] = alphabet.randomElement(using: &random)!
            }
            bytes.withUnsafeBufferPointer { utf8 in
                let fast = CompactUUID.canonicalWords(utf8)
                XCTAssertNotNil(fast, String(decoding: bytes, as: UTF8.self))
                if let fast { XCTAssertTrue(fast == CompactUUID.words(utf8), String(decoding: bytes, as: UTF8.self)) }
            }
        }
    }

    /// Every byte value, at every position of the 36: a digit where a digit stands is read, and
    /// anything else there (or anything but a dash where a dash stands) is left to the slow path.
    func testAnyByteThatIsNotADigitIsLeftToTheByteAtATimeReading() {
        let uuid = Array("0a1b2c3d-4e5f-6789-aBcD-eF0123456789".utf8)
        let hex = Set("0123456789abcdefABCDEF".utf8)
        for position in uuid.indices {
            for byte in UInt8.min...UInt8.max {
                var bytes = uuid
                bytes[position] = byte
                bytes.withUnsafeBufferPointer { utf8 in
                    let fast = CompactUUID.canonicalWords(utf8)
                    let isDash = [8, 13, 18, 23].contains(position)
                    if isDash ? byte == UInt8(ascii: "-") : hex.contains(byte) {
                        XCTAssertTrue(fast.map { $0 == CompactUUID.words(utf8) } == true, "byte \(byte) at \(position)")
                    } else {
                        XCTAssertNil(fast, "byte \(byte) at \(position)")
                    }
                }
            }
        }
        XCTAssertNil(Array("0a1b2c3d-4e5f-6789-aBcD-eF012345678".utf8).withUnsafeBufferPointer(CompactUUID.canonicalWords))
    }
}
