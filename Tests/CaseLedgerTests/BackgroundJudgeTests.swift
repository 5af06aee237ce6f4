@testable import CaseLedgerCore
@testable import CaseLedgerStore
import Foundation
import GRDB
import XCTest

/// The judge that runs beside a rebuild or `verify` (`BackgroundJudge`) wakes its thread only
/// once a batch of cases waits, and the caller, when it must wait for outcomes itself, wakes a
/// sleeping worker first. Whatever the batch and the bound on cases in flight, every case comes
/// back once, in the order submitted, judged as inline; a batch larger than the bound must not
/// leave both sides asleep.
final class BackgroundJudgeTests: XCTestCase {
    func testEveryCaseComesBackInOrderJudgedAsInlineWhateverTheBatchAndTheBound() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("ledger.sqlite")
        let generated = try CLI.run(["generate", "--db", path, "--cases", "150", "--seed", "11"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        var records: [ComplianceCase] = []
        let rules = try queue.read { db in
            try Ledger.foldCompliance(db) { records.append($0) }
            return try Ledger.rules(db)
        }
        XCTAssertEqual(records.count, 150)
        let inline = records.map { ContactRules.judge($0, by: rules) }
        XCTAssertGreaterThan(inline.filter { !$0.violations.isEmpty }.count, 0, "some case breaks a rule")
        let submitted = records

        // (wake batch, bound): one at a time; the default batch under a bound it never reaches;
        // batches larger than the bound, where only the caller's wake keeps the two going.
        for (batch, bound) in [(1, 2_048), (64, 2_048), (64, 3), (200, 1), (7, 7)] {
            let judge = BackgroundJudge(rules: rules, wakeBatch: batch, maxInFlight: bound)
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var outcomes: [BackgroundJudge.Judged] = []
            let caller = Thread {
                for record in submitted { outcomes += judge.submit(record) }
                outcomes += judge.finish()
                done.signal()
            }
            caller.start()
            guard done.wait(timeout: .now() + 60) == .success else {
                judge.cancel()
                return XCTFail("batch \(batch), bound \(bound): the judge and its caller both wait")
            }
            XCTAssertEqual(outcomes.map(\.record.caseID), records.map(\.caseID), "batch \(batch), bound \(bound)")
            XCTAssertEqual(outcomes.map(\.outcome), inline, "batch \(batch), bound \(bound)")
        }
    }

    /// `finish` hands the outcomes not yet taken to the caller's body, in order after those
    /// `submit` gave, then the judge's thread takes them back to free and ends, whether the body
    /// returns or throws (a write that failed): the thread holds the judge until it ends.
    func testTheLastOutcomesAreHandedOverThenTheThreadEndsEvenWhenTheCallerFails() throws {
        struct Stop: Error {}
        for fails in [false, true] {
            weak var ended: BackgroundJudge?
            var handed: [String] = []
            do {
                let judge = BackgroundJudge(rules: .inForce(.shipped), wakeBatch: 64, maxInFlight: 2_048)
                ended = judge
                var taken: [String] = []
                for index in 0..<100 {
                    taken += judge.submit(ComplianceCase(caseID: "C-\(index)", region: nil, timeZone: "UTC")).map(\.record.caseID)
                }
                do {
                    try judge.finish { rest in
                        handed = taken + rest.map(\.record.caseID)
                        if fails { throw Stop() }
                    }
                    XCTAssertFalse(fails, "the body threw")
                } catch is Stop {
                    XCTAssertTrue(fails)
                }
            }
            XCTAssertEqual(handed, (0..<100).map { "C-\($0)" }, "fails: \(fails)")
            let deadline = Date().addingTimeInterval(30)
            while ended != nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            XCTAssertNil(ended, "fails: \(fails): the judge's thread ends")
        }
    }

    /// Retired cases handed back (`discard`) are freed on the judge's thread. A case with no
    /// contacts to judge (no opening in the log) never wakes the worker by itself; a few batches'
    /// worth of them do, so they are freed rather than held until the end. Two rounds: in the
    /// second, the worker is surely asleep when they come.
    func testCasesHandedBackAreFreedEvenWhenNoneHasContactsToJudge() throws {
        let judge = BackgroundJudge(rules: .inForce(.shipped), wakeBatch: 4, maxInFlight: 8)
        for round in 1...2 {
            weak var first: CaseBox?
            weak var last: CaseBox?
            for index in 0..<16 {  // four batches' worth: the worker wakes at the last one
                let box = CaseBox()
                if index == 0 { first = box }
                if index == 15 { last = box }
                judge.discard(box)
            }
            let deadline = Date().addingTimeInterval(30)
            while (first != nil || last != nil) && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            XCTAssertNil(first, "round \(round): the first case handed back is freed")
            XCTAssertNil(last, "round \(round): the last case handed back is freed")
        }
        XCTAssertEqual(judge.finish().count, 0)
    }
}

extension BackgroundJudge {
    /// `finish(_:)` returning the rest of the outcomes (the caller keeps them).
    func finish() -> [Judged] {
        var rest: [Judged] = []
        finish { rest = $0 }
        return rest
    }
}
