import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Evidence: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "Write the evidence pack for a complaint: DIR/evidence.json and DIR/evidence.html.",
        discussion: "The HTML page is self-contained and printable: complaint, case then and now, every contact on the debtor's clock with the rules it broke, voided events struck through, the rulebooks with their sources, and the hash-chain check.")

    @OptionGroup var options: LedgerOptions

    @Option(help: "The complaint id (the complaint_id of its complaint.filed).")
    var complaint: String

    @Option(name: .customLong("case"), help: "The case, when the same complaint id is filed on several cases.")
    var caseID: String?

    @Option(help: ArgumentHelp("The folder to write into (created if missing).", valueName: "dir"))
    var out: String

    @Option(help: ArgumentHelp("A signed checkpoint: the pack then carries a proof of every event of the case against it (evidence.json → proof).", valueName: "file"))
    var checkpoint: String?

    @Option(help: ArgumentHelp("Judge the contacts by this rulebook file instead of the rulebooks in force (a what-if; the pack says when it is applied before its effective date).", valueName: "file"))
    var rules: String?

    func validate() throws {
        if out.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--out must name a folder for evidence.json and evidence.html")
        }
    }

    func run() throws {
        let ledger = try Ledger(path: options.path, mode: .read)
        let note = try checkpoint.map { try KeyFiles.read($0, what: "checkpoint") }
        let rulebook = try rules.map(Compliance.loadRulebook)
        let evidence = try ledger.evidence(complaint: complaint, caseID: caseID, checkpointNote: note, rulebook: rulebook)
        let (json, html) = try Self.write(evidence, into: out)
        let violations = evidence["violations"]?.arrayValue?.count ?? 0
        let verified = evidence["chain"]?["verified"]?.boolValue == true
        if options.json {
            print(JSONValue.object(JSONObject([("json", .string(json)), ("html", .string(html)),
                                               ("case_id", evidence["complaint"]?["filing"]?["case_id"] ?? .null),
                                               ("violations", .int(Int64(violations))), ("chain_verified", .bool(verified))])).jsonLine,
                  terminator: "")
        } else {
            print("evidence pack for complaint \(complaint) (case \(evidence["complaint"]?["filing"]?["case_id"]?.stringValue ?? "?")): \(violations) violations, chain \(verified ? "verified" : "NOT verified")")
            print("  \(json)")
            print("  \(html)")
        }
    }

    /// Writes `DIR/evidence.json` and `DIR/evidence.html`, each whole or not at all; returns their paths.
    static func write(_ evidence: JSONValue, into folder: String) throws -> (json: String, html: String) {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), !isFolder.boolValue {
            throw LedgerError.invalidInput("--out \(folder) is a file; give a folder for evidence.json and evidence.html")
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw LedgerError.invalidInput("cannot create the folder \(folder): \((error as NSError).localizedFailureReason ?? error.localizedDescription)")
        }
        let json = URL(fileURLWithPath: folder).appendingPathComponent("evidence.json").path
        let html = URL(fileURLWithPath: folder).appendingPathComponent("evidence.html").path
        try AtomicFile.write(CanonicalJSON.bytes(evidence) + [0x0A], to: json)
        try AtomicFile.write(Array(EvidenceHTML.render(evidence).utf8), to: html)
        return (json, html)
    }
}
