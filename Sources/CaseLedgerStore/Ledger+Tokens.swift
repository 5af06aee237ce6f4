import CaseLedgerCore
import Crypto
import Foundation
import GRDB

/// A server token as the ledger keeps it (never the token itself: its SHA-256).
public struct TokenRecord: Sendable, Equatable {
    public let name: String
    public let role: Role
    public let actorPrefix: String?
    public let scopes: [Scope]
    public let createdAt: String
    public let revokedAt: String?
    /// SHA-256 of the token, hex.
    let digest: String

    public var json: JSONValue {
        .object(JSONObject([
            ("name", .string(name)), ("role", .string(role.rawValue)), ("actor_prefix", actorPrefix.map { .string($0) } ?? .null),
            ("scopes", .array(scopes.map { .string($0.description) })), ("created_at", .string(createdAt)),
            ("revoked_at", revokedAt.map { .string($0) } ?? .null),
        ]))
    }
}

/// One entry of the access log: who read which cases' data, how, and with what outcome.
public struct AccessEntry: Sendable, Equatable {
    public let at: String
    public let tokenName: String
    public let role: String
    public let method: String
    public let path: String
    public let caseIDs: [String]
    public let status: Int

    public init(at: String, tokenName: String, role: String, method: String, path: String, caseIDs: [String], status: Int) {
        self.at = at
        self.tokenName = tokenName
        self.role = role
        self.method = method
        self.path = path
        self.caseIDs = caseIDs
        self.status = status
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("at", .string(at)), ("token", .string(tokenName)), ("role", .string(role)), ("method", .string(method)),
            ("path", .string(path)), ("case_ids", .array(caseIDs.map { .string($0) })), ("status", .int(Int64(status))),
        ]))
    }
}

extension Ledger {
    /// The bearer token a person types: `clt_` and 32 random bytes, base64url.
    static func newToken() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        return "clt_" + Base64.encode(bytes).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func digest(ofToken token: String) -> String {
        Hex.string(SHA256.hash(data: Array(token.utf8)).bytes)
    }

    /// Creates a token and returns it: the only time it is shown. Recorded in the access log.
    public func createToken(name: String, role: Role, actorPrefix: String?, scopes: [Scope], by who: String = "cli",
                            now: Timestamp = LedgerClock.now()) throws -> (token: String, record: TokenRecord) {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-@".contains($0) }) else {
            throw LedgerError.invalidInput("a token name is 1–64 letters, digits and . _ - @; got \(JSONText.quoted(name))")
        }
        if role == .regulator, scopes.isEmpty {
            throw LedgerError.invalidInput("a regulator token needs at least one --scope (region:R or case:ID)")
        }
        if role != .regulator, !scopes.isEmpty {
            throw LedgerError.invalidInput("only a regulator token takes --scope; the \(role.rawValue) role reads everything it may")
        }
        if actorPrefix != nil, role != .writer {
            throw LedgerError.invalidInput("only a writer token takes --actor-prefix")
        }
        let token = Self.newToken()
        let record = TokenRecord(name: name, role: role, actorPrefix: actorPrefix, scopes: scopes, createdAt: now.utcString, revokedAt: nil,
                                 digest: Self.digest(ofToken: token))
        try database.write { db in
            if try String.fetchOne(db, sql: "SELECT name FROM tokens WHERE name = ?", arguments: [name]) != nil {
                throw LedgerError.alreadyExists("a token named \(name) exists already (revoked or not); choose another name")
            }
            try db.execute(sql: "INSERT INTO tokens (name, role, token_sha256, actor_prefix, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [name, role.rawValue, record.digest, actorPrefix,
                                       CanonicalJSON.string(.array(scopes.map { .string($0.description) })), record.createdAt])
            try Self.record(db, [AccessEntry(at: now.utcString, tokenName: who, role: "admin", method: "TOKEN", path: "create \(name) (\(role.rawValue))",
                                             caseIDs: [], status: 0)])
        }
        return (token, record)
    }

    /// Revokes a token (its row stays, marked). Recorded in the access log.
    public func revokeToken(name: String, by who: String = "cli", now: Timestamp = LedgerClock.now()) throws {
        try database.write { db in
            guard try String.fetchOne(db, sql: "SELECT name FROM tokens WHERE name = ? AND revoked_at IS NULL", arguments: [name]) != nil else {
                throw LedgerError.notFound("no active token named \(JSONText.shown(name))")
            }
            try db.execute(sql: "UPDATE tokens SET revoked_at = ? WHERE name = ?", arguments: [now.utcString, name])
            try Self.record(db, [AccessEntry(at: now.utcString, tokenName: who, role: "admin", method: "TOKEN", path: "revoke \(name)",
                                             caseIDs: [], status: 0)])
        }
    }

    public func tokens() throws -> [TokenRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, role, token_sha256, actor_prefix, scopes, created_at, revoked_at FROM tokens ORDER BY name").map { row in
                let scopes = ((try? JSONParser.parse(row["scopes"] as String))?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(Scope.init) }
                return TokenRecord(name: row["name"], role: Role(rawValue: row["role"]) ?? .reader, actorPrefix: row["actor_prefix"],
                                   scopes: scopes, createdAt: row["created_at"], revokedAt: row["revoked_at"], digest: row["token_sha256"])
            }
        }
    }

    /// The active token matching `token`, compared in constant time against every active token's digest.
    public func authenticate(token: String) throws -> TokenRecord? {
        Self.matching(token: token, among: try tokens())
    }

    /// The active record among `records` whose digest is the token's. Every active digest is
    /// compared, each in time independent of where it differs, so the time taken says nothing
    /// about which token (or how much of one) was guessed.
    public static func matching(token: String, among records: [TokenRecord]) -> TokenRecord? {
        let given = Array(digest(ofToken: token).utf8)
        var found: TokenRecord?
        for record in records where record.revokedAt == nil {
            let stored = Array(record.digest.utf8)
            var difference: UInt8 = stored.count == given.count ? 0 : 1
            for index in 0..<min(stored.count, given.count) { difference |= stored[index] ^ given[index] }
            if difference == 0 { found = record }
        }
        return found
    }

    /// Appends entries to the access log (in the caller's transaction).
    static func record(_ db: Database, _ entries: [AccessEntry]) throws {
        guard !entries.isEmpty else { return }
        let insert = try RawStatement(db, "INSERT INTO access_log (at, token_name, role, method, path, case_ids, status) VALUES (?, ?, ?, ?, ?, ?, ?)")
        let cases = try RawStatement(db, "INSERT OR IGNORE INTO access_log_cases (access_id, case_id) VALUES (?, ?)")
        for entry in entries {
            insert.bind(1, entry.at)
            insert.bind(2, entry.tokenName)
            insert.bind(3, entry.role)
            insert.bind(4, entry.method)
            insert.bind(5, entry.path)
            insert.bind(6, CanonicalJSON.string(.array(entry.caseIDs.map { .string($0) })))
            insert.bind(7, Int64(entry.status))
            _ = try insert.step()
            insert.reset()
            let id = db.lastInsertedRowID
            for caseID in entry.caseIDs {
                cases.bind(1, id)
                cases.bind(2, caseID)
                _ = try cases.step()
                cases.reset()
            }
        }
    }

    /// Which access-log entries to read.
    public struct AccessQuery: Sendable {
        public var since: String?
        public var token: String?
        public var caseID: String?
        public var limit: Int
        /// The newest entries first (the console), instead of the oldest.
        public var newestFirst = false

        public init(since: String? = nil, token: String? = nil, caseID: String? = nil, limit: Int = 1000) {
            self.since = since
            self.token = token
            self.caseID = caseID
            self.limit = limit
        }
    }

    /// Access-log entries, oldest first, narrowed by time (UTC text), token and case.
    public func accessLog(_ query: AccessQuery = AccessQuery()) throws -> [AccessEntry] {
        try database.read { db in
            var conditions: [String] = []
            var arguments: [DatabaseValueConvertible] = []
            if let since = query.since {
                conditions.append("a.at >= ?")
                arguments.append(since)
            }
            if let token = query.token {
                conditions.append("a.token_name = ?")
                arguments.append(token)
            }
            if let caseID = query.caseID {
                conditions.append("a.id IN (SELECT access_id FROM access_log_cases WHERE case_id = ?)")
                arguments.append(caseID)
            }
            arguments.append(query.limit)
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT a.at, a.token_name, a.role, a.method, a.path, a.case_ids, a.status FROM access_log a \(filter) ORDER BY a.id\(query.newestFirst ? " DESC" : "") LIMIT ?",
                                    arguments: StatementArguments(arguments)).map { row in
                AccessEntry(at: row[0], tokenName: row[1], role: row[2], method: row[3], path: row[4],
                            caseIDs: ((try? JSONParser.parse(row[5] as String))?.arrayValue ?? []).compactMap(\.stringValue), status: row[6])
            }
        }
    }

    /// Writes access-log entries in their own transaction.
    public func recordAccess(_ entries: [AccessEntry]) throws {
        guard !entries.isEmpty else { return }
        try database.write { db in try Self.record(db, entries) }
    }
}
