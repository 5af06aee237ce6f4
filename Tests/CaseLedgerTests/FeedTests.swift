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

    /// A scan is read on one thread and parsed on another, a chunk at a time
    /// (`FeedParser.chunkRows`): over many chunks, and over one share of the cases, every event
    /// still arrives once, in seq order; an unreadable row stops the feed in its place, after
    /// every event before it.
    func testALongScanIsFedInOrderAcrossChunksAndStopsAtAnUnreadableRowInItsPlace() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        let generated = try CLI.run(["generate", "--db", db, "--cases", "90", "--seed", "5"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        func stored() throws -> [(seq: Int64, caseID: String)] {
            let queue = try DatabaseQueue(path: db)
            defer { try? queue.close() }
            return try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT seq, case_id FROM events ORDER BY seq").map { ($0["seq"], $0["case_id"]) }
            }
        }
        let all = try stored()
        XCTAssertGreaterThan(all.count, 4 * FeedParser.chunkRows, "the log spans several chunks")
        let share = Ledger.FoldShare(index: 1, count: 3)
        let inShare = all.filter { Ledger.FoldShare.hash(caseID: $0.caseID) % 3 == 1 }.map(\.seq)
        let fedInShare = try fedSeqs(db, share: share)
        XCTAssertTrue(fedInShare == inShare, "fed \(fedInShare.count) events to seq \(fedInShare.last ?? 0), the share holds \(inShare.count) to seq \(inShare.last ?? 0)")

        let bad = all[all.count * 3 / 4].seq
        try tamper(db, "UPDATE events SET type = 'call.teleported' WHERE seq = \(bad)", dropping: ["events_no_update"])
        var fed: [Int64] = []
        XCTAssertThrowsError(try fedSeqs(db, share: .all, into: &fed)) { error in
            guard case .verificationFailed(let seq, let reason) = error as? LedgerError else { return XCTFail("\(error)") }
            XCTAssertEqual(seq, bad)
            XCTAssertEqual(reason, "unreadable type or occurred_at")
        }
        let before = all.map(\.seq).filter { $0 < bad }
        XCTAssertTrue(fed == before, "fed \(fed.count) events to seq \(fed.last ?? 0): every one before seq \(bad) (\(before.count)), and none after")
    }

    /// A chunk copies its rows' columns into memory of its own, which grows when the rows are
    /// longer than the room it was given: every column comes back as it went in, an empty one
    /// included, and a row's reader may stop early.
    func testARawChunkGivesBackEveryColumnWhenItsRowsOutgrowItsRoom() {
        var chunk = FeedParser.RawChunk(rows: 4, bytesPerRow: 8)
        let rows: [(seq: Int64, columns: [String])] = (1...40).map { seq in
            (Int64(seq), ["E-\(seq)", "C-\(seq % 3)", "call.placed", "2024-01-0\(seq % 9 + 1)T00:00:00Z",
                          seq % 5 == 0 ? "" : "agent:\(seq)", "{\"n\":\"" + String(repeating: "é", count: seq * 23) + "\"}"])
        }
        for row in rows {
            let copies = row.columns.map { column in
                let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: column.utf8.count)
                _ = copy.initialize(from: column.utf8)
                return copy
            }
            defer { copies.forEach { $0.deallocate() } }
            let c = copies.map { UnsafeBufferPointer($0) }
            chunk.add(StoredColumns(seq: row.seq, schemaVersion: 1, eventID: c[0], caseID: c[1], type: c[2], occurredAt: c[3], actor: c[4], data: c[5]))
        }
        var read: [(seq: Int64, columns: [String])] = []
        chunk.forEachRow { row in
            read.append((row.seq, [row.eventID, row.caseID, row.type, row.occurredAt, row.actor, row.data].map { String(decoding: $0, as: UTF8.self) }))
            return true
        }
        XCTAssertEqual(read.map(\.seq), rows.map(\.seq))
        for (got, sent) in zip(read, rows) { XCTAssertEqual(got.columns, sent.columns, "seq \(sent.seq)") }
        var stoppedAt: [Int64] = []
        chunk.forEachRow { row in
            stoppedAt.append(row.seq)
            return row.seq < 3
        }
        XCTAssertEqual(stoppedAt, [1, 2, 3], "a reader that says stop reads no further")
    }

    private func fedSeqs(_ path: String, share: Ledger.FoldShare) throws -> [Int64] {
        var fed: [Int64] = []
        try fedSeqs(path, share: share, into: &fed)
        return fed
    }

    private func fedSeqs(_ path: String, share: Ledger.FoldShare, into fed: inout [Int64]) throws {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        try queue.read { db in
            try Ledger.feedEvents(db, share: share) { event, _, _ in fed.append(event.seq) }
        }
    }
}
