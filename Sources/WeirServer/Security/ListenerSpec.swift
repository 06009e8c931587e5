/// Kafka's four security protocols: what a listener speaks on its socket.
public enum SecurityProtocol: String, Sendable, CaseIterable {
    case plaintext = "PLAINTEXT"
    case ssl = "SSL"
    case saslPlaintext = "SASL_PLAINTEXT"
    case saslSSL = "SASL_SSL"

    /// TLS on the socket.
    public var usesTLS: Bool { self == .ssl || self == .saslSSL }
    /// SASL authentication before any other request.
    public var usesSASL: Bool { self == .saslPlaintext || self == .saslSSL }
}

/// One entry of `listeners`: a name (`PLAINTEXT`, `SSL`, or any name that
/// `listener.security.protocol.map` maps), its security protocol and the address it binds.
public struct ListenerSpec: Sendable, Equatable {
    public var name: String
    public var securityProtocol: SecurityProtocol
    public var host: String
    public var port: Int

    public init(name: String, securityProtocol: SecurityProtocol, host: String, port: Int) {
        self.name = name
        self.securityProtocol = securityProtocol
        self.host = host
        self.port = port
    }
}

/// The parsing of `listeners`, `advertised.listeners` and `listener.security.protocol.map`, as
/// Kafka reads them: `NAME://host:port` entries separated by commas (`[::1]` for IPv6 hosts, an
/// empty host binds every interface), names normalised to upper case, each name at most once.
enum ListenerParsing {
    typealias Invalid = BrokerProperties.Invalid

    /// Kafka's default map when `listener.security.protocol.map` is not set.
    static let defaultProtocolMap: [String: SecurityProtocol] =
        Dictionary(uniqueKeysWithValues: SecurityProtocol.allCases.map { ($0.rawValue, $0) })

    /// `PLAINTEXT:PLAINTEXT,EXTERNAL:SASL_SSL`.
    static func protocolMap(_ v: String) throws -> [String: SecurityProtocol] {
        var map: [String: SecurityProtocol] = [:]
        for entry in v.split(separator: ",").map({ $0.trimmingSpaces() }) where !entry.isEmpty {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw Invalid(description: "listener.security.protocol.map entries must look like NAME:PROTOCOL, not '\(entry)'")
            }
            guard let proto = SecurityProtocol(rawValue: String(parts[1]).uppercased()) else {
                throw Invalid(description: "listener.security.protocol.map: '\(parts[1])' is not one of "
                    + SecurityProtocol.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let name = String(parts[0]).uppercased()
            guard map[name] == nil else {
                throw Invalid(description: "listener.security.protocol.map names \(name) twice")
            }
            map[name] = proto
        }
        return map
    }

    /// `(name, host, port)` entries of a listener list, in order.
    static func entries(_ v: String, _ key: String) throws -> [(name: String, host: String, port: Int)] {
        var out: [(name: String, host: String, port: Int)] = []
        for entry in v.split(separator: ",").map({ $0.trimmingSpaces() }) where !entry.isEmpty {
            guard let r = entry.range(of: "://"), !entry[..<r.lowerBound].isEmpty else {
                throw Invalid(description: "\(key) entries must look like NAME://host:port, not '\(entry)'")
            }
            let name = String(entry[..<r.lowerBound]).uppercased()
            let address = entry[r.upperBound...]
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
                  (0...65535).contains(port) else {
                throw Invalid(description: "\(key): '\(entry)' must end in :port")
            }
            var host = String(address[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !out.contains(where: { $0.name == name }) else {
                throw Invalid(description: "\(key) names the listener \(name) twice")
            }
            out.append((name, host, port))
        }
        guard !out.isEmpty else { throw Invalid(description: "\(key) must name at least one listener") }
        return out
    }

    /// `listeners` resolved against the protocol map.
    static func listeners(_ v: String, map: [String: SecurityProtocol]) throws -> [ListenerSpec] {
        var specs: [ListenerSpec] = []
        for e in try entries(v, "listeners") {
            guard let proto = map[e.name] else {
                throw Invalid(description: "listeners: the listener \(e.name) has no security protocol; "
                    + "name it in listener.security.protocol.map (e.g. \(e.name):SSL)")
            }
            if e.port != 0, let other = specs.first(where: { $0.port == e.port }) {
                throw Invalid(description: "listeners: \(e.name) and \(other.name) both use port \(e.port)")
            }
            specs.append(ListenerSpec(name: e.name, securityProtocol: proto, host: e.host.isEmpty ? "0.0.0.0" : e.host, port: e.port))
        }
        return specs
    }

    private static func isWildcard(_ host: String) -> Bool {
        host.isEmpty || host == "0.0.0.0" || host == "::"
    }

    /// Where clients of each listener are told to connect: its `advertised.listeners` entry, or
    /// else its own address (a wildcard bind advertises 127.0.0.1).
    static func advertised(_ v: String?, listeners: [ListenerSpec]) throws -> [(name: String, host: String, port: Int)] {
        let given = try v.map { try entries($0, "advertised.listeners") } ?? []
        for e in given {
            guard listeners.contains(where: { $0.name == e.name }) else {
                throw Invalid(description: "advertised.listeners names \(e.name), which is not in listeners")
            }
            guard !isWildcard(e.host) else {
                throw Invalid(description: "advertised.listeners: \(e.name) advertises '\(e.host)', which clients cannot connect to")
            }
        }
        return listeners.map { l in
            if let e = given.first(where: { $0.name == l.name }) { return e }
            return (l.name, isWildcard(l.host) ? "127.0.0.1" : l.host, l.port)
        }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
