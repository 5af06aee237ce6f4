import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create an empty ledger (does nothing to an existing one).")

    @OptionGroup var options: LedgerOptions

    func run() throws {
        let ledger = try Ledger(path: options.path, mode: .create)
        let head = try ledger.head()
        if options.json {
            print(JSONValue.object(JSONObject([("path", .string(options.path)), ("head_seq", .int(head.seq)),
                                               ("head_hash", .string(head.hash))])).jsonLine, terminator: "")
        } else {
            print("ledger ready at \(options.path): head seq \(head.seq), hash \(head.hash)")
        }
    }
}
