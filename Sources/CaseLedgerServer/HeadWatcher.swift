import CaseLedgerStore
import Synchronization

/// The change feed's doorbell: knows the log's last seq and wakes the requests waiting for a
/// seq beyond theirs. The group committer rings it after each commit; `Housekeeping` polls the
/// file too (every quarter second, only while someone waits), so a batch appended by
/// `caseledger append` in another process wakes the feed as well.
final class HeadWatcher: Sendable {
    private struct Waiter {
        let after: Int64
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var head: Int64
        var closed = false
        var nextID = 0
        var waiters: [Int: Waiter] = [:]
        /// Waits begun but not yet registered, and those of them cancelled meanwhile.
        var unregistered: Set<Int> = []
        var cancelled: Set<Int> = []
    }

    private let state: Mutex<State>
    private let metrics: ServerMetrics

    init(head: Int64, metrics: ServerMetrics) {
        state = Mutex(State(head: head))
        self.metrics = metrics
        metrics.headSeq.set(head)
    }

    var head: Int64 { state.withLock { $0.head } }
    var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }

    /// The log now ends at `seq`: wakes everyone waiting for less.
    func advance(to seq: Int64) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard seq > state.head else { return [] }
            state.head = seq
            let woken = state.waiters.filter { $0.value.after < seq }
            for id in woken.keys { state.waiters[id] = nil }
            return woken.values.map(\.continuation)
        }
        metrics.headSeq.set(seq)
        for continuation in ready { continuation.resume() }
        if !ready.isEmpty { metrics.feedWaiters.set(Int64(state.withLock { $0.waiters.count })) }
    }

    /// Shutting down: wakes every waiter now, and later ones return at once.
    func close() {
        let all = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.waiters = [:] }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in all { continuation.resume() }
        metrics.feedWaiters.set(Int64(0))
    }

    /// Returns once the log holds an event beyond `seq`, or after `timeout`, or at shutdown.
    func wait(beyond seq: Int64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.doorbell(beyond: seq) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func doorbell(beyond seq: Int64) async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            state.unregistered.insert(state.nextID)
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    state.unregistered.remove(id)
                    if state.cancelled.remove(id) != nil || state.closed || state.head > seq { return true }
                    state.waiters[id] = Waiter(after: seq, continuation: continuation)
                    return false
                }
                if now { continuation.resume() } else { metrics.feedWaiters.set(Int64(state.withLock { $0.waiters.count })) }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter.continuation }
                if state.unregistered.contains(id) { state.cancelled.insert(id) }
                return nil
            }
            waiting?.resume()
            metrics.feedWaiters.set(Int64(state.withLock { $0.waiters.count }))
        }
    }
}
