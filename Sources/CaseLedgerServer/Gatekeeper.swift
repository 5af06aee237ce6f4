import CaseLedgerCore
import CaseLedgerStore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Every request passes here first: a path the server does not have is 404, a method it does not
/// take 405; then who is asking — a bearer token for the API (401 when missing or unknown), a
/// session cookie for the console (a redirect to the sign-in page) — and the role (403, or 404 for
/// a regulator, to whom whatever it may not see does not exist). Errors become answers here (JSON
/// for the API, a page for the console), so the status is known when the access log records
/// the request, and one log line is written.
struct Gatekeeper: RouterMiddleware {
    typealias Context = LedgerContext
    let state: ServerState

    func handle(_ request: Request, context: LedgerContext, next: (Request, LedgerContext) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        var endpoint: Endpoint?
        var response: Response
        let console = Endpoints.isConsole(request.uri.path)
        do {
            switch Endpoints.match(method: request.method, path: request.uri.path) {
            case .none: throw APIError.notFound("no such path: \(JSONText.shown(request.uri.path))" + (console ? "" : "; the API is under /v1 (GET /healthz for liveness)"))
            case .wrongMethod(let allowed): throw APIError.methodNotAllowed(allowed)
            case .endpoint(let found):
                endpoint = found
                if let roles = found.roles {
                    if found.surface == .console {
                        guard let principal = try await sessionPrincipal(request) else { return Console.signInRedirect(request) }
                        context.principal = principal
                        if request.method == .post { try Console.checkSameOrigin(request) }
                    } else {
                        context.principal = try await authenticate(request)
                    }
                    guard let principal = context.principal, roles.contains(principal.role) else {
                        throw context.principal?.role == .regulator
                            ? APIError.notFound("no such resource")
                            : APIError.forbidden("the \(context.principal?.role.rawValue ?? "") role may not \(request.method.rawValue) \(found.path)")
                    }
                }
            }
            response = try await next(request, context)
        } catch {
            response = console ? Console.errorPage(error, context: context, state: state) : answer(error)
        }
        if console { Console.harden(&response) }
        if let endpoint, endpoint.readsCaseData, let principal = context.principal {
            state.committer.record([AccessEntry(at: LedgerClock.now().utcString, tokenName: principal.name, role: principal.role.rawValue,
                                                method: request.method.rawValue, path: request.uri.description,
                                                caseIDs: context.returned.all, status: Int(response.status.code))])
        }
        if response.headers[.connection] == "close" {
            // A 408 or 413: the rest of the body is not read. Time to write the answer, then close.
            let channel = context.channel
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
        let elapsed = ContinuousClock.now - started
        state.logger.log(level: response.status.code >= 500 ? .error : .info, "request", metadata: [
            "method": .string(request.method.rawValue), "path": .string(request.uri.path), "status": .stringConvertible(Int(response.status.code)),
            "ms": .string(String(format: "%.3f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)),
            "token": .string(context.principal?.name ?? "-"),
        ])
        return response
    }

    private func authenticate(_ request: Request) async throws -> TokenRecord {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else { throw APIError.unauthorized }
        guard let principal = try await state.tokens.authenticate(String(header.dropFirst(7))) else { throw APIError.unauthorized }
        return principal
    }

    /// The token behind the request's console session, if it is live and the token not revoked.
    private func sessionPrincipal(_ request: Request) async throws -> TokenRecord? {
        guard let id = ConsoleSessions.id(fromCookieHeader: request.headers[.cookie]), let name = state.sessions.tokenName(session: id) else { return nil }
        return try await state.tokens.active(named: name)
    }

    private func answer(_ error: any Error) -> Response {
        APIError.from(error, state: state).response
    }
}

extension APIError {
    /// Any error as an answer; what the server did not foresee is logged and answered 500.
    static func from(_ error: any Error, state: ServerState) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as LedgerError: return APIError(error, ledgerPath: state.ledger.path)
        case let error as HTTPError: return APIError(status: error.status, message: error.body ?? error.status.reasonPhrase)
        default:
            state.logger.error("unexpected error", metadata: ["error": "\(error)"])
            return APIError(status: .internalServerError, message: "internal error; the server's log has the details")
        }
    }
}
