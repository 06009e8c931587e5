import KafkaProtocol
import Logging
import NIOCore
import NIOEmbedded
import Foundation
import Testing
@testable import WeirBroker
@testable import WeirServer
import WeirStorage

/// The SASL gate on an EmbeddedChannel: real frames in, real answers out, no sockets.
@Suite struct SaslConnectionTests {
    private static func channel(delayMs: Int64 = 0) throws -> EmbeddedChannel {
        var registry = HandlerRegistry()
        registry.register(ApiVersionsHandler(advertised: [(18, 0, 3)]))
        let sasl = SaslServerConfig(mechanisms: ["PLAIN"], plainUsers: ["alice": "alice-secret"], credentials: InMemoryMetadataStore(),
                                    failedAuthenticationDelayMs: delayMs, fakeSaltKey: [1])
        let handler = KafkaConnectionHandler(dispatcher: RequestDispatcher(registry: registry, logger: Logger(label: "test")),
                                             connections: ConnectionRegistry(), listenerName: "SASL_PLAINTEXT", sasl: sasl,
                                             logger: Logger(label: "test"))
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    private static func request(_ key: Int16, _ version: Int16, _ correlationId: Int32, body: (inout ByteBuffer) -> Void = { _ in }) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(key)
        b.writeInteger(version)
        b.writeInteger(correlationId)
        b.writeInteger(Int16(-1))  // null client id
        body(&b)
        return b
    }

    private static func handshake(_ mechanism: String) -> ByteBuffer {
        request(17, 1, 1) { b in
            b.writeInteger(Int16(mechanism.utf8.count))
            b.writeString(mechanism)
        }
    }

    private static func authenticate(_ token: String) -> ByteBuffer {
        request(36, 1, 2) { b in
            b.writeInteger(Int32(token.utf8.count))
            b.writeString(token)
        }
    }

    /// (correlation id, the error code that starts the body) of each answer.
    private static func answers(_ channel: EmbeddedChannel) throws -> [(Int32, Int16)] {
        var out: [(Int32, Int16)] = []
        while var frame = try channel.readOutbound(as: ByteBuffer.self) {
            _ = frame.readInteger(as: Int32.self)
            let id = frame.readInteger(as: Int32.self)
            let code = frame.readInteger(as: Int16.self)
            out.append((try #require(id), try #require(code)))
        }
        return out
    }

    @Test func apiVersionsThenPlainThenServed() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.request(18, 0, 9))
        try channel.writeInbound(Self.handshake("PLAIN"))
        try channel.writeInbound(Self.authenticate("\0alice\0alice-secret"))
        try channel.writeInbound(Self.request(18, 0, 10))
        let got = try Self.answers(channel)
        #expect(got.map(\.0) == [9, 1, 2, 10])
        #expect(got.map(\.1) == [0, 0, 0, 0])
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func anyOtherRequestBeforeAuthenticationCloses() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.request(3, 1, 5) { $0.writeInteger(Int32(0)) })
        #expect(try Self.answers(channel).isEmpty)
        #expect(!channel.isActive)
    }

    @Test func aWrongPasswordAnswers58ThenClosesAfterTheDelay() throws {
        let channel = try Self.channel(delayMs: 100)
        try channel.writeInbound(Self.handshake("PLAIN"))
        try channel.writeInbound(Self.authenticate("\0alice\0wrong"))
        let got = try Self.answers(channel)
        #expect(got.map(\.1) == [0, ErrorCode.saslAuthenticationFailed.rawValue])
        // Further requests are not served while the close waits.
        try channel.writeInbound(Self.request(18, 0, 11))
        #expect(try Self.answers(channel).isEmpty)
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(!channel.isActive)
    }

    @Test func anUnsupportedMechanismAnswers33AndCloses() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.handshake("GSSAPI"))
        #expect(try Self.answers(channel).map(\.1) == [ErrorCode.unsupportedSaslMechanism.rawValue])
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test func truncatedSaslFramesClose() throws {
        for frame in [Self.request(36, 1, 2) { $0.writeInteger(Int32(100)) }, Self.request(17, 1, 1) { $0.writeInteger(Int16(50)) },
                      Self.request(17, 7, 1)] {
            let channel = try Self.channel()
            if frame.getInteger(at: 0, as: Int16.self) == 36 { try channel.writeInbound(Self.handshake("PLAIN")) }
            _ = try Self.answers(channel)
            try channel.writeInbound(frame)
            #expect(try Self.answers(channel).isEmpty)
            #expect(!channel.isActive)
        }
    }

    /// Random bytes as SASL tokens and as certificates: never a crash, always a verdict.
    @Test func randomInputNeverCrashes() throws {
        var rng = SystemRandomNumberGenerator()
        let store = InMemoryMetadataStore()
        try store.alterScramCredentials([.upsert(user: "u", mechanism: .sha512,
                                                 credential: ScramFormatter(.sha512).credential(password: "p", salt: [1, 2], iterations: 4096))])
        let der = Array(Data(base64Encoded: ListenerPropertiesTests.certificate)!)
        for _ in 0..<3000 {
            let n = Int.random(in: 0..<80, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var scram = ScramServerExchange(mechanism: .sha512, fakeSaltKey: [1], lookup: { store.scramCredential(user: $0, mechanism: .sha512) })
            _ = scram.receive(Array("n,,n=u,r=x".utf8))
            _ = scram.receive(bytes)
            var first = ScramServerExchange(mechanism: .sha512, fakeSaltKey: [1], lookup: { _ in nil })
            _ = first.receive(bytes)
            _ = PlainAuthenticator(users: ["a": "b"]).authenticate(bytes)
            var mutated = der
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = CertificateSubject.rfc2253(certificateDER: Array(mutated.prefix(Int.random(in: 0...mutated.count, using: &rng))))
        }
    }
}
