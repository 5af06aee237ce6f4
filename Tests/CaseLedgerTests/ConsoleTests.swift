@testable import CaseLedgerServer
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Mustache
import XCTest

/// The console (docs/server.md, README) through a real server, without a browser: sessions and
/// their cookie, roles and scopes, the access log, escaping, and what no page may do. The browser
/// itself is driven by ConsoleBrowserTests.
final class ConsoleTests: XCTestCase {
    /// A client that does not follow redirects and keeps no cookies: each answer as sent.
    final class Plain: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        lazy var session = URLSession(configuration: {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpCookieAcceptPolicy = .never
            configuration.httpShouldSetCookies = false
            return configuration
        }(), delegate: self, delegateQueue: nil)

        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }

        func send(_ method: String, _ url: String, cookie: String? = nil, form: [String: String]? = nil, headers: [String: String] = [:]) throws -> HTTPReply {
            var request = URLRequest(url: URL(string: url)!)
            request.httpMethod = method
            if let cookie { request.setValue(cookie, forHTTPHeaderField: "Cookie") }
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            if let form {
                request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
                let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
                request.httpBody = Data(form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&").utf8)
            }
            return try HTTP.perform(request, on: session)
        }
    }

    /// Signs in with `token`; the cookie to send afterwards.
    func signIn(_ client: Plain, _ base: String, token: String) throws -> String {
        let reply = try client.send("POST", "\(base)/sign-in", form: ["token": token, "next": "/cases"])
        XCTAssertEqual(reply.status, 303, reply.text)
        let cookie = try XCTUnwrap(reply.header("Set-Cookie"))
        return String(cookie.split(separator: ";")[0])
    }

    func testSessionsRolesScopesAndTheAccessLog() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let reader = try token(db, role: "reader", name: "investigator")
        let us = try token(db, role: "regulator", name: "reg-us", ["--scope", "region:US"])
        let writer = try token(db, role: "writer", name: "feed")
        let auditor = try token(db, role: "auditor", name: "audit")
        let server = try ServerProcess(db: db, folder: folder)
        let u = server.base
        let client = Plain()

        // Not signed in: every page sends you to sign in, and comes back after.
        let away = try client.send("GET", "\(u)/cases/C-CN")
        XCTAssertEqual(away.status, 303)
        XCTAssertEqual(away.header("Location"), "/sign-in?next=/cases/C-CN")
        XCTAssertEqual(try client.send("GET", "\(u)/sign-in").status, 200)
        XCTAssertEqual(try client.send("GET", "\(u)/console.css").status, 200)

        // A wrong token is refused on the page; a good one gives a session cookie a script cannot read.
        let wrong = try client.send("POST", "\(u)/sign-in", form: ["token": "clt_nope"])
        XCTAssertEqual(wrong.status, 401)
        XCTAssertTrue(wrong.text.contains("not one this ledger knows"))
        let signedIn = try client.send("POST", "\(u)/sign-in", form: ["token": reader, "next": "//evil.example/x"])
        XCTAssertEqual(signedIn.header("Location"), "/cases", "no open redirect")
        let setCookie = try XCTUnwrap(signedIn.header("Set-Cookie"))
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] { XCTAssertTrue(setCookie.contains(attribute), setCookie) }
        XCTAssertFalse(setCookie.contains("Secure"))
        let behindTLS = try client.send("POST", "\(u)/sign-in", form: ["token": reader], headers: ["X-Forwarded-Proto": "https"])
        XCTAssertTrue(behindTLS.header("Set-Cookie")?.contains("; Secure") == true)
        let cookie = String(setCookie.split(separator: ";")[0])

        let page = try client.send("GET", "\(u)/cases/C-CN", cookie: cookie)
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.header("Content-Security-Policy")?.hasPrefix("default-src 'self'"), true)
        XCTAssertEqual(page.header("Cache-Control"), "no-store")
        XCTAssertTrue(page.text.contains("VIOLATION contact_hours"), "the 23:30 Shanghai call is flagged")
        XCTAssertFalse(page.text.contains("<script"))
        XCTAssertFalse(page.text.contains("style=\""), "no inline style: the policy would block it")
        for path in ["/cases", "/cases?q=A-C-US", "/complaints", "/complaints/CP-CN?case=C-CN", "/compliance", "/actors/collector:both"] {
            XCTAssertEqual(try client.send("GET", u + path, cookie: cookie).status, 200, path)
        }
        XCTAssertEqual(try client.send("GET", "\(u)/integrity", cookie: cookie).status, 403, "auditors only")
        XCTAssertEqual(try client.send("GET", "\(u)/cases/C-NONE", cookie: cookie).status, 404)

        // A regulator: the other region is absent from the list and the charts, and 404 by URL.
        let regulator = try signIn(client, u, token: us)
        let list = try client.send("GET", "\(u)/cases", cookie: regulator).text
        XCTAssertTrue(list.contains("C-US") && !list.contains("C-CN"))
        XCTAssertEqual(try client.send("GET", "\(u)/cases/C-CN", cookie: regulator).status, 404)
        XCTAssertEqual(try client.send("GET", "\(u)/complaints/CP-CN?case=C-CN", cookie: regulator).status, 404)
        let charts = try client.send("GET", "\(u)/compliance", cookie: regulator).text
        XCTAssertTrue(charts.contains("US-NY") && !charts.contains("CN-SH"))
        XCTAssertFalse(try client.send("GET", "\(u)/actors/collector:both", cookie: regulator).text.contains("C-CN"))
        XCTAssertEqual(try client.send("GET", "\(u)/integrity", cookie: regulator).status, 404)

        // A writer has no pages; an auditor has the integrity page and the access log.
        XCTAssertEqual(try client.send("GET", "\(u)/cases", cookie: try signIn(client, u, token: writer)).status, 403)
        let audit = try signIn(client, u, token: auditor)
        XCTAssertEqual(try client.send("POST", "\(u)/integrity/verify", cookie: audit).status, 303)
        XCTAssertTrue(try client.send("GET", "\(u)/integrity", cookie: audit).text.contains("ok: 6 events"))
        XCTAssertEqual(try client.send("POST", "\(u)/integrity/verify", cookie: audit, headers: ["Origin": "https://evil.example"]).status, 403,
                       "a form posted from another site")
        Thread.sleep(forTimeInterval: 0.3)
        let log = try client.send("GET", "\(u)/access-log?case=C-CN", cookie: audit).text
        XCTAssertTrue(log.contains("/cases/C-CN") && log.contains("investigator"), "console pages are in the access log")

        // Signing out ends the session; revoking the token ends its sessions too.
        XCTAssertEqual(try client.send("POST", "\(u)/sign-out", cookie: cookie).header("Location"), "/sign-in")
        XCTAssertEqual(try client.send("GET", "\(u)/cases", cookie: cookie).status, 303)
        XCTAssertEqual(try CLI.run(["token", "revoke", "--db", db, "reg-us"]).exitCode, 0)
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(try client.send("GET", "\(u)/cases", cookie: regulator).status, 303)
        XCTAssertEqual(server.stop(), 0)
    }

    func testTextFromEventsIsShownAsTextNeverAsMarkup() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)></textarea>&amp;\"q\"'s\u{0007}\u{202E}evil"
        let escaped = hostile.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\u{0007}", with: "\\u0007")
        XCTAssertEqual(try append([
            Events.line(caseID: "C-US", type: "note.recorded", occurredAt: "2024-06-06T10:00:00Z", data: #"{"text":"\#(escaped)"}"#),
            Events.line(caseID: "C-US", type: "complaint.filed", occurredAt: "2024-06-06T11:00:00Z", actor: "debtor:d",
                        data: #"{"complaint_id":"CP-X","channel":"letter","category":"harassment","description":"\#(escaped)"}"#),
        ], to: db).exitCode, 0)
        let reader = try token(db, role: "reader", name: "r")
        let server = try ServerProcess(db: db, folder: folder)
        let client = Plain()
        let cookie = try signIn(client, server.base, token: reader)
        for path in ["/cases/C-US", "/complaints/CP-X?case=C-US", "/actors/debtor:d", "/complaints"] {
            let page = try client.send("GET", server.base + path, cookie: cookie).text
            XCTAssertFalse(page.contains("<script"), path)
            XCTAssertFalse(page.contains("<img"), path)
            XCTAssertFalse(page.contains("\u{202E}"), "\(path): a right-to-left override reaches the page")
            XCTAssertFalse(page.contains("\u{0007}"), path)
        }
        let complaint = try client.send("GET", server.base + "/complaints/CP-X?case=C-US", cookie: cookie).text
        XCTAssertTrue(complaint.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&lt;/textarea&gt;&amp;amp;&quot;q&quot;&#39;s⟨U+0007⟩⟨U+202E⟩evil"),
                      "the description, escaped, with its invisible characters made visible")
        XCTAssertEqual(server.stop(), 0)
    }

    func testNoTemplateWritesUnescapedText() {
        let templates = ConsoleTemplates.all
        XCTAssertFalse(templates.isEmpty)
        for (name, text) in templates {
            XCTAssertFalse(text.contains("{{{") || text.contains("{{&"), "template \(name) writes a value unescaped")
            XCTAssertFalse(text.contains("<script") || text.contains("style=\"") || text.range(of: #" on[a-z]+="#, options: .regularExpression) != nil,
                           "template \(name) holds script, an event handler or inline style")
        }
    }

    /// The row models name their fields for the templates (no Mirror on the hot path); every
    /// stored property must be there under its own name, nil where the value is nil.
    func testTheRowModelsNameEveryFieldTheyHold() {
        let breach = ConsoleCases.Breach(rule: "contact_hours", rulebook: Shown("rb"), detail: nil)
        let samples: [any MustacheParent] = [
            ConsoleCases.Event(seq: 7, utc: Shown("u"), local: Shown("l"), type: Shown("call.placed"), summary: Shown("s"), actor: Shown("a"),
                               actorLink: "/actors/a", voided: true, voidedBy: Shown("v"), violations: [breach], notJudged: nil, late: "3 days",
                               recorded: Shown("r"), rowClass: "voided", caseID: Shown("C-1"), caseLink: "/cases/C-1"),
            breach,
            ConsoleCases.Row(caseID: Shown("C-1"), link: "/cases/C-1", status: "open", escalation: nil, region: Shown("US-NY"), balance: "1.00 USD",
                             lastEvent: Shown("t"), violations: 2, flagged: true, openComplaints: 1),
            ConsoleComplaints.Row(id: Shown("CP"), link: "/l", caseID: Shown("C"), caseLink: "/c", category: Shown("x"), channel: Shown("y"),
                                  filed: Shown("f"), status: "open", age: 4),
            ConsoleAudit.Row(at: "t", token: Shown("k"), role: "reader", method: "GET", path: Shown("/p"), status: "200", cases: Shown("C")),
            ConsoleCompliance.Chart("chart", [("a", 3), ("b", 1)]).bars[1],
            Console.Option(value: "v", selected: false),
        ]
        for sample in samples {
            let fields = Mirror(reflecting: sample).children
            XCTAssertFalse(fields.isEmpty)
            for field in fields {
                guard let label = field.label else { continue }
                let unwrapped: Any? = {
                    let mirror = Mirror(reflecting: field.value)
                    guard mirror.displayStyle == .optional else { return field.value }
                    return mirror.children.first?.value
                }()
                XCTAssertEqual(sample.child(named: label).map { String(describing: $0) }, unwrapped.map { String(describing: $0) },
                               "\(type(of: sample)).\(label)")
            }
            XCTAssertNil(sample.child(named: "noSuchField"), "\(type(of: sample))")
        }
    }

    func testLinksPercentEncodeEverythingButTheUnreservedCharacters() {
        XCTAssertEqual(Console.pathSegment("C-2024_01.x~y"), "C-2024_01.x~y")
        XCTAssertEqual(Console.pathSegment("collector:o.brien+corpus@ny-team"), "collector:o.brien%2Bcorpus@ny-team")
        XCTAssertEqual(Console.pathSegment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25")
        XCTAssertEqual(Console.pathSegment("Zhāng 张"), "Zh%C4%81ng%20%E5%BC%A0")
        XCTAssertEqual(Console.queryValue("a@b&c=d:e"), "a%40b%26c%3Dd:e")
        XCTAssertEqual(Console.queryValue(""), "")
    }

    /// A busy actor's trail comes in pages of 500, in seq order, each page's "next" link starting
    /// after the last seq shown; a regulator's pages hold only its scope.
    func testABusyActorsTrailComesInPages() throws {
        let folder = try TemporaryFolder()
        let db = try twoRegionLedger(folder)
        let notes = (0..<550).map { index in
            Events.line(caseID: index.isMultiple(of: 2) ? "C-CN" : "C-US", type: "note.recorded", occurredAt: "2024-06-05T10:00:00Z",
                        actor: "collector:busy", data: #"{"text":"note \#(index)"}"#)
        }
        XCTAssertEqual(try append(notes, to: db).exitCode, 0)
        let reader = try token(db, role: "reader", name: "investigator")
        let us = try token(db, role: "regulator", name: "reg-us", ["--scope", "region:US"])
        let server = try ServerProcess(db: db, folder: folder)
        let client = Plain()
        let cookie = try signIn(client, server.base, token: reader)
        func rows(_ page: String) -> [String] {
            page.components(separatedBy: "<tr class=").dropFirst().map { row in
                String(row.split(separator: ">", maxSplits: 1)[1].prefix(400))
            }
        }
        let first = try client.send("GET", "\(server.base)/actors/collector:busy", cookie: cookie)
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(rows(first.text).count, 500)
        let next = try XCTUnwrap(first.text.range(of: #"href="(/actors/collector:busy\?after=\d+)" rel="next""#, options: .regularExpression)
            .map { String(first.text[$0].dropFirst(6).prefix { $0 != "\"" }) })
        XCTAssertEqual(next, "/actors/collector:busy?after=506", "six events come before the notes, so the 500th note is seq 506")
        let second = try client.send("GET", server.base + next, cookie: cookie)
        XCTAssertEqual(rows(second.text).count, 50)
        XCTAssertTrue(second.text.contains("note 500") && second.text.contains("note 549") && !second.text.contains("note 499<"))
        XCTAssertFalse(second.text.contains(#"rel="next""#))
        XCTAssertTrue(second.text.contains(#"<a href="/actors/collector:busy">First page</a>"#))
        XCTAssertEqual(try client.send("GET", "\(server.base)/actors/collector:busy?after=-1", cookie: cookie).status, 400)

        let scoped = try signIn(client, server.base, token: us)
        let usFirst = try client.send("GET", "\(server.base)/actors/collector:busy", cookie: scoped)
        XCTAssertEqual(rows(usFirst.text).count, 275, "the US case's notes only")
        XCTAssertFalse(usFirst.text.contains("C-CN"))
        XCTAssertEqual(server.stop(), 0)
    }

    /// The what-if page shows the first 200 violations that appear and disappear, and reads only
    /// those: its entry in the access log holds the cases they belong to, not every case the rule
    /// change touches.
    func testTheWhatIfPageNotesTheCasesItShows() throws {
        let folder = try TemporaryFolder()
        let db = folder.path("portfolio.sqlite")
        let generated = try CLI.run(["generate", "--db", db, "--cases", "40", "--seed", "21"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let base = TransparencyTests.repository.appendingPathComponent("Schemas/rulebooks/demo-bank-policy-2024.json").path
        var strict = try JSONSerialization.jsonObject(with: try fileBytes(base)) as! [String: Any]
        strict["id"] = "demo-one-call-short-hours"
        strict["max_calls_per_day"] = 1
        strict["contact_hours"] = ["start": "10:00", "end": "17:00"]
        let strictText = String(decoding: try JSONSerialization.data(withJSONObject: strict), as: UTF8.self)
        let strictPath = try folder.write("strict.json", strictText)
        let cli = try CLI.run(["compliance", "diff", "--rules", base, "--rules", strictPath, "--json", "--db", db])
        XCTAssertEqual(cli.exitCode, 0, cli.stderr)
        let diff = try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as! [String: Any]
        let appeared = (diff["appeared"] as! [[String: Any]]).map { $0["case_id"] as! String }
        let disappeared = (diff["disappeared"] as! [[String: Any]]).map { $0["case_id"] as! String }
        let shown = Set(appeared.prefix(200) + disappeared.prefix(200))
        XCTAssertGreaterThan(appeared.count, 200)
        XCTAssertLessThan(shown.count, Set(appeared + disappeared).count, "the lists reach cases past the first 200 violations")

        let reader = try token(db, role: "reader", name: "investigator")
        let server = try ServerProcess(db: db, folder: folder)
        let client = Plain()
        let cookie = try signIn(client, server.base, token: reader)
        let page = try client.send("POST", "\(server.base)/compliance/what-if", cookie: cookie,
                                   form: ["before": "demo-bank-policy-2024", "rulebook": strictText])
        XCTAssertEqual(page.status, 200, page.text)
        XCTAssertEqual(page.text.components(separatedBy: "<a href=\"/cases/").count - 1, min(appeared.count, 200) + min(disappeared.count, 200))
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(server.stop(), 0)
        let log = try JSONSerialization.jsonObject(with: Data(try CLI.run(["access-log", "--db", db, "--json"]).stdout.utf8)) as! [[String: Any]]
        let whatIf = try XCTUnwrap(log.first { $0["path"] as? String == "/compliance/what-if" })
        XCTAssertEqual(Set(whatIf["case_ids"] as! [String]), shown)
    }
}
