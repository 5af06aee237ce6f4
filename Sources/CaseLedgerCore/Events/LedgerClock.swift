import Foundation

/// The ledger's clock: UTC wall time, to the microsecond.
///
/// `CASELEDGER_CLOCK=2024-06-01T00:00:00Z` pins it, for tests and reproducible demos only; even then
/// the store never lets `recorded_at` run backwards.
public enum LedgerClock {
    public static let environmentVariable = "CASELEDGER_CLOCK"

    public static func now() -> Timestamp {
        if let pinned = ProcessInfo.processInfo.environment[environmentVariable], let time = Timestamp(rfc3339: pinned) {
            return time
        }
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(epochMicros: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }
}
