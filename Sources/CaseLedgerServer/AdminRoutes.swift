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
    /// Anything else in the body, or a field of the wrong type, is 422: a token is never made
    /// with less restriction than was asked for.
    static func createToken(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let body = try await EventRoutes.readBody(request, limit: 64 * 1024, timeout: .seconds(state.settings.bodyTimeoutSeconds))
        func invalid(_ message: String) -> APIError { APIError(status: .unprocessableContent, message: message) }
        let json: JSONValue
        do { json = try body.withUnsafeReadableBytes { raw in try JSONParser.parse(bytes: raw.bindMemory(to: UInt8.self)) } } catch {
            throw invalid("the body is not JSON the ledger reads: \(error)")
        }
        guard case .object(let members) = json else { throw invalid("the body is a JSON object: {\"name\", \"role\", \"actor_prefix\", \"scopes\"}") }
        for key in members.keys where !["name", "role", "actor_prefix", "scopes"].contains(key) {
            throw invalid("\(JSONText.quoted(key)): not a field of a token (name, role, actor_prefix, scopes)")
        }
        guard let name = json["name"]?.stringValue else { throw invalid("name: required, a string") }
        guard let role = json["role"]?.stringValue.flatMap(Role.init(rawValue:)) else {
            throw invalid("role: required, one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let prefix: String?
        switch json["actor_prefix"] {
        case nil, .null?: prefix = nil
        case .string(let text)?: prefix = text
        default: throw invalid("actor_prefix: a string (or null)")
        }
        var scopes: [Scope] = []
        switch json["scopes"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard let scope = item.stringValue.flatMap(Scope.init) else { throw invalid("scopes: each is a string, region:R or case:ID") }
                scopes.append(scope)
            }
        default: throw invalid("scopes: an array of region:R or case:ID")
        }
        let (ledger, by, chosen) = (state.ledger, context.principal?.name ?? "admin", scopes)
        let made: (token: String, record: TokenRecord)
        do {
            made = try await Blocking.run { try ledger.createToken(name: name, role: role, actorPrefix: prefix, scopes: chosen, by: by) }
        } catch LedgerError.invalidInput(let reason) {
            throw invalid(reason)
        }
        state.tokens.invalidate()
        return Reply.json(.object(JSONObject([("name", .string(made.record.name)), ("role", .string(role.rawValue)), ("token", .string(made.token))])),
                          status: .created)
    }

    static func revokeToken(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let name = try context.pathParameter("name")
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
