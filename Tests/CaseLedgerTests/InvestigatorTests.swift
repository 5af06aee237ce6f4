import CaseLedgerCore
import CaseLedgerStore
import Foundation
import XCTest

/// What investigators, examiners and analysts met first, through the real binary: finding cases
/// and complaints, honest findings (judged or not), the filters they need, the audit trail they
/// read, money with the right decimals, consistent reads, and believable demo data.
final class InvestigatorTests: XCTestCase {
    /// A small generated portfolio, shared by the read-only tests of this class.
    nonisolated(unsafe) static let portfolio: (folder: TemporaryFolder, db: String) = {
        let folder = try! TemporaryFolder()
        let db = folder.path("portfolio.sqlite")
        let result = try! CLI.run(["generate", "--db", db, "--cases", "120", "--seed", "21"])
        precondition(result.exitCode == 0, result.stderr)
        return (folder, db)
    }()

    func json(_ arguments: [String], db: String = InvestigatorTests.portfolio.db, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        let result = try CLI.run(arguments + ["--db", db, "--json"])
        XCTAssertEqual(result.exitCode, 0, "\(arguments): \(result.stderr)", file: file, line: line)
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    func log(_ db: String = InvestigatorTests.portfolio.db) throws -> [[String: Any]] {
        try CLI.run(["log", "--db", db, "--json"]).stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    // MARK: - Finding things

    func testACaseIsFoundByItsAccountOrDebtorReference() throws {
        let opening = try XCTUnwrap(try log().first { $0["type"] as? String == "case.opened" })
        let data = opening["data"] as! [String: Any]
        let caseID = opening["case_id"] as! String
        for (option, ref) in [("--account", data["account_ref"] as! String), ("--debtor", data["debtor_ref"] as! String)] {
            let found = try json(["case", "find", option, ref]) as! [[String: Any]]
            XCTAssertTrue(found.contains { $0["case_id"] as? String == caseID }, "\(option) \(ref): \(found)")
            let text = try CLI.run(["case", "find", option, ref, "--db", Self.portfolio.db])
            XCTAssertTrue(text.stdout.contains(caseID), text.stdout)
        }
        let none = try CLI.run(["case", "find", "--account", "A-NOPE", "--db", Self.portfolio.db])
        XCTAssertEqual(none.exitCode, 1)
        XCTAssertTrue(none.stderr.contains("no case with account_ref \"A-NOPE\""), none.stderr)
        XCTAssertEqual(try CLI.run(["case", "find", "--account", "a", "--debtor", "b", "--db", Self.portfolio.db]).exitCode, 2)

        let show = try CLI.run(["case", "show", caseID, "--db", Self.portfolio.db])
        XCTAssertTrue(show.stdout.contains("debtor \(data["debtor_ref"]!), account \(data["account_ref"]!), branch \(data["branch"]!)"), show.stdout)
        let view = try json(["case", "show", caseID]) as! [String: Any]
        XCTAssertEqual(view["account_ref"] as? String, data["account_ref"] as? String)
        XCTAssertEqual(view["region"] as? String, data["region"] as? String)
    }

    func testComplaintsAreListedByStatusCategoryAndFilingDate() throws {
        let all = try json(["complaint", "list"]) as! [[String: Any]]
        XCTAssertFalse(all.isEmpty, "the portfolio has complaints")
        let filings = try log().filter { $0["type"] as? String == "complaint.filed" }
        XCTAssertEqual(all.count, filings.count)
        for status in ["open", "resolved"] {
            let some = try json(["complaint", "list", "--status", status]) as! [[String: Any]]
            XCTAssertTrue(some.allSatisfy { $0["status"] as? String == status })
        }
        let category = all[0]["category"] as! String
        let byCategory = try json(["complaint", "list", "--category", category]) as! [[String: Any]]
        XCTAssertTrue(!byCategory.isEmpty && byCategory.allSatisfy { $0["category"] as? String == category })
        // A date alone is that day on the debtor's clock.
        let local = all[0]["filed_local"] as! String
        let day = String(local.prefix(10))
        let onThatDay = try json(["complaint", "list", "--from", day, "--to", day]) as! [[String: Any]]
        XCTAssertTrue(onThatDay.contains { $0["complaint_id"] as? String == all[0]["complaint_id"] as? String }, "\(day): \(onThatDay)")
        XCTAssertTrue(onThatDay.allSatisfy { ($0["filed_local"] as? String ?? "").hasPrefix(day) })
        XCTAssertEqual(try CLI.run(["complaint", "list", "--status", "pending", "--db", Self.portfolio.db]).exitCode, 2)
        let text = try CLI.run(["complaint", "list", "--db", Self.portfolio.db]).stdout
        XCTAssertTrue(text.hasPrefix("complaint"), text)
        XCTAssertTrue(text.contains("days"), text)
    }

    // MARK: - Honest findings

    func testTheDemoPortfolioHasAtLeast95PercentOfItsContactsJudged() throws {
        let report = try json(["compliance"]) as! [String: Any]
        let summary = report["summary"] as! [String: Any]
        let contacts = summary["contacts"] as! Int
        let judged = summary["contacts_judged"] as! Int
        XCTAssertGreaterThan(contacts, 1000)
        XCTAssertGreaterThanOrEqual(Double(judged) / Double(contacts), 0.95)
        let byRulebook = summary["by_rulebook"] as! [String: Int]
        XCTAssertNotNil(byRulebook["demo-bank-policy-2024"], "the group policy judges every region")
    }

    func testANotJudgedContactIsShownAsSuchAndARulebookAppliedBeforeItsDateIsSaid() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let opened = Events.line(caseID: "OLD", type: "case.opened", occurredAt: "2023-06-01T09:00:00+08:00", actor: "system:intake", data: """
            {"debtor_ref":"D-9","account_ref":"A-9","product":"credit_card","currency":"CNY","principal_minor":1000,"due_date":"2023-05-01","debtor_timezone":"Asia/Shanghai","region":"CN-SH"}
            """)
        let night = Events.line(caseID: "OLD", type: "call.placed", occurredAt: "2023-06-05T22:30:00+08:00", data: #"{"direction":"outbound","party":"debtor","outcome":"no_answer"}"#)
        let complaint = Events.line(caseID: "OLD", type: "complaint.filed", occurredAt: "2023-06-06T10:00:00+08:00", data: #"{"complaint_id":"CP-OLD","channel":"phone","category":"contact_time","description":"called at night"}"#)
        XCTAssertEqual(try append([opened, night, complaint], to: db).exitCode, 0)

        let out = folder.path("pack")
        XCTAssertEqual(try CLI.run(["evidence", "--db", db, "--complaint", "CP-OLD", "--out", out]).exitCode, 0)
        let pack = try JSONSerialization.jsonObject(with: try fileBytes(out + "/evidence.json")) as! [String: Any]
        let contact = (pack["contacts"] as! [[String: Any]])[0]
        XCTAssertEqual(contact["judged"] as? Bool, false)
        XCTAssertEqual(contact["not_judged"] as? String, "not judged: no rulebook in force for CN-SH on 2023-06-05")
        XCTAssertEqual((pack["violations"] as! [Any]).count, 0)
        let html = try String(contentsOfFile: out + "/evidence.html", encoding: .utf8)
        XCTAssertTrue(html.contains("NOT JUDGED") && html.contains("not judged: no rulebook in force for CN-SH on 2023-06-05"))
        XCTAssertTrue(html.contains("No violation can be stated: none of the 1 contacts was judged"), "never a plain 0 violations")
        XCTAssertFalse(html.contains("<span class=\"ok\">no finding</span>"), "an unjudged contact is not shown as fine")

        // The same complaint judged by today's bank policy, given as a what-if.
        let policy = try String(contentsOfFile: TransparencyTests.repository.appendingPathComponent("Schemas/rulebooks/cn-bank-policy-2025.json").path, encoding: .utf8)
        let rules = try folder.write("policy.json", policy)
        let whatIf = folder.path("what-if")
        XCTAssertEqual(try CLI.run(["evidence", "--db", db, "--complaint", "CP-OLD", "--out", whatIf, "--rules", rules]).exitCode, 0)
        let judged = try JSONSerialization.jsonObject(with: try fileBytes(whatIf + "/evidence.json")) as! [String: Any]
        XCTAssertEqual((judged["violations"] as! [[String: Any]]).first?["rule"] as? String, "contact_hours")
        let early = ((judged["rulebook"] as! [String: Any])["applied_before_effective_from"] as! [[String: Any]]).first
        XCTAssertEqual(early?["rulebook"] as? String, "cn-bank-policy-2025")
        XCTAssertTrue(try String(contentsOfFile: whatIf + "/evidence.html", encoding: .utf8).contains("WHAT-IF"))
        let report = try json(["compliance", "--rules", rules], db: db) as! [String: Any]
        let applied = try XCTUnwrap((report["summary"] as! [String: Any])["applied_before_effective_from"] as? [[String: Any]])
        XCTAssertEqual(applied.count, 1)
        XCTAssertEqual(applied.first?["contacts"] as? Int, 1)

        // A replay judged by the same rulebook keeps it: its report, read from its projection
        // (counted in SQL), says the same.
        let replay = folder.path("replay.sqlite")
        let made = try CLI.run(["replay", "--db", db, "--rules", rules, "--out", replay, "--quiet"])
        XCTAssertEqual(made.exitCode, 0, made.stderr)
        let stored = try json(["compliance"], db: replay) as! [String: Any]
        XCTAssertEqual(stored["mode"] as? String, "given")
        let storedApplied = try XCTUnwrap((stored["summary"] as! [String: Any])["applied_before_effective_from"] as? [[String: Any]])
        XCTAssertEqual(storedApplied.map { $0 as NSDictionary }, applied.map { $0 as NSDictionary })
    }

    func testEveryShippedRulebookIsNamedForItsIdAndCitesItsSource() throws {
        let folder = TransparencyTests.repository.appendingPathComponent("Schemas/rulebooks")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        XCTAssertGreaterThanOrEqual(files.count, 10)
        var regions: Set<String> = []
        for file in files {
            let book = try JSONSerialization.jsonObject(with: try fileBytes(folder.appendingPathComponent(file).path)) as! [String: Any]
            XCTAssertEqual(book["id"] as? String, String(file.dropLast(5)), file)
            XCTAssertGreaterThan((book["source"] as? String ?? "").count, 40, file)
            if book["fictional"] as? Bool == true { XCTAssertTrue((book["title"] as? String ?? "").contains("FICTIONAL"), file) }
            regions.insert(book["jurisdiction"] as! String)
        }
        // Every region the generator uses has a rulebook of its own or is covered by the group policy.
        XCTAssertTrue(regions.contains("*"))
        XCTAssertTrue(regions.isSuperset(of: ["CN", "US", "US-MA", "US-CA", "US-IL", "HK"]), "\(regions)")
    }

    // MARK: - Filters

    /// A New York evening on 31 December belongs to "2024-12-31" on the debtor's clock, whatever
    /// the date is in Shanghai.
    func testADateAloneIsThatDayOnTheDebtorsClock() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let opened = Events.line(caseID: "NY", type: "case.opened", occurredAt: "2024-12-01T09:00:00-05:00", actor: "system:intake", data: """
            {"debtor_ref":"D-1","account_ref":"A-1","product":"credit_card","currency":"USD","principal_minor":1000,"due_date":"2024-11-01","debtor_timezone":"America/New_York","region":"US-NY"}
            """)
        let evening = Events.line(caseID: "NY", type: "call.placed", occurredAt: "2024-12-31T21:30:00-05:00", data: #"{"direction":"outbound","party":"debtor","outcome":"no_answer"}"#)
        XCTAssertEqual(try append([opened, evening], to: db).exitCode, 0)

        let through = try json(["compliance", "--to", "2024-12-31"], db: db) as! [String: Any]
        XCTAssertEqual((through["violations"] as! [[String: Any]]).map { $0["rule"] as! String }, ["contact_hours"])
        let instant = try json(["compliance", "--to", "2025-01-01T00:00:00+08:00"], db: db) as! [String: Any]
        XCTAssertEqual((instant["violations"] as! [Any]).count, 0, "the instant is before the evening in New York")
        let from = try json(["compliance", "--from", "2025-01-01"], db: db) as! [String: Any]
        XCTAssertEqual((from["violations"] as! [Any]).count, 0)

        let replay = folder.path("until.sqlite")
        XCTAssertEqual(try CLI.run(["replay", "--db", db, "--until", "2024-12-31", "--out", replay]).exitCode, 0)
        XCTAssertEqual(try log(replay).count, 2, "--until with a date keeps the whole debtor-local day")
        XCTAssertEqual(try CLI.run(["compliance", "--db", db, "--from", "31/12/2024"]).exitCode, 2)
    }

    func testComplianceNarrowsByRegionAndActorAndRanksADiff() throws {
        let all = try json(["compliance"]) as! [String: Any]
        let violations = all["violations"] as! [[String: Any]]
        XCTAssertFalse(violations.isEmpty)
        let actor = violations[0]["actor"] as! String
        let mine = try json(["compliance", "--actor", actor]) as! [String: Any]
        XCTAssertTrue((mine["violations"] as! [[String: Any]]).allSatisfy { $0["actor"] as? String == actor })
        XCTAssertGreaterThan((mine["violations"] as! [Any]).count, 0)
        let us = try json(["compliance", "--region", "US"]) as! [String: Any]
        let usCases = Set((us["violations"] as! [[String: Any]]).map { $0["case_id"] as! String })
        let cases = try json(["case", "list"]) as! [[String: Any]]
        let regionOf = Dictionary(uniqueKeysWithValues: cases.map { ($0["case_id"] as! String, $0["region"] as? String ?? "") })
        XCTAssertTrue(usCases.allSatisfy { regionOf[$0]!.hasPrefix("US-") }, "\(usCases)")
        XCTAssertEqual(try CLI.run(["compliance", "--actor", "zhang.wei", "--db", Self.portfolio.db]).exitCode, 2)

        // A what-if limited to its own jurisdiction, and a diff ranked by impact.
        let folder = try TemporaryFolder()
        let (base, after) = try demoRulebookAndOneCallADay(in: folder)
        let diff = try CLI.run(["compliance", "diff", "--rules", base, "--rules", after, "--region", "CN", "--limit", "3", "--db", Self.portfolio.db])
        XCTAssertEqual(diff.exitCode, 0, diff.stderr)
        let lines = diff.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("demo-bank-policy-2024 → demo-bank-policy-cap1: "), lines[0])
        XCTAssertTrue(diff.stdout.contains("actors most affected:") && diff.stdout.contains("cases most affected:"), diff.stdout)
        let ranked = lines.drop { $0 != "actors most affected:" }.dropFirst().prefix { $0.hasPrefix("  ") && !$0.contains("…") }
        XCTAssertLessThanOrEqual(ranked.count, 3)
        let counts = ranked.compactMap { $0.split(separator: "+").last.flatMap { Int($0.split(separator: " ").first ?? "") } }
        XCTAssertEqual(counts, counts.sorted(by: >), "ranked by impact: \(ranked)")
        let json = try JSONSerialization.jsonObject(with: Data(try CLI.run(["compliance", "diff", "--rules", base, "--rules", after, "--region", "CN", "--json", "--db", Self.portfolio.db]).stdout.utf8)) as! [String: Any]
        let appeared = json["appeared"] as! [[String: Any]]
        XCTAssertTrue(appeared.allSatisfy { $0["limit"] as? String == "max_calls_per_day" }, "keyed by typed limit")
        XCTAssertTrue(appeared.allSatisfy { regionOf[$0["case_id"] as! String]!.hasPrefix("CN-") })
        // The text lists the first three that appear, in the JSON's order, and counts the rest.
        XCTAssertGreaterThan(appeared.count, 3)
        XCTAssertEqual(lines.filter { $0.hasPrefix("+ seq ") }.map { $0.split(separator: " ")[2] }, appeared.prefix(3).map { "\($0["seq"] as! Int)" })
        XCTAssertTrue(lines.contains("+ … \(appeared.count - 3) more (--json lists them all)"), diff.stdout)

        let same = try CLI.run(["compliance", "diff", "--rules", base, "--rules", base, "--db", Self.portfolio.db])
        XCTAssertTrue(same.stderr.contains("warning: both rulebooks have the id demo-bank-policy-2024"), same.stderr)
    }

    /// The diff's lists wait in spills until they are written: what they give back must be what
    /// two what-if reports say, compared contact by contact (the same contact and limit on both
    /// sides is no change), in (case_id, seq, rule) order and, within that, as judged; and the
    /// summary's counts and rankings must be those of the lists.
    func testADiffListsWhatTwoWhatIfReportsDifferBy() throws {
        let folder = try TemporaryFolder()
        let (base, strict) = try demoRulebookAndOneCallADay(in: folder)
        // Stricter still: shorter contact hours too, so one call can break two rules at once.
        var stricter = try JSONSerialization.jsonObject(with: try fileBytes(strict)) as! [String: Any]
        stricter["id"] = "demo-bank-policy-cap1-short-hours"
        stricter["contact_hours"] = ["start": "10:00", "end": "17:00"]
        let strictest = folder.path("cap1-short-hours.json")
        try JSONSerialization.data(withJSONObject: stricter).write(to: URL(fileURLWithPath: strictest))
        let ledger = try Ledger(path: Self.portfolio.db, mode: .read)
        var ties = 0
        for (before, after) in [(base, strictest), (strictest, base), (strict, strictest)] {
            let (was, now) = (try Rulebook.read(path: before), try Rulebook.read(path: after))
            let diff = try ledger.complianceDiff(before: was, after: now)
            let lists = [diff.appeared, diff.disappeared]
            ties += lists.map { list in list.indices.dropFirst().filter { list[$0 - 1].eventID == list[$0].eventID }.count }.reduce(0, +)
            func key(_ v: Violation) -> String { "\(v.eventID) \(v.limit.rawValue)" }
            func changed(_ from: [Violation], _ to: [Violation]) -> [Violation] {
                let kept = Set(from.map(key))
                return to.enumerated().filter { !kept.contains(key($0.element)) }
                    .sorted { ($0.element.caseID, $0.element.seq, $0.element.rule.rawValue, $0.offset) < ($1.element.caseID, $1.element.seq, $1.element.rule.rawValue, $1.offset) }
                    .map(\.element)
            }
            let wasReport = try ledger.compliance(rulebook: was).violations, nowReport = try ledger.compliance(rulebook: now).violations
            XCTAssertEqual(diff.appeared, changed(wasReport, nowReport))
            XCTAssertEqual(diff.disappeared, changed(nowReport, wasReport))
            XCTAssertEqual([diff.beforeCount, diff.afterCount], [wasReport.count, nowReport.count])
            XCTAssertEqual([diff.appearedCount, diff.disappearedCount], [diff.appeared.count, diff.disappeared.count])
            // Listing the first few of each (the text output, the console): those, the counts still whole.
            let firstFew = try ledger.complianceDiff(before: was, after: now, listing: 3) { summary, appeared, disappeared in
                var lists: [[Violation]] = [[], []]
                try appeared { lists[0].append($0) }
                try disappeared { lists[1].append($0) }
                return (summary.appearedCount, summary.disappearedCount, lists)
            }
            XCTAssertEqual(firstFew.2, [Array(diff.appeared.prefix(3)), Array(diff.disappeared.prefix(3))])
            XCTAssertEqual([firstFew.0, firstFew.1], [diff.appearedCount, diff.disappearedCount])
            for (ranking, key) in [(diff.byRule, { (v: Violation) in v.rule.rawValue }), (diff.byActor, { $0.actor }), (diff.byCase, { $0.caseID })] {
                var counts: [String: (Int, Int)] = [:]
                for v in diff.appeared { counts[key(v), default: (0, 0)].0 += 1 }
                for v in diff.disappeared { counts[key(v), default: (0, 0)].1 += 1 }
                let expected = counts.sorted { ($1.value.0 + $1.value.1, $0.key) < ($0.value.0 + $0.value.1, $1.key) }
                XCTAssertEqual(ranking.map { "\($0.key) +\($0.appeared) -\($0.disappeared)" }, expected.map { "\($0.key) +\($0.value.0) -\($0.value.1)" })
            }
        }
        XCTAssertGreaterThan(ties, 0, "a contact that breaks two rules at once, listed in rule order")
    }

    /// `compliance diff --json` writes its report a violation at a time (a large ledger's would not
    /// fit its memory budget as one tree): the bytes must be exactly the canonical form of the whole
    /// report, whichever list holds the violations.
    func testADiffWrittenAPieceAtATimeIsTheCanonicalReport() throws {
        let folder = try TemporaryFolder()
        let (base, strict) = try demoRulebookAndOneCallADay(in: folder)
        let ledger = try Ledger(path: Self.portfolio.db, mode: .read)
        for (before, after) in [(base, strict), (strict, base)] {
            let diff = try ledger.complianceDiff(before: try Rulebook.read(path: before), after: try Rulebook.read(path: after))
            XCTAssertGreaterThan(diff.appeared.count + diff.disappeared.count, 1, "the portfolio breaks a cap of one call a day")
            var streamed: [UInt8] = []
            diff.writeCanonicalJSON { streamed += $0 }
            XCTAssertEqual(String(decoding: streamed, as: UTF8.self), CanonicalJSON.string(diff.json))
            // In the smallest pieces too: a piece after every violation, nothing lost or repeated between them.
            var pieces: [[UInt8]] = []
            diff.writeCanonicalJSON(pieceBytes: 1) { pieces.append($0) }
            XCTAssertEqual(pieces.count, diff.appeared.count + diff.disappeared.count + 1)
            XCTAssertEqual(String(decoding: pieces.joined(), as: UTF8.self), CanonicalJSON.string(diff.json))
            let cli = try CLI.run(["compliance", "diff", "--rules", before, "--rules", after, "--json", "--db", Self.portfolio.db])
            XCTAssertEqual(cli.exitCode, 0, cli.stderr)
            XCTAssertEqual(cli.stdout, CanonicalJSON.string(diff.json) + "\n")
        }
    }

    func testAReportWrittenAsItIsReadIsTheCanonicalReport() throws {
        let folder = try TemporaryFolder()
        let (_, strict) = try demoRulebookAndOneCallADay(in: folder)
        let ledger = try Ledger(path: Self.portfolio.db, mode: .read)
        let firstCase = try XCTUnwrap(try ledger.compliance().violations.first?.caseID)
        let region = try XCTUnwrap(try ledger.caseView(firstCase)["region"]?.stringValue)
        // From the projection (counted in SQL, then read as written), narrowed in SQL, and judged
        // on the fly under a rulebook given.
        let runs: [(rulebook: Rulebook?, filter: ComplianceFilter, flags: [String])] = [
            (nil, ComplianceFilter(), []),
            (nil, ComplianceFilter(region: region), ["--region", region]),
            (try Rulebook.read(path: strict), ComplianceFilter(), ["--rules", strict]),
        ]
        for run in runs {
            let report = try ledger.compliance(rulebook: run.rulebook, filter: run.filter)
            let violations = report.violations
            XCTAssertGreaterThan(violations.count, 1, "\(run.flags)")
            // The counts are those of the list.
            XCTAssertEqual(report.violationCount, violations.count)
            XCTAssertEqual(report.casesWithViolations, Set(violations.map(\.caseID)).count)
            for (ranked, key) in [(report.byRule, { (v: Violation) in v.rule.rawValue }), (report.byRulebook, { $0.rulebook }), (report.byActor, { $0.actor })] {
                XCTAssertEqual(Dictionary(uniqueKeysWithValues: ranked.map { ($0.key, $0.count) }), Dictionary(grouping: violations, by: key).mapValues(\.count))
                XCTAssertEqual(ranked.map(\.count), ranked.map(\.count).sorted(by: >), "largest first")
            }
            // Written a violation at a time (a piece after each), the bytes are the whole report's.
            var pieces: [[UInt8]] = []
            try ledger.compliance(rulebook: run.rulebook, filter: run.filter) { summary, forEachViolation in
                try summary.writeCanonicalJSON(pieceBytes: 1, violations: forEachViolation) { pieces.append($0) }
            }
            XCTAssertEqual(pieces.count, violations.count + 1)
            XCTAssertEqual(String(decoding: pieces.joined(), as: UTF8.self), CanonicalJSON.string(report.json))
            let cli = try CLI.run(["compliance", "--json", "--db", Self.portfolio.db] + run.flags)
            XCTAssertEqual(cli.exitCode, 0, cli.stderr)
            XCTAssertEqual(cli.stdout, CanonicalJSON.string(report.json) + "\n")
        }
    }

    func testTheTextReportCountsAndListsWhatTheJSONReportHolds() throws {
        let report = try json(["compliance"]) as! [String: Any]
        let summary = report["summary"] as! [String: Any]
        let violations = report["violations"] as! [[String: Any]]
        XCTAssertGreaterThan(violations.count, 1)
        let text = try CLI.run(["compliance", "--db", Self.portfolio.db])
        XCTAssertEqual(text.exitCode, 0, text.stderr)
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[1], "\(violations.count) violations in \(summary["cases_with_violations"] as! Int) of \(summary["cases"] as! Int) cases")
        // The counts by rule, as the summary has them, largest first.
        let byRule = try XCTUnwrap(lines.firstIndex(of: "by rule:"))
        let ruleCounts = summary["by_rule"] as! [String: Int]
        let ruleLines = lines[(byRule + 1)...].prefix { !$0.isEmpty }
        XCTAssertEqual(ruleLines.count, ruleCounts.count)
        for line in ruleLines {
            let parts = line.split(separator: " ")
            XCTAssertEqual(ruleCounts[String(parts[0])], Int(parts[1]), line)
        }
        // Every violation, in the JSON's order: seq, case, local time, rule and rulebook.
        let listed = try XCTUnwrap(lines.firstIndex(of: "violations:"))
        let violationLines = Array(lines[(listed + 1)...].prefix { !$0.isEmpty })
        XCTAssertEqual(violationLines.count, violations.count)
        for (line, violation) in zip(violationLines, violations) {
            let parts = line.split(separator: " ").map(String.init)
            XCTAssertEqual(parts[1], String(violation["seq"] as! Int), line)
            XCTAssertEqual(parts[2], violation["case_id"] as? String, line)
            XCTAssertEqual(parts[3], violation["local_time"] as? String, line)
            XCTAssertEqual(parts[4], violation["rule"] as? String, line)
            XCTAssertEqual(parts[5], "[\(violation["rulebook"] as! String)]", line)
        }
    }

    /// The demo bank's rulebook, and a copy of it written into `folder` that allows one call a day.
    func demoRulebookAndOneCallADay(in folder: TemporaryFolder) throws -> (base: String, oneCallADay: String) {
        let base = TransparencyTests.repository.appendingPathComponent("Schemas/rulebooks/demo-bank-policy-2024.json").path
        var stricter = try JSONSerialization.jsonObject(with: try fileBytes(base)) as! [String: Any]
        stricter["id"] = "demo-bank-policy-cap1"
        stricter["max_calls_per_day"] = 1
        let path = folder.path("cap1.json")
        try JSONSerialization.data(withJSONObject: stricter).write(to: URL(fileURLWithPath: path))
        return (base, path)
    }

    // MARK: - The audit trail

    func testTheAuditTableHasAHeaderTheDebtorsTimeAndMarksViolations() throws {
        let report = try json(["compliance"]) as! [String: Any]
        let violation = (report["violations"] as! [[String: Any]])[0]
        let caseID = violation["case_id"] as! String
        let table = try CLI.run(["audit", "--case", caseID, "--db", Self.portfolio.db])
        XCTAssertEqual(table.exitCode, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].contains("seq") && lines[0].contains("debtor-local time") && lines[0].contains("actor"), lines[0])
        let seq = String(violation["seq"] as! Int)
        let line = try XCTUnwrap(lines.first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(seq + " ") })
        XCTAssertTrue(line.contains(violation["local_time"] as! String), line)
        XCTAssertTrue(line.contains(violation["actor"] as! String), "the full kind:id: \(line)")
        XCTAssertTrue(line.contains("[VIOLATION: \(violation["rule"]!) [\(violation["rulebook"]!)]"), line)
        let entries = try json(["audit", "--case", caseID]) as! [[String: Any]]
        XCTAssertTrue(entries.contains { ($0["violations"] as? [Any])?.isEmpty == false })
        XCTAssertTrue(entries.allSatisfy { $0["local_time"] is String })

        let actor = violation["actor"] as! String
        let id = String(actor.split(separator: ":")[1])
        let bare = try CLI.run(["audit", "--actor", id, "--db", Self.portfolio.db])
        XCTAssertEqual(bare.exitCode, 1)
        XCTAssertTrue(bare.stderr.contains("matches \(actor)"), bare.stderr)
    }

    func testMoneyHasItsCurrencysDecimalsEverywhere() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let opened = Events.line(caseID: "JP", type: "case.opened", occurredAt: "2024-03-01T09:00:00+09:00", actor: "system:intake", data: """
            {"debtor_ref":"D-1","account_ref":"A-1","product":"credit_card","currency":"JPY","principal_minor":120000,"due_date":"2024-02-01","debtor_timezone":"Asia/Tokyo","region":"JP"}
            """)
        let paid = Events.payment(caseID: "JP", amount: 1000, currency: "JPY", occurredAt: "2024-03-02T10:00:00+09:00")
        let promise = Events.line(caseID: "JP", type: "promise.made", occurredAt: "2024-03-03T10:00:00+09:00", data: #"{"amount_minor":5000,"promised_date":"2024-03-10"}"#)
        XCTAssertEqual(try append([opened, paid, promise], to: db).exitCode, 0)
        let show = try CLI.run(["case", "show", "JP", "--db", db]).stdout
        XCTAssertTrue(show.contains("principal 120,000 JPY") && show.contains("paid 1,000 JPY") && show.contains("balance 119,000 JPY"), show)
        let audit = try CLI.run(["audit", "--case", "JP", "--db", db]).stdout
        XCTAssertTrue(audit.contains("1,000 JPY") && audit.contains("5,000 JPY"), audit)
        XCTAssertFalse(audit.contains("10.00 JPY"), audit)
    }

    // MARK: - Files and snapshots

    /// Killed at random moments while rewriting its pack, `evidence` leaves the old pack or the new
    /// one, whole, never half of either.
    func testAnEvidencePackSurvivesInterruptedRewrites() throws {
        let folder = try TemporaryFolder()
        let complaint = (try json(["complaint", "list"]) as! [[String: Any]])[0]
        let out = folder.path("pack")
        let arguments = ["evidence", "--db", Self.portfolio.db, "--complaint", complaint["complaint_id"] as! String, "--case", complaint["case_id"] as! String, "--out", out]
        XCTAssertEqual(try CLI.run(arguments).exitCode, 0)
        var random = SystemRandomNumberGenerator()
        for round in 0..<8 {
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 5_000...120_000, using: &random))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            for name in ["evidence.json", "evidence.html"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + name), "round \(round): \(name) is gone")
            }
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: try fileBytes(out + "/evidence.json")), "round \(round)")
            XCTAssertTrue(try String(contentsOfFile: out + "/evidence.html", encoding: .utf8).hasSuffix("</html>\n"), "round \(round)")
        }
        XCTAssertEqual(try CLI.run(arguments).exitCode, 0, "a run after the kills writes the pack again")
    }

    /// verify and replay each read one snapshot: an append running meanwhile cannot make the chain
    /// and the projections, or the replay's record and its events, disagree.
    func testReplayAndVerifyReadOneSnapshotWhileAnotherProcessAppends() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        XCTAssertEqual(try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "8"]).exitCode, 0)
        let batches = try (0..<30).map { n in
            try folder.write("b\(n).ndjson", ([Events.opened(caseID: "LIVE-\(n)")] + (0..<40).map { _ in Events.call(caseID: "LIVE-\(n)") }).joined(separator: "\n") + "\n")
        }
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", batches.map { "'\(CLI.binary.path)' append --db '\(db)' '\($0)' >/dev/null" }.joined(separator: " && ")]
        try writer.run()
        var rounds = 0
        while writer.isRunning || rounds < 2 {
            let verify = try CLI.run(["verify", "--db", db])
            XCTAssertEqual(verify.exitCode, 0, "round \(rounds): \(verify.stderr)")
            let out = folder.path("r\(rounds).sqlite")
            let replay = try CLI.run(["replay", "--db", db, "--out", out, "--json"])
            XCTAssertEqual(replay.exitCode, 0, replay.stderr)
            XCTAssertEqual(try CLI.run(["verify", "--db", out]).exitCode, 0, "round \(rounds)")
            let info = try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as! [String: Any]
            XCTAssertEqual(info["source_head_seq"] as? Int, (info["last_kept"] as? [String: Any])?["seq"] as? Int, "round \(rounds)")
            rounds += 1
        }
        writer.waitUntilExit()
        XCTAssertEqual(writer.terminationStatus, 0)
    }

    // MARK: - Demo data and the command line

    func testGeneratedEventsAreRecordedMinutesToDaysAfterTheyHappened() throws {
        var delays: [Double] = []
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        for event in try log() {
            let occurred = plain.date(from: event["occurred_at"] as! String)!
            let recorded = formatter.date(from: event["recorded_at"] as! String)!
            delays.append(recorded.timeIntervalSince(occurred))
        }
        XCTAssertTrue(delays.allSatisfy { $0 >= 0 }, "nothing is recorded before it happened")
        let sorted = delays.sorted()
        XCTAssertGreaterThan(sorted[sorted.count / 2], 60, "the median is minutes, not zero")
        XCTAssertLessThan(sorted[sorted.count / 2], 6 * 3600)
        XCTAssertGreaterThan(delays.filter { $0 > 86_400 }.count, 0, "a few arrive days late")
    }

    func testComplaintTextsMatchTheirCategory() throws {
        for filing in try log().filter({ $0["type"] as? String == "complaint.filed" }) {
            let data = filing["data"] as! [String: Any]
            let text = (data["description"] as! String).lowercased()
            switch data["category"] as! String {
            case "contact_time": XCTAssertTrue(text.contains("9 pm") || text.contains("十点"), text)
            case "contact_frequency": XCTAssertTrue(text.contains("many calls") || text.contains("频繁"), text)
            case "privacy_disclosure": XCTAssertTrue(text.contains("employer") || text.contains("同事"), text)
            case "wrong_amount": XCTAssertTrue(text.contains("amount") || text.contains("金额"), text)
            default: break
            }
        }
    }

    func testVersionIsPrinted() throws {
        let result = try CLI.run(["--version"])
        XCTAssertEqual(result.exitCode, 0)
        XCTAssertTrue(result.stdout.hasPrefix("caseledger "), result.stdout)
    }
}
