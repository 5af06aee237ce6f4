import Foundation

/// Reads, parses and checks an NDJSON batch on a second thread while the caller appends, so
/// that parsing and SQLite each get a core. Events reach the caller in line order; an error at a
/// line reaches it in its place, after every line before it — the same outcome as one thread.
///
/// Reading starts before the caller takes the ledger's write lock: `waitUntilReady` returns once
/// the input has ended or `Limits.prefetchEvents` checked events wait, so a slow producer holds
/// no lock while it has nothing to say, and other appends queue behind real work only.
///
/// ```swift
/// let pipeline = SubmissionPipeline(fileDescriptor: fd)
/// pipeline.waitUntilReady()
/// try pipeline.run { line, event in try appender.append(event, line: line) }
/// ```
public final class SubmissionPipeline {
    /// Lines handed over at a time.
    static let chunkLines = 512
    /// Chunks that may wait: bounds the memory in flight, and is what is read before the lock.
    static let chunksInFlight = max(1, Limits.prefetchEvents / chunkLines)

    enum Item: Sendable {
        case event(line: Int, EventSubmission)
        case failure(LedgerError)
        /// What `run` leaves in a chunk's place for an item it took out.
        case taken
    }

    private let queue = ChunkQueue<[Item]>(capacity: SubmissionPipeline.chunksInFlight)

    /// Starts reading `fileDescriptor` at once. `clock` is the ledger clock, read again for each
    /// chunk, so an event written just before it is sent is never "in the future" of a stale clock.
    public init(fileDescriptor: Int32, clock: @escaping @Sendable () -> Timestamp = { LedgerClock.now() }) {
        let queue = self.queue
        let producer = Thread {
            var chunk: [Item] = []
            chunk.reserveCapacity(Self.chunkLines)
            var now = clock()
            var count = 0
            do {
                try LineReader(fileDescriptor: fileDescriptor).forEachLine { line, bytes in
                    if queue.isCancelled { throw CancellationError() }
                    count += 1
                    if count > Limits.maxBatchEvents {
                        throw LedgerError.invalidInput("line \(line): a batch holds at most \(Limits.maxBatchEvents) events; split the input")
                    }
                    chunk.append(Self.check(line: line, bytes: bytes, now: now))
                    if case .failure = chunk.last! { throw CancellationError() }
                    if chunk.count == Self.chunkLines {
                        queue.put(chunk)
                        chunk = []
                        chunk.reserveCapacity(Self.chunkLines)
                        now = clock()
                    }
                }
            } catch let error as LedgerError {
                chunk.append(.failure(error))
            } catch {
                // Cancelled, or stopped at a failure already queued.
            }
            queue.put(chunk)
            queue.finish()
        }
        producer.stackSize = 1 << 22
        producer.start()
    }

    deinit {
        // However the consumer leaves, the producer stops at its next line. It is not waited for:
        // it may be blocked reading a pipe whose writer has not finished, and an error must not wait for that.
        queue.cancel()
    }

    /// Blocks until the input has ended or the buffer is full: the moment to take the write lock.
    public func waitUntilReady() {
        queue.waitUntilFullOrFinished()
    }

    /// Checked events waiting to be taken (at most what the buffer holds).
    public var eventsWaiting: Int {
        queue.waiting.reduce(0) { $0 + $1.count }
    }

    /// Hands every checked event to `consume`, in line order; throws the first error in its place.
    ///
    /// With a `forecaster`, a third thread works out each event's forecast (its hashes, had the
    /// events before it all been appended) between this pipeline's parsing and `consume`, which
    /// gets it with the event; nil once `stopForecasting()` was called or the forecaster stopped.
    ///
    /// Each item is moved out of its chunk (a payload-less `taken` swapped into its place), not
    /// copied: a copy retained each of an event's Strings and arrays, and released them again when
    /// the chunk was freed. Handing the items over cost the appending thread 284 M instructions
    /// at 10^5 copied, 135 M moved (BENCHMARKS.md).
    public func run(forecasting forecaster: ChainForecaster? = nil,
                    _ consume: (Int, EventSubmission, ChainForecast?) throws -> Void) throws {
        guard let forecaster else {
            var none: [ChainForecast?] = []
            while var chunk = queue.take() {
                try hand(&chunk, &none, to: consume)
            }
            return
        }
        let stage = ForecastStage(input: queue, forecaster: forecaster)
        self.stage = stage
        defer {
            // However `consume` leaves, the forecasting thread is done before this returns.
            stage.cancel()
            stage.waitUntilEnded()
            self.stage = nil
        }
        while var sealed = stage.output.take() {
            try hand(&sealed.items, &sealed.forecasts, to: consume)
        }
    }

    /// No more forecasts for this batch (called from `consume`): the appender refused one, so
    /// those after it are wrong too. The events after this one come without.
    public func stopForecasting() {
        forecastsStopped = true
        stage?.stop()
    }

    private var stage: ForecastStage?
    private var forecastsStopped = false

    private func hand(_ chunk: inout [Item], _ forecasts: inout [ChainForecast?],
                      to consume: (Int, EventSubmission, ChainForecast?) throws -> Void) throws {
        for index in chunk.indices {
            var item = Item.taken
            swap(&item, &chunk[index])
            switch item {
            case .event(let line, let event):
                var forecast: ChainForecast?
                if index < forecasts.count, !forecastsStopped { swap(&forecast, &forecasts[index]) }
                try consume(line, event, forecast)
            case .failure(let error): throw error
            case .taken: break
            }
        }
    }

    /// One NDJSON line checked as an append checks it (for tools that feed lines one by one).
    public static func checkedEvent(line: Int, bytes: UnsafeBufferPointer<UInt8>, now: Timestamp) throws(LedgerError) -> EventSubmission {
        switch check(line: line, bytes: bytes, now: now) {
        case .event(_, let event): return event
        case .failure(let error): throw error
        case .taken: preconditionFailure("check returns an event or a failure")
        }
    }

    /// Everything that can be checked about one line without the ledger's state.
    static func check(line: Int, bytes: UnsafeBufferPointer<UInt8>, now: Timestamp) -> Item {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            return .failure(.invalidEvent(line: line, field: nil, reason: byteOrderMarkReason))
        }
        let json: JSONValue
        do throws(JSONParseError) { json = try JSONParser.parse(bytes: bytes) } catch {
            return .failure(.invalidEvent(line: line, field: error.path.isEmpty ? nil : error.path, reason: error.description))
        }
        do throws(FieldError) {
            return .event(line: line, try EventSubmission(json: json, now: now))
        } catch {
            return .failure(.invalidEvent(line: line, field: error.path, reason: error.reason))
        }
    }
}

/// The thread between a pipeline's parsing and its consumer when forecasts are made: it takes the
/// parsed chunks in order, forecasts each event, and passes the chunk on with its forecasts.
private final class ForecastStage: @unchecked Sendable {
    struct Sealed {
        var items: [SubmissionPipeline.Item]
        /// One for each item, nil for a failure; empty once forecasting stopped.
        var forecasts: [ChainForecast?]
    }

    /// A few chunks ahead of the consumer: enough to keep both threads busy.
    let output = ChunkQueue<Sealed>(capacity: 4)
    private let input: ChunkQueue<[SubmissionPipeline.Item]>
    private let condition = NSCondition()
    private var stopped = false
    private var ended = false

    init(input: ChunkQueue<[SubmissionPipeline.Item]>, forecaster: ChainForecaster) {
        self.input = input
        let output = self.output
        let thread = Thread { [self] in
            while let chunk = input.take() {
                var forecasts: [ChainForecast?] = []
                if !isStopped {
                    forecasts.reserveCapacity(chunk.count)
                    for index in chunk.indices {
                        switch chunk[index] {
                        case .event(_, let event): forecasts.append(forecaster.forecast(event))
                        case .failure, .taken: forecasts.append(nil)
                        }
                    }
                }
                output.put(Sealed(items: chunk, forecasts: forecasts))
            }
            output.finish()
            condition.lock()
            ended = true
            condition.broadcast()
            condition.unlock()
        }
        thread.stackSize = 1 << 22
        thread.start()
    }

    private var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.unlock()
    }

    /// Stops the thread at its next chunk, and the parsing before it at its next line.
    func cancel() {
        input.cancel()
        output.cancel()
    }

    func waitUntilEnded() {
        condition.lock()
        defer { condition.unlock() }
        while !ended { condition.wait() }
    }
}

/// The one policy for a UTF-8 byte-order mark, in NDJSON and in rulebook files alike: refused, with a way out.
public let byteOrderMarkReason = "the text starts with a UTF-8 byte-order mark (U+FEFF); save it as UTF-8 without a BOM"

/// A bounded, blocking queue of chunks between two threads: the append's parsing pipeline, and
/// a fold's reading and parsing of the log.
public final class ChunkQueue<Chunk>: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [Chunk] = []
    private var finished = false
    private var cancelled = false
    private let capacity: Int

    public init(capacity: Int) { self.capacity = capacity }

    public var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Queues `chunk`, waiting while the queue is full (dropped once cancelled).
    public func put(_ chunk: Chunk) {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= capacity && !cancelled { condition.wait() }
        if !cancelled { chunks.append(chunk) }
        condition.broadcast()
    }

    /// No more chunks will come.
    public func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, or nil once the producer has finished and everything was taken (or
    /// the queue was cancelled).
    public func take() -> Chunk? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !finished && !cancelled { condition.wait() }
        if chunks.isEmpty { return nil }
        let chunk = chunks.removeFirst()
        condition.broadcast()
        return chunk
    }

    /// Every chunk waiting, at once, without waiting for one.
    public func takeAll() -> [Chunk] {
        condition.lock()
        defer { condition.unlock() }
        let all = chunks
        chunks.removeAll()
        condition.broadcast()
        return all
    }

    /// What waits, without taking it.
    public var waiting: [Chunk] {
        condition.lock()
        defer { condition.unlock() }
        return chunks
    }

    public func waitUntilFullOrFinished() {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count < capacity && !finished && !cancelled { condition.wait() }
    }

    public func cancel() {
        condition.lock()
        cancelled = true
        chunks.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
