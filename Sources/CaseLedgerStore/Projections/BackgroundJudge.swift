import CaseLedgerCore
import Foundation

/// Judges cases' contacts on a second thread while the caller folds the log and writes the
/// other projections (a rebuild, where judging is a quarter of the work). Outcomes come back in
/// the order the cases were submitted, so the rows written are the same, in the same order, as
/// when judging inline.
final class BackgroundJudge: @unchecked Sendable {
    typealias Judged = (record: ComplianceCase, outcome: ContactRules.Outcome)

    private let condition = NSCondition()
    private var waiting: [ComplianceCase] = []
    private var judged: [Judged] = []
    private var inFlight = 0
    private var ending = false
    /// Whether the worker sleeps on `condition` for work, and whether the caller sleeps on it for
    /// outcomes: each side wakes the other only when it is asleep (a wake-up is a system call, and
    /// a rebuild submits a case every 30 events).
    private var workerAsleep = false
    private var callerAsleep = false
    /// Cases submitted but not yet taken back: beyond this the caller waits (bounded memory).
    private let maxInFlight: Int
    /// Cases that wait before a sleeping worker is woken. Judging one case takes less time than
    /// folding the next, so a worker woken for each case slept again at once: a rebuild of 10^6
    /// events woke it about 33,000 times, each wake a system call on the folding thread and a
    /// switch on the other core. The caller wakes it sooner when it waits for outcomes itself.
    private let wakeBatch: Int

    init(rules: RulebookChoice, wakeBatch: Int = 64, maxInFlight: Int = 2_048) {
        self.wakeBatch = wakeBatch
        self.maxInFlight = maxInFlight
        let worker = Thread { [self] in run(rules) }
        worker.stackSize = 1 << 22
        worker.start()
    }

    private func run(_ rules: RulebookChoice) {
        while true {
            condition.lock()
            while waiting.isEmpty && !ending {
                workerAsleep = true
                condition.wait()
                workerAsleep = false
            }
            if waiting.isEmpty {
                condition.unlock()
                return
            }
            let batch = waiting
            waiting = []
            condition.unlock()
            let results = batch.map { ($0, ContactRules.judge($0, by: rules)) }
            condition.lock()
            judged += results
            if callerAsleep { condition.broadcast() }
            condition.unlock()
        }
    }

    /// Hands a case over; returns what is judged so far (in submission order).
    func submit(_ record: ComplianceCase) -> [Judged] {
        condition.lock()
        defer { condition.unlock() }
        while inFlight >= maxInFlight && judged.isEmpty { sleep() }
        waiting.append(record)
        inFlight += 1
        if workerAsleep && waiting.count >= wakeBatch { condition.broadcast() }
        return takeJudged()
    }

    /// Waits for every case handed over and returns the rest of the outcomes; the thread ends.
    func finish() -> [Judged] {
        condition.lock()
        defer { condition.unlock() }
        ending = true
        condition.broadcast()
        while inFlight > judged.count { sleep() }
        return takeJudged()
    }

    /// The caller waits for outcomes (with `condition` locked).
    private func sleep() {
        if workerAsleep && !waiting.isEmpty { condition.broadcast() }
        callerAsleep = true
        condition.wait()
        callerAsleep = false
    }

    /// Ends the thread without waiting for outcomes (the caller failed and rolls back).
    func cancel() {
        condition.lock()
        waiting.removeAll()
        ending = true
        condition.broadcast()
        condition.unlock()
    }

    private func takeJudged() -> [Judged] {
        let taken = judged
        judged.removeAll(keepingCapacity: true)
        inFlight -= taken.count
        return taken
    }
}
