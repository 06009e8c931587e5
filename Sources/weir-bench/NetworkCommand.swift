import ArgumentParser
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Part 2, the network limit: one-way loopback TCP throughput with NIO, sender and receiver in
/// this process on their own event loops (the broker's stack: NIO on epoll), writing messages
/// of the size the broker-alone run sends (a Produce request of six 16 KiB batches ≈ 96 KiB,
/// or one batch). The receiver discards the bytes, so this is the ceiling of moving them.
struct NetworkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Network limit: loopback TCP throughput with NIO.")

    @Option(help: "Bytes per message written.")
    var messageBytes: Int = 98304

    @Option(help: "Connections (each one sender, one receiver).")
    var connections: Int = 2

    @Option(help: "Measured seconds.")
    var seconds: Double = 3

    @Option(help: "Unmeasured seconds first.")
    var warmup: Double = 0.5

    func run() async throws {
        guard messageBytes > 0, connections > 0, seconds > 0 else { throw ValidationError("sizes must be positive") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let received = NIOLockedValueBox(0)
        do {
            let server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SinkHandler(received: received))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            guard let port = server.localAddress?.port else { throw ValidationError("server has no port") }
            var message = ByteBufferAllocator().buffer(capacity: messageBytes)
            message.writeRepeatingByte(0x41, count: messageBytes)
            var clients: [any Channel] = []
            for _ in 0..<connections {
                let frozen = message
                clients.append(try await ClientBootstrap(group: group)
                    .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(SourceHandler(message: frozen))
                        }
                    }
                    .connect(host: "127.0.0.1", port: port).get())
            }
            try await Task.sleep(for: .milliseconds(Int(warmup * 1000)))
            let before = received.withLockedValue { $0 }
            let clock = Stopwatch()
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            let after = received.withLockedValue { $0 }
            let elapsed = clock.seconds
            for client in clients { try? await client.close() }
            try? await server.close()
            Report.emit([
                "part": "network", "message_bytes": messageBytes, "connections": connections,
                "seconds": Report.round2(elapsed), "bytes": after - before,
                "MB_per_s": Report.mbPerSecond(after - before, elapsed),
            ])
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }
}
