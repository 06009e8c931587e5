import KafkaProtocol
import NIOCore
import NIOPosix
import Synchronization

/// A small Kafka client for Weir's command-line tools: bootstrap, version negotiation,
/// metadata, and one connection per broker. Every request goes out at the highest version both
/// sides support (capped at what this client was written for).
///
/// Safe to share between tasks (and it is shared: a request abandoned by `withDeadline` keeps
/// running beside the caller): the connections and what was learnt from the broker sit behind
/// one `Mutex`, held only to read or swap them, never across an `await`.
public final class KafkaClient: Sendable {
    public struct ClientError: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public let clientId: String
    /// TLS and SASL of every connection (`--command-config`).
    public let security: ClientSecurity
    private let bootstrap: [(host: String, port: Int)]

    private struct State {
        var connections: [Int32: KafkaConnection] = [:]
        var bootstrapConnection: KafkaConnection?
        var brokerVersions: [Int16: ClosedRange<Int16>] = [:]
        var brokers: [Int32: (host: String, port: Int)] = [:]
    }
    private let state = Mutex(State())

    /// The highest version of each API this client speaks.
    static let clientMax: [ApiKey: Int16] = [
        .produce: 9, .fetch: 12, .listOffsets: 7, .metadata: 11, .offsetCommit: 8, .offsetFetch: 7,
        .findCoordinator: 3, .joinGroup: 7, .heartbeat: 4, .leaveGroup: 4, .syncGroup: 5, .describeGroups: 5,
        .listGroups: 4, .createTopics: 7, .deleteTopics: 6, .describeConfigs: 4, .alterConfigs: 2,
        .incrementalAlterConfigs: 1, .createPartitions: 3, .deleteGroups: 2, .apiVersions: 3,
        .deleteRecords: 2, .offsetDelete: 0,
    ]

    /// `servers`: "host:port[,host:port…]".
    public init(servers: String, clientId: String = "weir-cli", security: ClientSecurity = .plaintext) throws {
        self.clientId = clientId
        self.security = security
        bootstrap = try servers.split(separator: ",").map { entry in
            let s = entry.trimmingSpacesAndScheme
            guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]) else {
                throw ClientError("bootstrap server '\(entry)' is not host:port")
            }
            return (String(s[..<colon]), port)
        }
        guard !bootstrap.isEmpty else { throw ClientError("no bootstrap server given") }
    }

    /// Connects to the first reachable bootstrap server and learns its API versions.
    public func start() async throws {
        var lastError: (any Error)?
        for (host, port) in bootstrap {
            do {
                let c = try await KafkaConnection.connect(host: host, port: port, clientId: clientId, security: security)
                var request = ApiVersionsRequest()
                request.clientSoftwareName = "weir"
                request.clientSoftwareVersion = "0.1.0"
                // Bounded: a broker that accepts connections but does not answer must not hang us.
                var response = try await withDeadline(15, "ApiVersions") { [request] in try await c.send(request, version: 3) }
                if response.errorCode == ErrorCode.unsupportedVersion.rawValue {
                    response = try await withDeadline(15, "ApiVersions") { try await c.send(ApiVersionsRequest(), version: 0) }
                }
                guard response.errorCode == 0 else { throw ClientError("ApiVersions failed with error \(response.errorCode)") }
                let versions = Dictionary(response.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) }, uniquingKeysWith: { a, _ in a })
                // Two tasks may reconnect at once: the first live connection stored wins, and
                // the loser closes its own, which nobody else has seen.
                let redundant = state.withLock { s -> Bool in
                    if let current = s.bootstrapConnection, current.isActive { return true }
                    s.bootstrapConnection = c
                    s.brokerVersions = versions
                    return false
                }
                if redundant { await c.close() }
                return
            } catch {
                lastError = error
            }
        }
        throw ClientError("could not connect to \(bootstrap.map { "\($0.host):\($0.port)" }.joined(separator: ",")): \(lastError.map { "\($0)" } ?? "")")
    }

    /// The version to use for `R`: the highest both sides support.
    public func version<R: KafkaRequest>(for _: R.Type) throws -> Int16 {
        guard let theirs = state.withLock({ $0.brokerVersions[R.apiKey.rawValue] }) else {
            throw ClientError("the broker does not support \(R.apiKey.name)")
        }
        let mine = Self.clientMax[R.apiKey] ?? R.validVersions.upperBound
        let v = min(mine, theirs.upperBound)
        guard v >= theirs.lowerBound else { throw ClientError("no common version of \(R.apiKey.name)") }
        return v
    }

    /// Sends to the bootstrap broker (or to `node` once metadata knows it).
    public func send<R: KafkaRequest>(_ request: R, to node: Int32? = nil) async throws -> R.Response {
        let c = try await connection(to: node)
        return try await c.send(request, version: try version(for: R.self))
    }

    public func connection(to node: Int32?) async throws -> KafkaConnection {
        guard let node else {
            guard let c = state.withLock({ $0.bootstrapConnection }) else { throw ClientError("client not started") }
            if !c.isActive {
                try await start()
                guard let fresh = state.withLock({ $0.bootstrapConnection }) else { throw ClientError("client not started") }
                return fresh
            }
            return c
        }
        let (cached, known) = state.withLock { s -> (KafkaConnection?, (host: String, port: Int)?) in
            if let c = s.connections[node] {
                if c.isActive { return (c, nil) }
                // The broker closed it (restart, idle timeout): open a fresh one.
                s.connections[node] = nil
            }
            return (nil, s.brokers[node])
        }
        if let cached { return cached }
        guard let address = known else {
            _ = try await metadata(topics: [])
            guard let address = state.withLock({ $0.brokers[node] }) else { throw ClientError("unknown broker \(node)") }
            return try await open(node, address)
        }
        return try await open(node, address)
    }

    private func open(_ node: Int32, _ address: (host: String, port: Int)) async throws -> KafkaConnection {
        let c = try await KafkaConnection.connect(host: address.host, port: address.port, clientId: clientId, security: security)
        // Two tasks may open one node at once: the first live connection stored wins.
        let winner = state.withLock { s -> KafkaConnection in
            if let current = s.connections[node], current.isActive { return current }
            s.connections[node] = c
            return c
        }
        if winner !== c { await c.close() }
        return winner
    }

    /// Metadata for `topics` (nil: all topics), remembering broker addresses.
    @discardableResult
    public func metadata(topics: [String]?, allowAutoCreate: Bool = false) async throws -> MetadataResponse {
        var request = MetadataRequest()
        request.topics = topics.map { $0.map { MetadataRequest.MetadataRequestTopic(name: $0) } }
        request.allowAutoTopicCreation = allowAutoCreate
        let response = try await send(request)
        state.withLock { s in
            for b in response.brokers { s.brokers[b.nodeId] = (b.host, Int(b.port)) }
        }
        return response
    }

    /// The leader of each partition of `topic` (waits briefly for a topic that is being created).
    public func partitions(of topic: String) async throws -> [Int32: Int32] {
        for attempt in 0..<20 {
            let md = try await metadata(topics: [topic])
            if let t = md.topics.first(where: { $0.name == topic }) {
                if t.errorCode == 0 {
                    return Dictionary(t.partitions.map { ($0.partitionIndex, $0.leaderId) }, uniquingKeysWith: { a, _ in a })
                }
                if t.errorCode != ErrorCode.leaderNotAvailable.rawValue || attempt == 19 {
                    throw KafkaError(code: t.errorCode, context: "topic '\(topic)'")
                }
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ClientError("topic \(topic) has no leader")
    }

    public func close() async {
        let (nodes, bootstrapConnection) = state.withLock { s in
            defer {
                s.connections = [:]
                s.bootstrapConnection = nil
            }
            return (Array(s.connections.values), s.bootstrapConnection)
        }
        for c in nodes { await c.close() }
        await bootstrapConnection?.close()
    }
}

extension Substring {
    var trimmingSpacesAndScheme: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        if let colon = s.firstIndex(of: ":"), s[colon...].hasPrefix("://") { s = s[s.index(colon, offsetBy: 3)...] }
        return s
    }
}
