import CaseLedgerCore
import CaseLedgerStore
import Hummingbird
import Logging
import NIOCore

/// Every request passes here first: a path the API does not have is 404, a method it does not
/// take 405; then the token (401 when missing or unknown) and the role (403, or 404 for a
/// regulator, to whom whatever it may not see does not exist). Errors become JSON answers here,
/// so the status is known when the access log records the request, and one log line is written.
struct Gatekeeper: RouterMiddleware {
    typealias Context = LedgerContext
    let state: ServerState

    func handle(_ request: Request, context: LedgerContext, next: (Request, LedgerContext) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        var endpoint: Endpoint?
        var response: Response
        do {
            switch Endpoints.match(method: request.method, path: request.uri.path) {
            case .none: throw APIError.notFound("no such path: \(JSONText.shown(request.uri.path)); the API is under /v1 (GET /healthz for liveness)")
            case .wrongMethod(let allowed): throw APIError.methodNotAllowed(allowed)
            case .endpoint(let found):
                endpoint = found
                if let roles = found.roles {
                    context.principal = try await authenticate(request)
                    guard let principal = context.principal, roles.contains(principal.role) else {
                        throw context.principal?.role == .regulator
                            ? APIError.notFound("no such resource")
                            : APIError.forbidden("the \(context.principal?.role.rawValue ?? "") role may not \(request.method.rawValue) \(found.path)")
                    }
                }
            }
            response = try await next(request, context)
        } catch {
            response = answer(error)
        }
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

    private func answer(_ error: any Error) -> Response {
        switch error {
        case let error as APIError: return error.response
        case let error as LedgerError: return APIError(error, ledgerPath: state.ledger.path).response
        case let error as HTTPError:
            return APIError(status: error.status, message: error.body ?? error.status.reasonPhrase).response
        default:
            state.logger.error("unexpected error", metadata: ["error": "\(error)"])
            return APIError(status: .internalServerError, message: "internal error; the server's log has the details").response
        }
    }
}
