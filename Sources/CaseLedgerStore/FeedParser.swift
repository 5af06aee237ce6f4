import CaseLedgerCore
import Foundation
import GRDB

/// One stored event's columns as the folds read them, in SQLite's memory or in a copy:
/// `SELECT seq, event_id, case_id, type, occurred_at, actor, recorded_at, data, schema_version`.
struct StoredColumns {
    let seq: Int64
    let schemaVersion: Int64
    let eventID: UnsafeBufferPointer<UInt8>
    let caseID: UnsafeBufferPointer<UInt8>
    let type: UnsafeBufferPointer<UInt8>
    let occurredAt: UnsafeBufferPointer<UInt8>
    let actor: UnsafeBufferPointer<UInt8>
    let data: UnsafeBufferPointer<UInt8>

    /// The current row of a feed's statement, read in place (valid until its next step).
    init(_ rows: RawStatement) {
        self.init(seq: rows.int64(0), schemaVersion: rows.int64(8), eventID: rows.textBytes(1), caseID: rows.textBytes(2),
                  type: rows.textBytes(3), occurredAt: rows.textBytes(4), actor: rows.textBytes(5), data: rows.textBytes(7))
    }

    init(seq: Int64, schemaVersion: Int64, eventID: UnsafeBufferPointer<UInt8>, caseID: UnsafeBufferPointer<UInt8>,
         type: UnsafeBufferPointer<UInt8>, occurredAt: UnsafeBufferPointer<UInt8>, actor: UnsafeBufferPointer<UInt8>,
         data: UnsafeBufferPointer<UInt8>) {
        self.seq = seq
        self.schemaVersion = schemaVersion
        self.eventID = eventID
        self.caseID = caseID
        self.type = type
        self.occurredAt = occurredAt
        self.actor = actor
        self.data = data
    }
}

/// Turns stored rows into the events the folds apply: the one reading of the log's columns,
/// whichever thread it runs on. Void targets are left to the caller (they need the database).
struct EventParser {
    private let catalogue = SchemaCatalogue.shared
    private var room = CanonicalObject.MemberRoom()

    /// What a filter needs before the rest of a row is read.
    struct Header {
        let seq: Int64
        let type: EventType
        let occurredAt: String
        let occurred: Timestamp
        let caseID: String
    }

    static func header(_ row: StoredColumns) throws -> Header {
        let occurredAt = String(decoding: row.occurredAt, as: UTF8.self)
        guard let type = EventType(utf8: row.type), let occurred = Timestamp(rfc3339: occurredAt) else {
            throw LedgerError.verificationFailed(seq: row.seq, reason: "unreadable type or occurred_at")
        }
        return Header(seq: row.seq, type: type, occurredAt: occurredAt, occurred: occurred, caseID: String(decoding: row.caseID, as: UTF8.self))
    }

    /// The row's event (`event(_:_:)` with the row's header), when no filter reads the header first.
    mutating func event(_ row: StoredColumns) throws -> (CaseEvent, String?) {
        try event(Self.header(row), row)
    }

    /// The event, and its `data` as a String only for the types a fold keeps it for (nil for
    /// the others: the folds read it lazily, and never for them). Inlined, a header made for
    /// the call gives its Strings to the event, where a header passed in was copied (a retain of
    /// each, then a release with the header: 16 M instructions of a rebuild at 10^5 events).
    @inline(__always)
    mutating func event(_ header: Header, _ row: StoredColumns) throws -> (CaseEvent, String?) {
        let type = header.type
        var data: String?
        let fact: CaseFact
        if CaseFact.needsData(type) {
            // Stored data is canonical unless the file was edited: its fields are read in
            // place. A tree is parsed only for data that is not, and for an older schema
            // version, read through the upcasters as the newest.
            if row.schemaVersion >= catalogue.currentVersion(of: type), let canonical = CanonicalObject(row.data, room: &room) {
                fact = CaseFact(type: type, canonical: canonical)
                if CaseFact.foldKeepsData(type) { data = String(decoding: row.data, as: UTF8.self) }
            } else {
                let text = String(decoding: row.data, as: UTF8.self)
                guard case .object(let object) = try? JSONParser.parse(text) else {
                    throw LedgerError.verificationFailed(seq: header.seq, reason: "data is not a JSON object")
                }
                fact = CaseFact(type: type, data: Upcasters.upcast(type, from: Int(row.schemaVersion), object))
                data = text
            }
        } else {
            fact = .note
        }
        // The id as its 16 bytes: no String made (every stored id is in the 8-4-4-4-12 form).
        guard let id = CompactUUID(canonical: row.eventID) else {
            throw LedgerError.verificationFailed(seq: header.seq, reason: "unreadable event_id")
        }
        // Notes change nothing but the version: their actor is never read by a fold.
        let counted = !CaseFact.needsData(type)
        let event = CaseEvent(seq: header.seq, id: id, caseID: header.caseID,
                              type: type, occurredAt: header.occurredAt, occurredMicros: header.occurred.epochMicros,
                              actor: counted ? "" : String(decoding: row.actor, as: UTF8.self), fact: fact)
        return (event, data)
    }
}

/// A scan of the log on two cores, in one of two ways:
///
/// - **On a connection of its own** (`feed(readingOn:…)`), when the log is in a WAL file whose
///   committed events are the ones this connection sees (or, for a replay, in the source file
///   its events were copied from): a second thread opens the file
///   read-only, steps through the rows and parses them, while this thread only folds. Stepping
///   through SQLite and the kernel's copies of the log's pages leave this thread.
/// - **On this connection** (`feed(shares:…)`), when it holds events no other connection sees
///   yet (an append's uncommitted batch), or the file cannot be read beside it (in memory, or a
///   rollback journal, where a reader waits for the writer): this thread steps through the rows
///   and copies their columns a chunk at a time, a second thread parses each chunk, and this
///   thread folds them while the next chunk is parsed. Moving the parsing (the facts, the
///   Strings, the times) off it took 23.6 % of a rebuild's instructions from the reading thread
///   (BENCHMARKS.md).
///
/// Either way the events reach the folds in `seq` order, share after share, and every share of
/// a scan comes from one read of it (`OneRead`). Memory stays that of a few chunks in flight.
/// An unreadable row fails where it stands, after every row before it, as on one thread; when
/// the caller throws, the other thread stops.
enum FeedParser {
    /// Rows copied at a time, and chunks between the two threads (read, parsed, being folded).
    static let chunkRows = 512
    static let chunksInFlight = 3

    /// Rows copied out of SQLite: their text columns side by side in one buffer.
    ///
    /// The bytes are copied with one `memcpy` a column into memory the chunk owns: appending each
    /// column to a `[UInt8]` went through the generic append and its copy loop first (the copies
    /// took 86.5 M of a rebuild's reading thread's instructions at 10^5, now 51.3 M). One owner
    /// fills a chunk, then hands it over; copies of a chunk share its bytes.
    struct RawChunk: Sendable {
        private var bytes: Bytes
        private var used = 0
        private(set) var seqs: [Int64] = []
        private(set) var schemaVersions: [Int64] = []
        /// Per row, the end in `bytes` of its event_id, case_id, type, occurred_at, actor and data.
        private var ends: [Int] = []

        static let columns = 6

        /// Room for `rows` rows of `bytesPerRow` bytes of text; it grows if they are longer.
        init(rows: Int, bytesPerRow: Int) {
            bytes = Bytes(capacity: rows * bytesPerRow)
            seqs.reserveCapacity(rows)
            schemaVersions.reserveCapacity(rows)
            ends.reserveCapacity(rows * Self.columns)
        }

        mutating func add(_ row: StoredColumns) {
            seqs.append(row.seq)
            schemaVersions.append(row.schemaVersion)
            let size = row.eventID.count + row.caseID.count + row.type.count + row.occurredAt.count + row.actor.count + row.data.count
            if used + size > bytes.capacity { bytes = bytes.grown(toHold: used + size, keeping: used) }
            append(row.eventID)
            append(row.caseID)
            append(row.type)
            append(row.occurredAt)
            append(row.actor)
            append(row.data)
        }

        private mutating func append(_ column: UnsafeBufferPointer<UInt8>) {
            if let source = column.baseAddress { (bytes.start + used).update(from: source, count: column.count) }
            used += column.count
            ends.append(used)
        }

        var count: Int { seqs.count }

        /// No rows, the memory kept for the next ones (the chunk's only owner).
        mutating func removeAll() {
            used = 0
            seqs.removeAll(keepingCapacity: true)
            schemaVersions.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true)
        }

        /// Appends the chunk to `file`: its row count and text length, then its seqs, schema
        /// versions, column ends and text, as they lie in memory (the file lives no longer than
        /// the process that writes it).
        func write(to file: SpillFile) throws {
            try [Int64(count), Int64(used)].withUnsafeBytes { try file.append($0) }
            try seqs.withUnsafeBytes { try file.append($0) }
            try schemaVersions.withUnsafeBytes { try file.append($0) }
            try ends.withUnsafeBytes { try file.append($0) }
            try file.append(UnsafeRawBufferPointer(start: bytes.start, count: used))
        }

        /// The chunk `write(to:)` wrote at `offset` in `file`, and where the next one starts.
        static func read(from file: SpillFile, at offset: Int64) throws -> (chunk: RawChunk, next: Int64) {
            var header = [Int64](repeating: 0, count: 2)
            try header.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
            let rows = Int(header[0]), used = Int(header[1])
            var at = offset + 16
            func array<T: FixedWidthInteger>(_ count: Int, of _: T.Type) throws -> [T] {
                let values = try [T](unsafeUninitializedCapacity: count) { values, initialized in
                    try file.read(into: UnsafeMutableRawBufferPointer(values), at: at)
                    initialized = count
                }
                at += Int64(count * MemoryLayout<T>.stride)
                return values
            }
            var chunk = RawChunk(rows: 0, bytesPerRow: 0)
            chunk.seqs = try array(rows, of: Int64.self)
            chunk.schemaVersions = try array(rows, of: Int64.self)
            chunk.ends = try array(rows * columns, of: Int.self)
            chunk.bytes = Bytes(capacity: used)
            try file.read(into: UnsafeMutableRawBufferPointer(start: chunk.bytes.start, count: used), at: at)
            chunk.used = used
            return (chunk, at + Int64(used))
        }

        /// Calls `body` with each row's columns in order, pointing into the chunk's memory (valid
        /// during the call), until it returns false.
        func forEachRow(_ body: (StoredColumns) throws -> Bool) rethrows {
            try withExtendedLifetime(bytes) {
                for index in 0..<count {
                    let first = index * Self.columns
                    func column(_ offset: Int) -> UnsafeBufferPointer<UInt8> {
                        let start = first + offset == 0 ? 0 : ends[first + offset - 1]
                        return UnsafeBufferPointer(start: bytes.start + start, count: ends[first + offset] - start)
                    }
                    let row = StoredColumns(seq: seqs[index], schemaVersion: schemaVersions[index], eventID: column(0), caseID: column(1),
                                            type: column(2), occurredAt: column(3), actor: column(4), data: column(5))
                    guard try body(row) else { return }
                }
            }
        }

        /// Memory of its own, freed with the last chunk that holds it. Written by one thread at a
        /// time: the reader fills it, then hands the chunk over through a queue.
        final class Bytes: @unchecked Sendable {
            let start: UnsafeMutablePointer<UInt8>
            let capacity: Int

            init(capacity: Int) {
                self.capacity = max(capacity, 1)
                start = .allocate(capacity: self.capacity)
            }

            deinit { start.deallocate() }

            /// A bigger buffer, at least twice this one's size, holding this one's first `used` bytes.
            func grown(toHold size: Int, keeping used: Int) -> Bytes {
                let bigger = Bytes(capacity: max(size, capacity * 2))
                bigger.start.update(from: start, count: used)
                return bigger
            }
        }
    }

    /// A chunk's events, in order (reversed by `HandOver.put` for the folds, which take them off
    /// the end), and the error that stopped it (after the events before it). A class: its array
    /// is referenced by this object alone, however many references to the object the threads
    /// and the queue hold on the way, so a fold takes the events off it in place. (As a struct
    /// handed over by value, it was copied whole whenever the parsing thread still held it: a
    /// third to a half of the chunks of a rebuild of 10^5 events under callgrind.)
    final class ParsedChunk: @unchecked Sendable {
        /// One thread at a time uses a chunk (the queue hands it over), and nothing reaches the
        /// array while it is mutated: Swift's run-time check of each access to a class's
        /// property (twice an event) could not fail, and is left out.
        @exclusivity(unchecked) var events: [(CaseEvent, String?)] = []
        /// The targets of the chunk's voids (nil for one not found), one a void in the order of
        /// their events, reversed with them. The parsing thread reads them when it has a
        /// connection of its own (`parseAndHandOver`), off the folding thread; otherwise the
        /// folding thread does, on the one connection that sees the events (`readVoidTargets`).
        @exclusivity(unchecked) var voidTargets: [VoidTarget?] = []
        var failure: Error?
        /// The last chunk of a share (when read on a connection of its own).
        var endsShare = false

        init(capacity: Int = 0, failure: Error? = nil) {
            events.reserveCapacity(capacity)
            self.failure = failure
        }

        /// Reads the targets of the chunk's voids through `lookup`, once its events are reversed
        /// (on the folding thread).
        func readVoidTargets(_ lookup: RawStatement) throws {
            for index in events.indices { try readVoidTarget(at: index, lookup) }
        }

        private func readVoidTarget(at index: Int, _ lookup: RawStatement) throws {
            // In place: `events[index]` copied the event out, retaining its Strings.
            let target = try events.withUnsafeBufferPointer { events -> VoidTarget?? in
                let item = events.baseAddress! + index
                guard item.pointee.0.type == .entryVoided else { return .none }
                return .some(try Ledger.voidTarget(of: item.pointee.0, lookup: lookup))
            }
            if let target { voidTargets.append(target) }
        }

        /// The target of `event`, the next event to fold, when it is a void.
        @inline(never)  // inlined, it made the folds copy each event, as `Ledger.voidTarget` did not
        func voidTarget(of event: CaseEvent) -> VoidTarget? {
            event.type == .entryVoided ? voidTargets.removeLast() : nil
        }

        /// Reverses the events in place, so that the folds can take each one off the end: moved
        /// out of the array, where iterating over it copies each event (retaining every String in
        /// it) for the copy to be released after its fold. (`reverse()` copied each event, in
        /// generic code; swapped here, they move.)
        func reverseForFolds() {
            voidTargets.reverse()
            events.withUnsafeMutableBufferPointer { events in
                guard events.count > 1, var low = events.baseAddress else { return }
                var high = low + (events.count - 1)
                while low < high {
                    swap(&low.pointee, &high.pointee)
                    low += 1
                    high -= 1
                }
            }
        }
    }

    /// Feeds, share by share, the rows `rows` selects for each of `shares`, read on this
    /// connection (see the type's comment); `endOfShare` follows each share's last event. Every
    /// share of the rows (`FoldShare.splitWhole`) comes from one read of them (`OneRead`), the
    /// later shares' rows from their spill files, when those can be made; otherwise each share
    /// is read by itself.
    static func feed(shares: [Ledger.FoldShare], rows: (Ledger.FoldShare) throws -> RawStatement, lookup: RawStatement,
                     _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void, endOfShare: () throws -> Void) throws {
        let raw = ChunkQueue<RawChunk>(capacity: chunksInFlight)
        let handOver = HandOver()
        let parser = Thread {
            var eventParser = EventParser()
            while let chunk = raw.take() {
                handOver.freeSpent()
                handOver.put(parse(chunk, with: &eventParser))
            }
            handOver.parsed.finish()
        }
        parser.stackSize = 1 << 22
        parser.start()
        defer {
            // However this ends, the parser stops: at once when cancelled, else once it has
            // parsed what it was given.
            raw.cancel()
            handOver.parsed.cancel()
        }
        var inFlight = 0
        /// Hands the chunks `next` gives (nil after the last) to the parser, and folds them.
        func feedShare(_ next: () throws -> RawChunk?) throws {
            var ended = false
            while !ended || inFlight > 0 {
                if !ended {
                    if let chunk = try next() {
                        raw.put(chunk)
                        inFlight += 1
                    } else {
                        ended = true
                    }
                    // Keep the parser busy: fold only once enough chunks wait for it.
                    if !ended && inFlight < chunksInFlight { continue }
                }
                if inFlight == 0 { break }
                guard let events = handOver.parsed.take() else {
                    throw LedgerError.storage("the log's parser stopped with \(inFlight) chunks unread")
                }
                inFlight -= 1
                try events.readVoidTargets(lookup)
                try handOver.fold(events, body)
            }
            try endOfShare()
        }
        if var oneRead = OneRead(shares) {
            let log = try rows(oneRead.whole)
            try feedShare(chunks(of: log) { oneRead.feedsNow(log) })
            for index in 1..<shares.count {
                if let aside = oneRead.takeAside(index) {
                    var offset: Int64 = 0
                    try feedShare { try aside.nextChunk(at: &offset) }
                } else {
                    let share = shares[index], rows = try rows(share)
                    try feedShare(chunks(of: rows) { share.holds(rows, column: 2) })
                }
            }
        } else {
            for share in shares {
                let rows = try rows(share)
                try feedShare(chunks(of: rows) { share.holds(rows, column: 2) })
            }
        }
        raw.finish()
    }

    /// The rows of `rows` that `keep` keeps (asked with the row current), copied a chunk at a
    /// time: each call gives the next chunk, nil after the last.
    private static func chunks(of rows: RawStatement, keeping keep: @escaping () -> Bool) -> () throws -> RawChunk? {
        var done = false
        return {
            guard !done else { return nil }
            var chunk = RawChunk(rows: chunkRows, bytesPerRow: 512)
            while chunk.count < chunkRows, try rows.step() {
                if keep() { chunk.add(StoredColumns(rows)) }
            }
            done = chunk.count < chunkRows
            if done { rows.reset() }
            return chunk.count > 0 ? chunk : nil
        }
    }

    /// Feeds, share by share, the rows `rows` selects for each of `shares`, read on a read-only
    /// connection of its own to the file at `path` and parsed on a second thread (see the type's
    /// comment); `endOfShare` follows each share's last event. One thread, one connection and
    /// one snapshot of the log serve every share: a thread per share left the memory a share's
    /// folds had freed in that thread's heap, where the next share's thread did not reuse it
    /// (a rebuild at 10^6 events in two shares peaked 36 MiB higher).
    ///
    /// Returns false, having fed nothing, when that connection sees a log that does not hold
    /// `head` (this connection's) or cannot be opened; the caller then reads through its own
    /// connection. The log is append-only and each hash chains every event before it, so a log
    /// whose event at `head`'s seq has `head`'s hash begins with the same events: its own file
    /// in WAL mode, or the source a replay copied them from (`rows` reads no further than `head`).
    static func feed(readingOn path: String, head: Ledger.Head, shares: [Ledger.FoldShare],
                     rows: @escaping @Sendable (Database, Ledger.FoldShare) throws -> RawStatement,
                     _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void, endOfShare: () throws -> Void) throws -> Bool {
        let handOver = HandOver()
        let sameLog = ChunkQueue<Bool>(capacity: 1)
        let stopped = DispatchSemaphore(value: 0)
        let reader = Thread {
            defer {
                handOver.parsed.finish()
                stopped.signal()
            }
            var answered = false
            do {
                let queue = try Ledger.connectionAlongside(path: path)
                defer { try? queue.close() }
                try queue.read { db in
                    let same = (try? Ledger.logHolds(db, head)) == true
                    sameLog.put(same)
                    answered = true
                    guard same else { return }
                    // Voids' targets are read here too, off the folding thread, from the same log.
                    let lookup = try RawStatement(db, Ledger.voidTargetLookup + " AND seq <= \(head.seq)")
                    if let oneRead = OneRead(shares) {
                        try readOnce(db, shares: shares, oneRead, rows: rows, lookup: lookup, into: handOver)
                        return
                    }
                    for share in shares {
                        let ended = readAndParse(try rows(db, share), share: share, lookup: lookup, into: handOver)
                        guard ended, !handOver.parsed.isCancelled else { return }
                    }
                }
            } catch {
                if answered { handOver.parsed.put(ParsedChunk(failure: error)) }
            }
            if !answered { sameLog.put(false) }
        }
        reader.stackSize = 1 << 22
        reader.start()
        defer {
            // However this ends, the reader stops at its next chunk, and is waited for: its
            // connection is closed before this returns.
            handOver.parsed.cancel()
            stopped.wait()
        }
        guard sameLog.take() == true else { return false }
        for _ in shares {
            var ended = false
            while !ended {
                guard let events = handOver.parsed.take() else {
                    throw LedgerError.storage("the log's reader stopped before the end of a share")
                }
                ended = events.endsShare
                try handOver.fold(events, body)
            }
            try endOfShare()
        }
        return true
    }

    /// The reader's side of `feed(readingOn:…)`: every row of `rows` in `share`, parsed in
    /// place from SQLite's memory, handed over a chunk at a time, the last one marked (see
    /// `parseAndHandOver`).
    private static func readAndParse(_ rows: RawStatement, share: Ledger.FoldShare, lookup: RawStatement, into handOver: HandOver) -> Bool {
        parseAndHandOver(into: handOver, lookup: lookup) { body in
            defer { rows.reset() }
            while try rows.step() {
                guard share.holds(rows, column: 2) else { continue }
                guard try body(StoredColumns(rows)) else { return }
            }
        }
    }

    /// The reader's side of `feed(readingOn:…)` for every share of the log (`FoldShare.splitWhole`),
    /// from one read of it (`OneRead`): the first share's rows are parsed and handed over as they
    /// are read, then each other share's from its spill file, or from the log again.
    private static func readOnce(_ db: Database, shares: [Ledger.FoldShare], _ oneRead: OneRead,
                                 rows: (Database, Ledger.FoldShare) throws -> RawStatement, lookup: RawStatement,
                                 into handOver: HandOver) throws {
        var oneRead = oneRead
        let log = try rows(db, oneRead.whole)
        var ended = parseAndHandOver(into: handOver, lookup: lookup) { body in
            defer { log.reset() }
            while try log.step() {
                guard oneRead.feedsNow(log) else { continue }
                guard try body(StoredColumns(log)) else { return }
            }
        }
        for index in 1..<shares.count {
            guard ended, !handOver.parsed.isCancelled else { return }
            if let aside = oneRead.takeAside(index) {
                ended = parseAndHandOver(into: handOver, lookup: lookup) { body in try aside.forEachRow(body) }
            } else {
                ended = readAndParse(try rows(db, shares[index]), share: shares[index], lookup: lookup, into: handOver)
            }
        }
    }

    /// Every share of a scan (`FoldShare.splitWhole`) from one read of it. A rebuild of 10^7
    /// events in 17 shares read the log 17 times, and the reads of rows skipped took most of its
    /// time (BENCHMARKS.md). The first share's rows are fed as they are read; each other share's
    /// are set aside, as they are, in a spill file of its own (in the temporary folder,
    /// `TMPDIR`), to be fed from there in turn, in the same order. A share whose file cannot be
    /// made or written is read from the log again instead, as every share used to be. Each file
    /// is gone once its share is fed.
    private struct OneRead {
        /// Every share's rows at once: the scan to read.
        let whole: Ledger.FoldShare
        private let count: UInt64
        private var setAside: [SetAside?]

        /// Nil unless `shares` are every share of a scan, and at least one file could be made.
        init?(_ shares: [Ledger.FoldShare]) {
            guard Ledger.FoldShare.splitWhole(shares), let files = SetAside.files(for: shares.count - 1) else { return nil }
            whole = Ledger.FoldShare(index: 0, count: 1, only: shares[0].only)
            count = UInt64(shares.count)
            setAside = files
        }

        /// Whether the current row of `log` (a scan of `whole`) is the first share's, to be fed
        /// now; any other share's row is set aside. Its share comes from its case_id alone: the
        /// row of a share read again later is not read out.
        mutating func feedsNow(_ log: RawStatement) -> Bool {
            let hash = log.textHash(2)
            if let only = whole.only, !only.contains(hash) { return false }
            let share = Int(hash % count)
            if share == 0 { return true }
            if setAside[share - 1] != nil {
                do { try setAside[share - 1]!.add(StoredColumns(log)) } catch { setAside[share - 1] = nil }
            }
            return false
        }

        /// Share `index`'s rows (1 or more), once the scan is read: their file, complete, or nil
        /// when they are to be read from the log again.
        mutating func takeAside(_ index: Int) -> SetAside? {
            guard var aside = setAside[index - 1] else { return nil }
            setAside[index - 1] = nil
            return (try? aside.finish()) == nil ? nil : aside
        }
    }

    /// Whether a spill file can be made in the temporary folder now, so that every share of a
    /// scan would come from one read of it.
    static var canSetAside: Bool { SetAside.files(for: 1) != nil }

    /// One share's rows set aside in a spill file (`OneRead`): a chunk of rows at a time, written
    /// as it fills, read back in the same order.
    private struct SetAside {
        let file: SpillFile
        private var chunk = RawChunk(rows: chunkRows, bytesPerRow: 512)

        init(_ file: SpillFile) { self.file = file }

        /// A file for each of `count` shares in the temporary folder (nil for one that could not
        /// be made); nil when none could: then each share is read by itself, the other shares'
        /// rows skipped inside SQLite rather than read out to be told apart.
        static func files(for count: Int) -> [SetAside?]? {
            let folder = FileManager.default.temporaryDirectory.path
            let files = (0..<count).map { _ in SpillFile(folder: folder, purpose: "a fold").map(SetAside.init) }
            return files.contains { $0 != nil } ? files : nil
        }

        mutating func add(_ row: StoredColumns) throws {
            chunk.add(row)
            if chunk.count == chunkRows { try writeChunk() }
        }

        /// Writes the last rows; `nextChunk` and `forEachRow` read what was written.
        mutating func finish() throws {
            if chunk.count > 0 { try writeChunk() }
        }

        private mutating func writeChunk() throws {
            try chunk.write(to: file)
            chunk.removeAll()
        }

        /// The chunk written at `offset` (0 for the first), moving `offset` to the next; nil
        /// past the last.
        func nextChunk(at offset: inout Int64) throws -> RawChunk? {
            guard offset < file.size else { return nil }
            let (chunk, next) = try RawChunk.read(from: file, at: offset)
            offset = next
            return chunk
        }

        /// Calls `body` with each row, in the order added, until it returns false.
        func forEachRow(_ body: (StoredColumns) throws -> Bool) throws {
            var offset: Int64 = 0
            while let chunk = try nextChunk(at: &offset) {
                var going = true
                try chunk.forEachRow { row in
                    going = try body(row)
                    return going
                }
                guard going else { return }
            }
        }
    }

    /// Parses the rows `forEachRow` gives (each valid during its call; it stops when told to),
    /// reads their voids' targets through `lookup`, and hands them over a chunk at a time, the
    /// last one marked. Stops at the first row that cannot be read or parsed, or whose void's
    /// target cannot be read (its error ends the last chunk), or when the folds stop taking.
    /// Returns whether the rows ended without an error.
    private static func parseAndHandOver(into handOver: HandOver, lookup: RawStatement,
                                         _ forEachRow: (_ body: (StoredColumns) throws -> Bool) throws -> Void) -> Bool {
        var parser = EventParser()
        var chunk = ParsedChunk(capacity: chunkRows)
        var cancelled = false
        do {
            try forEachRow { row in
                let (event, data) = try parser.event(row)
                if event.type == .entryVoided { chunk.voidTargets.append(try Ledger.voidTarget(of: event, lookup: lookup)) }
                // Moved in: appending the tuple made from them copied the event (its Strings retained).
                chunk.events.append((consume event, consume data))
                guard chunk.events.count == chunkRows else { return true }
                handOver.freeSpent()
                handOver.put(chunk)
                if handOver.parsed.isCancelled {
                    cancelled = true
                    return false
                }
                chunk = ParsedChunk(capacity: chunkRows)
                return true
            }
        } catch {
            chunk.failure = error
        }
        if cancelled { return false }
        chunk.endsShare = true
        let ended = chunk.failure == nil
        handOver.freeSpent()
        handOver.put(chunk)
        return ended
    }

    /// Parsed chunks on their way to the folds, and back.
    private final class HandOver: Sendable {
        let parsed = ChunkQueue<ParsedChunk>(capacity: chunksInFlight)
        /// Folded chunks go back to the parsing thread, which frees what the folds did not keep:
        /// it made those Strings and facts, and freeing them there keeps that work off the
        /// folding thread. Never more than were parsed, so never full.
        private let spent = ChunkQueue<ParsedChunk>(capacity: .max)

        /// Frees the chunks folded since the last call (on the parsing thread).
        func freeSpent() { _ = spent.takeAll() }

        /// Hands a parsed chunk to the folds, its events reversed (`ParsedChunk.reverseForFolds`).
        /// The parsing thread does not touch it again.
        func put(_ chunk: ParsedChunk) {
            chunk.reverseForFolds()
            parsed.put(chunk)
        }

        /// Feeds one chunk's events to `body`, in order, then throws the error that ended it.
        /// Each event is taken off the end of `chunk` and moved into the chunk that goes back to
        /// the parsing thread.
        func fold(_ chunk: ParsedChunk, _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void) throws {
            let folded = ParsedChunk(capacity: chunk.events.count)
            while let item = chunk.events.popLast() {
                try body(item.0, chunk.voidTarget(of: item.0), item.1)
                folded.events.append(item)
            }
            if let failure = chunk.failure { throw failure }
            spent.put(folded)
        }
    }

    private static func parse(_ chunk: RawChunk, with parser: inout EventParser) -> ParsedChunk {
        let parsed = ParsedChunk(capacity: chunk.count)
        chunk.forEachRow { row in
            do {
                parsed.events.append(try parser.event(row))
                return true
            } catch {
                parsed.failure = error
                return false
            }
        }
        return parsed
    }
}
