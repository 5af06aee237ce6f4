import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct AccessLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-log",
        abstract: "Who read which case's data through the server, and every token change: oldest first.")

    @OptionGroup var options: LedgerOptions

    @Option(help: "Only entries at or after this time (RFC 3339).")
    var since: String?

    @Option(help: "Only this token's entries (by name).")
    var token: String?

    @Option(name: .customLong("case"), help: "Only requests that returned this case.")
    var caseID: String?

    @Option(help: "At most this many entries.")
    var limit = 1000

    func validate() throws {
        if let since, Timestamp(rfc3339: since) == nil { throw ValidationError(TimeBound.problem(since, option: "--since")) }
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let entries = try Ledger(path: options.path, mode: .read).accessLog(Ledger.AccessQuery(
            since: since.flatMap { Timestamp(rfc3339: $0)?.utcString }, token: token, caseID: caseID, limit: limit))
        if options.json {
            print(JSONValue.array(entries.map(\.json)).jsonLine, terminator: "")
            return
        }
        for entry in entries {
            let cases = entry.caseIDs.isEmpty ? "" : "\t" + entry.caseIDs.prefix(10).joined(separator: ",") + (entry.caseIDs.count > 10 ? ",… (\(entry.caseIDs.count))" : "")
            print("\(entry.at)\t\(entry.tokenName) (\(entry.role))\t\(entry.method) \(entry.path)\t\(entry.status == 0 ? "-" : String(entry.status))\(cases)")
        }
    }
}
