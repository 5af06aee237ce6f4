import CaseLedgerCore
import CaseLedgerStore
import Logging
import Synchronization

/// How `caseledger serve` runs: where it listens and the limits it keeps.
public struct ServerSettings: Sendable {
    /// Loopback by default: TLS and the outside world belong to a reverse proxy in front.
    public var host = "127.0.0.1"
    /// 0: any free port (the one chosen is announced).
    public var port = 8080
    /// Largest request body; a larger one is answered 413 once this much has been read.
    public var maxBodyBytes = 16 << 20
    /// Most events in one `POST /v1/events`.
    public var maxRequestEvents = 10_000
    /// Open connections served at once; past this, 503 with `Retry-After`.
    public var maxConnections = 1024
    /// A connection with no request in progress and nothing sent for this long is closed.
    public var idleTimeoutSeconds = 30
    /// A request body must arrive whole within this; else 408.
    public var bodyTimeoutSeconds = 10
    /// Longest `wait` of the change feed.
    public var maxWaitSeconds = 60
    /// Most events or cases in one page of the feed or of a list.
    public var maxPage = 10_000
    /// When set, the server signs a checkpoint of the log with these keys whenever the log has
    /// grown, at most every `checkpointEverySeconds`.
    public var checkpointKeys: [NoteSigningKey] = []
    public var checkpointEverySeconds = 60
    /// Log level of the JSON lines on stderr.
    public var logLevel: Logger.Level = .info
    /// Mark console cookies `Secure` always (they are whenever a proxy says the request came by
    /// HTTPS, `X-Forwarded-Proto: https`).
    public var secureCookies = false

    public init() {}
}

/// Everything a handler needs, shared by all requests.
final class ServerState: Sendable {
    let ledger: Ledger
    let settings: ServerSettings
    let metrics: ServerMetrics
    let watcher: HeadWatcher
    let committer: GroupCommitter
    let tokens: TokenCache
    let sessions = ConsoleSessions()
    /// The console's last `verify`: when, how long, and what it found.
    let lastVerification = Mutex<(at: String, seconds: Double, outcome: String, ok: Bool)?>(nil)
    let logger: Logger
    /// In a replay, the hash each event chains from where its predecessor was left out (empty for a live ledger).
    let replayLinks: [Int64: String]

    init(ledger: Ledger, settings: ServerSettings, logger: Logger) throws {
        self.ledger = ledger
        self.settings = settings
        self.logger = logger
        metrics = ServerMetrics()
        watcher = HeadWatcher(head: try ledger.head().seq, metrics: metrics)
        committer = GroupCommitter(ledger: ledger, watcher: watcher, metrics: metrics, logger: logger)
        tokens = TokenCache(ledger: ledger)
        replayLinks = try ledger.replayLinks()
    }
}

/// The tokens, read from the ledger at most once a second: a token created or revoked with
/// `caseledger token …` (another process) takes effect within a second, and a request costs no
/// read of the tokens table. A token not found is looked for again in a fresher read (at most
/// every quarter second), so a token just created works at once.
final class TokenCache: Sendable {
    static let freshness = Duration.seconds(1)
    static let retryAfter = Duration.milliseconds(250)
    private let ledger: Ledger
    private let cached = Mutex<(read: ContinuousClock.Instant, records: [TokenRecord])?>(nil)

    init(ledger: Ledger) { self.ledger = ledger }

    func authenticate(_ token: String) async throws -> TokenRecord? {
        if let found = Ledger.matching(token: token, among: try await records(maxAge: Self.freshness)) { return found }
        return Ledger.matching(token: token, among: try await records(maxAge: Self.retryAfter))
    }

    /// The active token named `name` (a console session's), as fresh as a bearer token's.
    func active(named name: String) async throws -> TokenRecord? {
        try await records(maxAge: Self.freshness).first { $0.name == name && $0.revokedAt == nil }
    }

    /// Forgets what was read (after a change made through the API).
    func invalidate() { cached.withLock { $0 = nil } }

    private func records(maxAge: Duration) async throws -> [TokenRecord] {
        let now = ContinuousClock.now
        if let fresh = cached.withLock({ cached in cached.flatMap { now - $0.read < maxAge ? $0.records : nil } }) { return fresh }
        let ledger = self.ledger
        let records = try await Blocking.run { try ledger.tokens() }
        cached.withLock { $0 = (now, records) }
        return records
    }
}
