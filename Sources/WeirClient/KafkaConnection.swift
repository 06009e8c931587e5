import KafkaProtocol
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One TCP connection to a Kafka broker. Requests may be pipelined; Kafka answers each
/// connection in request order, so responses are matched to requests first-in, first-out
/// (and checked by correlation id).
///
/// Sendable because every stored property is: the matcher lives on the channel's event loop and
/// is reached only there, through `NIOLoopBound`; correlation ids come from an atomic counter.
public final class KafkaConnection: Sendable {
    public struct ConnectionError: Error, CustomStringConvertible {
        public var description: String
    }

    private let channel: any Channel
    private let matcher: NIOLoopBound<ResponseMatcher>
    private let correlationIds = Atomic<Int32>(0)
    public let clientId: String
    public let host: String
    public let port: Int

    private init(channel: any Channel, matcher: NIOLoopBound<ResponseMatcher>, clientId: String, host: String, port: Int) {
        self.channel = channel
        self.matcher = matcher
        self.clientId = clientId
        self.host = host
        self.port = port
    }

    public static func connect(host: String, port: Int, clientId: String = "weir-cli",
                               security: ClientSecurity = .plaintext,
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                               timeoutSeconds: Int64 = 10) async throws -> KafkaConnection {
        // SNI takes host names only; an IP address is checked against the certificate's IP SANs.
        let isAddress = host.allSatisfy { $0.isNumber || $0 == "." } || host.contains(":")
        let tls = security.tls
        let (channel, matcher) = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(timeoutSeconds))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                // Runs on the channel's event loop: the matcher is created, added and bound there.
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : host))
                    }
                    let matcher = ResponseMatcher()
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: Int(Int32.max))))
                    try channel.pipeline.syncOperations.addHandler(matcher)
                    return (channel, NIOLoopBound(matcher, eventLoop: channel.eventLoop))
                }
            }
        let connection = KafkaConnection(channel: channel, matcher: matcher, clientId: clientId, host: host, port: port)
        if let sasl = security.sasl {
            do { try await SaslClient.authenticate(connection, sasl) } catch {
                await connection.close()
                throw error
            }
        }
        return connection
    }

    /// Sends `request` at `version` and waits for its response.
    public func send<R: KafkaRequest>(_ request: R, version: Int16) async throws -> R.Response {
        var buffer = try await sendRaw(request, version: version, expectResponse: true)!
        _ = try ResponseHeader(from: &buffer, version: R.Response.responseHeaderVersion(version))
        return try R.Response(from: &buffer, version: version)
    }

    /// Sends without waiting for an answer (Produce with acks=0).
    public func sendOneWay<R: KafkaRequest>(_ request: R, version: Int16) async throws {
        _ = try await sendRaw(request, version: version, expectResponse: false)
    }

    private func sendRaw<R: KafkaRequest>(_ request: R, version: Int16, expectResponse: Bool) async throws -> ByteBuffer? {
        let promise: EventLoopPromise<ByteBuffer>? = expectResponse ? channel.eventLoop.makePromise() : nil
        let correlationId = correlationIds.wrappingAdd(1, ordering: .relaxed).newValue
        var buffer = channel.allocator.buffer(capacity: 256)
        buffer.writeInteger(Int32(0))
        var header = RequestHeader()
        header.requestApiKey = R.apiKey.rawValue
        header.requestApiVersion = version
        header.correlationId = correlationId
        header.clientId = clientId
        header.write(to: &buffer, version: R.requestHeaderVersion(version))
        request.write(to: &buffer, version: version)
        buffer.setInteger(Int32(buffer.readableBytes - 4), at: 0)
        try await channel.eventLoop.submit { [buffer] in
            // On the event loop, a closed channel has already run `channelInactive`, which
            // failed everything pending; a request queued now would wait forever, so fail it.
            // An open channel fails it later, in `channelInactive`, if it closes first.
            guard self.channel.isActive else {
                promise?.fail(ConnectionError(description: "connection to \(self.host):\(self.port) is closed"))
                return
            }
            if let promise { self.matcher.value.expect(correlationId, promise) }
            self.channel.writeAndFlush(buffer, promise: nil)
        }.get()
        return try await promise?.futureResult.get()
    }

    /// False once the connection is closed (by either side); the client then reconnects.
    public var isActive: Bool { channel.isActive }

    public func close() async {
        try? await channel.close()
    }
}

/// Matches response frames to the promises of the requests that are waiting for them.
/// Confined to its channel's event loop (not Sendable): `KafkaConnection` reaches it through
/// `NIOLoopBound`, which checks that.
final class ResponseMatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var pending: [(Int32, EventLoopPromise<ByteBuffer>)] = []
    private var head = 0

    /// Called on the event loop.
    func expect(_ correlationId: Int32, _ promise: EventLoopPromise<ByteBuffer>) {
        pending.append((correlationId, promise))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard head < pending.count else {
            context.close(promise: nil)
            return
        }
        let (id, promise) = pending[head]
        head += 1
        if head > 64 && head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
        if frame.getInteger(at: frame.readerIndex, as: Int32.self) == id {
            promise.succeed(frame)
        } else {
            promise.fail(KafkaConnection.ConnectionError(description: "response correlation id does not match request \(id)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(KafkaConnection.ConnectionError(description: "connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        let rest = pending[head...]
        pending = []
        head = 0
        for (_, p) in rest { p.fail(error) }
    }
}
