import CaseLedgerCore
import CaseLedgerStore
import Hummingbird

/// Verify and the access log (auditor), tokens (admin), health and metrics (no token).
enum AdminRoutes {
    /// The chain, the Merkle tree and every projection checked against the events, as `verify --json`.
    static func verify(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let ledger = state.ledger
        return try await Blocking.run { () -> Response in
            do {
                return Reply.json(try ledger.verify().json)
            } catch LedgerError.verificationFailed(let seq, let reason) {
                return Reply.json(ChainReport.failureJSON(seq: seq, reason: reason))
            }
        }
    }

    /// `?since=T&token=NAME&case=ID&limit=N`: who read which case, oldest first.
    static func accessLog(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let query = Query(request)
        let since = try query.timestamp("since")
        let access = Ledger.AccessQuery(since: since?.utcString, token: query.string("token"), caseID: query.string("case"),
                                        limit: Int(try query.int("limit", in: 1...Int64(state.settings.maxPage)) ?? 1000))
        let ledger = state.ledger
        let entries = try await Blocking.run { try ledger.accessLog(access) }
        return Reply.json(.array(entries.map(\.json)))
    }

    static func listTokens(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let ledger = state.ledger
        return Reply.json(.array(try await Blocking.run { try ledger.tokens() }.map(\.json)))
    }

    /// Body `{"name", "role", "actor_prefix"?, "scopes"?}`; answers `{"name", "role", "token"}` once, 201.
    static func createToken(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let body = try await EventRoutes.readBody(request, limit: 64 * 1024, timeout: .seconds(state.settings.bodyTimeoutSeconds))
        let json: JSONValue
        do { json = try body.withUnsafeReadableBytes { raw in try JSONParser.parse(bytes: raw.bindMemory(to: UInt8.self)) } } catch {
            throw APIError(status: .unprocessableContent, message: "the body is not JSON: \(error)")
        }
        guard let name = json["name"]?.stringValue else { throw APIError(status: .unprocessableContent, message: "name: required, a string") }
        guard let role = json["role"]?.stringValue.flatMap(Role.init(rawValue:)) else {
            throw APIError(status: .unprocessableContent, message: "role: one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let prefix = json["actor_prefix"]?.stringValue
        var scopes: [Scope] = []
        for item in json["scopes"]?.arrayValue ?? [] {
            guard let scope = item.stringValue.flatMap(Scope.init) else {
                throw APIError(status: .unprocessableContent, message: "scopes: each is region:R or case:ID")
            }
            scopes.append(scope)
        }
        let (ledger, by, chosen) = (state.ledger, context.principal?.name ?? "admin", scopes)
        let made = try await Blocking.run { try ledger.createToken(name: name, role: role, actorPrefix: prefix, scopes: chosen, by: by) }
        state.tokens.invalidate()
        return Reply.json(.object(JSONObject([("name", .string(made.record.name)), ("role", .string(role.rawValue)), ("token", .string(made.token))])),
                          status: .created)
    }

    static func revokeToken(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        guard let name = context.parameters.get("name") else { throw APIError.badRequest("the path names no token") }
        let (ledger, by) = (state.ledger, context.principal?.name ?? "admin")
        try await Blocking.run { try ledger.revokeToken(name: name, by: by) }
        state.tokens.invalidate()
        return Reply.json(.object(JSONObject([("name", .string(name)), ("revoked", .bool(true))])))
    }

    /// Liveness: the process answers and its ledger file reads.
    static func health(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let ledger = state.ledger
        _ = try await Blocking.run { try ledger.head() }
        return Reply.json(.object(JSONObject([("status", .string("ok")), ("version", .string(Release.version))])))
    }

    static func metrics(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        Reply.bytes(state.metrics.text(), type: "text/plain; version=0.0.4; charset=utf-8")
    }
}
