import CaseLedgerCore
import Foundation

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

    /// The event, and its `data` as a String only for the types a fold keeps it for (nil for
    /// the others: the folds read it lazily, and never for them).
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
        // Notes change nothing but the version: their id and actor are never read by a fold.
        let counted = !CaseFact.needsData(type)
        let event = CaseEvent(seq: header.seq, eventID: counted ? "" : String(decoding: row.eventID, as: UTF8.self), caseID: header.caseID,
                              type: type, occurredAt: header.occurredAt, occurredMicros: header.occurred.epochMicros,
                              actor: counted ? "" : String(decoding: row.actor, as: UTF8.self), fact: fact)
        return (event, data)
    }
}

/// A scan of the log on two cores: this thread steps through the rows and copies their
/// columns a chunk at a time, a second thread parses each chunk into events, and this thread
/// folds them, in `seq` order, while the next chunk is parsed. Moving the parsing (the facts,
/// the Strings, the times) off it took 23.6 % of a rebuild's instructions from the reading
/// thread (BENCHMARKS.md).
///
/// Memory stays that of a few chunks in flight. An unreadable row fails where it stands, after
/// every row before it, as on one thread; when the caller throws, the parser stops.
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

        /// Calls `body` with each row's columns in order, pointing into the chunk's memory (valid
        /// during the call), until it returns false.
        func forEachRow(_ body: (StoredColumns) -> Bool) {
            withExtendedLifetime(bytes) {
                for index in 0..<count {
                    let first = index * Self.columns
                    func column(_ offset: Int) -> UnsafeBufferPointer<UInt8> {
                        let start = first + offset == 0 ? 0 : ends[first + offset - 1]
                        return UnsafeBufferPointer(start: bytes.start + start, count: ends[first + offset] - start)
                    }
                    let row = StoredColumns(seq: seqs[index], schemaVersion: schemaVersions[index], eventID: column(0), caseID: column(1),
                                            type: column(2), occurredAt: column(3), actor: column(4), data: column(5))
                    guard body(row) else { return }
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

    /// A chunk's events, in order, and the error that stopped it (after the events before it).
    struct ParsedChunk: @unchecked Sendable {
        var events: [(CaseEvent, String?)] = []
        var failure: Error?
    }

    static func feed(_ rows: RawStatement, lookup: RawStatement, share: Ledger.FoldShare,
                     _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void) throws {
        let raw = ChunkQueue<RawChunk>(capacity: chunksInFlight)
        let parsed = ChunkQueue<ParsedChunk>(capacity: chunksInFlight)
        // Folded chunks go back to the parser, which frees what the folds did not keep: it made
        // those Strings and facts, and freeing them there keeps that work off this thread.
        // Never more than were parsed, so never full.
        let spent = ChunkQueue<ParsedChunk>(capacity: .max)
        let parser = Thread {
            var eventParser = EventParser()
            while let chunk = raw.take() {
                _ = spent.takeAll()
                parsed.put(parse(chunk, with: &eventParser))
            }
            parsed.finish()
        }
        parser.stackSize = 1 << 22
        parser.start()
        defer {
            // However this ends, the parser stops: at once when cancelled, else once it has
            // parsed what it was given.
            raw.cancel()
            parsed.cancel()
        }
        var inFlight = 0
        var ended = false
        while !ended || inFlight > 0 {
            if !ended {
                var chunk = RawChunk(rows: chunkRows, bytesPerRow: 512)
                while chunk.count < chunkRows, try rows.step() {
                    if share.holds(rows, column: 2) { chunk.add(StoredColumns(rows)) }
                }
                ended = chunk.count < chunkRows
                if chunk.count > 0 {
                    raw.put(chunk)
                    inFlight += 1
                }
                if ended { raw.finish() }
                // Keep the parser busy: fold only once enough chunks wait for it.
                if !ended && inFlight < chunksInFlight { continue }
            }
            if inFlight == 0 { break }
            guard let events = parsed.take() else {
                throw LedgerError.storage("the log's parser stopped with \(inFlight) chunks unread")
            }
            inFlight -= 1
            for (event, data) in events.events {
                try body(event, try Ledger.voidTarget(of: event, lookup: lookup), data)
            }
            if let failure = events.failure { throw failure }
            spent.put(events)
        }
    }

    private static func parse(_ chunk: RawChunk, with parser: inout EventParser) -> ParsedChunk {
        var parsed = ParsedChunk()
        parsed.events.reserveCapacity(chunk.count)
        chunk.forEachRow { row in
            do {
                parsed.events.append(try parser.event(try EventParser.header(row), row))
                return true
            } catch {
                parsed.failure = error
                return false
            }
        }
        return parsed
    }
}
