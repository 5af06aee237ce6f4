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
