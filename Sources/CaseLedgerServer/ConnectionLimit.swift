import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Counts open connections. Hummingbird's own limit leaves extra connections waiting in the
/// listen backlog, which a client sees as a hang; a ledger's producers are better told to come
/// back: past the limit, each new connection's first request is answered 503 with `Retry-After`,
/// and the connection closed.
final class ConnectionLimiter: Sendable {
    let limit: Int
    let retryAfterSeconds: Int
    private let open = Atomic<Int>(0)
    let metrics: ServerMetrics

    init(limit: Int, retryAfterSeconds: Int = 1, metrics: ServerMetrics) {
        self.limit = limit
        self.retryAfterSeconds = retryAfterSeconds
        self.metrics = metrics
    }

    /// Counts a new connection; whether it is within the limit.
    func opened() -> Bool { open.add(1, ordering: .relaxed).newValue <= limit }

    func closed() { open.subtract(1, ordering: .relaxed) }

    func handler() -> ConnectionLimitHandler { ConnectionLimitHandler(limiter: self) }
}

/// One per connection, after HTTP decoding: passes everything through, unless the connection
/// came in over the limit.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private let limiter: ConnectionLimiter
    private var admitted = true
    private var counted = false
    private var answered = false

    init(limiter: ConnectionLimiter) { self.limiter = limiter }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        admitted = limiter.opened()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if counted { limiter.closed() }
        counted = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !admitted else {
            context.fireChannelRead(data)
            return
        }
        guard case .head = unwrapInboundIn(data), !answered else { return }
        answered = true
        limiter.metrics.refusedConnections.increment()
        let body = ByteBuffer(string: #"{"error":{"message":"the server holds its limit of \#(limiter.limit) open connections; retry after \#(limiter.retryAfterSeconds) s","status":503}}"# + "\n")
        var head = HTTPResponse(status: .serviceUnavailable)
        head.headerFields[.retryAfter] = String(limiter.retryAfterSeconds)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
