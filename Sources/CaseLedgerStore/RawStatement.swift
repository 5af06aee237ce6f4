import CaseLedgerCore
import Foundation
import GRDB
import GRDBSQLite

/// A prepared statement driven through the SQLite C API, for the hot paths (append, full scans)
/// where GRDB's argument boxing would cost more than the insert itself.
struct RawStatement {
    let statement: Statement
    let connection: OpaquePointer
    var handle: OpaquePointer { statement.sqliteStatement }
    private let parameters: ParameterBytes

    init(_ db: Database, _ sql: String) throws {
        statement = try db.makeStatement(sql: sql)
        connection = db.sqliteConnection!
        parameters = ParameterBytes(count: Int(sqlite3_bind_parameter_count(statement.sqliteStatement)))
    }

    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bindText(index, UnsafeRawBufferPointer($0)) }
    }

    func bind(_ index: Int32, utf8 bytes: [UInt8]) {
        bytes.withUnsafeBytes { bindText(index, $0) }
    }

    /// Binds the text a `TextBuffer` holds (SQLite is given a copy).
    func bind(_ index: Int32, utf8 text: TextBuffer) {
        text.withBytes { bindText(index, UnsafeRawBufferPointer($0)) }
    }

    private func bindText(_ index: Int32, _ utf8: UnsafeRawBufferPointer) {
        _ = sqlite3_bind_text(handle, index, parameters.copy(utf8, for: index)?.assumingMemoryBound(to: CChar.self), Int32(utf8.count), nil)
    }

    func bind(_ index: Int32, blob bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(handle, index, parameters.copy(raw, for: index), Int32(raw.count), nil)
        }
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    /// Steps once: true when a row is available, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            throw DatabaseError(resultCode: ResultCode(rawValue: sqlite3_errcode(connection)),
                                message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    var changes: Int32 { sqlite3_changes(connection) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// A text column's bytes, read in place (valid until the next step).
    func withText<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        try body(textBytes(column))
    }

    /// A text column's bytes in SQLite's own memory: valid until the next step or reset of this
    /// statement, and only until then. For reading several columns of a row at once in place.
    func textBytes(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: sqlite3_column_text(handle, column), count: Int(sqlite3_column_bytes(handle, column)))
    }

    /// Whether a text column holds exactly `string`'s bytes, read in place (no String is made).
    func text(_ column: Int32, equals string: String) -> Bool {
        var string = string
        return string.withUTF8 { text(column, equals: $0) }
    }

    /// Whether a text column holds exactly these bytes, read in place.
    func text(_ column: Int32, equals bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { text(column, equals: $0) }
    }

    /// Whether a text column holds exactly what a `TextBuffer` holds, read in place.
    func text(_ column: Int32, equals text: TextBuffer) -> Bool {
        text.withBytes { self.text(column, equals: $0) }
    }

    private func text(_ column: Int32, equals expected: UnsafeBufferPointer<UInt8>) -> Bool {
        withText(column) { stored in
            stored.count == expected.count && (expected.isEmpty || memcmp(stored.baseAddress!, expected.baseAddress!, expected.count) == 0)
        }
    }

    /// FNV-1a of a text column's bytes, read in place (no String is made): a hash that is the
    /// same in every process, for spreading rows over passes.
    func textHash(_ column: Int32) -> UInt64 {
        withText(column, Ledger.FoldShare.hash)
    }

    /// Whether a blob column holds exactly `hashes`, one after another: read in place, with no
    /// array made of the blob or of its pieces.
    func blob(_ column: Int32, holds hashes: [MerkleTree.Hash]) -> Bool {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count == hashes.reduce(0, { $0 + $1.count }) else { return false }
        guard count > 0 else { return true }
        guard let pointer = sqlite3_column_blob(handle, column) else { return false }
        var offset = 0
        for hash in hashes {
            let equal = hash.withUnsafeBytes { $0.isEmpty || memcmp(pointer + offset, $0.baseAddress!, $0.count) == 0 }
            guard equal else { return false }
            offset += hash.count
        }
        return true
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }
}

/// The bytes of a statement's text and blob parameters, kept here so that SQLite reads them in
/// place (`SQLITE_STATIC`). Bound as `SQLITE_TRANSIENT`, SQLite copied each value into memory it
/// allocated, and freed it at the next bind or reset: an allocation and a free per parameter per
/// row, each through SQLite's allocator mutex (BENCHMARKS.md).
///
/// Each parameter has a buffer of its own, reused while the values fit. A buffer outgrown is
/// kept until the statement goes, not freed: whatever still points into it stays valid.
private final class ParameterBytes {
    private let buffers: UnsafeMutableBufferPointer<UnsafeMutableRawBufferPointer>
    private var outgrown: [UnsafeMutableRawBufferPointer] = []

    init(count: Int) {
        buffers = .allocate(capacity: count)
        buffers.initialize(repeating: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    /// A copy of `bytes` for parameter `index`: its memory stays allocated until the statement
    /// goes, and holds these bytes until the parameter is bound again (what `SQLITE_STATIC` asks).
    /// Nil for an index the statement does not have (SQLite then refuses the bind, as ever).
    func copy(_ bytes: UnsafeRawBufferPointer, for index: Int32) -> UnsafeRawPointer? {
        let slot = Int(index) - 1
        guard slot >= 0 && slot < buffers.count else { return nil }
        var buffer = buffers[slot]
        // At least a byte, so that an empty value has an address (a null one would bind NULL).
        if buffer.baseAddress == nil || buffer.count < bytes.count {
            if buffer.baseAddress != nil { outgrown.append(buffer) }
            buffer = .allocate(byteCount: max(64, bytes.count + bytes.count / 2), alignment: 1)
            buffers[slot] = buffer
        }
        if let source = bytes.baseAddress { buffer.baseAddress!.copyMemory(from: source, byteCount: bytes.count) }
        return UnsafeRawPointer(buffer.baseAddress!)
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
        for buffer in outgrown { buffer.deallocate() }
        buffers.deallocate()
    }
}
