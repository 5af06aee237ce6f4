import CaseLedgerCore
import Foundation

/// Reading and writing what the transparency commands take: key files, verifier keys given
/// literally or in a file, checkpoint notes and proofs. Errors say which file and why.
enum KeyFiles {
    /// A text file, whole (at most 1 MiB: notes, keys and proofs are small).
    static func read(_ path: String, what: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LedgerError.invalidInput("cannot read the \(what) \(path)")
        }
        guard data.count <= SignedNote.maxBytes, let text = String(data: data, encoding: .utf8) else {
            throw LedgerError.invalidInput("the \(what) \(path) is not a text file of at most 1 MiB")
        }
        return text
    }

    static func signingKey(_ path: String) throws -> NoteSigningKey {
        let text = try read(path, what: "key file")
        do throws(NoteError) { return try NoteSigningKey(fileText: text) } catch {
            throw LedgerError.invalidInput("key file \(path): \(error)")
        }
    }

    /// A verifier key given as its text (`name+id+base64`), or as the path of a file holding it.
    static func verifier(_ given: String) throws -> NoteVerifier {
        if let key = try? NoteVerifier(text: given) { return key }
        let path = given.hasPrefix("@") ? String(given.dropFirst()) : given
        guard FileManager.default.fileExists(atPath: path) else {
            throw LedgerError.invalidInput("\(JSONText.quoted(given)) is neither a verifier key (name+keyid+base64) nor a file holding one")
        }
        let text = try read(path, what: "verifier key file")
        do throws(NoteError) { return try NoteVerifier(text: text) } catch {
            throw LedgerError.invalidInput("verifier key file \(path): \(error)")
        }
    }

    /// Base64 hashes, one per line (a consistency proof); blank lines ignored.
    static func hashes(_ path: String) throws -> [MerkleTree.Hash] {
        try read(path, what: "proof").split(separator: "\n").map { line in
            guard let hash = Base64.decode(String(line)), hash.count == 32 else {
                throw LedgerError.invalidInput("proof \(path): \(JSONText.quoted(String(line))) is not a base64 SHA-256 hash")
            }
            return hash
        }
    }

    /// Writes `text` to `path`, or prints it when `path` is nil.
    static func output(_ text: String, to path: String?) throws {
        guard let path else {
            print(text, terminator: "")
            return
        }
        try AtomicFile.write(Array(text.utf8), to: path)
    }
}
