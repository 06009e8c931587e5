import KafkaProtocol
import NIOConcurrencyHelpers

/// Fetch long-polling: a Fetch that found fewer than `min.bytes` parks here until one of its
/// partitions receives an append or its `max.wait.ms` passes. Produce calls `appended(_:)`
/// after each successful append; that is the only coupling between the two paths.
public final class AppendWaiters: @unchecked Sendable {
    private final class Waiter {
        let partitions: [TopicPartition]
        var continuation: CheckedContinuation<Void, Never>?
        init(partitions: [TopicPartition], continuation: CheckedContinuation<Void, Never>) {
            self.partitions = partitions
            self.continuation = continuation
        }
    }

    private let lock = NIOLock()
    private var waiters: [TopicPartition: [ObjectIdentifier: Waiter]] = [:]

    public init() {}

    /// Returns when any of `partitions` gets new data, or after `timeoutMs`, whichever is first.
    /// `hasNewData` is checked once the waiter is registered, so that an append landing between
    /// the caller's read and its registration is not missed.
    public func wait(for partitions: [TopicPartition], timeoutMs: Int64, hasNewData: @escaping @Sendable () -> Bool) async {
        guard timeoutMs > 0, !partitions.isEmpty else { return }
        var registered: Waiter?
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waiter = Waiter(partitions: partitions, continuation: continuation)
                registered = waiter
                lock.withLock {
                    for tp in partitions { waiters[tp, default: [:]][ObjectIdentifier(waiter)] = waiter }
                }
                if hasNewData() {
                    wake(waiter)
                    return
                }
                Task { [weak self, weak waiter] in
                    try? await Task.sleep(nanoseconds: UInt64(timeoutMs) * 1_000_000)
                    if let self, let waiter { self.wake(waiter) }
                }
            }
        } onCancel: {
            if let registered { self.wake(registered) }
        }
        _ = registered
    }

    /// New data in `tp`: wake every fetch waiting on it.
    public func appended(_ tp: TopicPartition) {
        let woken: [Waiter] = lock.withLock {
            guard let entries = waiters[tp] else { return [] }
            return Array(entries.values)
        }
        for w in woken { wake(w) }
    }

    /// Wakes everyone (shutdown).
    public func wakeAll() {
        let all: [Waiter] = lock.withLock { waiters.values.flatMap { $0.values } }
        for w in all { wake(w) }
    }

    private func wake(_ waiter: Waiter) {
        let continuation: CheckedContinuation<Void, Never>? = lock.withLock {
            guard let c = waiter.continuation else { return nil }
            waiter.continuation = nil
            for tp in waiter.partitions {
                waiters[tp]?.removeValue(forKey: ObjectIdentifier(waiter))
                if waiters[tp]?.isEmpty == true { waiters.removeValue(forKey: tp) }
            }
            return c
        }
        continuation?.resume()
    }
}
