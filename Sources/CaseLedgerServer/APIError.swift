import CaseLedgerCore
import Hummingbird
import HTTPTypes

/// An error answer: a status and `{"error": {"status", "message", …}}`. Every failure the server
/// reports goes through here, so every error body has the same shape (the OpenAPI spec's `Error`).
struct APIError: Error {
    let status: HTTPResponse.Status
    let message: String
    var details: [(key: String, value: JSONValue)] = []
    var headers: HTTPFields = [:]
    /// Close the connection after answering (a body cut off, or one never finished).
    var closeConnection = false

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, message: message) }
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, message: message) }
    static let unauthorized = APIError(status: .unauthorized, message: "send a valid token: Authorization: Bearer <token>",
                                       headers: [.wwwAuthenticate: #"Bearer realm="caseledger""#])

    static func forbidden(_ message: String) -> APIError { APIError(status: .forbidden, message: message) }

    static func methodNotAllowed(_ allowed: [HTTPRequest.Method]) -> APIError {
        APIError(status: .methodNotAllowed, message: "this path answers \(allowed.map(\.rawValue).joined(separator: ", ")) only",
                 headers: [.allow: allowed.map(\.rawValue).joined(separator: ", ")])
    }

    static func tooLarge(_ message: String) -> APIError {
        APIError(status: .contentTooLarge, message: message, closeConnection: true)
    }

    static let timedOut = APIError(status: .requestTimeout, message: "the request body did not arrive in time", closeConnection: true)

    /// A ledger error as HTTP: what was wrong, where, and nothing of the server's file system.
    init(_ error: LedgerError, ledgerPath: String) {
        func clean(_ text: String) -> String { text.replacingOccurrences(of: " in \(ledgerPath)", with: "").replacingOccurrences(of: ledgerPath, with: "the ledger") }
        switch error {
        case .invalidEvent(let line, let field, let reason):
            self.init(status: .unprocessableContent, message: error.description,
                      details: [("line", .int(Int64(line))), ("field", field.map { .string($0) } ?? .null), ("reason", .string(reason))])
        case .conflict(let line, let caseID, let expected, let actual):
            self.init(status: .conflict, message: error.description,
                      details: [("line", .int(Int64(line))), ("case_id", .string(caseID)), ("expected_version", .int(Int64(expected))),
                                ("actual_version", .int(Int64(actual)))])
        case .invalidInput(let reason): self.init(status: .badRequest, message: clean(reason))
        case .notFound(let what): self.init(status: .notFound, message: clean(what))
        case .alreadyExists(let what): self.init(status: .conflict, message: clean(what))
        // The file will not serve (a rulebook stored in it does not load, …): the server's fault.
        case .ledgerUnavailable(let reason): self.init(status: .internalServerError, message: clean(reason))
        case .verificationFailed: self.init(status: .internalServerError, message: clean(error.description))
        case .storage(let reason):
            if reason.contains("write lock") || reason.contains("shutting down") {
                self.init(status: .serviceUnavailable, message: clean(error.description), headers: [.retryAfter: "1"])
            } else {
                self.init(status: .internalServerError, message: clean(error.description))
            }
        }
    }

    init(status: HTTPResponse.Status, message: String, details: [(key: String, value: JSONValue)] = [], headers: HTTPFields = [:],
         closeConnection: Bool = false) {
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers
        self.closeConnection = closeConnection
    }

    var body: JSONValue {
        .object(JSONObject([("error", .object(JSONObject([("status", .int(Int64(status.code))), ("message", .string(message))] + details)))]))
    }

    var response: Response {
        var response = Reply.json(body, status: status)
        response.headers.append(contentsOf: headers)
        if closeConnection { response.headers[.connection] = "close" }
        return response
    }
}

/// Building answers: canonical JSON (the `--json` bytes), NDJSON, HTML, text.
enum Reply {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        bytes(CanonicalJSON.bytes(value) + [0x0A], type: "application/json", status: status)
    }

    static func bytes(_ bytes: [UInt8], type: String, status: HTTPResponse.Status = .ok) -> Response {
        buffer(ByteBuffer(bytes: bytes), type: type, status: status)
    }

    /// A body written straight into a buffer (a large report), sent without another copy.
    static func buffer(_ body: ByteBuffer, type: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: type], body: ResponseBody(byteBuffer: body))
    }

    static func text(_ text: String, type: String = "text/plain; charset=utf-8", status: HTTPResponse.Status = .ok) -> Response {
        bytes(Array(text.utf8), type: type, status: status)
    }
}
