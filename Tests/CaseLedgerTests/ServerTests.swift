import Foundation
import XCTest

/// `caseledger serve` (the README's Operating section) through a real server process on a
/// loopback port: every endpoint, role and status; regulators' scopes; the access log; group
/// commit; the change feed; the pre-contact check against compliance; shutdown and crashes.
final class ServerTests: XCTestCase {
    // MARK: - A ledger with two regions

    struct Tokens {
        let writer, reader, auditor, regulatorUS, admin: String
    }

    func tokens(_ db: String) throws -> Tokens {
        Tokens(writer: try token(db, role: "writer", name: "w"), reader: try token(db, role: "reader", name: "r"),
               auditor: try token(db, role: "auditor", name: "a"),
               regulatorUS: try token(db, role: "regulator", name: "reg-us", ["--scope", "region:US"]),
               admin: try token(db, role: "admin", name: "adm"))
    }

    func eventIDs(in db: String) throws -> [String] {
        let log = try CLI.run(["log", "--db", db, "--json"])
        XCTAssertEqual(log.exitCode, 0, log.stderr)
        return log.stdout.split(separator: "\n").map { line in
            (try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["event_id"] as! String
        }
    }

    // MARK: - Endpoints, roles and statuses

    func testEveryEndpointAnswersEachRoleWithTheRightStatus() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let t = try tokens(db)
        XCTAssertEqual(try CLI.run(["key", "generate", "--name", "ledger.test/log", "--out", folder.path("log.key")]).exitCode, 0)
        let server = try ServerProcess(db: db, folder: folder)
        let u = server.base

        // No token: only liveness and metrics.
        XCTAssertEqual(try HTTP.get("\(u)/healthz").status, 200)
        let metrics = try HTTP.get("\(u)/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.text.contains("caseledger_appended_events_total"), metrics.text)
        let anonymous = try HTTP.get("\(u)/v1/cases/C-CN")
        XCTAssertEqual(anonymous.status, 401)
        XCTAssertEqual(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer"), true)
        XCTAssertEqual(try HTTP.get("\(u)/v1/cases/C-CN", token: "clt_not-a-token").status, 401)
        XCTAssertEqual(try HTTP.send("GET", "\(u)/v1/cases/C-CN", headers: ["Authorization": "Basic abc"]).status, 401)

        // Reads: reader and auditor everything, writer and admin 403, the regulator its region only.
        for path in ["/v1/cases/C-CN", "/v1/cases", "/v1/audit?case=C-CN", "/v1/audit?actor=collector:both", "/v1/compliance?case=C-CN",
                     "/v1/cases/C-CN/contact-check?channel=call", "/v1/complaints", "/v1/complaints/CP-CN/evidence", "/v1/events?after=0"] {
            XCTAssertEqual(try HTTP.get(u + path, token: t.reader).status, 200, path)
            XCTAssertEqual(try HTTP.get(u + path, token: t.auditor).status, 200, path)
            XCTAssertEqual(try HTTP.get(u + path, token: t.writer).status, 403, path)
            XCTAssertEqual(try HTTP.get(u + path, token: t.admin).status, 403, path)
        }
        let show = try HTTP.get("\(u)/v1/cases/C-CN", token: t.reader)
        XCTAssertEqual(try show.object()["region"] as? String, "CN-SH")
        XCTAssertEqual(show.text, try CLI.run(["case", "show", "--db", db, "C-CN", "--json"]).stdout, "the same JSON as case show --json")
        XCTAssertEqual(try HTTP.get("\(u)/v1/cases/C-NONE", token: t.reader).status, 404)
        XCTAssertEqual(try HTTP.get("\(u)/v1/cases?status=bogus", token: t.reader).status, 400)
        XCTAssertEqual(try HTTP.get("\(u)/v1/audit", token: t.reader).status, 400, "audit needs case or actor")
        XCTAssertEqual(try HTTP.get("\(u)/v1/events?after=-1", token: t.reader).status, 400)
        XCTAssertEqual(try HTTP.get("\(u)/v1/cases/C-CN/contact-check", token: t.reader).status, 400, "channel is required")
        let html = try HTTP.get("\(u)/v1/complaints/CP-CN/evidence", token: t.reader, headers: ["Accept": "text/html"])
        XCTAssertEqual(html.status, 200)
        XCTAssertTrue(html.header("Content-Type")?.hasPrefix("text/html") == true && html.text.contains("CP-CN"))

        // Checkpoints and proofs: 404 before any checkpoint, then the note and the case proof.
        XCTAssertEqual(try HTTP.get("\(u)/v1/checkpoints/latest", token: t.auditor).status, 404)
        XCTAssertEqual(try CLI.run(["checkpoint", "sign", "--db", db, "--key", folder.path("log.key")]).exitCode, 0)
        let note = try HTTP.get("\(u)/v1/checkpoints/latest", token: t.auditor)
        XCTAssertEqual(note.status, 200)
        XCTAssertTrue(note.text.hasPrefix("ledger.test/log\n6\n"), note.text)
        let proof = try HTTP.get("\(u)/v1/proofs/case/C-CN", token: t.reader)
        XCTAssertEqual(proof.status, 200)
        XCTAssertEqual((try proof.object()["events"] as? [Any])?.count, 3)

        // Auditor only: verify and the access log.
        let verify = try HTTP.get("\(u)/v1/verify", token: t.auditor)
        XCTAssertEqual(try verify.object()["ok"] as? Bool, true, verify.text)
        XCTAssertEqual(try HTTP.get("\(u)/v1/access-log", token: t.auditor).status, 200)
        for token in [t.reader, t.writer, t.admin] {
            XCTAssertEqual(try HTTP.get("\(u)/v1/access-log", token: token).status, 403)
            XCTAssertEqual(try HTTP.get("\(u)/v1/verify", token: token).status, 403)
        }
        XCTAssertEqual(try HTTP.get("\(u)/v1/access-log", token: t.regulatorUS).status, 404, "to a regulator, what it may not use does not exist")

        // Appends: the writer only; the regulator gets 404, the others 403.
        let note1 = TwoRegions.note("C-US", text: "from the server")
        let appended = try HTTP.post("\(u)/v1/events", token: t.writer, note1)
        XCTAssertEqual(appended.status, 200, appended.text)
        XCTAssertEqual(try appended.object()["appended"] as? Int, 1)
        XCTAssertEqual(try appended.object()["head_seq"] as? Int, 7)
        XCTAssertEqual(try HTTP.post("\(u)/v1/events", token: t.writer, note1).status, 200, "a repeat is a no-op")
        XCTAssertEqual(try HTTP.post("\(u)/v1/events", token: t.reader, note1).status, 403)
        XCTAssertEqual(try HTTP.post("\(u)/v1/events", token: t.auditor, note1).status, 403)
        XCTAssertEqual(try HTTP.post("\(u)/v1/events", token: t.regulatorUS, note1).status, 404)

        // 422 names the line and field; 409 is a stale expected_version; neither writes anything.
        let bad = try HTTP.post("\(u)/v1/events", token: t.writer, TwoRegions.note("C-US") + "\n" + #"{"event_id":"x"}"#)
        XCTAssertEqual(bad.status, 422)
        let error = try bad.object()["error"] as! [String: Any]
        XCTAssertEqual(error["line"] as? Int, 2)
        XCTAssertEqual(error["field"] as? String, "event_id")
        XCTAssertNotNil(error["reason"] as? String)
        let stale = try HTTP.post("\(u)/v1/events", token: t.writer,
                                  Events.line(caseID: "C-US", type: "note.recorded", occurredAt: "2024-06-05T10:00:00Z", expectedVersion: 1,
                                              data: #"{"text":"stale"}"#) + "\n" + TwoRegions.note("C-US"))
        XCTAssertEqual(stale.status, 409, stale.text)
        XCTAssertEqual((try stale.object()["error"] as! [String: Any])["actual_version"] as? Int, 4)
        XCTAssertEqual(try eventIDs(in: db).count, 7, "rejected batches write nothing")

        // Unknown paths 404, wrong methods 405 with Allow.
        XCTAssertEqual(try HTTP.get("\(u)/v2/cases", token: t.reader).status, 404)
        let wrong = try HTTP.send("DELETE", "\(u)/v1/cases/C-CN", token: t.reader)
        XCTAssertEqual(wrong.status, 405)
        XCTAssertEqual(wrong.header("Allow"), "GET")
        XCTAssertEqual(try HTTP.send("PUT", "\(u)/v1/events", token: t.writer, body: "").header("Allow"), "POST, GET")

        // Tokens through the API (admin); a revoked token stops working within a second or so.
        let created = try HTTP.send("POST", "\(u)/v1/tokens", token: t.admin, body: #"{"name":"r2","role":"reader"}"#,
                                    headers: ["Content-Type": "application/json"])
        XCTAssertEqual(created.status, 201, created.text)
        let r2 = try created.object()["token"] as! String
        XCTAssertEqual(try HTTP.get("\(u)/v1/cases/C-US", token: r2).status, 200)
        XCTAssertEqual(try HTTP.get("\(u)/v1/tokens", token: t.reader).status, 403)
        XCTAssertEqual(try HTTP.get("\(u)/v1/tokens", token: t.admin).array().count, 6)
        for (body, status) in [(#"{"name":"r2","role":"reader"}"#, 409), (#"{"name":"x1","role":"reader","extra":1}"#, 422),
                               (#"{"name":"x2","role":"writer","actor_prefix":false}"#, 422), (#"{"name":"x3","role":"regulator","scopes":"region:US"}"#, 422),
                               (#"{"name":"x4","role":"regulator"}"#, 422), (#"["x5"]"#, 422), ("not json", 422)] {
            let reply = try HTTP.send("POST", "\(u)/v1/tokens", token: t.admin, body: body, headers: ["Content-Type": "application/json"])
            XCTAssertEqual(reply.status, status, "\(body): \(reply.text)")
        }
        XCTAssertEqual(try HTTP.send("POST", "\(u)/v1/tokens", token: t.admin, body: #"{"name":"a@b","role":"reader"}"#,
                                     headers: ["Content-Type": "application/json"]).status, 201)
        XCTAssertEqual(try HTTP.send("DELETE", "\(u)/v1/tokens/a%40b", token: t.admin).status, 200, "path parameters are percent-decoded")
        XCTAssertEqual(try HTTP.get("\(u)/v1/cases/C%2DUS", token: t.auditor).status, 200)
        XCTAssertEqual(try HTTP.get("\(u)/v1/events?after=9223372036854775807", token: t.auditor).status, 400, "no overflow past the last seq")
        XCTAssertEqual(try HTTP.get("\(u)/v1/events?after=9223372036854775806", token: t.auditor).text, "")
        XCTAssertEqual(try HTTP.send("DELETE", "\(u)/v1/tokens/r2", token: t.admin).status, 200)
        XCTAssertEqual(try HTTP.send("DELETE", "\(u)/v1/tokens/r2", token: t.admin).status, 404)
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(try HTTP.get("\(u)/v1/cases/C-US", token: r2).status, 401)
        XCTAssertEqual(try CLI.run(["token", "revoke", "--db", db, "r"]).exitCode, 0)
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(try HTTP.get("\(u)/v1/cases/C-US", token: t.reader).status, 401, "revoked from the CLI while serving")

        XCTAssertEqual(server.stop(), 0, server.log)
    }

    func testAWriterWithAnActorPrefixAppendsOnlyAsThoseActors() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let dialer = try token(db, role: "writer", name: "dialer", ["--actor-prefix", "system:dialer-"])
        let server = try ServerProcess(db: db, folder: folder)
        let mine = Events.line(caseID: "C-CN", type: "note.recorded", occurredAt: "2024-06-05T10:00:00Z", actor: "system:dialer-7", data: #"{"text":"mine"}"#)
        XCTAssertEqual(try HTTP.post("\(server.base)/v1/events", token: dialer, mine).status, 200)
        let mixed = try HTTP.post("\(server.base)/v1/events", token: dialer,
                                  Events.line(caseID: "C-CN", type: "note.recorded", occurredAt: "2024-06-05T10:00:00Z", actor: "system:dialer-7",
                                              data: #"{"text":"ok"}"#) + "\n"
                                      + Events.line(caseID: "C-CN", type: "note.recorded", occurredAt: "2024-06-05T10:00:00Z", actor: "collector:zhang.wei",
                                                    data: #"{"text":"not mine"}"#))
        XCTAssertEqual(mixed.status, 403)
        XCTAssertEqual((try mixed.object()["error"] as! [String: Any])["line"] as? Int, 2)
        XCTAssertTrue(mixed.message.contains("Nothing was written"), mixed.message)
        XCTAssertEqual(try eventIDs(in: db).count, 7, "the first line of the refused batch is not written either")
        XCTAssertEqual(try CLI.run(["token", "create", "--db", db, "--role", "reader", "--name", "x", "--actor-prefix", "a:"]).exitCode, 1,
                       "only a writer takes a prefix")
        XCTAssertEqual(try CLI.run(["token", "create", "--db", db, "--role", "regulator", "--name", "y"]).exitCode, 1,
                       "a regulator needs a scope")
        XCTAssertEqual(server.stop(), 0)
    }

    // MARK: - Regulators

    func testARegulatorNeverSeesAnotherRegionsCase() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let us = try token(db, role: "regulator", name: "reg-us", ["--scope", "region:US"])
        let one = try token(db, role: "regulator", name: "reg-case", ["--scope", "case:C-CN"])
        XCTAssertEqual(try CLI.run(["key", "generate", "--name", "ledger.test/log", "--out", folder.path("log.key")]).exitCode, 0)
        XCTAssertEqual(try CLI.run(["checkpoint", "sign", "--db", db, "--key", folder.path("log.key")]).exitCode, 0)
        let server = try ServerProcess(db: db, folder: folder)
        let u = server.base

        func ids(_ reply: HTTPReply, key: String = "case_id") throws -> Set<String> {
            Set(try reply.array().compactMap { $0[key] as? String })
        }
        XCTAssertEqual(try ids(HTTP.get("\(u)/v1/cases", token: us)), ["C-US"])
        XCTAssertEqual(try ids(HTTP.get("\(u)/v1/cases", token: one)), ["C-CN"])
        XCTAssertEqual(try ids(HTTP.get("\(u)/v1/audit?actor=collector:both", token: us)), ["C-US"], "an actor's trail across cases, scoped")
        XCTAssertEqual(try ids(HTTP.get("\(u)/v1/complaints", token: us)), ["C-US"])
        let feed = try HTTP.get("\(u)/v1/events?after=0", token: us).text.split(separator: "\n")
        XCTAssertEqual(feed.count, 3)
        XCTAssertTrue(feed.allSatisfy { $0.contains(#""case_id":"C-US""#) })
        let compliance = try HTTP.get("\(u)/v1/compliance", token: us).object()
        let violating = Set((compliance["violations"] as! [[String: Any]]).map { $0["case_id"] as! String })
        XCTAssertEqual(violating, ["C-US"], "the 22:30 New York call, not the 23:30 Shanghai one")
        for path in ["/v1/cases/C-CN", "/v1/audit?case=C-CN", "/v1/compliance?case=C-CN", "/v1/cases/C-CN/contact-check?channel=call",
                     "/v1/complaints/CP-CN/evidence", "/v1/proofs/case/C-CN"] {
            let reply = try HTTP.get(u + path, token: us)
            XCTAssertEqual(reply.status, 404, path)
            XCTAssertFalse(reply.text.contains("CN-SH"), path)
        }
        for path in ["/v1/cases/C-US", "/v1/audit?case=C-US", "/v1/complaints/CP-US/evidence", "/v1/proofs/case/C-US"] {
            XCTAssertEqual(try HTTP.get(u + path, token: us).status, 200, path)
        }
        XCTAssertEqual(try HTTP.get("\(u)/v1/cases/C-US", token: one).status, 404)
        XCTAssertEqual(server.stop(), 0)
    }

    // MARK: - The access log

    func testTheAccessLogRecordsEachReadWithTheCasesReturned() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let reader = try token(db, role: "reader", name: "investigator")
        let us = try token(db, role: "regulator", name: "reg-us", ["--scope", "region:US"])
        let auditor = try token(db, role: "auditor", name: "audit")
        let server = try ServerProcess(db: db, folder: folder)
        let u = server.base
        _ = try HTTP.get("\(u)/v1/cases/C-CN", token: reader)
        _ = try HTTP.get("\(u)/v1/audit?actor=collector:both", token: reader)
        _ = try HTTP.get("\(u)/v1/cases/C-CN", token: us)
        _ = try HTTP.get("\(u)/v1/cases", token: us)
        Thread.sleep(forTimeInterval: 0.5)  // entries ride the next group commit
        let entries = try HTTP.get("\(u)/v1/access-log", token: auditor).array()
        let reads = entries.filter { $0["method"] as? String == "GET" }
        XCTAssertEqual(reads.count, 4, "\(entries)")
        XCTAssertEqual(reads[0]["token"] as? String, "investigator")
        XCTAssertEqual(reads[0]["role"] as? String, "reader")
        XCTAssertEqual(reads[0]["path"] as? String, "/v1/cases/C-CN")
        XCTAssertEqual(reads[0]["case_ids"] as? [String], ["C-CN"])
        XCTAssertEqual(reads[0]["status"] as? Int, 200)
        XCTAssertEqual(Set(reads[1]["case_ids"] as! [String]), ["C-CN", "C-US"])
        XCTAssertEqual(reads[2]["status"] as? Int, 404, "a refused read is recorded too")
        XCTAssertEqual(reads[2]["case_ids"] as? [String], [])
        XCTAssertEqual(reads[3]["case_ids"] as? [String], ["C-US"])
        // Token management is in the log as well; the CLI reads the same table.
        let tokens = entries.filter { $0["method"] as? String == "TOKEN" }
        XCTAssertEqual(tokens.count, 3)
        XCTAssertTrue((tokens[0]["path"] as? String)?.hasPrefix("create investigator") == true)
        let cli = try CLI.run(["access-log", "--db", db, "--case", "C-CN", "--json"])
        XCTAssertEqual(cli.exitCode, 0, cli.stderr)
        let forCase = try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(forCase.map { $0["path"] as! String }, ["/v1/cases/C-CN", "/v1/audit?actor=collector:both"])
        XCTAssertEqual(try CLI.run(["access-log", "--db", db, "--since", "not a time"]).exitCode, 2)
        XCTAssertEqual(server.stop(), 0)
    }

    func testTheComplianceReportIsTheCLIsByteForByteAndLogsTheCasesItReturns() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("ledger.sqlite")
        let generated = try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "7"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let reader = try token(db, role: "reader", name: "investigator")
        let auditor = try token(db, role: "auditor", name: "audit")
        let server = try ServerProcess(db: db, folder: folder)
        // From the stored projection, and judged on the fly from the log (a window of time).
        for (query, flags) in [("", [String]()), ("?from=2024-03-01", ["--from", "2024-03-01"])] {
            let reply = try HTTP.get("\(server.base)/v1/compliance\(query)", token: reader)
            XCTAssertEqual(reply.status, 200, query)
            let cli = try CLI.run(["compliance", "--db", db, "--json"] + flags)
            XCTAssertEqual(cli.exitCode, 0, cli.stderr)
            XCTAssertEqual(String(decoding: reply.body, as: UTF8.self), cli.stdout, query)
        }
        Thread.sleep(forTimeInterval: 0.5)  // entries ride the next group commit
        let reads = try HTTP.get("\(server.base)/v1/access-log", token: auditor).array().filter { $0["method"] as? String == "GET" }
        XCTAssertEqual(reads.count, 2)
        for (read, flags) in zip(reads, [[String](), ["--from", "2024-03-01"]]) {
            let report = try JSONSerialization.jsonObject(with: Data(try CLI.run(["compliance", "--db", db, "--json"] + flags).stdout.utf8)) as! [String: Any]
            let summary = report["summary"] as! [String: Any]
            var expected = Set((report["violations"] as! [[String: Any]]).map { $0["case_id"] as! String })
            expected.formUnion((report["notices"] as! [[String: Any]]).map { $0["case_id"] as! String })
            expected.formUnion((summary["not_judged_cases"] as! [[String: Any]]).map { $0["case_id"] as! String })
            let logged = read["case_ids"] as! [String]
            XCTAssertFalse(expected.isEmpty)
            XCTAssertEqual(logged.count, Set(logged).count, "each case once")
            XCTAssertEqual(Set(logged), expected, "\(read["path"] ?? "")")
        }
        XCTAssertEqual(server.stop(), 0)
    }

    // MARK: - Group commit

    func testARejectedRequestInAGroupCommitLeavesTheOthersCommitted() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let writer = try token(db, role: "writer", name: "w")
        let server = try ServerProcess(db: db, folder: folder)
        // Forty clients at once: good ones, and some whose expected_version is stale, which is
        // only found inside the commit (the case's version is known only there).
        let outcomes = Outcomes()
        TwoRegions.concurrently(40) { index in
            let stale = index % 5 == 0
            let id = UUID().uuidString.lowercased()
            let line = Events.line(id: id, caseID: index % 2 == 0 ? "C-CN" : "C-US", type: "note.recorded", occurredAt: "2024-06-05T10:00:00Z",
                                   expectedVersion: stale ? 1 : nil, data: #"{"text":"client \#(index)"}"#)
            let status = (try? HTTP.post("\(server.base)/v1/events", token: writer, line).status) ?? -1
            outcomes.add(id: id, stale: stale, status: status)
        }
        let results = outcomes.all
        XCTAssertEqual(results.filter { $0.stale }.map(\.status), Array(repeating: 409, count: 8))
        XCTAssertEqual(results.filter { !$0.stale }.map(\.status), Array(repeating: 200, count: 32))
        let stored = Set(try eventIDs(in: db))
        XCTAssertEqual(stored.count, 6 + 32)
        for result in results { XCTAssertEqual(stored.contains(result.id), !result.stale) }
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 0)
        XCTAssertEqual(server.stop(), 0)
    }

    final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [(id: String, stale: Bool, status: Int)] = []
        func add(id: String, stale: Bool, status: Int) { lock.withLock { list.append((id, stale, status)) } }
        var all: [(id: String, stale: Bool, status: Int)] { lock.withLock { list } }
    }

    func testACLIAppendInterleavesWithTheServersGroupCommits() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let writer = try token(db, role: "writer", name: "w")
        let server = try ServerProcess(db: db, folder: folder)
        let served = Outcomes()
        let background = Thread {
            for index in 0..<60 {
                let id = UUID().uuidString.lowercased()
                let status = (try? HTTP.post("\(server.base)/v1/events", token: writer, TwoRegions.note("C-US", id: id, text: "http \(index)")).status) ?? -1
                served.add(id: id, stale: false, status: status)
            }
        }
        background.start()
        for batch in 0..<5 {
            let result = try append((0..<20).map { TwoRegions.note("C-CN", text: "cli \(batch)-\($0)") }, to: db)
            XCTAssertEqual(result.exitCode, 0, result.stderr)
        }
        while !background.isFinished { usleep(10_000) }
        XCTAssertEqual(served.all.map(\.status), Array(repeating: 200, count: 60))
        XCTAssertEqual(try eventIDs(in: db).count, 6 + 60 + 100)
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 0)
        XCTAssertEqual(server.stop(), 0)
    }

    // MARK: - The change feed

    func testTheChangeFeedResumesAfterARestartWithoutAGapOrARepeat() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let writer = try token(db, role: "writer", name: "w")
        let reader = try token(db, role: "reader", name: "r")
        let server = try ServerProcess(db: db, folder: folder)
        let u = server.base
        let producer = Thread {
            for index in 0..<50 {
                _ = try? HTTP.post("\(u)/v1/events", token: writer, TwoRegions.note(index % 2 == 0 ? "C-CN" : "C-US", text: "n\(index)"))
            }
        }
        producer.start()
        // A consumer that keeps its position, stops twice and starts again from it.
        var seen: [Int] = []
        var after = 0
        for _ in 0..<3 {
            var pages = 0
            while pages < 5 {
                let page = try HTTP.get("\(u)/v1/events?after=\(after)&limit=7&wait=5", token: reader)
                XCTAssertEqual(page.status, 200)
                let seqs = page.text.split(separator: "\n").map { line in
                    (try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["seq"] as! Int
                }
                if seqs.isEmpty { break }
                seen += seqs
                after = seqs.last!
                XCTAssertEqual(page.header("CaseLedger-Last-Seq"), String(after))
                pages += 1
            }
        }
        while !producer.isFinished { usleep(10_000) }
        while true {
            let page = try HTTP.get("\(u)/v1/events?after=\(after)&limit=100", token: reader)
            let seqs = page.text.split(separator: "\n").map { line in
                (try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["seq"] as! Int
            }
            if seqs.isEmpty { break }
            seen += seqs
            after = seqs.last!
        }
        XCTAssertEqual(seen, Array(1...56), "every event once, in order")

        // A waiting request is answered as soon as an event arrives, even from another process.
        let started = Date()
        let waiter = Thread {
            let page = try? HTTP.get("\(u)/v1/events?after=56&wait=30", token: reader)
            XCTAssertEqual(page?.text.split(separator: "\n").count, 1)
        }
        waiter.start()
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(try append([TwoRegions.note("C-CN", text: "from the CLI")], to: db).exitCode, 0)
        while !waiter.isFinished { usleep(10_000) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "answered when the event came, not at the end of the wait")
        let empty = try HTTP.get("\(u)/v1/events?after=57&wait=0.5", token: reader)
        XCTAssertEqual(empty.status, 200)
        XCTAssertEqual(empty.text, "")
        XCTAssertEqual(empty.header("CaseLedger-Head-Seq"), "57")
        XCTAssertEqual(server.stop(), 0)
    }

    func testLogFollowPrintsNewEventsAndResumesFromASeq() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["log", "--db", db, "--follow", "--json", "--from-seq", "5"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        func lines(atLeast count: Int) -> [String] {
            var text = ""
            let deadline = Date().addingTimeInterval(20)
            while text.split(separator: "\n").count < count, Date() < deadline {
                let data = out.fileHandleForReading.availableData
                if data.isEmpty { usleep(20_000) } else { text += String(decoding: data, as: UTF8.self) }
            }
            return text.split(separator: "\n").map(String.init)
        }
        XCTAssertEqual(lines(atLeast: 2).count, 2, "seq 5 and 6")
        XCTAssertEqual(try append([TwoRegions.note("C-US", text: "later")], to: db).exitCode, 0)
        let next = lines(atLeast: 1)
        XCTAssertEqual(next.count, 1)
        XCTAssertTrue(next[0].hasPrefix(#"{"seq":7,"#), next[0])
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(try CLI.run(["log", "--db", db, "--follow", "--limit", "3"]).exitCode, 2)
    }

    // MARK: - Shutdown and crashes

    /// Appends from `clients` threads until told to stop; what each got back.
    final class Load: @unchecked Sendable {
        private let lock = NSLock()
        private var acknowledged: [String] = []
        private var failures = 0
        private var stopping = false
        private var threads: [Thread] = []

        init(base: String, token: String, clients: Int) {
            for client in 0..<clients {
                let thread = Thread { [self] in
                    var index = 0
                    while !lock.withLock({ stopping }) {
                        let id = UUID().uuidString.lowercased()
                        let line = TwoRegions.note(client % 2 == 0 ? "C-CN" : "C-US", id: id, text: "load \(client)-\(index)")
                        index += 1
                        if let reply = try? HTTP.post("\(base)/v1/events", token: token, line), reply.status == 200 {
                            lock.withLock { acknowledged.append(id) }
                        } else {
                            lock.withLock { failures += 1 }
                        }
                    }
                }
                threads.append(thread)
                thread.start()
            }
        }

        func stop() -> (acknowledged: [String], failures: Int) {
            lock.withLock { stopping = true }
            while threads.contains(where: { !$0.isFinished }) { usleep(10_000) }
            return lock.withLock { (acknowledged, failures) }
        }

        var count: Int { lock.withLock { acknowledged.count } }
    }

    func testSIGTERMUnderLoadExitsZeroWithEveryAcknowledgedEventStored() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let writer = try token(db, role: "writer", name: "w")
        let server = try ServerProcess(db: db, folder: folder)
        let load = Load(base: server.base, token: writer, clients: 16)
        while load.count < 200 { usleep(10_000) }
        XCTAssertEqual(server.stop(signal: SIGTERM), 0, server.log)
        let (acknowledged, _) = load.stop()
        let stored = Set(try eventIDs(in: db))
        XCTAssertGreaterThanOrEqual(acknowledged.count, 200)
        XCTAssertTrue(acknowledged.allSatisfy(stored.contains), "every 200 is on disk")
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 0)
    }

    func testKill9UnderLoadLosesNoAcknowledgedEventAndVerifies() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let writer = try token(db, role: "writer", name: "w")
        let server = try ServerProcess(db: db, folder: folder)
        let load = Load(base: server.base, token: writer, clients: 16)
        while load.count < 300 { usleep(10_000) }
        XCTAssertEqual(server.stop(signal: SIGKILL), SIGKILL)
        let (acknowledged, failures) = load.stop()
        XCTAssertGreaterThan(failures, 0, "requests in flight when it died got no answer")
        // Restarted, the server opens the file (recovering the WAL) and has every acknowledged event.
        let restarted = try ServerProcess(db: db, folder: folder, name: "restarted")
        let stored = Set(try eventIDs(in: db))
        XCTAssertTrue(acknowledged.allSatisfy(stored.contains), "\(acknowledged.filter { !stored.contains($0) }.count) acknowledged events lost")
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 0)
        XCTAssertEqual(restarted.stop(), 0)
    }

    // MARK: - Limits

    func testLimitsAnswer413And408And503() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let writer = try token(db, role: "writer", name: "w")
        let server = try ServerProcess(db: db, folder: folder, arguments: ["--max-body-bytes", "4096", "--body-timeout", "1", "--max-connections", "4"])
        // Over the body limit: 413, by Content-Length or while reading a chunked body.
        let big = (0..<40).map { TwoRegions.note("C-CN", text: "padding \($0)") }.joined(separator: "\n")
        let tooLarge = try HTTP.post("\(server.base)/v1/events", token: writer, big)
        XCTAssertEqual(tooLarge.status, 413)
        let chunked = try RawConnection(port: server.port)
        chunked.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(writer)\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<5 { chunked.send("400\r\n" + String(repeating: "a", count: 1024) + "\r\n") }
        XCTAssertTrue(chunked.receive(timeout: 10).hasPrefix("HTTP/1.1 413"))
        // A body that never comes: 408.
        let slow = try RawConnection(port: server.port)
        slow.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(writer)\r\nContent-Length: 500\r\n\r\n{\"event")
        let timedOut = slow.receive(timeout: 10)
        XCTAssertTrue(timedOut.hasPrefix("HTTP/1.1 408"), timedOut)
        // More connections than the limit: 503 with Retry-After for the extra ones.
        Thread.sleep(forTimeInterval: 2.5)  // the 408's and 413's connections are closed by now
        let held = try (0..<6).map { _ in try RawConnection(port: server.port) }
        Thread.sleep(forTimeInterval: 0.5)
        var statuses: [String] = []
        for connection in held {
            connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let reply = connection.receive(timeout: 5)
            statuses.append(String(reply.prefix(12)))
            if reply.hasPrefix("HTTP/1.1 503") { XCTAssertTrue(reply.lowercased().contains("retry-after: 1"), reply) }
        }
        // Four may be open at once: at most four of these six are served, the rest told to come back.
        XCTAssertTrue((1...4).contains(statuses.filter { $0 == "HTTP/1.1 200" }.count), "\(statuses)")
        XCTAssertGreaterThanOrEqual(statuses.filter { $0 == "HTTP/1.1 503" }.count, 2, "\(statuses)")
        XCTAssertEqual(statuses.filter { $0 == "HTTP/1.1 200" || $0 == "HTTP/1.1 503" }.count, 6, "\(statuses)")
        XCTAssertEqual(try eventIDs(in: db).count, 6, "nothing half-written")
        XCTAssertEqual(server.stop(), 0)
    }

    // MARK: - Backup while serving

    func testBackupWhileServingGivesACopyThatVerifies() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let writer = try token(db, role: "writer", name: "w")
        let server = try ServerProcess(db: db, folder: folder)
        let load = Load(base: server.base, token: writer, clients: 4)
        while load.count < 50 { usleep(10_000) }
        let backup = try CLI.run(["backup", "--db", db, "--out", folder.path("copy.sqlite"), "--json"])
        XCTAssertEqual(backup.exitCode, 0, backup.stderr)
        let (acknowledged, _) = load.stop()
        let summary = try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as! [String: Any]
        let copied = summary["events"] as! Int
        XCTAssertGreaterThanOrEqual(copied, 6 + 50)
        XCTAssertLessThanOrEqual(copied, 6 + acknowledged.count)
        let verify = try CLI.run(["verify", "--db", folder.path("copy.sqlite")])
        XCTAssertEqual(verify.exitCode, 0, verify.stderr)
        XCTAssertEqual(try eventIDs(in: folder.path("copy.sqlite")).count, copied)
        XCTAssertEqual(try CLI.run(["backup", "--db", db, "--out", folder.path("copy.sqlite")]).exitCode, 1, "never overwrites")
        XCTAssertEqual(try CLI.run(["backup", "--db", db, "--out", db]).exitCode, 1)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).contains { $0.hasSuffix(".partial") })
        XCTAssertEqual(server.stop(), 0)
    }
}
