import Foundation

/// Every limit the ledger enforces, in one place. Units are in the names.
public enum Limits {
    /// Largest `data` object, measured as its canonical JSON bytes.
    public static let maxDataBytes = 64 * 1024
    /// Longest NDJSON line accepted (an envelope around the largest `data`).
    public static let maxLineBytes = 80 * 1024
    /// Most events in one all-or-nothing batch (append streams its input, so this bounds the
    /// transaction and its WAL, not memory): room for the benchmark's 10^7-event run.
    public static let maxBatchEvents = 20_000_000
    /// `case_id`: 1 to 64 characters of `[A-Za-z0-9._:-]` (docs/events.md).
    public static let maxCaseIDLength = 64
    /// `actor` (`kind:id`), whole.
    public static let maxActorLength = 128
    /// How far `occurred_at` may run ahead of the ledger clock.
    public static let maxFutureSkewSeconds: Int64 = 5 * 60
    /// At most this many records (the events a case keeps beyond a count, about 0.8 KiB each in
    /// memory) in the case states a batch keeps in memory before it writes the least recently
    /// used back. A count of cases alone does not bound memory: the cases still open at the end
    /// of a long portfolio keep several times the records of young ones, and at 10^7 events 8,192
    /// of them held about 83 MB (BENCHMARKS.md). What is written back goes to a shelf first
    /// (`batchStateShelfBytes`). `CASELEDGER_APPEND_CACHE_RECORDS` sets another, to trade memory
    /// for time (the shelf scales with it); the command line refuses a value that is not a whole
    /// number ≥ 1.
    public static let batchStateCacheRecords: Int = (try? appendCacheRecords(ProcessInfo.processInfo.environment).get()) ?? defaultAppendCacheRecords
    public static let defaultAppendCacheRecords = 65_536
    public static let appendCacheRecordsVariable = "CASELEDGER_APPEND_CACHE_RECORDS"
    /// Most cases whose versions an append's forecasts keep (`ChainForecaster`), at about 24
    /// bytes a bucket, in a table that doubles as it grows. A batch of more cases is hashed on the
    /// appending thread from its next new case on. With 400,000, a 10^7 append (333,333 cases)
    /// peaked at 238.3 MiB, 20 MiB above the same append without forecasts, and took as long;
    /// with 100,000, at 232.8 MiB (BENCHMARKS.md).
    public static let forecastCases = 100_000
    /// Most case states a batch keeps in memory, whatever their records: a quarter of the records.
    public static func batchStateCacheCases(records: Int) -> Int { max(1, records / 4) }
    /// Most bytes of case states a bulk batch keeps on its shelf: the states it wrote back, held
    /// as the rows they are stored as (about 200 bytes a record, a quarter of what a record
    /// weighs in memory) until the shelf is full or the batch ends. 768 bytes for each record
    /// of `batchStateCacheRecords`: 48 MiB by default. The memory is split between the two
    /// because a case on the shelf costs a parse to take back, but at 10^7 events far more
    /// cases are in play than either holds (BENCHMARKS.md).
    public static func batchStateShelfBytes(records: Int) -> Int {
        let (bytes, overflow) = records.multipliedReportingOverflow(by: 768)
        return overflow ? .max : bytes
    }

    /// Most cases one pass of a fold over the whole log (rebuild, verify, replay, compliance
    /// reports) holds; a log with more cases is folded in several passes, each over a share of
    /// them, so memory stays bounded whatever the log's length. A fold that reads the log on a
    /// connection of its own reads it once, and sets the later shares' rows aside in spill files
    /// (`FeedParser`); any other reads the log again for each share, and SQLite skips the other
    /// shares' rows by their case_id (about 950 instructions a row skipped at 10^5; BENCHMARKS.md).
    /// `CASELEDGER_FOLD_CASES` sets another, to trade time for memory; the command line refuses a
    /// value that is not a whole number ≥ 1.
    public static let foldCasesPerPass: Int = (try? foldCases(ProcessInfo.processInfo.environment).get()) ?? defaultFoldCases
    public static let defaultFoldCases = 20_000
    public static let foldCasesVariable = "CASELEDGER_FOLD_CASES"

    /// The share size an environment asks for: the default when it says nothing, an error naming
    /// the variable and the value when it says something else than a whole number ≥ 1.
    public static func foldCases(_ environment: [String: String]) -> Result<Int, FieldError> {
        wholeNumber(foldCasesVariable, of: "cases", in: environment, default: defaultFoldCases)
    }

    /// The records an append may keep in memory, as an environment asks (like `foldCases`).
    public static func appendCacheRecords(_ environment: [String: String]) -> Result<Int, FieldError> {
        wholeNumber(appendCacheRecordsVariable, of: "records", in: environment, default: defaultAppendCacheRecords)
    }

    /// Every tuning variable, each with what it says in `environment`: the command line refuses
    /// to start when one is set wrong, rather than ignore it without a word.
    public static func tuning(_ environment: [String: String]) -> [Result<Int, FieldError>] {
        [foldCases(environment), appendCacheRecords(environment)]
    }

    private static func wholeNumber(_ variable: String, of unit: String, in environment: [String: String],
                                    default value: Int) -> Result<Int, FieldError> {
        guard let text = environment[variable] else { return .success(value) }
        guard let number = Int(text), number >= 1 else {
            return .failure(FieldError(path: variable, reason: "expected a whole number of \(unit), at least 1, got \"\(text.prefix(maxEchoedCharacters))\""))
        }
        return .success(number)
    }
    /// The largest amount or total the ledger keeps: 2^53 − 1, the largest integer every JSON
    /// reader holds exactly. A case whose paid total or balance would pass it is refused.
    public static let maxMinorUnits: Int64 = 9_007_199_254_740_991
    /// Every date and time the ledger accepts lies in [earliestDay, latestDay] (days since
    /// 1970-01-01): 1900-01-01 to 2200-12-31. Wide enough for any real account, narrow enough
    /// that every instant in microseconds stays an exact JSON integer.
    public static let earliestDate = "1900-01-01"
    public static let latestDate = "2200-12-31"
    public static let earliestDay = -25_567
    public static let latestDay = 84_370
    /// Events an append reads and checks before it asks for the write lock: a batch this size or
    /// smaller holds no lock while its producer is slow; a larger one waits for this first part.
    public static let prefetchEvents = 16_384
    /// How long an append waits for another writer's lock before it gives up.
    public static let lockWaitSeconds = 60
    /// Largest rulebook file.
    public static let maxRulebookBytes = 64 * 1024
    /// Longest value echoed back in an error message, in characters.
    public static let maxEchoedCharacters = 60
}

/// This build's release, printed by `caseledger --version`.
public enum Release {
    public static let version = "0.11.0"
}
