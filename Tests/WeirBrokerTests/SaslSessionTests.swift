import Foundation
import KafkaProtocol
import Testing
import WeirBroker
import WeirStorage

/// SCRAM against RFC 7677's own exchange, PLAIN, and the connection's authentication gate —
/// pure values, no sockets.
@Suite struct SaslSessionTests {
    static let salt = Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)

    static func store() throws -> InMemoryMetadataStore {
        let s = InMemoryMetadataStore()
        try s.alterScramCredentials([
            .upsert(user: "user", mechanism: .sha256,
                    credential: ScramFormatter(.sha256).credential(password: "pencil", salt: salt, iterations: 4096)),
        ])
        return s
    }

    static func config(_ mechanisms: [String] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], reauthMs: Int64? = nil) throws -> SaslServerConfig {
        SaslServerConfig(mechanisms: mechanisms, plainUsers: ["alice": "alice-secret"], credentials: try store(),
                         maxReauthMs: reauthMs, fakeSaltKey: Array(repeating: 7, count: 32))
    }

    @Test func rfc7677Exchange() throws {
        let s = try Self.store()
        var x = ScramServerExchange(mechanism: .sha256, fakeSaltKey: [1], lookup: { s.scramCredential(user: $0, mechanism: .sha256) },
                                    serverNonce: { "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" })
        #expect(x.receive(Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8))
            == .challenge(Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8)))
        let final = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        #expect(x.receive(Array(final.utf8))
            == .authenticated(user: "user", serverFinal: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)))
    }

    @Test func scramRefusesANonceMismatchAWrongProofAndAnUnknownUserAlike() throws {
        let s = try Self.store()
        func exchange() -> ScramServerExchange {
            ScramServerExchange(mechanism: .sha256, fakeSaltKey: [1], lookup: { s.scramCredential(user: $0, mechanism: .sha256) },
                                serverNonce: { "SERVER" })
        }
        var x = exchange()
        _ = x.receive(Array("n,,n=user,r=abc".utf8))
        #expect(x.receive(Array("c=biws,r=abcOTHER,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".utf8))
            == .failed(reason: "client-final: nonce mismatch"))
        x = exchange()
        _ = x.receive(Array("n,,n=user,r=abc".utf8))
        #expect(x.receive(Array("c=biws,r=abcSERVER,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".utf8))
            == .failed(reason: "invalid proof for user"))
        // An unknown user gets a challenge like any other (a stable fake salt), then fails.
        x = exchange()
        guard case .challenge(let first) = x.receive(Array("n,,n=nobody,r=abc".utf8)) else {
            Issue.record("no challenge for an unknown user")
            return
        }
        var again = exchange()
        #expect(again.receive(Array("n,,n=nobody,r=abc".utf8)) == .challenge(first))
        #expect(String(decoding: first, as: UTF8.self).hasSuffix(",i=4096"))
        #expect(x.receive(Array("c=biws,r=abcSERVER,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".utf8))
            == .failed(reason: "unknown user nobody"))
    }

    @Test func scramRefusesMalformedMessages() throws {
        let s = try Self.store()
        let bad: [[UInt8]] = [
            [], [0xFF, 0xFE], Array("n,,".utf8), Array("p=tls-unique,,n=user,r=abc".utf8), Array("n,,r=abc,n=user".utf8),
            Array("n,,n=us=ZZer,r=abc".utf8), Array("n,,n=user,r=abc,e=ext".utf8), Array("n,a=other,n=user,r=abc".utf8),
            Array("n,,n=,r=abc".utf8), Array("n,,n=user,r=".utf8),
        ]
        for message in bad {
            var x = ScramServerExchange(mechanism: .sha256, fakeSaltKey: [1], lookup: { s.scramCredential(user: $0, mechanism: .sha256) })
            guard case .failed = x.receive(message) else {
                Issue.record("accepted \(String(decoding: message, as: UTF8.self))")
                continue
            }
        }
        let finals = ["", "c=biws", "c=biws,r=abcS,p=", "c=biws,r=abcS,p=!!!", "c=eSws,r=abcS,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                      "r=abcS,c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "c=biws,r=abcS,p=AAAA"]
        for final in finals {
            var x = ScramServerExchange(mechanism: .sha256, fakeSaltKey: [1], lookup: { s.scramCredential(user: $0, mechanism: .sha256) },
                                        serverNonce: { "S" })
            _ = x.receive(Array("n,,n=user,r=abc".utf8))
            guard case .failed = x.receive(Array(final.utf8)) else {
                Issue.record("accepted final \(final)")
                continue
            }
        }
    }

    @Test func beforeAuthenticationOnlyApiVersionsAndSaslAreServed() throws {
        var s = SaslSession(config: try Self.config())
        #expect(s.admit(apiKey: ApiKey.apiVersions.rawValue, nowMs: 0) == .dispatch(.anonymous))
        #expect(s.admit(apiKey: ApiKey.saslHandshake.rawValue, nowMs: 0) == .handshake)
        #expect(s.admit(apiKey: ApiKey.produce.rawValue, nowMs: 0) == .close("Produce request before SASL authentication"))
        #expect(s.admit(apiKey: ApiKey.apiVersions.rawValue, nowMs: 0) == .close("request after a failed SASL authentication"))

        s = SaslSession(config: try Self.config())
        #expect(s.handshake(mechanism: "PLAIN", version: 1) == (.none, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], false))
        #expect(s.admit(apiKey: ApiKey.metadata.rawValue, nowMs: 0)
            == .close("Metadata request during SASL authentication (expected SaslAuthenticate)"))
    }

    @Test func plainAuthenticatesAndFailsWithoutSayingWhy() throws {
        var s = SaslSession(config: try Self.config())
        _ = s.handshake(mechanism: "PLAIN", version: 1)
        #expect(s.admit(apiKey: ApiKey.saslAuthenticate.rawValue, nowMs: 0) == .authenticate)
        #expect(s.authenticate(Array("\0alice\0alice-secret".utf8), nowMs: 0) == .authenticated([], sessionLifetimeMs: 0))
        #expect(s.admit(apiKey: ApiKey.produce.rawValue, nowMs: 10_000_000) == .dispatch(.user("alice")))

        for token in ["\0alice\0wrong", "\0bob\0alice-secret", "alice", "", "\0\0", "bob\0alice\0alice-secret"] {
            var f = SaslSession(config: try Self.config())
            _ = f.handshake(mechanism: "PLAIN", version: 1)
            guard case .failed = f.authenticate(Array(token.utf8), nowMs: 0) else {
                Issue.record("accepted \(token.debugDescription)")
                continue
            }
            #expect(!f.isAuthenticated)
        }
    }

    @Test func anUnsupportedMechanismIsRefusedWithTheList() throws {
        var s = SaslSession(config: try Self.config(["SCRAM-SHA-512"]))
        #expect(s.handshake(mechanism: "PLAIN", version: 1) == (.unsupportedSaslMechanism, ["SCRAM-SHA-512"], true))
        #expect(s.authenticate(Array("\0alice\0alice-secret".utf8), nowMs: 0) == .failed(reason: "SaslAuthenticate without a SaslHandshake"))
    }

    @Test func handshakeV0TakesRawTokens() throws {
        var s = SaslSession(config: try Self.config())
        _ = s.handshake(mechanism: "PLAIN", version: 0)
        #expect(s.admit(apiKey: 0x00, nowMs: 0) == .rawToken)
        #expect(s.authenticate(Array("\0alice\0alice-secret".utf8), nowMs: 0) == .authenticated([], sessionLifetimeMs: 0))
    }

    /// KIP-368: the lifetime is announced; after it only a re-authentication is served, which
    /// must name the same principal.
    @Test func sessionsExpireAndReauthenticate() throws {
        var s = SaslSession(config: try Self.config(reauthMs: 1000))
        _ = s.handshake(mechanism: "PLAIN", version: 1)
        #expect(s.authenticate(Array("\0alice\0alice-secret".utf8), nowMs: 5000) == .authenticated([], sessionLifetimeMs: 1000))
        #expect(s.admit(apiKey: ApiKey.fetch.rawValue, nowMs: 5999) == .dispatch(.user("alice")))
        #expect(s.admit(apiKey: ApiKey.saslHandshake.rawValue, nowMs: 5999) == .handshake)
        _ = s.handshake(mechanism: "PLAIN", version: 1)
        #expect(s.authenticate(Array("\0alice\0alice-secret".utf8), nowMs: 5999) == .authenticated([], sessionLifetimeMs: 1000))
        #expect(s.admit(apiKey: ApiKey.fetch.rawValue, nowMs: 6500) == .dispatch(.user("alice")))
        #expect(s.admit(apiKey: ApiKey.fetch.rawValue, nowMs: 6999)
            == .close("SASL session of User:alice expired (connections.max.reauth.ms) without re-authentication"))

        var other = SaslSession(config: SaslServerConfig(mechanisms: ["PLAIN"], plainUsers: ["alice": "a", "bob": "b"],
                                                         credentials: InMemoryMetadataStore(), maxReauthMs: 1000, fakeSaltKey: [1]))
        _ = other.handshake(mechanism: "PLAIN", version: 1)
        _ = other.authenticate(Array("\0alice\0a".utf8), nowMs: 0)
        _ = other.handshake(mechanism: "PLAIN", version: 1)
        #expect(other.authenticate(Array("\0bob\0b".utf8), nowMs: 10) == .failed(reason: "re-authentication as User:bob, not User:alice"))
    }

    @Test func jaasEntriesParseAsKafkaWritesThem() throws {
        let j = try JaasConfig(parsing: #"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="al\"ice";"#)
        #expect(j.loginModule == JaasConfig.plainLoginModule)
        #expect(j.plainUsers == ["admin": "admin-secret", "alice": "al\"ice"])
        #expect(throws: JaasConfig.Invalid.self) { try JaasConfig(parsing: "PlainLoginModule required user_a=\"x\"") }
        #expect(throws: JaasConfig.Invalid.self) { try JaasConfig(parsing: "PlainLoginModule maybe;") }
        #expect(throws: JaasConfig.Invalid.self) { try JaasConfig(parsing: "PlainLoginModule required user_a=\"x;") }
    }
}
