import Foundation
import KafkaProtocol
import WeirBroker
import WeirStorage

/// Replication's part of reconciliation: the leader-side bookkeeping follows the partitions'
/// states, one fetcher runs per leader this broker follows, and leaders propose ISR changes.
extension EtcdCluster {
    /// This broker's replicas (partitions that list it), by partition.
    func localPlacements() -> [TopicPartition: PartitionPlacement] {
        let me = settings.nodeId
        return state.withLock { s in
            var out: [TopicPartition: PartitionPlacement] = [:]
            for (topic, partitions) in s.partitions {
                for (p, v) in partitions where v.value.replicas.contains(me) {
                    out[TopicPartition(topic, p)] = v.value.placement
                }
            }
            return out
        }
    }

    func applyReplication() {
        let placements = localPlacements()
        replicas.apply(placements)
        loadOffsetsPartitions(placements)
        let me = settings.nodeId
        let leaders = Set(placements.values.filter { $0.leader >= 0 && $0.leader != me }.map(\.leader))
        fetchers.withLock { running in
            for (leader, task) in running where !leaders.contains(leader) {
                task.cancel()
                running[leader] = nil
            }
            for leader in leaders where running[leader] == nil {
                let fetcher = ReplicaFetcher(nodeId: me, leader: leader, store: store, logger: logger) { [weak self] in
                    guard let self else { return (nil, []) }
                    return self.fetchPlan(leader: leader)
                }
                running[leader] = Task { await fetcher.run() }
                logger.info("following a leader", metadata: ["leader": "\(leader)"])
            }
        }
    }

    /// The leader's address (for this broker's first listener's name) and what to copy from it.
    func fetchPlan(leader: Int32) -> (BrokerEndpoint?, [ReplicaFetcher.Target]) {
        let listener = settings.endpoints.keys.sorted().first ?? "PLAINTEXT"
        let me = settings.nodeId
        return state.withLock { s in
            let endpoint = s.brokers[leader].flatMap { b in b.value.endpoints[listener] ?? b.value.endpoints.values.first }
            var targets: [ReplicaFetcher.Target] = []
            for (topic, partitions) in s.partitions {
                for (p, v) in partitions where v.value.leader == leader && v.value.replicas.contains(me) {
                    targets.append(.init(tp: TopicPartition(topic, p), leaderEpoch: v.value.leaderEpoch))
                }
            }
            return (endpoint, targets)
        }
    }

    /// The `__consumer_offsets` partitions this broker now leads: their commits are loaded into
    /// the local store before it coordinates their groups; those it no longer leads are forgotten.
    func loadOffsetsPartitions(_ placements: [TopicPartition: PartitionPlacement]) {
        let me = settings.nodeId
        var led: [Int32: Int32] = [:]
        for (tp, p) in placements where tp.topic == ClusterSettings.offsetsTopic && p.leader == me { led[tp.partition] = p.leaderEpoch }
        offsetEpochs.set(led)
        let toLoad = loadedOffsets.withLock { loaded -> [Int32] in
            loaded = loaded.filter { led[$0.key] == $0.value }
            return led.filter { loaded[$0.key] != $0.value }.map(\.key)
        }
        for p in toLoad.sorted() {
            do {
                let count = try offsets.load(partition: p)
                loadedOffsets.withLock { $0[p] = led[p] }
                if count > 0 {
                    logger.info("loaded committed offsets", metadata: ["partition": "\(p)", "commits": "\(count)"])
                }
            } catch {
                logger.error("cannot load committed offsets", metadata: ["partition": "\(p)", "error": "\(error)"])
            }
        }
    }

    /// Every second: the ISR changes this broker's leaderships need, each written as a
    /// compare-and-swap on the partition's state (it fails if the controller changed it first).
    func isrLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard !isFenced() else {
                replicas.releaseAll(with: .notLeaderOrFollower)
                continue
            }
            let live = Set(state.withLock { $0.brokers.keys })
            for (tp, isr) in replicas.proposedISRChanges(live: live) {
                let key = settings.keys.partition(tp.topic, tp.partition)
                guard let current = state.withLock({ $0.partitions[tp.topic]?[tp.partition] }),
                      current.value.leader == settings.nodeId else { continue }
                var next = current.value
                next.isr = isr
                next.partitionEpoch += 1
                do {
                    if try await etcd.transaction([.modRevision(key, current.modRevision)],
                                                  then: [.put(key, ClusterJSON.encode(next), lease: 0)]) {
                        logger.info(isr.count < current.value.isr.count ? "ISR shrank" : "ISR expanded", metadata: [
                            "topic": "\(tp.topic)", "partition": "\(tp.partition)", "isr": "\(isr)"])
                    }
                } catch {
                    logger.warning("cannot write the ISR", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
