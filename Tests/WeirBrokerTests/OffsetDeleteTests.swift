import KafkaProtocol
import NIOCore
import Testing
@testable import WeirBroker
import WeirStorage

/// OffsetDelete through the coordinator: Kafka's rules for unknown, empty and active groups.
@Suite struct OffsetDeleteTests {
    typealias G = GroupTest

    private func makeCoordinator(_ store: LogStore) -> GroupCoordinator {
        GroupCoordinator(config: G.noDelay, offsets: store.offsets, clock: ManualGroupClock(), logger: G.logger,
                         makeMemberId: G.counterIds())
    }

    /// Consumer-protocol metadata subscribing to `topics` (int16 version 0, then the struct).
    private func subscription(_ topics: [String]) -> [GroupProtocol] {
        var bytes = ByteBuffer()
        bytes.writeInteger(Int16(0))
        ConsumerProtocolSubscription(topics: topics).write(to: &bytes, version: 0)
        return [GroupProtocol(name: "range", metadata: bytes)]
    }

    private func commit(_ coordinator: GroupCoordinator, _ group: String, _ offsets: [TopicPartition: Int64]) async {
        let codes = await coordinator.commitOffsets(
            groupId: group, generationId: -1, memberId: "", groupInstanceId: nil,
            offsets: offsets.mapValues { CommittedOffset(offset: $0, commitTimestampMs: 1_000) })
        #expect(codes.values.allSatisfy { $0 == .none })
    }

    @Test func unknownGroupIsNotFound() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = makeCoordinator(store)
        let outcome = await coordinator.deleteOffsets(groupId: "nobody", partitions: [TopicPartition("t", 0)])
        #expect(outcome == OffsetDeleteOutcome(error: .groupIdNotFound, partitions: [:]))
    }

    @Test func emptyGroupLosesTheOffsetsThenIsForgotten() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = makeCoordinator(store)
        let t0 = TopicPartition("t", 0), t1 = TopicPartition("t", 1)
        await commit(coordinator, "idle", [t0: 5, t1: 7])

        #expect(await coordinator.deleteOffsets(groupId: "idle", partitions: [t0])
                == OffsetDeleteOutcome(error: .none, partitions: [t0: .none]))
        #expect(await coordinator.fetchOffsets(groupId: "idle", partitions: nil).offsets.map(\.0) == [t1])
        #expect(await coordinator.listGroups().map(\.groupId) == ["idle"])

        // The last commit goes: the group is forgotten, in memory and on disk.
        #expect(await coordinator.deleteOffsets(groupId: "idle", partitions: [t1]).partitions == [t1: .none])
        #expect(await coordinator.listGroups().isEmpty)
        #expect(try store.offsets.groups().isEmpty)
        #expect(await coordinator.deleteOffsets(groupId: "idle", partitions: [t1]).error == .groupIdNotFound)
    }

    @Test func activeConsumerGroupKeepsSubscribedTopics() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = makeCoordinator(store)
        let joined = await coordinator.join(G.join(client: "a", protocols: subscription(["orders"])))
        #expect(joined.error == .none && joined.generationId == 1)
        _ = await coordinator.sync(G.sync(generation: 1, memberId: joined.memberId))
        let orders = TopicPartition("orders", 0), old = TopicPartition("old", 0)
        let codes = await coordinator.commitOffsets(
            groupId: "g", generationId: 1, memberId: joined.memberId, groupInstanceId: nil,
            offsets: [orders: CommittedOffset(offset: 3, commitTimestampMs: 1_000),
                      old: CommittedOffset(offset: 9, commitTimestampMs: 1_000)])
        #expect(codes == [orders: .none, old: .none])

        let outcome = await coordinator.deleteOffsets(groupId: "g", partitions: [orders, old])
        #expect(outcome == OffsetDeleteOutcome(error: .none, partitions: [orders: .groupSubscribedToTopic, old: .none]))
        #expect(await coordinator.fetchOffsets(groupId: "g", partitions: nil).offsets.map(\.0) == [orders])
        await coordinator.shutdown()
    }

    @Test func activeGroupOfAnotherProtocolTypeIsNotEmpty() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = makeCoordinator(store)
        let joined = await coordinator.join(G.join(client: "a", protocolType: "connect"))
        #expect(joined.error == .none)
        let outcome = await coordinator.deleteOffsets(groupId: "g", partitions: [TopicPartition("t", 0)])
        #expect(outcome == OffsetDeleteOutcome(error: .nonEmptyGroup, partitions: [:]))
        await coordinator.shutdown()
    }

    @Test func unreadableSubscriptionsCountAsSubscribed() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = makeCoordinator(store)
        // G.protocols' metadata is not a consumer subscription.
        let joined = await coordinator.join(G.join(client: "a"))
        _ = await coordinator.sync(G.sync(generation: 1, memberId: joined.memberId))
        let tp = TopicPartition("t", 0)
        #expect(await coordinator.deleteOffsets(groupId: "g", partitions: [tp]).partitions == [tp: .groupSubscribedToTopic])
        await coordinator.shutdown()
    }
}
