import WeirBroker

/// How this broker takes part in a cluster (from the broker properties).
public struct ClusterSettings: Sendable {
    /// etcd members (`etcd.connect`).
    public var etcd: [EtcdEndpoint]
    /// Where the cluster's keys live in etcd (the chroot of `etcd.connect`, default `/weir`).
    public var keys: ClusterKeys
    public var nodeId: Int32
    public var rack: String?
    public var clusterId: String
    /// Listener name → advertised address, as registered for clients and other brokers.
    public var endpoints: [String: BrokerEndpoint]
    /// `broker.session.timeout.ms`: a broker that has not renewed its lease for this long is gone.
    public var sessionTimeoutMs: Int64
    /// `unclean.leader.election.enable`.
    public var uncleanLeaderElection: Bool
    /// `offsets.topic.num.partitions`: the partitions that place group coordinators.
    public var offsetsTopicPartitions: Int32
    /// `offsets.topic.replication.factor`: the offsets topic is created once this many brokers are live.
    public var offsetsTopicReplicationFactor: Int16 = 3
    /// `replica.lag.time.max.ms`: a follower not caught up for this long leaves the ISR.
    public var replicaLagTimeMaxMs: Int64 = 30_000
    /// `min.insync.replicas`: the broker's default of the topic config.
    public var minInSyncReplicas: Int = 1

    public init(etcd: [EtcdEndpoint], keys: ClusterKeys, nodeId: Int32, rack: String?, clusterId: String,
                endpoints: [String: BrokerEndpoint], sessionTimeoutMs: Int64 = 9_000,
                uncleanLeaderElection: Bool = false, offsetsTopicPartitions: Int32 = 50) {
        self.etcd = etcd
        self.keys = keys
        self.nodeId = nodeId
        self.rack = rack
        self.clusterId = clusterId
        self.endpoints = endpoints
        self.sessionTimeoutMs = sessionTimeoutMs
        self.uncleanLeaderElection = uncleanLeaderElection
        self.offsetsTopicPartitions = offsetsTopicPartitions
    }

    /// Kafka's name for the topic whose partitions' leaders coordinate groups.
    public static let offsetsTopic = "__consumer_offsets"

    /// The offsets partition of a group (Kafka's: the Java hash of its id, mod the partitions).
    static func offsetsPartition(of group: String, partitions: Int32) -> Int32 {
        Int32((Int64(ReplicaPlacement.javaHash(group)) & 0x7fff_ffff) % Int64(partitions))
    }

    /// The lease's TTL in whole seconds (etcd's unit), at least the session timeout.
    var leaseTTLSeconds: Int64 { max(2, (sessionTimeoutMs + 999) / 1000) }
    /// How often the lease is renewed: three times per session timeout, as Kafka's heartbeats.
    var renewIntervalMs: Int64 { max(200, sessionTimeoutMs / 3) }
    /// After this long without a renewal the broker stops acting as a leader. Shorter than the
    /// lease's TTL by one renewal interval, so the broker has stopped before etcd lets the
    /// controller elect another leader: two leaders can never both take writes.
    var fenceAfterMs: Int64 { sessionTimeoutMs - renewIntervalMs }
}
