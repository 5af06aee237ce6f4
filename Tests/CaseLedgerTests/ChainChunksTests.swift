@testable import CaseLedgerStore
import CaseLedgerCore
import GRDB
import XCTest

/// The chain check in chunks on two connections (`ChainChunks`, what `evidence` runs on a long
/// live log) gives the walk's verdict from seq 1: the same report for a sound log, and for every
/// kind of edit the same first bad seq with the same reason, wherever it falls against the
/// chunks' bounds. Chunks of 64 events here (16,384 in use), over a generated log of 2,000 or so.
final class ChainChunksTests: XCTestCase {
    static let chunk: Int64 = 64

    /// The walk's verdict and the chunks' on the file at `path`, each as one line.
    func verdicts(_ path: String) throws -> (walk: String, chunks: String) {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            func verdict(alongside: String?) -> String {
                do {
                    let report = try Ledger.verifyChain(db, alongside: alongside, chunkEvents: Self.chunk)
                    return "ok: \(report.events) events, head \(report.headHash), tree \(report.treeSize) \(Base64.encode(report.treeRoot))"
                } catch LedgerError.verificationFailed(let seq, let reason) {
                    return "seq \(seq.map { String($0) } ?? "none"): \(reason)"
                } catch {
                    return "error: \(error)"
                }
            }
            return (verdict(alongside: nil), verdict(alongside: path))
        }
    }

    /// When the second connection cannot help (it sees another log, or the file cannot be
    /// opened there), the caller walks every chunk itself, with the same outcome.
    func testWithoutTheSecondConnectionTheCallerWalksEveryChunk() throws {
        let folder = try TemporaryFolder()
        let path = try makeLedger(folder)
        let generated = try CLI.run(["generate", "--db", path, "--cases", "20", "--seed", "4"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        try queue.read { db in
            let walked = try Ledger.verifyChain(db)
            let head = try Ledger.head(db)
            XCTAssertTrue(ChainChunks.pays(head: head.seq, chunkEvents: 32), "\(head.seq) events")
            // Another log's head (the same seq, another hash), and a file that is not there.
            let other = Ledger.Head(seq: head.seq, hash: String(repeating: "0", count: 64), recordedAt: head.recordedAt)
            for (head, path) in [(other, path), (head, folder.path("missing.sqlite"))] {
                var tree = try TreeCheck(db, isReplay: false, record: nil, sizes: [])
                let run = try ChainChunks.walk(db, head: head, path: path, chunkEvents: 32, tree: &tree)
                let (size, root) = try tree.finish()
                XCTAssertEqual(run.count, walked.events)
                XCTAssertEqual(HashChain.hex(run.previousHash), walked.headHash)
                XCTAssertEqual(size, walked.treeSize)
                XCTAssertEqual(root, walked.treeRoot)
            }
        }
    }

    func testChunksGiveTheWalksVerdictForASoundLogAndForEveryEdit() throws {
        let folder = try TemporaryFolder()
        let source = try makeLedger(folder)
        let generated = try CLI.run(["generate", "--db", source, "--cases", "70", "--seed", "3"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let (events, head) = try DatabaseQueue(path: source).read { db in
            (try Int64.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0, try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events") ?? 0)
        }
        XCTAssertEqual(events, head)
        XCTAssertTrue(ChainChunks.pays(head: head, chunkEvents: Self.chunk), "\(head) events make too few chunks")

        let sound = try verdicts(source)
        XCTAssertTrue(sound.walk.hasPrefix("ok: \(head) events"), sound.walk)
        XCTAssertEqual(sound.chunks, sound.walk)

        // A case's first event in chunk 3 (seqs 193…256) that follows events of the case in
        // earlier chunks, and a case's later event inside chunk 2 (129…192).
        let (boundary, inside) = try DatabaseQueue(path: source).read { db in
            (try Int64.fetchOne(db, sql: """
                SELECT min(seq) FROM events e WHERE seq BETWEEN 193 AND 256 AND version > 1
                AND NOT EXISTS (SELECT 1 FROM events f WHERE f.case_id = e.case_id AND f.seq BETWEEN 193 AND e.seq - 1)
                """) ?? 0,
             try Int64.fetchOne(db, sql: """
                SELECT min(seq) FROM events e WHERE seq BETWEEN 129 AND 192
                AND EXISTS (SELECT 1 FROM events f WHERE f.case_id = e.case_id AND f.seq BETWEEN 129 AND e.seq - 1)
                """) ?? 0)
        }
        XCTAssertTrue(boundary >= 193 && inside > 129, "no event to edit: \(boundary), \(inside)")
        let zeros = String(repeating: "0", count: 64)

        // Each edit, and the start of the verdict it must give.
        let edits: [(sql: String, verdict: String)] = [
            // Data out of canonical form, in a chunk of the second connection's.
            ("UPDATE events SET data = ' ' || data WHERE seq = 100", "seq 100: data is not stored in canonical form"),
            // The last hash of a chunk: the next chunk starts from the edited hash, and fails too, later.
            ("UPDATE events SET hash = '\(zeros)' WHERE seq = 128", "seq 128: hash does not match"),
            // A chunk's first event gone, its last two, a whole chunk.
            ("DELETE FROM events WHERE seq = 129", "seq 129: seq 129 is missing (next stored seq is 130)"),
            ("DELETE FROM events WHERE seq IN (127, 128)", "seq 127: seq 127 is missing (next stored seq is 129)"),
            ("DELETE FROM events WHERE seq BETWEEN 65 AND 128", "seq 65: seq 65 is missing (next stored seq is 129)"),
            // A version that a chunk alone cannot judge (its hash fails there too: the version is named).
            ("UPDATE events SET version = version + 100 WHERE seq = \(boundary)", "seq \(boundary): case "),
            ("UPDATE events SET version = version + 100 WHERE seq = \(inside)", "seq \(inside): case "),
            // A case's first event, in the first chunk.
            ("UPDATE events SET version = 101 WHERE seq = 1", "seq 1: case "),
            // recorded_at against the event before the chunk.
            ("UPDATE events SET recorded_at = '2000-01-01T00:00:00.000000Z' WHERE seq = 193", "seq 193: recorded_at 2000-01-01"),
            // A stored tile of leaves 161…176, checked when seq 176 completes it.
            ("UPDATE merkle_tiles SET hashes = zeroblob(512) WHERE level = 0 AND idx = 10", "seq 176: merkle tile 0/10"),
            // Two edits: the earlier one is named, whichever chunk and kind.
            ("UPDATE events SET data = ' ' || data WHERE seq = 200; UPDATE events SET version = version + 100 WHERE seq = \(boundary)",
             "seq \(min(200, boundary)): "),
            ("UPDATE events SET hash = '\(zeros)' WHERE seq = 250; UPDATE events SET version = version + 100 WHERE seq = \(inside)",
             "seq \(inside): case "),
        ]
        for (number, edit) in edits.enumerated() {
            let copy = folder.path("edit-\(number).sqlite")
            XCTAssertEqual(try CLI.run(["backup", "--db", source, "--out", copy]).exitCode, 0)
            try tamper(copy, edit.sql, dropping: ["events_no_update", "events_no_delete", "merkle_tiles_no_update"])
            let (walk, chunks) = try verdicts(copy)
            XCTAssertTrue(walk.hasPrefix(edit.verdict), "\(edit.sql): \(walk)")
            XCTAssertEqual(chunks, walk, edit.sql)
        }
    }

    /// The chain's check that `recorded_at` never runs backwards compares bytes as
    /// `lexicographicallyPrecedes` does, a prefix first, for any two texts.
    func testRecordedAtIsComparedByteByByteWithAPrefixFirst() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0129:-TZ.".utf8) + [0x00, 0x7F, 0xC3, 0xFF]
        var pairs: [([UInt8], [UInt8])] = [([], []), ([], [0x31]), ([0x31], []), (Array("2026-01-01T00:00:00Z".utf8), Array("2026-01-01T00:00:00.5Z".utf8))]
        for _ in 0..<5_000 {
            let a = (0..<Int.random(in: 0...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            // Often a prefix of the other, or equal to it.
            let b = Bool.random(using: &generator) ? Array(a.prefix(Int.random(in: 0...a.count, using: &generator)))
                + (0..<Int.random(in: 0...2, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
                : (0..<Int.random(in: 0...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            pairs.append((a, b))
        }
        for (a, b) in pairs {
            a.withUnsafeBufferPointer { a in
                XCTAssertEqual(ChainRun.precedes(a, b), a.lexicographicallyPrecedes(b), "\(Array(a)) before \(b)")
            }
        }
    }
}
