import Foundation
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import WeirBroker
import WeirServer
import WeirStorage

/// A real broker in this process: RocksDB in a temp dir, the NIO listener on an ephemeral
/// loopback port, the same handler registry as `weir broker`.
final class TestBroker: Sendable {
    let directory: String
    let store: LogStore
    let io: NIOThreadPool
    let broker: Broker
    let server: KafkaServer
    let task: Task<Void, any Error>
    let port: Int

    static func start(_ configure: (inout BrokerConfig) -> Void = { _ in }) async throws -> TestBroker {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-test-\(UUID().uuidString)").path
        var config = BrokerConfig()
        config.groupInitialRebalanceDelayMs = 0
        configure(&config)
        var logger = Logger(label: "test-broker")
        logger.logLevel = .warning
        let store = try LogStore.open(directory: dir, options: StorageOptions(), logger: logger)
        let io = NIOThreadPool(numberOfThreads: 2)
        io.start()
        let groups = GroupCoordinator(
            config: GroupConfig(initialRebalanceDelayMs: 0, minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
                                maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs),
            offsets: store.offsets, logger: logger)
        let broker = try Broker(config: config, store: store, groups: groups, io: io, logger: logger)
        let bound = AsyncStream<Int>.makeStream()
        let server = KafkaServer(host: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton,
                                 dispatcher: RequestDispatcher(registry: broker.makeRegistry(), logger: logger),
                                 maxFrameBytes: config.socketRequestMaxBytes, logger: logger,
                                 onBound: { bound.continuation.yield($0) })
        let task = Task { try await server.run() }
        var port = 0
        for await p in bound.stream {
            port = p
            break
        }
        return TestBroker(directory: dir, store: store, io: io, broker: broker, server: server, task: task, port: port)
    }

    private init(directory: String, store: LogStore, io: NIOThreadPool, broker: Broker, server: KafkaServer,
                 task: Task<Void, any Error>, port: Int) {
        self.directory = directory
        self.store = store
        self.io = io
        self.broker = broker
        self.server = server
        self.task = task
        self.port = port
    }

    var bootstrap: String { "127.0.0.1:\(port)" }

    /// Runs `body` against a fresh broker and always stops it (and closes RocksDB) before
    /// returning, so no test leaves a database closing while the process exits.
    static func with(_ configure: (inout BrokerConfig) -> Void = { _ in },
                     _ body: (TestBroker) async throws -> Void) async throws {
        let b = try await start(configure)
        do {
            try await body(b)
        } catch {
            await b.stop()
            throw error
        }
        await b.stop()
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
        await broker.groups.shutdown()
        store.close()
        try? await io.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
