import Foundation
import GRDB

/// A read on a second connection to the ledger file, on a thread of its own, while the caller
/// goes on with its connection: how `verify` compares the projections on one core while it
/// checks the chain and the tree on the other.
///
/// The two connections see the same log only if they see the same head: the log is append-only,
/// so the same last seq and hash mean the same events. When a writer slipped in between the two
/// snapshots, `result()` gives `nil` without running the body, and the caller runs it itself.
final class ConcurrentRead<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var outcome: Result<Value?, Error>?
    private var queue: DatabaseQueue?
    private var cancelled = false

    /// Starts `body` on a read-only connection to `path`, if the log there ends at `head`.
    init(path: String, head: Ledger.Head, _ body: @escaping @Sendable (Database) throws -> Value) {
        let worker = Thread { [self] in
            let result = Result<Value?, Error> {
                let queue = try Ledger.connectionAlongside(path: path)
                condition.lock()
                self.queue = queue
                let cancelled = self.cancelled
                condition.unlock()
                if cancelled { return nil }
                return try queue.read { db in try Ledger.head(db) == head ? body(db) : nil }
            }
            condition.lock()
            outcome = result
            queue = nil
            condition.broadcast()
            condition.unlock()
        }
        worker.stackSize = 1 << 23  // the main thread's: the body may be any read the caller makes
        worker.start()
    }

    /// Asks the read to stop at its earliest chance (SQLite interrupts the statement it is
    /// stepping). `result()` still waits for the thread to end.
    func cancel() {
        condition.lock()
        defer { condition.unlock() }
        cancelled = true
        queue?.interrupt()
    }

    /// Waits for the read: its value, `nil` when the other connection saw another log (or the
    /// read was cancelled before it began), or what it threw.
    func result() throws -> Value? {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        return try outcome!.get()
    }
}
