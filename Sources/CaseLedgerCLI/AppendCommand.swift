import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Append: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append NDJSON events from FILE or stdin: the whole batch, or nothing.",
        discussion: "Exit 1 names the first bad line and why; exit 3 is an expected_version conflict. A repeated event_id with the same content is a no-op.")

    @OptionGroup var options: LedgerOptions

    @Argument(help: "NDJSON file of events; '-' or nothing reads stdin.")
    var file: String?

    func run() throws {
        let ledger = try Ledger(path: options.path, mode: .create)
        let descriptor: Int32
        if let file, file != "-" {
            descriptor = open(file, O_RDONLY)
            guard descriptor >= 0 else {
                throw LedgerError.invalidInput("cannot open \(file): \(String(cString: strerror(errno)))")
            }
        } else {
            descriptor = STDIN_FILENO
        }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        let summary = try ledger.append(ndjsonFrom: descriptor)
        if options.json {
            print(summary.json.jsonLine, terminator: "")
        } else {
            print("appended \(summary.appended) events (\(summary.duplicates) duplicates ignored); head seq \(summary.headSeq), hash \(summary.headHash)")
            for r in summary.repeats.prefix(20) {
                print("  line \(r.line): \(r.eventID) is already recorded at seq \(r.seq)")
            }
            if summary.duplicates > 20 { print("  … and \(summary.duplicates - 20) more") }
        }
    }
}
