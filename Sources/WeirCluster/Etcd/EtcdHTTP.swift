import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 POST to etcd's JSON gateway, on a connection of its own.
///
/// Why not a pooled client: the cluster talks to etcd a few times a second (lease renewals,
/// compare-and-swaps of partition state) and once per watch, so a loopback or LAN connect per
/// call costs nothing that matters, and a fresh connection can never be left half-read by a
/// timed-out call. Why not AsyncHTTPClient: it would add minutes to every clean build for ~100 lines.
enum EtcdHTTP {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// POSTs `body` to `path` and returns the whole response body; throws on a connect failure,
    /// a timeout, or a status other than 200 (with etcd's error message).
    static func post(group: any EventLoopGroup, endpoint: EtcdEndpoint, path: String, body: Data,
                     timeout: TimeAmount) async throws -> Data {
        let promise = group.next().makePromise(of: Data.self)
        let channel = try await connect(group: group, endpoint: endpoint,
                                        handler: ResponseCollector(promise: promise, streaming: nil), timeout: timeout)
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(Failure(description: "etcd \(endpoint) did not answer \(path) within \(timeout.nanoseconds / 1_000_000) ms"))
            channel.close(promise: nil)
        }
        send(channel: channel, endpoint: endpoint, path: path, body: body)
        defer { deadline.cancel(); channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }

    /// POSTs `body` to a streaming endpoint (watch): `onMessage` gets each newline-delimited JSON
    /// message as it arrives. Returns the channel (close it to stop) and a future that completes
    /// when the stream ends, failed when it broke.
    static func stream(group: any EventLoopGroup, endpoint: EtcdEndpoint, path: String, body: Data,
                       connectTimeout: TimeAmount,
                       onMessage: @escaping @Sendable (Data) -> Void) async throws -> (any Channel, EventLoopFuture<Data>) {
        let promise = group.next().makePromise(of: Data.self)
        let channel = try await connect(group: group, endpoint: endpoint,
                                        handler: ResponseCollector(promise: promise, streaming: onMessage), timeout: connectTimeout)
        send(channel: channel, endpoint: endpoint, path: path, body: body)
        return (channel, promise.futureResult)
    }

    /// Connects with `handler` in the pipeline; on failure its promise fails too (a promise
    /// left unfulfilled is a leak NIO traps on).
    private static func connect(group: any EventLoopGroup, endpoint: EtcdEndpoint, handler: ResponseCollector,
                                timeout: TimeAmount) async throws -> any Channel {
        do {
            return try await bootstrap(group: group, handler: handler, timeout: timeout)
                .connect(host: endpoint.host, port: endpoint.port).get()
        } catch {
            handler.fail(error)
            throw error
        }
    }

    private static func bootstrap(group: any EventLoopGroup, handler: ResponseCollector, timeout: TimeAmount) -> ClientBootstrap {
        ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
    }

    private static func send(channel: any Channel, endpoint: EtcdEndpoint, path: String, body: Data) {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: "\(endpoint.host):\(endpoint.port)")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(body.count)")
        let buffer = channel.allocator.buffer(bytes: body)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }
}

/// Collects one response; in streaming mode hands each complete line to `streaming` as it
/// arrives instead of keeping the body.
final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: used only on its channel's event loop (NIO's handler contract).
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<Data>
    private let streaming: (@Sendable (Data) -> Void)?
    private var status: HTTPResponseStatus = .ok
    private var body = Data()

    init(promise: EventLoopPromise<Data>, streaming: (@Sendable (Data) -> Void)?) {
        self.promise = promise
        self.streaming = streaming
    }

    /// The connection never came up.
    func fail(_ error: any Error) { promise.fail(error) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body(var buffer):
            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
            if let streaming, status == .ok {
                while let newline = body.firstIndex(of: 0x0A) {
                    let line = body[body.startIndex..<newline]
                    if !line.isEmpty { streaming(Data(line)) }
                    body.removeSubrange(body.startIndex...newline)
                }
            }
        case .end:
            if status == .ok {
                if let streaming, !body.isEmpty { streaming(body); body = Data() }
                promise.succeed(body)
            } else {
                let text = String(decoding: body, as: UTF8.self)
                promise.fail(EtcdHTTP.Failure(description: "etcd answered \(status.code): \(text)"))
            }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(EtcdHTTP.Failure(description: "etcd closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
