import Foundation
import XCTest

/// docs/cli.md, the `replay` row, end to end: `caseledger replay` (the ledger as it stood),
/// `compliance diff` (what a rule change would change) and schema evolution (a v1 ledger read
/// and replayed by the v2 code), through the real binary on real SQLite files in temporary folders.
/// `CASELEDGER_CLOCK` pins `recorded_at` wherever `--known-at` must tell batches apart.
final class ReplayTests: XCTestCase {

    // MARK: - --until: the world as of T

    func testUntilShowsTheCaseAsItStoodBeforeAPaymentAndItsVoid() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        let c = Script()
        let first = c.payment(200_000, at: march(5))
        // 10 March 11:00 in Shanghai, written in New York's offset: it reads "9 March" but happened on the 10th.
        let second = c.payment(100_000, at: "2024-03-09T22:00:00-05:00")
        let void = c.void(first, at: march(8))
        try source.record([c.opened(principal: 1_000_000, fees: 5_000), first, void, second],
                          clock: "2024-04-01T00:00:00Z")

        // The source: the voided payment no longer counts.
        let now = try source.show("C-1")
        XCTAssertEqual(now["paid_minor"] as? Int, 100_000)
        XCTAssertEqual(now["balance_minor"] as? Int, 905_000)

        let expectations: [(until: String, paid: Int, why: String)] = [
            (march(4), 0, "before the first payment: principal plus fees"),
            (march(6), 200_000, "after the first payment, before its void"),
            (march(9), 0, "after the void, before the second payment"),
            ("2024-03-10T10:30:00+08:00", 0, "02:30 UTC: the second payment (03:00 UTC) has not happened, whatever its text says"),
            ("2024-03-10T03:00:00Z", 100_000, "--until is inclusive: the second payment's own instant"),
        ]
        for (until, paid, why) in expectations {
            let replay = try source.replay(["--until", until], to: folder.path("until-\(until).sqlite"))
            let view = try replay.show("C-1")
            XCTAssertEqual(view["paid_minor"] as? Int, paid, "--until \(until): \(why)")
            XCTAssertEqual(view["balance_minor"] as? Int, 1_005_000 - paid, "--until \(until): \(why)")
            XCTAssertEqual(view["principal_minor"] as? Int, 1_000_000)
        }

        // Until the 9th, the first payment is there and marked voided.
        let ninth = try source.replay(["--until", march(9)], to: folder.path("ninth.sqlite"))
        let trail = try ninth.audit(["--case", "C-1"])
        XCTAssertEqual(trail.map { $0["event_id"] as? String }, [c.openingID, first.id, void.id])
        XCTAssertEqual(trail.map { $0["voided"] as? Bool }, [false, true, false])

        // No filter: the whole log, and the same case as the source.
        let whole = try source.replay([], to: folder.path("whole.sqlite"))
        XCTAssertEqual(try whole.ok(["case", "show", "C-1", "--json"]), try source.ok(["case", "show", "C-1", "--json"]))
        XCTAssertEqual(try whole.show("C-1")["paid_minor"] as? Int, 100_000)
    }

    // MARK: - --known-at: what the bank knew at T

    func testKnownAtExcludesALateArrivingEventThatUntilIncludes() throws {
        let folder = try TemporaryFolder()
        let late = try LateArrival(self, folder)
        let source = late.source

        // Occurred on 5 March, recorded on 20 March: in the world by the 15th, but not yet known to the bank.
        let asOccurred = try source.replay(["--until", "2024-03-15T00:00:00Z"], to: folder.path("until.sqlite"))
        XCTAssertEqual(try asOccurred.eventIDs(), [late.opened, late.call4, late.call9, late.payment].map(\.id))
        XCTAssertEqual(try asOccurred.show("C-1")["paid_minor"] as? Int, 50_000)

        let asKnown = try source.replay(["--known-at", "2024-03-15T00:00:00Z"], to: folder.path("known.sqlite"))
        XCTAssertEqual(try asKnown.eventIDs(), [late.opened, late.call4, late.call9].map(\.id))
        XCTAssertEqual(try asKnown.show("C-1")["paid_minor"] as? Int, 0)

        // --known-at is inclusive: the first batch was recorded at exactly 2024-03-10T00:00:00Z.
        let atFirstBatch = try source.replay(["--known-at", "2024-03-10T08:00:00+08:00"], to: folder.path("known-exact.sqlite"))
        XCTAssertEqual(try atFirstBatch.eventIDs(), [late.opened, late.call4, late.call9].map(\.id))
        let beforeAnything = try source.replay(["--known-at", "2024-03-09T23:59:59Z"], to: folder.path("known-before.sqlite"))
        XCTAssertEqual(try beforeAnything.eventIDs(), [])

        for replay in [asOccurred, asKnown, atFirstBatch, beforeAnything] { try replay.assertVerifies() }
    }

    // MARK: - --until-seq: the log up to N

    func testUntilSeqGivesExactlyTheFirstNEventsOfTheLog() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        try source.generate(cases: 20, seed: 3)
        let sourceLog = try source.logLines()
        XCTAssertGreaterThan(sourceLog.count, 100)

        for n in [0, 1, 57, sourceLog.count] {
            let replay = try source.replay(["--until-seq", "\(n)"], to: folder.path("seq-\(n).sqlite"))
            let lines = try replay.logLines()
            XCTAssertEqual(lines, Array(sourceLog.prefix(n)), "--until-seq \(n): the stored envelopes, seq and hash included, as in the source")
            XCTAssertEqual(try replay.log().map { $0["seq"] as? Int }, (0..<n).map { $0 + 1 })
            let verified = try replay.verifyJSON()
            XCTAssertEqual(verified["events"] as? Int, n)
            if n > 0 { XCTAssertEqual(verified["head_hash"] as? String, try source.log()[n - 1]["hash"] as? String) }
            XCTAssertEqual(try replay.sql("SELECT count(*) FROM replay_links"), "0\n", "a prefix of the log has no gaps to bridge")
        }
        // Beyond the head: the whole log.
        let beyond = try source.replay(["--until-seq", "1000000"], to: folder.path("beyond.sqlite"))
        XCTAssertEqual(try beyond.logLines(), sourceLog)
    }

    /// A whole-log replay copies the source's pages (or, from a source of another schema or with
    /// more than a tenth of its pages free, uses SQLite's transfer, which needs the log's guards
    /// set aside for the copy): either way the output has the guards, in the same words, and they
    /// refuse an edit.
    func testAWholeLogReplayHasTheSourcesShapeAndItsGuardsRefuseEdits() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        try source.generate(cases: 20, seed: 5)
        let replay = try source.replay([], to: folder.path("whole.sqlite"))
        let shape = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ('events', 'merkle_tiles') ORDER BY type, name;"
        let sourceShape = try source.sql(shape)
        XCTAssertTrue(sourceShape.contains("events_no_update") && sourceShape.contains("events_no_delete"), sourceShape)
        XCTAssertEqual(try replay.sql(shape), sourceShape)
        let sourceLog = try source.logLines()
        XCTAssertEqual(try replay.logLines(), sourceLog)
        for edit in ["UPDATE events SET actor = 'collector:x' WHERE seq = 1;", "DELETE FROM events WHERE seq = 1;"] {
            let refused = try runTool("/usr/bin/sqlite3", [replay.path, edit], in: folder, timeout: 60)
            XCTAssertTrue(refused.stderr.contains("append-only"), "\(edit): \(refused.stderr)")
        }
        XCTAssertEqual(try replay.logLines(), sourceLog)
        try replay.assertVerifies()
    }

    /// A replay is written with a rollback journal (its pages go into the file once, not into a
    /// WAL and then the file), and ends a WAL ledger like any other, with no journal left beside it:
    /// whole-log copies and row-by-row copies alike.
    func testAReplayEndsAWALLedgerWithNoJournalBesideIt() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        try source.generate(cases: 10, seed: 6)
        for (name, filters) in [("whole", [String]()), ("until", ["--until", "2026-01-01T00:00:00Z"])] {
            let replay = try source.replay(filters, to: folder.path("\(name).sqlite"))
            XCTAssertEqual(try replay.sql("PRAGMA journal_mode;"), "wal\n", name)
            XCTAssertFalse(FileManager.default.fileExists(atPath: replay.path + "-journal"), name)
            try replay.assertVerifies()
        }
    }

    /// The transfer maps columns by position: a source whose log has a column this release does
    /// not know (a file of a later one) is copied by name, and replays in full all the same.
    func testASourceWithAnotherShapeOfLogIsCopiedByName() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        try source.generate(cases: 5, seed: 3)
        let sourceLog = try source.logLines()
        _ = try source.sql("ALTER TABLE events ADD COLUMN shard TEXT;")
        let replay = try source.replay([], to: folder.path("whole.sqlite"))
        XCTAssertEqual(try replay.logLines(), sourceLog)
        XCTAssertFalse(try replay.sql("SELECT group_concat(name) FROM pragma_table_info('events');").contains("shard"))
        try replay.assertVerifies()
    }

    // MARK: - Combined filters narrow

    func testCombinedFiltersKeepOnlyTheEventsEveryFilterKeeps() throws {
        let folder = try TemporaryFolder()
        let late = try LateArrival(self, folder)
        let (opened, call4, call9, payment, call18) = (late.opened.id, late.call4.id, late.call9.id, late.payment.id, late.call18.id)
        // seq 1 opened (1 Mar), 2 call (4 Mar), 3 call (9 Mar) recorded 10 Mar; 4 payment (5 Mar), 5 call (18 Mar) recorded 20 Mar.
        let cases: [([String], [String])] = [
            (["--until", "2024-03-06T00:00:00Z"], [opened, call4, payment]),
            (["--until-seq", "3"], [opened, call4, call9]),
            (["--until", "2024-03-06T00:00:00Z", "--until-seq", "3"], [opened, call4]),
            (["--until", "2024-03-06T00:00:00Z", "--known-at", "2024-03-15T00:00:00Z"], [opened, call4]),
            (["--known-at", "2024-03-25T00:00:00Z", "--until-seq", "4"], [opened, call4, call9, payment]),
            (["--until", "2024-03-31T00:00:00Z", "--known-at", "2024-03-25T00:00:00Z", "--until-seq", "5"],
             [opened, call4, call9, payment, call18]),
            (["--until", "2024-03-04T12:00:00+08:00", "--known-at", "2024-03-15T00:00:00Z", "--until-seq", "1"], [opened]),
        ]
        for (index, (filters, expected)) in cases.enumerated() {
            let replay = try late.source.replay(filters, to: folder.path("combined-\(index).sqlite"))
            XCTAssertEqual(try replay.eventIDs(), expected, "replay \(filters.joined(separator: " "))")
            try replay.assertVerifies()
        }
    }

    // MARK: - The source is only read

    func testTheSourceFileIsByteForByteUnchangedByReplays() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        try source.generate(cases: 60, seed: 11)
        let rules = try writeRulebook(in: folder, id: "test-cap2", maxCallsPerDay: 2)
        let before = try sha256(source.path, folder)
        let sourceLog = try source.logLines()

        try source.replay([], to: folder.path("r1.sqlite"))
        try source.replay(["--until", "2025-01-01T00:00:00Z", "--rules", rules], to: folder.path("r2.sqlite"))
        try source.replay(["--known-at", "2030-01-01T00:00:00Z", "--until-seq", "500"], to: folder.path("r3.sqlite"))
        XCTAssertNotEqual(try CLI.run(["replay", "--db", source.path, "--out", folder.path("r1.sqlite")]).exitCode, 0)

        XCTAssertEqual(try sha256(source.path, folder), before, "replay must leave the source byte-for-byte untouched")
        XCTAssertEqual(try source.logLines(), sourceLog)
    }

    /// A whole-log replay copies inside SQLite from the source attached by URI: a path holding
    /// the characters a URI gives meaning to must still name the file.
    func testASourceWhosePathHoldsURICharactersReplaysInFull() throws {
        let folder = try TemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder.path("odd ?#% name"), withIntermediateDirectories: false)
        let source = try LedgerFile(self, folder, name: "odd ?#% name/ledger?x=1#y.sqlite")
        try source.generate(cases: 5, seed: 3)
        let events = try source.logLines().count
        let output = folder.path("whole.sqlite")
        try source.replay([], to: output)
        let replayed = try CLI.run(["log", "--db", output, "--json"])
        XCTAssertEqual(replayed.exitCode, 0, replayed.stderr)
        XCTAssertEqual(replayed.stdout.split(separator: "\n").count, events)
        XCTAssertEqual(try CLI.run(["verify", "--db", output]).exitCode, 0)
    }

    // MARK: - Determinism

    func testTwoReplaysWithTheSameFiltersAndRulesHaveIdenticalProjections() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        try source.generate(cases: 200, seed: 7)
        let shipped = repositoryRoot.appendingPathComponent("Schemas/rulebooks/cn-cba-2026.json").path
        let configurations = [
            ["--until", "2025-06-01T00:00:00Z"],
            ["--until", "2025-06-01T00:00:00Z", "--until-seq", "5000", "--rules", shipped],
        ]
        let dump = """
            SELECT * FROM case_state ORDER BY 1, 2, 3, 4, 5, 6;
            SELECT '--';
            SELECT * FROM violations ORDER BY 1, 2, 3, 4, 5, 6, 7, 8;
            SELECT '--';
            SELECT * FROM compliance_cases ORDER BY 1, 2, 3;
            SELECT '--';
            SELECT * FROM audit_voids ORDER BY 1, 2, 3, 4, 5, 6;
            """
        for (index, filters) in configurations.enumerated() {
            let one = try source.replay(filters, to: folder.path("one-\(index).sqlite"))
            let two = try source.replay(filters, to: folder.path("two-\(index).sqlite"))
            let label = filters.joined(separator: " ")

            XCTAssertNotEqual(try one.sql("SELECT count(*) FROM violations"), "0\n", "\(label): the replay should find violations")
            XCTAssertNotEqual(try one.sql("SELECT count(*) FROM audit_voids"), "0\n", "\(label): the replay should hold voids")
            XCTAssertEqual(try one.sql(dump), try two.sql(dump), "\(label): the stored projections")

            XCTAssertEqual(try one.ok(["case", "list", "--json"]), try two.ok(["case", "list", "--json"]), label)
            XCTAssertEqual(try one.ok(["compliance", "--json"]), try two.ok(["compliance", "--json"]), label)
            let voidedCase = try one.sql("SELECT e.case_id FROM audit_voids v JOIN events e ON e.event_id = v.voided_event_id ORDER BY 1 LIMIT 1")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let firstCase = try one.sql("SELECT case_id FROM case_state ORDER BY case_id LIMIT 1").trimmingCharacters(in: .whitespacesAndNewlines)
            for caseID in [voidedCase, firstCase] {
                XCTAssertEqual(try one.ok(["audit", "--case", caseID, "--json"]), try two.ok(["audit", "--case", caseID, "--json"]),
                               "\(label): audit --case \(caseID)")
            }
        }
    }

    // MARK: - --rules and compliance diff

    func testAStricterRulebookFindsTheExtraViolationAndComplianceDiffListsIt() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        let c = Script()
        let third = c.call(at: march(5, "12:00"))
        try source.record([c.opened(), c.call(at: march(5, "10:00")), c.call(at: march(5, "11:00")), third], clock: "2024-04-01T00:00:00Z")
        let cap3 = try writeRulebook(in: folder, id: "test-cap3", maxCallsPerDay: 3)
        let cap2 = try writeRulebook(in: folder, id: "test-cap2", maxCallsPerDay: 2)

        // A replay judged by the stricter rulebook.
        let strict = try source.replay(["--rules", cap2], to: folder.path("cap2.sqlite"))
        let report = try strict.object(["compliance", "--json"])
        XCTAssertEqual(report["mode"] as? String, "given")
        XCTAssertEqual(report["rulebooks"] as? [String], ["test-cap2"])
        let violations = report["violations"] as? [[String: Any]] ?? []
        XCTAssertEqual(violations.count, 1, "\(violations)")
        XCTAssertEqual(violations.first?["rule"] as? String, "calls_per_day")
        XCTAssertEqual(violations.first?["rulebook"] as? String, "test-cap2")
        XCTAssertEqual(violations.first?["event_id"] as? String, third.id)
        XCTAssertEqual(violations.first?["seq"] as? Int, 4)
        XCTAssertEqual((report["summary"] as? [String: Any])?["by_rule"] as? [String: Int], ["calls_per_day": 1])
        try strict.assertVerifies()
        // The same calls under the looser rulebook break nothing.
        let loose = try source.replay(["--rules", cap3], to: folder.path("cap3.sqlite"))
        XCTAssertEqual((try loose.object(["compliance", "--json"])["violations"] as? [Any])?.count, 0)

        // The impact report on the source: cap 3 → cap 2 makes the third call appear …
        let diff = try source.object(["compliance", "diff", "--rules", cap3, "--rules", cap2, "--json"])
        XCTAssertEqual(diff["before"] as? String, "test-cap3")
        XCTAssertEqual(diff["after"] as? String, "test-cap2")
        let appeared = diff["appeared"] as? [[String: Any]] ?? []
        XCTAssertEqual(appeared.map { $0["event_id"] as? String }, [third.id])
        XCTAssertEqual(appeared.first?["rule"] as? String, "calls_per_day")
        XCTAssertEqual(appeared.first?["rulebook"] as? String, "test-cap2")
        XCTAssertEqual((diff["disappeared"] as? [Any])?.count, 0)
        let summary = diff["summary"] as? [String: Any] ?? [:]
        XCTAssertEqual(summary["appeared"] as? Int, 1)
        XCTAssertEqual(summary["disappeared"] as? Int, 0)
        XCTAssertEqual((summary["by_rule"] as? [String: [String: Int]])?["calls_per_day"], ["appeared": 1, "disappeared": 0])

        // … and cap 2 → cap 3 makes it disappear.
        let reverse = try source.object(["compliance", "diff", "--rules", cap2, "--rules", cap3, "--json"])
        XCTAssertEqual((reverse["appeared"] as? [Any])?.count, 0)
        XCTAssertEqual((reverse["disappeared"] as? [[String: Any]])?.map { $0["event_id"] as? String }, [third.id])
        let reverseSummary = reverse["summary"] as? [String: Any] ?? [:]
        XCTAssertEqual(reverseSummary["appeared"] as? Int, 0)
        XCTAssertEqual(reverseSummary["disappeared"] as? Int, 1)
        XCTAssertEqual((reverseSummary["by_rule"] as? [String: [String: Int]])?["calls_per_day"], ["appeared": 0, "disappeared": 1])

        // The diff's filters narrow the events judged, as replay's do: before the third call, nothing changes.
        let early = try source.object(["compliance", "diff", "--until", march(5, "11:30"), "--rules", cap3, "--rules", cap2, "--json"])
        XCTAssertEqual((early["summary"] as? [String: Any])?["appeared"] as? Int, 0, "\(early)")
        XCTAssertEqual((early["summary"] as? [String: Any])?["cases_judged"] as? Int, 1)

        // A diff needs two rulebooks.
        for rules in [["--rules", cap2], []] {
            let result = try source.run(["compliance", "diff", "--json"] + rules)
            XCTAssertEqual(result.exitCode, 2, "compliance diff \(rules): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("--rules"), result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
    }

    // MARK: - A replay is read-only history

    func testAppendingToAReplayFailsClearlyAndWritesNothing() throws {
        let folder = try TemporaryFolder()
        let late = try LateArrival(self, folder)
        let replay = try late.source.replay(["--until", "2024-03-06T00:00:00Z"], to: folder.path("replay.sqlite"))
        let log = try replay.logLines()
        let digest = try sha256(replay.path, folder)

        let c = Script()
        let result = try replay.run(["append", "--json"], stdin: c.call(at: march(6)).line + "\n")
        XCTAssertEqual(result.exitCode, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("replay"), "the refusal should say the file is a replay: \(result.stderr)")
        XCTAssertEqual(result.stdout, "")
        XCTAssertEqual(try replay.logLines(), log)
        XCTAssertEqual(try sha256(replay.path, folder), digest, "a refused append writes nothing")
        try replay.assertVerifies()
    }

    // MARK: - verify on a replay with gaps

    func testVerifyBridgesTheGapsOfAnUntilReplayAndCatchesAnEditedEvent() throws {
        let folder = try TemporaryFolder()
        let late = try LateArrival(self, folder)
        let filters = ["--until", "2024-03-06T00:00:00Z"]  // keeps seq 1, 2 and 4: seq 3 (9 March) is left out

        let replay = try late.source.replay(filters, to: folder.path("gaps.sqlite"))
        XCTAssertEqual(try replay.log().map { $0["seq"] as? Int }, [1, 2, 4])
        XCTAssertEqual(try replay.sql("SELECT seq FROM replay_links ORDER BY seq"), "4\n", "the gap before seq 4 is bridged")
        let verified = try replay.verifyJSON()
        XCTAssertEqual(verified["ok"] as? Bool, true)
        XCTAssertEqual(verified["events"] as? Int, 3)
        XCTAssertEqual(verified["head_hash"] as? String, try late.source.log()[3]["hash"] as? String)

        // An edited kept event, after the gap and before it: exit 4, naming its seq.
        let edits = [(4, "'50000', '60000'"), (2, "'no_answer', 'connected'")]
        for (seq, replacement) in edits {
            let edited = try late.source.replay(filters, to: folder.path("edited-\(seq).sqlite"))
            let changed = try edited.sql("DROP TRIGGER events_no_update; UPDATE events SET data = replace(data, \(replacement)) WHERE seq = \(seq); SELECT changes();")
            XCTAssertEqual(changed, "1\n", "the edit of seq \(seq) took")
            let result = try edited.run(["verify", "--json"])
            XCTAssertEqual(result.exitCode, 4, "verify after editing seq \(seq): \(result.stdout) \(result.stderr)")
            let report = try parseObject(result.stdout)
            XCTAssertEqual(report["ok"] as? Bool, false)
            XCTAssertEqual(report["first_bad_seq"] as? Int, seq)
        }

        // A forged bridge fails too.
        let forged = try late.source.replay(filters, to: folder.path("forged.sqlite"))
        try forged.sql("UPDATE replay_links SET previous_hash = '\(String(repeating: "ab", count: 32))' WHERE seq = 4")
        let result = try forged.run(["verify", "--json"])
        XCTAssertEqual(result.exitCode, 4, result.stderr)
        XCTAssertEqual(try parseObject(result.stdout)["first_bad_seq"] as? Int, 4)
    }

    func testAReplayOfAReplayWithGapsStillVerifies() throws {
        let folder = try TemporaryFolder()
        let late = try LateArrival(self, folder)
        let first = try late.source.replay(["--until", "2024-03-06T00:00:00Z"], to: folder.path("first.sqlite"))
        try first.assertVerifies()

        // A replay is a read command's input like any other: replaying it again must give a file
        // that verifies (or be refused outright), never one whose chain is broken.
        let out = folder.path("second.sqlite")
        let result = try CLI.run(["replay", "--db", first.path, "--out", out, "--json", "--quiet"])
        guard result.exitCode == 0 else {
            XCTAssertEqual(result.exitCode, 1, result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
            return
        }
        let second = LedgerFile(path: out, folder: folder)
        XCTAssertEqual(try second.logLines(), try first.logLines())
        let verify = try second.run(["verify"])
        XCTAssertEqual(verify.exitCode, 0, "verify on a replay of a replay: \(verify.stdout)\(verify.stderr)")
    }

    // MARK: - Where the output goes

    func testTheOutputMustNotExistTheSourceMustBeReadableAndNoPartialFileIsLeft() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        let c = Script()
        try source.record([c.opened(), c.call(at: march(5))], clock: "2024-04-01T00:00:00Z")
        let outFolder = folder.url.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outFolder, withIntermediateDirectories: true)
        let out = { (name: String) in outFolder.appendingPathComponent(name).path }
        func assertNoPartialFiles(_ when: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let names = try FileManager.default.contentsOfDirectory(atPath: outFolder.path)
            XCTAssertEqual(names.filter { $0.contains(".partial-") }, [], "after \(when): \(names)", file: file, line: line)
        }

        // Success: the output, nothing else of the replay's making.
        try source.replay([], to: out("ok.sqlite"))
        try assertNoPartialFiles("a replay that succeeded")

        // The output exists: refused, and the file untouched.
        let existing = out("existing.sqlite")
        try "not to be overwritten\n".write(toFile: existing, atomically: true, encoding: .utf8)
        var result = try source.run(["replay", "--out", existing])
        XCTAssertEqual(result.exitCode, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("exists"), result.stderr)
        XCTAssertEqual(try String(contentsOfFile: existing, encoding: .utf8), "not to be overwritten\n")
        // An earlier replay is not overwritten either.
        let earlier = try sha256(out("ok.sqlite"), folder)
        result = try source.run(["replay", "--until-seq", "1", "--out", out("ok.sqlite")])
        XCTAssertEqual(result.exitCode, 1, result.stderr)
        XCTAssertEqual(try sha256(out("ok.sqlite"), folder), earlier)
        // Nor the source itself.
        let sourceDigest = try sha256(source.path, folder)
        result = try source.run(["replay", "--out", source.path])
        XCTAssertEqual(result.exitCode, 1, result.stderr)
        XCTAssertEqual(try sha256(source.path, folder), sourceDigest)
        try assertNoPartialFiles("an existing output")

        // An unreadable source: missing, or not a database at all.
        let garbage = try folder.write("garbage.sqlite", "this is not a SQLite file\n")
        for bad in [folder.path("missing.sqlite"), garbage] {
            let target = out("from-\(URL(fileURLWithPath: bad).lastPathComponent)")
            result = try CLI.run(["replay", "--db", bad, "--out", target])
            XCTAssertEqual(result.exitCode, 1, "replay --db \(bad): \(result.stderr)")
            XCTAssertFalse(result.stderr.isEmpty)
            XCTAssertFalse(FileManager.default.fileExists(atPath: target), "no output from an unreadable source")
            try assertNoPartialFiles("an unreadable source \(bad)")
        }

        // A source that fails half-way through the copy (an event of no known type, slipped in with SQL).
        let broken = LedgerFile(path: folder.path("broken.sqlite"), folder: folder)
        try FileManager.default.copyItem(atPath: source.path, toPath: broken.path)
        try broken.sql("""
            INSERT INTO events (seq, event_id, case_id, version, type, schema_version, occurred_at, recorded_at, actor, data, hash)
            VALUES (3, '\(UUID().uuidString.lowercased())', 'C-1', 3, 'bogus.type', 1, '2024-03-06T00:00:00Z',
                    '2024-04-01T00:00:00.000000Z', 'system:test', '{}', '\(String(repeating: "0", count: 64))');
            """)
        result = try broken.run(["replay", "--out", out("from-broken.sqlite")])
        XCTAssertNotEqual(result.exitCode, 0, "a source with an unreadable event should not replay")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out("from-broken.sqlite")))
        try assertNoPartialFiles("a replay that failed half-way")
    }

    // MARK: - Every read command on a replay

    func testEveryReadCommandWorksOnAReplay() throws {
        let folder = try TemporaryFolder()
        let source = try LedgerFile(self, folder)
        try source.generate(cases: 200, seed: 7)
        let until = "2025-06-01T00:00:00Z"
        let limit = try XCTUnwrap(instant(until))
        let replay = try source.replay(["--until", until], to: folder.path("as-of.sqlite"))

        // log: exactly the source's events that occurred by then, as stored.
        let sourceLog = try source.logLines()
        let kept = try sourceLog.filter { line in
            let event = try parseObject(line)
            return try XCTUnwrap(instant(event["occurred_at"] as? String ?? "")) <= limit
        }
        XCTAssertGreaterThan(kept.count, 0)
        XCTAssertLessThan(kept.count, sourceLog.count, "the filter should leave some events out")
        let log = try replay.logLines()
        XCTAssertEqual(log, kept)
        XCTAssertEqual(try replay.ok(["log", "--json", "--from-seq", "100", "--limit", "5"]).split(separator: "\n").count, 5)

        // case list and case show.
        let cases = try replay.array(["case", "list", "--json"])
        let sourceCases = try source.array(["case", "list", "--json"])
        XCTAssertGreaterThan(cases.count, 0)
        XCTAssertLessThanOrEqual(cases.count, sourceCases.count)
        let caseID = try XCTUnwrap(cases.first?["case_id"] as? String)
        let view = try replay.show(caseID)
        XCTAssertEqual(view["case_id"] as? String, caseID)
        XCTAssertLessThanOrEqual(try XCTUnwrap(instant(view["last_event_at"] as? String ?? "")), limit)
        XCTAssertEqual(try replay.run(["case", "list"]).exitCode, 0)
        XCTAssertEqual(try replay.run(["case", "list", "--status", "closed", "--json"]).exitCode, 0)

        // audit, by case and by actor.
        let trail = try replay.audit(["--case", caseID])
        XCTAssertGreaterThan(trail.count, 0)
        XCTAssertTrue(try trail.allSatisfy { try XCTUnwrap(instant($0["occurred_at"] as? String ?? "")) <= limit })
        let actor = try XCTUnwrap(trail.last?["actor"] as? String)
        XCTAssertGreaterThan(try replay.audit(["--actor", actor]).count, 0)
        XCTAssertEqual(try replay.run(["audit", "--case", caseID, "--format", "csv"]).exitCode, 0)

        // compliance, under the rulebooks in force and under a given one.
        let report = try replay.object(["compliance", "--json"])
        XCTAssertEqual(report["mode"] as? String, "in_force")
        let replaySeqs = Set(try replay.log().compactMap { $0["seq"] as? Int })
        for violation in report["violations"] as? [[String: Any]] ?? [] {
            XCTAssertTrue(replaySeqs.contains(violation["seq"] as? Int ?? -1), "a violation on an event not in the replay: \(violation)")
        }
        XCTAssertEqual(try replay.run(["compliance", "--case", caseID, "--json"]).exitCode, 0)
        let shipped = repositoryRoot.appendingPathComponent("Schemas/rulebooks/cn-cba-2026.json").path
        XCTAssertEqual(try replay.object(["compliance", "--rules", shipped, "--json"])["mode"] as? String, "given")

        // evidence, for a complaint filed by then.
        let filing = try XCTUnwrap(try replay.log().first { $0["type"] as? String == "complaint.filed" }, "no complaint before \(until)")
        let complaintID = try XCTUnwrap((filing["data"] as? [String: Any])?["complaint_id"] as? String)
        let pack = folder.url.appendingPathComponent("evidence")
        let evidence = try replay.run(["evidence", "--complaint", complaintID, "--out", pack.path])
        XCTAssertEqual(evidence.exitCode, 0, evidence.stderr)
        let packJSON = try parseObject(try String(contentsOf: pack.appendingPathComponent("evidence.json"), encoding: .utf8))
        XCTAssertTrue(FileManager.default.fileExists(atPath: pack.appendingPathComponent("evidence.html").path))
        XCTAssertEqual(((packJSON["complaint"] as? [String: Any])?["filing"] as? [String: Any])?["event_id"] as? String,
                       filing["event_id"] as? String)
        let chain = packJSON["chain"] as? [String: Any] ?? [:]
        XCTAssertEqual(chain["verified"] as? Bool, true, "\(chain)")
        let packEvents = packJSON["events"] as? [[String: Any]] ?? []
        XCTAssertGreaterThan(packEvents.count, 0)
        for event in packEvents {
            XCTAssertTrue(replaySeqs.contains(event["seq"] as? Int ?? -1), "the pack holds an event not in the replay: \(event["seq"] ?? "?")")
        }

        try replay.assertVerifies()
        // Unfiltered, a replay reads exactly as its source.
        let whole = try source.replay([], to: folder.path("whole.sqlite"))
        XCTAssertEqual(try whole.ok(["case", "list", "--json"]), try source.ok(["case", "list", "--json"]))
        XCTAssertEqual(try whole.ok(["compliance", "--json"]), try source.ok(["compliance", "--json"]))
        XCTAssertEqual(try whole.ok(["audit", "--actor", actor, "--json"]), try source.ok(["audit", "--actor", actor, "--json"]))
    }

    // MARK: - replay_info

    func testReplayJSONPrintsWhereItCameFromAndHow() throws {
        let folder = try TemporaryFolder()
        let late = try LateArrival(self, folder)
        let source = late.source
        let sourceHead = try source.verifyJSON()
        let rules = try writeRulebook(in: folder, id: "test-cap2", maxCallsPerDay: 2)

        let out = folder.path("info.sqlite")
        let result = try CLI.run(["replay", "--db", source.path, "--out", out, "--json", "--quiet",
                                  "--until", "2024-03-15T00:00:00Z", "--known-at", "2024-03-25T00:00:00Z", "--until-seq", "4",
                                  "--rules", rules],
                                 environment: ["CASELEDGER_CLOCK": "2024-05-01T00:00:00Z"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let info = try parseObject(result.stdout)
        let sourcePath = URL(fileURLWithPath: source.path).standardizedFileURL.path
        XCTAssertTrue([sourcePath, URL(fileURLWithPath: source.path).resolvingSymlinksInPath().path].contains(info["source"] as? String ?? ""),
                      "source: \(info["source"] ?? "missing")")
        XCTAssertEqual(info["source_head_seq"] as? Int, 5)
        XCTAssertEqual(info["source_head_hash"] as? String, sourceHead["head_hash"] as? String)
        XCTAssertEqual(info["events"] as? Int, 4)
        let filters = try XCTUnwrap(info["filters"] as? [String: Any])
        XCTAssertTrue((filters["until"] as? String ?? "").hasPrefix("2024-03-15T00:00:00"), "\(filters)")
        XCTAssertTrue((filters["known_at"] as? String ?? "").hasPrefix("2024-03-25T00:00:00"), "\(filters)")
        XCTAssertEqual(filters["until_seq"] as? Int, 4)
        XCTAssertEqual(info["rules"] as? String, "given")
        XCTAssertEqual(info["rulebooks"] as? [String], ["test-cap2"])
        XCTAssertTrue((info["ran_at"] as? String ?? "").hasPrefix("2024-05-01T00:00:00"), "ran_at: \(info["ran_at"] ?? "missing")")

        // The replay keeps the same record, and says what it is.
        let replay = LedgerFile(path: out, folder: folder)
        let stored = try parseObject(try replay.sql("SELECT value FROM ledger_meta WHERE key = 'replay_info'"))
        XCTAssertEqual(stored as NSDictionary, info as NSDictionary)
        XCTAssertEqual(try replay.sql("SELECT value FROM ledger_meta WHERE key = 'kind'"), "replay\n")

        // Without filters or rules: nulls, and the rulebooks in force.
        let plain = try parseObject(try source.ok(["replay", "--out", folder.path("plain.sqlite"), "--json", "--quiet"]))
        XCTAssertEqual(plain["events"] as? Int, 5)
        XCTAssertEqual(plain["rules"] as? String, "in_force")
        XCTAssertGreaterThan((plain["rulebooks"] as? [String])?.count ?? 0, 0)
        let plainFilters = try XCTUnwrap(plain["filters"] as? [String: Any])
        XCTAssertTrue(["until", "known_at", "until_seq"].allSatisfy { plainFilters[$0] is NSNull }, "\(plainFilters)")
        XCTAssertNotNil(plain["ran_at"] as? String)
    }

    // MARK: - Schema evolution: a ledger written by the v1 writer

    func testTheV1FixtureVerifiesReplaysAndTakesV2CallsWhileV1RejectsTheNewField() throws {
        let folder = try TemporaryFolder()
        let fixture = testsDirectory.appendingPathComponent("Fixtures/ledger-v1.sqlite").path
        let fixtureDigest = try sha256(fixture, folder)
        let copy = LedgerFile(path: folder.path("v1.sqlite"), folder: folder)
        try FileManager.default.copyItem(atPath: fixture, toPath: copy.path)

        // Replayed straight from an untouched copy (never migrated): works, and the copy stays as it was.
        let pristine = LedgerFile(path: folder.path("pristine.sqlite"), folder: folder)
        try FileManager.default.copyItem(atPath: fixture, toPath: pristine.path)
        let fromPristine = try pristine.replay([], to: folder.path("from-pristine.sqlite"))
        XCTAssertEqual(try sha256(pristine.path, folder), fixtureDigest, "replay must not migrate its source")
        try fromPristine.assertVerifies()

        // verify passes on the copy (reading it may migrate it: that is fine).
        try copy.assertVerifies()
        let copyLog = try copy.logLines()
        XCTAssertFalse(copyLog.isEmpty)
        let copyEvents = try copyLog.map(parseObject)
        XCTAssertTrue(copyEvents.allSatisfy { $0["schema_version"] as? Int == 1 }, "the fixture is all schema_version 1")
        XCTAssertTrue(copyEvents.contains { $0["type"] as? String == "call.placed" })

        let replay = try copy.replay([], to: folder.path("replay.sqlite"))
        try replay.assertVerifies()
        let replayLog = try replay.logLines()
        XCTAssertEqual(replayLog, copyLog, "the replay keeps every stored envelope: schema_version 1 and the original hashes")
        for event in try replayLog.map(parseObject) where event["type"] as? String == "call.placed" {
            XCTAssertEqual(event["schema_version"] as? Int, 1, "seq \(event["seq"] ?? "?")")
        }
        XCTAssertEqual(try replay.ok(["case", "list", "--json"]), try copy.ok(["case", "list", "--json"]))
        XCTAssertEqual(try replay.ok(["compliance", "--json"]), try copy.ok(["compliance", "--json"]))
        XCTAssertEqual(try fromPristine.ok(["case", "list", "--json"]), try copy.ok(["case", "list", "--json"]))

        // A new call appended to the copy today is v2 and may name its dialer campaign …
        let openCase = try XCTUnwrap(try copy.array(["case", "list", "--json"]).first { $0["status"] as? String != "closed" }?["case_id"] as? String)
        let c = Script(openCase)
        let v2Call = c.event("call.placed", at: "2025-09-01T10:00:00+08:00",
                             #"{"direction":"outbound","party":"debtor","outcome":"no_answer","duration_s":0,"dialer_campaign":"2025-Q3-early"}"#)
        let appended = try copy.run(["append", "--json"], stdin: v2Call.line + "\n")
        XCTAssertEqual(appended.exitCode, 0, appended.stderr)
        let stored = try XCTUnwrap(try copy.log().last)
        XCTAssertEqual(stored["event_id"] as? String, v2Call.id)
        XCTAssertEqual(stored["schema_version"] as? Int, 2)
        XCTAssertEqual((stored["data"] as? [String: Any])?["dialer_campaign"] as? String, "2025-Q3-early")

        // … while a call that says it is v1 may not: v1 does not know the field.
        let v1WithCampaign = c.event("call.placed", at: "2025-09-01T11:00:00+08:00", schemaVersion: 1,
                                     #"{"direction":"outbound","party":"debtor","outcome":"no_answer","duration_s":0,"dialer_campaign":"2025-Q3-early"}"#)
        let refused = try copy.run(["append", "--json"], stdin: v1WithCampaign.line + "\n")
        XCTAssertEqual(refused.exitCode, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("data.dialer_campaign"), refused.stderr)
        XCTAssertEqual(try copy.logLines().count, copyLog.count + 1, "the refused event is not stored")

        // A v1 call without the field is still accepted, and kept at v1; the mixed log verifies and replays.
        let v1Call = c.event("call.placed", at: "2025-09-01T12:00:00+08:00", schemaVersion: 1,
                             #"{"direction":"outbound","party":"debtor","outcome":"no_answer","duration_s":0}"#)
        XCTAssertEqual(try copy.run(["append", "--json"], stdin: v1Call.line + "\n").exitCode, 0)
        XCTAssertEqual(try copy.log().last?["schema_version"] as? Int, 1)
        try copy.assertVerifies()
        let mixed = try copy.replay([], to: folder.path("mixed.sqlite"))
        XCTAssertEqual(try mixed.logLines(), try copy.logLines())
        XCTAssertEqual(try mixed.ok(["case", "show", openCase, "--json"]), try copy.ok(["case", "show", openCase, "--json"]))
        try mixed.assertVerifies()

        XCTAssertEqual(try sha256(fixture, folder), fixtureDigest, "the committed fixture is never modified")
    }
}

// MARK: - Fixtures

/// Tests/CaseLedgerTests, and the repository above it.
private let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
private let repositoryRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()

/// 2024-03-`day` at `time` in Shanghai (+08:00).
private func march(_ day: Int, _ time: String = "10:00") -> String {
    "2024-03-\(day < 10 ? "0" : "")\(day)T\(time):00+08:00"
}

/// One event line and its id.
private struct Event {
    let id: String
    let line: String
}

/// Builds the events of one case (Shanghai, CN-SH).
private struct Script {
    let caseID: String
    let openingID = UUID().uuidString.lowercased()

    init(_ caseID: String = "C-1") { self.caseID = caseID }

    func event(_ type: String, at time: String, actor: String = "collector:zhang.wei", id: String = UUID().uuidString.lowercased(),
               schemaVersion: Int? = nil, _ data: String) -> Event {
        var line = Events.line(id: id, caseID: caseID, type: type, occurredAt: time, actor: actor, data: data)
        if let schemaVersion {
            line = line.replacingOccurrences(of: #""type":"\#(type)","#, with: #""type":"\#(type)","schema_version":\#(schemaVersion),"#)
        }
        return Event(id: id, line: line)
    }

    /// Opened 1 March 09:00 in Shanghai.
    func opened(principal: Int = 1_000_000, fees: Int = 5_000) -> Event {
        event("case.opened", at: march(1, "09:00"), actor: "system:intake", id: openingID, """
            {"debtor_ref":"D-1","account_ref":"A-1","product":"credit_card","currency":"CNY","principal_minor":\(principal),"fees_minor":\(fees),"due_date":"2024-01-31","debtor_timezone":"Asia/Shanghai","region":"CN-SH"}
            """)
    }

    func call(at time: String) -> Event {
        event("call.placed", at: time, #"{"direction":"outbound","party":"debtor","outcome":"no_answer","duration_s":0}"#)
    }

    func payment(_ amount: Int, at time: String) -> Event {
        event("payment.received", at: time, actor: "system:payments",
              #"{"amount_minor":\#(amount),"currency":"CNY","channel":"wechat","reference":"PAY-\#(amount)"}"#)
    }

    func void(_ target: Event, at time: String) -> Event {
        event("entry.voided", at: time, actor: "supervisor:li.na", #"{"voids":"\#(target.id)","reason":"payment bounced"}"#)
    }
}

/// One case written in two batches. Recorded 10 March (seq 1–3): the opening (1 March), calls on 4
/// and 9 March. Recorded 20 March (seq 4–5): a payment that occurred on 5 March, arriving late, and
/// a call on 18 March.
private struct LateArrival {
    let source: LedgerFile
    let opened: Event, call4: Event, call9: Event, payment: Event, call18: Event

    init(_ test: XCTestCase, _ folder: TemporaryFolder) throws {
        let c = Script()
        source = try LedgerFile(test, folder)
        opened = c.opened()
        call4 = c.call(at: march(4))
        call9 = c.call(at: march(9))
        payment = c.payment(50_000, at: march(5))
        call18 = c.call(at: march(18))
        try source.record([opened, call4, call9], clock: "2024-03-10T00:00:00Z")
        try source.record([payment, call18], clock: "2024-03-20T00:00:00Z")
    }
}

/// Writes a rulebook for any region with the same hours and `maxCallsPerDay`, and returns its path.
private func writeRulebook(in folder: TemporaryFolder, id: String, maxCallsPerDay: Int) throws -> String {
    let book: [String: Any] = ["id": id, "title": "Rules for ReplayTests (\(maxCallsPerDay) calls a day)", "jurisdiction": "*",
                               "effective_from": "2000-01-01", "source": "ReplayTests.swift, a test rulebook",
                               "contact_hours": ["start": "08:00", "end": "21:00"], "max_calls_per_day": maxCallsPerDay]
    let data = try JSONSerialization.data(withJSONObject: book, options: [.sortedKeys])
    return try folder.write("\(id).json", String(decoding: data, as: UTF8.self))
}

/// A ledger file (a live ledger or a replay), driven through the real binary.
private struct LedgerFile {
    let path: String
    let folder: TemporaryFolder

    init(path: String, folder: TemporaryFolder) {
        self.path = path
        self.folder = folder
    }

    /// A fresh, initialised ledger in `folder`.
    init(_ test: XCTestCase, _ folder: TemporaryFolder, name: String = "source.sqlite") throws {
        self.init(path: try test.makeLedger(folder, name: name), folder: folder)
    }

    /// `caseledger arguments… --db <this file>`.
    func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(arguments + ["--db", path], stdin: stdin, environment: environment)
    }

    /// Stdout of a command that must succeed.
    func ok(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try run(arguments)
        XCTAssertEqual(result.exitCode, 0, "\(arguments.joined(separator: " ")) on \(path): \(result.stderr)", file: file, line: line)
        return result.stdout
    }

    func object(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try parseObject(try ok(arguments, file: file, line: line))
    }

    func array(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let text = try ok(arguments, file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "not a JSON array: \(text)",
                             file: file, line: line)
    }

    /// Appends the events as one batch with the ledger clock at `clock`; it must be accepted.
    func record(_ events: [Event], clock: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(["append", "--json"], stdin: events.map(\.line).joined(separator: "\n") + "\n",
                             environment: ["CASELEDGER_CLOCK": clock])
        XCTAssertEqual(result.exitCode, 0, "append refused: \(result.stderr)", file: file, line: line)
    }

    func generate(cases: Int, seed: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        _ = try ok(["generate", "--cases", "\(cases)", "--seed", "\(seed)"], file: file, line: line)
    }

    /// `replay filters… --out <out> --json`, which must succeed; the replay's file.
    @discardableResult
    func replay(_ filters: [String], to out: String, file: StaticString = #filePath, line: UInt = #line) throws -> LedgerFile {
        let result = try run(["replay", "--out", out, "--json", "--quiet"] + filters)
        XCTAssertEqual(result.exitCode, 0, "replay \(filters.joined(separator: " ")): \(result.stderr)", file: file, line: line)
        return LedgerFile(path: out, folder: folder)
    }

    /// `log --json`: its NDJSON lines, and parsed.
    func logLines(file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        try ok(["log", "--json"], file: file, line: line).split(separator: "\n").map(String.init)
    }

    func log(file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        try logLines(file: file, line: line).map(parseObject)
    }

    func eventIDs(file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        try log(file: file, line: line).compactMap { $0["event_id"] as? String }
    }

    func show(_ caseID: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try object(["case", "show", caseID, "--json"], file: file, line: line)
    }

    func audit(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        try array(["audit"] + arguments + ["--json"], file: file, line: line)
    }

    /// `verify --json`, which must pass.
    func verifyJSON(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let report = try object(["verify", "--json"], file: file, line: line)
        XCTAssertEqual(report["ok"] as? Bool, true, "verify on \(path): \(report)", file: file, line: line)
        return report
    }

    func assertVerifies(file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(["verify"])
        XCTAssertEqual(result.exitCode, 0, "verify on \(path): \(result.stdout)\(result.stderr)", file: file, line: line)
    }

    /// Runs SQL on the file with the sqlite3 command line tool; its output (through files, never pipes).
    @discardableResult
    func sql(_ statements: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let status = try runTool("/usr/bin/sqlite3", [path, statements], in: folder, timeout: 60)
        XCTAssertEqual(status.exitCode, 0, "sqlite3: \(status.stderr)", file: file, line: line)
        return status.stdout
    }
}

/// The SHA-256 of a file, by `sha256sum`.
private func sha256(_ path: String, _ folder: TemporaryFolder) throws -> String {
    let status = try runTool("/usr/bin/sha256sum", [path], in: folder, timeout: 60)
    XCTAssertEqual(status.exitCode, 0, "sha256sum: \(status.stderr)")
    return String(status.stdout.prefix(64))
}

private func parseObject(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
}

/// An RFC 3339 time (any offset, any fraction of a second) as an instant.
private func instant(_ text: String) -> Date? {
    let whole = text.replacingOccurrences(of: #"\.[0-9]+"#, with: "", options: .regularExpression)
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: whole)
}
