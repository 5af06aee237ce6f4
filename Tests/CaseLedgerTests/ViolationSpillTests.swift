import CaseLedgerCore
@testable import CaseLedgerStore
import XCTest

/// A what-if report's violations wait in a `ViolationSpill` (SQLite's private temporary file)
/// until they are written: they must come back whole, in the stored report's order (case, seq,
/// then as added), however many there are and in whatever order the cases were judged.
final class ViolationSpillTests: XCTestCase {
    private func violation(_ caseID: String, _ seq: Int64, _ limit: RuleLimit, day: String = "2024-03-05", n: Int = 0) -> Violation {
        Violation(limit: limit, rulebook: "rb-\(n % 3)", eventID: "E-\(caseID)-\(seq)", seq: seq, caseID: caseID, actor: "collector:\(n % 5)",
                  localTime: "\(day)T09:1\(n % 10):00+08:00", detail: "detail \(n) 长")
    }

    func testViolationsComeBackInReportOrderWithTiesAsAdded() throws {
        // Cases judged out of order, each case's violations by contact, two limits on one contact:
        // enough rows (about 6 MiB) to outgrow the spill's page cache and its sort's memory.
        var added: [Violation] = []
        var n = 0
        for caseNumber in [7, 3, 9, 1, 5, 8, 2, 6, 4, 0] {
            for contact in stride(from: Int64(3_000), to: 0, by: -1) {  // later contacts first within a case
                for limit in [RuleLimit.maxCallsPerDay, .contactHours] where contact % 2 == 0 || limit == .contactHours {
                    added.append(violation(String(format: "C-%04d", caseNumber), contact, limit, n: n))
                    n += 1
                }
            }
        }
        let expected = added.enumerated().sorted { ($0.element.caseID, $0.element.seq, $0.offset) < ($1.element.caseID, $1.element.seq, $1.offset) }
            .map(\.element)
        let (read, first) = try ViolationSpill.using { spill in
            for violation in added { try spill.add(violation) }
            var read: [Violation] = [], first: [Violation] = []
            try spill.forEach { read.append($0) }
            // A limit stops the walk there: the first of the same order, ties as added.
            try spill.forEach(limit: 7) { first.append($0) }
            return (read, first)
        }
        XCTAssertEqual(read.count, added.count)
        XCTAssertEqual(read, expected)
        XCTAssertEqual(first, Array(expected.prefix(7)))
        // A tie kept as added: the daily cap first, then the contact hours, for each even contact.
        XCTAssertEqual(read.first?.limit, .contactHours)
        XCTAssertEqual(read[1...2].map(\.limit), [.maxCallsPerDay, .contactHours])
    }

    func testContactsBeforeADayAreCountedOncePerContact() throws {
        try ViolationSpill.using { spill in
            try spill.add(violation("C-1", 1, .maxCallsPerDay, day: "2024-02-28"))
            try spill.add(violation("C-1", 1, .contactHours, day: "2024-02-28"))  // the same contact
            try spill.add(violation("C-1", 2, .contactHours, day: "2024-02-29"))
            try spill.add(violation("C-2", 5, .contactHours, day: "2024-03-01"))
            XCTAssertEqual(try spill.contacts(before: "2024-03-01"), 2)
            XCTAssertEqual(try spill.contacts(before: "2024-02-29"), 1)
            XCTAssertEqual(try spill.contacts(before: "2024-03-02"), 3)
            XCTAssertEqual(try spill.contacts(before: "2024-01-01"), 0)
        }
        // Each spill starts empty: nothing is kept from the one before.
        let left = try ViolationSpill.using { spill in
            var count = 0
            try spill.forEach { _ in count += 1 }
            return count
        }
        XCTAssertEqual(left, 0)
    }
}
