import Dispatch

/// SQLite calls block their thread. Swift concurrency has one thread per core and NIO's event
/// loops must never block, so every ledger read runs here, on a queue of its own, while the
/// request's task waits without holding a thread.
enum Blocking {
    private static let queue = DispatchQueue(label: "caseledger.blocking", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
