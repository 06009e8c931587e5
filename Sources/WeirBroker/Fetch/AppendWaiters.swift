import KafkaProtocol
import NIOConcurrencyHelpers

/// Fetch long-polling: a Fetch that found fewer than `min.bytes` parks here until one of its
/// partitions receives an append or its `max.wait.ms` passes. Produce calls `appended(_:)`
/// after each successful append; that is the only coupling between the two paths.
public final class AppendWaiters: @unchecked Sendable {
    /// One parked fetch. Fields are guarded by the registry's lock.
    private final class Waiter: @unchecked Sendable {
        let partitions: [TopicPartition]
        var continuation: CheckedContinuation<Void, Never>?
        var timeout: Task<Void, Never>?
        var done = false
        init(partitions: [TopicPartition]) { self.partitions = partitions }
    }

    private let lock = NIOLock()
    private var waiters: [TopicPartition: [ObjectIdentifier: Waiter]] = [:]

    public init() {}

    /// Returns when any of `partitions` gets new data, after `timeoutMs`, or on cancellation,
    /// whichever is first. `hasNewData` is checked once the waiter is registered, so that an
    /// append landing between the caller's read and its registration is not missed.
    public func wait(for partitions: [TopicPartition], timeoutMs: Int64, hasNewData: @escaping @Sendable () -> Bool) async {
        guard timeoutMs > 0, !partitions.isEmpty else { return }
        let waiter = Waiter(partitions: partitions)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let registered: Bool = lock.withLock {
                    guard !waiter.done else { return false }
                    waiter.continuation = continuation
                    for tp in partitions { waiters[tp, default: [:]][ObjectIdentifier(waiter)] = waiter }
                    waiter.timeout = Task { [weak self] in
                        try? await Task.sleep(nanoseconds: UInt64(timeoutMs) * 1_000_000)
                        self?.wake(waiter)
                    }
                    return true
                }
                if !registered {
                    continuation.resume()
                } else if hasNewData() {
                    wake(waiter)
                }
            }
        } onCancel: {
            self.wake(waiter)
        }
    }

    /// New data in `tp`: wake every fetch waiting on it.
    public func appended(_ tp: TopicPartition) {
        let woken: [Waiter] = lock.withLock { waiters[tp].map { Array($0.values) } ?? [] }
        for w in woken { wake(w) }
    }

    /// Wakes everyone (shutdown).
    public func wakeAll() {
        let all: [Waiter] = lock.withLock { waiters.values.flatMap { $0.values } }
        for w in all { wake(w) }
    }

    /// Resumes `waiter` once, unregisters it and stops its timer. Safe to call any number of
    /// times, from any thread, before or after it was registered.
    private func wake(_ waiter: Waiter) {
        let (continuation, timeout): (CheckedContinuation<Void, Never>?, Task<Void, Never>?) = lock.withLock {
            guard !waiter.done else { return (nil, nil) }
            waiter.done = true
            for tp in waiter.partitions {
                waiters[tp]?.removeValue(forKey: ObjectIdentifier(waiter))
                if waiters[tp]?.isEmpty == true { waiters.removeValue(forKey: tp) }
            }
            defer {
                waiter.continuation = nil
                waiter.timeout = nil
            }
            return (waiter.continuation, waiter.timeout)
        }
        timeout?.cancel()
        continuation?.resume()
    }
}
