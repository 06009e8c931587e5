import WeirBroker

/// Reads a Kafka-style `server.properties` file plus `--override key=value` pairs into the
/// broker's settings. Strict on purpose: an unknown key or a malformed value stops startup with
/// a message naming it, because a silently ignored typo (`retention.ms` for
/// `log.retention.ms`) is the kind of mistake an operator finds weeks later.
public struct BrokerProperties: Sendable {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Everything the server needs: the broker's typed config plus process-level settings.
    public var broker = BrokerConfig()
    /// `listeners`, resolved against `listener.security.protocol.map`; one server each.
    public var listeners: [ListenerSpec] = [ListenerSpec(name: "PLAINTEXT", securityProtocol: .plaintext, host: "127.0.0.1", port: 9092)]
    /// The `ssl.*` settings of the SSL and SASL_SSL listeners.
    public var tls = TLSSettings()
    /// The `sasl.*` settings of the SASL listeners.
    public var sasl = SaslSettings()
    /// The ACL authorizer's settings.
    public var authorization = AuthorizerSettings()
    /// `etcd.connect` and the other cluster settings.
    public var cluster = ClusterProperties()
    /// PLAIN's users of each SASL listener, from its JAAS entry.
    public private(set) var plainUsers: [String: [String: String]] = [:]
    /// The first listener's address.
    public var listenHost: String { listeners[0].host }
    public var listenPort: Int { listeners[0].port }
    public var logDir = "./data"
    /// `admin.listener=HOST:PORT`: the admin HTTP listener (`AdminServer`); nil (unset or empty) = off.
    /// An empty host means 127.0.0.1.
    public var adminListener: (host: String, port: Int)? = nil
    /// `admin.listener.allow.remote`: whether `admin.listener` may bind a non-loopback address
    /// (it then also needs `admin.auth.token`).
    public var adminAllowRemote = false
    /// `admin.ssl.*` (the broker's `ssl.*` names under an `admin.` prefix): HTTPS on the admin
    /// listener when `admin.ssl.keystore.location` is set.
    public var adminTLS = TLSSettings()
    /// `admin.auth.token`: the bearer token every admin request but /health must carry (or the
    /// console's login cookie); required for a non-loopback admin listener.
    public var adminAuthToken: String? = nil
    /// `admin.console.writable`: whether the web console's write actions (create and delete
    /// topics, reset a group's offsets) are allowed; by default they are refused with 403.
    public var adminConsoleWritable = false
    public var networkThreads = 2
    public var ioThreads = 4
    public var storageWriteBufferBytes = 64 << 20
    public var storageBlockCacheBytes = 64 << 20

    /// Every key this broker understands, with what it does to the settings.
    private static let setters: [String: @Sendable (inout BrokerProperties, String) throws -> Void] = [
        "node.id": { $0.broker.nodeId = try int32($1, "node.id") },
        "broker.id": { $0.broker.nodeId = try int32($1, "broker.id") },
        "listeners": { p, v in
            _ = try ListenerParsing.entries(v, "listeners")
            p.listenersText = v
        },
        "advertised.listeners": { p, v in
            if v.isEmpty { p.advertisedText = nil; return }
            _ = try ListenerParsing.entries(v, "advertised.listeners")
            p.advertisedText = v
        },
        "listener.security.protocol.map": { $0.protocolMap = try ListenerParsing.protocolMap($1) },
        "log.dirs": { $0.logDir = try nonEmpty($1, "log.dirs") },
        "log.dir": { $0.logDir = try nonEmpty($1, "log.dir") },
        "cluster.id": { $0.broker.clusterId = try nonEmpty($1, "cluster.id") },
        "broker.rack": { $0.broker.rack = $1.isEmpty ? nil : $1 },
        "num.partitions": { $0.broker.numPartitions = try positive(int32($1, "num.partitions"), "num.partitions") },
        "default.replication.factor": {
            $0.broker.defaultReplicationFactor = Int16(try positive(int32($1, "default.replication.factor"), "default.replication.factor"))
        },
        "auto.create.topics.enable": { $0.broker.autoCreateTopics = try bool($1, "auto.create.topics.enable") },
        "delete.topic.enable": { $0.broker.deleteTopicEnable = try bool($1, "delete.topic.enable") },
        "message.max.bytes": { $0.broker.messageMaxBytes = Int(try positive(int64($1, "message.max.bytes"), "message.max.bytes")) },
        "socket.request.max.bytes": {
            $0.broker.socketRequestMaxBytes = Int(try positive(int64($1, "socket.request.max.bytes"), "socket.request.max.bytes"))
        },
        "log.message.timestamp.type": { p, v in
            switch v {
            case "CreateTime": p.broker.logAppendTime = false
            case "LogAppendTime": p.broker.logAppendTime = true
            default: throw Invalid(description: "log.message.timestamp.type must be CreateTime or LogAppendTime, not '\(v)'")
            }
        },
        "transaction.max.timeout.ms": {
            $0.broker.transactions.maxTimeoutMs = try positive(int32($1, "transaction.max.timeout.ms"), "transaction.max.timeout.ms")
        },
        "transactional.id.expiration.ms": {
            $0.broker.transactions.idExpirationMs = Int64(try positive(int32($1, "transactional.id.expiration.ms"), "transactional.id.expiration.ms"))
        },
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": {
            $0.broker.transactionCleanupIntervalMs = try positive(int64($1, "transaction.abort.timed.out.transaction.cleanup.interval.ms"),
                                                                  "transaction.abort.timed.out.transaction.cleanup.interval.ms")
        },
        "log.message.downconversion.enable": { $0.broker.downConversion = try bool($1, "log.message.downconversion.enable") },
        "log.retention.hours": { $0.retentionHours = try int64($1, "log.retention.hours") },
        "log.retention.minutes": { $0.retentionMinutes = try int64($1, "log.retention.minutes") },
        "log.retention.ms": { $0.retentionMs = try int64($1, "log.retention.ms") },
        "log.retention.bytes": { $0.broker.retentionBytes = try int64($1, "log.retention.bytes") },
        "log.retention.check.interval.ms": {
            $0.broker.retentionCheckIntervalMs = try positive(int64($1, "log.retention.check.interval.ms"), "log.retention.check.interval.ms")
        },
        "log.cleanup.policy": { p, v in
            guard ["delete", "compact", "compact,delete", "delete,compact"].contains(v) else {
                throw Invalid(description: "log.cleanup.policy must be delete, compact or both, not '\(v)'")
            }
            p.broker.cleanupPolicy = v
        },
        "log.flush.interval.messages": {
            $0.broker.flushIntervalMessages = try positive(int64($1, "log.flush.interval.messages"), "log.flush.interval.messages")
        },
        "log.flush.interval.ms": { $0.broker.flushIntervalMs = try positive(int64($1, "log.flush.interval.ms"), "log.flush.interval.ms") },
        "group.initial.rebalance.delay.ms": {
            $0.broker.groupInitialRebalanceDelayMs = try nonNegative(int64($1, "group.initial.rebalance.delay.ms"), "group.initial.rebalance.delay.ms")
        },
        "group.min.session.timeout.ms": { $0.broker.groupMinSessionTimeoutMs = try int32($1, "group.min.session.timeout.ms") },
        "group.max.session.timeout.ms": { $0.broker.groupMaxSessionTimeoutMs = try int32($1, "group.max.session.timeout.ms") },
        "offsets.retention.minutes": { $0.broker.offsetsRetentionMinutes = try positive(int64($1, "offsets.retention.minutes"), "offsets.retention.minutes") },
        "producer.id.expiration.ms": {
            $0.broker.producerIdExpirationMs = try positive(int64($1, "producer.id.expiration.ms"), "producer.id.expiration.ms")
        },
        "producer.id.expiration.check.interval.ms": {
            $0.broker.producerIdExpirationCheckIntervalMs = try positive(int64($1, "producer.id.expiration.check.interval.ms"),
                                                                         "producer.id.expiration.check.interval.ms")
        },
        "offsets.retention.check.interval.ms": {
            $0.broker.offsetsRetentionCheckIntervalMs = try positive(int64($1, "offsets.retention.check.interval.ms"), "offsets.retention.check.interval.ms")
        },
        "num.network.threads": { $0.networkThreads = Int(try positive(int32($1, "num.network.threads"), "num.network.threads")) },
        "num.io.threads": { $0.ioThreads = Int(try positive(int32($1, "num.io.threads"), "num.io.threads")) },
        "admin.listener": { p, v in
            if v.isEmpty { p.adminListener = nil; return }
            let (host, port) = try hostPort(v, "admin.listener")
            p.adminListener = (host.isEmpty ? "127.0.0.1" : host, port)
        },
        "admin.listener.allow.remote": { $0.adminAllowRemote = try bool($1, "admin.listener.allow.remote") },
        "admin.console.writable": { $0.adminConsoleWritable = try bool($1, "admin.console.writable") },
        "admin.auth.token": { p, v in
            guard v.isEmpty || v.utf8.count >= 16 else {
                throw Invalid(description: "admin.auth.token must be at least 16 characters (it guards the admin API)")
            }
            p.adminAuthToken = v.isEmpty ? nil : v
        },
        "weir.storage.write.buffer.bytes": {
            $0.storageWriteBufferBytes = Int(try positive(int64($1, "weir.storage.write.buffer.bytes"), "weir.storage.write.buffer.bytes"))
        },
        "weir.storage.block.cache.bytes": {
            $0.storageBlockCacheBytes = Int(try positive(int64($1, "weir.storage.block.cache.bytes"), "weir.storage.block.cache.bytes"))
        },
    ]

    // Retention may be given in hours, minutes or ms; Kafka lets the finest unit win.
    private var retentionHours: Int64? = nil
    private var retentionMinutes: Int64? = nil
    private var retentionMs: Int64? = nil
    private var listenersText = "PLAINTEXT://127.0.0.1:9092"
    private var advertisedText: String? = nil
    private var protocolMap = ListenerParsing.defaultProtocolMap

    public init() {}

    /// Parses properties text (`key=value` or `key: value` lines, `#`/`!` comments) and then
    /// the overrides, in order; later values win.
    public init(text: String, overrides: [String] = []) throws {
        var pairs: [(String, String, String)] = []  // key, value, where
        // Java properties' continuation: a line ending in an odd number of backslashes goes on
        // with the next one, whose leading blanks are dropped (long JAAS entries are written so).
        var logical: [(Int, String)] = []
        var pending: (Int, String)? = nil
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmed(" \t\r")
            if pending == nil, line.hasPrefix("#") || line.hasPrefix("!") { continue }
            let trailing = line.reversed().prefix { $0 == "\\" }.count
            let continues = trailing % 2 == 1
            if continues { line.removeLast() }
            if let (start, head) = pending {
                pending = (start, head + line)
            } else {
                pending = (n, line)
            }
            if !continues, let done = pending {
                logical.append(done)
                pending = nil
            }
        }
        if let done = pending { logical.append(done) }
        for (n, line) in logical {
            if line.isEmpty { continue }
            guard let sep = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw Invalid(description: "line \(n + 1): expected key=value, got '\(line)'")
            }
            pairs.append((String(line[..<sep]).trimmed(" \t"),
                          String(line[line.index(after: sep)...]).trimmed(" \t"), "line \(n + 1)"))
        }
        for o in overrides {
            guard let sep = o.firstIndex(of: "=") else {
                throw Invalid(description: "--override '\(o)': expected key=value")
            }
            pairs.append((String(o[..<sep]), String(o[o.index(after: sep)...]), "--override"))
        }
        for (key, value, place) in pairs {
            let adminSSL = key.hasPrefix("admin.ssl.") ? TLSSettings.setters[String(key.dropFirst("admin.".count))] : nil
            guard Self.setters[key] != nil || TLSSettings.setters[key] != nil || SaslSettings.setters[key] != nil
                    || adminSSL != nil
                    || AuthorizerSettings.setters[key] != nil
                    || ClusterProperties.setters[key] != nil
                    || key.hasPrefix("listener.name.") else {
                throw Invalid(description: "unknown property '\(key)' (\(place)); known: \(Self.knownKeys.joined(separator: ", "))")
            }
            do {
                if let set = Self.setters[key] {
                    try set(&self, value)
                } else if let set = adminSSL {
                    try set(&adminTLS, value)
                } else if let set = TLSSettings.setters[key] {
                    try set(&tls, value)
                } else if let set = SaslSettings.setters[key] {
                    try set(&sasl, value)
                } else if let set = AuthorizerSettings.setters[key] {
                    try set(&authorization, value)
                } else if let set = ClusterProperties.setters[key] {
                    try set(&cluster, value)
                } else {
                    _ = try sasl.setListenerProperty(key, value)
                }
            } catch let e as Invalid {
                throw Invalid(description: "\(place): \(e.description)")
            }
        }
        if let ms = retentionMs { broker.retentionMs = ms }
        else if let m = retentionMinutes { broker.retentionMs = m * 60_000 }
        else if let h = retentionHours { broker.retentionMs = h * 3_600_000 }
        listeners = try ListenerParsing.listeners(listenersText, map: protocolMap)
        let advertised = try ListenerParsing.advertised(advertisedText, listeners: listeners)
        broker.advertisedListeners = advertised.map { AdvertisedListener(name: $0.name, host: $0.host, port: Int32($0.port)) }
        broker.advertisedHost = advertised[0].host
        broker.advertisedPort = Int32(advertised[0].port)
        try tls.validate(for: listeners)
        plainUsers = try sasl.validate(for: listeners)
        try cluster.validate(self)
        broker.minInSyncReplicas = cluster.minInSyncReplicas
        // Accepted only where it has an effect: without the listener there is no console to open up.
        if adminConsoleWritable && adminListener == nil {
            throw Invalid(description: "admin.console.writable=true needs admin.listener (the console is served there)")
        }
        if let admin = adminListener, !Self.isLoopback(admin.host), !adminAllowRemote || adminAuthToken == nil {
            throw Invalid(description: "admin.listener \(admin.host):\(admin.port) is not a loopback address: bind 127.0.0.1, "
                + "or set admin.listener.allow.remote=true and admin.auth.token (every request must then carry it)")
        }
        if adminTLS.keystoreLocation != nil || adminTLS.truststoreLocation != nil {
            guard adminListener != nil else {
                throw Invalid(description: "admin.ssl.* needs admin.listener (HTTPS is served there)")
            }
            guard adminTLS.keystoreLocation != nil else {
                throw Invalid(description: "admin.ssl.keystore.location must be set for HTTPS on the admin listener")
            }
            if adminTLS.clientAuth != .none, adminTLS.truststoreLocation == nil {
                throw Invalid(description: "admin.ssl.truststore.location must be set when admin.ssl.client.auth=\(adminTLS.clientAuth.rawValue)")
            }
        }
        if adminAuthToken != nil && adminListener == nil {
            throw Invalid(description: "admin.auth.token needs admin.listener (it guards that listener)")
        }
    }

    /// localhost, 127.0.0.0/8 or ::1.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// An HTTP Host header (`host`, `host:port`, `[v6]:port`) naming a loopback address.
    static func isLoopbackHostHeader(_ header: String) -> Bool {
        var host = Substring(header)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return isLoopback(String(host).lowercased())
    }

    public static var knownKeys: [String] {
        (Array(setters.keys) + Array(TLSSettings.setters.keys) + Array(SaslSettings.setters.keys)
            + Array(AuthorizerSettings.setters.keys) + Array(ClusterProperties.setters.keys)
            + ["listener.name.<listener>.<mechanism>.sasl.jaas.config"]).sorted()
    }

    // MARK: value parsers

    private static func int64(_ v: String, _ key: String) throws -> Int64 {
        guard let n = Int64(v) else { throw Invalid(description: "\(key) must be an integer, not '\(v)'") }
        return n
    }

    private static func int32(_ v: String, _ key: String) throws -> Int32 {
        guard let n = Int32(v) else { throw Invalid(description: "\(key) must be a 32-bit integer, not '\(v)'") }
        return n
    }

    private static func positive<T: BinaryInteger>(_ n: T, _ key: String) throws -> T {
        guard n > 0 else { throw Invalid(description: "\(key) must be positive, not \(n)") }
        return n
    }

    private static func nonNegative<T: BinaryInteger>(_ n: T, _ key: String) throws -> T {
        guard n >= 0 else { throw Invalid(description: "\(key) must not be negative, not \(n)") }
        return n
    }

    private static func bool(_ v: String, _ key: String) throws -> Bool {
        switch v.lowercased() {
        case "true": return true
        case "false": return false
        default: throw Invalid(description: "\(key) must be true or false, not '\(v)'")
        }
    }

    private static func nonEmpty(_ v: String, _ key: String) throws -> String {
        guard !v.isEmpty else { throw Invalid(description: "\(key) must not be empty") }
        return v
    }

    private static func hostPort(_ v: String, _ key: String) throws -> (String, Int) {
        guard let colon = v.lastIndex(of: ":"), let port = Int(v[v.index(after: colon)...]), (0...65535).contains(port) else {
            throw Invalid(description: "\(key) must be host:port, not '\(v)'")
        }
        var host = String(v[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}

private extension StringProtocol {
    func trimmed(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
