import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign the log's Merkle tree head as a C2SP checkpoint, and list or import the checkpoints the ledger holds.",
        subcommands: [Sign.self, List.self, Import.self],
        defaultSubcommand: Sign.self)

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign",
            abstract: "Sign the current head (size = head seq) and print the checkpoint note; the ledger keeps it.",
            discussion: "Refuses (exit 4) when a checkpoint it already holds for the key's origin disagrees with the tree now: the log was cut or rewritten since. Give --key twice to sign with two keys while rotating.")

        @OptionGroup var options: LedgerOptions

        @Option(help: ArgumentHelp("The log's private key file (repeatable).", valueName: "file"))
        var key: [String] = []

        @Option(help: ArgumentHelp("Write the note to this file instead of printing it.", valueName: "file"))
        var out: String?

        func validate() throws {
            guard !key.isEmpty else { throw ValidationError("give the log's signing key with --key FILE") }
        }

        func run() throws {
            let keys = try key.map(KeyFiles.signingKey)
            let ledger = try Ledger(path: options.path, mode: .readWrite)
            let signed = try ledger.signCheckpoint(keys: keys)
            if options.json {
                print(JSONValue.object(JSONObject([("origin", .string(signed.checkpoint.origin)), ("tree_size", .int(signed.checkpoint.size)),
                                                   ("root_hash", .string(Base64.encode(signed.checkpoint.root))),
                                                   ("note", .string(signed.note.noteText)), ("out", out.map { .string($0) } ?? .null)])).jsonLine,
                      terminator: "")
                if let out { try KeyFiles.output(signed.note.noteText, to: out) }
            } else {
                try KeyFiles.output(signed.note.noteText, to: out)
                if let out { print("signed \(signed.checkpoint.origin) at size \(signed.checkpoint.size) → \(out)") }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The checkpoints the ledger holds, oldest first.")

        @OptionGroup var options: LedgerOptions

        func run() throws {
            let held = try Ledger(path: options.path, mode: .readOnly).checkpoints()
            if options.json {
                print(JSONValue.array(held.map(\.json)).jsonLine, terminator: "")
                return
            }
            if held.isEmpty { print("no checkpoints yet (sign one with `caseledger checkpoint --key FILE`)") }
            for checkpoint in held {
                let cosigners = checkpoint.note.claimedCosignatures.map { "\($0.name) at \(Timestamp(epochMicros: $0.time * 1_000_000).utcString)" }
                print("#\(checkpoint.id)  \(checkpoint.checkpoint.origin)  size \(checkpoint.checkpoint.size)  root \(Base64.encode(checkpoint.checkpoint.root))  stored \(checkpoint.storedAt)")
                print("     signed by " + checkpoint.signers.map { "\($0.name) (\($0.keyID))" }.joined(separator: ", ")
                      + (cosigners.isEmpty ? "" : "; cosigned by " + cosigners.joined(separator: ", ") + " (as claimed; `verify --checkpoint` checks)"))
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Keep a checkpoint this ledger signed that came back with a witness's cosignature.",
            discussion: "Its tree must be this ledger's, and its log signature one this ledger made.")

        @OptionGroup var options: LedgerOptions

        @Argument(help: "The cosigned checkpoint note.")
        var file: String

        func run() throws {
            let stored = try Ledger(path: options.path, mode: .readWrite).importCheckpoint(noteText: try KeyFiles.read(file, what: "checkpoint"))
            if options.json {
                print(stored.json.jsonLine, terminator: "")
            } else {
                print("kept checkpoint #\(stored.id): \(stored.checkpoint.origin) at size \(stored.checkpoint.size), with \(stored.note.claimedCosignatures.count) cosignature(s)")
            }
        }
    }
}
