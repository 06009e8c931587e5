import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import WeirBroker

/// The Kafka listener as a ServiceLifecycle `Service`. Each connection is served by one task
/// that handles its requests one at a time, so responses leave in request order (Kafka's broker
/// does the same: it mutes a connection until its in-flight request is answered). Parallelism
/// comes from many connections; the RocksDB work itself runs on the I/O thread pool, never on an
/// event loop.
///
/// Graceful shutdown (SIGTERM): stop accepting, close idle connections, let busy ones finish
/// the request in hand, then return so that the caller can close the database.
public final class KafkaServer: Service, @unchecked Sendable {
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let dispatcher: RequestDispatcher
    private let maxFrameBytes: Int
    private let logger: Logger
    private let connections = ConnectionRegistry()
    private let boundPort = NIOLockedValueBox<Int?>(nil)
    private let onBound: @Sendable (Int) -> Void

    public init(host: String, port: Int, group: any EventLoopGroup, dispatcher: RequestDispatcher,
                maxFrameBytes: Int, logger: Logger, onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.host = host
        self.port = port
        self.group = group
        self.dispatcher = dispatcher
        self.maxFrameBytes = maxFrameBytes
        self.logger = logger
        self.onBound = onBound
    }

    /// The port actually bound (useful with port 0 in tests).
    public var localPort: Int? { boundPort.withLockedValue { $0 } }

    public func run() async throws {
        let maxFrameBytes = self.maxFrameBytes
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxFrameBytes)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        let port = server.channel.localAddress?.port ?? self.port
        boundPort.withLockedValue { $0 = port }
        logger.info("listening", metadata: ["address": "\(host):\(port)"])
        onBound(port)

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        tasks.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            self.logger.info("shutting down: no new connections; finishing requests in flight")
            server.channel.close(promise: nil)
            self.connections.shutdown()
        }
        logger.info("all connections closed")
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let channel = connection.channel
        let peer = channel.remoteAddress?.ipAddress ?? "unknown"
        let id = connections.add(channel)
        defer { connections.remove(id) }
        let allocator = channel.allocator
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await frame in inbound {
                    guard connections.begin(id) else { break }
                    let response = try await dispatcher.respond(to: frame, clientHost: peer, allocator: allocator)
                    if let response { try await outbound.write(response) }
                    guard connections.end(id) else { break }
                }
            }
        } catch let error as RequestDispatcher.Rejected {
            logger.warning("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        } catch let error as KafkaFrameDecoder.FrameTooLarge {
            logger.warning("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        } catch let error as ByteToMessageDecoderError {
            logger.warning("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        } catch {
            logger.debug("connection ended: \(error)", metadata: ["peer": "\(peer)"])
        }
    }
}

/// Which connections are busy with a request, so that shutdown can close the idle ones at once
/// and let the busy ones finish the request in hand.
final class ConnectionRegistry: @unchecked Sendable {
    private struct Entry {
        var channel: any Channel
        var busy: Bool
    }

    private let lock = NIOLock()
    private var entries: [Int: Entry] = [:]
    private var nextId = 0
    private var stopping = false

    func add(_ channel: any Channel) -> Int {
        lock.withLock {
            nextId += 1
            entries[nextId] = Entry(channel: channel, busy: false)
            if stopping { channel.close(promise: nil) }
            return nextId
        }
    }

    func remove(_ id: Int) {
        _ = lock.withLock { entries.removeValue(forKey: id) }
    }

    /// Marks the connection busy; false when the broker is stopping and the request must not start.
    func begin(_ id: Int) -> Bool {
        lock.withLock {
            guard !stopping else { return false }
            entries[id]?.busy = true
            return true
        }
    }

    /// Marks the connection idle; false when it should now close.
    func end(_ id: Int) -> Bool {
        lock.withLock {
            entries[id]?.busy = false
            return !stopping
        }
    }

    func shutdown() {
        let idle: [any Channel] = lock.withLock {
            stopping = true
            return entries.values.filter { !$0.busy }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }
}
