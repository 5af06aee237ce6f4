import Foundation
import GRDB
import XCTest

/// The hash chain of docs/events.md, checked by `caseledger verify` and by the README's stand-alone
/// Python script, which must agree with each other, and both catch tampering.
final class HashChainTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A ledger with generated cases plus events whose data holds Chinese text, control characters,
    /// quotes, backslashes, emoji and U+2028: everything canonical JSON must get exactly right.
    func makeAwkwardLedger(_ folder: TemporaryFolder) throws -> String {
        let db = try makeLedger(folder)
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "25", "--seed", "5"]).exitCode, 0)
        let texts = [
            #"债务人称本月失业，\n下月可还款。\t已记录。"#,
            #"control \u0001\u001f and DEL \u007f, quote \" backslash \\ slash /"#,
            #"emoji 😀 family 👨‍👩‍👧 line separator \u2028 paragraph \u2029"#,
            #"combining é vs é, fullwidth ＡＢＣ"#,
        ]
        var lines = [Events.opened(caseID: "AWK-1")]
        for text in texts {
            lines.append(Events.line(caseID: "AWK-1", type: "note.recorded", data: #"{"text":"\#(text)"}"#))
        }
        let appended = try append(lines, to: db)
        XCTAssertEqual(appended.exitCode, 0, appended.stderr)
        return db
    }

    func testReadmeScriptAndVerifyAgreeOnAChainWithNonASCIIAndControlCharacters() throws {
        let folder = try TemporaryFolder()
        let db = try makeAwkwardLedger(folder)
        let verify = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verify.exitCode, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.hasPrefix("ok: "), verify.stdout)

        let python = try runReadmeScript(on: db)
        XCTAssertEqual(python.status, 0, python.output)
        XCTAssertEqual(python.output, String(verify.stdout.prefix { $0 != "\n" }) + "\n", "the README script and verify disagree")
    }

    /// A fold reads stored data in place when it is canonical and parses it otherwise. A row edited
    /// into valid JSON out of canonical form is still folded (a rebuild trusts the log) and verify
    /// names it; a row that is not an object stops the rebuild, which leaves the projections as
    /// they were.
    func testAFoldParsesDataEditedOutOfCanonicalFormAndVerifyNamesTheRow() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let appended = try CLI.run(["append", "--db", db], stdin: [Events.opened(), Events.payment(amount: 50000)].joined(separator: "\n"))
        XCTAssertEqual(appended.exitCode, 0, appended.stderr)
        func paid() throws -> Int? {
            let shown = try CLI.run(["case", "show", "C-1", "--db", db, "--json"])
            XCTAssertEqual(shown.exitCode, 0, shown.stderr)
            return (try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])?["paid_minor"] as? Int
        }
        XCTAssertEqual(try paid(), 50000)

        try tamper(db, #"UPDATE events SET data = '{ "currency": "CNY", "amount_minor": 70000, "channel": "wechat", "reference": "PAY-1" }' WHERE seq = 2"#,
                   dropping: ["events_no_update"])
        let rebuilt = try CLI.run(["rebuild", "--db", db])
        XCTAssertEqual(rebuilt.exitCode, 0, rebuilt.stderr)
        XCTAssertEqual(try paid(), 70000, "the edited row, parsed, is what the rebuild folds")
        let verify = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verify.exitCode, 4)
        XCTAssertTrue(verify.stderr.contains("seq 2") && verify.stderr.contains("canonical form"), verify.stderr)

        try tamper(db, "UPDATE events SET data = '[70000]' WHERE seq = 2", dropping: ["events_no_update"])
        let refused = try CLI.run(["rebuild", "--db", db])
        XCTAssertNotEqual(refused.exitCode, 0)
        XCTAssertTrue(refused.stderr.contains("seq 2") && refused.stderr.contains("data is not a JSON object"), refused.stderr)
        XCTAssertEqual(try paid(), 70000, "the refused rebuild wrote nothing")
    }

    /// A fold reads each stored event id as the 16 bytes of a UUID. A row whose event_id was
    /// edited into something else stops a rebuild at that row, with the row named, and the
    /// projections are left as they were; `verify` names the row too (its hash no longer holds).
    func testAnEventIDEditedOutOfUUIDFormStopsARebuildAndNothingIsWritten() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let appended = try CLI.run(["append", "--db", db], stdin: [Events.opened(), Events.payment(amount: 50000)].joined(separator: "\n"))
        XCTAssertEqual(appended.exitCode, 0, appended.stderr)
        let projections = "SELECT (SELECT group_concat(case_id || ':' || version || ':' || state) FROM case_state) || '|' || (SELECT group_concat(name || ':' || checkpoint_seq) FROM projections)"
        func stored() throws -> String? {
            let queue = try DatabaseQueue(path: db)
            defer { try? queue.close() }
            return try queue.read { db in try String.fetchOne(db, sql: projections) }
        }
        let before = try XCTUnwrap(try stored())

        try tamper(db, "UPDATE events SET event_id = 'payment-1' WHERE seq = 2", dropping: ["events_no_update"])
        let refused = try CLI.run(["rebuild", "--db", db])
        XCTAssertNotEqual(refused.exitCode, 0)
        XCTAssertTrue(refused.stderr.contains("seq 2") && refused.stderr.contains("unreadable event_id"), refused.stderr)
        XCTAssertEqual(try stored(), before, "the refused rebuild wrote nothing")
        let verify = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verify.exitCode, 4, verify.stderr)
        XCTAssertTrue(verify.stderr.contains("seq 2"), verify.stderr)
    }

    /// `verify` hashes the bytes SQLite holds, not a String made of them. A String repairs a byte
    /// that is not UTF-8 into U+FFFD, so a note whose text held U+FFFD, edited to hold a lone 0xFF
    /// byte in its place, read as a String hashed exactly as the original did.
    func testAStoredByteThatIsNotUTF8IsCaughtThoughAStringWouldRepairIt() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let note = Events.line(caseID: "C-1", type: "note.recorded", data: #"{"text":"unreadable \#u{FFFD} in the scan"}"#)
        let appended = try append([Events.opened(), note], to: db)
        XCTAssertEqual(appended.exitCode, 0, appended.stderr)
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 0, "U+FFFD itself is ordinary text")

        let stored = try DatabaseQueue(path: db).read { try String.fetchOne($0, sql: "SELECT data FROM events WHERE seq = 2") } ?? ""
        XCTAssertTrue(stored.contains("\u{FFFD}"), stored)
        var edited: [UInt8] = []
        for scalar in stored.unicodeScalars {
            if scalar == "\u{FFFD}" { edited.append(0xFF) } else { edited.append(contentsOf: Array(String(scalar).utf8)) }
        }
        XCTAssertEqual(String(decoding: edited, as: UTF8.self), stored, "read as a String, the edited bytes are the original text")
        let hex = edited.map { String(format: "%02X", $0) }.joined()
        try tamper(db, "UPDATE events SET data = CAST(X'\(hex)' AS TEXT) WHERE seq = 2", dropping: ["events_no_update"])

        let verify = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verify.exitCode, 4, verify.stdout)
        XCTAssertTrue(verify.stderr.contains("seq 2") && verify.stderr.contains("canonical form"), verify.stderr)
    }

    func testEditedRowBehindTheTriggersIsCaughtByVerifyAndByTheScript() throws {
        let folder = try TemporaryFolder()
        let db = try makeAwkwardLedger(folder)
        let target: Int64 = 17
        try tamper(db, "UPDATE events SET data = '{\"direction\":\"outbound\",\"duration_s\":0,\"outcome\":\"connected\",\"party\":\"debtor\"}' WHERE seq = \(target)", dropping: ["events_no_update"])

        let verify = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verify.exitCode, 4)
        XCTAssertTrue(verify.stderr.contains("seq \(target)"), verify.stderr)

        let json = try CLI.run(["verify", "--db", db, "--json"])
        XCTAssertEqual(json.exitCode, 4)
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(report["ok"] as? Bool, false)
        XCTAssertEqual(report["first_bad_seq"] as? Int, Int(target))

        let python = try runReadmeScript(on: db)
        XCTAssertNotEqual(python.status, 0)
        XCTAssertTrue(python.output.contains("chain broken at seq \(target)"), python.output)
    }

    /// A replay leaves events out; `log --json` gives each kept event after a gap the hash it
    /// chains from, so the README's script checks the replay with nothing else.
    func testReadmeScriptChecksAReplayWithGaps() throws {
        let folder = try TemporaryFolder()
        let db = try makeAwkwardLedger(folder)
        let replay = folder.path("replay.sqlite")
        XCTAssertEqual(try CLI.run(["replay", "--db", db, "--until", "2024-06-01", "--out", replay]).exitCode, 0)
        let log = try CLI.run(["log", "--db", replay, "--json"]).stdout
        XCTAssertTrue(log.contains("\"previous_hash\":"), "the replay has gaps")
        let python = try runReadmeScript(on: replay)
        XCTAssertEqual(python.status, 0, python.output)
        XCTAssertTrue(python.output.hasPrefix("ok: "), python.output)
        try tamper(replay, "UPDATE events SET actor = 'collector:someone.else' WHERE seq = (SELECT max(seq) FROM events)", dropping: ["events_no_update"])
        XCTAssertNotEqual(try runReadmeScript(on: replay).status, 0)
    }

    func testDeletedRowIsCaughtAsAGap() throws {
        let folder = try TemporaryFolder()
        let db = try makeAwkwardLedger(folder)
        try tamper(db, "DELETE FROM events WHERE seq = 40", dropping: ["events_no_delete"])
        let verify = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verify.exitCode, 4)
        XCTAssertTrue(verify.stderr.contains("seq 40"), verify.stderr)
    }

    func testRecordedAtRewrittenIsCaught() throws {
        let folder = try TemporaryFolder()
        let db = try makeAwkwardLedger(folder)
        try tamper(db, "UPDATE events SET recorded_at = '2020-01-01T00:00:00.000000Z' WHERE seq = 3", dropping: ["events_no_update"])
        let verify = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verify.exitCode, 4)
        XCTAssertTrue(verify.stderr.contains("seq 3"), verify.stderr)
    }

    func testTriggersRefuseUpdateAndDeleteThroughSQL() throws {
        let folder = try TemporaryFolder()
        let db = try makeAwkwardLedger(folder)
        let queue = try DatabaseQueue(path: db)
        XCTAssertThrowsError(try queue.write { try $0.execute(sql: "UPDATE events SET actor = 'collector:x' WHERE seq = 1") }) {
            XCTAssertTrue("\($0)".contains("append-only"), "\($0)")
        }
        XCTAssertThrowsError(try queue.write { try $0.execute(sql: "DELETE FROM events WHERE seq = 1") })
        try queue.close()
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 0)
    }

    // MARK: - Helpers

    /// Extracts the script from the README (so the README stays true) and runs it on `log --json`.
    func runReadmeScript(on db: String) throws -> (status: Int32, output: String) {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = try XCTUnwrap(readme.range(of: "<!-- verify-chain.py -->\n```python\n"))
        let end = try XCTUnwrap(readme.range(of: "\n```", range: marker.upperBound..<readme.endIndex))
        let folder = try TemporaryFolder()
        let script = try folder.write("verify_chain.py", String(readme[marker.upperBound..<end.lowerBound]) + "\n")
        let log = try CLI.run(["log", "--db", db, "--json"])
        XCTAssertEqual(log.exitCode, 0, log.stderr)
        let input = try folder.write("log.ndjson", log.stdout)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "python3 '\(script)' < '\(input)' 2>&1"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
