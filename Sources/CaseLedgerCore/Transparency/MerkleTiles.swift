/// How the ledger keeps its Merkle tree: in *tiles* of 16 hashes (as C2SP tlog-tiles does, with
/// height 4 instead of 8). Tile (L, i) holds the hashes of tree level 4L at indices 16i … 16i+15:
/// level-0 tiles hold leaf hashes, a level-1 tile the roots of 16 level-0 tiles, and so on. A live
/// ledger stores a tile once it is complete, in the same transaction as the events that complete
/// it: about 1.07 hashes per event, in one row per 16. What no complete tile holds yet (at most 15
/// entries per level) is recomputed from the events, so any node costs at most two tile reads.
///
/// ```swift
/// var tree = MerkleAppender()
/// try tree.append(leafHash: MerkleTree.leafHash(bytes)) { level, index, hashes in store(level, index, hashes) }
/// tree.root   // MTH of everything appended
/// ```
public enum MerkleTiles {
    /// Tree levels per tile level.
    public static let height = 4
    /// Hashes per complete tile.
    public static let width = 16

    /// The hash of the perfect subtree whose lowest level holds `hashes` (a power-of-two count of
    /// 32-byte hashes).
    ///
    /// Computed in one scratch buffer, each level's nodes written over the level below, instead
    /// of an array per level and per node (`verify` at 10^5: 681.9 M instructions here before,
    /// 611.1 M after, of which SHA-256 is 515 M).
    public static func subtreeRoot(_ hashes: ArraySlice<MerkleTree.Hash>) -> MerkleTree.Hash {
        let size = MerkleTree.hashSize
        precondition(hashes.count > 0 && hashes.count & (hashes.count - 1) == 0, "a perfect subtree has a power-of-two count of leaves")
        if hashes.count == 1 { return hashes[hashes.startIndex] }
        return withUnsafeTemporaryAllocation(byteCount: hashes.count * size, alignment: 1) { nodes in
            for (offset, hash) in hashes.enumerated() {
                precondition(hash.count == size, "a Merkle tree hash is \(size) bytes")
                UnsafeMutableRawBufferPointer(rebasing: nodes[(offset * size)...]).copyBytes(from: hash)
            }
            var count = hashes.count
            while count > 1 {
                for node in 0..<(count / 2) {
                    // Nodes 2n and 2n + 1 are copied into the hash's input before node n is written.
                    MerkleTree.nodeHash(children: UnsafeRawBufferPointer(rebasing: nodes[(2 * node * size)..<((2 * node + 2) * size)]),
                                        into: UnsafeMutableRawBufferPointer(rebasing: nodes[(node * size)..<((node + 1) * size)]))
                }
                count /= 2
            }
            return Array(nodes[..<size])
        }
    }
}

/// Builds the tree leaf by leaf, in order, holding for each tile level the entries of the tile
/// not yet complete; hands out each tile as it completes. The append path, `verify` (from the
/// events themselves) and replay all build with it.
public struct MerkleAppender: Sendable {
    public private(set) var size: Int64 = 0
    /// pending[L]: the entries of tile level L after the last complete tile (fewer than 16).
    public private(set) var pending: [[MerkleTree.Hash]] = [[]]

    public init() {}

    /// The tree of `size` leaves, from what no complete tile holds: `leafHash(i)` for the leaves
    /// after the last complete level-0 tile, `tile(L, i)` for the complete tiles whose roots are
    /// pending one level up.
    public init(size: Int64, leafHash: (Int64) throws -> MerkleTree.Hash, tile: (Int, Int64) throws -> [MerkleTree.Hash]) throws {
        self.size = size
        pending = []
        var level = 0
        while true {
            let count = size >> (MerkleTiles.height * level)
            let first = count - count % Int64(MerkleTiles.width)
            var entries: [MerkleTree.Hash] = []
            for index in first..<count {
                if level == 0 {
                    entries.append(try leafHash(index))
                } else {
                    let hashes = try tile(level - 1, index)
                    guard hashes.count == MerkleTiles.width else {
                        throw MerkleError("tile \(level - 1)/\(index) holds \(hashes.count) hashes; a complete tile holds \(MerkleTiles.width)")
                    }
                    entries.append(MerkleTiles.subtreeRoot(hashes[...]))
                }
            }
            pending.append(entries)
            if count < Int64(MerkleTiles.width) { break }
            level += 1
        }
    }

    /// Adds the next leaf; `complete(level, index, hashes)` hears of every tile it completes.
    public mutating func append(leafHash: MerkleTree.Hash, complete: (Int, Int64, [MerkleTree.Hash]) throws -> Void) rethrows {
        size += 1
        pending[0].append(leafHash)
        var level = 0
        while pending[level].count == MerkleTiles.width {
            let hashes = pending[level]
            let index = (size >> (MerkleTiles.height * (level + 1))) - 1
            try complete(level, index, hashes)
            pending[level].removeAll(keepingCapacity: true)
            if pending.count == level + 1 { pending.append([]) }
            pending[level + 1].append(MerkleTiles.subtreeRoot(hashes[...]))
            level += 1
        }
    }

    /// The perfect subtrees that make up the tree, left to right (largest first).
    var perfectSubtrees: [MerkleTree.Hash] {
        var subtrees: [MerkleTree.Hash] = []
        for entries in pending.reversed() {
            var start = 0
            for bit in [8, 4, 2, 1] where entries.count & bit != 0 {
                subtrees.append(MerkleTiles.subtreeRoot(entries[start..<(start + bit)]))
                start += bit
            }
        }
        return subtrees
    }

    /// MTH of the leaves appended so far: the perfect subtrees folded from the right.
    public var root: MerkleTree.Hash {
        var subtrees = perfectSubtrees
        guard var root = subtrees.popLast() else { return MerkleTree.emptyRoot }
        while let left = subtrees.popLast() { root = MerkleTree.nodeHash(left, root) }
        return root
    }

    /// The tiles not yet complete, as (level, index, entries): what a frozen tree (a replay's) stores
    /// so that its nodes can be computed without the events it left out.
    public var partialTiles: [(level: Int, index: Int64, hashes: [MerkleTree.Hash])] {
        pending.enumerated().compactMap { level, entries in
            entries.isEmpty ? nil : (level, (size >> (MerkleTiles.height * level)) / Int64(MerkleTiles.width), entries)
        }
    }
}

/// Complete subtrees computed from stored tiles, with leaf hashes from the events where no tile
/// holds them. `tile(L, i)` returns the stored tile (complete, or a frozen tree's partial one) or
/// nil; `leaf(i)` the hash of leaf i from its event, or nil when the event is not at hand.
public final class TiledMerkleNodes: MerkleNodes {
    let tile: (Int, Int64) throws -> [MerkleTree.Hash]?
    let leaf: (Int64) throws -> MerkleTree.Hash?
    private var cache: [Int64: [MerkleTree.Hash]] = [:]

    public init(tile: @escaping (Int, Int64) throws -> [MerkleTree.Hash]?, leaf: @escaping (Int64) throws -> MerkleTree.Hash?) {
        self.tile = tile
        self.leaf = leaf
    }

    private func cachedTile(_ level: Int, _ index: Int64) throws -> [MerkleTree.Hash]? {
        let key = Int64(level) << 56 | index
        if let hashes = cache[key] { return hashes }
        guard let hashes = try tile(level, index) else { return nil }
        if cache.count > 4096 { cache.removeAll(keepingCapacity: true) }
        cache[key] = hashes
        return hashes
    }

    /// The entry `index` of tile level `level` (tree level 4·level).
    private func entry(level: Int, index: Int64) throws -> MerkleTree.Hash {
        let width = Int64(MerkleTiles.width)
        if let hashes = try cachedTile(level, index / width), Int(index % width) < hashes.count {
            return hashes[Int(index % width)]
        }
        if level == 0 {
            guard let hash = try leaf(index) else { throw MerkleError("leaf \(index) is in no stored tile and its event is not here") }
            return hash
        }
        guard let below = try cachedTile(level - 1, index), below.count == MerkleTiles.width else {
            throw MerkleError("the tree has no complete tile \(level - 1)/\(index)")
        }
        return MerkleTiles.subtreeRoot(below[...])
    }

    public func node(level: Int, index: Int64) throws -> MerkleTree.Hash {
        let tileLevel = level / MerkleTiles.height
        let span = Int64(1) << (level % MerkleTiles.height)
        let first = index * span
        var hashes: [MerkleTree.Hash] = []
        hashes.reserveCapacity(Int(span))
        for entryIndex in first..<(first + span) { hashes.append(try entry(level: tileLevel, index: entryIndex)) }
        return MerkleTiles.subtreeRoot(hashes[...])
    }
}
