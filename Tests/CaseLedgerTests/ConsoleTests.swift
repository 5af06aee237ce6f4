@testable import CaseLedgerServer
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var reply: Result<HTTPReply, any Error> = .failure(URLError(.unknown))
            session.dataTask(with: request) { data, response, error in
                if let error { reply = .failure(error) } else if let response = response as? HTTPURLResponse {
                    var headers: [String: String] = [:]
                    for (key, value) in response.allHeaderFields { headers["\(key)"] = "\(value)" }
                    reply = .success(HTTPReply(status: response.statusCode, headers: headers, body: data ?? Data()))
                }
                done.signal()
            }.resume()
            done.wait()
            return try reply.get()
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
}
