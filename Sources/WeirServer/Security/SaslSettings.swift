import WeirBroker

/// The broker's SASL properties, Kafka's names: `sasl.enabled.mechanisms`, the per-listener JAAS
/// entries `listener.name.<listener>.<mechanism>.sasl.jaas.config`,
/// `connection.failed.authentication.delay.ms` and `connections.max.reauth.ms`.
public struct SaslSettings: Sendable {
    public var enabledMechanisms: [String] = []
    /// listener name → mechanism (upper case) → JAAS entry.
    public var jaas: [String: [String: String]] = [:]
    public var failedAuthenticationDelayMs: Int64 = 100
    /// 0 = sessions never expire.
    public var maxReauthMs: Int64 = 0
    /// `sasl.server.max.receive.size`: the largest request before authentication (Kafka's 512 KiB).
    public var maxReceiveBytes: Int = 524_288

    public init() {}

    typealias Invalid = BrokerProperties.Invalid

    static let setters: [String: @Sendable (inout SaslSettings, String) throws -> Void] = [
        "sasl.enabled.mechanisms": { s, v in
            let names = v.split(separator: ",").map { $0.trimmingSpaces().uppercased() }.filter { !$0.isEmpty }
            for n in names where !SaslServerMechanisms.supported.contains(n) {
                throw Invalid(description: "sasl.enabled.mechanisms: \(n) is not supported (Weir supports "
                    + SaslServerMechanisms.supported.joined(separator: ", ") + ")")
            }
            s.enabledMechanisms = names
        },
        "connection.failed.authentication.delay.ms": { s, v in
            guard let n = Int64(v), n >= 0 else {
                throw Invalid(description: "connection.failed.authentication.delay.ms must be a non-negative integer, not '\(v)'")
            }
            s.failedAuthenticationDelayMs = n
        },
        "sasl.server.max.receive.size": { s, v in
            guard let n = Int(v), n > 0 else {
                throw Invalid(description: "sasl.server.max.receive.size must be a positive integer, not '\(v)'")
            }
            s.maxReceiveBytes = n
        },
        "connections.max.reauth.ms": { s, v in
            guard let n = Int64(v), n >= 0 else {
                throw Invalid(description: "connections.max.reauth.ms must be a non-negative integer, not '\(v)'")
            }
            s.maxReauthMs = n
        },
    ]

    /// `listener.name.<listener>.<mechanism>.sasl.jaas.config`; false when `key` is not of that form.
    mutating func setListenerProperty(_ key: String, _ value: String) throws -> Bool {
        let prefix = "listener.name.", suffix = ".sasl.jaas.config"
        guard key.hasPrefix(prefix) else { return false }
        let middle = key.dropFirst(prefix.count)
        guard middle.hasSuffix(suffix), let dot = middle.firstIndex(of: ".") else {
            throw Invalid(description: "\(key): of the per-listener properties Weir supports only "
                + "listener.name.<listener>.<mechanism>.sasl.jaas.config")
        }
        let listener = String(middle[..<dot]).uppercased()
        let mechanism = String(middle[middle.index(after: dot)...].dropLast(suffix.count)).uppercased()
        guard SaslServerMechanisms.supported.contains(mechanism) else {
            throw Invalid(description: "\(key): \(mechanism) is not a supported SASL mechanism (Weir supports "
                + SaslServerMechanisms.supported.joined(separator: ", ") + ")")
        }
        jaas[listener, default: [:]][mechanism] = value
        return true
    }

    /// The SASL setup of each SASL listener: mechanisms enabled, PLAIN users from its JAAS entry.
    func validate(for listeners: [ListenerSpec]) throws -> [String: [String: String]] {
        for (listener, _) in jaas where !listeners.contains(where: { $0.name == listener }) {
            throw Invalid(description: "listener.name.\(listener.lowercased()).*.sasl.jaas.config names \(listener), which is not in listeners")
        }
        var plainUsers: [String: [String: String]] = [:]
        let sasl = listeners.filter { $0.securityProtocol.usesSASL }
        guard !sasl.isEmpty else { return [:] }
        guard !enabledMechanisms.isEmpty else {
            throw Invalid(description: "sasl.enabled.mechanisms must be set for the listener \(sasl[0].name) "
                + "(Kafka's default, GSSAPI, is not supported; use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
        }
        for l in sasl {
            for (mechanism, text) in jaas[l.name] ?? [:] {
                let key = "listener.name.\(l.name.lowercased()).\(mechanism.lowercased()).sasl.jaas.config"
                let entry: JaasConfig
                do { entry = try JaasConfig(parsing: text) } catch {
                    throw Invalid(description: "\(key): \(error)")
                }
                let module = mechanism == "PLAIN" ? JaasConfig.plainLoginModule : JaasConfig.scramLoginModule
                guard entry.loginModule == module else {
                    throw Invalid(description: "\(key) must name \(module), not \(entry.loginModule)")
                }
                if mechanism == "PLAIN" { plainUsers[l.name] = entry.plainUsers }
            }
            if enabledMechanisms.contains("PLAIN"), plainUsers[l.name, default: [:]].isEmpty {
                throw Invalid(description: "listener.name.\(l.name.lowercased()).plain.sasl.jaas.config must be set with "
                    + "user_<name>=\"<password>\" entries: PLAIN is enabled on the listener \(l.name)")
            }
        }
        return plainUsers
    }
}

enum SaslServerMechanisms {
    static let supported = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
}
