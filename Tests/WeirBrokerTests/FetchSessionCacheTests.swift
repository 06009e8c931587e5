import KafkaProtocol
import Testing
@testable import WeirBroker

/// KIP-227 fetch sessions, decided without a store or sockets.
@Suite struct FetchSessionCacheTests {
    private static func p(_ topic: String, _ partition: Int32, _ offset: Int64) -> FetchSessionCache.CachedPartition {
        .init(TopicPartition(topic, partition), fetchOffset: offset, maxBytes: 1 << 20)
    }

    private static func outcome(_ tp: FetchSessionCache.CachedPartition, records: Bool = false, hw: Int64,
                                error: ErrorCode = .none) -> FetchSessionCache.Outcome {
        .init(tp.topicPartition, hasRecords: records, error: error, highWatermark: hw, logStartOffset: 0)
    }

    @Test func sessionlessFetchesKeepNoState() throws {
        let cache = FetchSessionCache()
        let plan = try cache.plan(sessionId: 0, epoch: -1, requested: [Self.p("t", 0, 5)], forgotten: [], nowMs: 0).get()
        #expect(plan == .init(sessionId: 0, incremental: false, partitions: [Self.p("t", 0, 5)]))
        #expect(cache.count == 0)
        #expect(cache.answered(plan, outcomes: [Self.outcome(Self.p("t", 0, 5), hw: 5)]) == [TopicPartition("t", 0)])
    }

    @Test func anIncrementalFetchCarriesOnlyChangesBothWays() throws {
        let cache = FetchSessionCache()
        let a = Self.p("t", 0, 10), b = Self.p("t", 1, 20), c = Self.p("u", 0, 0)
        let full = try cache.plan(sessionId: 0, epoch: 0, requested: [a, b, c], forgotten: [], nowMs: 0).get()
        #expect(full.sessionId > 0 && !full.incremental && full.partitions == [a, b, c])
        // The full answer includes every partition and teaches the session their watermarks.
        #expect(cache.answered(full, outcomes: [Self.outcome(a, records: true, hw: 15), Self.outcome(b, hw: 20),
                                                Self.outcome(c, hw: 0)]).count == 3)

        // Epoch 1: only partition a moved (the client read up to 15). The fetch still covers
        // all three, with a's new offset; a went to the end because it returned records.
        var a15 = a
        a15.fetchOffset = 15
        let inc = try cache.plan(sessionId: full.sessionId, epoch: 1, requested: [a15], forgotten: [], nowMs: 1).get()
        #expect(inc.incremental)
        #expect(inc.partitions.map(\.topicPartition) == [b, c, a].map(\.topicPartition))
        #expect(inc.partitions.last?.fetchOffset == 15)
        // b got new data, c's watermark is unchanged and a's moved without records: b and a answer.
        let included = cache.answered(inc, outcomes: [Self.outcome(b, records: true, hw: 30), Self.outcome(c, hw: 0),
                                                      Self.outcome(a15, hw: 16)])
        #expect(included == [TopicPartition("t", 1), TopicPartition("t", 0)])

        // Epoch 2 forgets topic u; an error is always answered.
        let next = try cache.plan(sessionId: full.sessionId, epoch: 2, requested: [],
                                  forgotten: [TopicPartition("u", 0)], nowMs: 2).get()
        #expect(next.partitions.map(\.topicPartition) == [a, b].map(\.topicPartition))
        #expect(cache.answered(next, outcomes: [Self.outcome(a15, hw: 16), Self.outcome(b, hw: 30, error: .unknownTopicOrPartition)])
                == [TopicPartition("t", 1)])
    }

    @Test func wrongEpochsAndUnknownSessionsAreRefusedAndTheFinalEpochCloses() throws {
        let cache = FetchSessionCache()
        let id = try cache.plan(sessionId: 0, epoch: 0, requested: [Self.p("t", 0, 0)], forgotten: [], nowMs: 0).get().sessionId
        #expect(cache.plan(sessionId: id, epoch: 2, requested: [], forgotten: [], nowMs: 0) == .failure(.invalidFetchSessionEpoch))
        #expect(cache.plan(sessionId: id &+ 1, epoch: 1, requested: [], forgotten: [], nowMs: 0) == .failure(.fetchSessionIdNotFound))
        #expect(try cache.plan(sessionId: id, epoch: 1, requested: [], forgotten: [], nowMs: 0).get().incremental)
        // Closing answers a sessionless full fetch and forgets the session.
        #expect(try cache.plan(sessionId: id, epoch: -1, requested: [Self.p("t", 0, 3)], forgotten: [], nowMs: 0).get()
                == .init(sessionId: 0, incremental: false, partitions: [Self.p("t", 0, 3)]))
        #expect(cache.plan(sessionId: id, epoch: 2, requested: [], forgotten: [], nowMs: 0) == .failure(.fetchSessionIdNotFound))
    }

    @Test func aFullCacheEvictsIdleThenSmallerSessionsOrServesWithout() throws {
        let cache = FetchSessionCache(maxSessions: 2, evictionMs: 100)
        let one = [Self.p("t", 0, 0)], two = [Self.p("t", 0, 0), Self.p("t", 1, 0)]
        let s1 = try cache.plan(sessionId: 0, epoch: 0, requested: one, forgotten: [], nowMs: 0).get().sessionId
        let s2 = try cache.plan(sessionId: 0, epoch: 0, requested: two, forgotten: [], nowMs: 50).get().sessionId
        // Full, nothing idle, the new one is no bigger than the smallest: no session.
        #expect(try cache.plan(sessionId: 0, epoch: 0, requested: one, forgotten: [], nowMs: 60).get().sessionId == 0)
        // A bigger one evicts the smallest (s1).
        let s3 = try cache.plan(sessionId: 0, epoch: 0, requested: two + [Self.p("t", 2, 0)], forgotten: [], nowMs: 70).get().sessionId
        #expect(s3 != 0)
        #expect(cache.plan(sessionId: s1, epoch: 1, requested: [], forgotten: [], nowMs: 70) == .failure(.fetchSessionIdNotFound))
        // Later, s2 has been idle for the eviction time: it makes room for a small one.
        #expect(try cache.plan(sessionId: 0, epoch: 0, requested: one, forgotten: [], nowMs: 160).get().sessionId != 0)
        #expect(cache.plan(sessionId: s2, epoch: 1, requested: [], forgotten: [], nowMs: 160) == .failure(.fetchSessionIdNotFound))
        #expect(cache.count == 2)
    }
}
