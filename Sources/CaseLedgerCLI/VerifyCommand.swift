import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the hash chain and the Merkle tree from the events, check checkpoints against them, and every projection against a fresh rebuild; writes nothing.",
        discussion: """
            Exit 4, naming the first bad seq (or the tile, checkpoint, projection and case), when anything does not match.
            With --checkpoint: each must carry a valid signature of a --verifier-key, and the log's first `size` events must have \
            exactly its root (a checkpoint larger than the log means the log was cut). A witness's cosignature, checked with its \
            verifier key, also bounds recorded_at: no event inside the checkpoint may say it was recorded after the witness saw it.
            """)

    @OptionGroup var options: LedgerOptions

    @Option(help: ArgumentHelp("A signed checkpoint note held outside the ledger (repeatable).", valueName: "file"))
    var checkpoint: [String] = []

    @Option(name: .customLong("verifier-key"), help: ArgumentHelp("A log's or witness's verifier key, or a file holding one (repeatable).", valueName: "key"))
    var verifierKey: [String] = []

    func validate() throws {
        if !checkpoint.isEmpty, verifierKey.isEmpty {
            throw ValidationError("a checkpoint is checked against the log's key: give --verifier-key")
        }
    }

    func run() throws {
        let given = try checkpoint.map { GivenCheckpoint(label: $0, noteText: try KeyFiles.read($0, what: "checkpoint")) }
        let keys = try verifierKey.map(KeyFiles.verifier)
        // Read-only: verify never writes, not even to rebuild a projection; what it finds is reported as found.
        let ledger = try Ledger(path: options.path, mode: .readOnly)
        do {
            let report = try ledger.verify(checkpoints: given, keys: keys)
            if options.json {
                print(report.json.jsonLine, terminator: "")
            } else {
                print("ok: \(report.events) events, head \(report.headHash)")
                if report.treeStored {
                    print("merkle tree ok: \(report.treeSize) leaves, root \(Base64.encode(report.treeRoot)), every stored tile equal to the events'")
                } else {
                    print("merkle tree recomputed: \(report.treeSize) leaves, root \(Base64.encode(report.treeRoot)); this file predates the stored tree (any other command stores it)")
                }
                for check in report.checkpoints { print(Self.sentence(check)) }
                print("projections ok: \(report.projectionsCompared.joined(separator: ", ")) equal a fresh rebuild")
                if !report.projectionsNotCompared.isEmpty {
                    print("not compared: \(report.projectionsNotCompared.joined(separator: ", ")), not yet built by this release in this file (any reading command builds them; verify writes nothing)")
                }
            }
        } catch LedgerError.verificationFailed(let seq, let reason) {
            if options.json {
                print(ChainReport.failureJSON(seq: seq, reason: reason).jsonLine, terminator: "")
            }
            throw LedgerError.verificationFailed(seq: seq, reason: reason)
        }
    }

    static func sentence(_ check: CheckpointCheck) -> String {
        var text = "checkpoint \(check.label) ok: \(check.checkpoint.origin) at size \(check.checkpoint.size), root matches the events"
        if !check.signers.isEmpty {
            text += "; signed by " + check.signers.map { "\($0.name) (\(Hex.string($0.keyID)))" }.joined(separator: ", ")
        }
        for (witness, time) in check.cosigners {
            text += "; cosigned by \(witness.name) at \(Timestamp(epochMicros: time * 1_000_000).utcString), no event inside recorded later"
        }
        return text
    }
}
