import CaseLedgerCore
import Foundation
import GRDB

extension Ledger {
    /// What a backup copied.
    public struct BackupSummary: Sendable {
        public let path: String
        public let events: Int64
        public let headHash: String
        public let bytes: Int64

        public var json: JSONValue {
            .object(JSONObject([("out", .string(path)), ("events", .int(events)), ("head_hash", .string(headHash)), ("bytes", .int(bytes))]))
        }
    }

    /// Copies the whole ledger to `output` through SQLite's online backup API: one consistent
    /// snapshot, taken from a read transaction, so it is safe while a server or an append writes
    /// (they go on; the copy is the file as of the moment the read began). The copy is written
    /// beside `output`, synced, then renamed into place: `output` is whole or absent.
    public func backup(to output: String) throws -> BackupSummary {
        guard !FileManager.default.fileExists(atPath: output) else {
            throw LedgerError.invalidInput("\(output) exists already; a backup never overwrites a file (choose a new name, e.g. with the date)")
        }
        let source = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let target = URL(fileURLWithPath: output)
        guard target.resolvingSymlinksInPath().path != source else {
            throw LedgerError.invalidInput("--out names the ledger itself")
        }
        let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).\(getpid()).partial").path
        do {
            var configuration = Configuration()
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let copy = try DatabaseQueue(path: temporary, configuration: configuration)
            var head = Head(seq: 0, hash: "", recordedAt: nil)
            try database.read { db in
                head = try Self.head(db)
                try copy.writeWithoutTransaction { destination in try db.backup(to: destination) }
            }
            // One file: the copy's WAL is folded into it before it is closed and moved into place.
            try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try copy.close()
            let descriptor = open(temporary, O_RDONLY)
            if descriptor >= 0 {
                _ = fsync(descriptor)
                Glibc.close(descriptor)
            }
            for suffix in ["-wal", "-shm"] { unlink(temporary + suffix) }
            let bytes = (try FileManager.default.attributesOfItem(atPath: temporary)[.size] as? NSNumber)?.int64Value ?? 0
            try AtomicFile.install(temporary, at: output)
            return BackupSummary(path: output, events: head.seq, headHash: head.hash, bytes: bytes)
        } catch {
            for suffix in ["", "-wal", "-shm"] { unlink(temporary + suffix) }
            if let error = error as? LedgerError { throw error }
            throw LedgerError.storage("backup to \(output) failed: \((error as? DatabaseError)?.message ?? "\(error)")")
        }
    }
}
