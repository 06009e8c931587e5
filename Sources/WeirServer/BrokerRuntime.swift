import CSystemTuning
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import WeirBroker
import WeirCluster
import WeirStorage

/// Starts a whole broker from its properties: opens the database, builds the broker and its
/// handler registry, serves until SIGTERM/SIGINT, then shuts down in order — listener, groups,
/// database — so that the process exits 0 with everything flushed.
public enum BrokerRuntime {
    public static func run(_ properties: BrokerProperties, logger: Logger, onBound: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        tuneMalloc()
        // Certificates and keys first: one that does not load stops startup before anything opens.
        let tls: TLSContextSource? = try properties.listeners.contains(where: { $0.securityProtocol.usesTLS })
            ? TLSContextSource(settings: properties.tls) : nil
        var storage = StorageOptions()
        storage.totalWriteBufferBytes = properties.storageWriteBufferBytes
        storage.blockCacheBytes = properties.storageBlockCacheBytes
        storage.syncEveryWrite = properties.broker.flushIntervalMessages == 1
        logger.info("opening database", metadata: ["log.dirs": "\(properties.logDir)"])
        let store = try LogStore.open(directory: properties.logDir, options: storage, logger: logger)
        let io = NIOThreadPool(numberOfThreads: properties.ioThreads)
        io.start()
        let events = MultiThreadedEventLoopGroup(numberOfThreads: properties.networkThreads)

        let config = properties.broker
        // With etcd.connect, a member of the cluster etcd holds; it joins before serving.
        let member = properties.cluster.enabled
            ? EtcdCluster(settings: properties.cluster.settings(for: properties), group: events, store: store,
                          topicRules: TopicManager(store: store, config: config, logger: logger), io: IOPool(io), logger: logger)
            : nil
        let groups = GroupCoordinator(
            config: GroupConfig(initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
                                minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
                                maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs),
            // In a cluster, commits are also records of the replicated __consumer_offsets partitions.
            offsets: member.map { $0.offsets } ?? store.offsets, logger: logger)
        let metadata = try RocksDBMetadataStore(store: store)
        let authorizer = Authorizer(store: properties.authorization.enabled ? metadata : nil, config: properties.authorization.rules)
        var makeCluster: (@Sendable (TopicManager, IOPool) -> any ClusterView)? = nil
        if let member { makeCluster = { _, _ in member } }
        let broker = try Broker(config: config, store: store, groups: groups, io: io, metadata: metadata, authorizer: authorizer,
                                logger: logger, cluster: makeCluster)
        if let member {
            let endpoints = properties.cluster.etcd.map { $0.description }.joined(separator: ",")
            logger.info("joining the cluster", metadata: ["etcd.connect": "\(endpoints)", "root": "\(member.settings.keys.root)"])
            try await member.join()
            let waiters = broker.appendWaiters
            member.onHighWatermarkAdvanced { waiters.appended($0) }
            // Producer ids must be unique across the cluster: blocks come from etcd.
            store.producerIds.useSharedBlocks { try member.claimProducerIdBlock(size: $0) }
        }
        // Keys the fake SCRAM salts of unknown users: random, so they cannot be told from real ones.
        var random = SystemRandomNumberGenerator()
        let fakeSaltKey = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let registry = broker.makeRegistry()
        // The admin listener and its metrics exist only when admin.listener is set.
        let metrics = properties.adminListener.map { _ in
            BrokerMetrics(store: store, groups: groups, apiKeys: registry.advertised.map(\.apiKey),
                          storageHealth: broker.storageHealth, transactions: broker.transactions)
        }
        let dispatcher = RequestDispatcher(registry: registry, logger: logger,
                                           observer: metrics?.requests ?? NoRequestObserver())
        // One server per listener; `onBound` hears the first one's port.
        var servers: [any Service] = []
        for (i, l) in properties.listeners.enumerated() {
            let listenerTLS: TLSContextSource? = l.securityProtocol.usesTLS ? tls : nil
            var sasl: SaslServerConfig? = nil
            if l.securityProtocol.usesSASL {
                let reauth = properties.sasl.maxReauthMs
                sasl = SaslServerConfig(mechanisms: properties.sasl.enabledMechanisms,
                                        plainUsers: properties.plainUsers[l.name] ?? [:], credentials: metadata,
                                        maxReauthMs: reauth > 0 ? reauth : nil,
                                        failedAuthenticationDelayMs: properties.sasl.failedAuthenticationDelayMs,
                                        fakeSaltKey: fakeSaltKey)
                sasl?.maxReceiveBytes = properties.sasl.maxReceiveBytes
            }
            var bound: @Sendable (Int) -> Void = { _ in }
            if i == 0 { bound = onBound }
            let server = KafkaServer(host: l.host, port: l.port, listenerName: l.name, tls: listenerTLS, sasl: sasl,
                                     group: events, dispatcher: dispatcher, maxFrameBytes: config.socketRequestMaxBytes,
                                     logger: logger, onBound: bound)
            servers.append(server)
        }
        // The console's rate sampler and record of the last retention pass, with the admin listener only.
        let monitor = metrics.map { _ in ConsoleMonitor(traffic: broker.traffic) }
        var services: [any Service] = servers + [OffsetExpiry(groups: groups, config: config),
                                       ProducerExpiry(store: store, config: config, io: io, logger: logger),
                                       TransactionHousekeeping(coordinator: broker.transactions, io: io,
                                                               intervalMs: config.transactionCleanupIntervalMs, logger: logger),
                                       RetentionService(store: store, topics: broker.topics,
                                                        intervalMs: config.retentionCheckIntervalMs,
                                                        clock: broker.clock, logger: logger,
                                                        onPass: {
                                                            metrics?.retentionPassed(batches: $0.batches, bytes: $0.bytes)
                                                            monitor?.retentionPassed($0)
                                                        })]
        if let (host, port) = properties.adminListener, let metrics, let monitor {
            let console = ConsoleAPI(brokerId: config.nodeId, config: config, store: store, topics: broker.topics,
                                     groups: groups, monitor: monitor, io: io, writable: properties.adminConsoleWritable,
                                     uptimeMs: { metrics.uptimeMs })
            let api = AdminAPI(brokerId: config.nodeId, store: store, metrics: metrics,
                               snapshots: try SnapshotRegistry(store: store), io: io,
                               storageHealth: broker.storageHealth, console: console)
            services.append(AdminServer(host: host, port: port, group: events, api: api,
                                        loopbackHostOnly: !properties.adminAllowRemote,
                                        tls: try ServerTLS.makeAdminContext(properties.adminTLS),
                                        authToken: properties.adminAuthToken, logger: logger))
            services.append(monitor)
        }
        if let member {
            services.append(ClusterService(member: member))
        }
        if let tls {
            services.append(CertificateReloader(source: tls, intervalMs: properties.tls.reloadCheckIntervalMs, logger: logger))
        }
        if let interval = config.flushIntervalMs {
            services.append(WALFlusher(store: store, intervalMs: interval, logger: logger))
        }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("broker stopped with an error: \(error)")
            await groups.shutdown()
            broker.appendWaiters.wakeAll()
            store.close()
            try? await io.shutdownGracefully()
            try? await events.shutdownGracefully()
            throw error
        }
        await groups.shutdown()
        broker.appendWaiters.wakeAll()
        store.flushWAL(sync: true)
        store.close()
        try await io.shutdownGracefully()
        try await events.shutdownGracefully()
        logger.info("stopped")
    }
}

/// glibc gives every thread that allocates its own malloc arena; with the NIO, I/O-pool and
/// RocksDB threads all allocating request and response buffers, the freed memory scattered over
/// many arenas shows up as RSS. Two arenas bound that; glibc's dynamic mmap threshold already
/// keeps the large per-request buffers reused.
private func tuneMalloc() {
    weir_tune_malloc(0, 0, 2)
}

/// `log.flush.interval.ms`: fsyncs RocksDB's WAL on a timer, off the request path.
struct WALFlusher: Service {
    let store: LogStore
    let intervalMs: Int64
    let logger: Logger

    func run() async throws {
        let store = self.store
        await everyInterval(milliseconds: intervalMs) { store.flushWAL(sync: true) }
    }
}

/// producer.id.expiration.ms: every producer.id.expiration.check.interval.ms, idempotent
/// producers silent for longer are forgotten, on the I/O pool (it writes to RocksDB).
struct ProducerExpiry: Service {
    let store: LogStore
    let config: BrokerConfig
    let io: NIOThreadPool
    let logger: Logger

    func run() async throws {
        let (store, io, logger, expiration) = (store, io, logger, config.producerIdExpirationMs)
        await everyInterval(milliseconds: config.producerIdExpirationCheckIntervalMs) {
            do {
                let n = try await io.runIfActive {
                    try store.expireProducers(nowMs: WallClock.system.nowMs(), expirationMs: expiration)
                }
                if n > 0 { logger.info("expired idempotent producers", metadata: ["count": "\(n)"]) }
            } catch {
                logger.warning("producer expiry failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Every transaction.abort.timed.out.transaction.cleanup.interval.ms, the transaction
/// coordinator aborts transactions past their timeout, aborts hanging ones, and forgets ids
/// unused for transactional.id.expiration.ms (`TransactionCoordinator.tick`), on the I/O pool.
struct TransactionHousekeeping: Service {
    let coordinator: TransactionCoordinator
    let io: NIOThreadPool
    let intervalMs: Int64
    let logger: Logger

    func run() async throws {
        let (coordinator, io, logger) = (coordinator, io, logger)
        await everyInterval(milliseconds: intervalMs) {
            do {
                let done = try await io.runIfActive { coordinator.tick(nowMs: WallClock.system.nowMs()) }
                if done.expired > 0 { logger.info("expired transactional ids", metadata: ["count": "\(done.expired)"]) }
            } catch {
                logger.warning("transaction housekeeping failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// offsets.retention.minutes: every offsets.retention.check.interval.ms, committed offsets of
/// memberless groups older than the retention are dropped (Kafka's offset expiry).
struct OffsetExpiry: Service {
    let groups: GroupCoordinator
    let config: BrokerConfig

    func run() async throws {
        let (groups, retentionMs) = (groups, config.offsetsRetentionMinutes * 60_000)
        await everyInterval(milliseconds: config.offsetsRetentionCheckIntervalMs) {
            await groups.expireOffsets(retentionMs: retentionMs, nowMs: Broker.wallClockMs())
        }
    }
}
