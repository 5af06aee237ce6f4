import CaseLedgerCore
import GRDB

/// One client's batch in a group commit: its events, already parsed and checked.
public struct PendingBatch: Sendable {
    public let events: [(line: Int, event: EventSubmission)]

    public init(events: [(line: Int, event: EventSubmission)]) {
        self.events = events
    }
}

extension Ledger {
    /// Appends several clients' batches in ONE transaction (one fsync): each batch inside its own
    /// savepoint, so a batch the rules reject is rolled back alone and the others commit. Access-log
    /// entries ride along in the same transaction. Returns each batch's outcome, in order; nothing
    /// is durable, and no outcome should be reported, before this returns.
    public func commitGroup(_ batches: [PendingBatch], access: [AccessEntry] = [], now: Timestamp = LedgerClock.now())
        throws -> [Result<AppendSummary, LedgerError>]
    {
        if !batches.isEmpty, let kind = try meta("kind"), kind != "ledger" {
            let refusal = LedgerError.ledgerUnavailable("\(path) is a \(kind), not a live ledger: it cannot be appended to")
            return batches.map { _ in .failure(refusal) }
        }
        var results: [Result<AppendSummary, LedgerError>] = []
        do {
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    results = []
                    if !batches.isEmpty {
                        let appender = try BatchAppender(db: db, now: now, cacheRecords: appendCacheRecords)
                        for batch in batches {
                            try db.execute(sql: "SAVEPOINT client_batch")
                            let mark = try appender.mark()
                            do {
                                for (line, event) in batch.events { try appender.append(event, line: line) }
                                _ = try appender.mark()  // writes its case states back inside its savepoint
                                try db.execute(sql: "RELEASE client_batch")
                                let head = appender.currentHead
                                results.append(.success(AppendSummary(
                                    appended: appender.appended - mark.appended, duplicates: appender.duplicates - mark.duplicates,
                                    repeats: Array(appender.repeats.dropFirst(mark.repeats)), headSeq: head.seq, headHash: head.hash)))
                            } catch {
                                try db.execute(sql: "ROLLBACK TO client_batch")
                                try db.execute(sql: "RELEASE client_batch")
                                appender.restore(mark)
                                results.append(.failure(Self.ledgerError(error)))
                            }
                        }
                        _ = try appender.finish()
                    }
                    try Self.record(db, access)
                    return .commit
                }
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw LedgerError.storage("another writer holds the write lock of \(path); waited \(Self.lockWaitSeconds) s for it")
        } catch let error as DatabaseError {
            throw LedgerError.storage(error.message ?? error.description)
        }
        return results
    }

    static func ledgerError(_ error: any Error) -> LedgerError {
        if let error = error as? LedgerError { return error }
        if let error = error as? DatabaseError { return .storage(error.message ?? error.description) }
        return .storage("\(error)")
    }
}
