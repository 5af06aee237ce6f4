import Crypto

/// The RFC 9162 (Certificate Transparency 2.0, §2.1) Merkle tree over the log: leaf index
/// `seq − 1`, leaf data the event's canonical bytes (the same bytes its chain hash covers).
///
/// Roots and proofs are computed from *complete subtrees* (`MerkleNodes`): a perfect subtree of
/// `2^level` leaves starting at leaf `index × 2^level`. The ledger stores those in tiles, so any
/// root or proof needs O(log n) reads; tests use an in-memory list of leaves.
///
/// ```swift
/// let root = try MerkleTree.root(size: 8, nodes: leaves)                 // MTH(D[8])
/// let path = try MerkleTree.inclusionProof(index: 5, size: 8, nodes: leaves)
/// try MerkleTree.verifyInclusion(index: 5, size: 8, leafHash: leaf, proof: path, root: root)
/// ```
public enum MerkleTree {
    public typealias Hash = [UInt8]
    /// Bytes in a `Hash` (SHA-256).
    public static let hashSize = 32

    /// SHA-256 of the empty string: the root of the empty tree.
    public static let emptyRoot: Hash = SHA256.hash(data: [UInt8]()).bytes

    /// SHA-256(0x00 ‖ data).
    public static func leafHash(_ data: [UInt8]) -> Hash {
        data.withUnsafeBufferPointer { leafHash($0) }
    }

    public static func leafHash(_ data: UnsafeBufferPointer<UInt8>) -> Hash {
        SHA256.bytes(count: 1 + data.count) { buffer in
            buffer[0] = 0x00
            UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyBytes(from: data)
        }
    }

    /// SHA-256(0x01 ‖ left ‖ right).
    public static func nodeHash(_ left: Hash, _ right: Hash) -> Hash {
        let children = left + right
        return children.withUnsafeBytes { children in
            SHA256.bytes(count: 1 + children.count) { writeNodeInput(children, into: $0) }
        }
    }

    /// SHA-256(0x01 ‖ children) written at `digest` (32 bytes), `children` the bytes of the left
    /// and the right child side by side: `nodeHash` without an array, for `MerkleTiles.subtreeRoot`.
    static func nodeHash(children: UnsafeRawBufferPointer, into digest: UnsafeMutableRawBufferPointer) {
        SHA256.digest(count: 1 + children.count, into: digest) { writeNodeInput(children, into: $0) }
    }

    /// What a node's hash covers: 0x01, then its children.
    private static func writeNodeInput(_ children: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) {
        buffer[0] = 0x01
        UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyMemory(from: children)
    }

    /// The largest power of two strictly below `n` (n ≥ 2): RFC 9162's split point k.
    static func split(_ n: Int64) -> Int64 {
        var k: Int64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// MTH of the leaves [start, start + count): complete subtrees where they are aligned, split
    /// as RFC 9162 splits otherwise. `start` is always a multiple of the largest power of two ≤ count.
    static func subtreeRoot(start: Int64, count: Int64, nodes: some MerkleNodes) throws -> Hash {
        if count & (count - 1) == 0 {
            let level = count.trailingZeroBitCount
            return try nodes.node(level: level, index: start >> level)
        }
        let k = split(count)
        return nodeHash(try subtreeRoot(start: start, count: k, nodes: nodes),
                        try subtreeRoot(start: start + k, count: count - k, nodes: nodes))
    }

    /// The root of the first `size` leaves (the empty tree's root for 0).
    public static func root(size: Int64, nodes: some MerkleNodes) throws -> Hash {
        size == 0 ? emptyRoot : try subtreeRoot(start: 0, count: size, nodes: nodes)
    }

    /// RFC 9162 §2.1.3.1 PATH(m, D[n]): the sibling hashes from the leaf up, leaf's sibling first.
    public static func inclusionProof(index: Int64, size: Int64, nodes: some MerkleNodes) throws -> [Hash] {
        guard index >= 0, index < size else { throw MerkleError("leaf index \(index) is not below the tree size \(size)") }
        var proof: [Hash] = []
        func path(_ m: Int64, start: Int64, count: Int64) throws {
            guard count > 1 else { return }
            let k = split(count)
            if m < k {
                try path(m, start: start, count: k)
                proof.append(try subtreeRoot(start: start + k, count: count - k, nodes: nodes))
            } else {
                try path(m - k, start: start + k, count: count - k)
                proof.append(try subtreeRoot(start: start, count: k, nodes: nodes))
            }
        }
        try path(index, start: 0, count: size)
        return proof
    }

    /// RFC 9162 §2.1.4.1 PROOF(m, D[n]) for 0 < m ≤ n: empty when m == n.
    public static func consistencyProof(from old: Int64, to new: Int64, nodes: some MerkleNodes) throws -> [Hash] {
        guard old > 0, old <= new else { throw MerkleError("a consistency proof needs 0 < old size ≤ new size; got \(old) → \(new)") }
        var proof: [Hash] = []
        func subproof(_ m: Int64, start: Int64, count: Int64, complete: Bool) throws {
            if m == count {
                if !complete { proof.append(try subtreeRoot(start: start, count: count, nodes: nodes)) }
                return
            }
            let k = split(count)
            if m <= k {
                try subproof(m, start: start, count: k, complete: complete)
                proof.append(try subtreeRoot(start: start + k, count: count - k, nodes: nodes))
            } else {
                try subproof(m - k, start: start + k, count: count - k, complete: false)
                proof.append(try subtreeRoot(start: start, count: k, nodes: nodes))
            }
        }
        try subproof(old, start: 0, count: new, complete: true)
        return proof
    }

    // MARK: - Verification, exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 say

    /// Throws unless `proof` shows the leaf at `index` in the tree of `size` leaves with `root`.
    /// A proof with a hash too many or too few is refused, whatever the hashes.
    public static func verifyInclusion(index: Int64, size: Int64, leafHash: Hash, proof: [Hash], root: Hash) throws {
        guard index >= 0, index < size else { throw MerkleError("leaf index \(index) is not below the tree size \(size)") }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw MerkleError("the inclusion proof has more hashes than a tree of \(size) leaves needs") }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn != 0 && fn & 1 == 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw MerkleError("the inclusion proof has fewer hashes than a tree of \(size) leaves needs") }
        guard r == root else { throw MerkleError("the inclusion proof does not lead to the root") }
    }

    /// Throws unless `proof` shows the tree of `oldSize` leaves with `oldRoot` is a prefix of the
    /// tree of `newSize` with `newRoot`. Equal sizes need an empty proof and equal roots; from the
    /// empty tree any tree follows (C2SP tlog-witness).
    public static func verifyConsistency(oldSize: Int64, newSize: Int64, oldRoot: Hash, newRoot: Hash, proof: [Hash]) throws {
        guard oldSize >= 0, oldSize <= newSize else { throw MerkleError("the old size \(oldSize) is larger than the new size \(newSize)") }
        if oldSize == newSize {
            guard proof.isEmpty else { throw MerkleError("two trees of the same size need an empty consistency proof") }
            guard oldRoot == newRoot else { throw MerkleError("two trees of size \(oldSize) with different roots: the log forked") }
            return
        }
        if oldSize == 0 {
            guard proof.isEmpty else { throw MerkleError("a consistency proof from the empty tree must be empty") }
            return
        }
        guard !proof.isEmpty else { throw MerkleError("the consistency proof is empty") }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw MerkleError("the consistency proof has more hashes than needed") }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn != 0 && fn & 1 == 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw MerkleError("the consistency proof has fewer hashes than needed") }
        guard fr == oldRoot else { throw MerkleError("the consistency proof does not lead to the old root") }
        guard sr == newRoot else { throw MerkleError("the consistency proof does not lead to the new root") }
    }
}

/// Complete subtrees of a Merkle tree: the hash of the perfect subtree of `2^level` leaves that
/// starts at leaf `index × 2^level`.
public protocol MerkleNodes {
    func node(level: Int, index: Int64) throws -> MerkleTree.Hash
}

/// A tree held in memory as its leaf hashes (for tests and small trees): every node is computed.
public struct InMemoryMerkleNodes: MerkleNodes {
    public let leaves: [MerkleTree.Hash]

    public init(leaves: [MerkleTree.Hash]) { self.leaves = leaves }

    public func node(level: Int, index: Int64) throws -> MerkleTree.Hash {
        let start = Int(index) << level
        guard start + (1 << level) <= leaves.count else { throw MerkleError("no complete subtree at level \(level) index \(index)") }
        if level == 0 { return leaves[start] }
        return MerkleTree.nodeHash(try node(level: level - 1, index: index * 2), try node(level: level - 1, index: index * 2 + 1))
    }
}

/// A proof or tree that does not check, in words for a person.
public struct MerkleError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
