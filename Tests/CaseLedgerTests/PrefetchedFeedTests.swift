import CaseLedgerCore
@testable import CaseLedgerStore
import Foundation
import GRDB
import XCTest

/// A fold of the whole log reads and decodes it on a second connection and thread
/// (`PrefetchedFeed`). It must feed exactly what reading on the caller's own connection feeds,
/// in the same order; feed nothing when that connection would see another log; and end cleanly,
/// with the right error, when either side fails.
final class PrefetchedFeedTests: XCTestCase {
    /// A generated ledger of 40 cases (about 1,200 events, with voids), opened in-process; the
    /// folder must be kept while the ledger is used (it is deleted with it).
    private func generatedLedger() throws -> (TemporaryFolder, Ledger) {
        let folder = try TemporaryFolder()
        let path = try makeLedger(folder)
        let generated = try CLI.run(["generate", "--cases", "40", "--seed", "3", "--db", path])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        return (folder, try Ledger(path: path, mode: .readWrite))
    }

    /// One line per event fed: every field a fold reads.
    private static func line(_ event: CaseEvent, _ target: VoidTarget?, _ data: String?) -> String {
        "\(event.seq) \(event.caseID) \(event.type.rawValue) \(event.eventID) \(event.actor) \(event.occurredAt) "
            + "\(event.occurredMicros) \(event.fact) \(String(describing: target)) \(data ?? "-")"
    }

    func testItFeedsWhatTheCallersOwnConnectionReadsForEveryShare() throws {
        let (folder, ledger) = try generatedLedger()
        defer { withExtendedLifetime(folder) {} }
        try ledger.database.read { db in
            for count in [1, 3] as [UInt64] {
                for index in 0..<count {
                    let share = Ledger.FoldShare(index: index, count: count)
                    var own: [String] = []
                    try Ledger.readLog(db, share: share, include: nil) { own.append(Self.line($0, $1, $2)) }
                    var prefetched: [String] = []
                    XCTAssertTrue(try PrefetchedFeed.feed(db, share: share) { prefetched.append(Self.line($0, $1, $2)) })
                    XCTAssertGreaterThan(own.count, count == 1 ? 1000 : 200)
                    XCTAssertEqual(prefetched, own, "share \(index) of \(count)")
                }
            }
            var voids = 0
            _ = try PrefetchedFeed.feed(db, share: .all) { _, target, _ in voids += target == nil ? 0 : 1 }
            XCTAssertGreaterThan(voids, 0, "the portfolio voids some events, whose targets are fed too")
        }
    }

    /// Events the caller wrote and has not committed (a replay rebuilding its output) are not
    /// seen by a second connection: it feeds nothing, and the caller reads the log itself.
    func testItFeedsNothingWhenTheCallerSeesAnotherLog() throws {
        let (folder, ledger) = try generatedLedger()
        defer { withExtendedLifetime(folder) {} }
        struct RolledBack: Error {}
        XCTAssertThrowsError(try ledger.database.write { db in
            try db.execute(sql: """
                INSERT INTO events (seq, event_id, case_id, version, type, schema_version, occurred_at, recorded_at, actor, data, hash)
                SELECT seq + 1, 'x-uncommitted', case_id, version + 1, 'note.recorded', 1, occurred_at, recorded_at, actor, '{"text":"t"}', hash
                FROM events ORDER BY seq DESC LIMIT 1
                """)
            var fed = 0
            XCTAssertFalse(try PrefetchedFeed.feed(db, share: .all) { _, _, _ in fed += 1 })
            XCTAssertEqual(fed, 0)
            // The fold as a whole still sees the uncommitted event, read on this connection.
            var last: Int64 = 0
            try Ledger.feedEvents(db) { event, _, _ in last = event.seq }
            XCTAssertEqual(last, try Ledger.head(db).seq)
            throw RolledBack()
        }) { XCTAssertTrue($0 is RolledBack, "\($0)") }
    }

    /// The caller fails part way: its own error comes back, and the reader stops (no hang).
    func testTheCallersErrorStopsTheReader() throws {
        let (folder, ledger) = try generatedLedger()
        defer { withExtendedLifetime(folder) {} }
        struct Stop: Error {}
        try ledger.database.read { db in
            var fed = 0
            XCTAssertThrowsError(try PrefetchedFeed.feed(db, share: .all) { _, _, _ in
                fed += 1
                if fed == 700 { throw Stop() }
            }) { XCTAssertTrue($0 is Stop, "\($0)") }
            XCTAssertEqual(fed, 700)
        }
    }

    /// The reader fails (a row an insider made unreadable): the caller gets its error, naming the
    /// row, after every event before it, exactly as reading on its own connection would.
    func testTheReadersErrorReachesTheCallerAfterTheEventsBeforeIt() throws {
        let (folder, _) = try generatedLedger()
        let path = folder.path("ledger.sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO events (seq, event_id, case_id, version, type, schema_version, occurred_at, recorded_at, actor, data, hash)
                SELECT seq + 1, 'x-bogus', case_id, version + 1, 'bogus.type', 1, occurred_at, recorded_at, actor, '{}', hash
                FROM events ORDER BY seq DESC LIMIT 1
                """)
        }
        try queue.read { db in
            let bogus = try Ledger.head(db).seq
            for prefetched in [false, true] {
                var fed: Int64 = 0
                var thrown: (any Error)?
                do {
                    if prefetched {
                        _ = try PrefetchedFeed.feed(db, share: .all) { event, _, _ in fed = event.seq }
                    } else {
                        try Ledger.readLog(db, share: .all, include: nil) { event, _, _ in fed = event.seq }
                    }
                } catch { thrown = error }
                guard case LedgerError.verificationFailed(let seq, _)? = thrown else { return XCTFail("\(String(describing: thrown))") }
                XCTAssertEqual(seq, bogus)
                XCTAssertEqual(fed, bogus - 1, prefetched ? "prefetched" : "own connection")
            }
        }
    }
}
