import CaseLedgerCore
import Foundation
import GRDB

/// A checkpoint the ledger holds (the `checkpoints` table).
public struct StoredCheckpoint: Sendable {
    public let id: Int64
    public let checkpoint: Checkpoint
    public let note: SignedNote
    public let storedAt: String

    /// Signature lines of log keys (64-byte signatures): name and key id.
    public var signers: [(name: String, keyID: String)] {
        note.signatures.filter { $0.payload.count == 64 }.map { ($0.name, Hex.string($0.keyID)) }
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("id", .int(id)), ("origin", .string(checkpoint.origin)), ("tree_size", .int(checkpoint.size)),
            ("root_hash", .string(Base64.encode(checkpoint.root))), ("stored_at", .string(storedAt)),
            ("signers", .array(signers.map { .object(JSONObject([("name", .string($0.name)), ("key_id", .string($0.keyID))])) })),
            ("cosignatures", .array(note.claimedCosignatures.map {
                .object(JSONObject([("name", .string($0.name)), ("time", .int($0.time)), ("verified", .bool(false))]))
            })),
            ("note", .string(note.noteText)),
        ]))
    }
}

extension Ledger {
    /// The tree's size and root now (a replay: its source's tree, frozen at the source's head).
    public func treeHead() throws -> (size: Int64, root: MerkleTree.Hash) {
        try database.read { db in
            let size = try Self.treeSize(db)
            return (size, try Self.treeRoot(db, size: size))
        }
    }

    static func treeRoot(_ db: Database, size: Int64) throws -> MerkleTree.Hash {
        do { return try MerkleTree.root(size: size, nodes: treeNodes(db)) } catch let error as MerkleError {
            throw LedgerError.verificationFailed(seq: nil, reason: "the Merkle tree at size \(size) cannot be computed: \(error)")
        }
    }

    /// Signs the current head with `keys` (all named for the same origin) and keeps the note.
    /// Refuses (exit 4) when a checkpoint already held for that origin does not agree with the
    /// tree as it is now: the log was cut or rewritten since it was signed.
    public func signCheckpoint(keys: [NoteSigningKey], now: Timestamp = LedgerClock.now()) throws -> (checkpoint: Checkpoint, note: SignedNote) {
        guard let origin = keys.first?.name else { throw LedgerError.invalidInput("give the log's signing key with --key") }
        for key in keys {
            guard key.name == origin else {
                throw LedgerError.invalidInput("every --key must carry the log's origin as its name; got \(origin) and \(key.name)")
            }
            guard key.type == .ed25519 else {
                throw LedgerError.invalidInput("\(key.name) is a witness's cosigning key; a checkpoint is signed with the log's key")
            }
        }
        do {
            return try database.write { db in
                guard try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'kind'") == "ledger" else {
                    throw LedgerError.invalidInput("\(path) is a replay: it holds its source's checkpoints; sign on the live ledger")
                }
                let size = try Self.head(db).seq
                try Self.checkHeldCheckpoints(db, origin: origin, against: size)
                let checkpoint = Checkpoint(origin: origin, size: size, root: try Self.treeRoot(db, size: size))
                var note = checkpoint.unsignedNote
                for key in keys { note.sign(with: key) }
                try Self.store(db, checkpoint: checkpoint, note: note, now: now)
                return (checkpoint, note)
            }
        } catch let error as DatabaseError {
            throw LedgerError.storage(error.message ?? error.description)
        }
    }

    /// Every checkpoint held for `origin` must fit the tree at `size`: no larger, and the same root.
    static func checkHeldCheckpoints(_ db: Database, origin: String, against size: Int64) throws {
        let nodes = try treeNodes(db)
        for held in try storedCheckpoints(db) where held.checkpoint.origin == origin {
            if held.checkpoint.size > size {
                throw LedgerError.verificationFailed(seq: nil, reason: "this ledger holds a checkpoint of \(origin) at size \(held.checkpoint.size) (#\(held.id), stored \(held.storedAt)), but its log now ends at seq \(size): the log was cut")
            }
            let root = try MerkleTree.root(size: held.checkpoint.size, nodes: nodes)
            if root != held.checkpoint.root {
                throw LedgerError.verificationFailed(seq: nil, reason: "checkpoint #\(held.id) of \(origin) signed root \(Base64.encode(held.checkpoint.root)) at size \(held.checkpoint.size), but the tree at that size now has root \(Base64.encode(root)): the log was rewritten since")
            }
        }
    }

    static func store(_ db: Database, checkpoint: Checkpoint, note: SignedNote, now: Timestamp) throws {
        try db.execute(sql: "INSERT INTO checkpoints (origin, tree_size, root_hash, note, stored_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [checkpoint.origin, checkpoint.size, Base64.encode(checkpoint.root), note.noteText, now.utcString])
    }

    /// The checkpoints this ledger holds, oldest first.
    public func checkpoints() throws -> [StoredCheckpoint] {
        try database.read { db in try Self.storedCheckpoints(db) }
    }

    static func storedCheckpoints(_ db: Database) throws -> [StoredCheckpoint] {
        guard try db.tableExists("checkpoints") else { return [] }
        let rows = try RawStatement(db, "SELECT id, note, stored_at FROM checkpoints ORDER BY id")
        defer { rows.reset() }
        var held: [StoredCheckpoint] = []
        while try rows.step() {
            let id = rows.int64(0)
            do {
                let note = try SignedNote(parsing: rows.text(1))
                held.append(StoredCheckpoint(id: id, checkpoint: try Checkpoint(note: note), note: note, storedAt: rows.text(2)))
            } catch {
                throw LedgerError.verificationFailed(seq: nil, reason: "stored checkpoint #\(id) is not a checkpoint note: \(error)")
            }
        }
        return held
    }

    /// Keeps a copy of a checkpoint this ledger signed that has come back with more signatures
    /// (a witness's cosignature): its text must match the tree, and its log signatures must be
    /// ones this ledger made.
    public func importCheckpoint(noteText: String, now: Timestamp = LedgerClock.now()) throws -> StoredCheckpoint {
        let note: SignedNote
        let checkpoint: Checkpoint
        do {
            note = try SignedNote(parsing: noteText)
            checkpoint = try Checkpoint(note: note)
        } catch { throw LedgerError.invalidInput("not a checkpoint note: \(error)") }
        return try database.write { db in
            try Self.requireMatch(db, checkpoint)
            let ours = try Self.storedCheckpoints(db).filter { $0.note.text == note.text }.flatMap(\.note.signatures)
            let logSignatures = note.signatures.filter { $0.payload.count == 64 }
            guard !logSignatures.isEmpty, logSignatures.allSatisfy({ ours.contains($0) }) else {
                throw LedgerError.verificationFailed(seq: nil, reason: "this checkpoint's log signature was not made by this ledger (sign one with `caseledger checkpoint`)")
            }
            try Self.store(db, checkpoint: checkpoint, note: note, now: now)
            return try Self.storedCheckpoints(db).last!
        }
    }

    /// Throws unless `checkpoint` describes this ledger's tree: its size within the tree, its root the tree's at that size.
    static func requireMatch(_ db: Database, _ checkpoint: Checkpoint) throws {
        let size = try treeSize(db)
        guard checkpoint.size <= size else {
            throw LedgerError.verificationFailed(seq: nil, reason: "the checkpoint is of size \(checkpoint.size), but this ledger's tree has \(size) leaves: the log was cut, or the checkpoint is another log's")
        }
        let root = try treeRoot(db, size: checkpoint.size)
        guard root == checkpoint.root else {
            throw LedgerError.verificationFailed(seq: nil, reason: "the checkpoint's root at size \(checkpoint.size) is \(Base64.encode(checkpoint.root)), but this ledger's tree has \(Base64.encode(root)): the log was rewritten, or the checkpoint is another log's")
        }
    }

    static func parseCheckpoint(_ noteText: String) throws -> (Checkpoint, SignedNote) {
        do {
            let note = try SignedNote(parsing: noteText)
            return (try Checkpoint(note: note), note)
        } catch { throw LedgerError.invalidInput("not a checkpoint note: \(error)") }
    }

    // MARK: - Proofs

    /// A C2SP tlog-proof that the event at `seq` is in the checkpointed tree.
    public func inclusionProof(seq: Int64, checkpointNote: String) throws -> TlogProof {
        let (checkpoint, _) = try Self.parseCheckpoint(checkpointNote)
        return try database.read { db in
            try Self.requireMatch(db, checkpoint)
            guard seq >= 1, seq <= checkpoint.size else {
                throw LedgerError.invalidInput("seq \(seq) is not in the checkpoint's tree (sizes 1…\(checkpoint.size))")
            }
            let hashes = try Self.proving { try MerkleTree.inclusionProof(index: seq - 1, size: checkpoint.size, nodes: Self.treeNodes(db)) }
            return TlogProof(index: seq - 1, hashes: hashes, checkpointNote: checkpointNote)
        }
    }

    /// The RFC 9162 consistency proof from the tree of `oldSize` leaves to the checkpoint's.
    public func consistencyProof(from oldSize: Int64, checkpointNote: String) throws -> [MerkleTree.Hash] {
        let (checkpoint, _) = try Self.parseCheckpoint(checkpointNote)
        return try database.read { db in
            try Self.requireMatch(db, checkpoint)
            guard oldSize >= 1, oldSize <= checkpoint.size else {
                throw LedgerError.invalidInput("--from must be between 1 and the checkpoint's size \(checkpoint.size); got \(oldSize)")
            }
            return try Self.proving { try MerkleTree.consistencyProof(from: oldSize, to: checkpoint.size, nodes: Self.treeNodes(db)) }
        }
    }

    /// Every event of a case in the checkpointed tree, each with its inclusion proof: what a
    /// regulator checks with none of the other cases' data (`caseledger prove case`).
    public func caseProof(caseID: String, checkpointNote: String, scope: ReadScope = .everything) throws -> JSONValue {
        let (checkpoint, _) = try Self.parseCheckpoint(checkpointNote)
        return try database.read { db in
            try Self.caseProof(db, caseID: caseID, checkpoint: checkpoint, noteText: checkpointNote, scope: scope)
        }
    }

    static func caseProof(_ db: Database, caseID: String, checkpoint: Checkpoint, noteText: String,
                          scope: ReadScope = .everything) throws -> JSONValue {
        try requireMatch(db, checkpoint)
        let nodes = try treeNodes(db)
        var events: [JSONValue] = []
        let (inScope, scoped) = scope.condition(on: "case_id")
        let rows = try RawStatement(db, "SELECT \(eventColumns) FROM events WHERE case_id = ? AND seq <= ? AND \(inScope) ORDER BY version")
        rows.bind(1, caseID)
        rows.bind(2, checkpoint.size)
        for (index, argument) in scoped.enumerated() { rows.bind(Int32(index + 3), argument) }
        defer { rows.reset() }
        while try rows.step() {
            let event = storedEvent(rows)
            let proof = try proving { try MerkleTree.inclusionProof(index: event.seq - 1, size: checkpoint.size, nodes: nodes) }
            events.append(.object(JSONObject([
                ("event", event.envelope), ("leaf_index", .int(event.seq - 1)), ("inclusion", .array(proof.map { .string(Base64.encode($0)) })),
            ])))
        }
        guard !events.isEmpty else {
            throw LedgerError.notFound("case \(caseID) has no event in the checkpoint's tree (size \(checkpoint.size))")
        }
        return .object(JSONObject([
            ("format", "caseledger-case-proof/v1"), ("case_id", .string(caseID)), ("origin", .string(checkpoint.origin)),
            ("tree_size", .int(checkpoint.size)), ("checkpoint", .string(noteText)), ("events", .array(events)),
        ]))
    }

    static func proving<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as MerkleError {
            throw LedgerError.verificationFailed(seq: nil, reason: "the Merkle tree cannot give this proof: \(error)")
        }
    }
}
