/// What the append will store for one event, worked out ahead on another thread: its hash in the
/// chain and its leaf hash in the Merkle tree, for the `seq`, `version`, `recorded_at` and
/// previous hash the forecast assumed.
///
/// The appending thread takes a forecast only when all four are what it has itself: the
/// canonical envelope, and so both hashes, depend on nothing else but the event's own fields.
/// Otherwise it works them out as it would without one.
public struct ChainForecast: Sendable {
    public let seq: Int64
    public let version: Int64
    public let recordedAt: String
    /// The hash this event chains from (the one before it in the forecast).
    public let previous: [UInt8]
    public let hash: [UInt8]
    public let leafHash: MerkleTree.Hash

    /// Whether the forecast holds for an event the appender places at `seq`, `version`, after
    /// `previous`, recorded at `recordedAt`. Cheap when it holds: consecutive forecasts share
    /// their hashes' storage with the appender, and the clock's text is the same string.
    public func holds(seq: Int64, version: Int64, recordedAt: String, previous: [UInt8]) -> Bool {
        self.seq == seq && self.version == version && self.previous == previous && self.recordedAt == recordedAt
    }
}

/// Works out the forecasts of a batch's events in order, on the thread that runs it, from where
/// the log stood when the batch took the write lock: its head, the batch's clock, and each case's
/// last `version` before the batch (`storedVersion`, asked once a case).
///
/// It assumes every event is appended: a repeat (which takes no `seq`) or an event the rules
/// refuse makes the forecasts after it wrong, and the appender refuses them.
///
/// One thread at a time uses it (the forecasting thread of `SubmissionPipeline.run`).
public final class ChainForecaster: @unchecked Sendable {
    private var seq: Int64
    private var previous: [UInt8]
    private let recordedAt: String
    /// Each case's version after the events forecast so far, for at most `caseLimit` cases (the
    /// forecasts stop at the next case).
    private var versions: [String: Int64] = [:]
    private let caseLimit: Int
    /// A case's last version in the log before the batch (0 for a case it does not hold), or
    /// nil when it cannot be read: the forecasts stop there.
    private let storedVersion: (String) -> Int64?
    private var canonical = TextBuffer()
    private var stopped = false

    /// `seq` and `previous` are the log's head; `recordedAt` is the batch's clock.
    public init(seq: Int64, previous: [UInt8], recordedAt: String, caseLimit: Int = Limits.forecastCases,
                storedVersion: @escaping (String) -> Int64?) {
        self.caseLimit = caseLimit
        self.seq = seq
        self.previous = previous
        self.recordedAt = recordedAt
        self.storedVersion = storedVersion
    }

    /// The next event's forecast, or nil once a case's version could not be read or the cases
    /// reached their limit (none after that).
    public func forecast(_ event: EventSubmission) -> ChainForecast? {
        guard !stopped else { return nil }
        let version: Int64
        if let known = versions[event.caseID] {
            version = known + 1
        } else if versions.count < caseLimit, let stored = storedVersion(event.caseID) {
            version = stored + 1
        } else {
            stopped = true
            return nil
        }
        versions[event.caseID] = version
        seq += 1
        StoredEvent.writeCanonical(seq: seq, eventID: event.eventID, caseID: event.caseID, version: version,
                                   type: event.type.rawValue, schemaVersion: Int64(event.schemaVersion),
                                   occurredAt: event.occurredAt, recordedAt: recordedAt, actor: event.actor,
                                   canonicalData: event.canonicalData, into: &canonical)
        let hash = canonical.withBytes { HashChain.next(previous: previous, canonical: $0) }
        let forecast = ChainForecast(seq: seq, version: version, recordedAt: recordedAt, previous: previous,
                                     hash: hash, leafHash: canonical.withBytes(MerkleTree.leafHash))
        previous = hash
        return forecast
    }
}
