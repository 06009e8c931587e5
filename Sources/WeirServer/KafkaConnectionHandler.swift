import KafkaProtocol
import Logging
import NIOCore
import WeirBroker

/// Serves one connection, on its event loop. Requests are answered one at a time and in order
/// (Kafka's broker does the same: it mutes a connection while a request is in flight), but a
/// request that can be answered without blocking — a Produce that needs no fsync, ApiVersions —
/// is answered right here, with no thread hop; the rest runs as a task off the event loop and
/// its answer comes back here. Requests that arrive while one is in flight wait in `pending`;
/// beyond `maxPending` the handler stops reading the socket until they drain.
final class KafkaConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let maxPending = 64

    private let dispatcher: RequestDispatcher
    private let connections: ConnectionRegistry
    private let logger: Logger
    private var pending = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    private var inFlight = false
    private var unflushed = false
    private var readPaused = false
    private var id = 0
    private var peer = "unknown"

    init(dispatcher: RequestDispatcher, connections: ConnectionRegistry, logger: Logger) {
        self.dispatcher = dispatcher
        self.connections = connections
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        id = connections.add(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.remove(id)
        pending.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending.append(unwrapInboundIn(data))
        serve(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    /// Holds back reads while too many requests wait (back-pressure on a pipelining client).
    func read(context: ChannelHandlerContext) {
        if pending.count >= Self.maxPending {
            readPaused = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let error as KafkaFrameDecoder.FrameTooLarge:
            logger.warning("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        case let error as ByteToMessageDecoderError:
            logger.warning("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        default:
            logger.debug("connection error: \(error)", metadata: ["peer": "\(peer)"])
        }
        context.close(promise: nil)
    }

    /// Answers waiting requests in order until one has to go off the loop.
    private func serve(context: ChannelHandlerContext) {
        while !inFlight, let frame = pending.popFirst() {
            guard connections.begin(id) else {
                context.close(promise: nil)
                return
            }
            let dispatch: Dispatch
            do {
                dispatch = try dispatcher.dispatch(frame, clientHost: peer, allocator: context.channel.allocator)
            } catch {
                logger.warning("closing connection: \(error)", metadata: ["peer": "\(peer)"])
                context.close(promise: nil)
                return
            }
            switch dispatch {
            case .done(let response):
                if let response { write(response, context: context) }
                if !finished(context: context) { return }
            case .later(let work):
                inFlight = true
                let promise = context.eventLoop.makePromise(of: ResponseBytes?.self)
                promise.completeWithTask(work)
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                promise.futureResult.whenComplete { result in
                    let (handler, context) = loopBound.value
                    handler.completed(result, context: context)
                }
                return
            }
        }
        if readPaused && pending.count < Self.maxPending / 2 {
            readPaused = false
            context.read()
        }
    }

    private func completed(_ result: Result<ResponseBytes?, any Error>, context: ChannelHandlerContext) {
        inFlight = false
        switch result {
        case .success(let response):
            if let response { write(response, context: context) }
            if finished(context: context) { serve(context: context) }
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
