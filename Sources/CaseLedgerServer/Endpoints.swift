import CaseLedgerCore
import Hummingbird

/// One thing the server answers: a method and a path template (`{id}` for a segment), who may
/// call it, whether it reads a case's data (then every call is in the access log), and the
/// handler. The table below is the whole API; the router, the 404/405 answers, the role checks
/// and the OpenAPI test (`Schemas/openapi.yaml` must list exactly these) all read it.
struct Endpoint: Sendable {
    typealias Handler = @Sendable (Request, LedgerContext, ServerState) async throws -> Response

    /// The JSON API (bearer tokens), or the console's pages (a session cookie, HTML answers).
    enum Surface: Sendable {
        case api, console
    }

    let method: HTTPRequest.Method
    let path: String
    /// nil: no token needed.
    let roles: Set<Role>?
    let readsCaseData: Bool
    let surface: Surface
    let handler: Handler

    init(_ method: HTTPRequest.Method, _ path: String, roles: Set<Role>?, readsCaseData: Bool = false, surface: Surface = .api,
         _ handler: @escaping Handler) {
        self.method = method
        self.path = path
        self.roles = roles
        self.readsCaseData = readsCaseData
        self.surface = surface
        self.handler = handler
    }

    var segments: [Substring] { path.split(separator: "/") }
}

extension Role {
    /// The roles that read: every read for a reader and an auditor, the scoped reads for a regulator.
    static let readers: Set<Role> = [.reader, .auditor, .regulator]
}

enum Endpoints {
    static let all: [Endpoint] = [
        Endpoint(.post, "/v1/events", roles: [.writer], EventRoutes.append),
        Endpoint(.get, "/v1/events", roles: Role.readers, readsCaseData: true, EventRoutes.feed),
        Endpoint(.get, "/v1/cases", roles: Role.readers, readsCaseData: true, CaseRoutes.list),
        Endpoint(.get, "/v1/cases/{id}", roles: Role.readers, readsCaseData: true, CaseRoutes.show),
        Endpoint(.get, "/v1/cases/{id}/contact-check", roles: Role.readers, readsCaseData: true, CaseRoutes.contactCheck),
        Endpoint(.get, "/v1/audit", roles: Role.readers, readsCaseData: true, CaseRoutes.audit),
        Endpoint(.get, "/v1/compliance", roles: Role.readers, readsCaseData: true, CaseRoutes.compliance),
        Endpoint(.get, "/v1/complaints", roles: Role.readers, readsCaseData: true, EvidenceRoutes.complaints),
        Endpoint(.get, "/v1/complaints/{id}/evidence", roles: Role.readers, readsCaseData: true, EvidenceRoutes.evidence),
        Endpoint(.get, "/v1/checkpoints/latest", roles: Role.readers, EvidenceRoutes.latestCheckpoint),
        Endpoint(.get, "/v1/proofs/case/{id}", roles: Role.readers, readsCaseData: true, EvidenceRoutes.caseProof),
        Endpoint(.get, "/v1/verify", roles: [.auditor], AdminRoutes.verify),
        Endpoint(.get, "/v1/access-log", roles: [.auditor], AdminRoutes.accessLog),
        Endpoint(.get, "/v1/tokens", roles: [.admin], AdminRoutes.listTokens),
        Endpoint(.post, "/v1/tokens", roles: [.admin], AdminRoutes.createToken),
        Endpoint(.delete, "/v1/tokens/{name}", roles: [.admin], AdminRoutes.revokeToken),
        Endpoint(.get, "/healthz", roles: nil, AdminRoutes.health),
        Endpoint(.get, "/metrics", roles: nil, AdminRoutes.metrics),
    ] + Console.endpoints

    /// The JSON API's endpoints (what `Schemas/openapi.yaml` describes).
    static var api: [Endpoint] { all.filter { $0.surface == .api } }

    /// Whether a path belongs to the console (HTML answers) rather than the API (JSON).
    static func isConsole(_ path: String) -> Bool {
        !(path.hasPrefix("/v1/") || path == "/v1" || path == "/healthz" || path == "/metrics")
    }

    /// What a method and path come to: an endpoint, a known path with other methods, or nothing.
    enum Match {
        case endpoint(Endpoint)
        case wrongMethod(allowed: [HTTPRequest.Method])
        case none
    }

    static func match(method: HTTPRequest.Method, path: String) -> Match {
        let given = path.split(separator: "/")
        let candidates = all.filter { endpoint in
            let template = endpoint.segments
            return template.count == given.count
                && zip(template, given).allSatisfy { pattern, segment in pattern.first == "{" || pattern == segment }
        }
        // A literal segment beats a capture: /v1/cases/x/contact-check is never /v1/cases/{id}.
        if let found = candidates.first(where: { $0.method == method }) { return .endpoint(found) }
        if candidates.isEmpty { return .none }
        return .wrongMethod(allowed: candidates.map(\.method))
    }
}
