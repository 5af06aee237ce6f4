/// A witness (C2SP tlog-witness, offline): it cosigns a log's checkpoint only if the checkpoint
/// is signed by the log's key and extends, consistently, the latest one it cosigned for that
/// origin. A rollback, a fork or a proof that does not check is refused, and the state is left
/// as it was. Run by a regulator or an auditor, without the ledger.
///
/// ```swift
/// var witness = try WitnessState(json: stateText)
/// let note = try witness.cosign(noteText: checkpoint, logKey: logKey, proof: hashes, key: witnessKey, time: now)
/// ```
public struct WitnessState: Sendable, Equatable {
    /// The latest checkpoint cosigned per origin.
    public struct Entry: Sendable, Equatable {
        public let size: Int64
        public let root: MerkleTree.Hash
    }

    public private(set) var logs: [String: Entry]

    public static let format = "caseledger-witness-state/v1"

    public init() { logs = [:] }

    /// Reads a state file's text; an empty text is an empty state (a witness's first run).
    public init(json text: String) throws(NoteError) {
        logs = [:]
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
        guard let value = try? JSONParser.parse(text), value["format"]?.stringValue == Self.format, let entries = value["logs"]?.objectValue else {
            throw NoteError("not a witness state file (\(Self.format))")
        }
        for member in entries.members {
            guard let size = member.value["size"]?.intValue, size >= 0, let root = member.value["root"]?.stringValue.flatMap(Base64.decode), root.count == 32 else {
                throw NoteError("witness state: the entry of \(member.key) is not {size, root}")
            }
            logs[member.key] = Entry(size: size, root: root)
        }
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("format", .string(Self.format)),
            ("logs", .object(JSONObject(logs.keys.sorted().map { origin in
                (origin, .object(JSONObject([("size", .int(logs[origin]!.size)), ("root", .string(Base64.encode(logs[origin]!.root)))])))
            }))),
        ]))
    }

    /// Checks `noteText` against the log's key and what this witness holds, then returns the note
    /// with this witness's cosignature (at `time`, Unix seconds) added and records the new head.
    /// Throws, changing nothing, on a bad signature, a rollback, a fork or a failed proof.
    public mutating func cosign(noteText: String, logKeys: [NoteVerifier], proof: [MerkleTree.Hash], key: NoteSigningKey,
                                time: Int64) throws(NoteError) -> SignedNote {
        guard key.type == .cosignature else {
            throw NoteError("\(key.name) is a log's signing key; a witness cosigns with a cosignature key (key generate --witness)")
        }
        let (checkpoint, note, _) = try Checkpoint.verified(noteText: noteText, keys: logKeys)
        if let held = logs[checkpoint.origin] {
            if checkpoint.size < held.size {
                throw NoteError("refused: \(checkpoint.origin) at size \(checkpoint.size) is older than the size \(held.size) this witness already cosigned (a rollback)")
            }
            do {
                try MerkleTree.verifyConsistency(oldSize: held.size, newSize: checkpoint.size, oldRoot: held.root, newRoot: checkpoint.root, proof: proof)
            } catch {
                if checkpoint.size == held.size {
                    throw NoteError("refused: \(checkpoint.origin) at size \(checkpoint.size) has another root than the one this witness cosigned: the log forked")
                }
                if proof.isEmpty {
                    throw NoteError("refused: this witness holds \(checkpoint.origin) at size \(held.size); give the consistency proof to size \(checkpoint.size) with --proof (caseledger prove consistency --from \(held.size))")
                }
                throw NoteError("refused: the consistency proof from size \(held.size) to \(checkpoint.size) does not check: \(error)")
            }
        }
        var cosigned = note
        cosigned.cosign(with: key, time: time)
        logs[checkpoint.origin] = Entry(size: checkpoint.size, root: checkpoint.root)
        return cosigned
    }
}
