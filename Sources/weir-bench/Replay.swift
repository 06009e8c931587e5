import NIOCore
import NIOPosix

/// When a replay counts: responses that arrive in [start, end) are measured; nothing new is
/// sent after `end`, and the connection closes once its last response is in.
struct ReplayWindow: Sendable {
    var start: NIODeadline
    var end: NIODeadline
}

/// What one connection saw in the measured window.
struct ReplayTotals: Sendable {
    var requests = 0
    var records = 0
    var payloadBytes = 0
    var wireBytes = 0
    var errors = 0
    var firstError: String?
    /// Request → response times in the window, milliseconds.
    var latenciesMs: [Double] = []

    mutating func add(_ other: ReplayTotals) {
        requests += other.requests
        records += other.records
        payloadBytes += other.payloadBytes
        wireBytes += other.wireBytes
        errors += other.errors
        firstError = firstError ?? other.firstError
        latenciesMs += other.latenciesMs
    }
}

struct ReplayError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// p50/p99/p99.9/max of `values` (nearest rank), rounded to 0.001.
func percentiles(_ values: [Double]) -> [String: Double] {
    guard !values.isEmpty else { return [:] }
    let sorted = values.sorted()
    func at(_ q: Double) -> Double {
        let value = sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
        return (value * 1000).rounded() / 1000
    }
    return ["p50": at(0.5), "p99": at(0.99), "p99_9": at(0.999), "max": (sorted[sorted.count - 1] * 1000).rounded() / 1000]
}

/// Runs `body` with a one-thread event loop group (the replayer's one client thread), shut down after.
func withEventLoopGroup(_ body: (MultiThreadedEventLoopGroup) async throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        try await body(group)
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
    try await group.shutdownGracefully()
}

/// Sleeps until `deadline` (returns at once when it has passed).
func sleep(until deadline: NIODeadline) async throws {
    let left = deadline - .now()
    if left.nanoseconds > 0 { try await Task.sleep(nanoseconds: UInt64(left.nanoseconds)) }
}
