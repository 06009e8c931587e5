import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import WeirBroker

/// One Kafka listener (an entry of `listeners`) as a ServiceLifecycle `Service`. On an SSL
/// listener every connection starts with a TLS handshake (`NIOSSLServerHandler`), whose client
/// certificate, when there is one, names the connection's principal. Each connection is a
/// `KafkaConnectionHandler` on one event loop: it answers its requests in order, the ones that
/// cannot block right there and the rest off the loop.
///
/// Graceful shutdown (SIGTERM): stop accepting, close idle connections, let busy ones finish
/// the request in hand, and return once every connection has closed, so that the caller can
/// close the database.
public final class KafkaServer: Service, Sendable {
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let dispatcher: RequestDispatcher
    private let maxFrameBytes: Int
    private let logger: Logger
    private let connections = ConnectionRegistry()
    private let boundPort = NIOLockedValueBox<Int?>(nil)
    private let onBound: @Sendable (Int) -> Void
    private let listenerName: String
    private let tls: TLSContextSource?
    private let sasl: SaslServerConfig?

    /// - Parameters:
    ///   - listenerName: the name in `listeners` (what Metadata answers by).
    ///   - tls: the server context of an SSL or SASL_SSL listener; nil for PLAINTEXT.
    ///   - sasl: the SASL setup of a SASL_PLAINTEXT or SASL_SSL listener; nil otherwise.
    public init(host: String, port: Int, listenerName: String = "PLAINTEXT", tls: TLSContextSource? = nil,
                sasl: SaslServerConfig? = nil, group: any EventLoopGroup, dispatcher: RequestDispatcher,
                maxFrameBytes: Int, logger: Logger, onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.host = host
        self.port = port
        self.listenerName = listenerName
        self.tls = tls
        self.sasl = sasl
        self.group = group
        self.dispatcher = dispatcher
        self.maxFrameBytes = maxFrameBytes
        self.logger = logger
        self.onBound = onBound
    }

    /// The port actually bound (useful with port 0 in tests).
    public var localPort: Int? { boundPort.withLockedValue { $0 } }

    public func run() async throws {
        let (maxFrameBytes, dispatcher, connections, logger) = (self.maxFrameBytes, self.dispatcher, self.connections, self.logger)
        let (listenerName, tls, sasl) = (self.listenerName, self.tls, self.sasl)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let tls {
                        // The context of the moment: renewed certificates apply to new connections.
                        try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
                    }
                    try child.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try child.pipeline.syncOperations.addHandler(
                        KafkaConnectionHandler(dispatcher: dispatcher, connections: connections, listenerName: listenerName,
                                               tls: tls != nil, sasl: sasl, logger: logger))
                }
            }
            .bind(host: host, port: port).get()
        let port = server.localAddress?.port ?? self.port
        boundPort.withLockedValue { $0 = port }
        logger.info("listening", metadata: ["listener": "\(listenerName)", "address": "\(host):\(port)"])
        onBound(port)

        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await server.closeFuture.get()
            } onGracefulShutdown: {
                logger.info("shutting down: no new connections; finishing requests in flight")
                server.close(promise: nil)
            }
        } onCancel: {
            server.close(promise: nil)
        }
        connections.shutdown()
        await connections.allClosed()
        logger.info("all connections closed")
    }
}

/// Which connections are busy with a request, so that shutdown can close the idle ones at once,
/// let the busy ones finish the request in hand, and know when the last one is gone.
final class ConnectionRegistry: Sendable {
    private struct Entry {
        var channel: any Channel
        var busy: Bool
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var nextId = 0
        var stopping = false
        var drained: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func add(_ channel: any Channel) -> Int {
        state.withLock { s in
            s.nextId += 1
            s.entries[s.nextId] = Entry(channel: channel, busy: false)
            if s.stopping { channel.close(promise: nil) }
            return s.nextId
        }
    }

    func remove(_ id: Int) {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { s in
            s.entries.removeValue(forKey: id)
            guard s.stopping, s.entries.isEmpty else { return [] }
            defer { s.drained = [] }
            return s.drained
        }
        for w in waiters { w.resume() }
    }

    /// Marks the connection busy; false when the broker is stopping and the request must not start.
    func begin(_ id: Int) -> Bool {
        state.withLock { s in
            guard !s.stopping else { return false }
            s.entries[id]?.busy = true
            return true
        }
    }

    /// Marks the connection idle; false when it should now close.
    func end(_ id: Int) -> Bool {
        state.withLock { s in
            s.entries[id]?.busy = false
            return !s.stopping
        }
    }

    func shutdown() {
        let idle: [any Channel] = state.withLock { s in
            s.stopping = true
            return s.entries.values.filter { !$0.busy }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }

    /// Returns once shutdown has begun and every connection has closed.
    func allClosed() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done: Bool = state.withLock { s in
                if s.stopping && s.entries.isEmpty { return true }
                s.drained.append(c)
                return false
            }
            if done { c.resume() }
        }
    }
}
