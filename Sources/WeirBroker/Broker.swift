import KafkaProtocol
import Logging
import NIOPosix
import WeirStorage

/// The composition root of the request handlers: it owns the broker-wide objects (settings, the
/// log store, the group coordinator, fetch waiters, the I/O pool, the clock) and hands each
/// handler only the ones it uses, so a handler's initializer shows its reach and a test builds
/// only that. No handler holds a `Broker`.
public final class Broker: Sendable {
    public let config: BrokerConfig
    public let store: LogStore
    public let topics: TopicManager
    public let groups: GroupCoordinator
    public let appendWaiters = AppendWaiters()
    public let fetchSessions = FetchSessionCache()
    public let storageHealth: StorageHealth
    /// The transaction coordinator (transactional ids, markers, timeouts).
    public let transactions: TransactionCoordinator
    /// Records and bytes produced and fetched (the admin console's rates).
    public let traffic = TrafficCounters()
    /// RocksDB calls run here, never on an event loop.
    public let io: IOPool
    public let clock: WallClock
    public let logger: Logger
    /// SCRAM credentials (and, for a cluster, the rest of the shared security state).
    public let metadata: any MetadataStore
    /// ACL decisions for every handler (`.allowAll` without `authorizer.class.name`).
    public let authorizer: Authorizer
    /// Brokers, partition leaders, coordinators: this broker alone, or a cluster's view (etcd).
    public let cluster: any ClusterView

    /// Throws when the transaction coordinator's state cannot be read, or an interrupted
    /// transaction cannot be completed (a storage failure).
    public init(config: BrokerConfig, store: LogStore, groups: GroupCoordinator, io: NIOThreadPool,
                metadata: any MetadataStore = InMemoryMetadataStore(), authorizer: Authorizer = .allowAll,
                clock: WallClock = .system, logger: Logger,
                cluster makeCluster: (@Sendable (TopicManager, IOPool) -> any ClusterView)? = nil) throws {
        self.config = config
        self.metadata = metadata
        self.authorizer = authorizer
        self.store = store
        self.topics = TopicManager(store: store, config: config, logger: logger)
        self.groups = groups
        self.io = IOPool(io)
        self.clock = clock
        self.logger = logger
        let topics = self.topics, pool = self.io
        self.cluster = makeCluster?(topics, pool) ?? SingleBrokerCluster(config: config, topics: topics, io: pool)
        self.storageHealth = StorageHealth(logger: logger, dataDirectory: store.directory,
                                           minFreeBytes: Int64(store.options.totalWriteBufferBytes) * 3 / 2)
        let waiters = appendWaiters
        self.transactions = try TransactionCoordinator(store: store, config: config.transactions, logger: logger,
                                                       onMarker: { waiters.appended($0) })
    }

    /// Every API Weir serves. ApiVersions advertises exactly this table.
    public func makeRegistry() -> HandlerRegistry {
        let (config, store, topics, groups, io, clock, logger, metadata) = (config, store, topics, groups, io, clock, logger, metadata)
        let auth = authorizer
        let cluster = self.cluster
        // The leader and coordinator checks cost nothing on a single broker: they are left out.
        let clustered: (any ClusterView)? = cluster.isClustered ? cluster : nil
        var r = HandlerRegistry()
        let transactions = self.transactions
        r.register(ProduceHandler(store: store, topics: topics, waiters: appendWaiters, io: io, clock: clock,
                                  health: storageHealth, transactions: transactions, logger: logger,
                                  fsyncEachAppend: config.flushIntervalMessages == 1, traffic: traffic, authorizer: auth,
                                  cluster: clustered))
        r.register(FetchHandler(store: store, topics: topics, waiters: appendWaiters, sessions: fetchSessions, io: io, clock: clock,
                                traffic: traffic, authorizer: auth, cluster: clustered))
        r.register(ListOffsetsHandler(store: store, io: io, authorizer: auth, cluster: clustered))
        r.register(MetadataHandler(config: config, store: store, topics: topics, io: io, authorizer: auth, cluster: cluster))
        r.register(OffsetCommitHandler(store: store, groups: groups, clock: clock, authorizer: auth, cluster: clustered))
        r.register(OffsetFetchHandler(groups: groups, transactions: transactions, authorizer: auth, cluster: clustered))
        r.register(FindCoordinatorHandler(config: config, authorizer: auth, cluster: cluster))
        r.register(JoinGroupHandler(groups: groups, authorizer: auth, cluster: clustered))
        r.register(HeartbeatHandler(groups: groups, authorizer: auth, cluster: clustered))
        r.register(LeaveGroupHandler(groups: groups, authorizer: auth, cluster: clustered))
        r.register(SyncGroupHandler(groups: groups, authorizer: auth, cluster: clustered))
        r.register(DescribeGroupsHandler(groups: groups, authorizer: auth))
        r.register(ListGroupsHandler(groups: groups, authorizer: auth))
        r.register(DeleteGroupsHandler(groups: groups, authorizer: auth))
        r.register(OffsetDeleteHandler(store: store, groups: groups, authorizer: auth))
        r.register(CreateTopicsHandler(config: config, topics: topics, io: io, authorizer: auth, cluster: clustered))
        r.register(DeleteTopicsHandler(store: store, cluster: cluster, authorizer: auth))
        r.register(DescribeConfigsHandler(config: config, store: store, authorizer: auth))
        r.register(DescribeClusterHandler(config: config, cluster: cluster))
        r.register(CreatePartitionsHandler(store: store, io: io, logger: logger, authorizer: auth, cluster: cluster))
        r.register(AlterConfigsHandler(store: store, config: config, io: io, logger: logger, authorizer: auth, cluster: cluster))
        r.register(IncrementalAlterConfigsHandler(store: store, config: config, io: io, logger: logger, authorizer: auth,
                                                  cluster: cluster))
        if let clustered {
            r.register(OffsetForLeaderEpochHandler(store: store, io: io, cluster: clustered, authorizer: auth))
        }
        if clustered == nil {
            // Not carried to the partition's leader yet: a cluster does not advertise it
            // (ApiVersions), so clients say "unsupported" instead of changing one broker only.
            r.register(DeleteRecordsHandler(store: store, io: io, logger: logger, authorizer: auth))
        }
        r.register(DescribeLogDirsHandler(store: store, io: io, authorizer: auth))
        r.register(InitProducerIdHandler(producerIds: store.producerIds, transactions: transactions, io: io, clock: clock,
                                         logger: logger, authorizer: auth))
        r.register(DescribeProducersHandler(store: store, authorizer: auth))
        if clustered == nil {
            // Transactions and the shared security state (SCRAM, ACLs) are one broker's for now.
            r.register(AddPartitionsToTxnHandler(store: store, transactions: transactions, io: io, clock: clock, authorizer: auth))
            r.register(AddOffsetsToTxnHandler(transactions: transactions, io: io, clock: clock, authorizer: auth))
            r.register(TxnOffsetCommitHandler(transactions: transactions, io: io, clock: clock, authorizer: auth))
            r.register(EndTxnHandler(transactions: transactions, io: io, clock: clock, authorizer: auth))
            r.register(DescribeTransactionsHandler(transactions: transactions, authorizer: auth))
            r.register(ListTransactionsHandler(transactions: transactions, clock: clock, authorizer: auth))
            r.register(WriteTxnMarkersHandler(store: store, waiters: appendWaiters, io: io, clock: clock, logger: logger,
                                              authorizer: auth))
            r.register(AlterUserScramCredentialsHandler(credentials: metadata, io: io, authorizer: auth))
            r.register(DescribeUserScramCredentialsHandler(credentials: metadata, authorizer: auth))
            r.register(CreateAclsHandler(acls: metadata, authorizer: auth, io: io))
            r.register(DescribeAclsHandler(acls: metadata, authorizer: auth))
            r.register(DeleteAclsHandler(acls: metadata, authorizer: auth, io: io))
        }
        r.register(SaslHandshakeHandler())
        r.register(SaslAuthenticateHandler())
        r.register(ApiVersionsHandler(advertised: r.advertised + [(ApiKey.apiVersions.rawValue, 0, 3)]))
        return r
    }

    /// Milliseconds since the epoch (record timestamps, commit times).
    public static func wallClockMs() -> Int64 { WallClock.system.nowMs() }
}
