@testable import CaseLedgerCore
@testable import CaseLedgerStore
import GRDB
import XCTest

/// What a fold of the log is fed for each event (`Ledger.feedEvents`): the event's id, its actor
/// for every type a fold reads it for (all but notes), and `data` as a String exactly for the
/// types a fold keeps it for (`CaseFact.foldKeepsData`), as stored.
final class FeedTests: XCTestCase {
    func testEachEventIsFedItsIdAndItsDataWhereAFoldKeepsIt() throws {
        let folder = try TemporaryFolder()
        let db = try generatedLedger(cases: 20, seed: 3, in: folder)
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
                XCTAssertEqual(event.eventID, row["event_id"], "seq \(event.seq)")
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

    /// A fold of the compliance projection alone (a report under another rulebook, a rule
    /// change's diff, the contacts the appender judges again) reads only the events of
    /// `ComplianceProjection.eventTypes`: every event of any other type must leave a case's
    /// contact history as it was, or those folds would judge something else than a full one.
    func testTheComplianceFoldOfItsOwnTypesEqualsTheFoldOfEveryEvent() throws {
        let folder = try TemporaryFolder()
        let db = try generatedLedger(cases: 60, seed: 7, in: folder)
        let queue = try DatabaseQueue(path: db)
        defer { try? queue.close() }
        try queue.read { db in
            let types = try String.fetchAll(db, sql: "SELECT DISTINCT type FROM events").compactMap(EventType.init(rawValue:))
            XCTAssertEqual(Set(types), Set(EventType.allCases), "the portfolio has an event of every type")
            let rules = try Ledger.rules(db)
            var fedToCompliance = 0
            for caseID in try String.fetchAll(db, sql: "SELECT DISTINCT case_id FROM events ORDER BY case_id") {
                var every: ComplianceCase?
                var own: ComplianceCase?
                try Ledger.feedCase(db, caseID: caseID) { event, target, data in
                    ComplianceProjection.apply(event, to: &every, target: target, data: data ?? "{}")
                }
                try Ledger.feedCase(db, caseID: caseID, types: ComplianceProjection.eventTypes) { event, target, data in
                    XCTAssertTrue(ComplianceProjection.matters(event.type), "\(event.type.rawValue) fed to a compliance fold")
                    ComplianceProjection.apply(event, to: &own, target: target, data: data ?? "{}")
                    fedToCompliance += 1
                }
                guard let every, let own else { return XCTFail("\(caseID) has no compliance record") }
                func held(_ record: ComplianceCase) -> [Int] {
                    [record.contacts.count, record.bookings.count, record.restrictions.count, record.lifts.count, record.voids.count]
                }
                XCTAssertEqual(held(own), held(every), caseID)
                XCTAssertEqual(ContactRules.judge(own, by: rules), ContactRules.judge(every, by: rules), caseID)
            }
            let events = try Int.fetchOne(db, sql: "SELECT count(*) FROM events")!
            XCTAssertLessThan(fedToCompliance, events, "some events are left out of the compliance fold")
        }
    }

    /// A scan is read and parsed on other threads than the folds', a chunk at a time
    /// (`FeedParser.chunkRows`): over many chunks, and over one share of the cases, every event
    /// still arrives once, in seq order; an unreadable row stops the feed in its place, after
    /// every event before it, whichever connection reads it.
    func testALongScanIsFedInOrderAcrossChunksAndStopsAtAnUnreadableRowInItsPlace() throws {
        let folder = try TemporaryFolder()
        let db = try generatedLedger(cases: 90, seed: 5, in: folder)
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
        try assertFeedStops(db, at: bad, saying: "unreadable type or occurred_at", after: all.map(\.seq), in: folder)
    }

    /// A feed of the ledger at `db` fails at seq `bad` with `reason`, having fed every one of
    /// `seqs` before it and none after, whichever connection reads it: one of its own (WAL), or
    /// the reading connection (a rollback journal).
    private func assertFeedStops(_ db: String, at bad: Int64, saying reason: String, after seqs: [Int64], in folder: TemporaryFolder,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        for path in [db, try rollbackJournalCopy(of: db, in: folder)] {
            var fed: [Int64] = []
            XCTAssertThrowsError(try fedSeqs(path, share: .all, into: &fed), file: file, line: line) { error in
                guard case .verificationFailed(let seq, let said) = error as? LedgerError else { return XCTFail("\(error)", file: file, line: line) }
                XCTAssertEqual(seq, bad, file: file, line: line)
                XCTAssertEqual(said, reason, file: file, line: line)
            }
            let before = seqs.filter { $0 < bad }
            XCTAssertTrue(fed == before, "\(path): fed \(fed.count) events to seq \(fed.last ?? 0): every one before seq \(bad) (\(before.count)), and none after",
                          file: file, line: line)
        }
    }

    /// The folds take each event id as its 16 bytes (`CaseEvent.id`), read from the stored text
    /// (`testEachEventIsFedItsIdAndItsDataWhereAFoldKeepsIt` checks that each comes back as the
    /// log holds it). A stored id that is not a UUID in the 8-4-4-4-12 form stops the feed at
    /// its row, on either connection, rather than being read as some other id.
    func testAnEventIDThatIsNotAUUIDStopsTheFeedInItsPlace() throws {
        let folder = try TemporaryFolder()
        let db = try generatedLedger(cases: 40, seed: 6, in: folder)
        let queue = try DatabaseQueue(path: db)
        let stored = try queue.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM events ORDER BY seq") }
        try queue.close()
        let bad = stored[stored.count / 2]
        // Hex digits all there, the dashes out of place: read leniently, it would be another id's text.
        try tamper(db, "UPDATE events SET event_id = '0' || substr(event_id, 1, 35) WHERE seq = \(bad)", dropping: ["events_no_update"])
        try assertFeedStops(db, at: bad, saying: "unreadable event_id", after: stored, in: folder)
    }

    /// A fold in several shares is fed share by share, each share's events in seq order and
    /// followed by its end, every event once: the same whether the log is read on a connection
    /// of its own (a WAL file) or through the reading one (a rollback journal, where a second
    /// reader would wait for the writer).
    func testEachShareIsFedInTurnOnEitherConnection() throws {
        let folder = try TemporaryFolder()
        let db = try generatedLedger(cases: 60, seed: 8, in: folder)
        let copy = try rollbackJournalCopy(of: db, in: folder)
        var expected: [String] = []
        let queue = try DatabaseQueue(path: db)
        try queue.read { db in
            let all = try Row.fetchAll(db, sql: "SELECT seq, case_id FROM events ORDER BY seq").map { (seq: $0["seq"] as Int64, caseID: $0["case_id"] as String) }
            for index in 0..<3 {
                expected += all.filter { Ledger.FoldShare.hash(caseID: $0.caseID) % 3 == UInt64(index) }.map { "\($0.seq)" }
                expected.append("end")
            }
        }
        try queue.close()
        XCTAssertGreaterThan(expected.count, 3 * FeedParser.chunkRows, "the shares span several chunks")
        for (file, readAlongside) in [(db, true), (copy, false)] {
            let queue = try DatabaseQueue(path: file)
            defer { try? queue.close() }
            try queue.read { db in
                XCTAssertEqual(try Ledger.pathReadableAlongside(db) != nil, readAlongside, file)
                var fed: [String] = []
                try Ledger.feedEvents(db, shares: (0..<3).map { Ledger.FoldShare(index: $0, count: 3) }) { event, _, _ in
                    fed.append("\(event.seq)")
                } endOfShare: {
                    fed.append("end")
                }
                XCTAssertTrue(fed == expected, "\(file): fed \(fed.count), expected \(expected.count)")
            }
        }
    }

    /// Each void is fed the event it names as the log holds it, nil for one the log does not
    /// hold, whether the targets are read by the reading thread (a WAL file) or by the folding
    /// thread (a rollback journal), in one share or in several (the later ones from their spill
    /// files). A void edited to name no event is followed by another in the same chunk: the
    /// targets come with their voids, in order, including the missing one.
    func testEachVoidIsFedTheEventItNamesOnEitherConnection() throws {
        let folder = try TemporaryFolder()
        let db = try generatedLedger(cases: 120, seed: 5, in: folder)
        let queue = try DatabaseQueue(path: db)
        let edited = try queue.write { db -> Int64 in
            let types = try String.fetchAll(db, sql: "SELECT type FROM events ORDER BY seq")
            let voids = types.indices.filter { types[$0] == EventType.entryVoided.rawValue }
            let first = try XCTUnwrap(voids.indices.dropLast().first { voids[$0] / FeedParser.chunkRows == voids[$0 + 1] / FeedParser.chunkRows },
                                      "two voids in one chunk of the scan")
            let seq = try XCTUnwrap(Int64.fetchOne(db, sql: "SELECT seq FROM events ORDER BY seq LIMIT 1 OFFSET ?", arguments: [voids[first]]))
            try db.execute(sql: "DROP TRIGGER events_no_update")
            try db.execute(sql: "UPDATE events SET data = json_set(data, '$.voids', '00000000-0000-7000-8000-000000000000') WHERE seq = ?",
                           arguments: [seq])
            return seq
        }
        let expected = try queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT v.seq, t.event_id, t.type, t.case_id FROM events v LEFT JOIN events t ON t.event_id = json_extract(v.data, '$.voids')
                WHERE v.type = 'entry.voided' ORDER BY v.seq
                """).map { row -> String in
                let target = (row["event_id"] as String?).map { "\($0) \(row["type"] as String) \(row["case_id"] as String)" }
                return "\(row["seq"] as Int64): \(target ?? "none")"
            }
        }
        try queue.close()
        XCTAssertGreaterThan(expected.count, 4, "the portfolio has voids")
        XCTAssertTrue(expected.contains("\(edited): none"), "the edited void names no event")
        XCTAssertEqual(expected.filter { $0.hasSuffix("none") }.count, 1, "every other void names an event of the log")
        let copy = try rollbackJournalCopy(of: db, in: folder)
        for (file, readAlongside) in [(db, true), (copy, false)] {
            for passes in [1, 3] as [UInt64] {
                let queue = try DatabaseQueue(path: file)
                defer { try? queue.close() }
                try queue.read { db in
                    XCTAssertEqual(try Ledger.pathReadableAlongside(db) != nil, readAlongside, file)
                    var fed: [String] = []
                    try Ledger.feedEvents(db, shares: (0..<passes).map { Ledger.FoldShare(index: $0, count: passes) }) { event, target, _ in
                        guard event.type == .entryVoided else {
                            XCTAssertNil(target, "seq \(event.seq) is no void")
                            return
                        }
                        fed.append("\(event.seq): \(target.map { "\($0.eventID) \($0.type.rawValue) \($0.caseID)" } ?? "none")")
                    }
                    XCTAssertEqual(fed.sorted(), expected.sorted(), "\(file), \(passes) passes")
                }
            }
        }
        // Through the real binary the WAL file is rebuilt with the targets read on the reading
        // thread; the rollback copy, in process, with them read on the folding thread. The
        // projections must come out the same. `verify` still names the edited event.
        let rebuilt = try CLI.run(["rebuild", "--db", db])
        XCTAssertEqual(rebuilt.exitCode, 0, rebuilt.stderr)
        let copyQueue = try DatabaseQueue(path: copy)
        try copyQueue.writeWithoutTransaction { db in
            XCTAssertNil(try Ledger.pathReadableAlongside(db), "the copy is folded on one connection")
            try db.inTransaction {
                try Ledger.rebuild(db, names: Ledger.projectionNames)
                return .commit
            }
        }
        try copyQueue.close()
        for table in ["case_state", "violations", "audit_voids", "compliance_cases"] {
            let rows = { (file: String) throws -> [String] in
                let queue = try DatabaseQueue(path: file)
                defer { try? queue.close() }
                return try queue.read { db in
                    try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2").map { $0.description }
                }
            }
            let (fromBinary, fromCopy) = (try rows(db), try rows(copy))
            XCTAssertFalse(fromBinary.isEmpty, table)
            XCTAssertTrue(fromBinary == fromCopy, "\(table): \(fromBinary.count) rows rebuilt by the binary, \(fromCopy.count) in the copy")
        }
        let verified = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verified.exitCode, 4, verified.stdout + verified.stderr)
        XCTAssertTrue(verified.stderr.contains("seq \(edited)"), verified.stderr)
    }

    /// An append's scan sees the events its own transaction has written and no other connection
    /// sees yet: the log is then read through that connection, not beside it.
    func testAnUncommittedEventIsFedFromTheConnectionThatHoldsIt() throws {
        let folder = try TemporaryFolder()
        let db = try generatedLedger(cases: 5, seed: 2, in: folder)
        let queue = try DatabaseQueue(path: db)
        defer { try? queue.close() }
        try queue.inDatabase { db in
            try db.inTransaction {
                XCTAssertNotNil(try Ledger.pathReadableAlongside(db), "a WAL file: the log could be read beside this connection")
                let now = LedgerClock.now()
                let line = Events.opened(caseID: "C-FEED-1")
                let event = try Array(line.utf8).withUnsafeBufferPointer { try SubmissionPipeline.checkedEvent(line: 1, bytes: $0, now: now) }
                let appender = try BatchAppender(db: db, now: now)
                guard case .appended(let seq) = try appender.append(event, line: 1) else { return .rollback }
                var fed: [Int64] = []
                try Ledger.feedEvents(db) { event, _, _ in fed.append(event.seq) }
                XCTAssertEqual(fed.last, seq, "the uncommitted event is fed, after every committed one")
                XCTAssertEqual(fed.count, Int(seq))
                return .rollback
            }
        }
    }

    /// A fold that stops midway (its body throws) gets its own error back, and the reader beside
    /// it is stopped and its connection closed before the feed returns: nothing else holds the
    /// file open afterwards (leaving WAL mode needs the only connection).
    func testAFoldThatStopsLeavesNoReaderBehind() throws {
        let folder = try TemporaryFolder()
        let db = try generatedLedger(cases: 40, seed: 4, in: folder)
        struct Stop: Error {}
        let queue = try DatabaseQueue(path: db)
        var fed = 0
        XCTAssertThrowsError(try queue.read { db in
            try Ledger.feedEvents(db) { _, _, _ in
                fed += 1
                if fed == 100 { throw Stop() }
            }
        }) { error in XCTAssertTrue(error is Stop, "\(error)") }
        XCTAssertEqual(fed, 100)
        try queue.close()
        let alone = try DatabaseQueue(path: db)
        defer { try? alone.close() }
        try alone.writeWithoutTransaction { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE"), "delete")
        }
    }

    /// A replay's output is written with a rollback journal, so its fold reads the events from
    /// the WAL source they were copied from, on a connection of its own, and no further than the
    /// copy's head; a source that does not hold that head (another log) is not read at all.
    func testACopyIsFedFromItsSourceUpToItsHeadWhenTheSourceHoldsIt() throws {
        let folder = try TemporaryFolder()
        let source = try generatedLedger(cases: 30, seed: 6, in: folder)
        let replayed = folder.path("replay.sqlite")
        let replay = try CLI.run(["replay", "--db", source, "--until-seq", "200", "--out", replayed])
        XCTAssertEqual(replay.exitCode, 0, replay.stderr)
        let copy = try rollbackJournalCopy(of: replayed, in: folder)
        // The source's first event edited, out of sight of the head check: what is fed tells
        // which file was read.
        try tamper(source, "UPDATE events SET actor = 'agent:read-from-the-source' WHERE seq = 1", dropping: ["events_no_update"])
        func fed() throws -> (seqs: [Int64], firstActor: String?) {
            let queue = try DatabaseQueue(path: copy)
            defer { try? queue.close() }
            return try queue.read { db in
                XCTAssertNil(try Ledger.pathReadableAlongside(db), "a rollback journal: not readable beside this connection")
                var seqs: [Int64] = []
                var firstActor: String?
                try Ledger.feedEvents(db, copiedFrom: source) { event, _, _ in
                    if seqs.isEmpty { firstActor = event.actor }
                    seqs.append(event.seq)
                }
                return (seqs, firstActor)
            }
        }
        let fromSource = try fed()
        XCTAssertEqual(fromSource.seqs, Array(1...200), "the source's events up to the copy's head, though it holds more")
        XCTAssertEqual(fromSource.firstActor, "agent:read-from-the-source")
        // Another log: its event at the copy's head has another hash. The copy is read instead.
        try tamper(source, "UPDATE events SET hash = '\(String(repeating: "0", count: 64))' WHERE seq = 200", dropping: ["events_no_update"])
        let fromCopy = try fed()
        XCTAssertEqual(fromCopy.seqs, Array(1...200))
        XCTAssertNotEqual(fromCopy.firstActor, "agent:read-from-the-source")
        XCTAssertNotNil(fromCopy.firstActor)
    }

    /// A generated portfolio's ledger, written by the real binary.
    private func generatedLedger(cases: Int, seed: Int, in folder: TemporaryFolder) throws -> String {
        let db = folder.path("ledger.sqlite")
        let generated = try CLI.run(["generate", "--db", db, "--cases", "\(cases)", "--seed", "\(seed)"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        return db
    }

    /// A copy of the ledger at `path` with a rollback journal instead of the WAL.
    private func rollbackJournalCopy(of path: String, in folder: TemporaryFolder) throws -> String {
        let copy = folder.path("rollback-\(UUID().uuidString).sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let queue = try DatabaseQueue(path: copy)
        try queue.writeWithoutTransaction { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE"), "delete")
        }
        try queue.close()
        return copy
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
            try Ledger.feedEvents(db, shares: [share]) { event, _, _ in fed.append(event.seq) }
        }
    }
}
