import Foundation
import GRDB
import GRDBSQLite

/// A prepared statement driven through the SQLite C API, for the hot paths (append, full scans)
/// where GRDB's argument boxing would cost more than the insert itself.
struct RawStatement {
    let statement: Statement
    let connection: OpaquePointer
    var handle: OpaquePointer { statement.sqliteStatement }

    init(_ db: Database, _ sql: String) throws {
        statement = try db.makeStatement(sql: sql)
        connection = db.sqliteConnection!
    }

    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(utf8.baseAddress!).assumingMemoryBound(to: CChar.self),
                                  Int32(utf8.count), Self.transient)
        }
    }

    func bind(_ index: Int32, utf8 bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { utf8 in
            _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(utf8.baseAddress!).assumingMemoryBound(to: CChar.self),
                                  Int32(utf8.count), Self.transient)
        }
    }

    func bind(_ index: Int32, blob bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), Self.transient)
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
        try body(UnsafeBufferPointer(start: sqlite3_column_text(handle, column), count: Int(sqlite3_column_bytes(handle, column))))
    }

    /// Whether a text column holds exactly `string`'s bytes, read in place (no String is made).
    func text(_ column: Int32, equals string: String) -> Bool {
        var string = string
        return withText(column) { stored in
            string.withUTF8 { expected in
                stored.count == expected.count && (expected.isEmpty || memcmp(stored.baseAddress!, expected.baseAddress!, expected.count) == 0)
            }
        }
    }

    /// FNV-1a of a text column's bytes, read in place (no String is made): a hash that is the
    /// same in every process, for spreading rows over passes.
    func textHash(_ column: Int32) -> UInt64 {
        withText(column, Ledger.FoldShare.hash)
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
