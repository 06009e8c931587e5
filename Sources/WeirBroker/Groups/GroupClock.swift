/// The time source of the group coordinator: monotonic milliseconds and a way to wait for one.
/// Injected so that tests move time by hand instead of sleeping through session timeouts.
public protocol GroupClock: Sendable {
    /// Milliseconds on a monotonic clock (never goes back; unrelated to wall time).
    func nowMs() -> Int64
    /// Returns once `nowMs() >= deadlineMs`. Throws `CancellationError` when the calling task
    /// is cancelled first.
    func sleep(untilMs deadlineMs: Int64) async throws
}

/// The production clock: `ContinuousClock` (keeps counting while the machine sleeps, so a
/// session does not outlive its timeout across a suspend), in milliseconds since creation.
public struct ContinuousGroupClock: GroupClock {
    private let origin: ContinuousClock.Instant

    public init() {
        origin = ContinuousClock.now
    }

    public func nowMs() -> Int64 {
        let elapsed = origin.duration(to: ContinuousClock.now).components
        return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
    }

    public func sleep(untilMs deadlineMs: Int64) async throws {
        try await Task.sleep(until: origin.advanced(by: .milliseconds(deadlineMs)), clock: .continuous)
    }
}
