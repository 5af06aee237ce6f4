import Foundation
import XCTest

/// An insider with the file and a SQL shell: each tamper ends in exit 4 from `verify`, naming what
/// and where, and `verify` leaves the file's bytes as it found them. Opening a cut log never
/// "repairs" the one trace of the cut. (A whole rewrite with every hash recomputed needs a
/// checkpoint held outside the file: see the Merkle tree tests.)
final class InsiderTests: XCTestCase {
    func makeGeneratedLedger(_ folder: TemporaryFolder) throws -> String {
        let db = try makeLedger(folder)
        let generated = try CLI.run(["generate", "--db", db, "--cases", "20", "--seed", "9"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        return db
    }

    /// Runs verify and checks it failed with exit 4 mentioning `expected`, without touching the file.
    @discardableResult
    func assertVerifyFails(_ db: String, mentioning expected: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let before = try fileBytes(db)
        let result = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(result.exitCode, 4, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(expected), result.stderr, file: file, line: line)
        XCTAssertEqual(try fileBytes(db), before, "verify must not write to the file", file: file, line: line)
        return result.stderr
    }

    func testAReplayLinkBridgingADeletedEventInALiveLedgerIsCaught() throws {
        let folder = try TemporaryFolder()
        let db = try makeGeneratedLedger(folder)
        let previous = try XCTUnwrap(try CLI.run(["log", "--db", db, "--json", "--from-seq", "34", "--limit", "1"]).stdout
            .components(separatedBy: "\"hash\":\"").last?.prefix(64))
        try tamper(db, """
            INSERT INTO replay_links (seq, previous_hash) VALUES (36, '\(previous)');
            DELETE FROM events WHERE seq = 35;
            """, dropping: ["events_no_delete"])
        XCTAssertEqual(try CLI.run(["rebuild", "--db", db]).exitCode, 0)
        try assertVerifyFails(db, mentioning: "replay_links holds 1 rows, but this is a live ledger")
    }

    func testATruncatedLogIsRefusedAndItsTraceIsKept() throws {
        let folder = try TemporaryFolder()
        let db = try makeGeneratedLedger(folder)
        let head = try CLI.run(["log", "--db", db]).stdout.split(separator: "\n").count
        try tamper(db, "DELETE FROM events WHERE seq > \(head - 100)", dropping: ["events_no_delete"])
        let message = "the log ends at seq \(head - 100), but projection"
        for arguments in [["case", "list"], ["rebuild"], ["compliance"]] {
            let result = try CLI.run(arguments + ["--db", db])
            XCTAssertEqual(result.exitCode, 4, "\(arguments)")
            XCTAssertTrue(result.stderr.contains(message) && result.stderr.contains("events are missing"), "\(arguments): \(result.stderr)")
        }
        let refused = try append([Events.opened(caseID: "AFTER-CUT")], to: db)
        XCTAssertEqual(refused.exitCode, 4, refused.stderr)
        try assertVerifyFails(db, mentioning: message)
        let checkpoints = try CLI.run(["log", "--db", db]).stdout.split(separator: "\n").count
        XCTAssertEqual(checkpoints, head - 100, "nothing was appended")
        let stored = try sqlite(db, "SELECT DISTINCT checkpoint_seq FROM projections")
        XCTAssertEqual(stored, "\(head)", "the projections' checkpoint, the trace of the cut, is left as it was")
    }

    func testAKindOfReplayOnALiveLedgerIsCaught() throws {
        let folder = try TemporaryFolder()
        let db = try makeGeneratedLedger(folder)
        try tamper(db, "UPDATE ledger_meta SET value = 'replay' WHERE key = 'kind'")
        try assertVerifyFails(db, mentioning: "kind is replay but it holds no replay_info")
    }

    func testAReplayRecordMovedToALiveLedgerIsCaught() throws {
        let folder = try TemporaryFolder()
        let db = try makeGeneratedLedger(folder)
        try tamper(db, #"INSERT INTO ledger_meta (key, value) VALUES ('replay_info', '{"source_head_seq":1}')"#)
        try assertVerifyFails(db, mentioning: "replay_info, but its kind is ledger")
    }

    func testARulebookSlippedIntoALiveLedgerIsCaught() throws {
        let folder = try TemporaryFolder()
        let db = try makeGeneratedLedger(folder)
        try tamper(db, #"INSERT INTO ledger_meta (key, value) VALUES ('rules', '{"id":"lenient"}')"#)
        try assertVerifyFails(db, mentioning: "a live ledger is judged by the shipped rulebooks")
    }

    func testAForgedReplayRecordIsCaught() throws {
        let folder = try TemporaryFolder()
        let db = try makeGeneratedLedger(folder)
        let head = try CLI.run(["log", "--db", db]).stdout.split(separator: "\n").count
        let replay = folder.path("replay.sqlite")
        XCTAssertEqual(try CLI.run(["replay", "--db", db, "--until-seq", "\(head - 10)", "--out", replay]).exitCode, 0)
        XCTAssertEqual(try CLI.run(["verify", "--db", replay]).exitCode, 0)

        // Claim the replay ended later than it does (hiding that events were left out).
        try tamper(replay, """
            UPDATE ledger_meta SET value = json_set(value, '$.last_kept.seq', \(head)) WHERE key = 'replay_info'
            """)
        try assertVerifyFails(replay, mentioning: "records its last kept event as seq \(head)")

        let withoutRecord = folder.path("replay2.sqlite")
        XCTAssertEqual(try CLI.run(["replay", "--db", db, "--out", withoutRecord]).exitCode, 0)
        try tamper(withoutRecord, "DELETE FROM ledger_meta WHERE key = 'replay_info'")
        try assertVerifyFails(withoutRecord, mentioning: "kind is replay but it holds no replay_info")
    }

    func testAnEditedEventADeletedMiddleEventAndAnEditedProjectionAreEachCaught() throws {
        let folder = try TemporaryFolder()
        let edited = try makeGeneratedLedger(folder)
        try tamper(edited, "UPDATE events SET occurred_at = '2024-01-05T19:30:00+08:00' WHERE seq = 12", dropping: ["events_no_update"])
        try assertVerifyFails(edited, mentioning: "verification failed at seq 12: hash does not match")

        let cut = try makeLedger(folder, name: "cut.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", cut, "--cases", "20", "--seed", "9"]).exitCode, 0)
        try tamper(cut, "DELETE FROM events WHERE seq = 50", dropping: ["events_no_delete"])
        try assertVerifyFails(cut, mentioning: "seq 50 is missing")

        let projection = try makeLedger(folder, name: "projection.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", projection, "--cases", "20", "--seed", "9"]).exitCode, 0)
        try tamper(projection, "UPDATE case_state SET status = 'closed' WHERE case_id = (SELECT min(case_id) FROM case_state WHERE status != 'closed')")
        try assertVerifyFails(projection, mentioning: "projection case_state differs from a rebuild")

        let violation = try makeLedger(folder, name: "violation.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", violation, "--cases", "40", "--seed", "9"]).exitCode, 0)
        try tamper(violation, "DELETE FROM violations WHERE rowid = (SELECT min(rowid) FROM violations)")
        try assertVerifyFails(violation, mentioning: "projection compliance")
    }

    /// Events inserted behind the projections' back are flagged by verify; reading commands say why they rebuild.
    func testEventsAddedOutsideTheLedgerAreReportedWithTheRightReason() throws {
        let folder = try TemporaryFolder()
        let db = try makeGeneratedLedger(folder)
        try tamper(db, "UPDATE projections SET checkpoint_seq = checkpoint_seq - 5")
        try assertVerifyFails(db, mentioning: "events were added that it never saw")
        let list = try CLI.run(["case", "list", "--db", db])
        XCTAssertEqual(list.exitCode, 0, list.stderr)
        XCTAssertTrue(list.stderr.contains("rebuilding projection case_state: it was built to seq"), list.stderr)
        XCTAssertFalse(list.stderr.contains("stored version"), list.stderr)
    }

    /// Reads one value with the sqlite3 shell, as an auditor would.
    func sqlite(_ db: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", "-readonly", db, sql]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
