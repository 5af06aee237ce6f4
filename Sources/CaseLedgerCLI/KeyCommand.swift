import ArgumentParser
import CaseLedgerCore
import Foundation

struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Ed25519 keys in the C2SP signed-note format: the log's signing key, or a witness's cosigning key.",
        subcommands: [Generate.self, Verifier.self])

    /// The verifier key, as a line or as {name, key_id, verifier_key}.
    static func print(_ verifier: NoteVerifier, json: Bool) {
        if json {
            Swift.print(JSONValue.object(JSONObject([("name", .string(verifier.name)), ("key_id", .string(Hex.string(verifier.keyID))),
                                                     ("verifier_key", .string(verifier.text))])).jsonLine, terminator: "")
        } else {
            Swift.print(verifier.text)
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Make a new signing key; writes the private key file (mode 0600) and prints its verifier key.",
            discussion: "The name is the log's origin, e.g. ledger.bank.example/collections (no spaces, no '+'). Keep the private key off the database host; publish the verifier key.")

        @Option(help: "The key's name: the log's origin, or the witness's name.")
        var name: String

        @Option(help: ArgumentHelp("Where to write the private key (must not exist).", valueName: "file"))
        var out: String

        @Flag(help: "A witness's cosigning key (C2SP tlog-cosignature, key type 0x04) instead of a log's signing key.")
        var witness = false

        @Flag(help: "Print {name, key_id, verifier_key}.")
        var json = false

        func run() throws {
            let key: NoteSigningKey
            do throws(NoteError) { key = try NoteSigningKey.generate(name: name, type: witness ? .cosignature : .ed25519) } catch {
                throw LedgerError.invalidInput(error.description)
            }
            // O_EXCL: never overwrite a key; 0600: only its owner reads it.
            let descriptor = open(out, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else {
                throw LedgerError.invalidInput(errno == EEXIST ? "\(out) already exists; a key file is never overwritten"
                                               : "cannot create \(out): \(String(cString: strerror(errno)))")
            }
            let bytes = Array(key.fileText.utf8)
            let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress!, $0.count) }
            let synced = fsync(descriptor) == 0
            close(descriptor)
            guard written == bytes.count, synced else {
                unlink(out)
                throw LedgerError.invalidInput("cannot write \(out)")
            }
            let verifier = key.verifier
            Key.print(verifier, json: json)
        }
    }

    struct Verifier: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verifier", abstract: "Print the verifier key of a private key file.")

        @Option(help: ArgumentHelp("The private key file.", valueName: "file"))
        var key: String

        @Flag(help: "Print {name, key_id, verifier_key}.")
        var json = false

        func run() throws {
            let verifier = try KeyFiles.signingKey(key).verifier
            Key.print(verifier, json: json)
        }
    }
}
