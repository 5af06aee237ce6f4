import CaseLedgerFuzzing
import Foundation
import XCTest

/// Every input `Tools/fuzz/run` (or a person) ever found to crash the ledger stays here and runs on
/// every `swift test`: the fuzz target must get through each without a trap.
final class FuzzRegressionTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz")

    func testEveryCommittedCrashInputNowRunsClean() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 2, "the regression inputs are missing")
        for name in names {
            let bytes = try Data(contentsOf: Self.folder.appendingPathComponent(name))
            bytes.withUnsafeBytes { FuzzTarget.run($0) }
        }
    }
}
