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
    /// What the caller is done with (written outcomes, retired cases), freed on the worker's
    /// thread when it next wakes: freeing them took the folding thread, a rebuild's busiest,
    /// about 40 M instructions at 10^5 events, where the worker is idle most of the time.
    private var spentOutcomes: [[Judged]] = []
    private var spentCases: [CaseBox] = []
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
            while waiting.isEmpty && spentCases.count < 4 * wakeBatch && !ending {
                workerAsleep = true
                condition.wait()
                workerAsleep = false
            }
            let batch = waiting
            waiting = []
            var spent: (outcomes: [[Judged]], cases: [CaseBox]) = ([], [])
            swap(&spent.outcomes, &spentOutcomes)
            swap(&spent.cases, &spentCases)
            let done = batch.isEmpty && ending
            condition.unlock()
            if done {
                // The last outcomes, handed back by `finish`, are freed here too.
                spent = ([], [])
                return
            }
            if !batch.isEmpty {
                let results = batch.map { ($0, ContactRules.judge($0, by: rules)) }
                condition.lock()
                judged += results
                if callerAsleep { condition.broadcast() }
                condition.unlock()
            }
            // Freed here, unless the caller still holds a reference.
            spent = ([], [])
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

    /// Hands outcomes the caller has written (or compared) back, to be freed on the worker's thread.
    func discard(_ outcomes: [Judged]) {
        guard !outcomes.isEmpty else { return }
        condition.lock()
        spentOutcomes.append(outcomes)
        condition.unlock()
    }

    /// Hands a case the caller is done with back, to be freed on the worker's thread. Cases come
    /// with their contacts to judge, which wake the worker; one without any (no opening in the
    /// log) wakes it after a few batches' worth, so that they do not pile up.
    func discard(_ box: CaseBox) {
        condition.lock()
        spentCases.append(box)
        if workerAsleep && spentCases.count >= 4 * wakeBatch { condition.broadcast() }
        condition.unlock()
    }

    /// Waits for every case handed over and hands the rest of the outcomes (in submission
    /// order) to `body`; then the thread frees them and ends. At the end of a rebuild these are
    /// often most of a pass's open cases (judged while the caller saved them), and freeing them
    /// on the caller's thread kept it busy after everything else had stopped.
    func finish(_ body: ([Judged]) throws -> Void) rethrows {
        condition.lock()
        condition.broadcast()
        while inFlight > judged.count { sleep() }
        var rest = takeJudged()
        condition.unlock()
        defer {
            condition.lock()
            do {
                var handedBack: [Judged] = []
                swap(&handedBack, &rest)
                spentOutcomes.append(handedBack)
            }  // this thread's reference goes while the lock is held: the worker's is the last
            ending = true
            condition.broadcast()
            condition.unlock()
        }
        try body(rest)
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
