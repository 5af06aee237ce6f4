import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute the hash chain over the whole log, and check every projection against a fresh rebuild; writes nothing.",
        discussion: "Exit 4, naming the first bad seq (or the projection and case), when anything does not match.")

    @OptionGroup var options: LedgerOptions

    func run() throws {
        // Read-only: verify never writes, not even to rebuild a projection; what it finds is reported as found.
        let ledger = try Ledger(path: options.path, mode: .readOnly)
        do {
            let report = try ledger.verify()
            if options.json {
                print(JSONValue.object(JSONObject([("ok", .bool(true)), ("events", .int(report.events)),
                                                   ("head_hash", .string(report.headHash)),
                                                   ("projections", .array(Projections.all.map { .string($0.name) }))])).jsonLine, terminator: "")
            } else {
                print("ok: \(report.events) events, head \(report.headHash)")
                print("projections ok: \(Projections.all.map(\.name).joined(separator: ", ")) equal a fresh rebuild")
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
