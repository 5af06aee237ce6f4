import CaseLedgerCore
@testable import CaseLedgerStore
import GRDB
import XCTest

/// What a fold of the log is fed for each event (`Ledger.feedEvents`): the event's id and actor
/// for every type a fold reads them for (all but notes), and `data` as a String exactly for the
/// types a fold keeps it for (`CaseFact.foldKeepsData`), as stored.
final class FeedTests: XCTestCase {
    func testEachEventIsFedItsIdAndItsDataWhereAFoldKeepsIt() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        let generated = try CLI.run(["generate", "--db", db, "--cases", "20", "--seed", "3"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let queue = try DatabaseQueue(path: db)
        defer { try? queue.close() }
        var fed: [EventType: Int] = [:]
        try queue.read { db in
            let stored = try Row.fetchAll(db, sql: "SELECT seq, event_id, actor, data FROM events ORDER BY seq")
            var next = 0
            try Ledger.feedEvents(db) { event, _, data in
                let row = stored[next]
                next += 1
                XCTAssertEqual(event.seq, row["seq"])
                fed[event.type, default: 0] += 1
                let isNote = event.type == .noteRecorded
                XCTAssertEqual(event.eventID, isNote ? "" : row["event_id"], "seq \(event.seq)")
                XCTAssertEqual(event.actor, isNote ? "" : row["actor"], "seq \(event.seq)")
                XCTAssertEqual(data, CaseFact.foldKeepsData(event.type) ? row["data"] : nil, "seq \(event.seq), \(event.type.rawValue)")
            }
            XCTAssertEqual(next, stored.count, "every event fed once")
        }
        for type in [EventType.callPlaced, .messageSent, .noteRecorded, .caseOpened, .paymentReceived] {
            XCTAssertGreaterThan(fed[type] ?? 0, 0, "the portfolio has a \(type.rawValue)")
        }
        XCTAssertFalse(CaseFact.foldKeepsData(.callPlaced) || CaseFact.foldKeepsData(.messageSent) || CaseFact.foldKeepsData(.noteRecorded))
        XCTAssertTrue(CaseFact.foldKeepsData(.entryVoided), "a void's reason is read from its data")
    }
}
