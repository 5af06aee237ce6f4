import CaseLedgerCore
import CaseLedgerStore
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /v1/events` (append) and `GET /v1/events` (the log, and with `wait` the change feed).
enum EventRoutes {
    /// Bodies up to this size are parsed on the request's own task (about a hundred events).
    static let parseInlineBytes = 32 * 1024

    /// The body is NDJSON whatever its Content-Type says (curl's default is a form type): what
    /// is not NDJSON is answered 422 at its line. The batch is read (up to the body limit), parsed and checked line by line exactly as
    /// `caseledger append` checks it, then queued for the next group commit; the answer waits
    /// for that commit to be on disk. All of the batch, or none of it.
    static func append(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let settings = state.settings
        let body: ByteBuffer
        do {
            body = try await readBody(request, limit: settings.maxBodyBytes, timeout: .seconds(settings.bodyTimeoutSeconds))
        } catch let error as APIError where error.status == .contentTooLarge {
            state.metrics.rejectedTooLarge.increment()
            throw error
        }
        let principal = context.principal
        let events: [(line: Int, event: EventSubmission)]
        do {
            // A small body (a dialer's single event) is parsed right here; a large one on the
            // blocking queue, so it holds no thread of the server's own.
            if body.readableBytes <= Self.parseInlineBytes {
                events = try parse(body, maxEvents: settings.maxRequestEvents, actorPrefix: principal?.actorPrefix)
            } else {
                events = try await Blocking.run {
                    try parse(body, maxEvents: settings.maxRequestEvents, actorPrefix: principal?.actorPrefix)
                }
            }
        } catch let error as APIError {
            (error.status == .forbidden ? state.metrics.rejectedForbidden : state.metrics.rejectedTooLarge).increment()
            throw error
        } catch {
            state.metrics.rejectedInvalid.increment()
            throw error
        }
        switch await state.committer.append(PendingBatch(events: events)) {
        case .success(let summary):
            state.metrics.acceptedBatches.increment()
            state.metrics.appendedEvents.increment(by: Int64(summary.appended))
            state.metrics.duplicateEvents.increment(by: Int64(summary.duplicates))
            return Reply.json(summary.json)
        case .failure(let error):
            switch error {
            case .conflict: state.metrics.rejectedConflict.increment()
            case .invalidEvent: state.metrics.rejectedInvalid.increment()
            case .ledgerUnavailable(let reason):
                // A replay (or another file that is not a live ledger) is never appended to.
                state.metrics.rejectedStorage.increment()
                throw APIError(status: .conflict, message: reason.replacingOccurrences(of: state.ledger.path, with: "this ledger"))
            default: state.metrics.rejectedStorage.increment()
            }
            throw error
        }
    }

    /// Reads the body, and no more than `limit` bytes of it: 413 as soon as it would pass the
    /// limit (or when Content-Length says it will), 408 when it does not arrive within `timeout`.
    static func readBody(_ request: Request, limit: Int, timeout: Duration) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw APIError.tooLarge("the body is \(declared) bytes; at most \(limit) are accepted in one request: split the batch")
        }
        return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var collected = ByteBuffer()
                for try await chunk in request.body {
                    guard collected.readableBytes + chunk.readableBytes <= limit else {
                        throw APIError.tooLarge("the body passed \(limit) bytes, the most accepted in one request: split the batch")
                    }
                    collected.writeImmutableBuffer(chunk)
                }
                return collected
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else { throw APIError.timedOut }
            return body
        }
    }

    /// Each line checked on its own, as `append` checks it; the first bad line is the answer.
    static func parse(_ body: ByteBuffer, maxEvents: Int, actorPrefix: String?) throws -> [(line: Int, event: EventSubmission)] {
        var events: [(line: Int, event: EventSubmission)] = []
        let now = LedgerClock.now()
        try body.withUnsafeReadableBytes { raw in
            try LineReader.forEachLine(in: raw.bindMemory(to: UInt8.self)) { line, bytes in
                guard events.count < maxEvents else {
                    throw APIError.tooLarge("line \(line): one request holds at most \(maxEvents) events: split the batch")
                }
                let event = try SubmissionPipeline.checkedEvent(line: line, bytes: bytes, now: now)
                if let actorPrefix, !event.actor.hasPrefix(actorPrefix) {
                    throw APIError(status: .forbidden, message: "line \(line): this token appends only events whose actor starts with \(JSONText.quoted(actorPrefix)); \(JSONText.quoted(event.actor)) does not. Nothing was written",
                                   details: [("line", .int(Int64(line))), ("field", .string("actor"))])
                }
                events.append((line, event))
            }
        }
        return events
    }

    /// The stored envelopes after `after`, as NDJSON (the lines of `log --json`). With `wait`,
    /// an empty answer is held until an event arrives or `wait` seconds pass: the change feed.
    /// A consumer keeps the last `seq` it processed and asks for `after` it: it never misses
    /// an event and never sees one twice, across restarts of either side.
    static func feed(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let query = Query(request)
        let after = try query.int("after", in: 0...(Int64.max - 1)) ?? 0
        let limit = Int(try query.int("limit", in: 1...Int64(state.settings.maxPage)) ?? 1000)
        let caseID = query.string("case")
        let wait = try query.seconds("wait", max: state.settings.maxWaitSeconds) ?? 0
        let deadline = ContinuousClock.now + .milliseconds(Int64(wait * 1000))
        let scope = context.scope
        let ledger = state.ledger
        let links = state.replayLinks
        while true {
            let page = try await Blocking.run { () -> (head: Int64, lines: [UInt8], count: Int, last: Int64, cases: [String]) in
                let head = try ledger.head().seq
                var lines: [UInt8] = []
                var count = 0
                var last = after
                var cases: [String] = []
                try ledger.forEachEvent(LogQuery(caseID: caseID, fromSeq: after + 1, limit: limit, scope: scope)) { event in
                    event.writeLogLine(into: &lines, previousHash: links[event.seq])
                    count += 1
                    last = event.seq
                    cases.append(event.caseID)
                }
                return (head, lines, count, last, cases)
            }
            let remaining = deadline - ContinuousClock.now
            if page.count > 0 || remaining <= .zero {
                context.returned.note(page.cases)
                var response = Reply.bytes(page.lines, type: "application/x-ndjson")
                response.headers[.caseLedgerHeadSeq] = String(page.head)
                response.headers[.caseLedgerLastSeq] = String(page.last)
                return response
            }
            await state.watcher.wait(beyond: max(after, page.head), timeout: remaining)
        }
    }
}

extension HTTPField.Name {
    /// The log's last seq when the answer was read.
    static let caseLedgerHeadSeq = HTTPField.Name("CaseLedger-Head-Seq")!
    /// The seq of the last event in this answer (`after` when there is none): the next `after`.
    static let caseLedgerLastSeq = HTTPField.Name("CaseLedger-Last-Seq")!
}
