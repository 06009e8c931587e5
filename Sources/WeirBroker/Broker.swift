import KafkaProtocol
import Logging
import NIOPosix
import WeirStorage

/// What the request handlers share: settings, the log store, the group coordinator, fetch
/// waiters and the I/O pool. It holds dependencies only; every API's logic lives in its own
/// handler under Handlers/, and `makeRegistry()` is the one list of them.
public final class Broker: Sendable {
    public let config: BrokerConfig
    public let store: LogStore
    public let topics: TopicManager
    public let groups: GroupCoordinator
    public let appendWaiters = AppendWaiters()
    /// RocksDB calls run here, never on an event loop.
    public let io: NIOThreadPool
    public let logger: Logger

    public init(config: BrokerConfig, store: LogStore, groups: GroupCoordinator, io: NIOThreadPool, logger: Logger) {
        self.config = config
        self.store = store
        self.topics = TopicManager(store: store, config: config, logger: logger)
        self.groups = groups
        self.io = io
        self.logger = logger
    }

    /// Every API Weir serves. ApiVersions advertises exactly this table.
    public func makeRegistry() -> HandlerRegistry {
        var r = HandlerRegistry()
        r.register(ProduceHandler(broker: self))
        r.register(FetchHandler(broker: self))
        r.register(ListOffsetsHandler(broker: self))
        r.register(MetadataHandler(broker: self))
        r.register(OffsetCommitHandler(broker: self))
        r.register(OffsetFetchHandler(broker: self))
        r.register(FindCoordinatorHandler(broker: self))
        r.register(JoinGroupHandler(broker: self))
        r.register(HeartbeatHandler(broker: self))
        r.register(LeaveGroupHandler(broker: self))
        r.register(SyncGroupHandler(broker: self))
        r.register(DescribeGroupsHandler(broker: self))
        r.register(ListGroupsHandler(broker: self))
        r.register(DeleteGroupsHandler(broker: self))
        r.register(CreateTopicsHandler(broker: self))
        r.register(DeleteTopicsHandler(broker: self))
        r.register(CreatePartitionsHandler(broker: self))
        r.register(DescribeConfigsHandler(broker: self))
        r.register(AlterConfigsHandler(broker: self))
        r.register(IncrementalAlterConfigsHandler(broker: self))
        r.register(DescribeClusterHandler(broker: self))
        r.register(InitProducerIdHandler(broker: self))
        r.register(ApiVersionsHandler(advertised: r.advertised + [(ApiKey.apiVersions.rawValue, 0, 3)]))
        return r
    }

    /// Runs blocking storage work on the I/O pool.
    public func onIO<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await io.runIfActive(body)
    }

    public var nowMs: Int64 { Self.wallClockMs() }

    /// Milliseconds since the epoch (record timestamps, commit times).
    public static func wallClockMs() -> Int64 { clock_gettime_ms() }
}

@inline(__always)
func clock_gettime_ms() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
