/// The typed broker settings that request handlers need. Parsed from `server.properties`
/// (Kafka's property names) by WeirServer's `BrokerProperties`; defaults are Kafka's unless noted.
public struct BrokerConfig: Sendable {
    public var nodeId: Int32 = 1
    /// Where clients are told to connect (Metadata, FindCoordinator) when their listener has no
    /// entry in `advertisedListeners` (the first listener's address).
    public var advertisedHost: String = "127.0.0.1"
    public var advertisedPort: Int32 = 9092
    /// `advertised.listeners`, one per listener, in the order of `listeners`: a client is told
    /// the address of the listener it came in on.
    public var advertisedListeners: [AdvertisedListener] = []
    public var clusterId: String = "weir-cluster"
    public var rack: String? = nil

    public var numPartitions: Int32 = 1
    public var defaultReplicationFactor: Int16 = 1
    /// min.insync.replicas (the default of the topic config of that name).
    public var minInSyncReplicas: Int = 1
    public var autoCreateTopics: Bool = true
    public var deleteTopicEnable: Bool = true

    public var messageMaxBytes: Int = 1_048_588
    public var socketRequestMaxBytes: Int = 104_857_600
    public var logAppendTime: Bool = false
    /// log.message.downconversion.enable: Fetch v0–v3 is answered (down-converted) by default.
    public var downConversion: Bool = true

    public var retentionMs: Int64 = 168 * 3_600_000
    public var retentionBytes: Int64 = -1
    public var cleanupPolicy: String = "delete"
    public var retentionCheckIntervalMs: Int64 = 300_000

    public var groupInitialRebalanceDelayMs: Int64 = 3000
    public var groupMinSessionTimeoutMs: Int32 = 6000
    public var groupMaxSessionTimeoutMs: Int32 = 1_800_000
    public var offsetsRetentionMinutes: Int64 = 10_080
    public var offsetsRetentionCheckIntervalMs: Int64 = 600_000
    /// producer.id.expiration.ms: an idempotent producer silent this long is forgotten (1 day).
    public var producerIdExpirationMs: Int64 = 86_400_000
    /// producer.id.expiration.check.interval.ms (10 minutes).
    public var producerIdExpirationCheckIntervalMs: Int64 = 600_000
    /// transaction.max.timeout.ms, transactional.id.expiration.ms.
    public var transactions = TransactionConfig()
    /// transaction.abort.timed.out.transaction.cleanup.interval.ms: how often timed-out
    /// transactions are aborted (and expired ids forgotten).
    public var transactionCleanupIntervalMs: Int64 = 10_000

    /// log.flush.interval.messages: 1 fsyncs the WAL on every append; larger values leave
    /// it to the interval flusher and the OS (Kafka's default: never force).
    public var flushIntervalMessages: Int64 = Int64.max
    /// log.flush.interval.ms: how often the WAL is fsynced in the background; nil = never.
    public var flushIntervalMs: Int64? = nil

    public init() {}

    /// The address to give a client that came in on `listener`.
    public func advertised(for listener: String) -> (host: String, port: Int32) {
        if let l = advertisedListeners.first(where: { $0.name == listener }) { return (l.host, l.port) }
        return (advertisedHost, advertisedPort)
    }

    /// The listeners' names (PLAINTEXT when `advertised.listeners` is not set).
    public var listenerNames: [String] {
        advertisedListeners.isEmpty ? ["PLAINTEXT"] : advertisedListeners.map(\.name)
    }

    /// `advertised.listeners` as Kafka prints it: `NAME://host:port,…`.
    public var advertisedListenersText: String {
        if advertisedListeners.isEmpty { return "PLAINTEXT://\(advertisedHost):\(advertisedPort)" }
        return advertisedListeners.map { l in
            let host = l.host.contains(":") ? "[\(l.host)]" : l.host
            return "\(l.name)://\(host):\(l.port)"
        }.joined(separator: ",")
    }
}

/// One entry of `advertised.listeners`.
public struct AdvertisedListener: Sendable, Equatable {
    public var name: String
    public var host: String
    public var port: Int32

    public init(name: String, host: String, port: Int32) {
        self.name = name
        self.host = host
        self.port = port
    }
}
