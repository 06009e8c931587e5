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

    /// Throws when the transaction coordinator's state cannot be read, or an interrupted
    /// transaction cannot be completed (a storage failure).
    public init(config: BrokerConfig, store: LogStore, groups: GroupCoordinator, io: NIOThreadPool,
                clock: WallClock = .system, logger: Logger) throws {
        self.config = config
        self.store = store
        self.topics = TopicManager(store: store, config: config, logger: logger)
        self.groups = groups
        self.io = IOPool(io)
        self.clock = clock
        self.logger = logger
        self.storageHealth = StorageHealth(logger: logger)
        let waiters = appendWaiters
        self.transactions = try TransactionCoordinator(store: store, config: config.transactions, logger: logger,
                                                       onMarker: { waiters.appended($0) })
    }

    /// Every API Weir serves. ApiVersions advertises exactly this table.
    public func makeRegistry() -> HandlerRegistry {
        let (config, store, topics, groups, io, clock, logger) = (config, store, topics, groups, io, clock, logger)
        var r = HandlerRegistry()
        let transactions = self.transactions
        r.register(ProduceHandler(store: store, topics: topics, waiters: appendWaiters, io: io, clock: clock,
                                  health: storageHealth, transactions: transactions, logger: logger,
                                  fsyncEachAppend: config.flushIntervalMessages == 1, traffic: traffic))
        r.register(FetchHandler(store: store, topics: topics, waiters: appendWaiters, sessions: fetchSessions, io: io, clock: clock,
                                traffic: traffic))
        r.register(ListOffsetsHandler(store: store, io: io))
        r.register(MetadataHandler(config: config, store: store, topics: topics, io: io))
        r.register(OffsetCommitHandler(store: store, groups: groups, clock: clock))
        r.register(OffsetFetchHandler(groups: groups, transactions: transactions))
        r.register(FindCoordinatorHandler(config: config))
        r.register(JoinGroupHandler(groups: groups))
        r.register(HeartbeatHandler(groups: groups))
        r.register(LeaveGroupHandler(groups: groups))
        r.register(SyncGroupHandler(groups: groups))
        r.register(DescribeGroupsHandler(groups: groups))
        r.register(ListGroupsHandler(groups: groups))
        r.register(DeleteGroupsHandler(groups: groups))
        r.register(OffsetDeleteHandler(store: store, groups: groups))
        r.register(CreateTopicsHandler(config: config, topics: topics, io: io))
        r.register(DeleteTopicsHandler(store: store, topics: topics, io: io))
        r.register(CreatePartitionsHandler(store: store, io: io, logger: logger))
        r.register(DescribeConfigsHandler(config: config, store: store))
        r.register(AlterConfigsHandler(store: store, config: config, io: io, logger: logger))
        r.register(IncrementalAlterConfigsHandler(store: store, config: config, io: io, logger: logger))
        r.register(DescribeClusterHandler(config: config))
        r.register(DeleteRecordsHandler(store: store, io: io, logger: logger))
        r.register(DescribeLogDirsHandler(store: store, io: io))
        r.register(InitProducerIdHandler(producerIds: store.producerIds, transactions: transactions, io: io, clock: clock,
                                         logger: logger))
        r.register(AddPartitionsToTxnHandler(store: store, transactions: transactions, io: io, clock: clock))
        r.register(AddOffsetsToTxnHandler(transactions: transactions, io: io, clock: clock))
        r.register(TxnOffsetCommitHandler(transactions: transactions, io: io, clock: clock))
        r.register(EndTxnHandler(transactions: transactions, io: io, clock: clock))
        r.register(DescribeTransactionsHandler(transactions: transactions))
        r.register(ListTransactionsHandler(transactions: transactions, clock: clock))
        r.register(DescribeProducersHandler(store: store))
        r.register(WriteTxnMarkersHandler(store: store, waiters: appendWaiters, io: io, clock: clock, logger: logger))
        r.register(ApiVersionsHandler(advertised: r.advertised + [(ApiKey.apiVersions.rawValue, 0, 3)]))
        return r
    }

    /// Milliseconds since the epoch (record timestamps, commit times).
    public static func wallClockMs() -> Int64 { WallClock.system.nowMs() }
}
