import CaseLedgerStore
import Crypto
import Foundation
import Synchronization

/// The console's sign-in sessions: a person pastes a token once and gets a random session id in
/// an `HttpOnly`, `SameSite=Strict` cookie (`Secure` behind TLS) that expires. The server keeps
/// only the id's SHA-256 and the token's name, in memory: a restart signs everyone out. Every
/// request looks the token up again, so revoking it ends its sessions within a second.
final class ConsoleSessions: Sendable {
    static let cookie = "caseledger_session"
    static let lifetime: TimeInterval = 8 * 3600

    private struct Session {
        let tokenName: String
        let expires: Date
    }

    private let sessions = Mutex<[String: Session]>([:])

    /// A new session for `token`; the id to set in the cookie.
    func open(for token: TokenRecord) -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        let id = bytes.map { String($0, radix: 16).leftPadded(2) }.joined()
        let now = Date()
        sessions.withLock { all in
            all = all.filter { $0.value.expires > now }
            all[Self.key(id)] = Session(tokenName: token.name, expires: now.addingTimeInterval(Self.lifetime))
        }
        return id
    }

    /// The token's name behind a live session.
    func tokenName(session id: String) -> String? {
        let now = Date()
        return sessions.withLock { all in
            guard let session = all[Self.key(id)], session.expires > now else { return nil }
            return session.tokenName
        }
    }

    func close(session id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: Self.key(id)) }
    }

    private static func key(_ id: String) -> String {
        SHA256.hash(data: Array(id.utf8)).map { String($0, radix: 16).leftPadded(2) }.joined()
    }

    /// The `Set-Cookie` value opening a session (and the one ending it).
    static func cookie(_ id: String, secure: Bool) -> String {
        "\(cookie)=\(id); Path=/; Max-Age=\(Int(lifetime)); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    static func expiredCookie(secure: Bool) -> String {
        "\(cookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The session id a request carries, if any.
    static func id(fromCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(cookie + "=") { return String(pair.dropFirst(cookie.count + 1)) }
        }
        return nil
    }
}
