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
    /// them out itself.
    public func append(ndjsonFrom fileDescriptor: Int32) throws -> AppendSummary {
        try appendReporting(ndjsonFrom: fileDescriptor, forecasting: true).summary
    }

    /// What a batch did, with how many of its forecasts were taken and refused (`forecasting`
    /// false: none made, for tests).
    func appendReporting(ndjsonFrom fileDescriptor: Int32, forecasting: Bool) throws -> (summary: AppendSummary, forecastsTaken: Int, forecastsRefused: Int) {
        let pipeline = SubmissionPipeline(fileDescriptor: fileDescriptor)
        pipeline.waitUntilReady()
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
        return (summary, forecasts.taken, forecasts.refused)
    }

    /// Batches of fewer events than this (once read ahead) are hashed on the appending thread
    /// alone: a thread and a connection cost more than they save.
    static let forecastingEvents = 2048
}
