import KafkaProtocol
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@Suite struct KafkaFrameDecoderTests {
    private func frame(_ payload: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int32(payload.count))
        b.writeBytes(payload)
        return b
    }

    /// Frames come out whole however the bytes are split (one at a time, in chunks).
    @Test func framesSurviveAnySplit() throws {
        let payloads: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 300)]
        var input = ByteBuffer()
        for p in payloads { var f = frame(p); input.writeBuffer(&f) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, payloads.map { ByteBuffer(bytes: $0) })],
            decoderFactory: { KafkaFrameDecoder(maxFrameBytes: 1024) })
    }

    @Test func oversizedAndNegativeLengthsFailBeforeBuffering() throws {
        for size in [Int32(1025), -1, Int32.min] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 1024)))
            var b = ByteBuffer()
            b.writeInteger(size)
            #expect(throws: KafkaFrameDecoder.FrameTooLarge.self) { try channel.writeInbound(b) }
            _ = try? channel.finish()
        }
    }

    /// sasl.server.max.receive.size: a lower limit until the connection lifts it after authentication.
    @Test func thePreAuthenticationLimitHoldsUntilLifted() throws {
        let gate = PreAuthenticationFrameLimit(bytes: 4)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 1024, preAuthentication: gate)))
        try channel.writeInbound(frame([1, 2, 3, 4]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1, 2, 3, 4]))
        do {
            try channel.writeInbound(frame([1, 2, 3, 4, 5]))
            Issue.record("a 5-byte frame passed a 4-byte pre-authentication limit")
        } catch let error as KafkaFrameDecoder.FrameTooLarge {
            #expect(error.description == "request size 5 exceeds sasl.server.max.receive.size=4")
        }
        let lifted = PreAuthenticationFrameLimit(bytes: 4)
        lifted.lift()
        let open = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 1024, preAuthentication: lifted)))
        try open.writeInbound(frame([1, 2, 3, 4, 5]))
        #expect(try open.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1, 2, 3, 4, 5]))
    }

    @Test func aFrameOfExactlyTheLimitPasses() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 8)))
        try channel.writeInbound(frame([0, 1, 2, 3, 4, 5, 6, 7]))
        let out = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(out == ByteBuffer(bytes: [0, 1, 2, 3, 4, 5, 6, 7]))
        _ = try channel.finish()
    }
}
