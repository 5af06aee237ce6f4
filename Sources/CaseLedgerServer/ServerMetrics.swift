import Metrics
import Prometheus
import Synchronization

/// What `/metrics` shows, in Prometheus's text format: the ledger's own measures here, and every
/// route's request count and latency histogram from Hummingbird's metrics middleware (through
/// swift-metrics, bootstrapped onto the same registry).
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let appendedEvents: Prometheus.Counter
    let duplicateEvents: Prometheus.Counter
    let acceptedBatches: Prometheus.Counter
    let rejectedInvalid: Prometheus.Counter
    let rejectedConflict: Prometheus.Counter
    let rejectedForbidden: Prometheus.Counter
    let rejectedTooLarge: Prometheus.Counter
    let rejectedStorage: Prometheus.Counter
    let groupBatches: ValueHistogram
    let groupCommitSeconds: DurationHistogram
    let feedWaiters: Prometheus.Gauge
    let accessEntries: Prometheus.Counter
    let headSeq: Prometheus.Gauge
    let refusedConnections: Prometheus.Counter

    private static let bootstrapped = Mutex(false)

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "caseledger", metricName: metric, unitName: unit, helpText: help)
        }
        appendedEvents = registry.makeCounter(descriptor: name("appended_events", "total", "Events appended and acknowledged (on disk)."))
        duplicateEvents = registry.makeCounter(descriptor: name("duplicate_events", "total", "Events sent again with the same content: not appended, acknowledged."))
        let requests = name("append_requests", "total", "Append requests, by outcome.")
        acceptedBatches = registry.makeCounter(descriptor: requests, labels: [("outcome", "appended")])
        rejectedInvalid = registry.makeCounter(descriptor: requests, labels: [("outcome", "invalid")])
        rejectedConflict = registry.makeCounter(descriptor: requests, labels: [("outcome", "conflict")])
        rejectedForbidden = registry.makeCounter(descriptor: requests, labels: [("outcome", "forbidden")])
        rejectedTooLarge = registry.makeCounter(descriptor: requests, labels: [("outcome", "too_large")])
        rejectedStorage = registry.makeCounter(descriptor: requests, labels: [("outcome", "storage_error")])
        groupBatches = registry.makeValueHistogram(
            descriptor: name("group_commit", "requests", "Append requests committed together in one transaction (one fsync)."),
            buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
        groupCommitSeconds = registry.makeDurationHistogram(
            descriptor: name("group_commit", "seconds", "Time of one group commit, from BEGIN to the fsync of COMMIT."),
            buckets: [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                      .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)])
        feedWaiters = registry.makeGauge(descriptor: name("feed", "waiters", "Change-feed requests waiting for a new event."))
        accessEntries = registry.makeCounter(descriptor: name("access_log_entries", "total", "Entries written to the access log."))
        headSeq = registry.makeGauge(descriptor: name("head", "seq", "The seq of the last event in the log."))
        refusedConnections = registry.makeCounter(
            descriptor: name("refused_connections", "total", "Connections answered 503 because the server held its limit of open connections."))
    }

    /// Routes Hummingbird's request metrics into this registry (once per process).
    func bootstrap() {
        let first = Self.bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
                                                   .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                                   .seconds(5), .seconds(30)]
        MetricsSystem.bootstrap(factory)
    }

    func text() -> [UInt8] {
        registry.emitToBuffer()
    }
}
