import Foundation
import NIOSSL

/// The TLS side of the SSL and SASL_SSL listeners: the `NIOSSLContext` built from `TLSSettings`.
/// Every file is read at startup, so that a certificate or key that does not load stops the
/// broker with a message naming the property, instead of failing each client's handshake later.
public enum ServerTLS {
    /// HTTPS for the admin listener from `admin.ssl.*`; nil without `admin.ssl.keystore.location`.
    /// Errors name the `admin.`-prefixed property.
    public static func makeAdminContext(_ s: TLSSettings) throws -> NIOSSLContext? {
        guard s.keystoreLocation != nil else { return nil }
        do {
            return try makeContext(s)
        } catch let e as BrokerProperties.Invalid {
            throw BrokerProperties.Invalid(description: e.description.replacingOccurrences(of: "ssl.", with: "admin.ssl."))
        }
    }

    /// Builds the server context: the keystore's chain and key, the truststore when client
    /// certificates are asked for, and the enabled protocol versions.
    public static func makeContext(_ s: TLSSettings) throws -> NIOSSLContext {
        guard let keystore = s.keystoreLocation else {
            throw BrokerProperties.Invalid(description: "ssl.keystore.location must be set for a TLS listener")
        }
        let chain = try loadCertificates(keystore, key: "ssl.keystore.location")
        let privateKey = try loadPrivateKey(keystore, password: s.keyPassword)
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        config.minimumTLSVersion = s.enabledProtocols.contains("TLSv1.2") ? .tlsv12 : .tlsv13
        config.maximumTLSVersion = s.enabledProtocols.contains("TLSv1.3") ? .tlsv13 : .tlsv12
        if s.clientAuth != .none {
            guard let truststore = s.truststoreLocation else {
                throw BrokerProperties.Invalid(description: "ssl.truststore.location must be set when ssl.client.auth=\(s.clientAuth.rawValue)")
            }
            let roots = try loadCertificates(truststore, key: "ssl.truststore.location")
            config.trustRoots = .certificates(roots)
            config.certificateVerification = s.clientAuth == .required ? .noHostnameVerification : .optionalVerification
        }
        do {
            return try NIOSSLContext(configuration: config)
        } catch {
            throw BrokerProperties.Invalid(description: "ssl.keystore.location: the key in \(keystore) does not fit its certificate, "
                + "or the TLS settings are inconsistent: \(error)")
        }
    }

    private static func loadCertificates(_ path: String, key: String) throws -> [NIOSSLCertificate] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw BrokerProperties.Invalid(description: "\(key): cannot read \(path)")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw BrokerProperties.Invalid(description: "\(key): \(path) holds no PEM certificate that loads: \(error)")
        }
        guard !certificates.isEmpty else {
            throw BrokerProperties.Invalid(description: "\(key): \(path) holds no PEM certificate")
        }
        return certificates
    }

    private static func loadPrivateKey(_ path: String, password: String?) throws -> NIOSSLPrivateKey {
        guard let text = FileManager.default.contents(atPath: path) else {
            throw BrokerProperties.Invalid(description: "ssl.keystore.location: cannot read \(path)")
        }
        // BoringSSL's PEM reader skips certificate blocks, but say plainly when there is no key at all.
        guard String(decoding: text, as: UTF8.self).contains("PRIVATE KEY-----") else {
            throw BrokerProperties.Invalid(description: "ssl.keystore.location: \(path) holds no PEM private key "
                + "(the PEM keystore is the private key and the certificate chain in one file)")
        }
        let encrypted = String(decoding: text, as: UTF8.self).contains("ENCRYPTED")
        do {
            if let password {
                return try NIOSSLPrivateKey(file: path, format: .pem) { setter in setter(Array(password.utf8)) }
            }
            if encrypted {
                throw BrokerProperties.Invalid(description: "ssl.key.password must be set: the private key in \(path) is encrypted")
            }
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch let error as BrokerProperties.Invalid {
            throw error
        } catch {
            if password != nil {
                throw BrokerProperties.Invalid(description: "ssl.key.password: the private key in \(path) does not load with it: \(error)")
            }
            throw BrokerProperties.Invalid(description: "ssl.keystore.location: the private key in \(path) does not load: \(error)")
        }
    }
}
