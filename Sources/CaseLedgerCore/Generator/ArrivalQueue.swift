import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The generated events that wait for later chunks of cases, handed back in (arrival, order)
/// order as they come due. Up to `memoryBytes` they wait in memory; beyond that, everything in
/// memory is written out as one sorted run to a temporary file, and the runs and memory are
/// merged back as their events come due (an external merge sort). A portfolio of 333,333 cases
/// (10^7 events) keeps months of events waiting at once: 422.3 MiB of them in memory, above the
/// 256 MiB the ledger's commands keep to.
///
/// The file is removed from its folder as soon as it is open, so nothing is left behind, even by
/// a process that dies. When it cannot be made (no writable temporary folder), the events wait in
/// memory, as they did before the spill.
struct ArrivalQueue {
    typealias Entry = (key: Int64, order: Int, text: [UInt8])

    /// What an entry costs besides its text: the tuple, the array's header, the allocation's.
    static let entryOverhead = 72

    private let memoryBytes: Int
    private let folder: String
    /// Sorted by (key, order); entries before `memoryStart` were handed back.
    private var memory: [Entry] = []
    private var memoryStart = 0
    private var memoryUsed = 0
    private var file: SpillFile?
    private var fileFailed = false
    private var runs: [Run] = []

    /// `memoryBytes`: what waits in memory, text and bookkeeping, before it is written out;
    /// `folder`: where the spill file is made.
    init(memoryBytes: Int, folder: String) {
        self.memoryBytes = memoryBytes
        self.folder = folder
    }

    /// Runs written so far (for the tests).
    private(set) var runsWritten = 0

    /// Adds a chunk's events (in any order).
    mutating func add(_ entries: [Entry]) throws {
        if memoryStart > 0 {
            memory.removeFirst(memoryStart)
            memoryStart = 0
        }
        memory += entries
        memory.sort { ($0.key, $0.order) < ($1.key, $1.order) }
        memoryUsed += entries.reduce(0) { $0 + $1.text.count + Self.entryOverhead }
        if memoryUsed > memoryBytes { try spill() }
    }

    /// Hands back, in (key, order) order, every waiting event whose key is below `watermark`.
    mutating func takeBefore(_ watermark: Int64, _ body: (UnsafeBufferPointer<UInt8>, Int64) throws -> Void) throws {
        while true {
            // The least head among memory and the runs (a handful of runs: a scan, not a heap).
            var best: (key: Int64, order: Int)? = memoryStart < memory.count ? (memory[memoryStart].key, memory[memoryStart].order) : nil
            var bestRun: Int?
            for (index, run) in runs.enumerated() {
                if let head = run.head, best.map({ (head.key, head.order) < ($0.key, $0.order) }) ?? true {
                    best = (head.key, head.order)
                    bestRun = index
                }
            }
            guard let best, best.key < watermark else { return }
            if let bestRun {
                try runs[bestRun].withHeadText { try body($0, best.key) }
                try runs[bestRun].advance(in: file!)
                if runs[bestRun].head == nil { runs.remove(at: bestRun) }
            } else {
                let entry = memory[memoryStart]
                memoryStart += 1
                memoryUsed -= entry.text.count + Self.entryOverhead
                try entry.text.withUnsafeBufferPointer { try body($0, best.key) }
            }
        }
    }

    /// Writes what waits in memory to the file as one sorted run, and empties memory.
    private mutating func spill() throws {
        if file == nil, !fileFailed {
            file = SpillFile(folder: folder, purpose: "the generator")
            fileFailed = file == nil
        }
        guard let file else { return }
        let start = file.size
        var writer = SpillFile.Writer(file)
        for entry in memory[memoryStart...] { try writer.add(entry) }
        try writer.finish()
        var run = Run(start: start, end: file.size)
        try run.advance(in: file)
        if run.head != nil { runs.append(run) }
        runsWritten += 1
        memory = []
        memoryStart = 0
        memoryUsed = 0
    }

    /// One sorted run in the file: what is left of it, read a buffer at a time.
    private struct Run {
        private var next: Int64
        private let end: Int64
        private var buffer: [UInt8] = []
        private var position = 0
        /// The run's least entry not handed back, its text at `buffer[textStart..<textEnd]`.
        private(set) var head: (key: Int64, order: Int)?
        private var textStart = 0
        private var textEnd = 0

        static let bufferBytes = 64 << 10

        init(start: Int64, end: Int64) {
            next = start
            self.end = end
        }

        func withHeadText<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
            try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[textStart..<textEnd])) }
        }

        /// Reads the next entry into `head` (nil at the run's end).
        mutating func advance(in file: SpillFile) throws {
            guard try available(SpillFile.headerBytes, in: file) else {
                head = nil
                return
            }
            let key = Self.integer(buffer, at: position, bytes: 8)
            let order = Self.integer(buffer, at: position + 8, bytes: 8)
            let length = Int(Self.integer(buffer, at: position + 16, bytes: 4))
            guard try available(SpillFile.headerBytes + length, in: file) else {
                throw LedgerError.storage("the generator's spill file ends inside an event")
            }
            head = (key, Int(order))
            textStart = position + SpillFile.headerBytes
            textEnd = textStart + length
            position = textEnd
        }

        /// Whether `count` bytes from `position` are in the buffer, reading more of the run if not.
        private mutating func available(_ count: Int, in file: SpillFile) throws -> Bool {
            if buffer.count - position >= count { return true }
            buffer.removeFirst(position)
            position = 0
            let wanted = Int(min(Int64(max(Self.bufferBytes, count)), end - next))
            guard wanted > 0 else { return buffer.count >= count }
            let start = buffer.count
            buffer += repeatElement(0, count: wanted)
            try buffer.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...]), at: next) }
            next += Int64(wanted)
            return buffer.count >= count
        }

        private static func integer(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> Int64 {
            var value: UInt64 = 0
            for index in 0..<count { value |= UInt64(bytes[offset + index]) << (8 * index) }
            return Int64(bitPattern: value)
        }
    }
}

/// The generator's entries in its spill file: each is its key and order (8 bytes each), its
/// text's length (4 bytes), little-endian, then the text.
extension SpillFile {
    static let headerBytes = 20

    /// Writes a run's entries through a buffer of a MiB.
    struct Writer {
        let file: SpillFile
        private var buffer: [UInt8] = []

        init(_ file: SpillFile) {
            self.file = file
            buffer.reserveCapacity(1 << 20)
        }

        mutating func add(_ entry: ArrivalQueue.Entry) throws {
            append(UInt64(bitPattern: entry.key), bytes: 8)
            append(UInt64(bitPattern: Int64(entry.order)), bytes: 8)
            append(UInt64(entry.text.count), bytes: 4)
            buffer += entry.text
            if buffer.count >= 1 << 20 { try flush() }
        }

        mutating func finish() throws { try flush() }

        private mutating func append(_ value: UInt64, bytes count: Int) {
            for index in 0..<count { buffer.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
        }

        private mutating func flush() throws {
            try buffer.withUnsafeBytes { try file.append($0) }
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
