import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute the hash chain over the whole log.",
        discussion: "Exit 4 and the first bad seq when content, order or a hash does not match.")

    @OptionGroup var options: LedgerOptions

    func run() throws {
        let ledger = try Ledger(path: options.path, mode: .readOnly)
        do {
            let report = try ledger.verifyChain()
            if options.json {
                print(JSONValue.object(JSONObject([("ok", .bool(true)), ("events", .int(report.events)),
                                                   ("head_hash", .string(report.headHash))])).jsonLine, terminator: "")
            } else {
                print("ok: \(report.events) events, head \(report.headHash)")
            }
        } catch LedgerError.verificationFailed(let seq, let reason) {
            if options.json {
                print(JSONValue.object(JSONObject([("ok", .bool(false)), ("first_bad_seq", seq.map { .int($0) } ?? .null),
                                                   ("reason", .string(reason))])).jsonLine, terminator: "")
            }
            throw LedgerError.verificationFailed(seq: seq, reason: reason)
        }
    }
}
