import Foundation
import KafkaProtocol
import WeirStorage

/// The local store follows the cluster: every placed topic exists here with the cluster's topic
/// id and partition count (a partition this broker does not lead is refused by the handlers,
/// not missing), and a topic the cluster no longer has is deleted here — the offsets topic too,
/// whose partitions carry committed offsets.
extension EtcdCluster {
    func syncLocalTopics() async {
        let wanted = state.withLock { s in
            s.topics.keys.compactMap { s.placedTopic($0) }
        }
        let store = self.store
        let logger = self.logger
        do {
            try await io.run {
                let local = Dictionary(uniqueKeysWithValues: store.topics().map { ($0.name, $0) })
                let wantedNames = Set(wanted.map(\.name))
                for record in local.values where !wantedNames.contains(record.name) {
                    try store.deleteTopic(name: record.name)
                    logger.info("deleted local topic (gone from the cluster)", metadata: ["topic": "\(record.name)"])
                }
                for topic in wanted {
                    let count = Int32(topic.partitions.count)
                    if let record = local[topic.name], record.id != topic.id {
                        // Deleted and created again while this broker was away.
                        try store.deleteTopic(name: topic.name)
                        logger.info("deleted local topic (recreated in the cluster)", metadata: ["topic": "\(topic.name)"])
                    } else if let record = local[topic.name] {
                        if record.partitionCount < count { try store.createPartitions(name: topic.name, newTotal: count) }
                        if record.configs != topic.configs { try store.alterTopicConfigs(name: topic.name, topic.configs) }
                        continue
                    }
                    try store.createTopic(name: topic.name, partitions: count, configs: topic.configs, id: topic.id)
                    // Replicated partitions hold their high watermark for the followers from the start.
                    for (p, placement) in topic.partitions.enumerated() where placement.isr.count > 1 {
                        store.partition(TopicPartition(topic.name, Int32(p)))?.setReplicated(true)
                    }
                    logger.info("created local topic", metadata: ["topic": "\(topic.name)", "partitions": "\(count)"])
                }
            }
        } catch is CancellationError {
            return  // shutting down
        } catch {
            logger.error("cannot bring the local topics in line with the cluster", metadata: ["error": "\(error)"])
        }
    }
}
