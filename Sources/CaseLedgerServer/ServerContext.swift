import CaseLedgerCore
import CaseLedgerStore
import Hummingbird
import NIOCore
import Foundation
import Synchronization

/// What each request carries through the server: who is asking (set by the gatekeeper), the
/// connection (to close it after a 408 or 413), and the case ids a read returned, for the
/// access log.
struct LedgerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    var principal: TokenRecord?
    let returned = ReturnedCases()

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// A path parameter, percent-decoded (`/v1/tokens/a%40b` names the token `a@b`).
    func pathParameter(_ name: String) throws -> String {
        guard let raw = parameters.get(name), let value = raw.removingPercentEncoding, !value.isEmpty else {
            throw APIError.badRequest("the path's \(name) is missing or not valid percent-encoding")
        }
        return value
    }

    /// What this principal may read: everything, or a regulator's scopes.
    var scope: ReadScope {
        guard let principal, principal.role == .regulator else { return .everything }
        return .only(principal.scopes)
    }
}

/// The case ids a response holds, as the handler saw them.
final class ReturnedCases: Sendable {
    private let ids = Mutex<[String]>([])

    func note(_ caseID: String) { ids.withLock { $0.append(caseID) } }

    func note(_ caseIDs: some Sequence<String>) {
        let list = Array(caseIDs)
        ids.withLock { $0 += list }
    }

    /// Each once, in the order first returned.
    var all: [String] {
        var seen = Set<String>()
        return ids.withLock { $0 }.filter { seen.insert($0).inserted }
    }
}
