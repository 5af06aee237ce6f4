import CaseLedgerCore
import CaseLedgerStore
import XCTest

/// The rows reports write by the hundred thousand (violations, voided-contact notices, audit
/// entries, the void on each) list their members in canonical order, so writing them checks
/// the order and sorts nothing: sorting each violation's members took a quarter of a compliance
/// report's instructions. The output is the same either way; this keeps it cheap.
final class ReportMembersTests: XCTestCase {
    /// Objects found in `value` (itself included) whose keys are not in RFC 8785 order.
    private func unordered(_ value: JSONValue, at path: String = "$") -> [String] {
        switch value {
        case .object(let object):
            let keys = object.keys
            let inOrder = keys.indices.dropFirst().allSatisfy { CanonicalJSON.precedes(keys[$0 - 1], keys[$0]) }
            return (inOrder ? [] : ["\(path): \(keys)"]) + object.members.flatMap { unordered($0.value, at: "\(path).\($0.key)") }
        case .array(let items):
            return items.enumerated().flatMap { unordered($0.element, at: "\(path)[\($0.offset)]") }
        default:
            return []
        }
    }

    func testReportRowsListTheirMembersInCanonicalOrder() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        let generated = try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "7"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let ledger = try Ledger(path: db, mode: .read)

        let report = try ledger.compliance()
        XCTAssertFalse(report.violations.isEmpty)
        XCTAssertFalse(report.summary.notices.isEmpty, "the portfolio has voided contacts")
        XCTAssertEqual(report.violations.lazy.flatMap { self.unordered($0.json) }.first, nil, "a violation")
        XCTAssertEqual(report.summary.notices.lazy.flatMap { self.unordered($0.json) }.first, nil, "a voided contact's notice")

        var entries = 0, voided = 0
        var found: [String] = []
        for caseID in Set(report.violations.map(\.caseID) + report.summary.notices.map(\.caseID)) {
            try ledger.auditTrail(.caseID(caseID)) { entry in
                entries += 1
                if entry.voidedBy != nil { voided += 1 }
                if found.isEmpty { found = unordered(entry.json) }
            }
        }
        XCTAssertEqual(found, [], "an audit entry")
        XCTAssertGreaterThan(entries, 0)
        XCTAssertGreaterThan(voided, 0, "an audit entry with its void was checked")
    }
}
