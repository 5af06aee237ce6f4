import CaseLedgerCore
import Foundation
import GRDB
import GRDBSQLite

/// The log read and decoded on a second, read-only connection and thread while the caller folds
/// and writes (a rebuild, `verify`): reading rows, parsing `data` and making each event's fact,
/// about half of a fold's main thread, run on the other core.
///
/// Both connections must see the same log. The second one opens its read transaction after the
/// caller's and goes ahead only when it sees the caller's head (seq and hash); the log only
/// grows, so the same head means the same events. Otherwise (an append committed in between, or
/// events the caller wrote and has not committed, as a replay does) nothing is fed and the
/// caller reads the log itself.
final class PrefetchedFeed: @unchecked Sendable {
    /// One event as a fold takes it.
    private struct Fed {
        let event: CaseEvent
        let target: VoidTarget?
        let data: String?
    }

    /// Events per chunk handed over, and chunks that may wait: about 5 MB in flight at most.
    private static let chunkEvents = 256
    private let queue = ChunkQueue<Fed>(capacity: 4)
    /// The reader's page cache: it reads the log in order, and a void's target now and then.
    private static let cacheKiB = 4_096
    private let ended = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var failure: (any Error)?
    private var sameLog = false

    private init() {}

    /// Feeds `body` each event of `share`, in seq order, read on a second connection. Returns
    /// false, having fed nothing, when that connection cannot be opened or sees another log.
    static func feed(_ db: Database, share: Ledger.FoldShare,
                     _ body: (CaseEvent, VoidTarget?, _ data: String?) throws -> Void) throws -> Bool {
        guard let connection = db.sqliteConnection, let name = sqlite3_db_filename(connection, "main") else { return false }
        let path = String(cString: name)
        guard !path.isEmpty else { return false }  // an in-memory or temporary database
        let head = try Ledger.head(db)  // also starts the caller's read transaction, if not begun
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(TimeInterval(Ledger.lockWaitSeconds))
        guard let reader = try? DatabaseQueue(path: path, configuration: configuration) else { return false }

        let feed = PrefetchedFeed()
        let worker = Thread { feed.read(reader, head: head, share: share) }
        worker.stackSize = 1 << 22
        worker.start()
        // However this ends, the worker stops and is waited for before the caller goes on.
        defer {
            feed.queue.cancel()
            feed.ended.wait()
        }
        while let chunk = feed.queue.take() {
            for fed in chunk { try body(fed.event, fed.target, fed.data) }
        }
        return try feed.lock.withLock {
            if let failure = feed.failure { throw failure }
            return feed.sameLog
        }
    }

    /// The worker: checks that it sees the caller's log, then reads it in chunks until the end,
    /// a failure (kept for the caller, which throws it after the events before it) or a cancel.
    private func read(_ reader: DatabaseQueue, head: Ledger.Head, share: Ledger.FoldShare) {
        var chunk: [Fed] = []
        chunk.reserveCapacity(Self.chunkEvents)
        defer {
            queue.finish()
            ended.signal()
        }
        do {
            try reader.read { db in
                guard try Ledger.head(db) == head else { return }
                lock.withLock { sameLog = true }
                try db.execute(sql: "PRAGMA cache_size = -\(Self.cacheKiB)")
                try Ledger.readLog(db, share: share, include: nil) { event, target, data in
                    chunk.append(Fed(event: event, target: target, data: data))
                    guard chunk.count == Self.chunkEvents else { return }
                    queue.put(chunk)
                    chunk.removeAll(keepingCapacity: true)
                    if queue.isCancelled { throw CancellationError() }
                }
            }
        } catch is CancellationError {
            return  // the caller stopped (it failed); it throws its own error
        } catch {
            lock.withLock { failure = error }
        }
        queue.put(chunk)  // the events read before the end, or before the failure
    }
}
