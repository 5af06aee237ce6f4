import ArgumentParser
import CaseLedgerCore
import CaseLedgerServer
import CaseLedgerStore
import Dispatch
import Foundation
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the ledger over HTTP: appends with group commit, reads, the change feed, contact checks, evidence and proofs.",
        discussion: """
            Binds to loopback by default; put TLS in a reverse proxy in front. Requests carry a bearer token \
            (caseledger token create). SIGTERM or SIGINT stop it gracefully: requests in flight finish, every \
            acknowledged append is on disk, exit 0. Logs are JSON lines on stderr; the first line on stdout says \
            where it listens.
            """)

    @OptionGroup var database: DatabaseOption
    @OptionGroup var server: ServerOptions

    func run() throws {
        let settings = try server.settings()
        let path = database.path
        try runBlocking { try await LedgerServer.run(path: path, settings: settings) { line in Self.announce(line) } }
    }

    /// One line on stdout, written at once (stdout may be a pipe a supervisor or a test reads).
    static func announce(_ line: String) {
        fflush(nil)  // what print() buffered comes first
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { raw in _ = Foundation.write(STDOUT_FILENO, raw.baseAddress!, raw.count) }
    }
}

/// The server's options, shared by `serve` and `demo --serve`.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (loopback by default: TLS belongs to a reverse proxy).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, announced on stdout).")
    var port = 8080

    @Option(name: .customLong("checkpoint-key"), help: ArgumentHelp("Sign a checkpoint with this key file whenever the log has grown (repeatable).", valueName: "file"))
    var checkpointKey: [String] = []

    @Option(name: .customLong("checkpoint-every"), help: ArgumentHelp("Seconds between checkpoints (with --checkpoint-key).", valueName: "seconds"))
    var checkpointEvery = 60

    @Option(name: .customLong("max-connections"), help: "Open connections served at once; more are answered 503 with Retry-After.")
    var maxConnections = 1024

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body (413 beyond it).")
    var maxBodyBytes = 16 << 20

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Close a connection idle this long.", valueName: "seconds"))
    var idleTimeout = 30

    @Option(name: .customLong("body-timeout"), help: ArgumentHelp("Answer 408 when a request body takes longer than this.", valueName: "seconds"))
    var bodyTimeout = 10

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1 second") }
        guard maxConnections >= 1, maxBodyBytes >= 1024, idleTimeout >= 1, bodyTimeout >= 1 else {
            throw ValidationError("--max-connections, --idle-timeout and --body-timeout must be at least 1, --max-body-bytes at least 1024")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: trace, debug, info, notice, warning, error or critical") }
    }

    func settings() throws -> ServerSettings {
        var settings = ServerSettings()
        settings.host = host
        settings.port = port
        settings.checkpointKeys = try checkpointKey.map(KeyFiles.signingKey)
        settings.checkpointEverySeconds = checkpointEvery
        settings.maxConnections = maxConnections
        settings.maxBodyBytes = maxBodyBytes
        settings.idleTimeoutSeconds = idleTimeout
        settings.bodyTimeoutSeconds = bodyTimeout
        settings.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return settings
    }
}

/// Runs async work from a synchronous command and waits for it (the commands are synchronous;
/// the server and the feed are not).
func runBlocking(_ work: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    let outcome = Outcome()
    Task {
        do { try await work() } catch { outcome.error = error }
        done.signal()
    }
    done.wait()
    if let error = outcome.error { throw error }
}

private final class Outcome: @unchecked Sendable {
    var error: (any Error)?
}
