import CaseLedgerCore
@testable import CaseLedgerStore
import Foundation
import GRDB
import XCTest

/// One batch with more cases than an append keeps in memory (`Limits.batchStateCacheCases`),
/// interleaved as a time-ordered migration is: cases are written back and read again mid-batch,
/// their contacts judged once at the end from the log. The result must be exactly what the same
/// events give in small batches, and what a rebuild gives.
final class BulkAppendTests: XCTestCase {
    /// The one-batch appends keep an eighth of the default's records in memory
    /// (`CASELEDGER_APPEND_CACHE_RECORDS`), so that a few thousand cases or a few ten thousand
    /// records pass the limits; the small batches keep the default.
    static let records = 8_192
    static let cacheCases = records / 4
    static let smallCache = [Limits.appendCacheRecordsVariable: "\(records)"]

    func testABatchOfMoreCasesThanFitInMemoryEndsAsSmallBatchesDo() throws {
        let cases = Self.cacheCases + 800
        var lines: [String] = []
        var lateCalls: [String] = []
        for index in 0..<cases { lines.append(Events.opened(caseID: "C-\(index)")) }
        // Each case comes back after every other case: an in-hours call, then a late one.
        for index in 0..<cases { lines.append(Events.call(caseID: "C-\(index)", occurredAt: "2024-03-05T10:00:00+08:00")) }
        for index in 0..<cases {
            let id = UUID().uuidString.lowercased()
            lateCalls.append(id)
            lines.append(Events.call(caseID: "C-\(index)", id: id, occurredAt: "2024-03-05T22:30:00+08:00"))
        }
        // Every tenth late call voided at the end: its target's case was evicted long before.
        for index in stride(from: 0, to: cases, by: 10) {
            lines.append(Events.line(caseID: "C-\(index)", type: "entry.voided", occurredAt: "2024-03-06T09:00:00+08:00", actor: "supervisor:li",
                                     data: #"{"voids":"\#(lateCalls[index])","reason":"dialled in error"}"#))
        }

        let bulk = try appendInOneBatchAndInSmallOnes(lines)
        let bulkRows = try projections(bulk)
        XCTAssertEqual(bulkRows.states.count, cases)
        XCTAssertEqual(bulkRows.judged.count, cases, "every case judged")
        // Each late call breaks the hours of at least one rulebook, unless voided.
        let voided = (cases + 9) / 10
        XCTAssertEqual(Set(bulkRows.violations.map { $0.split(separator: " ")[0] }).count, cases - voided)
        let verify = try CLI.run(["verify", "--db", bulk])
        XCTAssertEqual(verify.exitCode, 0, verify.stdout + verify.stderr)
    }

    /// Fewer cases than the cache keeps, but so many records between them that their weight
    /// (`Limits.batchStateCacheRecords`) writes the least recently used back mid-batch and reads
    /// them again: long-running cases with dozens of payments each.
    func testCasesHeavyWithRecordsAreWrittenBackByWeightAndEndAsSmallBatchesDo() throws {
        let cases = 400
        let rounds = 30
        XCTAssertLessThan(cases, Self.cacheCases, "the count alone must not evict")
        XCTAssertGreaterThan(cases * (rounds + 1), Self.records, "the weight must")
        var lines = (0..<cases).map { Events.opened(caseID: "C-\($0)") }
        // A late call for every case first, so that each has a violation to keep.
        lines += (0..<cases).map { Events.call(caseID: "C-\($0)", occurredAt: "2024-03-05T22:30:00+08:00") }
        for round in 0..<rounds {
            let day = String(format: "2024-04-%02d", 1 + round % 28)
            let hour = String(format: "%02d", 9 + round / 28)
            for index in 0..<cases {
                lines.append(Events.payment(caseID: "C-\(index)", amount: 100 + round, occurredAt: "\(day)T\(hour):00:00+08:00"))
            }
        }
        let bulk = try appendInOneBatchAndInSmallOnes(lines)
        let rows = try projections(bulk)
        XCTAssertEqual(rows.states.count, cases)
        XCTAssertEqual(rows.judged.count, cases, "every case judged")
        XCTAssertEqual(Set(rows.violations.map { $0.split(separator: " ")[0] }).count, cases, "every late call kept")
        let queue = try DatabaseQueue(path: bulk)
        let paid = try queue.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM case_state WHERE json_array_length(state, '$.records') = ?", arguments: [rounds + 1])
        }
        try queue.close()
        XCTAssertEqual(paid, cases, "every payment kept in its case's state")
        let verify = try CLI.run(["verify", "--db", bulk])
        XCTAssertEqual(verify.exitCode, 0, verify.stdout + verify.stderr)
    }

    /// A bulk batch on cases an earlier batch opened, its due cases judged in passes through the
    /// log (`CASELEDGER_FOLD_CASES`): each pass must start at the earliest due case's opening, or
    /// the late calls of the first batch would be judged away. In 3 passes and in 20, all from
    /// one read of the log with the later passes' rows set aside in spill files, and in 20
    /// without a temporary folder, where reading the log once a pass would cost too much and
    /// the cases are judged one by one: the same outcome, and no file left.
    func testABulkBatchOnCasesOpenedEarlierJudgesTheirWholeHistoryInPasses() throws {
        let cases = 400
        let (earlier, lines) = Self.bulkBatchOnEarlierCases(cases)
        XCTAssertGreaterThan(lines.count, Self.records, "the batch must be a bulk one")
        let spills = try TemporaryFolder()
        let runs = [("3 passes", "150", spills.url.path), ("20 passes", "20", spills.url.path), ("20 passes, no temporary folder", "20", spills.path("missing"))]
        for (what, share, folder) in runs {
            let environment = Self.smallCache.merging([Limits.foldCasesVariable: share, "TMPDIR": folder]) { $1 }
            let bulk = try appendInOneBatchAndInSmallOnes(lines, after: earlier, environment: environment)
            let rows = try projections(bulk)
            XCTAssertEqual(rows.judged.count, cases, "\(what): every case judged")
            XCTAssertEqual(Set(rows.violations.map { $0.split(separator: " ")[0] }).count, cases, "\(what): every earlier late call kept")
            let verify = try CLI.run(["verify", "--db", bulk])
            XCTAssertEqual(verify.exitCode, 0, "\(what): " + verify.stdout + verify.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spills.url.path), [], "\(what): no spill file is left")
        }
    }

    /// A log edited by hand (an event whose `data` is no longer an object), the event in a pass
    /// of the append's judging whose rows were set aside in a spill file: the append fails
    /// naming the event's seq (exit 4), its whole batch is rolled back, and no file is left.
    func testAnUnreadableEventInAPassSetAsideFailsTheAppendAndWritesNothing() throws {
        let (earlier, lines) = Self.bulkBatchOnEarlierCases(400)
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder, name: "ledger.sqlite")
        XCTAssertEqual(try append(earlier, to: db).exitCode, 0)
        // 400 cases due at 150 a pass: 3 passes; a late call of a case in the last, set aside.
        let queue = try DatabaseQueue(path: db)
        let seq = try queue.write { db -> Int64 in
            let rows = try Row.fetchAll(db, sql: "SELECT seq, case_id FROM events WHERE type = 'call.placed' ORDER BY seq")
            let seq: Int64 = try XCTUnwrap(rows.first { Ledger.FoldShare.hash(caseID: $0["case_id"]) % 3 == 2 })["seq"]
            try db.execute(sql: "DROP TRIGGER events_no_update")
            try db.execute(sql: "UPDATE events SET data = '[1]' WHERE seq = ?", arguments: [seq])
            return seq
        }
        let count = { try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") } }
        let eventsBefore = try count()
        let projectionsBefore = try projections(db)
        let spills = try TemporaryFolder()
        let result = try CLI.run(["append", "--db", db], stdin: lines.joined(separator: "\n") + "\n",
                                 environment: Self.smallCache.merging([Limits.foldCasesVariable: "150", "TMPDIR": spills.url.path]) { $1 })
        XCTAssertEqual(result.exitCode, 4, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("seq \(seq)"), "names the unreadable event: \(result.stderr)")
        XCTAssertEqual(try count(), eventsBefore, "nothing of the batch is written")
        let projectionsAfter = try projections(db)
        XCTAssertTrue(projectionsAfter == projectionsBefore, "the projections are as they were")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spills.url.path), [], "no spill file is left")
        try queue.close()
    }

    /// A batch that leaves more cases to judge than `BatchAppender.backgroundJudgingCases` has
    /// them judged on a second thread while their states are written. Their violations and
    /// compliance rows must be those of batches too small for that, judged inline.
    /// A bulk batch keeps the states it writes back on a shelf, as their rows, and writes the
    /// oldest to `case_state` when the shelf is full (`Limits.batchStateShelfBytes`, 768 bytes
    /// a record of `CASELEDGER_APPEND_CACHE_RECORDS`). With 256 records (64 cases in memory,
    /// a shelf of 192 KiB, a few hundred states) 1,500 cases come and go through all three:
    /// memory, the shelf and the table. Cases the table held before the batch change status
    /// and escalation while shelved; events sent twice take cases off the shelf without
    /// changing them. Every row of `case_state` must end as in small batches.
    func testStatesShelvedMidBatchEndAsSmallBatchesDo() throws {
        let environment = [Limits.appendCacheRecordsVariable: "256"]
        let earlierCases = 300, newCases = 1_200
        let earlier = (0..<earlierCases).map { Events.opened(caseID: "E-\($0)") }
        let openings = (0..<newCases).map { Events.opened(caseID: "N-\($0)") }
        let earlierCalls = (0..<earlierCases).map { Events.call(caseID: "E-\($0)", occurredAt: "2024-03-05T10:00:00+08:00") }
        var lines = openings + earlierCalls
        for index in 0..<earlierCases {
            if index % 3 == 0 {
                lines.append(Events.line(caseID: "E-\(index)", type: "case.escalated", occurredAt: "2024-03-06T10:00:00+08:00",
                                         actor: "supervisor:li.na", data: #"{"to":"supervisor","reason":"no contact"}"#))
            }
            if index % 5 == 0 {
                lines.append(Events.line(caseID: "E-\(index)", type: "case.closed", occurredAt: "2024-03-07T10:00:00+08:00",
                                         actor: "supervisor:li.na", data: #"{"reason":"settled"}"#))
            }
        }
        let lateCalls = (0..<newCases).map { Events.call(caseID: "N-\($0)", occurredAt: "2024-03-05T22:30:00+08:00") }
        // Sent again: each case is read back (from the shelf, or the table) and left as it was.
        // The earlier cases first come back a hundred cases after their last change, off the
        // shelf, with a status and escalation the table does not hold yet.
        lines += lateCalls[..<100] + earlierCalls + lateCalls[100...] + openings
        lines += stride(from: 1, to: earlierCases, by: 7).filter { $0 % 5 != 0 }.map {
            Events.payment(caseID: "E-\($0)", amount: 700, occurredAt: "2024-03-08T10:00:00+08:00")
        }
        XCTAssertGreaterThan(lines.count, 256, "the batch must be a bulk one")

        let bulk = try appendInOneBatchAndInSmallOnes(lines, after: earlier, environment: environment)
        let rows = try projections(bulk)
        XCTAssertEqual(rows.states.count, earlierCases + newCases)
        XCTAssertEqual(rows.states.filter { $0.hasSuffix(" closed") }.count, earlierCases / 5)
        let verify = try CLI.run(["verify", "--db", bulk])
        XCTAssertEqual(verify.exitCode, 0, verify.stdout + verify.stderr)
        // Every column, the state's JSON included, as small batches leave it.
        let small = bulk.replacingOccurrences(of: "bulk.sqlite", with: "small.sqlite")
        func stored(_ path: String) throws -> [String] {
            let queue = try DatabaseQueue(path: path)
            defer { try? queue.close() }
            return try queue.read { db in
                try String.fetchAll(db, sql: """
                    SELECT case_id || ' ' || version || ' ' || status || ' ' || ifnull(escalation, '-') || ' ' || last_seq || ' ' || state
                    FROM case_state ORDER BY case_id
                    """)
            }
        }
        let bulkStates = try stored(bulk), smallStates = try stored(small)
        XCTAssertEqual(bulkStates.count, smallStates.count)
        XCTAssertEqual(bulkStates.filter { $0.contains(" supervisor ") }.count, earlierCases / 3)
        let first = zip(bulkStates, smallStates).first { $0 != $1 }
        XCTAssertNil(first, "first different row of case_state: \(first.map { "\($0)\n against \($1)" } ?? "")")
    }

    func testManyCasesJudgedOnASecondThreadEndAsJudgedInline() throws {
        let cases = BatchAppender.backgroundJudgingCases + 44
        var lines = (0..<cases).map { Events.opened(caseID: "C-\($0)") }
        lines += (0..<cases).map { Events.call(caseID: "C-\($0)", occurredAt: "2024-03-05T10:00:00+08:00") }
        // A second call within the hour for every third case, and a late call for every other.
        lines += stride(from: 0, to: cases, by: 3).map { Events.call(caseID: "C-\($0)", occurredAt: "2024-03-05T10:20:00+08:00") }
        lines += stride(from: 0, to: cases, by: 2).map { Events.call(caseID: "C-\($0)", occurredAt: "2024-03-05T22:30:00+08:00") }
        let bulk = try appendInOneBatchAndInSmallOnes(lines, smallBatch: 100)
        let rows = try projections(bulk)
        XCTAssertEqual(rows.judged.count, cases, "every case judged")
        XCTAssertEqual(Set(rows.violations.map { $0.split(separator: " ")[0] }).count, (cases + 1) / 2, "every late call kept")
        let verify = try CLI.run(["verify", "--db", bulk])
        XCTAssertEqual(verify.exitCode, 0, verify.stdout + verify.stderr)
    }

    func testABadCacheSizeIsRefusedBeforeAnythingIsAppended() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder, name: "ledger.sqlite")
        for value in ["0", "-3", "many", "1.5", ""] {
            let result = try CLI.run(["append", "--db", db], stdin: Events.opened(caseID: "C-1") + "\n",
                                     environment: [Limits.appendCacheRecordsVariable: value])
            XCTAssertEqual(result.exitCode, 2, "CASELEDGER_APPEND_CACHE_RECORDS=\(value): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("CASELEDGER_APPEND_CACHE_RECORDS") && result.stderr.contains("whole number of records, at least 1"),
                          result.stderr)
        }
        XCTAssertEqual(try events(db), 0, "a refused append wrote to the ledger")
        XCTAssertEqual(Limits.appendCacheRecords([Limits.appendCacheRecordsVariable: "8192"]), .success(8_192))
        XCTAssertEqual(Limits.appendCacheRecords([:]), .success(Limits.defaultAppendCacheRecords))
        // The shelf scales with the records, and the largest accepted number does not overflow it.
        XCTAssertEqual(Limits.batchStateShelfBytes(records: Limits.defaultAppendCacheRecords), 48 << 20)
        XCTAssertEqual(Limits.batchStateShelfBytes(records: .max), .max)
        let accepted = try CLI.run(["append", "--db", db], stdin: Events.opened(caseID: "C-1") + "\n", environment: Self.smallCache)
        XCTAssertEqual(accepted.exitCode, 0, accepted.stderr)
        XCTAssertEqual(try events(db), 1)
    }

    private func events(_ path: String) throws -> Int {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 }
    }

    /// Appends `lines` as one batch into one ledger and in batches of `smallBatch` into another (each
    /// after `earlier`, appended alike), checks that both hold the same case states, compliance
    /// cases and violations, and returns the first.
    private func appendInOneBatchAndInSmallOnes(_ lines: [String], after earlier: [String] = [], environment: [String: String] = smallCache,
                                                smallBatch: Int = 2_000, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let folder = try TemporaryFolder()
        folders.append(folder)
        let bulk = try makeLedger(folder, name: "bulk.sqlite")
        let small = try makeLedger(folder, name: "small.sqlite")
        for db in [bulk, small] where !earlier.isEmpty {
            let first = try append(earlier, to: db)
            XCTAssertEqual(first.exitCode, 0, first.stderr, file: file, line: line)
        }
        let result = try CLI.run(["append", "--db", bulk], stdin: lines.joined(separator: "\n") + "\n", environment: environment)
        XCTAssertEqual(result.exitCode, 0, result.stderr, file: file, line: line)
        for chunk in stride(from: 0, to: lines.count, by: smallBatch) {
            let part = try append(Array(lines[chunk..<min(chunk + smallBatch, lines.count)]), to: small)
            XCTAssertEqual(part.exitCode, 0, part.stderr, file: file, line: line)
        }
        let bulkRows = try projections(bulk)
        let smallRows = try projections(small)
        func same(_ a: [String], _ b: [String], _ what: String) {
            let first = zip(a, b).first { $0 != $1 }
            XCTAssertTrue(a == b, "\(what): \(a.count) rows against \(b.count) in small batches; first difference \(first.map { "\($0) / \($1)" } ?? "in length")",
                          file: file, line: line)
        }
        same(bulkRows.violations, smallRows.violations, "violations")
        same(bulkRows.states, smallRows.states, "case states")
        same(bulkRows.judged, smallRows.judged, "compliance_cases")
        return bulk
    }

    /// Cases opened by an earlier batch, each with a late call; then a bulk batch on them: 45
    /// rounds of a payment for every case, with an in-hours call every 20 rounds, so that every
    /// case's contacts are due again at the batch's end.
    private static func bulkBatchOnEarlierCases(_ cases: Int) -> (earlier: [String], lines: [String]) {
        let earlier = (0..<cases).map { Events.opened(caseID: "C-\($0)") }
            + (0..<cases).map { Events.call(caseID: "C-\($0)", occurredAt: "2024-03-05T22:30:00+08:00") }
        var lines: [String] = []
        for round in 0..<45 {
            let day = String(format: "2024-04-%02d", 1 + round % 28)
            for index in 0..<cases {
                lines.append(Events.payment(caseID: "C-\(index)", amount: 100 + round, occurredAt: "\(day)T1\(round / 28):00:00+08:00"))
                if round % 20 == 0 {
                    lines.append(Events.call(caseID: "C-\(index)", occurredAt: "\(day)T1\(round / 28):30:00+08:00"))
                }
            }
        }
        return (earlier, lines)
    }

    /// Kept until the test ends: the ledgers live in them.
    private var folders: [TemporaryFolder] = []

    private func projections(_ path: String) throws -> (violations: [String], states: [String], judged: [String]) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            (try String.fetchAll(db, sql: "SELECT case_id || ' ' || rule || ' ' || rulebook || ' ' || detail FROM violations ORDER BY case_id, seq, rule, rulebook"),
             try String.fetchAll(db, sql: "SELECT case_id || ' ' || status FROM case_state ORDER BY case_id"),
             try String.fetchAll(db, sql: "SELECT case_id || ' ' || contacts || ' ' || contacts_judged || ' ' || violations FROM compliance_cases ORDER BY case_id"))
        }
    }
}
