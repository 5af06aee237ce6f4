/// A C2SP tlog-checkpoint: the signed head of the log's Merkle tree. Its body is
/// `<origin>\n<tree size>\n<base64 root>\n`; the ledger writes no extension lines.
///
/// ```swift
/// var note = Checkpoint(origin: "ledger.bank.example/collections", size: 1004, root: root).unsignedNote
/// note.sign(with: key)
/// print(note.noteText)
/// ```
public struct Checkpoint: Sendable, Equatable {
    public let origin: String
    public let size: Int64
    public let root: MerkleTree.Hash

    public init(origin: String, size: Int64, root: MerkleTree.Hash) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    public var body: String { "\(origin)\n\(size)\n\(Base64.encode(root))\n" }

    public var unsignedNote: SignedNote { SignedNote(text: body) }

    /// The checkpoint a note's text states (three non-empty lines; extension lines are refused,
    /// since the ledger never writes them and nothing here could check them).
    public init(note: SignedNote) throws(NoteError) {
        let lines = note.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count >= 3, lines.allSatisfy({ !$0.isEmpty }) else {
            throw NoteError("not a checkpoint: its text must be the origin, the tree size and the root, one per line")
        }
        guard lines.count == 3 else { throw NoteError("the checkpoint has extension lines, which this ledger never writes") }
        let sizeText = String(lines[lines.startIndex + 1])
        guard let size = Int64(sizeText), size >= 0, String(size) == sizeText else {
            throw NoteError("not a checkpoint: the tree size \(JSONText.quoted(sizeText)) is not a decimal number")
        }
        guard let root = Base64.decode(String(lines[lines.startIndex + 2])), root.count == 32 else {
            throw NoteError("not a checkpoint: the root is not a base64 SHA-256 hash")
        }
        if size == 0, root != MerkleTree.emptyRoot { throw NoteError("a checkpoint of the empty tree must have SHA-256(\"\") as its root") }
        self.init(origin: String(lines[lines.startIndex]), size: size, root: root)
    }

    /// Reads a checkpoint note and checks it carries a valid signature by at least one of `keys`
    /// (any signature by a given key must be valid). Returns the checkpoint and what verified.
    public static func verified(noteText: String, keys: [NoteVerifier]) throws(NoteError) -> (checkpoint: Checkpoint, note: SignedNote, signatures: [SignedNote.Verified]) {
        let note = try SignedNote(parsing: noteText)
        let checkpoint = try Checkpoint(note: note)
        let signatures = try note.verify(with: keys)
        guard signatures.contains(where: { $0.verifier.type == .ed25519 }) else {
            let names = keys.filter { $0.type == .ed25519 }.map(\.name)
            throw NoteError("the checkpoint of \(checkpoint.origin) at size \(checkpoint.size) carries no signature by "
                            + (names.isEmpty ? "a log key (give the log's verifier key)" : names.joined(separator: ", ")))
        }
        return (checkpoint, note, signatures)
    }
}

/// A C2SP tlog-proof: an offline proof that the entry at `index` is in the checkpointed tree.
///
/// ```
/// c2sp.org/tlog-proof@v1
/// index 41
/// <base64 hash, leaf's sibling first>
/// …
///
/// <checkpoint note>
/// ```
public struct TlogProof: Sendable, Equatable {
    public static let header = "c2sp.org/tlog-proof@v1"

    public let index: Int64
    public let hashes: [MerkleTree.Hash]
    public let checkpointNote: String

    public init(index: Int64, hashes: [MerkleTree.Hash], checkpointNote: String) {
        self.index = index
        self.hashes = hashes
        self.checkpointNote = checkpointNote
    }

    public var text: String {
        ([Self.header, "index \(index)"] + hashes.map(Base64.encode)).joined(separator: "\n") + "\n\n" + checkpointNote
    }

    public init(text: String) throws(NoteError) {
        guard let split = text.range(of: "\n\n") else { throw NoteError("not a tlog-proof: no empty line before the checkpoint") }
        var lines = text[..<split.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)[...]
        guard lines.popFirst() == Substring(Self.header) else { throw NoteError("not a tlog-proof: the first line must be \(Self.header)") }
        if lines.first?.hasPrefix("extra ") == true { lines = lines.dropFirst() }
        guard let indexLine = lines.popFirst(), indexLine.hasPrefix("index "), let index = Int64(indexLine.dropFirst(6)), index >= 0,
            String(index) == indexLine.dropFirst(6)
        else { throw NoteError("not a tlog-proof: the index line is missing or not a number") }
        var hashes: [MerkleTree.Hash] = []
        for line in lines {
            guard let hash = Base64.decode(String(line)), hash.count == 32 else { throw NoteError("not a tlog-proof: \(JSONText.quoted(String(line))) is not a base64 hash") }
            hashes.append(hash)
        }
        self.init(index: index, hashes: hashes, checkpointNote: String(text[split.upperBound...]))
    }
}
