import KafkaProtocol
import Logging
import WeirStorage

/// Shared by AlterConfigs and IncrementalAlterConfigs: compute the new explicit set, validate
/// it, store it.
enum TopicConfigUpdate {
    static func apply(store: LogStore, cluster: any ClusterView, broker: BrokerConfig, logger: Logger, resourceType: Int8,
                      topic name: String, validateOnly: Bool,
                      change: ([String: String]) throws -> [String: String]) -> (ErrorCode, String?) {
        guard resourceType == DescribeConfigsHandler.topicResource else {
            return (.invalidRequest, "Weir supports altering topic configs only (resource type 2), not type \(resourceType)")
        }
        guard let topic = store.topic(named: name) else {
            return (.unknownTopicOrPartition, "Topic \(name) does not exist.")
        }
        do {
            let updated = try change(topic.configs)
            if let problem = TopicConfigs.problem(in: updated, broker: broker) { return (.invalidConfig, problem) }
            if validateOnly { return (.none, nil) }
            // On a single broker its store; in a cluster etcd, which every broker's store follows.
            try cluster.alterTopicConfigs(name: name, updated)
            logger.info("altered topic configs", metadata: ["topic": "\(name)", "configs": "\(updated.sorted { $0.key < $1.key })"])
            TopicManager.logWithoutEffect(updated.filter { topic.configs[$0.key] != $0.value }, topic: name, logger: logger)
            return (.none, nil)
        } catch let failure as TopicManager.Failure {
            return (failure.code, failure.message)
        } catch {
            return (.unknownServerError, "\(error)")
        }
    }
}
