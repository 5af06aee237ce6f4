import CaseLedgerCore
@testable import CaseLedgerStore
import Foundation
import GRDB
import XCTest

/// A fold of the whole log (rebuild, verify, replay, compliance reports) takes several passes
/// when the log holds more cases than one pass may (`Limits.foldCasesPerPass`), each pass folding
/// its share of the cases. Whatever the number of passes, the projections must come out the
/// same, and `verify` must still find what differs.
final class FoldPassesTests: XCTestCase {
    /// 60 cases at 7 a pass: 9 passes.
    let manyPasses = ["CASELEDGER_FOLD_CASES": "7"]

    func testRebuildVerifyReplayAndReportsInManyPassesEqualOnePass() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        let generated = try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "7"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let appended = try tables(db)
        XCTAssertGreaterThan(appended["audit_voids"]!.count, 0, "the portfolio voids some events")
        XCTAssertGreaterThan(appended["violations"]!.count, 0, "the portfolio breaks some rules")

        let schemaObjects = { (path: String) in
            try DatabaseQueue(path: path).read { db in
                try String.fetchAll(db, sql: "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
            }
        }
        let schemaBefore = try schemaObjects(db)

        let rebuilt = try CLI.run(["rebuild", "--db", db], environment: manyPasses)
        XCTAssertEqual(rebuilt.exitCode, 0, rebuilt.stderr)
        let afterPasses = try tables(db)
        for (table, rows) in appended {
            XCTAssertEqual(afterPasses[table], rows, "\(table) rebuilt in 9 passes differs from what the appends wrote")
        }
        // The indexes a rebuild creates after its fold are the same, and agree with their tables.
        XCTAssertEqual(try schemaObjects(db), schemaBefore)
        XCTAssertEqual(try DatabaseQueue(path: db).read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }, ["ok"])
        let head = try DatabaseQueue(path: db).read { db in
            (try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events"), try Int64.fetchAll(db, sql: "SELECT checkpoint_seq FROM projections"))
        }
        XCTAssertEqual(Set(head.1), [head.0!], "every projection is built to the log's head")

        let verified = try CLI.run(["verify", "--db", db], environment: manyPasses)
        XCTAssertEqual(verified.exitCode, 0, verified.stdout + verified.stderr)

        let onePass = try CLI.run(["compliance", "--db", db, "--json", "--rules", "Schemas/rulebooks/cn-cba-2026.json"].map(repoPath))
        let passes = try CLI.run(["compliance", "--db", db, "--json", "--rules", "Schemas/rulebooks/cn-cba-2026.json"].map(repoPath), environment: manyPasses)
        XCTAssertEqual(onePass.exitCode, 0, onePass.stderr)
        XCTAssertEqual(passes.stdout, onePass.stdout, "a what-if report in 9 passes differs from one pass")

        let replay = folder.path("replay.sqlite")
        let replayed = try CLI.run(["replay", "--db", db, "--out", replay], environment: manyPasses)
        XCTAssertEqual(replayed.exitCode, 0, replayed.stderr)
        XCTAssertEqual(try tables(replay)["case_state"], appended["case_state"], "a replay rebuilt in 9 passes")
    }

    /// A what-if report and a rule change's diff fold the compliance projection alone (a closed
    /// case handed over as it closes, the others at their pass's end); a replay judged by the same
    /// rulebook folds every projection and stores its violations. Whatever the passes, the
    /// what-if report is the replay's stored report, byte for byte, and the diff counts what each
    /// replay stores.
    func testAWhatIfReportAndADiffSayWhatAReplayJudgedByTheRulebookStores() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "7"]).exitCode, 0)
        let closed = try DatabaseQueue(path: db).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE type = 'case.closed'") }
        XCTAssertGreaterThan(closed ?? 0, 0, "the portfolio closes some cases")
        let rulebooks = ["Schemas/rulebooks/cn-cba-2026.json", "Schemas/rulebooks/cn-nifa-2024.json"].map(repoPath)
        var stored: [Int] = []
        for (index, rules) in rulebooks.enumerated() {
            let replay = folder.path("replay-\(index).sqlite")
            let made = try CLI.run(["replay", "--db", db, "--rules", rules, "--out", replay, "--quiet"])
            XCTAssertEqual(made.exitCode, 0, made.stderr)
            let report = try CLI.run(["compliance", "--db", replay, "--json"])
            XCTAssertEqual(report.exitCode, 0, report.stderr)
            let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])["summary"] as? [String: Any]
            stored.append(try XCTUnwrap(summary?["violations"] as? Int))
            for environment in [[:], manyPasses] {
                let whatIf = try CLI.run(["compliance", "--db", db, "--json", "--rules", rules], environment: environment)
                XCTAssertEqual(whatIf.exitCode, 0, whatIf.stderr)
                XCTAssertEqual(whatIf.stdout, report.stdout, "what-if by \(rules), \(environment)")
            }
        }
        XCTAssertNotEqual(stored[0], stored[1], "the two rulebooks find different violations")
        for environment in [[:], manyPasses] {
            let diff = try CLI.run(["compliance", "diff", "--db", db, "--json", "--rules", rulebooks[0], "--rules", rulebooks[1]], environment: environment)
            XCTAssertEqual(diff.exitCode, 0, diff.stderr)
            let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any])["summary"] as? [String: Any]
            XCTAssertEqual(summary?["violations_before"] as? Int, stored[0], "\(environment)")
            XCTAssertEqual(summary?["violations_after"] as? Int, stored[1], "\(environment)")
            XCTAssertEqual(summary?["cases_judged"] as? Int, 60)
        }
    }

    /// A fold in several passes reads the log once: the first share's rows are folded as they
    /// are read, each other share's set aside in a spill file in the temporary folder (`TMPDIR`),
    /// a chunk of rows at a time, and folded from there. Where no file can be made, each share is
    /// read from the log again. Either way the projections are those the appends wrote, and no
    /// file is left in the folder.
    func testSharesSetAsideOrReadAgainFoldTheSameAndLeaveNoFile() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "7"]).exitCode, 0)
        let appended = try tables(db)
        let spills = try spillFolder(in: folder)
        // 30 cases a pass: two shares, the second of more rows than one chunk holds.
        let secondShare = try DatabaseQueue(path: db).read { db in
            try String.fetchAll(db, sql: "SELECT case_id FROM events").filter { Ledger.FoldShare.hash(caseID: $0) % 2 == 1 }.count
        }
        XCTAssertGreaterThan(secondShare, FeedParser.chunkRows, "the second share is set aside in more than one chunk")
        let runs: [(String, [String: String])] = [
            ("9 shares, 8 set aside", ["CASELEDGER_FOLD_CASES": "7", "TMPDIR": spills]),
            ("2 shares, the second set aside", ["CASELEDGER_FOLD_CASES": "30", "TMPDIR": spills]),
            ("9 shares, none can be set aside", ["CASELEDGER_FOLD_CASES": "7", "TMPDIR": folder.path("no-such-folder")]),
        ]
        for (what, environment) in runs {
            let rebuilt = try CLI.run(["rebuild", "--db", db], environment: environment)
            XCTAssertEqual(rebuilt.exitCode, 0, "\(what): \(rebuilt.stderr)")
            let after = try tables(db)
            for (table, rows) in appended {
                XCTAssertEqual(after[table], rows, "\(table) rebuilt with \(what)")
            }
            let verified = try CLI.run(["verify", "--db", db], environment: environment)
            XCTAssertEqual(verified.exitCode, 0, "\(what): \(verified.stdout) \(verified.stderr)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spills), [], "\(what): no spill file is left")
        }

        // An unreadable event in a share that was set aside fails the rebuild, naming its seq,
        // and the projections stay as they were.
        let (seq, before) = try DatabaseQueue(path: db).write { db -> (Int64, Int) in
            let rows = try Row.fetchAll(db, sql: "SELECT seq, case_id FROM events WHERE type = 'call.placed' ORDER BY seq DESC")
            let seq: Int64 = try XCTUnwrap(rows.first { Ledger.FoldShare.hash(caseID: $0["case_id"]) % 2 == 1 })["seq"]
            try db.execute(sql: "DROP TRIGGER events_no_update")
            try db.execute(sql: "UPDATE events SET data = '[1]' WHERE seq = ?", arguments: [seq])
            return (seq, try Int.fetchOne(db, sql: "SELECT count(*) FROM case_state") ?? 0)
        }
        let refused = try CLI.run(["rebuild", "--db", db], environment: ["CASELEDGER_FOLD_CASES": "30", "TMPDIR": spills])
        XCTAssertNotEqual(refused.exitCode, 0)
        XCTAssertTrue(refused.stderr.contains("seq \(seq)"), "names the unreadable event: \(refused.stderr)")
        XCTAssertEqual(try tables(db)["case_state"], appended["case_state"])
        XCTAssertEqual(appended["case_state"]?.count, before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spills), [])
    }

    /// In process, where the files can be seen: while the first of three shares is folded, the
    /// other two are set aside in files of their own in `TMPDIR`, open but already gone from the
    /// folder; every event is fed once, share after share, each share in `seq` order.
    func testTheLaterSharesAreSetAsideInFilesInTMPDIR() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "7"]).exitCode, 0)
        let spills = try spillFolder(in: folder)
        defer { restoreTMPDIR() }
        setenv("TMPDIR", spills, 1)
        let openSpills = { try self.openSpillFiles(in: spills) }
        let queue = try DatabaseQueue(path: db)
        defer { try? queue.close() }
        var seenWhileFolding: [String]?
        var fed: [(share: UInt64, seq: Int64)] = []
        let total = try queue.read { db in
            try Ledger.feedEvents(db, shares: (0..<3).map { Ledger.FoldShare(index: $0, count: 3) }) { event, _, _ in
                if seenWhileFolding == nil { seenWhileFolding = try openSpills() }
                fed.append((Ledger.FoldShare.hash(caseID: event.caseID) % 3, event.seq))
            }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
        }
        XCTAssertEqual(seenWhileFolding?.count, 2, "one file for each share after the first: \(seenWhileFolding ?? [])")
        XCTAssertTrue(seenWhileFolding?.allSatisfy { $0.hasSuffix("(deleted)") } ?? false, "\(seenWhileFolding ?? [])")
        XCTAssertEqual(try openSpills(), [], "every file is closed once its share is fed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spills), [])
        XCTAssertEqual(fed.count, total, "every event is fed once")
        XCTAssertEqual(Set(fed.map(\.seq)).count, total)
        for (previous, next) in zip(fed, fed.dropFirst()) {
            XCTAssertTrue(previous.share < next.share || (previous.share == next.share && previous.seq < next.seq),
                          "share after share, each in seq order: \(previous) before \(next)")
        }
    }

    /// A scan on the connection that holds the log (an append's judging of its cases, from its
    /// uncommitted batch) sets the later shares aside in the same way, also when the shares are
    /// of chosen cases (`FoldShare.only`): every chosen case's event from `fromSeq` is fed once,
    /// share after share, each share in `seq` order and followed by `endOfShare`. Without a
    /// temporary folder each share is read by itself, to the same events; an unreadable event
    /// in a share set aside fails the scan naming its seq. No file is left either way.
    func testAScanOnThisConnectionSetsTheLaterSharesAsideToo() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "100", "--seed", "7"]).exitCode, 0)
        let spills = try spillFolder(in: folder)
        defer { restoreTMPDIR() }
        let openSpills = { try self.openSpillFiles(in: spills) }
        let queue = try DatabaseQueue(path: db)
        defer { try? queue.close() }
        let caseIDs = try queue.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT case_id FROM events ORDER BY case_id") }
        let chosen = Set(caseIDs.enumerated().filter { $0.offset % 3 != 0 }.map(\.element))
        let shares = (0..<3).map { Ledger.FoldShare(index: $0, count: 3, only: Set(chosen.map(Ledger.FoldShare.hash(caseID:)))) }
        let fromSeq: Int64 = 40

        /// The events fed (case, share, seq), each share's end, and the spill files open during the first event.
        func scan(_ db: Database) throws -> (fed: [(caseID: String, share: UInt64, seq: Int64)], ends: [Int], seen: [String]?) {
            var fed: [(caseID: String, share: UInt64, seq: Int64)] = []
            var ends: [Int] = []
            var seen: [String]?
            try Ledger.feedEvents(db, fromSeq: fromSeq, shares: shares) { event, _, _ in
                if seen == nil { seen = try openSpills() }
                fed.append((event.caseID, Ledger.FoldShare.hash(caseID: event.caseID) % 3, event.seq))
            } endOfShare: {
                ends.append(fed.count)
            }
            return (fed, ends, seen)
        }
        let expected = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, case_id FROM events WHERE seq >= ? ORDER BY seq", arguments: [fromSeq])
                .filter { chosen.contains($0["case_id"]) }.map { $0["seq"] as Int64 }
        }
        var fedWithFiles: [Int64] = []
        for (what, tmp) in [("files", spills), ("no folder", folder.path("no-such-folder"))] {
            setenv("TMPDIR", tmp, 1)
            let (fed, ends, seen) = try queue.write { db in try scan(db) }
            XCTAssertEqual(seen?.count, what == "files" ? 2 : 0, "\(what): a file for each share after the first: \(seen ?? [])")
            XCTAssertTrue(seen?.allSatisfy { $0.hasSuffix("(deleted)") } ?? false, "\(what): \(seen ?? [])")
            XCTAssertEqual(try openSpills(), [], "\(what): every file is closed once its share is fed")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spills), [])
            XCTAssertEqual(fed.map(\.seq).sorted(), expected, "\(what): every chosen event from seq \(fromSeq), once")
            XCTAssertEqual(ends, (0..<3).map { share in fed.filter { $0.share <= share }.count }, "\(what): each share ends after its events")
            for (previous, next) in zip(fed, fed.dropFirst()) {
                XCTAssertTrue(previous.share < next.share || (previous.share == next.share && previous.seq < next.seq),
                              "\(what): share after share, each in seq order: \(previous) before \(next)")
            }
            if what == "files" { fedWithFiles = fed.map(\.seq) } else { XCTAssertEqual(fed.map(\.seq), fedWithFiles) }
        }
        let lastShare = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT case_id FROM events WHERE seq >= ?", arguments: [fromSeq])
                .filter { chosen.contains($0) && Ledger.FoldShare.hash(caseID: $0) % 3 == 2 }.count
        }
        XCTAssertGreaterThan(lastShare, FeedParser.chunkRows, "the last share is set aside in more than one chunk")

        // An unreadable event of the last share, set aside, fails the scan naming its seq.
        setenv("TMPDIR", spills, 1)
        try queue.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT seq, case_id FROM events WHERE type = 'call.placed' AND seq >= ? ORDER BY seq", arguments: [fromSeq])
            let seq: Int64 = try XCTUnwrap(rows.first { chosen.contains($0["case_id"]) && Ledger.FoldShare.hash(caseID: $0["case_id"]) % 3 == 2 })["seq"]
            try db.execute(sql: "DROP TRIGGER events_no_update")
            try db.execute(sql: "UPDATE events SET data = '[1]' WHERE seq = ?", arguments: [seq])
            XCTAssertThrowsError(try scan(db)) { error in
                guard case LedgerError.verificationFailed(seq: let failed, reason: _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(failed, seq, "names the unreadable event")
            }
        }
        XCTAssertEqual(try openSpills(), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spills), [])
    }

    /// The test process's `TMPDIR` when it started, put back by `restoreTMPDIR` after a test sets its own.
    private static let startingTMPDIR = ProcessInfo.processInfo.environment["TMPDIR"]

    private func restoreTMPDIR() {
        if let previous = Self.startingTMPDIR { setenv("TMPDIR", previous, 1) } else { unsetenv("TMPDIR") }
    }

    /// A new, empty folder for spill files.
    private func spillFolder(in folder: TemporaryFolder) throws -> String {
        let spills = folder.path("spills")
        try FileManager.default.createDirectory(atPath: spills, withIntermediateDirectories: false)
        return spills
    }

    /// The spill files this process holds open in `folder` (each path ends in " (deleted)" once unlinked).
    private func openSpillFiles(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { fd in
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
        }.filter { $0.hasPrefix(folder + "/caseledger-spill-") }
    }

    func testVerifyInManyPassesStillFindsAnEditedCaseAndAMissingOne() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "7"]).exitCode, 0)
        let queue = try DatabaseQueue(path: db)
        let (edited, removed) = try queue.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT case_id FROM case_state WHERE status <> 'closed' ORDER BY case_id")
            try db.execute(sql: "UPDATE case_state SET version = version + 1 WHERE case_id = ?", arguments: [ids[ids.count / 2]])
            return (ids[ids.count / 2], ids[ids.count - 1])
        }
        var result = try CLI.run(["verify", "--db", db], environment: manyPasses)
        XCTAssertEqual(result.exitCode, 4, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains(edited), "names the edited case: \(result.stderr)")

        try queue.write { db in
            try db.execute(sql: "UPDATE case_state SET version = version - 1 WHERE case_id = ?", arguments: [edited])
            try db.execute(sql: "DELETE FROM case_state WHERE case_id = ?", arguments: [removed])
        }
        try queue.close()
        result = try CLI.run(["verify", "--db", db], environment: manyPasses)
        XCTAssertEqual(result.exitCode, 4, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains(removed), "names the missing case: \(result.stderr)")
    }

    func testABadShareSizeIsRefusedBeforeAnythingIsRead() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "5", "--seed", "7"]).exitCode, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        for value in ["0", "-3", "many", "1.5", ""] {
            for command in [["rebuild", "--db", db], ["verify", "--db", db]] {
                let result = try CLI.run(command, environment: ["CASELEDGER_FOLD_CASES": value])
                XCTAssertEqual(result.exitCode, 2, "\(command[0]) with CASELEDGER_FOLD_CASES=\(value): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains("CASELEDGER_FOLD_CASES") && result.stderr.contains("at least 1"), result.stderr)
            }
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: db)), before, "a refused command wrote to the ledger")
    }

    /// The passes are counted from the log's cases (`Ledger.caseCount`, a seek from one case_id to
    /// the next): the count `count(DISTINCT case_id)` gives, with case ids that are prefixes of one
    /// another, differ only in case or punctuation, or sort before and after the generated ones.
    func testTheCasesAreCountedOneSeekACase() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "25", "--seed", "3"]).exitCode, 0)
        let ids = ["0", "C", "C-1", "C-1.", "C-10", "C:1", "c-1", "Z", "zz"]
        let added = try append(ids.map { Events.opened(caseID: $0) } + [Events.call(caseID: "C-10")], to: db)
        XCTAssertEqual(added.exitCode, 0, added.stderr)
        let queue = try DatabaseQueue(path: db)
        defer { try? queue.close() }
        try queue.read { db in
            let distinct = try Int.fetchOne(db, sql: "SELECT count(DISTINCT case_id) FROM events")!
            XCTAssertEqual(distinct, 25 + ids.count)
            XCTAssertEqual(try Ledger.caseCount(db), distinct)
        }
    }

    /// Every projection table's rows, sorted (row order within a table is not part of the contract).
    private func tables(_ path: String) throws -> [String: [String]] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            var rows: [String: [String]] = [:]
            for table in ["case_state", "audit_voids", "violations", "compliance_cases", "case_index", "complaints"] {
                let columns = try db.columns(in: table).map(\.name).filter { $0 != "id" }
                let joined = columns.map { "coalesce(quote(\($0)), 'NULL')" }.joined(separator: " || '|' || ")
                rows[table] = try String.fetchAll(db, sql: "SELECT \(joined) FROM \(table)").sorted()
            }
            return rows
        }
    }

    private func repoPath(_ argument: String) -> String {
        argument.hasPrefix("Schemas/") ? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(argument).path : argument
    }
}
