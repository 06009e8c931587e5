import Testing
@testable import WeirCluster

/// The leader's view of its followers: the high watermark is the ISR's minimum log end; lagging
/// followers leave the ISR after the lag time, caught-up ones come back.
@Suite struct LeaderReplicaStateTests {
    @Test func theHighWatermarkIsTheISRsSlowestLogEnd() {
        var s = LeaderReplicaState(leader: 1, leaderEpoch: 3, replicas: [1, 2, 3], isr: [1, 2, 3], nowMs: 0)
        #expect(s.highWatermark(leaderEnd: 10) == nil, "a follower has not fetched yet")
        s.fetched(by: 2, offset: 10, leaderEnd: 10, nowMs: 100)
        s.fetched(by: 3, offset: 6, leaderEnd: 10, nowMs: 100)
        #expect(s.highWatermark(leaderEnd: 10) == 6)
        s.fetched(by: 9, offset: 0, leaderEnd: 10, nowMs: 100)
        #expect(s.followerEnd[9] == nil, "not a replica")
    }

    @Test func aLaggingFollowerLeavesAndACaughtUpOneReturns() {
        var s = LeaderReplicaState(leader: 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3], nowMs: 0)
        s.fetched(by: 2, offset: 50, leaderEnd: 50, nowMs: 1_000)
        s.fetched(by: 3, offset: 20, leaderEnd: 50, nowMs: 1_000)
        #expect(s.proposedISR(nowMs: 10_000, lagMs: 10_000, highWatermark: 20, live: [1, 2, 3]) == nil)
        // Replica 3 has not been caught up since the start: out after the lag time.
        #expect(s.proposedISR(nowMs: 10_001, lagMs: 10_000, highWatermark: 20, live: [1, 2, 3]) == [1, 2])
        s.update(replicas: [1, 2, 3], isr: [1, 2])
        #expect(s.highWatermark(leaderEnd: 50) == 50)
        // It catches up: back in, in replica order (2 keeps fetching meanwhile).
        s.fetched(by: 2, offset: 50, leaderEnd: 50, nowMs: 12_000)
        s.fetched(by: 3, offset: 50, leaderEnd: 50, nowMs: 12_000)
        #expect(s.proposedISR(nowMs: 12_000, lagMs: 10_000, highWatermark: 50, live: [1, 2]) == nil, "not while it is not registered")
        #expect(s.proposedISR(nowMs: 12_000, lagMs: 10_000, highWatermark: 50, live: [1, 2, 3]) == [1, 2, 3])
    }
}
