import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "A consistent online copy of the ledger through SQLite's backup API, safe while a server or an append writes.",
        discussion: "The copy is the file as of one moment, written beside --out and renamed into place; it never overwrites a file. `caseledger verify --db FILE` checks it.")

    @OptionGroup var options: LedgerOptions

    @Option(help: ArgumentHelp("The copy to write (must not exist).", valueName: "file"))
    var out: String

    func run() throws {
        let summary = try Ledger(path: options.path, mode: .readOnly).backup(to: out)
        if options.json {
            print(summary.json.jsonLine, terminator: "")
        } else {
            print("backed up \(summary.events) events (head \(summary.headHash)) to \(summary.path), \(summary.bytes) bytes")
        }
    }
}
