import CaseLedgerCore
import GRDB

/// The outcome of a chain check that passed.
public struct ChainReport: Sendable {
    public let events: Int64
    public let headHash: String
    /// `ledger`, or `replay` for a replay's output.
    public let kind: String
    /// The Merkle tree's size and root, as recomputed.
    public let treeSize: Int64
    public let treeRoot: MerkleTree.Hash
    /// False for a file written before the tree existed and never opened since: its tree was
    /// recomputed from the events, but there were no stored tiles to compare.
    public let treeStored: Bool
    /// The checkpoints checked, given and held: what each proved.
    public let checkpoints: [CheckpointCheck]
    /// Projections compared with a rebuild, and those this code has not built in this file yet
    /// (a new projection, another code version or rulebook set), which `verify` cannot compare.
    public var projectionsCompared: [String] = []
    public var projectionsNotCompared: [String] = []

    /// What `verify --json` prints and `GET /v1/verify` answers when everything matches.
    public var json: JSONValue {
        .object(JSONObject([
            ("ok", .bool(true)), ("events", .int(events)), ("head_hash", .string(headHash)),
            ("tree_size", .int(treeSize)), ("tree_root", .string(Base64.encode(treeRoot))),
            ("checkpoints", .array(checkpoints.map(\.json))),
            ("projections", .array(projectionsCompared.map { .string($0) })),
            ("projections_not_compared", .array(projectionsNotCompared.map { .string($0) })),
        ]))
    }

    /// The same when something does not match: the first bad seq, and why.
    public static func failureJSON(seq: Int64?, reason: String) -> JSONValue {
        .object(JSONObject([("ok", .bool(false)), ("first_bad_seq", seq.map { .int($0) } ?? .null), ("reason", .string(reason))]))
    }
}

/// A checkpoint `verify` checked: its tree matches the log's events, signed by these keys.
public struct CheckpointCheck: Sendable {
    public var json: JSONValue {
        .object(JSONObject([
            ("checkpoint", .string(label)), ("origin", .string(checkpoint.origin)), ("tree_size", .int(checkpoint.size)),
            ("signed_by", .array(signers.map { .string($0.text) })),
            ("cosigned_by", .array(cosigners.map { .object(JSONObject([("verifier_key", .string($0.verifier.text)), ("time", .int($0.time))])) })),
        ]))
    }

    /// Where it came from: the file it was read from, or `held #id`.
    public let label: String
    public let checkpoint: Checkpoint
    /// Log keys whose signature verified (empty for a held checkpoint checked without keys).
    public let signers: [NoteVerifier]
    /// Witnesses whose cosignature verified, with their time (Unix seconds).
    public let cosigners: [(verifier: NoteVerifier, time: Int64)]
}

/// A checkpoint to check, as given on the command line.
public struct GivenCheckpoint: Sendable {
    public let label: String
    public let noteText: String

    public init(label: String, noteText: String) {
        self.label = label
        self.noteText = noteText
    }
}

extension Ledger {
    /// The whole check of one snapshot of the log, writing nothing: the file's kind and replay
    /// record, the hash chain and the Merkle tree recomputed from the events, every checkpoint
    /// (given, and held in the file) against that tree, and every projection against a rebuild
    /// (on a second connection, alongside, when it sees the same log).
    /// `keys` check the given checkpoints' signatures (log keys) and cosignatures (witness keys).
    public func verify(checkpoints given: [GivenCheckpoint] = [], keys: [NoteVerifier] = []) throws -> ChainReport {
        try database.read { db in
            var targets: [(CheckpointCheck, cosignedBy: [(NoteVerifier, Int64)])] = []
            for checkpoint in given {
                do {
                    let verified = try Checkpoint.verified(noteText: checkpoint.noteText, keys: keys)
                    let cosigners = verified.signatures.compactMap { signature in signature.time.map { (signature.verifier, $0) } }
                    targets.append((CheckpointCheck(label: checkpoint.label, checkpoint: verified.checkpoint,
                                                    signers: verified.signatures.filter { $0.time == nil }.map(\.verifier), cosigners: cosigners),
                                    cosigners))
                } catch {
                    throw LedgerError.verificationFailed(seq: nil, reason: "checkpoint \(checkpoint.label): \(error)")
                }
            }
            for held in try Self.storedCheckpoints(db) {
                targets.append((CheckpointCheck(label: "held #\(held.id)", checkpoint: held.checkpoint, signers: [], cosigners: []), []))
            }
            // A cut log first, named as such: the projections or the tree reach further than the events.
            if try Self.hasTree(db) { try Self.refuseCutLog(db, path: path) }
            // The projections are compared on a second connection (and core) while this one
            // checks the chain and the tree. The chain's verdict comes first, as if one ran
            // after the other: a broken chain stops the comparison and is what is reported.
            let projections = ConcurrentRead(path: path, head: try Self.head(db)) { db in try Self.verifyProjections(db) }
            var chain: ChainReport
            do {
                chain = try Self.verifyChain(db, checkpoints: targets)
            } catch {
                projections.cancel()
                _ = try? projections.result()
                throw error
            }
            chain.projectionsNotCompared = try Self.projectionsCompared(projections, or: db)
            chain.projectionsCompared = Self.projectionNames.filter { !chain.projectionsNotCompared.contains($0) }
            return chain
        }
    }

    /// What the concurrent comparison of the projections found: the projections it did not
    /// compare, or its verdict. When it could not run on the same log (a writer came between the
    /// two snapshots) or its connection failed, the comparison is made here, on `db`.
    private static func projectionsCompared(_ concurrent: ConcurrentRead<[String]>, or db: Database) throws -> [String] {
        do {
            if let notCompared = try concurrent.result() { return notCompared }
        } catch let verdict as LedgerError {
            throw verdict
        } catch {
            // Not a verdict (the second connection did not open, or SQLite failed there): once
            // more on this connection, which reports the same failure if it is the file's.
        }
        return try verifyProjections(db)
    }

    /// Recomputes the whole hash chain and tree (docs/events.md, docs/trust.md); see `verifyChain(_:checkpoints:)`.
    public func verifyChain() throws -> ChainReport {
        try database.read { db in try Self.verifyChain(db, alongside: try Self.pathReadableAlongside(db)) }
    }

    /// Recomputes the whole hash chain from the stored columns (docs/events.md) and checks the log's
    /// invariants: `seq` 1, 2, 3 … with no gap, each case's `version` 1, 2, 3 …, `recorded_at` never
    /// running backwards, `data` in canonical form. A replay may skip events, bridged by its
    /// `replay_links`; a live ledger may not, and holds no link, no replay record and no rulebook
    /// of its own. Throws `verificationFailed` naming the first bad `seq` (or what in the file is wrong).
    ///
    /// With `path` (the file of `db`, readable on a second connection), a long live log is walked
    /// in chunks on both cores (`ChainChunks`), with the same verdict. `verify` leaves it out: its
    /// other core compares the projections.
    static func verifyChain(_ db: Database, checkpoints: [(CheckpointCheck, cosignedBy: [(NoteVerifier, Int64)])] = [],
                            alongside path: String? = nil, chunkEvents: Int64 = ChainChunks.events) throws -> ChainReport {
        let kind = try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'kind'") ?? "(none)"
        let links = try replayLinks(db)
        let info = try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'replay_info'")
        let isReplay: Bool
        switch kind {
        case "ledger":
            isReplay = false
            if !links.isEmpty {
                throw LedgerError.verificationFailed(seq: links.keys.min(), reason: "replay_links holds \(links.count) rows, but this is a live ledger: only a replay may bridge gaps in its log")
            }
            if info != nil {
                throw LedgerError.verificationFailed(seq: nil, reason: "ledger_meta holds a replay_info, but its kind is ledger: the kind or the record was edited")
            }
            if try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'rules'") != nil {
                throw LedgerError.verificationFailed(seq: nil, reason: "ledger_meta holds a rulebook of its own, but a live ledger is judged by the shipped rulebooks; only a replay made with --rules keeps one")
            }
        case "replay":
            isReplay = true
        default:
            throw LedgerError.verificationFailed(seq: nil, reason: "ledger_meta says the file's kind is \(JSONText.quoted(kind)); it must be ledger or replay")
        }
        let record: ReplayRecord? = try info.map { try ReplayRecord(json: $0) }
        if isReplay, record == nil {
            throw LedgerError.verificationFailed(seq: nil, reason: "the file's kind is replay but it holds no replay_info: where it came from cannot be checked")
        }

        var tree = try TreeCheck(db, isReplay: isReplay, record: record, sizes: checkpoints.map(\.0.checkpoint.size))
        try db.execute(sql: "PRAGMA cache_size = -\(Self.scanCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = -\(Self.cacheKiB)") }
        var run: ChainRun
        let head = try Self.head(db)
        if !isReplay, let path, ChainChunks.pays(head: head.seq, chunkEvents: chunkEvents) {
            run = try ChainChunks.walk(db, head: head, path: path, chunkEvents: chunkEvents, tree: &tree)
        } else {
            run = ChainRun(isReplay: isReplay, links: links)
            let rows = try RawStatement(db, "SELECT \(Self.eventColumns) FROM events WHERE seq >= 1 ORDER BY seq")
            defer { rows.reset() }
            try run.walk(rows) { seq, leafHash, recordedAt in
                try tree.add(seq: seq, leafHash: leafHash, recordedAt: String(decoding: recordedAt, as: UTF8.self))
            }
        }
        tree.lastRecordedAt = String(decoding: run.previousRecordedAt, as: UTF8.self)
        // The last event's stored hash is the one computed for it: they were compared in the walk.
        let last = run.lastSeq.map { (seq: $0, hash: HashChain.hex(run.previousHash)) }
        if run.linksUsed != links.count {
            throw LedgerError.verificationFailed(seq: nil, reason: "replay_links holds \(links.count) rows but the log has \(run.linksUsed) gaps to bridge")
        }
        if let record { try record.check(first: run.first, last: last) }
        let (treeSize, treeRoot) = try tree.finish()
        for (check, cosigners) in checkpoints {
            try tree.checkRoot(of: check.checkpoint, label: check.label)
            for (witness, time) in cosigners {
                try tree.checkRecordedBefore(time, of: check.checkpoint, witness: witness.name, label: check.label)
            }
        }
        return ChainReport(events: run.count, headHash: HashChain.hex(run.previousHash), kind: kind, treeSize: treeSize, treeRoot: treeRoot,
                           treeStored: tree.storedTree, checkpoints: checkpoints.map(\.0))
    }

    /// A replay's bridges across the events it left out: seq → the hash that event chains from
    /// (empty for a live ledger).
    public func replayLinks() throws -> [Int64: String] {
        try database.read { db in try Self.replayLinks(db) }
    }

    static func replayLinks(_ db: Database) throws -> [Int64: String] {
        guard try db.tableExists("replay_links") else { return [:] }
        var links: [Int64: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT seq, previous_hash FROM replay_links") { links[row["seq"]] = row["previous_hash"] }
        return links
    }
}

/// The Merkle tree as `verify` recomputes it. A live ledger: every leaf from its event, every tile
/// compared with the stored one as it completes, no stored tile beyond. A replay keeps its
/// source's tiles: each kept event's leaf must be the one the tiles hold, every tile must hash up
/// into the level above, and the whole must have the root its replay record states.
struct TreeCheck {
    let db: Database
    let isReplay: Bool
    let record: ReplayRecord?
    var tree = MerkleAppender()
    /// Stored tiles per level, read in index order alongside the rebuild (live ledgers).
    var cursors: [RawStatement] = []
    /// Roots and latest recorded_at at the sizes the checkpoints name (live ledgers).
    var roots: [Int64: MerkleTree.Hash] = [:]
    var recordedAt: [Int64: String] = [:]
    let sizes: Set<Int64>
    var lastRecordedAt = ""
    let tiles: RawStatement?
    var nodes: TiledMerkleNodes?
    /// False for a live ledger written before the tree: it is recomputed, with nothing stored to compare.
    let storedTree: Bool

    init(_ db: Database, isReplay: Bool, record: ReplayRecord?, sizes: [Int64]) throws {
        self.db = db
        self.isReplay = isReplay
        self.record = record
        self.sizes = Set(sizes)
        storedTree = try Ledger.hasTree(db)
        if isReplay, !storedTree {
            throw Self.fail("this replay predates the Merkle tree; it cannot be checked against its source's tree (replay the source again)")
        }
        tiles = storedTree ? try Ledger.tileStatement(db) : nil
        if sizes.contains(0) { roots[0] = MerkleTree.emptyRoot }
    }

    static func fail(_ reason: String, seq: Int64? = nil) -> LedgerError { .verificationFailed(seq: seq, reason: reason) }
    func fail(_ reason: String, seq: Int64? = nil) -> LedgerError { Self.fail(reason, seq: seq) }

    /// Adds the next event's leaf. `stamp` (its `recorded_at`) is made only where a checkpoint's
    /// size falls; the scan sets `lastRecordedAt` once, at its end.
    mutating func add(seq: Int64, leafHash: MerkleTree.Hash, recordedAt stamp: @autoclosure () -> String) throws {
        if isReplay {
            let index = seq - 1
            guard let hashes = try Ledger.tile(tiles!, level: 0, index: index / 16), Int(index % 16) < hashes.count else {
                throw fail("the Merkle tree this replay keeps has no leaf for seq \(seq)", seq: seq)
            }
            guard hashes[Int(index % 16)] == leafHash else {
                throw fail("merkle tile 0/\(index / 16) holds a leaf for seq \(seq) that is not this event's", seq: seq)
            }
            if sizes.contains(seq) { recordedAt[seq] = stamp() }
            return
        }
        var cursors = self.cursors
        let db = self.db
        let storedTree = self.storedTree
        try tree.append(leafHash: leafHash) { level, index, hashes in
            guard storedTree else { return }
            while cursors.count <= level {
                let cursor = try RawStatement(db, "SELECT idx, hashes FROM merkle_tiles WHERE level = ? ORDER BY idx")
                cursor.bind(1, Int64(cursors.count))
                cursors.append(cursor)
            }
            let cursor = cursors[level]
            let first = index * Int64(MerkleTiles.width) << (MerkleTiles.height * level)
            let leaves = "leaves \(first + 1)…\(first + Int64(MerkleTiles.width) << (MerkleTiles.height * level))"
            guard try cursor.step(), cursor.int64(0) == index else {
                throw Self.fail("merkle tile \(level)/\(index) (\(leaves)) is missing from the stored tree", seq: seq)
            }
            guard cursor.blob(1, holds: hashes) else {
                throw Self.fail("merkle tile \(level)/\(index) (\(leaves)) does not match the events: a stored node was edited", seq: seq)
            }
        }
        self.cursors = cursors
        if sizes.contains(tree.size) {
            roots[tree.size] = tree.root
            recordedAt[tree.size] = stamp()
        }
    }

    /// Ends the scan: nothing stored beyond the rebuilt tree (live), or the tiles consistent and
    /// their root the recorded one (replay). Returns the tree's size and root.
    mutating func finish() throws -> (Int64, MerkleTree.Hash) {
        if !isReplay {
            guard storedTree else { return (tree.size, tree.root) }
            for (level, cursor) in cursors.enumerated() where try cursor.step() {
                throw fail("merkle tile \(level)/\(cursor.int64(0)) is stored, but the log's events do not reach it")
            }
            // One seek on the (level, idx) key, not a scan: the tiles' hashes live in its pages,
            // and a scan read them all into the page cache (128 MiB of a 10^7 ledger's).
            let beyond = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM merkle_tiles WHERE level >= ?)",
                                           arguments: [cursors.count]) ?? false
            if beyond {
                throw fail("the stored tree has tiles at level \(cursors.count), but the log's events do not reach it")
            }
            for cursor in cursors { cursor.reset() }
            return (tree.size, tree.root)
        }
        let rows = try RawStatement(db, "SELECT level, idx, hashes FROM merkle_tiles WHERE level > 0 ORDER BY level, idx")
        defer { rows.reset() }
        while try rows.step() {
            let level = Int(rows.int64(0))
            let index = rows.int64(1)
            for (offset, entry) in Ledger.splitHashes(rows.blob(2)).enumerated() {
                let below = index * Int64(MerkleTiles.width) + Int64(offset)
                guard let hashes = try Ledger.tile(tiles!, level: level - 1, index: below), hashes.count == MerkleTiles.width,
                    MerkleTiles.subtreeRoot(hashes[...]) == entry
                else { throw fail("merkle tile \(level)/\(index) entry \(offset) is not the root of tile \(level - 1)/\(below)") }
            }
        }
        let size = try Ledger.treeSize(db)
        let root = try Ledger.treeRoot(db, size: size)
        guard let recorded = record?.treeRoot else {
            throw fail("replay_info does not record its source's tree (tree_size, tree_root): replay the source again")
        }
        guard recorded == root else {
            throw fail("the Merkle tree this replay keeps has root \(Base64.encode(root)) at size \(size), but replay_info records \(Base64.encode(recorded))")
        }
        nodes = try Ledger.treeNodes(db)
        return (size, root)
    }

    func checkRoot(of checkpoint: Checkpoint, label: String) throws {
        let root: MerkleTree.Hash?
        if isReplay {
            root = checkpoint.size <= (record?.treeSize ?? 0) ? try nodes.map { try MerkleTree.root(size: checkpoint.size, nodes: $0) } : nil
        } else {
            root = roots[checkpoint.size]
        }
        guard let root else {
            throw fail("checkpoint \(label) is of size \(checkpoint.size), but the log has only \(isReplay ? record?.treeSize ?? 0 : tree.size) events: the log was cut")
        }
        guard root == checkpoint.root else {
            throw fail("checkpoint \(label) signed root \(Base64.encode(checkpoint.root)) at size \(checkpoint.size), but the log's events give \(Base64.encode(root)): the log was rewritten since")
        }
    }

    /// No event inside a cosigned checkpoint may have been recorded after the witness saw it.
    func checkRecordedBefore(_ time: Int64, of checkpoint: Checkpoint, witness: String, label: String) throws {
        guard let stamp = recordedAt[checkpoint.size] ?? (isReplay ? lastRecordedAt : nil), let recorded = Timestamp(rfc3339: stamp) else { return }
        // The cosignature's time is whole seconds: an event recorded within that second is not later.
        if recorded.epochMicros >= (time + 1) * 1_000_000 {
            let seen = Timestamp(epochMicros: time * 1_000_000).utcString
            throw fail("checkpoint \(label): \(witness) cosigned size \(checkpoint.size) at \(seen), but events inside it say they were recorded later (\(stamp)): recorded_at was forged")
        }
    }
}

/// What a replay records of its source (`ledger_meta.replay_info`), as `verify` checks it: the
/// events it kept must begin and end where the record says, within the source's log.
struct ReplayRecord {
    let sourceHeadSeq: Int64
    let sourceHeadHash: String
    let first: (seq: Int64, hash: String)?
    let last: (seq: Int64, hash: String)?
    /// The source's tree this replay keeps (nil for a record made before the tree).
    let treeSize: Int64?
    let treeRoot: MerkleTree.Hash?

    init(json text: String) throws {
        func bad(_ why: String) -> LedgerError { .verificationFailed(seq: nil, reason: "replay_info \(why)") }
        guard let info = try? JSONParser.parse(text), case .object = info else { throw bad("is not a JSON object") }
        guard let headSeq = info["source_head_seq"]?.intValue, let headHash = info["source_head_hash"]?.stringValue else {
            throw bad("does not name the source's head (source_head_seq, source_head_hash)")
        }
        func kept(_ key: String) throws -> (Int64, String)? {
            guard let value = info[key] else { throw bad("does not record its \(key.codeAsWords) event (made by an older release? replay the source again)") }
            if value == .null { return nil }
            guard let seq = value["seq"]?.intValue, let hash = value["hash"]?.stringValue else { throw bad("\(key) is not {seq, hash}") }
            return (seq, hash)
        }
        sourceHeadSeq = headSeq
        sourceHeadHash = headHash
        first = try kept("first_kept")
        last = try kept("last_kept")
        treeSize = info["tree_size"]?.intValue
        treeRoot = info["tree_root"]?.stringValue.flatMap(Base64.decode)
    }

    func check(first actualFirst: (seq: Int64, hash: String)?, last actualLast: (seq: Int64, hash: String)?) throws {
        func fail(_ seq: Int64?, _ why: String) -> LedgerError { .verificationFailed(seq: seq, reason: "replay_info \(why)") }
        switch (first, actualFirst) {
        case (nil, nil): break
        case (let recorded?, let actual?) where recorded == actual: break
        default:
            throw fail(actualFirst?.seq, "records its first kept event as \(describe(first)), but the log begins with \(describe(actualFirst))")
        }
        switch (last, actualLast) {
        case (nil, nil): break
        case (let recorded?, let actual?) where recorded == actual: break
        default:
            throw fail(actualLast?.seq, "records its last kept event as \(describe(last)), but the log ends with \(describe(actualLast))")
        }
        if let actualLast {
            if actualLast.seq > sourceHeadSeq {
                throw fail(actualLast.seq, "says the source ended at seq \(sourceHeadSeq), but the replay holds seq \(actualLast.seq)")
            }
            if actualLast.seq == sourceHeadSeq, actualLast.hash != sourceHeadHash {
                throw fail(actualLast.seq, "says the source's head hash is \(sourceHeadHash), but its last event, kept here, has \(actualLast.hash)")
            }
        }
    }

    private func describe(_ event: (seq: Int64, hash: String)?) -> String {
        event.map { "seq \($0.seq) (\($0.hash.prefix(12))…)" } ?? "no event"
    }
}
