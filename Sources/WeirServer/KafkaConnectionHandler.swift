import KafkaProtocol
import Logging
import NIOCore
import NIOSSL
import WeirBroker

/// Serves one connection, on its event loop. What to serve when — order, the one request in
/// flight, back-pressure — is decided by `ConnectionStateMachine`; this handler performs its
/// actions. A request that can be answered without blocking (a Produce that needs no fsync,
/// ApiVersions) is answered right here with no thread hop; the rest runs as a task off the event
/// loop and its answer comes back here. When the connection closes, that task is cancelled, so a
/// Fetch long-poll on a gone client ends at once instead of at its max.wait.ms.
final class KafkaConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let dispatcher: RequestDispatcher
    private let connections: ConnectionRegistry
    private let logger: Logger
    private var machine = ConnectionStateMachine()
    /// The request being served off the loop; cancelled when the connection closes.
    private var offLoop: Task<Void, Never>?
    private var unflushed = false
    private var id = 0
    private var peer = "unknown"
    private let listenerName: String
    /// An NIOSSLServerHandler sits in front: its client certificate names the principal.
    private let tls: Bool
    /// The connection's principal; read from the client certificate at the first request, after
    /// the handshake (no request can arrive before it).
    private var principal: KafkaPrincipal?

    /// On a SASL listener: the connection's authentication, which gates every request.
    private var sasl: SaslConnection?
    /// Authentication failed: the connection closes after the delay and serves nothing more.
    private var failing = false

    /// The frame decoder's pre-authentication limit, lifted once SASL succeeds.
    private let frameLimit: PreAuthenticationFrameLimit?

    init(dispatcher: RequestDispatcher, connections: ConnectionRegistry, listenerName: String = "PLAINTEXT",
         tls: Bool = false, sasl: SaslServerConfig? = nil, frameLimit: PreAuthenticationFrameLimit? = nil, logger: Logger) {
        self.frameLimit = frameLimit
        self.dispatcher = dispatcher
        self.connections = connections
        self.listenerName = listenerName
        self.tls = tls
        self.sasl = sasl.map { SaslConnection(config: $0) }
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        id = connections.add(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.remove(id)
        machine.channelClosed()
        offLoop?.cancel()
        offLoop = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        run(machine.frameReceived(unwrapInboundIn(data)), context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        run(machine.writabilityChanged(isWritable: context.channel.isWritable), context: context)
        flushIfNeeded(context: context)
        context.fireChannelWritabilityChanged()
    }

    /// Holds back reads while too many requests wait or the client is not reading its answers.
    func read(context: ChannelHandlerContext) {
        if machine.readRequested() { context.read() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let error as KafkaFrameDecoder.FrameTooLarge:
            logger.warning("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        case let error as ByteToMessageDecoderError:
            logger.warning("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        case let error as NIOSSLError:
            // A plaintext client on a TLS port, an untrusted or missing client certificate.
            logger.warning("closing connection: TLS: \(error)", metadata: ["peer": "\(peer)", "listener": "\(listenerName)"])
        default:
            logger.debug("connection error: \(error)", metadata: ["peer": "\(peer)"])
        }
        context.close(promise: nil)
    }

    /// Performs `action` and the ones that follow from it, until the machine says wait.
    private func run(_ action: ConnectionStateMachine.Action, context: ChannelHandlerContext) {
        var action = action
        while true {
            switch action {
            case .wait:
                return
            case .resumeReading:
                context.read()
                return
            case .serve(let frame):
                guard let next = serve(frame, context: context) else { return }
                action = next
            }
        }
    }

    /// Dispatches one frame. Returns the machine's next action when the frame was answered on
    /// the loop; nil when it went off the loop or the connection is closing.
    private func serve(_ frame: ByteBuffer, context: ChannelHandlerContext) -> ConnectionStateMachine.Action? {
        guard !failing else { return nil }
        guard connections.begin(id) else {
            context.close(promise: nil)
            return nil
        }
        var principal = connectionPrincipal(context: context)
        if sasl != nil {
            let nowMs = WallClock.system.nowMs()
            let apiKey = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int16.self) ?? -1
            switch sasl!.session.admit(apiKey: apiKey, nowMs: nowMs) {
            case .dispatch(let authenticated):
                principal = authenticated
            case .close(let reason):
                logger.warning("closing connection: \(reason)", metadata: ["peer": "\(peer)", "listener": "\(listenerName)"])
                context.close(promise: nil)
                return nil
            case let admission:
                return serveSasl(frame, admission: admission, nowMs: nowMs, context: context)
            }
        }
        let dispatch: Dispatch
        do {
            dispatch = try dispatcher.dispatch(frame, clientHost: peer, listenerName: listenerName,
                                               principal: principal, allocator: context.channel.allocator)
        } catch {
            logger.warning("closing connection: \(error)", metadata: ["peer": "\(peer)"])
            context.close(promise: nil)
            return nil
        }
        switch dispatch {
        case .done(let response):
            if let response { write(response, context: context) }
            return finished(context: context) ? machine.answeredInline() : nil
        case .later(let work):
            machine.wentOffLoop()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            offLoop = Task {
                let result: Result<ResponseBytes?, any Error>
                do {
                    result = .success(try await work())
                } catch {
                    result = .failure(error)
                }
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.completed(result, context: context)
                }
            }
            return nil
        }
    }

    /// Answers a SASL request on the loop (SASL exchanges only hash and compare in memory).
    private func serveSasl(_ frame: ByteBuffer, admission: SaslSession.Admission, nowMs: Int64,
                           context: ChannelHandlerContext) -> ConnectionStateMachine.Action? {
        switch sasl!.handle(frame, admission: admission, nowMs: nowMs, allocator: context.channel.allocator) {
        case .respond(let response):
            write(.single(response), context: context)
            if sasl!.session.isAuthenticated { frameLimit?.lift() }
            if sasl!.session.isAuthenticated, case .authenticate = admission {
                logger.debug("SASL authenticated", metadata: ["peer": "\(peer)", "principal": "\(sasl!.session.principal.map { "\($0)" } ?? "-")"])
            }
            return finished(context: context) ? machine.answeredInline() : nil
        case .respondAndClose(let response, let reason):
            // Kafka's answer to a failed authentication: the error, then the close after
            // connection.failed.authentication.delay.ms (so that guessing passwords is slow).
            logger.warning("SASL authentication failed; closing connection", metadata: [
                "peer": "\(peer)", "listener": "\(listenerName)", "reason": "\(reason)"])
            if let response { write(.single(response), context: context) }
            flushIfNeeded(context: context)
            failing = true
            _ = connections.end(id)
            let delay = sasl!.session.config.failedAuthenticationDelayMs
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(delay)) { bound.value.close(promise: nil) }
            return nil
        case .close(let reason):
            logger.warning("closing connection: \(reason)", metadata: ["peer": "\(peer)", "listener": "\(listenerName)"])
            context.close(promise: nil)
            return nil
        }
    }

    /// `User:` + the client certificate's subject (RFC 2253), as Kafka's default principal
    /// builder; `User:ANONYMOUS` without TLS or without a client certificate.
    private func connectionPrincipal(context: ChannelHandlerContext) -> KafkaPrincipal {
        if let principal { return principal }
        var resolved = KafkaPrincipal.anonymous
        if tls, let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate() {
            if let der = try? certificate.toDERBytes(), let subject = CertificateSubject.rfc2253(certificateDER: der) {
                resolved = .user(subject)
            } else {
                logger.warning("client certificate subject unreadable; principal User:ANONYMOUS", metadata: ["peer": "\(peer)"])
            }
        }
        principal = resolved
        return resolved
    }

    private func completed(_ result: Result<ResponseBytes?, any Error>, context: ChannelHandlerContext) {
        offLoop = nil
        guard !machine.closed else { return }
        switch result {
        case .success(let response):
            if let response { write(response, context: context) }
            if finished(context: context) { run(machine.answeredOffLoop(), context: context) }
            flushIfNeeded(context: context)
        case .failure(let error):
            logger.warning("closing connection: request failed: \(error)", metadata: ["peer": "\(peer)"])
            context.close(promise: nil)
        }
    }

    /// Marks the request done; false (and the connection closing) when the broker is stopping.
    private func finished(context: ChannelHandlerContext) -> Bool {
        guard connections.end(id) else {
            flushIfNeeded(context: context)
            context.close(promise: nil)
            return false
        }
        return true
    }

    private func write(_ response: ResponseBytes, context: ChannelHandlerContext) {
        switch response {
        case .single(let buffer):
            context.write(wrapOutboundOut(buffer), promise: nil)
        case .parts(let buffers):
            for buffer in buffers { context.write(wrapOutboundOut(buffer), promise: nil) }
        }
        unflushed = true
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
    }
}
