import CaseLedgerCore
import CaseLedgerStore
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `caseledger serve`: one ledger over HTTP/1.1.
///
/// ```swift
/// try await LedgerServer.run(path: "caseledger.sqlite", settings: ServerSettings()) { print($0) }
/// ```
///
/// Appends go to one writer thread that group-commits them (`GroupCommitter`); reads go to the
/// pool's reader connections on the blocking queue; the change feed waits on `HeadWatcher`.
/// SIGTERM or SIGINT: the feed's waiters are answered, the listener stops accepting, requests in
/// flight finish (appends included: each is acknowledged only once on disk), the writer commits
/// what it holds and stops, and `run` returns.
public enum LedgerServer {
    /// Every method and path the server answers (for the test that holds the OpenAPI spec to them).
    public static var routes: [(method: String, path: String)] { Endpoints.api.map { ($0.method.rawValue, $0.path) } }

    public static func run(path: String, settings: ServerSettings, announce: @escaping @Sendable (String) -> Void) async throws {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, logLevel: settings.logLevel) }
        let logger = Logger(label: "caseledger")
        let ledger = try Ledger(path: path, mode: .serve) { message in logger.info("\(message)") }
        let state = try ServerState(ledger: ledger, settings: settings, logger: logger)
        state.metrics.bootstrap()
        state.committer.start()
        defer { state.committer.stop() }

        let router = Router(context: LedgerContext.self)
        router.add(middleware: Gatekeeper(state: state))
        router.add(middleware: MetricsMiddleware())
        for endpoint in Endpoints.all {
            router.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
                try await endpoint.handler(request, context, state)
            }
        }
        let limiter = ConnectionLimiter(limit: settings.maxConnections, metrics: state.metrics)
        let app = Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [limiter.handler()],
                                                idleTimeout: .seconds(Int64(settings.idleTimeoutSeconds)))),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "caseledger/\(Release.version)"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                logger.info("listening", metadata: ["host": .string(settings.host), "port": .stringConvertible(port), "ledger": .string(path)])
                announce("caseledger \(Release.version) serving \(path) on http://\(settings.host):\(port)")
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [app, Housekeeping(state: state)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped: every acknowledged event is on disk")
    }
}

/// Runs beside the listener: rings the change feed's doorbell for appends made by other
/// processes, signs checkpoints when the server holds a key, and at shutdown answers the
/// feed's waiters first (it is the first service stopped), so no long poll holds up the exit.
struct Housekeeping: Service {
    let state: ServerState

    func run() async throws {
        await withGracefulShutdownHandler {
            var lastSigned: ContinuousClock.Instant?
            var signedSize: Int64 = -1
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                if state.watcher.hasWaiters {
                    let ledger = state.ledger
                    if let head = try? await Blocking.run({ try ledger.head().seq }) { state.watcher.advance(to: head) }
                }
                let keys = state.settings.checkpointKeys
                if !keys.isEmpty, lastSigned.map({ ContinuousClock.now - $0 >= .seconds(state.settings.checkpointEverySeconds) }) ?? true {
                    lastSigned = ContinuousClock.now
                    signedSize = await sign(keys, unless: signedSize)
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        } onGracefulShutdown: {
            state.watcher.close()
        }
    }

    /// Signs a checkpoint when the log has grown past `size`; returns the size signed (or `size`).
    private func sign(_ keys: [NoteSigningKey], unless size: Int64) async -> Int64 {
        let ledger = state.ledger
        do {
            return try await Blocking.run {
                let head = try ledger.head().seq
                let held = try ledger.checkpoints().last { $0.checkpoint.origin == keys[0].name }
                if head == size || held?.checkpoint.size == head { return head }
                return try ledger.signCheckpoint(keys: keys).checkpoint.size
            }
        } catch {
            state.logger.error("checkpoint not signed", metadata: ["error": "\(error)"])
            return size
        }
    }
}
