import CaseLedgerCore
@testable import CaseLedgerStore
import Foundation
import GRDB
import XCTest

/// `Ledger.commitGroup`, the server's one write path, on its own: several clients' batches in one
/// transaction, each in its own savepoint.
final class GroupCommitTests: XCTestCase {
    func batch(_ lines: [String]) throws -> PendingBatch {
        PendingBatch(events: try lines.enumerated().map { index, line in
            (index + 1, try EventSubmission(json: JSONParser.parse(line), now: LedgerClock.now()))
        })
    }

    /// A server's acknowledged append survives power loss: its pool's writer syncs every commit
    /// (GRDB's own WAL set-up would leave it at NORMAL), as a command's connection does.
    func testEveryWriteConnectionSyncsEachCommit() throws {
        let folder = try TemporaryFolder()
        XCTAssertEqual(try Ledger(path: folder.path("served.sqlite"), mode: .serve).writerSynchronous(), 2)
        XCTAssertEqual(try Ledger(path: folder.path("command.sqlite"), mode: .create).writerSynchronous(), 2)
    }

    /// Debian builds SQLite to overwrite every freed page and cell with zeros (secure_delete),
    /// which made a rebuild write every page of the tables it dropped: every connection a
    /// ledger opens, writer or reader, command or server, turns it off.
    func testNoConnectionZeroesWhatItFrees() throws {
        let folder = try TemporaryFolder()
        for (name, mode) in [("served", Ledger.Mode.serve), ("command", .create)] {
            let ledger = try Ledger(path: folder.path("\(name).sqlite"), mode: mode)
            XCTAssertEqual(try ledger.database.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA secure_delete") }, 0, name)
            XCTAssertEqual(try ledger.read { try Int.fetchOne($0, sql: "PRAGMA secure_delete") }, 0, name)
        }
        XCTAssertEqual(try Ledger(path: folder.path("command.sqlite"), mode: .readOnly).read { try Int.fetchOne($0, sql: "PRAGMA secure_delete") }, 0)
    }

    func testARejectedBatchIsRolledBackAloneAndTheOthersCommitInOrder() throws {
        let folder = try TemporaryFolder()
        let ledger = try Ledger(path: folder.path("ledger.sqlite"), mode: .serve)
        let first = try batch([Events.opened(caseID: "C-1"), Events.call(caseID: "C-1")])
        let conflicting = try batch([Events.note(caseID: "C-1", text: "fine on its own"),
                                     Events.line(caseID: "C-1", type: "note.recorded", expectedVersion: 1, data: #"{"text":"stale"}"#)])
        let unopened = try batch([Events.note(caseID: "C-NONE")])
        let last = try batch([Events.payment(caseID: "C-1")])
        let access = AccessEntry(at: LedgerClock.now().utcString, tokenName: "t", role: "reader", method: "GET", path: "/v1/cases/C-1",
                                 caseIDs: ["C-1"], status: 200)
        let results = try ledger.commitGroup([first, conflicting, unopened, last], access: [access])
        guard case .success(let one) = results[0], case .failure(let two) = results[1], case .failure(let three) = results[2],
            case .success(let four) = results[3]
        else { return XCTFail("\(results)") }
        XCTAssertEqual(one.appended, 2)
        XCTAssertEqual(one.headSeq, 2)
        if case .conflict(let line, _, let expected, let actual) = two {
            XCTAssertEqual([line, expected, actual], [2, 1, 3], "the conflict is seen after its own first line")
        } else { XCTFail("\(two)") }
        if case .invalidEvent(let line, _, _) = three { XCTAssertEqual(line, 1) } else { XCTFail("\(three)") }
        XCTAssertEqual(four.appended, 1)
        XCTAssertEqual(four.headSeq, 3, "seq continues from the last committed event, with no gap for the rolled-back ones")

        var types: [String] = []
        try ledger.forEachEvent { types.append($0.type) }
        XCTAssertEqual(types, ["case.opened", "call.placed", "payment.received"])
        XCTAssertEqual(try ledger.caseView("C-1")["version"]?.intValue, 3, "the case state saw only what committed")
        XCTAssertEqual(try ledger.accessLog().map(\.path), ["/v1/cases/C-1"])
        XCTAssertEqual(try ledger.verifyChain().events, 3)
        try ledger.verifyProjections()
        XCTAssertEqual(try ledger.treeHead().size, 3, "the Merkle tree holds exactly the committed events")

        // A group of nothing but access entries writes them and appends nothing.
        XCTAssertEqual(try ledger.commitGroup([], access: [access]).count, 0)
        XCTAssertEqual(try ledger.accessLog().count, 2)
    }

    /// A batch of a group that passes the cache (16 records: 4 cases in memory, a 12 KiB
    /// shelf) puts case states on the shelf, then is rejected at its last line: the states it
    /// shelved go with its rollback, and the next batch of the group folds each case from
    /// what committed.
    func testABulkBatchRolledBackLeavesNoShelvedStateToTheNextBatch() throws {
        let folder = try TemporaryFolder()
        let ledger = try Ledger(path: folder.path("ledger.sqlite"), mode: .serve)
        ledger.appendCacheRecords = 16
        let cases = (0..<40).map { "C-\($0)" }
        guard case .success = try ledger.commitGroup([try batch(cases.map { Events.opened(caseID: $0) })])[0] else { return XCTFail("openings") }
        let rejected = try batch(cases.map { Events.call(caseID: $0) } + cases.map { Events.note(caseID: $0) } + [Events.note(caseID: "C-NONE")])
        let accepted = try batch(cases.map { Events.payment(caseID: $0) })
        let results = try ledger.commitGroup([rejected, accepted])
        guard case .failure(.invalidEvent(let line, _, _)) = results[0], case .success(let summary) = results[1] else { return XCTFail("\(results)") }
        XCTAssertEqual(line, 81)
        XCTAssertEqual(summary.appended, 40)
        for caseID in cases {
            let view = try ledger.caseView(caseID)
            XCTAssertEqual(view["version"]?.intValue, 2, caseID)
            XCTAssertEqual(view["contacts"]?["calls"]?.intValue, 0, caseID)
        }
        XCTAssertEqual(try ledger.verifyChain().events, 80)
        try ledger.verifyProjections()
    }
}
