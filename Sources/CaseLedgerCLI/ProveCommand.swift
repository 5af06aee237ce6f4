import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Prove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Offline proofs against a signed checkpoint: that an event, or every event of a case, is in the log, and that the log only grew.",
        subcommands: [Inclusion.self, Consistency.self, CaseProof.self])

    struct Inclusion: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inclusion",
            abstract: "A C2SP tlog-proof that the event at SEQ is in the checkpoint's tree.")

        @OptionGroup var options: LedgerOptions

        @Option(help: "The event's seq.")
        var seq: Int64

        @Option(help: ArgumentHelp("The checkpoint note to prove against.", valueName: "file"))
        var checkpoint: String

        @Option(help: ArgumentHelp("Write the proof to this file instead of printing it.", valueName: "file"))
        var out: String?

        func run() throws {
            let proof = try Ledger(path: options.path, mode: .read).inclusionProof(seq: seq, checkpointNote: try KeyFiles.read(checkpoint, what: "checkpoint"))
            try KeyFiles.output(proof.text, to: out)
        }
    }

    struct Consistency: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "consistency",
            abstract: "The RFC 9162 consistency proof from tree size SIZE to the checkpoint's size: base64 hashes, one per line.")

        @OptionGroup var options: LedgerOptions

        @Option(help: "The older tree size.")
        var from: Int64

        @Option(help: ArgumentHelp("The newer checkpoint note.", valueName: "file"))
        var checkpoint: String

        @Option(help: ArgumentHelp("Write the proof to this file instead of printing it.", valueName: "file"))
        var out: String?

        func run() throws {
            let hashes = try Ledger(path: options.path, mode: .read).consistencyProof(from: from, checkpointNote: try KeyFiles.read(checkpoint, what: "checkpoint"))
            try KeyFiles.output(hashes.map { Base64.encode($0) + "\n" }.joined(), to: out)
        }
    }

    struct CaseProof: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "case",
            abstract: "Every event of a case in the checkpoint's tree, each with its inclusion proof, as JSON.",
            discussion: "A regulator checks it with Tools/verify_proof.py and none of the other cases' data. It proves the events are in the log, in this order; it does not prove that no event came after the last one shown.")

        @OptionGroup var options: LedgerOptions

        @Option(name: .customLong("case"), help: "The case id.")
        var caseID: String

        @Option(help: ArgumentHelp("The checkpoint note to prove against.", valueName: "file"))
        var checkpoint: String

        @Option(help: ArgumentHelp("The JSON file to write.", valueName: "file"))
        var out: String

        func run() throws {
            let proof = try Ledger(path: options.path, mode: .read).caseProof(caseID: caseID, checkpointNote: try KeyFiles.read(checkpoint, what: "checkpoint"))
            try AtomicFile.write(CanonicalJSON.bytes(proof) + [0x0A], to: out)
            let events = proof["events"]?.arrayValue?.count ?? 0
            if options.json {
                print(JSONValue.object(JSONObject([("out", .string(out)), ("case_id", .string(caseID)), ("events", .int(Int64(events))),
                                                   ("tree_size", proof["tree_size"] ?? .null)])).jsonLine, terminator: "")
            } else {
                print("\(events) events of case \(caseID) with their inclusion proofs at size \(proof["tree_size"]?.intValue ?? 0) → \(out)")
            }
        }
    }
}
