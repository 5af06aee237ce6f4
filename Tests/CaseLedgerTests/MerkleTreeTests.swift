import CaseLedgerCore
import Crypto
import Foundation
import XCTest

/// The RFC 9162 tree, its tiles and proofs, and C2SP signed notes: against published vectors, a
/// brute-force MTH for every pair of sizes up to 64, and every way a proof can be wrong.
final class MerkleTreeTests: XCTestCase {
    /// transparency-dev/merkle's test leaves (hex) and their roots for sizes 1 … 8.
    static let vectorLeaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
    static let vectorRoots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    /// MTH straight from RFC 9162 §2.1.1, sharing no code with the ledger's.
    static func bruteForceRoot(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        if leaves.isEmpty { return Array(SHA256.hash(data: [UInt8]())) }
        if leaves.count == 1 { return Array(SHA256.hash(data: [0] + leaves.first!)) }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let start = leaves.startIndex
        return Array(SHA256.hash(data: [1] + bruteForceRoot(leaves[start..<(start + k)]) + bruteForceRoot(leaves[(start + k)...])))
    }

    static func leafData(_ n: Int) -> [[UInt8]] { (0..<n).map { Array("leaf \($0)".utf8) } }

    func testTheTransparencyDevVectorsGiveTheirPublishedRoots() throws {
        let leaves = Self.vectorLeaves.map { MerkleTree.leafHash(Hex.bytes($0)!) }
        var appender = MerkleAppender()
        for (n, leaf) in leaves.enumerated() {
            appender.append(leafHash: leaf) { _, _, _ in }
            XCTAssertEqual(Hex.string(try MerkleTree.root(size: Int64(n + 1), nodes: InMemoryMerkleNodes(leaves: leaves))), Self.vectorRoots[n])
            XCTAssertEqual(Hex.string(appender.root), Self.vectorRoots[n])
        }
        XCTAssertEqual(Hex.string(MerkleTree.emptyRoot), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testEveryInclusionAndConsistencyProofUpTo64LeavesChecksAgainstABruteForceMTH() throws {
        let data = Self.leafData(64)
        let leaves = data.map(MerkleTree.leafHash)
        let nodes = InMemoryMerkleNodes(leaves: leaves)
        for n in 1...64 {
            let root = Self.bruteForceRoot(data[0..<n])
            XCTAssertEqual(try MerkleTree.root(size: Int64(n), nodes: nodes), root, "root \(n)")
            for m in 0..<n {
                let proof = try MerkleTree.inclusionProof(index: Int64(m), size: Int64(n), nodes: nodes)
                XCTAssertNoThrow(try MerkleTree.verifyInclusion(index: Int64(m), size: Int64(n), leafHash: leaves[m], proof: proof, root: root), "inclusion \(m) in \(n)")
            }
            for m in 1...n {
                let proof = try MerkleTree.consistencyProof(from: Int64(m), to: Int64(n), nodes: nodes)
                let oldRoot = Self.bruteForceRoot(data[0..<m])
                XCTAssertNoThrow(try MerkleTree.verifyConsistency(oldSize: Int64(m), newSize: Int64(n), oldRoot: oldRoot, newRoot: root, proof: proof),
                                 "consistency \(m) → \(n)")
            }
        }
    }

    func testProofsOneHashShortOrLongOrFlippedOrOutOfRangeOrForAnotherSizeAreRefused() throws {
        let data = Self.leafData(64)
        let leaves = data.map(MerkleTree.leafHash)
        let nodes = InMemoryMerkleNodes(leaves: leaves)
        for n in [2, 3, 5, 8, 13, 31, 63] {
            let root = Self.bruteForceRoot(data[0..<n])
            for m in [0, n / 2, n - 1] {
                let proof = try MerkleTree.inclusionProof(index: Int64(m), size: Int64(n), nodes: nodes)
                // Another size is checked against that size's root, as a checkpoint pairs them.
                func refused(_ bad: [[UInt8]], index: Int64 = Int64(m), size: Int64 = Int64(n), _ what: String) {
                    let claimed = size == Int64(n) ? root : Self.bruteForceRoot(data[0..<Int(size)])
                    XCTAssertThrowsError(try MerkleTree.verifyInclusion(index: index, size: size, leafHash: leaves[m], proof: bad, root: claimed), "\(what): \(m) in \(n)")
                }
                refused(Array(proof.dropLast()), "one hash short")
                refused(proof + [leaves[0]], "one hash long")
                var flipped = proof
                flipped[0][0] ^= 0x01
                refused(flipped, "one bit flipped")
                refused(proof, index: Int64(n), "index out of range")
                refused(proof, size: Int64(n + 1), "another size")
            }
            for m in [1, n / 2, n - 1] where m >= 1 && m < n {
                let proof = try MerkleTree.consistencyProof(from: Int64(m), to: Int64(n), nodes: nodes)
                let oldRoot = Self.bruteForceRoot(data[0..<m])
                func refused(_ bad: [[UInt8]], old: Int64 = Int64(m), new: Int64 = Int64(n), _ what: String) {
                    let newRoot = new == Int64(n) || new > 64 ? root : Self.bruteForceRoot(data[0..<Int(new)])
                    XCTAssertThrowsError(try MerkleTree.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot, proof: bad), "\(what): \(m) → \(n)")
                }
                refused(Array(proof.dropLast()), "one hash short")
                refused(proof + [leaves[0]], "one hash long")
                var flipped = proof
                flipped[flipped.count - 1][31] ^= 0x80
                refused(flipped, "one bit flipped")
                refused(proof, old: Int64(m), new: Int64(n + 1), "another new size")
                refused(proof, old: Int64(n + 1), new: Int64(n), "old size beyond new")
            }
        }
        XCTAssertThrowsError(try MerkleTree.verifyConsistency(oldSize: 4, newSize: 4, oldRoot: leaves[0], newRoot: leaves[1], proof: []))
    }

    /// The tiles the appender hands out, with leaves only where no tile holds them, give the same
    /// roots and proofs as the whole list, across several tile levels and partial tiles.
    func testTilesGiveTheSameRootsAndProofsAsTheWholeTree() throws {
        let leaves = Self.leafData(4_200).map(MerkleTree.leafHash)
        var tiles: [String: [MerkleTree.Hash]] = [:]
        var appender = MerkleAppender()
        let all = InMemoryMerkleNodes(leaves: leaves)
        for (n, leaf) in leaves.enumerated() {
            appender.append(leafHash: leaf) { level, index, hashes in tiles["\(level)/\(index)"] = hashes }
            let size = Int64(n + 1)
            guard [1, 15, 16, 17, 255, 256, 257, 1000, 4095, 4096, 4097, 4200].contains(size) else { continue }
            let tiled = TiledMerkleNodes(tile: { tiles["\($0)/\($1)"] }, leaf: { $0 < size ? leaves[Int($0)] : nil })
            XCTAssertEqual(appender.root, try MerkleTree.root(size: size, nodes: all), "appender root at \(size)")
            XCTAssertEqual(try MerkleTree.root(size: size, nodes: tiled), appender.root, "tiled root at \(size)")
            for index in Set([0, size / 3, size - 1]) {
                XCTAssertEqual(try MerkleTree.inclusionProof(index: index, size: size, nodes: tiled),
                               try MerkleTree.inclusionProof(index: index, size: size, nodes: all), "proof of \(index) at \(size)")
            }
            // A tree loaded from tiles and leaves picks up where the appender is.
            let loaded = try MerkleAppender(size: size, leafHash: { leaves[Int($0)] }, tile: { tiles["\($0)/\($1)"]! })
            XCTAssertEqual(loaded.root, appender.root, "loaded at \(size)")
            XCTAssertEqual(loaded.pending, appender.pending, "loaded at \(size)")
        }
        XCTAssertEqual(tiles.count, 4_200 / 16 + 4_200 / 256 + 4_200 / 4096)
        // A frozen tree stores its partial tiles too; then no leaf is needed at all.
        for tile in appender.partialTiles { tiles["\(tile.level)/\(tile.index)"] = tile.hashes }
        let frozen = TiledMerkleNodes(tile: { tiles["\($0)/\($1)"] }, leaf: { _ in nil })
        XCTAssertEqual(try MerkleTree.root(size: 4_200, nodes: frozen), appender.root)
        XCTAssertEqual(try MerkleTree.inclusionProof(index: 4_199, size: 4_200, nodes: frozen),
                       try MerkleTree.inclusionProof(index: 4_199, size: 4_200, nodes: all))
    }

    // MARK: - Signed notes

    func testTheC2SPSignedNoteExampleVerifies() throws {
        let verifier = try NoteVerifier(text: "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
        let text = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
        let note = try SignedNote(parsing: text)
        XCTAssertEqual(note.text, "This is an example message.\n")
        XCTAssertEqual(try note.verify(with: [verifier]).map(\.verifier.name), ["example.com/foo"])
        XCTAssertEqual(note.noteText, text)
        let altered = try SignedNote(parsing: text.replacingOccurrences(of: "example message", with: "exemplary message"))
        XCTAssertThrowsError(try altered.verify(with: [verifier]))
    }

    func testKeysRoundTripAndSignaturesAndCosignaturesCheck() throws {
        let log = try NoteSigningKey.generate(name: "ledger.bank.example/collections")
        let witness = try NoteSigningKey.generate(name: "witness.example/w1", type: .cosignature)
        let reread = try NoteSigningKey(fileText: log.fileText)
        XCTAssertEqual(reread.verifier, log.verifier)
        XCTAssertEqual(try NoteVerifier(text: log.verifier.text), log.verifier)
        XCTAssertTrue(log.fileText.hasPrefix("PRIVATE+KEY+ledger.bank.example/collections+\(Hex.string(log.verifier.keyID))+"))
        XCTAssertEqual(try NoteVerifier(text: witness.verifier.text).type, .cosignature)

        let checkpoint = Checkpoint(origin: log.name, size: 8, root: Hex.bytes(Self.vectorRoots[7])!)
        var note = checkpoint.unsignedNote
        note.sign(with: log)
        note.cosign(with: witness, time: 1_764_662_400)
        let parsed = try Checkpoint.verified(noteText: note.noteText, keys: [log.verifier, witness.verifier])
        XCTAssertEqual(parsed.checkpoint, checkpoint)
        XCTAssertEqual(parsed.signatures.compactMap(\.time), [1_764_662_400])

        // A wrong key is not a signature; an edited size or root breaks the one that was there.
        let other = try NoteSigningKey.generate(name: log.name)
        XCTAssertThrowsError(try Checkpoint.verified(noteText: note.noteText, keys: [other.verifier]))
        for edited in [note.noteText.replacingOccurrences(of: "\n8\n", with: "\n9\n"),
                       note.noteText.replacingOccurrences(of: Base64.encode(checkpoint.root), with: Base64.encode(MerkleTree.emptyRoot))] {
            XCTAssertThrowsError(try Checkpoint.verified(noteText: edited, keys: [log.verifier]))
        }
        // A cosignature whose time was changed does not verify.
        var forged = note
        forged = SignedNote(text: note.text, signatures: note.signatures.map { signature in
            guard signature.payload.count == 72 else { return signature }
            var payload = signature.payload
            payload[7] ^= 0x01
            return SignedNote.Signature(name: signature.name, keyID: signature.keyID, payload: payload)
        })
        XCTAssertThrowsError(try forged.verify(with: [witness.verifier]))
    }

    func testTlogProofTextRoundTrips() throws {
        let proof = TlogProof(index: 41, hashes: [MerkleTree.emptyRoot, MerkleTree.leafHash([1])], checkpointNote: "o\n1\nroot\n\n— o sig\n")
        XCTAssertTrue(proof.text.hasPrefix("c2sp.org/tlog-proof@v1\nindex 41\n"))
        XCTAssertEqual(try TlogProof(text: proof.text), proof)
        XCTAssertThrowsError(try TlogProof(text: proof.text.replacingOccurrences(of: "index 41", with: "index 041")))
    }
}
