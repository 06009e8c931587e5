/// The broker's `ssl.*` properties (Kafka's names, PEM files as KIP-651 reads them), shared by
/// every SSL and SASL_SSL listener.
public struct TLSSettings: Sendable, Equatable {
    /// `ssl.client.auth`.
    public enum ClientAuth: String, Sendable {
        /// No client certificate is asked for.
        case none
        /// A client certificate is asked for; one that is presented must verify, none is fine.
        case requested
        /// The handshake fails without a client certificate that verifies.
        case required
    }

    /// `ssl.keystore.location`: the private key and the certificate chain, PEM, in one file.
    public var keystoreLocation: String? = nil
    /// `ssl.key.password`: the passphrase of an encrypted (PKCS#8) private key.
    public var keyPassword: String? = nil
    /// `ssl.truststore.location`: the CA certificates client certificates must chain to, PEM.
    public var truststoreLocation: String? = nil
    public var clientAuth: ClientAuth = .none
    /// `ssl.enabled.protocols`: TLSv1.2 and TLSv1.3 (Kafka's default); at least one.
    public var enabledProtocols: Set<String> = ["TLSv1.2", "TLSv1.3"]
    /// `weir.ssl.reload.check.interval.ms`: how often the keystore and truststore files are
    /// checked for a change (renewed certificates load without a restart). Weir's own key.
    public var reloadCheckIntervalMs: Int64 = 5000

    public init() {}

    static let supportedProtocols: Set<String> = ["TLSv1.2", "TLSv1.3"]

    /// The setters of the `ssl.*` keys, merged into `BrokerProperties`'.
    static let setters: [String: @Sendable (inout TLSSettings, String) throws -> Void] = [
        "ssl.keystore.type": { _, v in try pemOnly(v, "ssl.keystore.type") },
        "ssl.truststore.type": { _, v in try pemOnly(v, "ssl.truststore.type") },
        "ssl.keystore.location": { $0.keystoreLocation = $1.isEmpty ? nil : $1 },
        "ssl.key.password": { $0.keyPassword = $1.isEmpty ? nil : $1 },
        "ssl.truststore.location": { $0.truststoreLocation = $1.isEmpty ? nil : $1 },
        "ssl.client.auth": { s, v in
            guard let auth = ClientAuth(rawValue: v.lowercased()) else {
                throw BrokerProperties.Invalid(description: "ssl.client.auth must be none, requested or required, not '\(v)'")
            }
            s.clientAuth = auth
        },
        "weir.ssl.reload.check.interval.ms": { s, v in
            guard let n = Int64(v), n > 0 else {
                throw BrokerProperties.Invalid(description: "weir.ssl.reload.check.interval.ms must be a positive integer, not '\(v)'")
            }
            s.reloadCheckIntervalMs = n
        },
        "ssl.enabled.protocols": { s, v in
            let protocols = Set(v.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty })
            let unsupported = protocols.subtracting(supportedProtocols)
            guard unsupported.isEmpty, !protocols.isEmpty else {
                throw BrokerProperties.Invalid(description: "ssl.enabled.protocols must list TLSv1.2 and/or TLSv1.3, not '\(v)'"
                    + (unsupported.isEmpty ? "" : " (\(unsupported.sorted().joined(separator: ", ")) not supported)"))
            }
            s.enabledProtocols = protocols
        },
    ]

    private static func pemOnly(_ v: String, _ key: String) throws {
        guard v.uppercased() == "PEM" else {
            throw BrokerProperties.Invalid(description: "\(key)=\(v) is not supported: Weir reads PEM files (KIP-651); set \(key)=PEM")
        }
    }

    /// Whether the listeners need these settings, and whether they are complete for them.
    func validate(for listeners: [ListenerSpec]) throws {
        guard let first = listeners.first(where: { $0.securityProtocol.usesTLS }) else { return }
        guard keystoreLocation != nil else {
            throw BrokerProperties.Invalid(description: "ssl.keystore.location must be set: the listener \(first.name) is \(first.securityProtocol.rawValue)")
        }
        if clientAuth != .none, truststoreLocation == nil {
            throw BrokerProperties.Invalid(description: "ssl.truststore.location must be set when ssl.client.auth=\(clientAuth.rawValue)")
        }
    }
}
