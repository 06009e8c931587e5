/// What the controller must write to etcd to bring the cluster's partition state in line with
/// its topics and live brokers: a pure function of a `ClusterState`, so every rule is tested
/// by feeding states. The controller (`EtcdCluster`) writes each action as a compare-and-swap
/// on the revision it was decided from; a failed swap means the state moved, and the next
/// round decides again from the new state.
public enum ControllerAction: Sendable, Equatable {
    /// Create these partitions' states (each key must be absent).
    case createPartitions(topic: String, states: [Int32: PartitionState])
    /// Replace a partition's state read at `revision`.
    case updatePartition(topic: String, partition: Int32, state: PartitionState, revision: Int64)
    /// A deleted topic's partition states.
    case deletePartitions(topic: String)
    /// Create an internal topic the cluster needs (the offsets topic that places coordinators).
    case createTopic(name: String, spec: TopicSpec)
}

public struct ControllerDecisions: Sendable {
    public var uncleanLeaderElection: Bool
    /// The offsets topic (group coordinators, committed offsets) to create when absent and
    /// `replicationFactor` brokers are live, as Kafka waits for them; nil: none.
    public var offsetsTopic: (name: String, partitions: Int32, replicationFactor: Int16)?

    public init(uncleanLeaderElection: Bool, offsetsTopic: (name: String, partitions: Int32, replicationFactor: Int16)?) {
        self.uncleanLeaderElection = uncleanLeaderElection
        self.offsetsTopic = offsetsTopic
    }

    public func actions(for state: ClusterState, newTopicId: () -> String) -> [ControllerAction] {
        var actions: [ControllerAction] = []
        let live = Set(state.brokers.keys)
        let brokers = state.brokers.values.map { ReplicaPlacement.Broker(id: $0.value.id, rack: $0.value.rack) }

        if let offsets = offsetsTopic, state.topics[offsets.name] == nil, brokers.count >= Int(offsets.replicationFactor) {
            actions.append(.createTopic(name: offsets.name,
                                        spec: TopicSpec(id: newTopicId(), partitions: offsets.partitions,
                                                        replicationFactor: offsets.replicationFactor,
                                                        configs: ["cleanup.policy": "compact"])))
        }

        for (name, spec) in state.topics.sorted(by: { $0.key < $1.key }) {
            let existing = state.partitions[name] ?? [:]
            let missing = (0..<spec.value.partitions).filter { existing[$0] == nil }
            guard !missing.isEmpty, Int(spec.value.replicationFactor) <= brokers.count else { continue }
            // New partitions of a grown topic continue the round where the first ones stopped.
            let start = Int(ReplicaPlacement.javaHash(name) & 0x7fff_ffff)
            let replicas = ReplicaPlacement.assign(brokers: brokers, partitions: missing.first!..<(missing.last! + 1),
                                                   replicationFactor: Int(spec.value.replicationFactor), start: start)
            var states: [Int32: PartitionState] = [:]
            for p in missing {
                guard let r = replicas[p] else { continue }
                states[p] = PartitionState(leader: r[0], leaderEpoch: 0, partitionEpoch: 0, replicas: r, isr: r)
            }
            if !states.isEmpty { actions.append(.createPartitions(topic: name, states: states)) }
        }

        for (name, partitions) in state.partitions.sorted(by: { $0.key < $1.key }) {
            guard state.topics[name] != nil else {
                actions.append(.deletePartitions(topic: name))
                continue
            }
            for (p, versioned) in partitions.sorted(by: { $0.key < $1.key }) {
                if let next = elect(versioned.value, live: live) {
                    actions.append(.updatePartition(topic: name, partition: p, state: next, revision: versioned.modRevision))
                }
            }
        }
        return actions
    }

    /// The partition's next state when its leader or ISR must change; nil when it need not.
    ///
    /// Kafka's rules: a leader that is gone is replaced by the first live replica (in replica
    /// order) that is in the ISR, and the ISR loses the dead brokers; with none, the partition
    /// goes offline (leader -1) keeping its ISR, so the last in-sync replica leads again when it
    /// returns — or, with unclean election, any live replica leads (and may lack acknowledged
    /// records). A live leader keeps leading; dead followers leave the ISR.
    func elect(_ s: PartitionState, live: Set<Int32>) -> PartitionState? {
        var next = s
        if s.leader >= 0 && live.contains(s.leader) {
            let isr = s.isr.filter { live.contains($0) }
            guard isr != s.isr else { return nil }
            next.isr = isr
            next.partitionEpoch += 1
            return next
        }
        let liveIsr = s.isr.filter { live.contains($0) }
        if let leader = s.replicas.first(where: { liveIsr.contains($0) }) {
            next.leader = leader
            next.isr = liveIsr
        } else if uncleanLeaderElection, let leader = s.replicas.first(where: { live.contains($0) }) {
            next.leader = leader
            next.isr = [leader]
        } else if s.leader != -1 {
            next.leader = -1
        } else {
            return nil
        }
        next.leaderEpoch += 1
        next.partitionEpoch += 1
        return next
    }
}
