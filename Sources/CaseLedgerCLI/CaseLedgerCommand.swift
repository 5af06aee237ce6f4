import ArgumentParser
import CaseLedgerCore
import Foundation

/// The `caseledger` command line (docs/cli.md). Each subcommand lives in its own file and stays
/// thin: parse, call the library, print.
public struct CaseLedgerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "caseledger",
        abstract: "An event-sourced, tamper-evident case ledger for bank debt collection.",
        version: "caseledger \(Release.version)",
        subcommands: [Init.self, Append.self, Log.self, Case.self, Complaint.self, Audit.self, Compliance.self, Evidence.self, ReplayCommand.self, Verify.self,
                      Key.self, CheckpointCommand.self, Prove.self, Witness.self, Rebuild.self, Generate.self, Demo.self, Timings.self,
                      Serve.self, Token.self, AccessLog.self, ContactCheckCommand.self, Backup.self]
    )

    public init() {}

    /// Runs the command line and returns the process exit code: 0 ok, 1 error, 2 usage,
    /// 3 concurrency conflict, 4 verification failed.
    public static func run(arguments: [String]) -> Int32 {
        do {
            // A tuning variable set wrong would otherwise be ignored without a word.
            for case .failure(let error) in Limits.tuning(ProcessInfo.processInfo.environment) {
                Console.error("error: \(error.path): \(error.reason)")
                return 2
            }
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch let error as LedgerError {
            Console.error("error: \(error.description)")
            return error.exitCode
        } catch let code as ExitCode {
            return code.rawValue
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                return 0
            }
            Console.error(fullMessage(for: error))
            return code == .validationFailure ? 2 : code.rawValue
        }
    }
}

/// `--db`, declared once.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The ledger file.", discussion: "Default: $CASELEDGER_DB, else ./caseledger.sqlite.", valueName: "path"))
    var db: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["CASELEDGER_DB"] ?? "./caseledger.sqlite"
    }
}

/// The options every command that prints data shares: `--db` and `--json`.
struct LedgerOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOption

    @Flag(name: .long, help: "Print exactly one JSON document (or NDJSON where noted) on stdout.")
    var json = false

    var path: String { database.path }
}

/// Output: data to stdout (buffered, for large listings), people's messages to stderr.
enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

/// Buffered stdout for listings of millions of lines.
final class StdoutWriter {
    private var buffer: [UInt8] = []
    private let flushBytes = 1 << 16

    init() { buffer.reserveCapacity(flushBytes + 4096) }

    func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushBytes { flush() }
    }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= flushBytes { flush() }
    }

    /// Lets a caller write straight into the buffer.
    func append(_ body: (inout [UInt8]) -> Void) {
        body(&buffer)
        if buffer.count >= flushBytes { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { if errno == EINTR { continue } else { return } }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

extension JSONValue {
    /// One line of canonical JSON, for `--json` output.
    var jsonLine: String { CanonicalJSON.string(self) + "\n" }
}
