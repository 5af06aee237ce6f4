import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Evidence: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the evidence pack for a complaint: DIR/evidence.json and DIR/evidence.html.",
        discussion: "The HTML page is self-contained and printable: complaint, case then and now, every contact on the debtor's clock with the rules it broke, voided events struck through, the rulebooks with their sources, and the hash-chain check.")

    @OptionGroup var options: LedgerOptions

    @Option(help: "The complaint id (the complaint_id of its complaint.filed).")
    var complaint: String

    @Option(name: .customLong("case"), help: "The case, when the same complaint id is filed on several cases.")
    var caseID: String?

    @Option(help: ArgumentHelp("The folder to write into (created if missing).", valueName: "dir"))
    var out: String

    func run() throws {
        let ledger = try Ledger(path: options.path, mode: .read)
        let evidence = try ledger.evidence(complaint: complaint, caseID: caseID)
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let json = folder.appendingPathComponent("evidence.json")
        let html = folder.appendingPathComponent("evidence.html")
        try Self.writeAtomically(Data(CanonicalJSON.bytes(evidence) + [0x0A]), to: json)
        try Self.writeAtomically(Data(EvidenceHTML.render(evidence).utf8), to: html)
        let violations = evidence["violations"]?.arrayValue?.count ?? 0
        let verified = evidence["chain"]?["verified"]?.boolValue == true
        if options.json {
            print(JSONValue.object(JSONObject([("json", .string(json.path)), ("html", .string(html.path)),
                                               ("case_id", evidence["complaint"]?["filing"]?["case_id"] ?? .null),
                                               ("violations", .int(Int64(violations))), ("chain_verified", .bool(verified))])).jsonLine,
                  terminator: "")
        } else {
            print("evidence pack for complaint \(complaint) (case \(evidence["complaint"]?["filing"]?["case_id"]?.stringValue ?? "?")): \(violations) violations, chain \(verified ? "verified" : "NOT verified")")
            print("  \(json.path)")
            print("  \(html.path)")
        }
    }

    /// Writes to a temporary file beside `url`, then renames: a reader never sees half a file.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try data.write(to: temporary)
            if FileManager.default.fileExists(atPath: url.path) { _ = try FileManager.default.replaceItemAt(url, withItemAt: temporary) } else {
                try FileManager.default.moveItem(at: temporary, to: url)
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw LedgerError.invalidInput("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
