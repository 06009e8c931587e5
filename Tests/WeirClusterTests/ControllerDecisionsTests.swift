import Foundation
import Testing
@testable import WeirCluster
import WeirBroker

/// The controller's rules, fed cluster states: placement of new topics and partitions, leader
/// election when a broker goes, the offline partition, unclean election, deleted topics.
@Suite struct ControllerDecisionsTests {
    static let keys = ClusterKeys(root: "/weir")
    let decisions = ControllerDecisions(uncleanLeaderElection: false, offsetsTopic: nil)

    func state(brokers: [Int32], topics: [String: TopicSpec] = [:],
               partitions: [String: [Int32: PartitionState]] = [:]) -> ClusterState {
        var kvs: [EtcdKeyValue] = []
        var rev: Int64 = 1
        func kv(_ key: String, _ value: Data) -> EtcdKeyValue {
            rev += 1
            return EtcdKeyValue(key: key, value: value, createRevision: rev, modRevision: rev, lease: 0)
        }
        for b in brokers {
            kvs.append(kv(Self.keys.broker(b), ClusterJSON.encode(BrokerRegistration(
                id: b, rack: nil, endpoints: ["PLAINTEXT": BrokerEndpoint(host: "127.0.0.1", port: 9091 + b)], incarnation: 1))))
        }
        for (name, spec) in topics { kvs.append(kv(Self.keys.topic(name), ClusterJSON.encode(spec))) }
        for (name, ps) in partitions {
            for (p, s) in ps { kvs.append(kv(Self.keys.partition(name, p), ClusterJSON.encode(s))) }
        }
        return ClusterState(keys: Self.keys, kvs: kvs, revision: rev)
    }

    static func spec(_ partitions: Int32, rf: Int16 = 1) -> TopicSpec {
        TopicSpec(id: String(repeating: "ab", count: 16), partitions: partitions, replicationFactor: rf, configs: [:])
    }

    @Test func aNewTopicIsPlacedOverEveryBrokerLeadersSpread() {
        let s = state(brokers: [1, 2, 3], topics: ["t": Self.spec(6)])
        let actions = decisions.actions(for: s) { "" }
        #expect(actions.count == 1)
        guard case .createPartitions("t", let states) = actions.first else {
            Issue.record("expected a placement, got \(actions)")
            return
        }
        #expect(states.count == 6)
        let leaders = (0..<6).map { states[Int32($0)]!.leader }
        #expect(Dictionary(grouping: leaders, by: { $0 }).mapValues(\.count) == [1: 2, 2: 2, 3: 2])
        for p in states.values {
            #expect(p.replicas == [p.leader] && p.isr == [p.leader] && p.leaderEpoch == 0)
        }
    }

    @Test func replicasOfAPartitionAreDistinctBrokersAndRackAware() {
        let brokers = [ReplicaPlacement.Broker(id: 1, rack: "a"), .init(id: 2, rack: "a"),
                       .init(id: 3, rack: "b"), .init(id: 4, rack: "b")]
        let placed = ReplicaPlacement.assign(brokers: brokers, partitions: 0..<8, replicationFactor: 2, start: 0)
        let rack: [Int32: String] = [1: "a", 2: "a", 3: "b", 4: "b"]
        for (_, replicas) in placed {
            #expect(Set(replicas).count == 2)
            #expect(rack[replicas[0]] != rack[replicas[1]], "replicas \(replicas) share a rack")
        }
        #expect(Set(placed.values.map { $0[0] }) == [1, 2, 3, 4])
    }

    @Test func aTopicWithMoreReplicasThanBrokersWaits() {
        let s = state(brokers: [1], topics: ["t": Self.spec(1, rf: 2)])
        #expect(decisions.actions(for: s) { "" }.isEmpty)
    }

    @Test func aGrownTopicGetsOnlyItsNewPartitions() {
        let existing: [Int32: PartitionState] = [0: .init(leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1], isr: [1])]
        let s = state(brokers: [1, 2], topics: ["t": Self.spec(3)], partitions: ["t": existing])
        guard case .createPartitions("t", let states) = decisions.actions(for: s, newTopicId: { "" }).first else {
            Issue.record("expected a placement")
            return
        }
        #expect(states.keys.sorted() == [1, 2])
    }

    @Test func aDeadLeadersPartitionGoesOfflineAndComesBackWithIt() {
        let p0 = PartitionState(leader: 2, leaderEpoch: 4, partitionEpoch: 7, replicas: [2], isr: [2])
        let gone = state(brokers: [1, 3], topics: ["t": Self.spec(1)], partitions: ["t": [0: p0]])
        let actions = decisions.actions(for: gone) { "" }
        guard case .updatePartition("t", 0, let next, let rev) = actions.first else {
            Issue.record("expected an update, got \(actions)")
            return
        }
        #expect(next == PartitionState(leader: -1, leaderEpoch: 5, partitionEpoch: 8, replicas: [2], isr: [2]))
        #expect(rev == gone.partitions["t"]![0]!.modRevision)

        let back = state(brokers: [1, 2, 3], topics: ["t": Self.spec(1)], partitions: ["t": [0: next]])
        guard case .updatePartition("t", 0, let again, _) = decisions.actions(for: back, newTopicId: { "" }).first else {
            Issue.record("expected the leader back")
            return
        }
        #expect(again == PartitionState(leader: 2, leaderEpoch: 6, partitionEpoch: 9, replicas: [2], isr: [2]))
        // Offline and still no replica: nothing to write.
        #expect(decisions.actions(for: state(brokers: [1], topics: ["t": Self.spec(1)], partitions: ["t": [0: next]])) { "" }.isEmpty)
    }

    @Test func aNewLeaderComesFromTheISRInReplicaOrder() {
        let p0 = PartitionState(leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1, 2, 3], isr: [1, 3])
        let s = state(brokers: [2, 3], topics: ["t": Self.spec(1, rf: 3)], partitions: ["t": [0: p0]])
        guard case .updatePartition(_, _, let next, _) = decisions.actions(for: s, newTopicId: { "" }).first else {
            Issue.record("expected an election")
            return
        }
        // 2 is live but not in sync: 3 leads, and the ISR loses the dead 1.
        #expect(next.leader == 3 && next.isr == [3] && next.leaderEpoch == 1)
    }

    @Test func uncleanElectionPicksALiveReplicaOutsideTheISR() {
        let p0 = PartitionState(leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1, 2], isr: [1])
        let s = state(brokers: [2], topics: ["t": Self.spec(1, rf: 2)], partitions: ["t": [0: p0]])
        let clean = decisions.actions(for: s) { "" }
        guard case .updatePartition(_, _, let offline, _) = clean.first else { Issue.record("expected offline"); return }
        #expect(offline.leader == -1)
        let unclean = ControllerDecisions(uncleanLeaderElection: true, offsetsTopic: nil).actions(for: s) { "" }
        guard case .updatePartition(_, _, let next, _) = unclean.first else { Issue.record("expected an election"); return }
        #expect(next.leader == 2 && next.isr == [2])
    }

    @Test func aDeletedTopicsPartitionsAreDeletedAndTheOffsetsTopicCreated() {
        let p0 = PartitionState(leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1], isr: [1])
        let s = state(brokers: [1], partitions: ["gone": [0: p0]])
        let withOffsets = ControllerDecisions(uncleanLeaderElection: false, offsetsTopic: ("__consumer_offsets", 5, 1))
        let actions = withOffsets.actions(for: s) { "00112233445566778899aabbccddeeff" }
        #expect(actions.contains(.deletePartitions(topic: "gone")))
        #expect(actions.contains(.createTopic(name: "__consumer_offsets",
                                              spec: TopicSpec(id: "00112233445566778899aabbccddeeff", partitions: 5,
                                                              replicationFactor: 1, configs: ["cleanup.policy": "compact"]))))
        // Kafka's rule: not before offsets.topic.replication.factor brokers are live.
        let waiting = ControllerDecisions(uncleanLeaderElection: false, offsetsTopic: ("__consumer_offsets", 5, 3))
        #expect(!waiting.actions(for: s) { "" }.contains { if case .createTopic = $0 { true } else { false } })
    }
}
