import Foundation
import NIOSSL

/// How the tools reach a secured listener: Kafka's client properties, read from the file
/// `--command-config` names, as kafka-topics.sh and the other scripts read it:
///
///     security.protocol=SASL_SSL                       PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
///     sasl.mechanism=SCRAM-SHA-256                     PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
///     sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";
///     ssl.truststore.type=PEM                          (PEM only)
///     ssl.truststore.location=/etc/weir/ca.pem
///     ssl.keystore.type=PEM                            (PEM only: key and certificate chain in one file)
///     ssl.keystore.location=/etc/weir/client.pem
///     ssl.key.password=…
///     ssl.endpoint.identification.algorithm=           (empty: no host name check; default https)
///
/// Any other key is refused by name, so that a setting never silently does nothing.
public struct ClientSecurity: Sendable {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public enum Mechanism: String, Sendable {
        case plain = "PLAIN"
        case scramSha256 = "SCRAM-SHA-256"
        case scramSha512 = "SCRAM-SHA-512"
    }

    public struct Sasl: Sendable {
        public var mechanism: Mechanism
        public var username: String
        public var password: String
    }

    public var tls: NIOSSLContext?
    public var sasl: Sasl?

    public static let plaintext = ClientSecurity(tls: nil, sasl: nil)

    public init(tls: NIOSSLContext?, sasl: Sasl?) {
        self.tls = tls
        self.sasl = sasl
    }

    static let known: Set<String> = [
        "security.protocol", "sasl.mechanism", "sasl.jaas.config", "ssl.truststore.type", "ssl.truststore.location",
        "ssl.keystore.type", "ssl.keystore.location", "ssl.key.password", "ssl.endpoint.identification.algorithm",
    ]

    /// Parses a client properties file's text.
    public init(properties text: String) throws {
        var p: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let eq = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw Invalid(description: "line \(n + 1): expected key=value, got '\(line)'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard Self.known.contains(key) else {
                throw Invalid(description: "unsupported client property '\(key)'; supported: \(Self.known.sorted().joined(separator: ", "))")
            }
            p[key] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        let proto = (p["security.protocol"] ?? "PLAINTEXT").uppercased()
        guard ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].contains(proto) else {
            throw Invalid(description: "security.protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, not '\(proto)'")
        }
        for key in ["ssl.truststore.type", "ssl.keystore.type"] {
            if let t = p[key], t.uppercased() != "PEM" { throw Invalid(description: "\(key)=\(t) is not supported: use PEM") }
        }
        tls = proto.hasSuffix("SSL") ? try Self.tlsContext(p) : nil
        sasl = proto.hasPrefix("SASL") ? try Self.sasl(p) : nil
    }

    private static func tlsContext(_ p: [String: String]) throws -> NIOSSLContext {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv12
        if let trust = p["ssl.truststore.location"], !trust.isEmpty {
            do { config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trust)) } catch {
                throw Invalid(description: "ssl.truststore.location: cannot load \(trust): \(error)")
            }
        }
        if p["ssl.endpoint.identification.algorithm"]?.isEmpty == true {
            config.certificateVerification = .noHostnameVerification
        }
        if let keystore = p["ssl.keystore.location"], !keystore.isEmpty {
            do {
                config.certificateChain = try NIOSSLCertificate.fromPEMFile(keystore).map { .certificate($0) }
                let key: NIOSSLPrivateKey
                if let password = p["ssl.key.password"] {
                    key = try NIOSSLPrivateKey(file: keystore, format: .pem) { setter in setter(Array(password.utf8)) }
                } else {
                    key = try NIOSSLPrivateKey(file: keystore, format: .pem)
                }
                config.privateKey = .privateKey(key)
            } catch {
                throw Invalid(description: "ssl.keystore.location: cannot load the key and certificate of \(keystore): \(error)")
            }
        }
        do { return try NIOSSLContext(configuration: config) } catch {
            throw Invalid(description: "TLS settings: \(error)")
        }
    }

    private static func sasl(_ p: [String: String]) throws -> Sasl {
        let name = (p["sasl.mechanism"] ?? "GSSAPI").uppercased()
        guard let mechanism = Mechanism(rawValue: name) else {
            throw Invalid(description: "sasl.mechanism=\(name) is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
        }
        guard let jaas = p["sasl.jaas.config"] else { throw Invalid(description: "sasl.jaas.config must be set for SASL") }
        func option(_ key: String) -> String? {
            guard let r = jaas.range(of: "\(key)=\"") else { return nil }
            var value = ""
            var i = r.upperBound
            while i < jaas.endIndex, jaas[i] != "\"" {
                if jaas[i] == "\\", jaas.index(after: i) < jaas.endIndex { i = jaas.index(after: i) }
                value.append(jaas[i])
                i = jaas.index(after: i)
            }
            return i < jaas.endIndex ? value : nil
        }
        guard let username = option("username"), let password = option("password") else {
            throw Invalid(description: "sasl.jaas.config must give username=\"…\" and password=\"…\"")
        }
        return Sasl(mechanism: mechanism, username: username, password: password)
    }
}
