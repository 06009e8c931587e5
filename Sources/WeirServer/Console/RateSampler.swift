import WeirBroker

/// The console's live rates: produce and fetch records/s and bytes/s over the last few minutes,
/// from the broker's cumulative `TrafficCounters`. A pure value: the sampler task hands it the
/// totals and the time (`observed(_:atMs:)`), so tests drive it with any clock and no sleeping.
///
/// One point per observation (about one a second), holding the rates since the previous one:
/// delta / elapsed time, so a late tick gives the average over its longer interval rather than a
/// spike. Kept in a ring of `capacity` points (300 ≈ five minutes at one a second); a point older
/// than `windowMs` before the latest observation is not returned. A time that does not move
/// forward is ignored, a counter that went down (none should) counts as 0.
struct RateSampler: Sendable, Equatable {
    struct Point: Sendable, Equatable {
        /// Wall-clock ms of the observation closing the interval.
        var timeMs: Int64
        var producedRecordsPerSecond: Double
        var producedBytesPerSecond: Double
        var fetchedRecordsPerSecond: Double
        var fetchedBytesPerSecond: Double
    }

    let capacity: Int
    let windowMs: Int64
    private var ring: [Point] = []
    /// Index of the oldest point once the ring is full.
    private var head = 0
    private var last: (totals: TrafficCounters.Totals, atMs: Int64)?

    init(capacity: Int = 300, windowMs: Int64 = 300_000) {
        precondition(capacity > 0 && windowMs > 0)
        self.capacity = capacity
        self.windowMs = windowMs
        ring.reserveCapacity(capacity)
    }

    /// The counters read `totals` at `nowMs`.
    mutating func observed(_ totals: TrafficCounters.Totals, atMs nowMs: Int64) {
        guard let previous = last else {
            last = (totals, nowMs)
            return
        }
        let elapsed = nowMs - previous.atMs
        guard elapsed > 0 else { return }
        func rate(_ now: Int64, _ before: Int64) -> Double {
            Double(max(0, now - before)) * 1000 / Double(elapsed)
        }
        let old = previous.totals
        append(Point(timeMs: nowMs,
                     producedRecordsPerSecond: rate(totals.producedRecords, old.producedRecords),
                     producedBytesPerSecond: rate(totals.producedBytes, old.producedBytes),
                     fetchedRecordsPerSecond: rate(totals.fetchedRecords, old.fetchedRecords),
                     fetchedBytesPerSecond: rate(totals.fetchedBytes, old.fetchedBytes)))
        last = (totals, nowMs)
    }

    private mutating func append(_ point: Point) {
        if ring.count < capacity {
            ring.append(point)
        } else {
            ring[head] = point
            head = (head + 1) % capacity
        }
    }

    /// The points within the window, oldest first.
    var points: [Point] {
        let ordered = Array(ring[head...] + ring[..<head])
        guard let newest = ordered.last else { return [] }
        return ordered.filter { $0.timeMs > newest.timeMs - windowMs }
    }

    static func == (a: RateSampler, b: RateSampler) -> Bool {
        a.points == b.points && a.last?.totals == b.last?.totals && a.last?.atMs == b.last?.atMs
    }
}
