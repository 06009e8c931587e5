import KafkaProtocol
import Logging
import NIOCore
import NIOEmbedded
import Testing
@testable import WeirBroker
@testable import WeirServer

/// The connection handler on an EmbeddedChannel: real frames in, real answers out, no sockets.
@Suite struct KafkaConnectionHandlerTests {
    private static func channel() throws -> EmbeddedChannel {
        var registry = HandlerRegistry()
        registry.register(ApiVersionsHandler(advertised: [(18, 0, 3)]))
        let handler = KafkaConnectionHandler(dispatcher: RequestDispatcher(registry: registry, logger: Logger(label: "test")),
                                             connections: ConnectionRegistry(), logger: Logger(label: "test"))
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// An ApiVersions v0 request frame without its size prefix (the frame decoder strips it).
    private static func apiVersions(correlationId: Int32) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int16(18))
        b.writeInteger(Int16(0))
        b.writeInteger(correlationId)
        b.writeInteger(Int16(-1))  // null client id
        return b
    }

    private static func correlationIds(_ channel: EmbeddedChannel) throws -> [Int32] {
        var ids: [Int32] = []
        while var out = try channel.readOutbound(as: ByteBuffer.self) {
            let size = out.readInteger(as: Int32.self)
            #expect(size.map(Int.init) == out.readableBytes)
            let id = out.readInteger(as: Int32.self)
            ids.append(try #require(id))
        }
        return ids
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let channel = try Self.channel()
        for id: Int32 in [7, 8, 9] { try channel.writeInbound(Self.apiVersions(correlationId: id)) }
        channel.pipeline.fireChannelReadComplete()
        #expect(try Self.correlationIds(channel) == [7, 8, 9])
        _ = try channel.finish()
    }

    @Test func aClientThatStopsReadingGetsNoAnswersUntilItReadsAgain() throws {
        let channel = try Self.channel()
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        try channel.writeInbound(Self.apiVersions(correlationId: 1))
        try channel.writeInbound(Self.apiVersions(correlationId: 2))
        channel.pipeline.fireChannelReadComplete()
        #expect(try Self.correlationIds(channel) == [])
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(try Self.correlationIds(channel) == [1, 2])
        _ = try channel.finish()
    }

    @Test func aMalformedRequestClosesTheConnection() throws {
        let channel = try Self.channel()
        var garbage = ByteBuffer()
        garbage.writeInteger(Int16(999))  // unknown api key
        garbage.writeInteger(Int16(0))
        garbage.writeInteger(Int32(1))
        try channel.writeInbound(garbage)
        #expect(!channel.isActive)
        #expect(try Self.correlationIds(channel) == [])
    }
}
