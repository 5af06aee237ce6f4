import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

/// Set by SIGINT during a replay: the copy loop stops and removes its partial output.
nonisolated(unsafe) private var interrupted: sig_atomic_t = 0

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Write the ledger as it stood into a new file: the selected events with their original seq, version and hash, and every projection rebuilt.",
        discussion: "--until: events that occurred up to T; --known-at: events recorded up to T; --until-seq: the log up to N; combined, they narrow. Every read command works on the output; append refuses it. The source is only read.")

    @OptionGroup var options: LedgerOptions

    @OptionGroup var selection: SelectionOptions

    @Option(help: ArgumentHelp("Rebuild compliance under this rulebook file instead of the rulebooks in force.", valueName: "file"))
    var rules: String?

    @Option(help: ArgumentHelp("The new ledger file to write (must not exist).", valueName: "path"))
    var out: String

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func run() throws {
        let rulebook = try rules.map(Compliance.loadRulebook)
        let filter = selection.filter
        let showProgress = !quiet && isatty(STDERR_FILENO) == 1
        let started = Date()
        signal(SIGINT) { _ in interrupted = 1 }
        defer { signal(SIGINT, SIG_DFL) }
        let summary = try Replay.run(source: options.path, output: out, filter: filter, rules: rulebook, progress: { done, total in
            guard showProgress else { return }
            let seconds = max(Date().timeIntervalSince(started), 0.001)
            let rate = Double(done) / seconds
            let eta = rate > 0 ? Double(total - done) / rate : 0
            let width = 30
            let filled = total > 0 ? Int(Double(width) * Double(done) / Double(total)) : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardError.write(Data(String(format: "\r%@ %lld/%lld events  %.0f ev/s  ETA %.0f s ", bar, done, total, rate, eta).utf8))
        }, cancelled: { interrupted != 0 })
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        if options.json {
            print(summary.info.jsonLine, terminator: "")
        } else {
            print("replayed \(summary.events) of \(summary.sourceEvents) events into \(summary.output) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
            print("  filters: \(CanonicalJSON.string(summary.info["filters"] ?? .null)); compliance: \(summary.info["rules"]?.stringValue ?? "?") (\((summary.info["rulebooks"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")))")
        }
    }
}
