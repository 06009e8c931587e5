import KafkaProtocol
import WeirStorage

/// The cluster of one: this broker is every broker, the controller, every partition's only
/// replica and every coordinator; topics live in its store's catalog. What Weir is without
/// `etcd.connect`.
public struct SingleBrokerCluster: ClusterView {
    let config: BrokerConfig
    let topicManager: TopicManager
    let io: IOPool

    public init(config: BrokerConfig, topics: TopicManager, io: IOPool) {
        self.config = config
        self.topicManager = topics
        self.io = io
    }

    public var localNodeId: Int32 { config.nodeId }
    public var isClustered: Bool { false }
    public var replication: (any ReplicationHooks)? { nil }

    public func brokers() -> [ClusterBroker] {
        var endpoints: [String: BrokerEndpoint] = [:]
        for name in config.listenerNames {
            let a = config.advertised(for: name)
            endpoints[name] = BrokerEndpoint(host: a.host, port: a.port)
        }
        return [ClusterBroker(id: config.nodeId, rack: config.rack, endpoints: endpoints)]
    }

    public func controllerId() -> Int32 { config.nodeId }
    public func topics() -> [ClusterTopic]? { nil }

    public func placement(topic: String, partition: Int32) -> PartitionPlacement? {
        let node = config.nodeId
        return PartitionPlacement(leader: node, leaderEpoch: 0, replicas: [node], isr: [node])
    }

    public func coordinator(for key: String, transaction: Bool) -> Int32 { config.nodeId }

    public func createTopic(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String],
                            validateOnly: Bool) async throws -> ClusterTopicCreated {
        let manager = topicManager
        return try await io.run {
            if validateOnly {
                let (p, rf) = try manager.checkCreate(name: name, partitions: partitions, replicationFactor: replicationFactor,
                                                      configs: configs)
                return ClusterTopicCreated(id: .zero, partitions: p, replicationFactor: rf)
            }
            let record = try manager.create(name: name, partitions: partitions, replicationFactor: replicationFactor,
                                            configs: configs)
            return ClusterTopicCreated(id: record.id, partitions: record.partitionCount, replicationFactor: 1)
        }
    }

    public func createPartitions(name: String, newTotal: Int32) throws {
        try topicManager.store.createPartitions(name: name, newTotal: newTotal)
    }

    public func alterTopicConfigs(name: String, _ configs: [String: String]) throws {
        try topicManager.store.alterTopicConfigs(name: name, configs)
    }

    public func deleteTopic(name: String) async throws {
        let manager = topicManager
        try await io.run { try manager.delete(name: name) }
    }
}
