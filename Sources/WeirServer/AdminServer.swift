import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The admin HTTP listener (`admin.listener=HOST:PORT`) as a ServiceLifecycle `Service`:
/// NIOHTTP1's server pipeline, then `AdminHTTPHandler`, answering from `AdminAPI`.
///
/// Protection: it binds only where `admin.listener` says; `BrokerProperties` refuses a
/// non-loopback address unless `admin.listener.allow.remote=true` and `admin.auth.token` are
/// set (see `AdminAuth`); HTTPS with `admin.ssl.*`.
///
/// Graceful shutdown (SIGTERM) as `KafkaServer`: stop accepting, close idle connections, let a
/// request in hand (a snapshot) finish, return once every connection has closed — so that the
/// database is not closed under a checkpoint.
public final class AdminServer: Service, Sendable {
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let api: AdminAPI
    private let loopbackHostOnly: Bool
    private let tls: NIOSSLContext?
    private let authToken: String?
    private let logger: Logger
    private let connections = ConnectionRegistry()
    private let boundPort = NIOLockedValueBox<Int?>(nil)
    private let onBound: @Sendable (Int) -> Void

    /// - Parameter loopbackHostOnly: refuse (403) requests whose Host header is not a loopback
    ///   address — set unless admin.listener.allow.remote (a proxy's name is then expected).
    public init(host: String, port: Int, group: any EventLoopGroup, api: AdminAPI, loopbackHostOnly: Bool = false,
                tls: NIOSSLContext? = nil, authToken: String? = nil,
                logger: Logger, onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.loopbackHostOnly = loopbackHostOnly
        self.tls = tls
        self.authToken = authToken
        self.host = host
        self.port = port
        self.group = group
        self.api = api
        self.logger = logger
        self.onBound = onBound
    }

    /// The port actually bound (useful with port 0 in tests).
    public var localPort: Int? { boundPort.withLockedValue { $0 } }

    public func run() async throws {
        let (api, connections, logger, loopbackHostOnly) = (self.api, self.connections, self.logger, self.loopbackHostOnly)
        let (tls, authToken) = (self.tls, self.authToken)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try child.pipeline.syncOperations.addHandler(
                        AdminHTTPHandler(api: api, loopbackHostOnly: loopbackHostOnly, authToken: authToken, secure: tls != nil,
                                         connections: connections, logger: logger))
                }
            }
            .bind(host: host, port: port).get()
        let port = server.localAddress?.port ?? self.port
        boundPort.withLockedValue { $0 = port }
        logger.info("admin listening", metadata: ["address": "\(host):\(port)"])
        onBound(port)

        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await server.closeFuture.get()
            } onGracefulShutdown: {
                server.close(promise: nil)
            }
        } onCancel: {
            server.close(promise: nil)
        }
        connections.shutdown()
        await connections.allClosed()
        logger.info("admin listener closed")
    }
}
