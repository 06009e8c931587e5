import WeirBroker
import WeirCluster

/// The cluster's properties: `etcd.connect` makes the broker a member of the cluster whose
/// metadata that etcd holds; without it the broker is a cluster of one, as always.
///
/// Settings that exist only in a cluster are refused without `etcd.connect`, and settings a
/// cluster cannot honour yet (replication between brokers, shared security state) are refused
/// with it, naming what is missing.
public struct ClusterProperties: Sendable, Equatable {
    public var etcd: [EtcdEndpoint] = []
    /// The key prefix after the endpoints (`HOST:PORT/weir-prod`), `/weir` by default.
    public var root = "/weir"
    public var sessionTimeoutMs: Int64 = 9_000
    public var uncleanLeaderElection = false
    public var offsetsTopicPartitions: Int32 = 50
    public var replicaLagTimeMaxMs: Int64 = 30_000
    public var offsetsTopicReplicationFactor: Int16 = 3
    /// `min.insync.replicas` (also the topic config's default; on a single broker it has no effect).
    public var minInSyncReplicas = 1
    /// Keys set, to refuse cluster-only ones without `etcd.connect`.
    var explicit: Set<String> = []

    public init() {}

    public var enabled: Bool { !etcd.isEmpty }

    static let setters: [String: @Sendable (inout ClusterProperties, String) throws -> Void] = [
        "etcd.connect": { p, v in
            p.explicit.insert("etcd.connect")
            if v.isEmpty { p.etcd = []; return }
            var endpoints = Substring(v)
            if let slash = v.firstIndex(of: "/") {
                p.root = String(v[slash...])
                endpoints = v[..<slash]
            }
            p.etcd = try endpoints.split(separator: ",").map { entry in
                guard let colon = entry.lastIndex(of: ":"), let port = Int(entry[entry.index(after: colon)...]),
                      (1...65_535).contains(port), colon > entry.startIndex else {
                    throw BrokerProperties.Invalid(description: "etcd.connect: '\(entry)' is not HOST:PORT")
                }
                return EtcdEndpoint(host: String(entry[..<colon]), port: port)
            }
        },
        "broker.session.timeout.ms": { p, v in
            p.explicit.insert("broker.session.timeout.ms")
            guard let ms = Int64(v), ms >= 2_000 else {
                throw BrokerProperties.Invalid(description: "broker.session.timeout.ms must be an integer of at least 2000, not '\(v)'")
            }
            p.sessionTimeoutMs = ms
        },
        "unclean.leader.election.enable": { p, v in
            p.explicit.insert("unclean.leader.election.enable")
            guard v == "true" || v == "false" else {
                throw BrokerProperties.Invalid(description: "unclean.leader.election.enable must be true or false, not '\(v)'")
            }
            p.uncleanLeaderElection = v == "true"
        },
        "offsets.topic.num.partitions": { p, v in
            p.explicit.insert("offsets.topic.num.partitions")
            guard let n = Int32(v), n > 0 else {
                throw BrokerProperties.Invalid(description: "offsets.topic.num.partitions must be a positive integer, not '\(v)'")
            }
            p.offsetsTopicPartitions = n
        },
        "min.insync.replicas": { p, v in
            guard let n = Int(v), n > 0 else {
                throw BrokerProperties.Invalid(description: "min.insync.replicas must be a positive integer, not '\(v)'")
            }
            p.minInSyncReplicas = n
            // Above 1 it refuses acks=all writes that too few replicas have: a cluster's matter.
            if n > 1 { p.explicit.insert("min.insync.replicas") } else { p.explicit.remove("min.insync.replicas") }
        },
        "offsets.topic.replication.factor": { p, v in
            p.explicit.insert("offsets.topic.replication.factor")
            guard let n = Int16(v), n > 0 else {
                throw BrokerProperties.Invalid(description: "offsets.topic.replication.factor must be a positive integer, not '\(v)'")
            }
            p.offsetsTopicReplicationFactor = n
        },
        "replica.lag.time.max.ms": { p, v in
            p.explicit.insert("replica.lag.time.max.ms")
            guard let ms = Int64(v), ms > 0 else {
                throw BrokerProperties.Invalid(description: "replica.lag.time.max.ms must be a positive integer, not '\(v)'")
            }
            p.replicaLagTimeMaxMs = ms
        },
    ]

    /// Refuses what cannot work together; called once every property is read.
    func validate(_ p: BrokerProperties) throws {
        guard enabled else {
            let clusterOnly = explicit.subtracting(["etcd.connect"]).sorted()
            if let key = clusterOnly.first {
                throw BrokerProperties.Invalid(description: "\(key) needs etcd.connect (it configures a cluster)")
            }
            return
        }
        if p.authorization.enabled {
            throw BrokerProperties.Invalid(description: "authorizer.class.name with etcd.connect: ACLs are not shared between the brokers of a Weir cluster yet")
        }
        if p.listeners.contains(where: { $0.securityProtocol.usesSASL }) {
            throw BrokerProperties.Invalid(description: "a SASL listener with etcd.connect: SCRAM credentials are not shared between the brokers of a Weir cluster yet")
        }
    }

    /// The settings of this broker as a cluster member.
    func settings(for p: BrokerProperties) -> ClusterSettings {
        var endpoints: [String: BrokerEndpoint] = [:]
        for name in p.broker.listenerNames {
            let a = p.broker.advertised(for: name)
            endpoints[name] = BrokerEndpoint(host: a.host, port: a.port)
        }
        var settings = ClusterSettings(etcd: etcd, keys: ClusterKeys(root: root), nodeId: p.broker.nodeId, rack: p.broker.rack,
                                       clusterId: p.broker.clusterId, endpoints: endpoints, sessionTimeoutMs: sessionTimeoutMs,
                                       uncleanLeaderElection: uncleanLeaderElection, offsetsTopicPartitions: offsetsTopicPartitions)
        settings.replicaLagTimeMaxMs = replicaLagTimeMaxMs
        settings.offsetsTopicReplicationFactor = offsetsTopicReplicationFactor
        settings.minInSyncReplicas = minInSyncReplicas
        return settings
    }
}
