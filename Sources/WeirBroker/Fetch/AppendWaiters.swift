import KafkaProtocol
import Synchronization

/// Fetch long-polling: a Fetch that found fewer than `min.bytes` parks here until one of its
/// partitions receives an append or its `max.wait.ms` passes. Produce calls `appended(_:)`
/// after each successful append; that is the only coupling between the two paths.
public final class AppendWaiters: Sendable {
    /// One parked fetch. `continuation` is nil until the fetch has suspended; a wake that comes
    /// before then sets `woken`, and the fetch returns at once instead of suspending.
    private struct Waiter {
        let partitions: [TopicPartition]
        var continuation: CheckedContinuation<Void, Never>?
        var timeout: Task<Void, Never>?
        var woken = false
    }

    private struct State {
        var nextId = 0
        var waiters: [Int: Waiter] = [:]
        var byPartition: [TopicPartition: Set<Int>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Returns when any of `partitions` gets new data, after `timeoutMs`, or on cancellation,
    /// whichever is first. `hasNewData` is checked once the waiter is registered, so that an
    /// append landing between the caller's read and its registration is not missed.
    public func wait(for partitions: [TopicPartition], timeoutMs: Int64, hasNewData: @escaping @Sendable () -> Bool) async {
        guard timeoutMs > 0, !partitions.isEmpty else { return }
        let id = state.withLock { s in
            s.nextId += 1
            s.waiters[s.nextId] = Waiter(partitions: partitions)
            for tp in partitions { s.byPartition[tp, default: []].insert(s.nextId) }
            return s.nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let timeout = Task { [weak self] in
                    try? await Task.sleep(nanoseconds: UInt64(timeoutMs) * 1_000_000)
                    self?.wake(id)
                }
                let suspended: Bool = state.withLock { s in
                    guard s.waiters[id]?.woken == false else { return false }
                    s.waiters[id]?.continuation = continuation
                    s.waiters[id]?.timeout = timeout
                    return true
                }
                if !suspended {
                    timeout.cancel()
                    remove(id)
                    continuation.resume()
                } else if hasNewData() {
                    wake(id)
                }
            }
        } onCancel: {
            self.wake(id)
        }
    }

    /// New data in `tp`: wake every fetch waiting on it.
    public func appended(_ tp: TopicPartition) {
        let ids: Set<Int> = state.withLock { $0.byPartition[tp] ?? [] }
        for id in ids { wake(id) }
    }

    /// Wakes everyone (shutdown).
    public func wakeAll() {
        let ids: [Int] = state.withLock { Array($0.waiters.keys) }
        for id in ids { wake(id) }
    }

    /// Resumes waiter `id` once and stops its timer; before it has suspended, marks it so that
    /// it does not. Safe to call any number of times, from any thread.
    private func wake(_ id: Int) {
        let ready: (CheckedContinuation<Void, Never>, Task<Void, Never>?)? = state.withLock { s in
            guard let waiter = s.waiters[id] else { return nil }
            guard let continuation = waiter.continuation else {
                s.waiters[id]?.woken = true
                return nil
            }
            Self.unregister(id, waiter.partitions, in: &s)
            return (continuation, waiter.timeout)
        }
        guard let (continuation, timeout) = ready else { return }
        timeout?.cancel()
        continuation.resume()
    }

    private func remove(_ id: Int) {
        state.withLock { s in
            if let waiter = s.waiters[id] { Self.unregister(id, waiter.partitions, in: &s) }
        }
    }

    private static func unregister(_ id: Int, _ partitions: [TopicPartition], in s: inout State) {
        s.waiters[id] = nil
        for tp in partitions {
            s.byPartition[tp]?.remove(id)
            if s.byPartition[tp]?.isEmpty == true { s.byPartition[tp] = nil }
        }
    }
}
