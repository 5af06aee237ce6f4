import Foundation
@testable import CaseLedgerStore
import XCTest

/// docs/events.md, docs/cli.md, end to end: every test runs the real `caseledger` binary on a real SQLite
/// file. A refused batch must name its line and field, exit 1 (3 for a conflict), and leave the
/// log exactly as it was.
final class AppendContractTests: XCTestCase {

    // MARK: - Rejected outright (docs/events.md)

    func testUnknownEventTypeIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.line(type: "call.made", data: #"{"text":"x"}"#)],
                               line: 2, field: "type")
    }

    func testDataMissingARequiredFieldIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), paymentLine(data: #"{"amount_minor":500,"currency":"CNY","reference":"PAY-1"}"#)],
                               line: 2, field: "data.channel")
    }

    func testDataFieldOfTheWrongTypeIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), paymentLine(data: #"{"amount_minor":"500","currency":"CNY","channel":"cash","reference":"PAY-1"}"#)],
                               line: 2, field: "data.amount_minor")
    }

    func testDataValueOutsideItsEnumIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.call(outcome: "hung_up")], line: 2, field: "data.outcome")
    }

    func testDataWithAnExtraFieldIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), paymentLine(data: #"{"amount_minor":500,"currency":"CNY","channel":"cash","reference":"PAY-1","tip":1}"#)],
                               line: 2, field: "data.tip")
    }

    func testNegativePaymentAmountIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.payment(amount: -500)], line: 2, field: "data.amount_minor")
    }

    func testOccurredAtWithoutAnOffsetIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.call(occurredAt: "2024-03-05T10:00:00")], line: 2, field: "occurred_at")
    }

    func testOccurredAtMoreThanFiveMinutesInTheLedgersFutureIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.call(occurredAt: "2024-06-01T08:06:00+08:00")],
                               line: 2, field: "occurred_at", environment: Self.pinnedClock)
    }

    func testOccurredAtUpToFiveMinutesInTheLedgersFutureIsAccepted() throws {
        let ledger = try LedgerUnderTest(self, seed: [Events.opened()], environment: Self.pinnedClock)
        let result = try ledger.append([Events.call(occurredAt: "2024-06-01T08:04:00+08:00"),
                                        Events.call(occurredAt: "2024-06-01T00:05:00Z")], environment: Self.pinnedClock)
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertEqual(result.stdout.appendCounts, appendSummary(appended: 2, duplicates: 0, head: 3))
        let recorded = try ledger.events().map { $0["recorded_at"] as? String ?? "" }
        for stamp in recorded {
            XCTAssertTrue(stamp.hasPrefix("2024-06-01T00:00:00"), "recorded_at \(stamp) does not follow CASELEDGER_CLOCK")
        }
    }

    func testEventOnACaseNeverOpenedIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.call(caseID: "C-404")], line: 2, field: "case_id")
    }

    func testEventAfterTheCaseIsClosedIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call()], seed: [Events.opened(), Events.closed()], line: 1, field: "case_id")
    }

    func testPaymentInAnotherCurrencyIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.payment(), Events.payment(currency: "USD")], line: 2, field: "data.currency")
    }

    func testVoidingAnEventOfAnotherCaseIsRejectedAndNothingIsWritten() throws {
        let otherCall = uuid()
        try assertBatchRefused([Events.call(), Events.void(otherCall)],
                               seed: [Events.opened(), Events.opened(caseID: "C-2"), Events.call(caseID: "C-2", id: otherCall)],
                               line: 2, field: "data.voids")
    }

    func testSameEventIdWithDifferentContentIsRejectedAndNothingIsWritten() throws {
        let id = uuid()
        try assertBatchRefused([Events.call(), Events.call(id: id, outcome: "connected")],
                               seed: [Events.opened(), Events.call(id: id, outcome: "no_answer")],
                               line: 2, field: "event_id")
    }

    func testSameEventIdWithDifferentContentInOneBatchIsRejectedAndNothingIsWritten() throws {
        let id = uuid()
        try assertBatchRefused([Events.call(id: id, outcome: "no_answer"), Events.call(id: id, outcome: "connected")],
                               line: 2, field: "event_id")
    }

    // MARK: - expected_version (docs/events.md)

    func testExpectedVersionOneOnACaseThatDoesNotExistIsAConflictAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), withExpectedVersion(1, Events.opened(caseID: "C-2"))],
                               exitCode: 3, line: 2, field: "expected_version")
    }

    func testStaleExpectedVersionOnAnExistingCaseIsAConflictAndNothingIsWritten() throws {
        try assertBatchRefused([Events.opened(caseID: "C-2"), Events.call(expectedVersion: 2)],
                               seed: [Events.opened(), Events.call(), Events.call()],
                               exitCode: 3, line: 2, field: "expected_version")
    }

    func testExpectedVersionZeroOpensANewCase() throws {
        let ledger = try LedgerUnderTest(self, seed: [])
        let result = try ledger.append([withExpectedVersion(0, Events.opened())])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertEqual(try ledger.events().map(\.version), [1])
    }

    func testTheCasesCurrentVersionAsExpectedVersionIsAccepted() throws {
        let ledger = try LedgerUnderTest(self, seed: [Events.opened(), Events.call()])
        let result = try ledger.append([Events.call(expectedVersion: 2), Events.call(expectedVersion: 3)])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertEqual(try ledger.events().map(\.version), [1, 2, 3, 4])
    }

    // MARK: - Domain rules

    func testVoidingAnUnknownEventIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.void(uuid())], line: 2, field: "data.voids")
    }

    func testVoidingAnEventTwiceIsRejectedAndNothingIsWritten() throws {
        let call = uuid()
        let ledger = try LedgerUnderTest(self, seed: [Events.opened(), Events.call(id: call)])
        XCTAssertEqual(try ledger.append([Events.void(call)]).exitCode, 0)
        try assertRefused(ledger, [Events.call(), Events.void(call)], line: 2, field: "data.voids")
    }

    func testVoidingTheCaseOpeningIsRejectedAndNothingIsWritten() throws {
        let opening = uuid()
        try assertBatchRefused([Events.call(), Events.void(opening)], seed: [Events.opened(id: opening)],
                               line: 2, field: "data.voids")
    }

    func testCancellingAVisitNeverBookedIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.visitBooked("V-1"), Events.visitCancelled("V-2")], line: 2, field: "data.visit_id")
    }

    func testAcceptingAPlanNeverOfferedIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.planOffered("P-1"), Events.planDecided("plan.accepted", "P-2")],
                               line: 2, field: "data.plan_id")
    }

    func testDecliningAPlanNeverOfferedIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.planOffered("P-1"), Events.planDecided("plan.declined", "P-2")],
                               line: 2, field: "data.plan_id")
    }

    func testAcceptingAPlanTwiceIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.planDecided("plan.accepted", "P-1")],
                               seed: [Events.opened(), Events.planOffered("P-1"), Events.planDecided("plan.accepted", "P-1")],
                               line: 2, field: "data.plan_id")
    }

    func testLiftingAnUnknownRestrictionIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.restricted("R-1"), Events.restrictionLifted("R-2")],
                               line: 2, field: "data.restriction_id")
    }

    func testLiftingARestrictionTwiceIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.restrictionLifted("R-1")],
                               seed: [Events.opened(), Events.restricted("R-1"), Events.restrictionLifted("R-1")],
                               line: 2, field: "data.restriction_id")
    }

    func testOpeningTheSameCaseTwiceIsRejectedAndNothingIsWritten() throws {
        try assertBatchRefused([Events.call(), Events.opened()], line: 2, field: "type")
    }

    func testEventThatOccurredBeforeTheCaseWasOpenedIsRejectedAndNothingIsWritten() throws {
        // The case opened at 2024-03-01T09:00:00+08:00, i.e. 01:00Z; 00:59Z is a minute earlier.
        try assertBatchRefused([Events.call(), Events.call(occurredAt: "2024-03-01T00:59:00Z")], line: 2, field: "occurred_at")
    }

    // MARK: - Batch atomicity and line numbers

    func testBadLineLastInABatchWritesNothingAndNamesThatLine() throws {
        let good = [Events.call(), Events.opened(caseID: "C-2"), Events.payment(), Events.call(caseID: "C-2")]
        let ledger = try LedgerUnderTest(self, seed: [Events.opened()])
        try assertRefused(ledger, good + [Events.payment(currency: "EUR")], line: 5, field: "data.currency")
        try assertGoodLinesStillAppendWithoutAGap(ledger, good)
    }

    func testBadLineInTheMiddleOfABatchWritesNothingAndNamesThatLine() throws {
        let good = [Events.call(), Events.opened(caseID: "C-2"), Events.payment(), Events.call(caseID: "C-2")]
        let ledger = try LedgerUnderTest(self, seed: [Events.opened()])
        try assertRefused(ledger, Array(good[..<2]) + [Events.call(caseID: "C-404")] + Array(good[2...]),
                          line: 3, field: "case_id")
        try assertGoodLinesStillAppendWithoutAGap(ledger, good)
    }

    /// A batch big enough to have its hashes worked out ahead (`Ledger.forecastingEvents`), onto
    /// cases already in the log: a refusal at line 3,001, after 3,000 good events, still writes
    /// nothing, whether the line is not JSON, the rules refuse it or its `expected_version`
    /// conflicts; the good lines then go in without a gap.
    func testARefusalInABatchWhoseHashesAreForecastWritesNothingAndNamesItsLine() throws {
        let openings = (0..<100).map { Events.opened(caseID: "F-\($0)") }
        let good = (0..<3_000).map { Events.call(caseID: "F-\($0 % 100)") }
        let after = (0..<50).map { Events.call(caseID: "F-\($0)") }
        XCTAssertGreaterThan(good.count, Ledger.forecastingEvents)
        let ledger = try LedgerUnderTest(self, seed: openings)
        try assertRefused(ledger, good + [#"{"event_id":"not json"#] + after, line: 3_001)
        try assertRefused(ledger, good + [Events.call(caseID: "F-404")] + after, line: 3_001, field: "case_id")
        try assertRefused(ledger, good + [Events.call(caseID: "F-7", expectedVersion: 2)] + after,
                          exitCode: 3, line: 3_001, field: "expected_version")
        try assertGoodLinesStillAppendWithoutAGap(ledger, good)
        try ledger.assertVerifies(events: openings.count + good.count)
    }

    func testTruncatedJSONIsRefusedAndNamesItsLine() throws {
        let truncated = String(Events.call().dropLast(12))
        try assertBatchRefused([Events.call(), truncated, Events.call()], line: 2)
    }

    func testFloatingPointAmountIsRefusedAndNamesItsLine() throws {
        let line = paymentLine(data: #"{"amount_minor":12.5,"currency":"CNY","channel":"cash","reference":"PAY-1"}"#)
        let result = try assertBatchRefused([Events.call(), line], line: 2)
        XCTAssertTrue(result.stderr.contains("data.amount_minor: ") && result.stderr.contains("12.5 has a fraction or an exponent; the ledger's numbers are integers"),
                      "the error should name the field and say fractions are refused: \(result.stderr)")
    }

    func testTrailingGarbageAfterTheEventIsRefusedAndNamesItsLine() throws {
        try assertBatchRefused([Events.call(), Events.call() + " }x", Events.call()], line: 2)
    }

    func testBlankLinesAreSkippedButCountInLineNumbers() throws {
        try assertBatchRefused([Events.call(), "", "   ", Events.call(caseID: "C-404")], line: 4, field: "case_id")

        let ledger = try LedgerUnderTest(self, seed: [Events.opened()])
        let result = try ledger.append(["", Events.call(), "\t", "", Events.call()])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertEqual(result.stdout.appendCounts, appendSummary(appended: 2, duplicates: 0, head: 3))
    }

    // MARK: - Idempotency

    func testSameEventTwiceInOneBatchIsAppendedOnce() throws {
        let call = Events.call()
        let ledger = try LedgerUnderTest(self, seed: [Events.opened()])
        let result = try ledger.append([call, Events.payment(), call])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertEqual(result.stdout.appendCounts, appendSummary(appended: 2, duplicates: 1, head: 3))
        XCTAssertEqual(try ledger.events().map(\.seq), [1, 2, 3])
    }

    func testSameBatchAppendedTwiceIsANoOpThatKeepsTheOriginalSeq() throws {
        let batch = [Events.opened(), Events.call(), Events.opened(caseID: "C-2"), Events.payment()]
        let ledger = try LedgerUnderTest(self, seed: [])
        XCTAssertEqual(try ledger.append(batch).stdout.appendCounts, appendSummary(appended: 4, duplicates: 0, head: 4))
        let log = try ledger.log()

        let again = try ledger.append(batch)
        XCTAssertEqual(again.exitCode, 0, again.stderr)
        XCTAssertEqual(again.stdout.appendCounts, appendSummary(appended: 0, duplicates: 4, head: 4))
        XCTAssertEqual(again.stdout.duplicateSeqs, [1, 2, 3, 4], "each repeat reports the seq it was recorded at")
        XCTAssertEqual(try ledger.log(), log, "a repeated batch changed the log")

        // A repeat of an older event after the log has grown: still a no-op, its seq unchanged.
        XCTAssertEqual(try ledger.append([Events.call(caseID: "C-2")]).stdout.appendCounts, appendSummary(appended: 1, duplicates: 0, head: 5))
        let repeatOfSecond = try ledger.append([batch[1]])
        XCTAssertEqual(repeatOfSecond.stdout.appendCounts, appendSummary(appended: 0, duplicates: 1, head: 5))
        XCTAssertEqual(repeatOfSecond.stdout.duplicateSeqs, [2])
        let second = try XCTUnwrap(try ledger.events().first { $0.eventID == eventID(of: batch[1]) })
        XCTAssertEqual(second.seq, 2)
        try ledger.assertVerifies(events: 5)
    }

    func testRepeatWithAStaleExpectedVersionIsANoOpNotAConflict() throws {
        let call = Events.call(expectedVersion: 1)
        let ledger = try LedgerUnderTest(self, seed: [Events.opened()])
        XCTAssertEqual(try ledger.append([call]).exitCode, 0)
        XCTAssertEqual(try ledger.append([Events.call()]).exitCode, 0)
        let log = try ledger.log()

        let again = try ledger.append([call])  // expected_version 1, but the case is at 3 now
        XCTAssertEqual(again.exitCode, 0, again.stderr)
        XCTAssertEqual(again.stdout.appendCounts, appendSummary(appended: 0, duplicates: 1, head: 3))
        XCTAssertEqual(try ledger.log(), log)
    }

    // MARK: - seq, version and the stored envelope

    func testSeqIsGlobalAndGaplessWhileVersionCountsWithinEachCase() throws {
        let ledger = try LedgerUnderTest(self, seed: [])
        XCTAssertEqual(try ledger.append([Events.opened(caseID: "A"), Events.opened(caseID: "B"), Events.call(caseID: "A")]).exitCode, 0)
        XCTAssertEqual(try ledger.append([Events.call(caseID: "B"), Events.call(caseID: "A"), Events.opened(caseID: "C"),
                                          Events.payment(caseID: "B")]).exitCode, 0)
        let events = try ledger.events()
        XCTAssertEqual(events.map(\.seq), Array(1...7))
        XCTAssertEqual(events.map { "\($0.caseID)v\($0.version)" }, ["Av1", "Bv1", "Av2", "Bv2", "Av3", "Cv1", "Bv3"])
        let hexDigits = CharacterSet(charactersIn: "0123456789abcdef")
        for event in events {
            let recordedAt = try XCTUnwrap(event["recorded_at"] as? String, "seq \(event.seq) has no recorded_at")
            XCTAssertTrue(recordedAt.hasSuffix("Z"), "recorded_at \(recordedAt) is not UTC")
            let hash = try XCTUnwrap(event["hash"] as? String, "seq \(event.seq) has no hash")
            XCTAssertEqual(hash.count, 64, hash)
            XCTAssertTrue(hash.unicodeScalars.allSatisfy(hexDigits.contains), "hash \(hash) is not lowercase hex")
            XCTAssertNotNil(event["schema_version"] as? Int, "seq \(event.seq) has no schema_version")
        }
        XCTAssertEqual(Set(events.map { $0["hash"] as? String }).count, 7, "hashes repeat")
    }

    func testLogSelectsByCaseFromSeqAndLimit() throws {
        let ledger = try LedgerUnderTest(self, seed: [Events.opened(caseID: "A"), Events.opened(caseID: "B"), Events.call(caseID: "A"),
                                                      Events.call(caseID: "B"), Events.call(caseID: "A"), Events.payment(caseID: "B")])
        XCTAssertEqual(try ledger.events(["--case", "A"]).map(\.seq), [1, 3, 5])
        XCTAssertEqual(try ledger.events(["--case", "B"]).map(\.version), [1, 2, 3])
        XCTAssertEqual(try ledger.events(["--case", "C-404"]).map(\.seq), [])
        XCTAssertEqual(try ledger.events(["--from-seq", "4"]).map(\.seq), [4, 5, 6])
        XCTAssertEqual(try ledger.events(["--limit", "2"]).map(\.seq), [1, 2])
        XCTAssertEqual(try ledger.events(["--limit", "0"]).map(\.seq), [])
        XCTAssertEqual(try ledger.events(["--from-seq", "3", "--limit", "2"]).map(\.seq), [3, 4])
        XCTAssertEqual(try ledger.events(["--case", "B", "--from-seq", "3", "--limit", "1"]).map(\.seq), [4])
        XCTAssertEqual(try ledger.events(["--from-seq", "7"]).map(\.seq), [])
    }

    // MARK: - The events table through SQL

    func testEventsTableRefusesAnUpdateThroughSQL() throws {
        try assertSQLRefused("UPDATE events SET actor = 'collector:mallory' WHERE seq = 1")
    }

    func testEventsTableRefusesADeleteThroughSQL() throws {
        try assertSQLRefused("DELETE FROM events WHERE seq = 1")
    }

    // MARK: - The command line

    func testNegativeLimitIsAUsageError() throws {
        let ledger = try LedgerUnderTest(self, seed: [Events.opened()])
        for arguments in [["--limit", "-1"], ["--limit=-1"]] {
            let result = try CLI.run(["log", "--db", ledger.db, "--json"] + arguments)
            XCTAssertEqual(result.exitCode, 2, "log \(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("limit"), result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
    }

    func testUnknownOptionIsAUsageError() throws {
        let ledger = try LedgerUnderTest(self, seed: [Events.opened()])
        let result = try CLI.run(["log", "--db", ledger.db, "--colour"])
        XCTAssertEqual(result.exitCode, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("--colour"), result.stderr)
        let append = try CLI.run(["append", "--db", ledger.db, "--dry-run"], stdin: Events.call() + "\n")
        XCTAssertEqual(append.exitCode, 2, append.stderr)
        try ledger.assertVerifies(events: 1)
    }

    func testReadingCommandsOnAMissingLedgerFailWithAClearMessage() throws {
        let folder = try TemporaryFolder()
        let missing = folder.path("missing.sqlite")
        for command in [["log"], ["log", "--json"], ["verify"]] {
            let result = try CLI.run(command + ["--db", missing])
            XCTAssertEqual(result.exitCode, 1, "\(command): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(missing), "\(command) should name the missing file: \(result.stderr)")
            XCTAssertTrue(result.stderr.lowercased().contains("no ledger"), result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "a reading command created the ledger file")
    }

    func testInitTwiceIsHarmlessAndKeepsTheEvents() throws {
        let ledger = try LedgerUnderTest(self, seed: [Events.opened(), Events.call()])
        let log = try ledger.log()
        let again = try CLI.run(["init", "--db", ledger.db])
        XCTAssertEqual(again.exitCode, 0, again.stderr)
        XCTAssertEqual(try ledger.log(), log)
        try ledger.assertVerifies(events: 2)
        XCTAssertEqual(try ledger.append([Events.call()]).stdout.appendCounts, appendSummary(appended: 1, duplicates: 0, head: 3))
    }
}

// MARK: - Helpers

extension AppendContractTests {
    static let pinnedClock = ["CASELEDGER_CLOCK": "2024-06-01T00:00:00Z"]

    /// Seeds a fresh ledger, then checks `batch` is refused whole (see `assertRefused`).
    @discardableResult
    func assertBatchRefused(_ batch: [String], seed: [String] = [Events.opened()], exitCode: Int32 = 1, line: Int,
                            field: String? = nil, environment: [String: String] = [:],
                            file: StaticString = #filePath, at testLine: UInt = #line) throws -> CLI.Result {
        let ledger = try LedgerUnderTest(self, seed: seed, environment: environment)
        return try assertRefused(ledger, batch, exitCode: exitCode, line: line, field: field, environment: environment,
                                 file: file, testLine: testLine)
    }

    /// Appends `batch` and checks the refusal: the exit code, "line N:" and the field on stderr, and
    /// the log byte-for-byte as it was, its chain still verifying.
    @discardableResult
    func assertRefused(_ ledger: LedgerUnderTest, _ batch: [String], exitCode: Int32 = 1, line: Int, field: String? = nil,
                       environment: [String: String] = [:], file: StaticString = #filePath, testLine: UInt = #line) throws -> CLI.Result {
        let before = try ledger.log()
        let eventsBefore = before.split(separator: "\n").count
        let result = try ledger.append(batch, environment: environment)
        XCTAssertEqual(result.exitCode, exitCode, "stderr: \(result.stderr)", file: file, line: testLine)
        XCTAssertTrue(result.stderr.contains("line \(line):"), "stderr should name line \(line): \(result.stderr)", file: file, line: testLine)
        if let field {
            XCTAssertTrue(result.stderr.contains(field), "stderr should name \(field): \(result.stderr)", file: file, line: testLine)
        }
        XCTAssertEqual(result.stdout, "", file: file, line: testLine)
        XCTAssertEqual(try ledger.log(), before, "a refused batch changed the log", file: file, line: testLine)
        try ledger.assertVerifies(events: eventsBefore, file: file, line: testLine)
        return result
    }

    /// After a refusal, the good lines alone go in, right after the old head: the refusal used up no seq.
    func assertGoodLinesStillAppendWithoutAGap(_ ledger: LedgerUnderTest, _ good: [String],
                                               file: StaticString = #filePath, line: UInt = #line) throws {
        let head = try ledger.events().count
        let result = try ledger.append(good)
        XCTAssertEqual(result.stdout.appendCounts, appendSummary(appended: good.count, duplicates: 0, head: head + good.count),
                       result.stderr, file: file, line: line)
        XCTAssertEqual(try ledger.events().map(\.seq), Array(1...(head + good.count)), file: file, line: line)
    }

    /// Runs `sql` on the ledger file with the sqlite3 command line tool and checks it is refused
    /// by the append-only triggers, with the row unchanged.
    func assertSQLRefused(_ sql: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ledger = try LedgerUnderTest(self, seed: [Events.opened(), Events.call()])
        let log = try ledger.log()
        let result = try sqlite3(ledger.db, sql)
        XCTAssertNotEqual(result.exitCode, 0, "sqlite3 accepted: \(sql)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains("append-only"), result.stderr, file: file, line: line)
        XCTAssertEqual(try sqlite3(ledger.db, "SELECT count(*), min(actor) FROM events").stdout, "2|collector:zhang.wei\n",
                       file: file, line: line)
        XCTAssertEqual(try ledger.log(), log, file: file, line: line)
        try ledger.assertVerifies(events: 2, file: file, line: line)
    }

    func sqlite3(_ db: String, _ sql: String) throws -> CLI.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [db, sql]
        // Files, not pipes: a large output can never block the child while we wait on the other stream.
        let folder = try TemporaryFolder()
        for name in ["out", "err"] { XCTAssertTrue(FileManager.default.createFile(atPath: folder.path(name), contents: nil), "cannot create \(name)") }
        process.standardOutput = FileHandle(forWritingAtPath: folder.path("out"))
        process.standardError = FileHandle(forWritingAtPath: folder.path("err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let outData = try Data(contentsOf: folder.url.appendingPathComponent("out"))
        let errData = try Data(contentsOf: folder.url.appendingPathComponent("err"))
        return CLI.Result(exitCode: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self))
    }

    func appendSummary(appended: Int, duplicates: Int, head: Int) -> String {
        #"{"appended":\#(appended),"duplicates":\#(duplicates),"head_seq":\#(head)}"# + "\n"
    }

    func paymentLine(data: String) -> String {
        Events.line(type: "payment.received", occurredAt: "2024-03-06T10:00:00+08:00", actor: "system:payments", data: data)
    }

    /// `line` with `"expected_version":version` added to its envelope.
    func withExpectedVersion(_ version: Int, _ line: String) -> String {
        line.replacingOccurrences(of: #","data":"#, with: #","expected_version":\#(version),"data":"#)
    }

    func eventID(of line: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))).flatMap { ($0 as? [String: Any])?["event_id"] as? String }
    }

    func uuid() -> String { UUID().uuidString.lowercased() }
}

/// A ledger file in its own temporary folder, driven through the binary.
final class LedgerUnderTest {
    let folder: TemporaryFolder
    let db: String

    init(_ test: XCTestCase, seed: [String], environment: [String: String] = [:],
         file: StaticString = #filePath, line: UInt = #line) throws {
        folder = try TemporaryFolder()
        db = try test.makeLedger(folder)
        if !seed.isEmpty {
            let seeded = try append(seed, environment: environment)
            XCTAssertEqual(seeded.exitCode, 0, "seeding failed: \(seeded.stderr)", file: file, line: line)
        }
    }

    func append(_ lines: [String], environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(["append", "--db", db, "--json"], stdin: lines.joined(separator: "\n") + "\n", environment: environment)
    }

    /// `log --json` as printed: NDJSON of the stored envelopes.
    func log(_ arguments: [String] = []) throws -> String {
        let result = try CLI.run(["log", "--db", db, "--json"] + arguments)
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        return result.stdout
    }

    /// `log --json`, each line parsed with JSONSerialization.
    func events(_ arguments: [String] = []) throws -> [StoredEnvelope] {
        try log(arguments).split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            return StoredEnvelope(fields: try XCTUnwrap(object as? [String: Any], "not a JSON object: \(line)"))
        }
    }

    func assertVerifies(events: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(result.exitCode, 0, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stdout.hasPrefix("ok: \(events) events"), result.stdout, file: file, line: line)
    }
}

/// One line of `log --json`.
struct StoredEnvelope {
    let fields: [String: Any]
    subscript(key: String) -> Any? { fields[key] }
    var seq: Int { fields["seq"] as? Int ?? -1 }
    var version: Int { fields["version"] as? Int ?? -1 }
    var caseID: String { fields["case_id"] as? String ?? "" }
    var eventID: String { fields["event_id"] as? String ?? "" }
}

/// Event lines for the domain rules, in the style of `Events` (docs/catalogue.md).
extension Events {
    static func closed(caseID: String = "C-1", reason: String = "paid_in_full") -> String {
        line(caseID: caseID, type: "case.closed", occurredAt: "2024-03-07T10:00:00+08:00", actor: "supervisor:li.na",
             data: #"{"reason":"\#(reason)"}"#)
    }

    static func void(_ target: String, caseID: String = "C-1") -> String {
        line(caseID: caseID, type: "entry.voided", occurredAt: "2024-03-07T10:00:00+08:00", actor: "supervisor:li.na",
             data: #"{"voids":"\#(target)","reason":"entered by mistake"}"#)
    }

    static func visitBooked(_ visitID: String, caseID: String = "C-1") -> String {
        line(caseID: caseID, type: "visit.booked", occurredAt: "2024-03-07T10:00:00+08:00",
             data: #"{"visit_id":"\#(visitID)","scheduled_for":"2024-03-12T10:00:00+08:00","location":"home","booked_via":"call"}"#)
    }

    static func visitCancelled(_ visitID: String, caseID: String = "C-1") -> String {
        line(caseID: caseID, type: "visit.cancelled", occurredAt: "2024-03-08T10:00:00+08:00",
             data: #"{"visit_id":"\#(visitID)","reason":"debtor travelling"}"#)
    }

    static func planOffered(_ planID: String, caseID: String = "C-1") -> String {
        line(caseID: caseID, type: "plan.offered", occurredAt: "2024-03-07T10:00:00+08:00", data: """
            {"plan_id":"\(planID)","kind":"installments","installments":[{"due_date":"2024-04-01","amount_minor":500000},{"due_date":"2024-05-01","amount_minor":500000}],"total_minor":1000000}
            """)
    }

    /// `plan.accepted` or `plan.declined`.
    static func planDecided(_ type: String, _ planID: String, caseID: String = "C-1") -> String {
        line(caseID: caseID, type: type, occurredAt: "2024-03-08T10:00:00+08:00", actor: "debtor:D-1", data: #"{"plan_id":"\#(planID)"}"#)
    }

    static func restricted(_ restrictionID: String, caseID: String = "C-1") -> String {
        line(caseID: caseID, type: "contact.restricted", occurredAt: "2024-03-07T10:00:00+08:00", actor: "supervisor:li.na",
             data: #"{"restriction_id":"\#(restrictionID)","kind":"no_calls","reason":"dispute"}"#)
    }

    static func restrictionLifted(_ restrictionID: String, caseID: String = "C-1") -> String {
        line(caseID: caseID, type: "contact.restriction_lifted", occurredAt: "2024-03-08T10:00:00+08:00", actor: "supervisor:li.na",
             data: #"{"restriction_id":"\#(restrictionID)","reason":"dispute resolved"}"#)
    }
}

extension String {
    /// The counts of an `append --json` summary, in the contract's order (extra members dropped).
    var appendCounts: String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(utf8)) as? [String: Any],
            let appended = object["appended"], let duplicates = object["duplicates"], let head = object["head_seq"]
        else { return self }
        return #"{"appended":\#(appended),"duplicates":\#(duplicates),"head_seq":\#(head)}"# + "\n"
    }

    /// The original seqs that an `append --json` summary reports for its repeated events.
    var duplicateSeqs: [Int] {
        let object = (try? JSONSerialization.jsonObject(with: Data(utf8))) as? [String: Any]
        return ((object?["duplicate_events"] as? [[String: Any]]) ?? []).compactMap { $0["seq"] as? Int }
    }
}
