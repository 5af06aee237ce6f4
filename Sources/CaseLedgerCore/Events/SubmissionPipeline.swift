import Foundation

/// Reads, parses and checks an NDJSON batch on a second thread while the caller appends, so
/// that parsing and SQLite each get a core. Events reach the caller in line order; an error at a
/// line reaches it in its place, after every line before it — the same outcome as one thread.
///
/// ```swift
/// try SubmissionPipeline(fileDescriptor: fd, now: now).run { line, event in try appender.append(event, line: line) }
/// ```
public struct SubmissionPipeline {
    let fileDescriptor: Int32
    let now: Timestamp
    /// Lines handed over at a time, and how many such chunks may wait: bounds the memory in flight.
    static let chunkLines = 512
    static let chunksInFlight = 8

    public init(fileDescriptor: Int32, now: Timestamp) {
        self.fileDescriptor = fileDescriptor
        self.now = now
    }

    enum Item: Sendable {
        case event(line: Int, EventSubmission)
        case failure(LedgerError)
    }

    public func run(_ consume: (Int, EventSubmission) throws -> Void) throws {
        let queue = ChunkQueue(capacity: Self.chunksInFlight)
        let fileDescriptor = self.fileDescriptor
        let now = self.now
        let producer = Thread {
            var chunk: [Item] = []
            chunk.reserveCapacity(Self.chunkLines)
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
        defer {
            // However the consumer leaves, let the producer finish so no thread is left blocked.
            queue.cancel()
            queue.drainUntilFinished()
        }
        while let chunk = queue.take() {
            for item in chunk {
                switch item {
                case .event(let line, let event): try consume(line, event)
                case .failure(let error): throw error
                }
            }
        }
    }

    /// Everything that can be checked about one line without the ledger's state.
    static func check(line: Int, bytes: UnsafeBufferPointer<UInt8>, now: Timestamp) -> Item {
        let json: JSONValue
        do throws(JSONParseError) { json = try JSONParser.parse(bytes: bytes) } catch {
            return .failure(.invalidEvent(line: line, field: nil, reason: error.description))
        }
        do throws(FieldError) {
            return .event(line: line, try EventSubmission(json: json, now: now))
        } catch {
            return .failure(.invalidEvent(line: line, field: error.path, reason: error.reason))
        }
    }
}

/// A bounded, blocking queue of chunks between the two threads.
final class ChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[SubmissionPipeline.Item]] = []
    private var finished = false
    private var cancelled = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    func put(_ chunk: [SubmissionPipeline.Item]) {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= capacity && !cancelled { condition.wait() }
        if !cancelled { chunks.append(chunk) }
        condition.broadcast()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, or nil once the producer has finished and everything was taken.
    func take() -> [SubmissionPipeline.Item]? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !finished { condition.wait() }
        if chunks.isEmpty { return nil }
        let chunk = chunks.removeFirst()
        condition.broadcast()
        return chunk
    }

    func cancel() {
        condition.lock()
        cancelled = true
        chunks.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    func drainUntilFinished() {
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
