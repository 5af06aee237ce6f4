import CaseLedgerCore

extension Ledger {
    /// Appends a generated portfolio as one batch, through the same checks as any client's events.
    /// Each event is recorded at its simulated arrival (never later than `now`, and never running
    /// backwards), so a generated ledger has believable `recorded_at` values.
    public func append(_ generator: PortfolioGenerator, now: Timestamp = LedgerClock.now()) throws -> AppendSummary {
        // The batch's clock starts where the simulated history does (or at the log's last
        // recorded_at, if later) and moves with each arrival.
        let start = Timestamp(epochMicros: min(Int64(generator.startDay - 1) * 86_400_000_000, now.epochMicros))
        return try appendBatch(now: start) { appender in
            var line = 0
            try generator.forEachArrival { envelope, arrival in
                line += 1
                if line > Limits.maxBatchEvents {
                    throw LedgerError.invalidInput("a generated batch holds at most \(Limits.maxBatchEvents) events; generate fewer cases, or write NDJSON with --out and append it in parts")
                }
                appender.advanceClock(to: Timestamp(epochMicros: min(arrival * 1_000_000, now.epochMicros)))
                let event: EventSubmission
                do throws(FieldError) { event = try EventSubmission(json: envelope, now: appender.now) } catch {
                    throw LedgerError.invalidEvent(line: line, field: error.path, reason: "generated event: " + error.reason)
                }
                try appender.append(event, line: line)
            }
        }
    }

    /// Counts for a quick look at what a ledger holds.
    public struct Summary: Sendable {
        public let events: Int
        public let cases: Int
        public let closedCases: Int
        public let eventsByType: [(type: String, count: Int)]
        public let actors: Int
    }

    public func summary() throws -> Summary {
        try read { db in
            let byType = try RawStatement(db, "SELECT type, count(*) FROM events GROUP BY type ORDER BY count(*) DESC, type")
            var types: [(String, Int)] = []
            while try byType.step() { types.append((byType.text(0), Int(byType.int64(1)))) }
            byType.reset()
            let counts = try RawStatement(db, """
                SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM case_state),
                       (SELECT count(*) FROM events WHERE type = 'case.closed'), (SELECT count(DISTINCT actor) FROM events)
                """)
            defer { counts.reset() }
            _ = try counts.step()
            return Summary(events: Int(counts.int64(0)), cases: Int(counts.int64(1)), closedCases: Int(counts.int64(2)),
                           eventsByType: types, actors: Int(counts.int64(3)))
        }
    }
}
