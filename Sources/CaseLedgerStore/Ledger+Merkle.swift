import CaseLedgerCore
import Foundation
import GRDB

/// The ledger's Merkle tree in its file (`merkle_tiles`): reading tiles and leaves, loading the
/// tree's growing edge for an append, and building the tiles of a ledger older than the tree.
extension Ledger {
    /// The tree over this file's log: a live ledger's tree covers every event; a replay keeps its
    /// source's tree, whose size its `replay_info` records.
    static func treeSize(_ db: Database) throws -> Int64 {
        if let info = try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'replay_info'"),
            let size = (try? JSONParser.parse(info))?["tree_size"]?.intValue
        {
            return size
        }
        return try head(db).seq
    }

    /// Whether the file stores a Merkle tree (a file written before it existed, never opened since, does not).
    static func hasTree(_ db: Database) throws -> Bool {
        try db.tableExists("merkle_tiles")
    }

    /// The leaf hash of the event at `seq`, from its stored columns; nil when the log has no such event.
    static func leafHash(_ statement: RawStatement, seq: Int64) throws -> MerkleTree.Hash? {
        statement.bind(1, seq)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return MerkleTree.leafHash(storedEvent(statement).canonicalBytes())
    }

    static func eventBySeq(_ db: Database) throws -> RawStatement {
        try RawStatement(db, "SELECT \(eventColumns) FROM events WHERE seq = ?")
    }

    /// A stored tile's hashes, or nil.
    static func tile(_ statement: RawStatement, level: Int, index: Int64) throws -> [MerkleTree.Hash]? {
        statement.bind(1, Int64(level))
        statement.bind(2, index)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return splitHashes(statement.blob(0))
    }

    static func tileStatement(_ db: Database) throws -> RawStatement {
        try RawStatement(db, "SELECT hashes FROM merkle_tiles WHERE level = ? AND idx = ?")
    }

    static func splitHashes(_ blob: [UInt8]) -> [MerkleTree.Hash] {
        stride(from: 0, to: blob.count - blob.count % 32, by: 32).map { Array(blob[$0..<($0 + 32)]) }
    }

    /// Complete subtrees of this file's tree, from its tiles and, where no tile holds them, its events.
    static func treeNodes(_ db: Database) throws -> TiledMerkleNodes {
        let tiles = try tileStatement(db)
        let events = try eventBySeq(db)
        return TiledMerkleNodes(tile: { try tile(tiles, level: $0, index: $1) }, leaf: { try leafHash(events, seq: $0 + 1) })
    }

    /// The tree's growing edge at `size`, ready to take the next leaf.
    static func loadTree(_ db: Database, size: Int64) throws -> MerkleAppender {
        let tiles = try tileStatement(db)
        let events = try eventBySeq(db)
        do {
            return try MerkleAppender(size: size, leafHash: { index in
                guard let hash = try leafHash(events, seq: index + 1) else { throw MerkleError("seq \(index + 1) is missing from the log") }
                return hash
            }, tile: { level, index in
                guard let hashes = try tile(tiles, level: level, index: index) else { throw MerkleError("the tree has no tile \(level)/\(index)") }
                return hashes
            })
        } catch let error as MerkleError {
            throw LedgerError.verificationFailed(seq: nil, reason: "the Merkle tree cannot be read: \(error)")
        }
    }

    /// Writes one tile (append-only: a tile is written once).
    final class TileWriter {
        let insert: RawStatement

        init(_ db: Database) throws {
            insert = try RawStatement(db, "INSERT INTO merkle_tiles (level, idx, hashes) VALUES (?, ?, ?)")
        }

        func write(level: Int, index: Int64, hashes: [MerkleTree.Hash]) throws {
            insert.bind(1, Int64(level))
            insert.bind(2, index)
            insert.bind(3, blob: hashes.flatMap { $0 })
            defer { insert.reset() }
            _ = try insert.step()
        }
    }

    /// The number of complete level-0 tiles stored, from the largest index (one index seek).
    static func storedLeafTiles(_ db: Database) throws -> Int64 {
        (try Int64.fetchOne(db, sql: "SELECT max(idx) FROM merkle_tiles WHERE level = 0 AND length(hashes) = ?",
                            arguments: [MerkleTiles.width * 32]) ?? -1) + 1
    }

    /// True when a live ledger's tree covers fewer events than its log (a file from before the tree).
    static func treeIsBehind(_ db: Database) throws -> Bool {
        guard try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'kind'") == "ledger" else { return false }
        return try storedLeafTiles(db) < head(db).seq / Int64(MerkleTiles.width)
    }

    /// Builds the tiles a live ledger lacks, from its events: once, for a file written before the
    /// tree existed. Tiles already there are kept; none is ever rewritten.
    static func catchUpTree(_ db: Database, report: (String) -> Void) throws {
        guard try treeIsBehind(db) else { return }
        let started = Date()
        let head = try head(db).seq
        let from = try storedLeafTiles(db) * Int64(MerkleTiles.width)
        report("building the Merkle tree over events \(from + 1)…\(head) (this file predates it)…")
        var tree = try loadTree(db, size: from)
        let writer = try TileWriter(db)
        try forEachEvent(db, LogQuery(fromSeq: from + 1), cacheKiB: scanCacheKiB) { event in
            try tree.append(leafHash: MerkleTree.leafHash(event.canonicalBytes())) { level, index, hashes in
                try writer.write(level: level, index: index, hashes: hashes)
            }
        }
        report(String(format: "built the Merkle tree over %lld events in %.2f s", head - from, Date().timeIntervalSince(started)))
    }

    /// A live ledger whose tree holds leaves the log no longer has was cut short.
    static func treeBeyondLog(_ db: Database) throws -> String? {
        guard try String.fetchOne(db, sql: "SELECT value FROM ledger_meta WHERE key = 'kind'") == "ledger" else { return nil }
        let head = try head(db).seq
        let tiles = try storedLeafTiles(db)
        guard tiles * Int64(MerkleTiles.width) > head else { return nil }
        return "the log ends at seq \(head), but its Merkle tree holds leaves to seq \(tiles * Int64(MerkleTiles.width)): events are missing"
    }
}
