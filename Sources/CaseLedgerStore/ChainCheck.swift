import CaseLedgerCore
import Foundation
import GRDB

/// The chain check's walk over consecutive events, row by row (docs/events.md): each row's
/// `seq` follows the one before (or a replay's link bridges the gap), its case's `version`
/// follows the case's last, its `recorded_at` does not run backwards, its `data` is canonical,
/// and its hash is recomputed from the hash before it. Each event that passes hands its leaf
/// hash on, for the Merkle tree. Throws `verificationFailed` naming the first bad `seq`.
///
/// A walk from seq 1 is the whole check. A walk over one chunk of a live log starts from the
/// stored hash and `recorded_at` of the event before the chunk, and cannot know the versions
/// its cases had before: it notes each case's first version, which `ChainChunks` checks when it
/// puts the chunks together.
struct ChainRun: Sendable {
    let isReplay: Bool
    /// A replay's bridges across the events it left out: seq → the hash that event chains from.
    let links: [Int64: String]
    private(set) var expectedSeq: Int64
    /// The hash and `recorded_at` of the last event walked (or of the one before the walk).
    private(set) var previousHash: [UInt8]
    private(set) var previousRecordedAt: [UInt8]
    /// Each case's last version met.
    private(set) var versions: [String: Int64] = [:]
    /// For a walk over a chunk: the first version of each case it met, with its seq. Nil for a
    /// walk from seq 1, where every case's first version follows 0.
    private(set) var firsts: [String: (version: Int64, seq: Int64)]?
    /// Events walked, and a replay's links used to bridge gaps.
    private(set) var count: Int64 = 0
    private(set) var linksUsed = 0
    /// The first event walked, with its stored hash, and the last one's seq (what a replay's
    /// record names).
    private(set) var first: (seq: Int64, hash: String)?
    private(set) var lastSeq: Int64?

    /// The whole log's walk, from seq 1.
    init(isReplay: Bool, links: [Int64: String]) {
        self.isReplay = isReplay
        self.links = links
        expectedSeq = 1
        previousHash = HashChain.genesis
        previousRecordedAt = []
    }

    /// A walk over a live log's chunk from `seq`, after an event with this hash and `recorded_at`.
    init(chunkFrom seq: Int64, previousHash: [UInt8], previousRecordedAt: [UInt8]) {
        isReplay = false
        links = [:]
        expectedSeq = seq
        self.previousHash = previousHash
        self.previousRecordedAt = previousRecordedAt
        firsts = [:]
    }

    /// Walks `rows` (`Ledger.eventColumns`, in seq order). `leaf` takes each checked event's seq,
    /// leaf hash and `recorded_at` (valid only during the call).
    ///
    /// Each row's text columns are read in place, in SQLite's memory, and hashed from there: no
    /// String is made of a field unless it is a case id (the versions' key) or goes into a
    /// failure's reason.
    mutating func walk(_ rows: RawStatement, leaf: (_ seq: Int64, _ leafHash: MerkleTree.Hash, _ recordedAt: UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        var canonical = TextBuffer()
        var computedHex: [UInt8] = []
        while try rows.step() {
            let seq = rows.int64(0), version = rows.int64(3)
            func fail(_ reason: String) -> LedgerError { .verificationFailed(seq: seq, reason: reason) }
            if seq != expectedSeq {
                guard isReplay, seq > expectedSeq, let link = links[seq], let bytes = HashChain.bytes(hex: link) else {
                    throw LedgerError.verificationFailed(seq: expectedSeq, reason: Self.missing(expectedSeq, next: seq))
                }
                previousHash = bytes
                linksUsed += 1
            }
            // The case's last version, replaced by this one in the same lookup (a failure below
            // ends the walk, so it need not be put back).
            let caseID = rows.text(2)
            if let lastVersion = Self.exchange(&versions[caseID], with: version) ?? (firsts == nil ? 0 : nil) {
                guard isReplay ? version > lastVersion : version == lastVersion + 1 else {
                    throw fail(Self.versionFailure(caseID, version, after: lastVersion))
                }
            } else {
                firsts![caseID] = (version, seq)
            }
            let recordedAt = rows.textBytes(7)
            guard !Self.precedes(recordedAt, previousRecordedAt) else {
                throw fail("recorded_at \(rows.text(7)) is earlier than the event before it (\(String(decoding: previousRecordedAt, as: UTF8.self)))")
            }
            // Stored data is canonical unless the file was edited: checked in one pass without a
            // tree, and parsed (the definition of canonical) only when that check says no.
            let data = rows.textBytes(9)
            if !CanonicalJSON.isCanonical(data) {
                let parsed: JSONValue
                do { parsed = try JSONParser.parse(rows.text(9)) } catch { throw fail("data is not valid JSON: \(error)") }
                if !CanonicalJSON.bytes(parsed).elementsEqual(data) { throw fail("data is not stored in canonical form") }
            }
            StoredEvent.writeCanonical(seq: seq, eventID: rows.textBytes(1), caseID: rows.textBytes(2), version: version,
                                       type: rows.textBytes(4), schemaVersion: rows.int64(5), occurredAt: rows.textBytes(6),
                                       recordedAt: recordedAt, actor: rows.textBytes(8), canonicalData: data, into: &canonical)
            let hash = canonical.withBytes { HashChain.next(previous: previousHash, canonical: $0) }
            HashChain.writeHex(hash, into: &computedHex)
            guard rows.text(10, equals: computedHex) else {
                throw fail("hash does not match the event's content and the chain before it (stored \(rows.text(10)), computed \(HashChain.hex(hash)))")
            }
            try leaf(seq, canonical.withBytes(MerkleTree.leafHash), recordedAt)
            previousHash = hash
            previousRecordedAt.removeAll(keepingCapacity: true)
            previousRecordedAt.append(contentsOf: recordedAt)
            expectedSeq = seq + 1
            count += 1
            if first == nil { first = (seq, rows.text(10)) }
            lastSeq = seq
        }
    }

    /// Whether `a` sorts before `b` byte by byte (a prefix first), as `lexicographicallyPrecedes`
    /// says, by one `memcmp`: the generic comparison took 284 instructions an event.
    static func precedes(_ a: UnsafeBufferPointer<UInt8>, _ b: [UInt8]) -> Bool {
        b.withUnsafeBufferPointer { b in
            let common = min(a.count, b.count)
            let order = common == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, common)
            return order < 0 || (order == 0 && a.count < b.count)
        }
    }

    static func missing(_ seq: Int64, next: Int64) -> String { "seq \(seq) is missing (next stored seq is \(next))" }

    static func versionFailure(_ caseID: String, _ version: Int64, after lastVersion: Int64) -> String {
        "case \(caseID) has version \(version) after version \(lastVersion)"
    }

    /// `value`'s old contents, `new` its new ones.
    private static func exchange<Value>(_ value: inout Value, with new: Value) -> Value {
        defer { value = new }
        return value
    }

    /// Takes in the walk of the chunk that follows this walk's last event: its cases' first
    /// versions must follow their last versions here (any version for a case not met before
    /// must be 1), and it must have started from this walk's last hash and `recorded_at`.
    /// Returns the first failure of the two walks taken together, the chunk's own or one of
    /// versions, and the seq up to which the chunk's events passed (the leaves to keep).
    mutating func takeIn(_ chunk: ChainChunks.Chunk) -> (failure: (seq: Int64, reason: String)?, passedBefore: Int64) {
        var stop = chunk.failure
        if chunk.start.hash != previousHash || chunk.start.recordedAt != previousRecordedAt {
            // Never for one snapshot of the file: each chunk read the event before it as stored.
            return ((chunk.lo, "the event before seq \(chunk.lo) reads differently to the check's two connections: the file changed while it was checked"), chunk.lo)
        }
        for (caseID, first) in chunk.run.firsts ?? [:] {
            let last = versions[caseID] ?? 0
            // At the same seq, the version is checked before what the chunk found there.
            if first.version != last + 1, first.seq <= stop?.seq ?? .max {
                stop = (first.seq, Self.versionFailure(caseID, first.version, after: last))
            }
        }
        if let stop { return (stop, stop.seq) }
        for (caseID, version) in chunk.run.versions { versions[caseID] = version }
        previousHash = chunk.run.previousHash
        previousRecordedAt = chunk.run.previousRecordedAt
        expectedSeq = chunk.run.expectedSeq
        count += chunk.run.count
        if first == nil { first = chunk.run.first }
        lastSeq = chunk.run.lastSeq ?? lastSeq
        return (nil, expectedSeq)
    }
}

/// The chain check of a long live log on both cores. The log is cut into chunks of consecutive
/// seqs, walked on the caller's connection and on a second connection to the same file, on a
/// thread of its own (`Claims` shares them out), each chunk from the stored hash and
/// `recorded_at` of the event before it. The caller takes the chunks in, in order: each must
/// start where the one before ended, its cases' first versions must follow their last ones,
/// and its leaves go into the tree. What fails is what the walk from seq 1 would name: the
/// first bad seq, with the same reason.
///
/// Each hash is recomputed from the one stored before it, which the chunk before checked; so
/// the chunks prove what one walk proves. The two connections read the same log: the second
/// one is used only when its head is the caller's (an append between the two snapshots adds
/// events after the head and changes nothing before), and a chunk must start from the hash
/// the chunk before it computed.
enum ChainChunks {
    /// One chunk's walk: its leaves, and the `recorded_at` of the events at the checkpoints' sizes.
    struct Chunk: Sendable {
        let lo: Int64
        let start: (hash: [UInt8], recordedAt: [UInt8])
        var run: ChainRun
        var leaves: [MerkleTree.Hash] = []
        var stamps: [Int64: String] = [:]
        var failure: (seq: Int64, reason: String)?
    }

    /// Events per chunk: a chunk's leaves take 32 bytes an event (half a MiB), and at most
    /// `Claims.window` chunks are walked ahead of the one taken in.
    static let events: Int64 = 16_384

    /// Whether a log of `head` events is checked in chunks: at least four of them.
    static func pays(head: Int64, chunkEvents: Int64) -> Bool { head >= 4 * chunkEvents }

    /// Walks every chunk of a live log ending at `head` and takes them into `tree`; returns the
    /// whole walk. A connection to `path` walks chunks too when its log ends at the same head;
    /// otherwise this one walks them all.
    static func walk(_ db: Database, head: Ledger.Head, path: String, chunkEvents: Int64, tree: inout TreeCheck) throws -> ChainRun {
        let claims = Claims(chunks: (head.seq + chunkEvents - 1) / chunkEvents)
        let sizes = tree.sizes
        // The helper walks chunks only if its connection opens on the same log; otherwise (or if
        // it fails) this thread walks them all.
        let helper = ConcurrentRead(path: path, head: head) { db in
            while let index = claims.claimForHelper() {
                claims.put(index, Result { try walk(chunk: index, of: chunkEvents, head: head.seq, db, sizes: sizes) })
            }
        }
        defer {
            // However this ends, the helper stops after its chunk and is waited for.
            claims.stop()
            _ = try? helper.result()
        }
        var whole = ChainRun(isReplay: false, links: [:])
        for index in 0..<claims.chunks {
            // While the chunk to take in is the helper's, not yet walked, walk one further on.
            var walkedHere: Chunk?
            while walkedHere == nil {
                switch try claims.next(toTakeIn: index) {
                case .walked(let chunk): walkedHere = chunk
                case .walk(let other):
                    let chunk = try walk(chunk: other, of: chunkEvents, head: head.seq, db, sizes: sizes)
                    if other == index { walkedHere = chunk } else { claims.put(other, .success(chunk)) }
                }
            }
            let chunk = walkedHere!
            let (failure, passedBefore) = whole.takeIn(chunk)
            // The stamps apart: the `recordedAt` autoclosure captured the whole chunk, copying it
            // (a dozen retains and releases) for every leaf, 3 % of an evidence pack's CPU at 10^6.
            let stamps = chunk.stamps
            for (offset, leaf) in chunk.leaves.prefix(Int(passedBefore - chunk.lo)).enumerated() {
                let seq = chunk.lo + Int64(offset)
                try tree.add(seq: seq, leafHash: leaf, recordedAt: stamps[seq] ?? "")
            }
            if let failure { throw LedgerError.verificationFailed(seq: failure.seq, reason: failure.reason) }
        }
        return whole
    }

    /// Who walks which chunk: the first chunk no thread has claimed goes to the thread that asks
    /// first, within a window of chunks from the one the caller is to take in next (a walked
    /// chunk waits here until it is taken in: the window bounds the memory). The caller takes
    /// the chunks in, in order, and walks chunks while the one it needs is being walked.
    final class Claims: @unchecked Sendable {
        let chunks: Int64
        static let window: Int64 = 4
        private let condition = NSCondition()
        private var next: Int64 = 0
        private var takingIn: Int64 = 0
        private var walked: [Int64: Result<Chunk, Error>] = [:]
        private var stopped = false

        init(chunks: Int64) { self.chunks = chunks }

        /// What the caller does next: take in chunk `index`, walked, or walk the chunk given.
        enum Step {
            case walked(Chunk)
            case walk(Int64)
        }

        func next(toTakeIn index: Int64) throws -> Step {
            condition.lock()
            defer { condition.unlock() }
            if takingIn != index {
                takingIn = index
                condition.broadcast()
            }
            while true {
                if let result = walked.removeValue(forKey: index) { return .walked(try result.get()) }
                if let claimed = claim() { return .walk(claimed) }
                condition.wait()
            }
        }

        /// The helper's next chunk, waited for while the window is full; nil when every chunk
        /// is claimed or the check stopped.
        func claimForHelper() -> Int64? {
            condition.lock()
            defer { condition.unlock() }
            while !stopped, next < chunks {
                if let claimed = claim() { return claimed }
                condition.wait()
            }
            return nil
        }

        /// The next chunk, if it is inside the window (the lock held).
        private func claim() -> Int64? {
            guard next < chunks, next < takingIn + Self.window else { return nil }
            next += 1
            return next - 1
        }

        func put(_ index: Int64, _ result: Result<Chunk, Error>) {
            condition.lock()
            walked[index] = result
            condition.broadcast()
            condition.unlock()
        }

        func stop() {
            condition.lock()
            stopped = true
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Walks chunk `index`: seqs `index * size + 1` up to the next chunk's first, or `head`.
    static func walk(chunk index: Int64, of size: Int64, head: Int64, _ db: Database, sizes: Set<Int64>) throws -> Chunk {
        let lo = index * size + 1, hi = min(lo + size - 1, head)
        var start = (hash: HashChain.genesis, recordedAt: [UInt8]())
        if lo > 1 {
            // Missing or unreadable, the chunk before says so first, at an earlier seq.
            let before = try RawStatement(db, "SELECT hash, recorded_at FROM events WHERE seq = ?")
            before.bind(1, lo - 1)
            defer { before.reset() }
            start = try before.step() ? (HashChain.bytes(hex: before.text(0)) ?? [], Array(before.textBytes(1))) : ([], [])
        }
        var chunk = Chunk(lo: lo, start: start, run: ChainRun(chunkFrom: lo, previousHash: start.hash, previousRecordedAt: start.recordedAt))
        chunk.leaves.reserveCapacity(Int(hi - lo + 1))
        let rows = try RawStatement(db, "SELECT \(Ledger.eventColumns) FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq")
        rows.bind(1, lo)
        rows.bind(2, hi)
        defer { rows.reset() }
        do {
            try chunk.run.walk(rows) { seq, leafHash, recordedAt in
                chunk.leaves.append(leafHash)
                if sizes.contains(seq) { chunk.stamps[seq] = String(decoding: recordedAt, as: UTF8.self) }
            }
            let missing = chunk.run.expectedSeq
            if missing <= hi {
                // The rows ended early: the next stored seq lies past the chunk (`head` is stored).
                let next = try Int64.fetchOne(db, sql: "SELECT min(seq) FROM events WHERE seq > ?", arguments: [hi]) ?? head
                throw LedgerError.verificationFailed(seq: missing, reason: ChainRun.missing(missing, next: next))
            }
        } catch LedgerError.verificationFailed(let seq, let reason) {
            chunk.failure = (seq ?? lo, reason)
        }
        return chunk
    }
}
