import ArgumentParser
import CaseLedgerCore
import Foundation

struct Witness: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "The witness's side, run by a regulator or an auditor without the ledger.",
        subcommands: [Cosign.self])

    struct Cosign: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cosign",
            abstract: "Cosign a log's checkpoint if it is signed by the log's key and consistently extends the last one this witness cosigned.",
            discussion: "The state file remembers, per origin, the size and root last cosigned; an empty or missing state accepts the first checkpoint. A smaller size, another root at the same size, or a proof that does not check is refused (exit 4), and the state is left as it was.")

        @Option(help: ArgumentHelp("The witness's state file (created on the first cosignature).", valueName: "file"))
        var state: String

        @Option(help: ArgumentHelp("The witness's private cosigning key (key generate --witness).", valueName: "file"))
        var key: String

        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's verifier key, or a file holding it (repeatable).", valueName: "vkey"))
        var logKey: [String] = []

        @Option(help: ArgumentHelp("The checkpoint note to cosign.", valueName: "file"))
        var checkpoint: String

        @Option(help: ArgumentHelp("The consistency proof from the size held to the checkpoint's (caseledger prove consistency).", valueName: "file"))
        var proof: String?

        @Option(help: ArgumentHelp("Where to write the cosigned checkpoint.", valueName: "file"))
        var out: String

        @Flag(help: "Print {origin, tree_size, cosigned_at, out}.")
        var json = false

        func validate() throws {
            guard !logKey.isEmpty else { throw ValidationError("give the log's verifier key with --log-key") }
        }

        func run() throws {
            let witnessKey = try KeyFiles.signingKey(key)
            let logKeys = try logKey.map(KeyFiles.verifier)
            let stateText = FileManager.default.fileExists(atPath: state) ? try KeyFiles.read(state, what: "witness state") : ""
            var witness: WitnessState
            do throws(NoteError) { witness = try WitnessState(json: stateText) } catch {
                throw LedgerError.invalidInput("\(state): \(error)")
            }
            let hashes = try proof.map(KeyFiles.hashes) ?? []
            let time = LedgerClock.now().epochMicros / 1_000_000
            let noteText = try KeyFiles.read(checkpoint, what: "checkpoint")
            let note: SignedNote
            do throws(NoteError) {
                note = try witness.cosign(noteText: noteText, logKeys: logKeys, proof: hashes,
                                          key: witnessKey, time: time)
            } catch {
                throw LedgerError.verificationFailed(seq: nil, reason: error.description)
            }
            // The cosigned note first, then the state: a crash between leaves the witness able to cosign again.
            try AtomicFile.write(Array(note.noteText.utf8), to: out)
            try AtomicFile.write(CanonicalJSON.bytes(witness.json) + [0x0A], to: state, mode: 0o600)
            let cosigned = try Checkpoint(note: note)
            if json {
                print(JSONValue.object(JSONObject([("origin", .string(cosigned.origin)), ("tree_size", .int(cosigned.size)),
                                                   ("cosigned_at", .int(time)), ("out", .string(out))])).jsonLine, terminator: "")
            } else {
                print("cosigned \(cosigned.origin) at size \(cosigned.size) as \(witnessKey.name) → \(out)")
            }
        }
    }
}
