import CaseLedgerCore
import GRDB

/// What one batch did.
public struct AppendSummary: Sendable, Equatable {
    public let appended: Int
    public let duplicates: Int
    /// The original `seq` of each repeated event (the first `BatchAppender.maxReportedRepeats`).
    public let repeats: [BatchAppender.Repeat]
    public let headSeq: Int64
    public let headHash: String
}

extension Ledger {
    /// Runs `body` with an appender inside one immediate transaction: all of it is written, or none.
    ///
    /// ```swift
    /// try ledger.appendBatch { appender in try appender.append(event, line: 1) }
    /// ```
    public func appendBatch(now: Timestamp = LedgerClock.now(), _ body: (BatchAppender) throws -> Void) throws -> AppendSummary {
        if let kind = try meta("kind"), kind != "ledger" {
            throw LedgerError.ledgerUnavailable("\(path) is a \(kind), not a live ledger: it cannot be appended to")
        }
        do {
            var summary: AppendSummary?
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let appender = try BatchAppender(db: db, now: now, cacheRecords: appendCacheRecords)
                    try body(appender)
                    let head = try appender.finish()
                    summary = AppendSummary(appended: appender.appended, duplicates: appender.duplicates,
                                            repeats: appender.repeats, headSeq: head.seq, headHash: head.hash)
                    return .commit
                }
            }
            return summary!
        } catch let error as LedgerError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw LedgerError.storage("another append holds the write lock of \(path); waited \(Self.lockWaitSeconds) s for it. Try again; if it persists, look for a stuck caseledger process")
        } catch let error as DatabaseError {
            throw LedgerError.storage(error.message ?? error.description)
        }
    }

    /// Appends an NDJSON batch read from `fileDescriptor`, streaming: all of it, or none of it.
    /// Lines are parsed and checked on a second thread while this one appends. The write lock is
    /// taken only once the input has ended or its first `Limits.prefetchEvents` events are checked.
    ///
    /// A batch of more than `forecastingEvents` events also has each event's hashes worked out
    /// ahead, on a third thread (`ChainForecaster`), as they will be if every event before it is
    /// appended; from the first forecast that does not hold (after a repeat), this thread works
    /// them out itself. A batch of more than `firstLoadEvents` into an empty log is written with a
    /// rollback journal rather than through the WAL (`beginFirstLoad`).
    public func append(ndjsonFrom fileDescriptor: Int32) throws -> AppendSummary {
        try appendReporting(ndjsonFrom: fileDescriptor, forecasting: true).summary
    }

    /// What a batch did, with how many of its forecasts were taken and refused (`forecasting`
    /// false: none made, for tests), and whether it was written with a rollback journal.
    func appendReporting(ndjsonFrom fileDescriptor: Int32, forecasting: Bool)
        throws -> (summary: AppendSummary, forecastsTaken: Int, forecastsRefused: Int, rollbackJournal: Bool)
    {
        let pipeline = SubmissionPipeline(fileDescriptor: fileDescriptor)
        pipeline.waitUntilReady()
        let rollbackJournal = pipeline.eventsWaiting > Self.firstLoadEvents && beginFirstLoad()
        defer { if rollbackJournal { endFirstLoad() } }
        var forecasts = (taken: 0, refused: 0)
        let summary = try appendBatch(now: LedgerClock.now()) { appender in
            let forecaster = forecasting && pipeline.eventsWaiting > Self.forecastingEvents ? appender.forecaster(path: path) : nil
            try pipeline.run(forecasting: forecaster) { line, event, forecast in
                let refused = appender.forecastsRefused
                try appender.append(event, line: line, forecast: forecast)
                if appender.forecastsRefused > refused { pipeline.stopForecasting() }
            }
            forecasts = (appender.forecastsTaken, appender.forecastsRefused)
        }
        return (summary, forecasts.taken, forecasts.refused, rollbackJournal)
    }

    /// A first load bigger than this (once read ahead) into an empty log is written with a
    /// rollback journal (`beginFirstLoad`).
    static let firstLoadEvents = 8_192

    /// Switches the file to a rollback journal for a batch into an empty log, when no other
    /// connection has it open; true when it did. A rollback journal keeps only the pages that
    /// existed before the transaction (an empty ledger has a few), so every page the batch
    /// writes goes straight into the file, once. Through the WAL each page was written twice,
    /// into the log and again at the checkpoint: an append of 10^6 events into a new ledger
    /// wrote 1.31 GB for a 591 MB file (BENCHMARKS.md). The commit is synced as before
    /// (`synchronous = FULL`), and a crash leaves the journal, which rolls the batch back.
    ///
    /// A file another connection has open cannot leave WAL mode: SQLite refuses at once, without
    /// waiting for it, and the batch is written through the WAL.
    private func beginFirstLoad() -> Bool {
        (try? database.writeWithoutTransaction { db -> Bool in
            guard try Self.head(db).seq == 0, try String.fetchOne(db, sql: "PRAGMA main.journal_mode") == "wal" else { return false }
            return (try? String.fetchOne(db, sql: "PRAGMA main.journal_mode = DELETE")) == "delete"
        }) ?? false
    }

    /// Back to WAL after a first load, committed or not. Should another process hold the file
    /// open past the lock wait, it stays in rollback mode until the next connection that opens
    /// it for writing sets WAL again (`Ledger.init`).
    private func endFirstLoad() {
        try? database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA main.journal_mode = WAL") }
    }

    /// Batches of fewer events than this (once read ahead) are hashed on the appending thread
    /// alone: a thread and a connection cost more than they save.
    static let forecastingEvents = 2048
}
