import CaseLedgerCore
import CaseLedgerStore
import Foundation
import HTTPTypes
import Hummingbird

/// The investigator's console: server-rendered pages at `/`, for the people who read the ledger.
/// Same roles and scopes as the API (a session stands for a token), every page that shows a
/// case's data in the access log, no JavaScript, nothing loaded from elsewhere.
enum Console {
    static let readers = Role.readers
    static let auditors: Set<Role> = [.auditor]

    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/", roles: nil, surface: .console) { _, _, _ in redirect("/cases") },
        Endpoint(.get, "/console.css", roles: nil, surface: .console) { _, _, _ in
            var response = Reply.text(ConsoleTemplates.css, type: "text/css; charset=utf-8")
            response.headers[.cacheControl] = "max-age=3600"
            return response
        },
        Endpoint(.get, "/sign-in", roles: nil, surface: .console, signInPage),
        Endpoint(.post, "/sign-in", roles: nil, surface: .console, signIn),
        Endpoint(.post, "/sign-out", roles: nil, surface: .console, signOut),
        Endpoint(.get, "/cases", roles: readers, readsCaseData: true, surface: .console, ConsoleCases.list),
        Endpoint(.get, "/cases/{id}", roles: readers, readsCaseData: true, surface: .console, ConsoleCases.show),
        Endpoint(.get, "/actors/{actor}", roles: readers, readsCaseData: true, surface: .console, ConsoleCases.actor),
        Endpoint(.get, "/complaints", roles: readers, readsCaseData: true, surface: .console, ConsoleComplaints.list),
        Endpoint(.get, "/complaints/{id}", roles: readers, readsCaseData: true, surface: .console, ConsoleComplaints.show),
        Endpoint(.get, "/complaints/{id}/evidence.json", roles: readers, readsCaseData: true, surface: .console, ConsoleComplaints.packJSON),
        Endpoint(.get, "/complaints/{id}/evidence.html", roles: readers, readsCaseData: true, surface: .console, ConsoleComplaints.packHTML),
        Endpoint(.get, "/compliance", roles: readers, readsCaseData: true, surface: .console, ConsoleCompliance.overview),
        Endpoint(.get, "/compliance/what-if", roles: readers, surface: .console) { _, _, _ in redirect("/compliance") },
        Endpoint(.post, "/compliance/what-if", roles: [.reader, .auditor], readsCaseData: true, surface: .console, ConsoleCompliance.whatIf),
        Endpoint(.get, "/integrity", roles: auditors, surface: .console, ConsoleAudit.integrity),
        Endpoint(.post, "/integrity/verify", roles: auditors, surface: .console, ConsoleAudit.verify),
        Endpoint(.get, "/access-log", roles: auditors, surface: .console, ConsoleAudit.accessLog),
    ]

    // MARK: - Pages

    /// What every page's header and footer show.
    struct Layout {
        let title: Shown
        let signedIn: Bool
        let who: Shown
        let role: String
        let scopes: Shown?
        let auditor: Bool
        let version = Release.version

        init(_ title: String, _ context: LedgerContext) {
            self.title = Shown(title)
            signedIn = context.principal != nil
            who = Shown(context.principal?.name ?? "")
            role = context.principal?.role.rawValue ?? ""
            let scopes = context.principal?.scopes.map(\.description).joined(separator: ", ") ?? ""
            self.scopes = scopes.isEmpty ? nil : Shown(scopes)
            auditor = context.principal?.role == .auditor
        }
    }

    static func page(_ template: String, _ model: Any, status: HTTPResponse.Status = .ok) -> Response {
        Reply.text(ConsoleTemplates.render(model, template), type: "text/html; charset=utf-8", status: status)
    }

    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location])
        if let cookie { response.headers[.setCookie] = cookie }
        return response
    }

    /// Not signed in: to the sign-in page, coming back here after.
    static func signInRedirect(_ request: Request) -> Response {
        let here = request.uri.description
        let next = here.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? "/cases"
        return redirect(request.method == .get ? "/sign-in?next=\(next)" : "/sign-in")
    }

    /// A form posted from another site is refused (the cookie is `SameSite=Strict` as well).
    static func checkSameOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        let host = request.head.authority ?? ""
        guard let url = URL(string: origin), let originHost = url.host else { throw APIError.forbidden("a form from another site") }
        let originAuthority = originHost + (url.port.map { ":\($0)" } ?? "")
        guard originAuthority == host else {
            throw APIError.forbidden("this form came from \(origin), not from this console")
        }
    }

    struct ErrorPage {
        let layout: Layout
        let message: Shown
    }

    static func errorPage(_ error: any Error, context: LedgerContext, state: ServerState) -> Response {
        let problem = APIError.from(error, state: state)
        var response = page("error", ErrorPage(layout: Layout(problem.status.reasonPhrase, context), message: Shown(problem.message)), status: problem.status)
        response.headers.append(contentsOf: problem.headers)
        return response
    }

    /// Headers every console answer carries: nothing but this server may load anything; no
    /// framing; no caching of pages that hold people's data.
    static func harden(_ response: inout Response) {
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with
        // its forms, and checkSameOrigin could not tell our own forms from another site's.
        response.headers[.referrerPolicy] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
    }

    // MARK: - Sign-in

    struct SignInPage {
        let layout: Layout
        let problem: Shown?
        let next: Shown
    }

    static func signInPage(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        page("signIn", SignInPage(layout: Layout("Sign in", context), problem: nil, next: Shown(Query(request).string("next") ?? "/cases")))
    }

    struct SignInForm: Decodable {
        let token: String
        let next: String?
    }

    static func signIn(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        try checkSameOrigin(request)
        let body = try await EventRoutes.readBody(request, limit: 16 * 1024, timeout: .seconds(state.settings.bodyTimeoutSeconds))
        let form = try? URLEncodedFormDecoder().decode(SignInForm.self, from: String(buffer: body))
        let next = safeNext(form?.next)
        guard let token = form?.token.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty,
            let principal = try await state.tokens.authenticate(token)
        else {
            return page("signIn", SignInPage(layout: Layout("Sign in", context), problem: Shown("That token is not one this ledger knows (or it was revoked)."),
                                             next: Shown(next)), status: .unauthorized)
        }
        let session = state.sessions.open(for: principal)
        let landing = principal.role == .auditor || Role.readers.contains(principal.role) ? next : "/cases"
        return redirect(landing, cookie: ConsoleSessions.cookie(session, secure: secure(request, state)))
    }

    static func signOut(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        if let id = ConsoleSessions.id(fromCookieHeader: request.headers[.cookie]) { state.sessions.close(session: id) }
        return redirect("/sign-in", cookie: ConsoleSessions.expiredCookie(secure: secure(request, state)))
    }

    /// Only a path on this console (never another site: no open redirect).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), !next.hasPrefix("/sign-") else { return "/cases" }
        return next
    }

    /// Behind a TLS proxy (or when told), cookies are `Secure`.
    static func secure(_ request: Request, _ state: ServerState) -> Bool {
        state.settings.secureCookies || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    // MARK: - Shared pieces

    struct Option {
        let value: String
        let selected: Bool
    }

    static func options(_ values: [String], selected: String?) -> [Option] {
        values.map { Option(value: $0, selected: $0 == selected) }
    }

    static func caseLink(_ caseID: String) -> String { "/cases/" + pathSegment(caseID) }

    /// A path segment for a link: RFC 3986 unreserved characters, `:` and `@` as they are, every
    /// other UTF-8 byte as %XX.
    static func pathSegment(_ text: String) -> String { percentEncoded(text, keeping: ":@") }

    /// A query value for a link: as a path segment, but `@` encoded too.
    static func queryValue(_ text: String) -> String { percentEncoded(text, keeping: ":") }

    private static func percentEncoded(_ text: String, keeping extra: StaticString) -> String {
        let kept = UnsafeBufferPointer(start: extra.utf8Start, count: extra.utf8CodeUnitCount)
        func keeps(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"): true
            default: kept.contains(byte)
            }
        }
        if text.utf8.allSatisfy(keeps) { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if keeps(byte) { out.append(byte) } else { out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func money(_ minor: Int64?, _ currency: String) -> String {
        minor.map { Money.format($0, currency: currency) } ?? "—"
    }

    /// "3 h", "2 days": how long after it occurred an event was recorded.
    static func delay(_ micros: Int64) -> String {
        let hours = micros / 3_600_000_000
        return hours < 48 ? "\(hours) h" : "\(hours / 24) days"
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
