/// Every limit the ledger enforces, in one place. Units are in the names.
public enum Limits {
    /// Largest `data` object, measured as its canonical JSON bytes.
    public static let maxDataBytes = 64 * 1024
    /// Longest NDJSON line accepted (an envelope around the largest `data`).
    public static let maxLineBytes = 80 * 1024
    /// Most events in one all-or-nothing batch (append streams its input, so this bounds the
    /// transaction and its WAL, not memory): room for the benchmark's 10^7-event run.
    public static let maxBatchEvents = 20_000_000
    /// `case_id`: 1 to 64 characters of `[A-Za-z0-9._:-]` (CONTRACT §1).
    public static let maxCaseIDLength = 64
    /// `actor` (`kind:id`), whole.
    public static let maxActorLength = 128
    /// How far `occurred_at` may run ahead of the ledger clock.
    public static let maxFutureSkewSeconds: Int64 = 5 * 60
    /// Case states kept in memory during a batch before they are written back.
    public static let batchStateCacheCases = 4096
}
