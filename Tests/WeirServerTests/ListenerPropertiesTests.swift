import Foundation
import Testing
@testable import WeirServer

/// `listeners`, `advertised.listeners`, `listener.security.protocol.map` and the `ssl.*` keys,
/// as Kafka reads them, and the mutual-TLS principal's subject string.
@Suite struct ListenerPropertiesTests {
    @Test func severalListenersEachAdvertiseTheirOwnAddress() throws {
        let p = try BrokerProperties(text: """
            listeners=PLAINTEXT://127.0.0.1:9092,INTERNAL://0.0.0.0:9093,SSL://:9094
            listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,SSL:SSL
            advertised.listeners=SSL://kafka.example:19094
            ssl.keystore.location=/k.pem
            """)
        #expect(p.listeners == [
            ListenerSpec(name: "PLAINTEXT", securityProtocol: .plaintext, host: "127.0.0.1", port: 9092),
            ListenerSpec(name: "INTERNAL", securityProtocol: .plaintext, host: "0.0.0.0", port: 9093),
            ListenerSpec(name: "SSL", securityProtocol: .ssl, host: "0.0.0.0", port: 9094),
        ])
        #expect(p.broker.advertised(for: "PLAINTEXT") == ("127.0.0.1", 9092))
        #expect(p.broker.advertised(for: "INTERNAL") == ("127.0.0.1", 9093))
        #expect(p.broker.advertised(for: "SSL") == ("kafka.example", 19094))
        #expect(p.broker.advertisedListenersText
            == "PLAINTEXT://127.0.0.1:9092,INTERNAL://127.0.0.1:9093,SSL://kafka.example:19094")
        #expect(p.listenPort == 9092)
    }

    @Test func listenerMistakesStopStartupNamingTheProperty() {
        let cases: [(String, String)] = [
            ("listeners=EXTERNAL://:9093", "listeners: the listener EXTERNAL has no security protocol"),
            ("listeners=PLAINTEXT://:9092,SSL://:9092\nssl.keystore.location=/k", "listeners: SSL and PLAINTEXT both use port 9092"),
            ("listeners=PLAINTEXT://:9092,PLAINTEXT://:9093", "line 1: listeners names the listener PLAINTEXT twice"),
            ("listeners=PLAINTEXT://:9092\nadvertised.listeners=SSL://h:1", "advertised.listeners names SSL, which is not in listeners"),
            ("advertised.listeners=PLAINTEXT://0.0.0.0:9092", "advertised.listeners: PLAINTEXT advertises '0.0.0.0'"),
            ("listener.security.protocol.map=A:TLS", "line 1: listener.security.protocol.map: 'TLS' is not one of"),
            ("listeners=SSL://:9093", "ssl.keystore.location must be set: the listener SSL is SSL"),
            ("listeners=SSL://:9093\nssl.keystore.location=/k\nssl.client.auth=required",
             "ssl.truststore.location must be set when ssl.client.auth=required"),
            ("ssl.keystore.type=JKS", "line 1: ssl.keystore.type=JKS is not supported: Weir reads PEM files (KIP-651)"),
            ("ssl.truststore.type=PKCS12", "line 1: ssl.truststore.type=PKCS12 is not supported"),
            ("ssl.client.auth=sometimes", "line 1: ssl.client.auth must be none, requested or required"),
            ("ssl.enabled.protocols=TLSv1.2,TLSv1.1", "line 1: ssl.enabled.protocols must list TLSv1.2 and/or TLSv1.3"),
        ]
        for (text, message) in cases {
            do {
                _ = try BrokerProperties(text: text)
                Issue.record("accepted \(text)")
            } catch {
                #expect("\(error)".hasPrefix(message), "\(text)")
            }
        }
    }

    @Test func aKeystoreThatDoesNotLoadNamesTheProperty() throws {
        var s = TLSSettings()
        s.keystoreLocation = "/nonexistent/k.pem"
        do {
            _ = try ServerTLS.makeContext(s)
            Issue.record("loaded a missing file")
        } catch {
            #expect("\(error)" == "ssl.keystore.location: cannot read /nonexistent/k.pem")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk.pem").path
        try "not a certificate\n".write(toFile: junk, atomically: true, encoding: .utf8)
        s.keystoreLocation = junk
        do {
            _ = try ServerTLS.makeContext(s)
            Issue.record("loaded junk")
        } catch {
            #expect("\(error)".hasPrefix("ssl.keystore.location: \(junk) holds no PEM certificate"))
        }
    }

    /// Java properties' line continuation, as long JAAS entries are written; SASL and authorizer keys.
    @Test func continuedLinesSaslAndAuthorizerSettings() throws {
        let p = try BrokerProperties(text: """
            listeners=PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9094
            sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256
            listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\
                user_admin="admin-secret" \\
                user_alice="alice-secret";
            authorizer.class.name=kafka.security.authorizer.AclAuthorizer
            super.users=User:admin;User:ops
            connections.max.reauth.ms=60000
            """)
        #expect(p.plainUsers == ["SASL_PLAINTEXT": ["admin": "admin-secret", "alice": "alice-secret"]])
        #expect(p.sasl.enabledMechanisms == ["PLAIN", "SCRAM-SHA-256"])
        #expect(p.sasl.maxReauthMs == 60000)
        #expect(p.authorization.enabled)
        #expect(p.authorization.superUsers == ["User:admin", "User:ops"])
        for (text, message) in [
            ("authorizer.class.name=com.example.Mine", "line 1: authorizer.class.name=com.example.Mine is not supported"),
            ("super.users=admin", "line 1: super.users: 'admin' is not a principal like User:admin"),
            ("listeners=SASL_PLAINTEXT://:9094", "sasl.enabled.mechanisms must be set for the listener SASL_PLAINTEXT"),
            ("listeners=SASL_PLAINTEXT://:9094\nsasl.enabled.mechanisms=PLAIN",
             "listener.name.sasl_plaintext.plain.sasl.jaas.config must be set"),
            ("sasl.enabled.mechanisms=GSSAPI", "line 1: sasl.enabled.mechanisms: GSSAPI is not supported"),
            ("listener.name.x.ssl.keystore.location=/k", "line 1: listener.name.x.ssl.keystore.location: of the per-listener properties"),
        ] {
            do {
                _ = try BrokerProperties(text: text)
                Issue.record("accepted \(text)")
            } catch {
                #expect("\(error)".hasPrefix(message), "\(text): \(error)")
            }
        }
    }

    /// `openssl req -subj "/C=US/O=Weir, Inc./OU=eng/CN=alice/emailAddress=a@b.c"`: Java prints the
    /// RDNs last first, escapes the comma, and gives emailAddress (no RFC 2253 keyword) as OID=#DER.
    @Test func theSubjectIsFormedAsJavaFormsIt() throws {
        let der = try #require(Data(base64Encoded: Self.certificate))
        #expect(CertificateSubject.rfc2253(certificateDER: Array(der))
            == "1.2.840.113549.1.9.1=#16056140622e63,CN=alice,OU=eng,O=Weir\\, Inc.,C=US")
        #expect(CertificateSubject.rfc2253(certificateDER: Array(der.prefix(100))) == nil)
        #expect(CertificateSubject.rfc2253(certificateDER: []) == nil)
        #expect(CertificateSubject.escape(" #a+b;") == "\\ #a\\+b\\;")
    }

    static let certificate = """
        MIICATCCAaegAwIBAgIUdUiGj6j71i2NAZmG2EAHD3bQeqIwCgYIKoZIzj0EAwIwVjELMAkGA1UEBhMCVVMxEzARBgNVBAoMCldlaXIsIEluYy4xDDAKBgNVBAsMA2VuZzEOMAwGA1UEAwwFYWxpY2UxFDASBgkqhkiG9w0BCQEWBWFAYi5jMB4XDTI2MTIwMjEzMTEwM1oXDTM2MTEyOTEzMTEwM1owVjELMAkGA1UEBhMCVVMxEzARBgNVBAoMCldlaXIsIEluYy4xDDAKBgNVBAsMA2VuZzEOMAwGA1UEAwwFYWxpY2UxFDASBgkqhkiG9w0BCQEWBWFAYi5jMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEm3nDdlBjBr1Cy4JANPBvkl3X7NhZWdDMlHIlX9GLtsz7SyyKT2FD8sw27YpbQ1UBpwgPxlWImVaqRniHnnnbCqNTMFEwHQYDVR0OBBYEFJi5tn+mfNUq4OUSE58YVxDP4hAdMB8GA1UdIwQYMBaAFJi5tn+mfNUq4OUSE58YVxDP4hAdMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhALeHrBsbB8/UpxG3iC+uVcVN5ZT/uB8mcGcpGdsE0UlIAiBH1DFVEB3ixShSwFk6dzzcrIlDEa/IrUMvegftXvaOtw==
        """
}
