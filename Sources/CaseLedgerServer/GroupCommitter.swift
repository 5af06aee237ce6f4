import CaseLedgerCore
import CaseLedgerStore
import Foundation
import Logging

/// The one writer. Append requests queue here; a dedicated thread takes everything pending and
/// commits it as ONE SQLite transaction — one fsync for the lot — each request inside its own
/// savepoint, so one rejected request is rolled back alone while the others commit. A request
/// hears its outcome only after that commit is on disk. Access-log entries ride in the same
/// transactions. Reads never come here: they use the pool's readers.
final class GroupCommitter: @unchecked Sendable {
    private struct Submission {
        let batch: PendingBatch
        let continuation: CheckedContinuation<Result<AppendSummary, LedgerError>, Never>
    }

    /// Most events in one group: bounds a transaction (and so every waiter's latency) under a flood.
    static let maxGroupEvents = 50_000
    /// Access-log entries kept while the file refuses writes; beyond this the oldest are dropped, loudly.
    static let maxPendingAccessEntries = 100_000
    /// With only access-log entries to write, the writer waits this long for more (or for an
    /// append to carry them): a busy reader costs one commit every few milliseconds, not one a read.
    static let accessLinger: TimeInterval = 0.02
    static let accessBatch = 1000

    private let ledger: Ledger
    private let watcher: HeadWatcher
    private let metrics: ServerMetrics
    private let logger: Logger
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var submissions: [Submission] = []
    private var access: [AccessEntry] = []
    private var stopping = false
    private var stopped = false

    init(ledger: Ledger, watcher: HeadWatcher, metrics: ServerMetrics, logger: Logger) {
        self.ledger = ledger
        self.watcher = watcher
        self.metrics = metrics
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "caseledger.writer"
        thread.start()
    }

    /// Queues a batch and waits for the commit that holds it (or its rejection).
    func append(_ batch: PendingBatch) async -> Result<AppendSummary, LedgerError> {
        await withCheckedContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard !stopping else {
                continuation.resume(returning: .failure(.storage("the server is shutting down; send the batch again once it is back")))
                return
            }
            submissions.append(Submission(batch: batch, continuation: continuation))
            condition.signal()
        }
    }

    /// Queues access-log entries for the next commit; does not wait.
    func record(_ entries: [AccessEntry]) {
        guard !entries.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        access += entries
        if access.count > Self.maxPendingAccessEntries {
            let dropped = access.count - Self.maxPendingAccessEntries
            access.removeFirst(dropped)
            logger.critical("access log entries dropped: the ledger refuses writes", metadata: ["dropped": "\(dropped)"])
        }
        condition.signal()
    }

    /// Commits what is queued, then stops the thread; returns when it has.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while submissions.isEmpty && access.isEmpty && !stopping { condition.wait() }
            if submissions.isEmpty, !stopping, access.count < Self.accessBatch {
                let deadline = Date(timeIntervalSinceNow: Self.accessLinger)
                while submissions.isEmpty, !stopping, access.count < Self.accessBatch, condition.wait(until: deadline) {}
            }
            if submissions.isEmpty && access.isEmpty && stopping {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            var taken: [Submission] = []
            var events = 0
            while let next = submissions.first, taken.isEmpty || events + next.batch.events.count <= Self.maxGroupEvents {
                taken.append(submissions.removeFirst())
                events += next.batch.events.count
            }
            let entries = access
            access = []
            condition.unlock()
            commit(taken, entries)
        }
    }

    private func commit(_ taken: [Submission], _ entries: [AccessEntry]) {
        let started = ContinuousClock.now
        let results: [Result<AppendSummary, LedgerError>]
        do {
            results = try ledger.commitGroup(taken.map(\.batch), access: entries)
            metrics.groupCommitSeconds.record(ContinuousClock.now - started)
            if !taken.isEmpty { metrics.groupBatches.record(Double(taken.count)) }
            metrics.accessEntries.increment(by: Int64(entries.count))
        } catch {
            let failure = error as? LedgerError ?? .storage("\(error)")
            logger.error("group commit failed", metadata: ["error": "\(failure)", "requests": "\(taken.count)", "access_entries": "\(entries.count)"])
            results = taken.map { _ in .failure(failure) }
            // The entries are kept for the next commit; a pause stops a failing file from spinning the thread.
            condition.lock()
            access = entries + access
            condition.unlock()
            Thread.sleep(forTimeInterval: 0.1)
        }
        var head: Int64 = 0
        for (submission, result) in zip(taken, results) {
            if case .success(let summary) = result { head = max(head, summary.headSeq) }
            submission.continuation.resume(returning: result)
        }
        if head > 0 { watcher.advance(to: head) }
    }
}
