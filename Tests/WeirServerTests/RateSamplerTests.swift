import Testing
import WeirBroker
@testable import WeirServer

/// The console's rate ring, driven by hand-made totals and times.
@Suite struct RateSamplerTests {
    private func totals(_ pr: Int64, _ pb: Int64 = 0, _ fr: Int64 = 0, _ fb: Int64 = 0) -> TrafficCounters.Totals {
        TrafficCounters.Totals(producedRecords: pr, producedBytes: pb, fetchedRecords: fr, fetchedBytes: fb)
    }

    @Test func firstObservationOnlySetsTheBaseline() {
        var s = RateSampler()
        s.observed(totals(500, 1000), atMs: 10_000)
        #expect(s.points.isEmpty)
    }

    @Test func ratesAreDeltaOverElapsedTime() {
        var s = RateSampler()
        s.observed(totals(0), atMs: 0)
        s.observed(totals(100, 2_000, 50, 1_000), atMs: 1_000)
        // A late tick: 300 records over 2 s is 150/s, not a spike of 300.
        s.observed(totals(400, 2_000, 50, 1_000), atMs: 3_000)
        #expect(s.points == [
            .init(timeMs: 1_000, producedRecordsPerSecond: 100, producedBytesPerSecond: 2_000,
                  fetchedRecordsPerSecond: 50, fetchedBytesPerSecond: 1_000),
            .init(timeMs: 3_000, producedRecordsPerSecond: 150, producedBytesPerSecond: 0,
                  fetchedRecordsPerSecond: 0, fetchedBytesPerSecond: 0),
        ])
    }

    @Test func timeThatDoesNotAdvanceIsIgnoredAndDecreasesCountZero() {
        var s = RateSampler()
        s.observed(totals(10), atMs: 1_000)
        s.observed(totals(20), atMs: 1_000)
        s.observed(totals(20), atMs: 500)
        #expect(s.points.isEmpty)
        s.observed(totals(5), atMs: 2_000)
        #expect(s.points.map(\.producedRecordsPerSecond) == [0])
    }

    @Test func ringKeepsTheNewestCapacityPointsOldestFirst() {
        var s = RateSampler(capacity: 3, windowMs: 1_000_000)
        for second in 0...5 { s.observed(totals(Int64(second * second)), atMs: Int64(second) * 1_000) }
        // Rates: 1, 3, 5, 7, 9 for seconds 1…5; the ring holds the last three.
        #expect(s.points.map(\.timeMs) == [3_000, 4_000, 5_000])
        #expect(s.points.map(\.producedRecordsPerSecond) == [5, 7, 9])
    }

    @Test func pointsOutsideTheWindowAreLeftOut() {
        var s = RateSampler(capacity: 10, windowMs: 2_500)
        s.observed(totals(0), atMs: 0)
        s.observed(totals(1), atMs: 1_000)
        s.observed(totals(2), atMs: 2_000)
        // After a long pause (the broker was idle, or the tick stalled) only the newest stays.
        s.observed(totals(12), atMs: 12_000)
        #expect(s.points.map(\.timeMs) == [12_000])
        #expect(s.points.map(\.producedRecordsPerSecond) == [1])
    }
}
