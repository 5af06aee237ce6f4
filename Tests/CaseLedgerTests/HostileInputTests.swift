import Foundation
import GRDB
import XCTest

/// What a fuzzer and a careless producer found: no single accepted event may break reads for the
/// whole ledger, every bad value is refused with what and where, and a slow producer holds no lock.
/// Everything goes through the real binary.
final class HostileInputTests: XCTestCase {
    static let largest = 9_007_199_254_740_991

    func testPaymentsThatWouldPassTheLargestAmountAreRefusedAndEveryReadStillWorks() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let opened = try append([Events.opened(caseID: "BIG")], to: db)
        XCTAssertEqual(opened.exitCode, 0, opened.stderr)
        let first = try append([Events.payment(caseID: "BIG", amount: Self.largest)], to: db)
        XCTAssertEqual(first.exitCode, 0, first.stderr)

        // The second payment would take the paid total past 2^53 − 1: refused, naming line and field.
        let second = try append([Events.note(caseID: "BIG"), Events.payment(caseID: "BIG", amount: Self.largest)], to: db)
        XCTAssertEqual(second.exitCode, 1)
        XCTAssertTrue(second.stderr.contains("line 2: data.amount_minor:"), second.stderr)
        XCTAssertTrue(second.stderr.contains("\(Self.largest)"), second.stderr)
        XCTAssertEqual(try eventCount(db), 2, "a rejected batch writes nothing")

        let show = try CLI.run(["case", "show", "BIG", "--db", db, "--json"])
        XCTAssertEqual(show.exitCode, 0, show.stderr)
        let view = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(view["paid_minor"] as? Int, Self.largest)
        XCTAssertEqual(view["balance_minor"] as? Int, 1_000_000 - Self.largest)
        for arguments in [["case", "list"], ["audit", "--case", "BIG"], ["compliance"], ["verify"], ["timings", "--samples", "5"]] {
            let result = try CLI.run(arguments + ["--db", db])
            XCTAssertEqual(result.exitCode, 0, "\(arguments): \(result.stderr)")
        }
    }

    func testPrincipalPlusFeesBeyondTheLargestAmountIsRefusedAtTheOpening() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let line = Events.line(caseID: "BIG", type: "case.opened", occurredAt: "2024-03-01T09:00:00+08:00", actor: "system:intake", data: """
            {"debtor_ref":"D-1","account_ref":"A-1","product":"credit_card","currency":"CNY","principal_minor":\(Self.largest),"fees_minor":1,"due_date":"2024-01-31","debtor_timezone":"Asia/Shanghai"}
            """)
        let result = try append([line], to: db)
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("line 1: data.fees_minor: principal_minor + fees_minor"), result.stderr)
    }

    func testEveryDateFieldRefusesADayOutsideTheLedgersRange() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        XCTAssertEqual(try append([Events.opened()], to: db).exitCode, 0)
        let cases: [(String, String, String)] = [
            ("occurred_at", "0001-01-01T00:00:00Z", Events.line(type: "note.recorded", occurredAt: "0001-01-01T00:00:00Z", data: #"{"text":"x"}"#)),
            // Half a second before the first day: a fraction before 1970 rounds down, not up into 1900.
            ("occurred_at", "1899-12-31T23:59:59.5Z", Events.line(type: "note.recorded", occurredAt: "1899-12-31T23:59:59.5Z", data: #"{"text":"x"}"#)),
            ("data.due_date", "1899-12-31", Events.line(caseID: "C-2", type: "case.opened", actor: "system:intake", data: """
                {"debtor_ref":"D","account_ref":"A","product":"credit_card","currency":"CNY","principal_minor":1,"due_date":"1899-12-31","debtor_timezone":"Asia/Shanghai"}
                """)),
            ("data.scheduled_for", "2201-01-01T09:00:00+08:00", Events.line(type: "visit.booked", data: #"{"visit_id":"V1","scheduled_for":"2201-01-01T09:00:00+08:00","location":"home","booked_via":"call"}"#)),
            ("data.until", "1899-01-01T00:00:00Z", Events.line(type: "contact.restricted", data: #"{"restriction_id":"R1","kind":"no_calls","reason":"asked","until":"1899-01-01T00:00:00Z"}"#)),
            ("data.promised_date", "2300-01-01", Events.line(type: "promise.made", data: #"{"amount_minor":5,"promised_date":"2300-01-01"}"#)),
            ("data.installments[1].due_date", "2201-02-01", Events.line(type: "plan.offered", data: #"{"plan_id":"P1","kind":"installments","total_minor":10,"installments":[{"due_date":"2200-12-01","amount_minor":5},{"due_date":"2201-02-01","amount_minor":5}]}"#)),
            ("data.period_from", "1066-10-14", Events.line(type: "complaint.filed", data: #"{"complaint_id":"CP","channel":"phone","category":"other","description":"x","period_from":"1066-10-14","period_to":"2024-03-01"}"#)),
        ]
        for (field, value, line) in cases {
            let result = try append([line], to: db)
            XCTAssertEqual(result.exitCode, 1, field)
            XCTAssertTrue(result.stderr.contains("line 1: \(field): \"\(value)\" is outside the ledger's range of dates, 1900-01-01 to 2200-12-31"), "\(field): \(result.stderr)")
        }
        XCTAssertEqual(try eventCount(db), 1)
    }

    /// The edges of every accepted range go through append, the fold, storage, reads and a rebuild.
    func testTheExtremesOfEveryRangeRoundTrip() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let clock = ["CASELEDGER_CLOCK": "2200-12-31T23:59:59Z"]
        var lines = [Events.line(caseID: "EDGE", type: "case.opened", occurredAt: "1900-01-01T00:00:00-12:00", actor: "system:intake", data: """
            {"debtor_ref":"D","account_ref":"A","product":"mortgage","currency":"JPY","principal_minor":\(Self.largest - 1),"fees_minor":1,"due_date":"1900-01-01","debtor_timezone":"Pacific/Kiritimati","region":"JP"}
            """)]
        lines.append(Events.line(caseID: "EDGE", type: "visit.booked", occurredAt: "1900-01-02T00:00:00Z", data: #"{"visit_id":"V","scheduled_for":"2200-12-31T23:59:59.999999+14:00","location":"home","booked_via":"call"}"#))
        lines.append(Events.line(caseID: "EDGE", type: "contact.restricted", occurredAt: "2000-01-01T00:00:00Z", data: #"{"restriction_id":"R","kind":"no_calls","reason":"由于\u202Ertl","until":"2200-12-31T23:59:59Z"}"#))
        lines.append(Events.line(caseID: "EDGE", type: "plan.offered", occurredAt: "2100-01-01T00:00:00Z", data: #"{"plan_id":"P","kind":"installments","total_minor":\#(Self.largest),"installments":[{"due_date":"1900-01-01","amount_minor":1},{"due_date":"2200-12-31","amount_minor":\#(Self.largest)}]}"#))
        lines.append(Events.line(caseID: "EDGE", type: "plan.accepted", occurredAt: "2100-01-02T00:00:00Z", data: #"{"plan_id":"P"}"#))
        lines.append(Events.line(caseID: "EDGE", type: "promise.made", occurredAt: "2100-01-03T00:00:00Z", data: #"{"amount_minor":\#(Self.largest),"promised_date":"2200-12-31"}"#))
        lines.append(Events.line(caseID: "EDGE", type: "payment.received", occurredAt: "2200-12-31T23:59:59.999999+00:00", actor: "system:payments",
                                 data: #"{"amount_minor":\#(Self.largest),"currency":"JPY","channel":"other","reference":"MAX"}"#))
        lines.append(Events.line(caseID: "EDGE", type: "note.recorded", occurredAt: "2200-12-31T23:59:59Z", data: #"{"text":"😀\u0000\u001f\"\\ \u2028 \uFEFF"}"#))
        let result = try CLI.run(["append", "--db", db], stdin: lines.joined(separator: "\n") + "\n", environment: clock)
        XCTAssertEqual(result.exitCode, 0, result.stderr)

        for arguments in [["case", "show", "EDGE"], ["case", "list"], ["audit", "--case", "EDGE"], ["compliance"], ["verify"], ["rebuild"], ["verify"]] {
            let read = try CLI.run(arguments + ["--db", db], environment: clock)
            XCTAssertEqual(read.exitCode, 0, "\(arguments): \(read.stderr)")
        }
        let view = try JSONSerialization.jsonObject(with: Data(try CLI.run(["case", "show", "EDGE", "--db", db, "--json"]).stdout.utf8)) as! [String: Any]
        XCTAssertEqual(view["opened_at"] as? String, "1900-01-01T00:00:00-12:00")
        XCTAssertEqual(view["paid_minor"] as? Int, Self.largest)
        XCTAssertEqual(view["balance_minor"] as? Int, 0)
    }

    func testALeapSecondGetsItsOwnMessage() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let result = try append([Events.line(type: "case.opened", occurredAt: "2016-12-31T23:59:60Z", data: "{}")], to: db)
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("line 1: occurred_at: \"2016-12-31T23:59:60Z\": leap seconds"), result.stderr)
        let noOffset = try append([Events.line(type: "case.opened", occurredAt: "2016-12-31T23:59:00", data: "{}")], to: db)
        XCTAssertTrue(noOffset.stderr.contains("has no offset"), noOffset.stderr)
    }

    func testAFractionInExpectedVersionNamesTheFieldNotMoney() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let line = Events.opened().replacingOccurrences(of: #""data":"#, with: #""expected_version":0.0,"data":"#)
        let result = try append([line], to: db)
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("line 1: expected_version: invalid JSON at column"), result.stderr)
        XCTAssertTrue(result.stderr.contains("0.0 has a fraction or an exponent"), result.stderr)
        XCTAssertFalse(result.stderr.contains("money is an integer"), result.stderr)

        let nested = try append([Events.payment().replacingOccurrences(of: "50000", with: "500.25")], to: db)
        XCTAssertTrue(nested.stderr.contains("line 1: data.amount_minor: invalid JSON"), nested.stderr)
    }

    func testATenKilobyteCaseIDIsNotEchoedBackWhole() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let huge = String(repeating: "X", count: 10_000)
        let result = try append([Events.opened(caseID: huge)], to: db)
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("line 1: case_id:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("(10000 characters)"), result.stderr)
        XCTAssertLessThan(result.stderr.utf8.count, 400, result.stderr)
    }

    func testAByteOrderMarkIsRefusedWithAWayOut() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let result = try append(["\u{FEFF}" + Events.opened()], to: db)
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("line 1: the text starts with a UTF-8 byte-order mark"), result.stderr)
    }

    func testRulebooksAreCheckedAgainstTheirSchemaCappedAndBOMFree() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        XCTAssertEqual(try append([Events.opened()], to: db).exitCode, 0)
        let valid: [String: Any] = ["id": "what-if-1", "title": "What if", "jurisdiction": "CN", "effective_from": "2024-01-01",
                                    "source": "a test rulebook written for this test", "max_calls_per_day": 2]
        func write(_ name: String, _ object: [String: Any], prefix: String = "") throws -> String {
            let data = try JSONSerialization.data(withJSONObject: object)
            return try folder.write(name, prefix + String(decoding: data, as: UTF8.self))
        }
        XCTAssertEqual(try CLI.run(["compliance", "--db", db, "--rules", try write("ok.json", valid)]).exitCode, 0)

        var traversal = valid
        traversal["id"] = "../../etc/passwd"
        let bad = try CLI.run(["compliance", "--db", db, "--rules", try write("bad.json", traversal)])
        XCTAssertEqual(bad.exitCode, 1)
        XCTAssertTrue(bad.stderr.contains("id: expected text matching"), bad.stderr)

        var long = valid
        long["id"] = String(repeating: "a", count: 100)
        XCTAssertTrue(try CLI.run(["compliance", "--db", db, "--rules", try write("long.json", long)]).stderr.contains("id: expected text matching"))

        var negative = valid
        negative["max_calls_per_day"] = 0
        let zero = try CLI.run(["compliance", "--db", db, "--rules", try write("zero.json", negative)])
        XCTAssertTrue(zero.stderr.contains("max_calls_per_day: expected integer ≥ 1, got 0"), zero.stderr)

        var unknown = valid
        unknown["max_calls_per_hour"] = 1
        XCTAssertTrue(try CLI.run(["compliance", "--db", db, "--rules", try write("unknown.json", unknown)]).stderr.contains("max_calls_per_hour: unknown field"))

        var padded = valid
        padded["notes"] = String(repeating: "n", count: 70_000)
        let big = try CLI.run(["compliance", "--db", db, "--rules", try write("big.json", padded)])
        XCTAssertEqual(big.exitCode, 1)
        XCTAssertTrue(big.stderr.contains("larger than 64 KiB"), big.stderr)

        let bom = try CLI.run(["compliance", "--db", db, "--rules", try write("bom.json", valid, prefix: "\u{FEFF}")])
        XCTAssertEqual(bom.exitCode, 1)
        XCTAssertTrue(bom.stderr.contains("byte-order mark"), bom.stderr)
    }

    func testEvidenceOutMustBeAFolderAndDbMustBeAFile() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let empty = try CLI.run(["evidence", "--db", db, "--complaint", "CP-1", "--out", ""])
        XCTAssertEqual(empty.exitCode, 2)
        XCTAssertTrue(empty.stderr.contains("--out must name a folder"), empty.stderr)

        XCTAssertEqual(try append([Events.opened(), Events.line(type: "complaint.filed", data: #"{"complaint_id":"CP-1","channel":"phone","category":"other","description":"x"}"#)], to: db).exitCode, 0)
        let file = try folder.write("not-a-folder", "x")
        let onto = try CLI.run(["evidence", "--db", db, "--complaint", "CP-1", "--out", file])
        XCTAssertEqual(onto.exitCode, 1)
        XCTAssertTrue(onto.stderr.contains("is a file; give a folder"), onto.stderr)
        XCTAssertFalse(onto.stderr.contains("NSCocoaErrorDomain"), onto.stderr)

        let asFolder = try CLI.run(["case", "list", "--db", folder.url.path])
        XCTAssertEqual(asFolder.exitCode, 1)
        XCTAssertTrue(asFolder.stderr.contains("is a folder; --db names the ledger file itself"), asFolder.stderr)
    }

    func testAnEvidencePackRewrittenThreeTimesStaysWhole() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        XCTAssertEqual(try append([Events.opened(), Events.line(type: "complaint.filed", data: #"{"complaint_id":"CP-1","channel":"phone","category":"other","description":"x"}"#)], to: db).exitCode, 0)
        let out = folder.path("pack")
        for round in 1...3 {
            let result = try CLI.run(["evidence", "--db", db, "--complaint", "CP-1", "--out", out])
            XCTAssertEqual(result.exitCode, 0, "round \(round): \(result.stderr)")
            let names = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
            XCTAssertEqual(names, ["evidence.html", "evidence.json"], "round \(round)")
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: try fileBytes(out + "/evidence.json")))
        }
    }

    /// A stored state that is not one this code wrote (edited by hand) is named, and the others still list.
    func testOneUnreadableCaseDoesNotStopTheOthersFromListing() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        XCTAssertEqual(try append([Events.opened(caseID: "A"), Events.opened(caseID: "B"), Events.opened(caseID: "C")], to: db).exitCode, 0)
        try tamper(db, "UPDATE case_state SET state = '{\"case_id\":\"B\",\"version\":1.5}' WHERE case_id = 'B'")

        let list = try CLI.run(["case", "list", "--db", db])
        XCTAssertEqual(list.exitCode, 1)
        XCTAssertTrue(list.stdout.contains("A\t") && list.stdout.contains("C\t"), list.stdout)
        XCTAssertFalse(list.stdout.contains("B\t"), list.stdout)
        XCTAssertTrue(list.stderr.contains("the stored state of case B is unreadable"), list.stderr)

        let json = try CLI.run(["case", "list", "--db", db, "--json"])
        XCTAssertEqual(json.exitCode, 1)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [Any])?.count, 2)

        let show = try CLI.run(["case", "show", "B", "--db", db])
        XCTAssertEqual(show.exitCode, 1)
        XCTAssertTrue(show.stderr.contains("case B is unreadable"), show.stderr)
        XCTAssertEqual(try CLI.run(["case", "show", "A", "--db", db]).exitCode, 0)
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 4)
    }

    /// A stored state whose record names an event by something that is not a UUID is refused as
    /// unreadable, not shown with another id, and reading it writes nothing.
    func testAStoredStateWithAnEventIDThatIsNotAUUIDIsUnreadable() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        XCTAssertEqual(try append([Events.opened(caseID: "A"), Events.opened(caseID: "B")], to: db).exitCode, 0)
        // The space after the brace sends the state to the JSON parser, as a hand-edited one would.
        try tamper(db, """
            UPDATE case_state SET state = '{ ' || substr(replace(state, substr(state, instr(state, '"event_id":"') + 12, 36), 'payment-1'), 2)
            WHERE case_id = 'B'
            """)
        let edited = try DatabaseQueue(path: db).read { try String.fetchOne($0, sql: "SELECT state FROM case_state WHERE case_id = 'B'") }
        XCTAssertTrue(edited?.contains(#""event_id":"payment-1""#) == true, edited ?? "")
        let before = try fileBytes(db)

        let show = try CLI.run(["case", "show", "B", "--db", db, "--json"])
        XCTAssertEqual(show.exitCode, 1, show.stdout)
        XCTAssertTrue(show.stderr.contains("the stored state of case B is unreadable"), show.stderr)
        XCTAssertEqual(show.stdout, "")
        XCTAssertEqual(try CLI.run(["case", "show", "A", "--db", db]).exitCode, 0)
        XCTAssertEqual(try fileBytes(db), before, "reading wrote nothing")
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 4)
    }

    // MARK: - Producers and the write lock

    /// A producer that has not sent anything yet holds no lock: one started later commits first.
    func testASlowProducerHoldsNoLockWhileItHasNothingToSay() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let slow = try folder.write("slow.ndjson", [Events.opened(caseID: "SLOW")].joined(separator: "\n") + "\n")
        let fast = try folder.write("fast.ndjson", [Events.opened(caseID: "FAST")].joined(separator: "\n") + "\n")
        let slowRun = try shell("(sleep 3; cat '\(slow)') | '\(CLI.binary.path)' append --db '\(db)'")
        usleep(500_000)
        let fastResult = try CLI.run(["append", "--db", db, fast])
        XCTAssertEqual(fastResult.exitCode, 0, fastResult.stderr)
        slowRun.waitUntilExit()
        XCTAssertEqual(slowRun.terminationStatus, 0)
        let log = try CLI.run(["log", "--db", db, "--json"]).stdout.split(separator: "\n")
        XCTAssertEqual(log.count, 2)
        XCTAssertTrue(log[0].contains("\"FAST\""), "the later, ready producer must not wait for the slow one: \(log)")
    }

    func testFourSlowAndFourFastProducersAllSucceed() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        var processes: [Process] = []
        for n in 0..<8 {
            let lines = [Events.opened(caseID: "P\(n)")] + (0..<200).map { _ in Events.call(caseID: "P\(n)") }
            let file = try folder.write("p\(n).ndjson", lines.joined(separator: "\n") + "\n")
            let command = n % 2 == 0 ? "(sleep 2; cat '\(file)')" : "cat '\(file)'"
            processes.append(try shell("\(command) | '\(CLI.binary.path)' append --db '\(db)'"))
        }
        for process in processes { process.waitUntilExit() }
        XCTAssertEqual(processes.map(\.terminationStatus), Array(repeating: 0, count: 8))
        XCTAssertEqual(try eventCount(db), 8 * 201)
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 0)
    }

    /// When the lock wait does run out, the message says who holds the ledger and how long it waited.
    func testALockWaitThatRunsOutSaysWhyAndWritesNothing() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let holder = try shell("(echo 'BEGIN IMMEDIATE;'; sleep 4; echo 'ROLLBACK;') | sqlite3 '\(db)'")
        usleep(800_000)
        let result = try CLI.run(["append", "--db", db], stdin: Events.opened() + "\n", environment: ["CASELEDGER_LOCK_WAIT": "1"])
        holder.waitUntilExit()
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("holds") && result.stderr.contains("write lock") && result.stderr.contains("waited 1 s"), result.stderr)
        XCTAssertEqual(try eventCount(db), 0)
    }

    // MARK: - Helpers

    func eventCount(_ db: String) throws -> Int {
        try CLI.run(["log", "--db", db, "--json"]).stdout.split(separator: "\n").count
    }

    /// Starts `command` under /bin/sh, its output discarded.
    func shell(_ command: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}
