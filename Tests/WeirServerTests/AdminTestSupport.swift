import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import WeirBroker
@testable import WeirServer
import WeirStorage

/// A `TestBroker` with the admin listener on an ephemeral loopback port, as `BrokerRuntime`
/// wires it (metrics, snapshot registry, the broker's I/O pool).
struct AdminFixture {
    let broker: TestBroker
    let metrics: BrokerMetrics
    let monitor: ConsoleMonitor
    let server: AdminServer
    let task: Task<Void, any Error>
    let port: Int

    /// - Parameter writable: `admin.console.writable`.
    static func with(writable: Bool = false, loopbackHostOnly: Bool = true,
                     _ body: (AdminFixture) async throws -> Void) async throws {
        try await TestBroker.with { b in
            var logger = Logger(label: "test-admin")
            logger.logLevel = .warning
            let metrics = BrokerMetrics(store: b.store, groups: b.broker.groups,
                                        apiKeys: b.broker.makeRegistry().advertised.map(\.apiKey))
            let monitor = ConsoleMonitor(traffic: b.broker.traffic)
            let console = ConsoleAPI(brokerId: 1, config: b.broker.config, store: b.store, topics: b.broker.topics,
                                     groups: b.broker.groups, monitor: monitor, io: b.io, writable: writable,
                                     uptimeMs: { metrics.uptimeMs })
            let api = AdminAPI(brokerId: 1, store: b.store, metrics: metrics,
                               snapshots: try SnapshotRegistry(store: b.store), io: b.io, console: console)
            let bound = AsyncStream<Int>.makeStream()
            let server = AdminServer(host: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton,
                                     api: api, loopbackHostOnly: loopbackHostOnly, logger: logger,
                                     onBound: { bound.continuation.yield($0) })
            let task = Task { try await server.run() }
            var port = 0
            for await p in bound.stream {
                port = p
                break
            }
            let fixture = AdminFixture(broker: b, metrics: metrics, monitor: monitor, server: server, task: task, port: port)
            do {
                try await body(fixture)
            } catch {
                task.cancel()
                _ = try? await task.value
                throw error
            }
            task.cancel()
            _ = try? await task.value
        }
    }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, contentType: String = "application/json",
                 host: String? = nil) async throws -> AdminHTTPReply {
        try await AdminHTTPReply.send(port: port, method: method, path: path, body: body, contentType: contentType,
                                      host: host)
    }
}

/// One HTTP/1.1 exchange over a real socket with NIOHTTP1's client codec.
struct AdminHTTPReply {
    var status: Int
    var headers: HTTPHeaders
    var body: String

    /// The body as a JSON object.
    var json: [String: Any] {
        get throws {
            guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
                throw CocoaError(.coderReadCorrupt)
            }
            return object
        }
    }

    static func send(port: Int, method: HTTPMethod, path: String, body: String?,
                     contentType: String = "application/json", host: String? = nil) async throws -> AdminHTTPReply {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders([("Host", host ?? "127.0.0.1:\(port)")])
            if let body {
                headers.add(name: "Content-Type", value: contentType)
                headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            }
            try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)))
            if let body { try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body)))) }
            try await outbound.write(.end(nil))
            var reply = AdminHTTPReply(status: 0, headers: [:], body: "")
            var collected = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let head):
                    reply.status = Int(head.status.code)
                    reply.headers = head.headers
                case .body(var chunk):
                    collected.writeBuffer(&chunk)
                case .end:
                    reply.body = String(buffer: collected)
                    return reply
                }
            }
            throw ChannelError.eof
        }
    }
}
