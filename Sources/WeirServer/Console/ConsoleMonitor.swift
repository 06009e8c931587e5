import ServiceLifecycle
import Synchronization
import WeirBroker

/// What the console shows that no store holds: the live rates (a `RateSampler` fed once a second
/// from the broker's `TrafficCounters`) and the retention/compaction service's last pass. Exists
/// only with the admin listener; `run()` is its sampling loop, a ServiceLifecycle `Service`.
///
/// Cost: one wake-up a second reading four atomics and writing one ring slot (~40 bytes a point,
/// 300 points), whether or not a page is open.
public final class ConsoleMonitor: Service, Sendable {
    /// The last retention pass: when it ended and what it removed.
    struct LastPass: Sendable, Equatable {
        var endedAtMs: Int64
        var durationMs: Int64
        var deletedBatches: Int
        var deletedBytes: Int64
        var compactedPartitions: Int
        var compactedRecords: Int
        var compactedBytes: Int64
    }

    let traffic: TrafficCounters
    let clock: WallClock
    private let sampler = Mutex(RateSampler())
    private let pass = Mutex<(count: Int, last: LastPass?)>((0, nil))

    public init(traffic: TrafficCounters, clock: WallClock = .system) {
        self.traffic = traffic
        self.clock = clock
    }

    /// Samples the counters now (the loop calls it each second; tests call it directly).
    func sample() {
        let (totals, now) = (traffic.totals, clock.nowMs())
        sampler.withLock { $0.observed(totals, atMs: now) }
    }

    var rates: [RateSampler.Point] { sampler.withLock { $0.points } }

    func retentionPassed(_ totals: RetentionService.PassTotals) {
        let last = LastPass(endedAtMs: clock.nowMs(), durationMs: totals.durationMs, deletedBatches: totals.batches,
                            deletedBytes: totals.bytes, compactedPartitions: totals.compactedPartitions,
                            compactedRecords: totals.compactedRecords, compactedBytes: totals.compactedBytes)
        pass.withLock { $0 = ($0.count + 1, last) }
    }

    var retention: (passes: Int, last: LastPass?) { pass.withLock { (passes: $0.count, last: $0.last) } }

    public func run() async throws {
        sample()
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                self.sample()
            }
        }
    }
}
