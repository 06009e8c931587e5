import KafkaProtocol
import WeirStorage

/// A live broker as clients see it: its id, rack, and the advertised address of each listener.
public struct ClusterBroker: Sendable, Equatable, Codable {
    public var id: Int32
    public var rack: String?
    /// Listener name → advertised host and port.
    public var endpoints: [String: BrokerEndpoint]

    public init(id: Int32, rack: String?, endpoints: [String: BrokerEndpoint]) {
        self.id = id
        self.rack = rack
        self.endpoints = endpoints
    }

    /// The address for a client that came in on `listener`; the first listener's (by name)
    /// when this broker has no listener of that name.
    public func endpoint(for listener: String) -> BrokerEndpoint? {
        endpoints[listener] ?? endpoints.sorted { $0.key < $1.key }.first?.value
    }
}

public struct BrokerEndpoint: Sendable, Equatable, Codable {
    public var host: String
    public var port: Int32
    public init(host: String, port: Int32) { self.host = host; self.port = port }
}

/// Where a partition lives: its leader (-1 when offline), leader epoch, replicas and ISR.
public struct PartitionPlacement: Sendable, Equatable, Codable {
    public var leader: Int32
    public var leaderEpoch: Int32
    public var replicas: [Int32]
    public var isr: [Int32]

    public init(leader: Int32, leaderEpoch: Int32, replicas: [Int32], isr: [Int32]) {
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.replicas = replicas
        self.isr = isr
    }
}

/// A topic as the cluster knows it.
public struct ClusterTopic: Sendable, Equatable {
    public var name: String
    public var id: KafkaUUID
    public var partitions: [PartitionPlacement]
    public var configs: [String: String]

    public init(name: String, id: KafkaUUID, partitions: [PartitionPlacement], configs: [String: String]) {
        self.name = name
        self.id = id
        self.partitions = partitions
        self.configs = configs
    }
}

/// What the handlers need to know of the cluster, and the topic changes that go through it.
///
/// A single broker (`SingleBrokerCluster`) answers "this broker" to everything and creates
/// topics in its own store, exactly as before clustering existed. A cluster member (WeirCluster's
/// `EtcdCluster`) answers from its copy of etcd's state, kept current by a watch, and sends
/// topic changes through etcd for the controller to carry out.
///
/// Implementer's notes: the read methods are called on event loops for every request, so they
/// answer from memory without blocking.
public protocol ClusterView: Sendable {
    /// This broker's node id.
    var localNodeId: Int32 { get }
    /// True for a member of a multi-broker cluster (metadata in etcd).
    var isClustered: Bool { get }
    /// The live brokers, by id.
    func brokers() -> [ClusterBroker]
    /// The controller's node id, -1 when none is elected.
    func controllerId() -> Int32
    /// The cluster's topics; nil for a single broker, whose store's catalog is the truth.
    func topics() -> [ClusterTopic]?
    /// Where `partition` of `topic` lives; nil when the cluster does not know it.
    func placement(topic: String, partition: Int32) -> PartitionPlacement?
    /// The broker that coordinates `key` (a group id, or a transactional id for `transaction`),
    /// -1 when none is available now.
    func coordinator(for key: String, transaction: Bool) -> Int32

    /// Creates a topic; throws `TopicManager.Failure` with Kafka's error code.
    func createTopic(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String],
                     validateOnly: Bool) async throws -> ClusterTopicCreated
    /// Deletes a topic; throws `TopicManager.Failure`.
    func deleteTopic(name: String) async throws
    /// Grows a topic to `newTotal` partitions, returning once they can be used. Blocks: call it
    /// on the I/O pool. Throws `TopicManager.Failure`.
    func createPartitions(name: String, newTotal: Int32) throws
    /// Replaces a topic's explicit configs, returning once this broker's store has them. Blocks:
    /// call it on the I/O pool.
    func alterTopicConfigs(name: String, _ configs: [String: String]) throws
    /// Replication between brokers; nil on a single broker.
    var replication: (any ReplicationHooks)? { get }
}

/// What CreateTopics reports for a created topic.
public struct ClusterTopicCreated: Sendable {
    public var id: KafkaUUID
    public var partitions: Int32
    public var replicationFactor: Int16
    public init(id: KafkaUUID, partitions: Int32, replicationFactor: Int16) {
        self.id = id
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}

extension ClusterView {
    /// True when this broker leads the partition (always, on a single broker).
    @inline(__always)
    public func leads(topic: String, partition: Int32) -> Bool {
        guard isClustered else { return true }
        return placement(topic: topic, partition: partition)?.leader == localNodeId
    }
}

extension Optional where Wrapped == any ClusterView {
    /// False when a cluster places the group's coordinator on another broker (the handler then
    /// answers NOT_COORDINATOR, and the client asks FindCoordinator again).
    func coordinates(group: String) -> Bool {
        guard case .some(let cluster) = self, cluster.isClustered else { return true }
        return cluster.coordinator(for: group, transaction: false) == cluster.localNodeId
    }
}

/// Replication's hooks into Produce and Fetch (a cluster's partitions with more than one
/// replica). Called on the I/O pool or in handler tasks; never blocks.
public protocol ReplicationHooks: Sendable {
    /// A follower's Fetch read the leader's log from `fetchOffset` (the follower's log end).
    func followerFetched(_ tp: TopicPartition, replica: Int32, fetchOffset: Int64)
    /// Before an acks=all append: NOT_ENOUGH_REPLICAS when the ISR is smaller than the topic's
    /// `min.insync.replicas`; nil to go ahead.
    func refuseAcksAll(_ tp: TopicPartition, minInSyncReplicas: Int) -> ErrorCode?
    /// After an acks=all append: waits until the high watermark passes `lastOffset` (every
    /// in-sync replica has the batch). REQUEST_TIMED_OUT after `timeoutMs`;
    /// NOT_LEADER_OR_FOLLOWER when leadership moved meanwhile.
    func awaitReplicated(_ tp: TopicPartition, lastOffset: Int64, timeoutMs: Int64) async -> ErrorCode
    /// After an OffsetCommit: waits until the group's `__consumer_offsets` partition has the
    /// commit on every in-sync replica.
    func awaitOffsetsReplicated(group: String, timeoutMs: Int64) async -> ErrorCode
}
