import Foundation

/// The ledger's clock: UTC wall time, to the microsecond.
///
/// `CASELEDGER_CLOCK=2024-06-01T00:00:00Z` pins it, for tests and reproducible demos only; even then
/// the store never lets `recorded_at` run backwards.
public enum LedgerClock {
    public static let environmentVariable = "CASELEDGER_CLOCK"

    /// Read once: the environment does not change under a running process, and reading it
    /// builds a dictionary of every variable (a server asks the time several times a request).
    private static let pinned: Timestamp? = ProcessInfo.processInfo.environment[environmentVariable].flatMap { Timestamp(rfc3339: $0) }

    public static func now() -> Timestamp {
        if let pinned { return pinned }
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(epochMicros: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }
}
