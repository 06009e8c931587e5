import Foundation
import Logging
import NIOCore
import Synchronization

/// An etcd member's client address (`etcd.connect=HOST:PORT,...`).
public struct EtcdEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }
    public var description: String { "\(host):\(port)" }
}

/// One key-value pair as etcd returns it.
public struct EtcdKeyValue: Sendable, Equatable {
    public var key: String
    public var value: Data
    public var createRevision: Int64
    public var modRevision: Int64
    public var lease: Int64
}

/// One change seen by a watch: a put (new or updated value) or a delete (also a lease expiry).
public enum EtcdEvent: Sendable, Equatable {
    case put(EtcdKeyValue)
    case delete(key: String, revision: Int64)
}

/// A condition of a transaction (etcd's `Compare`).
public enum EtcdCompare: Sendable {
    /// The key does not exist.
    case absent(String)
    /// The key exists with exactly this mod revision (compare-and-swap on a value read before).
    case modRevision(String, Int64)
    /// The key holds exactly this value.
    case value(String, Data)
}

/// One operation of a transaction.
public enum EtcdOperation: Sendable {
    case put(String, Data, lease: Int64)
    case delete(String)
    case deletePrefix(String)
}

/// A client of etcd v3 through its JSON gateway (etcd 3.4: `POST /v3/kv/range` and so on, keys
/// and values base64, 64-bit integers as strings). It tries the endpoints in turn, starting
/// with the one that answered last, so one etcd member down costs one connect timeout.
///
/// Every call is one request on its own connection (`EtcdHTTP`); a watch is one long request
/// whose response streams events.
public final class EtcdClient: Sendable {
    public let endpoints: [EtcdEndpoint]
    let group: any EventLoopGroup
    let timeout: TimeAmount
    private let preferred = Mutex(0)

    public init(endpoints: [EtcdEndpoint], group: any EventLoopGroup, timeout: TimeAmount = .seconds(3)) {
        precondition(!endpoints.isEmpty, "etcd.connect names no endpoint")
        self.endpoints = endpoints
        self.group = group
        self.timeout = timeout
    }

    // MARK: KV

    /// The keys from `key` (exactly, or every key starting with it when `prefix`), and the
    /// store's revision at the time of the read (where a watch continues from).
    public func range(_ key: String, prefix: Bool = false) async throws -> (kvs: [EtcdKeyValue], revision: Int64) {
        var body: [String: Any] = ["key": Self.b64(key)]
        if prefix { body["range_end"] = Self.b64(Self.prefixEnd(key)) }
        let json = try await call("/v3/kv/range", body)
        let kvs = (json["kvs"] as? [[String: Any]] ?? []).compactMap(Self.keyValue)
        return (kvs, Self.revision(json))
    }

    /// Puts a value (bound to `lease` when not 0: it disappears when the lease expires).
    @discardableResult
    public func put(_ key: String, _ value: Data, lease: Int64 = 0) async throws -> Int64 {
        Self.revision(try await call("/v3/kv/put", Self.putBody(key, value, lease: lease)))
    }

    public func delete(_ key: String, prefix: Bool = false) async throws {
        var body: [String: Any] = ["key": Self.b64(key)]
        if prefix { body["range_end"] = Self.b64(Self.prefixEnd(key)) }
        _ = try await call("/v3/kv/deleterange", body)
    }

    /// Applies `then` if every comparison holds, else nothing; true when it applied. This is
    /// how two brokers can never both win: the second one's comparison fails.
    public func transaction(_ compares: [EtcdCompare], then operations: [EtcdOperation]) async throws -> Bool {
        let cmp: [[String: Any]] = compares.map { c in
            switch c {
            case .absent(let k):
                return ["target": "CREATE", "key": Self.b64(k), "result": "EQUAL", "create_revision": "0"]
            case .modRevision(let k, let r):
                return ["target": "MOD", "key": Self.b64(k), "result": "EQUAL", "mod_revision": "\(r)"]
            case .value(let k, let v):
                return ["target": "VALUE", "key": Self.b64(k), "result": "EQUAL", "value": v.base64EncodedString()]
            }
        }
        let ops: [[String: Any]] = operations.map { op in
            switch op {
            case .put(let k, let v, let lease): return ["request_put": Self.putBody(k, v, lease: lease)]
            case .delete(let k): return ["request_delete_range": ["key": Self.b64(k)]]
            case .deletePrefix(let k):
                return ["request_delete_range": ["key": Self.b64(k), "range_end": Self.b64(Self.prefixEnd(k))]]
            }
        }
        let json = try await call("/v3/kv/txn", ["compare": cmp, "success": ops])
        // Protobuf's JSON leaves out false booleans.
        return json["succeeded"] as? Bool ?? false
    }

    // MARK: Leases

    /// A new lease of `ttlSeconds`; keys put with it vanish when it is not renewed in time.
    public func grantLease(ttlSeconds: Int64) async throws -> Int64 {
        let json = try await call("/v3/lease/grant", ["TTL": "\(ttlSeconds)"])
        guard let id = Self.int64(json["ID"]), id != 0 else { throw EtcdHTTP.Failure(description: "etcd granted no lease: \(json)") }
        return id
    }

    /// Renews a lease; returns its remaining TTL in seconds, 0 when it has already expired.
    public func keepAlive(lease: Int64) async throws -> Int64 {
        let json = try await call("/v3/lease/keepalive", ["ID": "\(lease)"])
        let result = json["result"] as? [String: Any] ?? json
        return Self.int64(result["TTL"]) ?? 0
    }

    public func revoke(lease: Int64) async throws {
        _ = try await call("/v3/lease/revoke", ["ID": "\(lease)"])
    }

    // MARK: Watch

    /// Streams the changes under `prefix` after `afterRevision`, until the stream breaks or the
    /// task is cancelled. Throws when the watch cannot be set up or breaks; the caller re-reads
    /// and watches again (the cluster state is rebuilt from a range, so no event can be missed).
    public func watch(prefix: String, afterRevision: Int64,
                      onEvents: @escaping @Sendable ([EtcdEvent]) -> Void) async throws {
        let request: [String: Any] = ["create_request": [
            "key": Self.b64(prefix), "range_end": Self.b64(Self.prefixEnd(prefix)),
            "start_revision": "\(afterRevision + 1)",
        ]]
        let body = try JSONSerialization.data(withJSONObject: request)
        var lastError: (any Error)?
        for endpoint in rotation() {
            let channel: any Channel
            let ended: EventLoopFuture<Data>
            do {
                (channel, ended) = try await EtcdHTTP.stream(group: group, endpoint: endpoint, path: "/v3/watch", body: body,
                                                             connectTimeout: timeout) { line in
                    guard let json = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
                          let result = json["result"] as? [String: Any] else { return }
                    let events = (result["events"] as? [[String: Any]] ?? []).compactMap(Self.event)
                    if !events.isEmpty { onEvents(events) }
                }
            } catch {
                lastError = error
                continue
            }
            remember(endpoint)
            try await withTaskCancellationHandler {
                _ = try await ended.get()
            } onCancel: {
                channel.close(promise: nil)
            }
            throw EtcdHTTP.Failure(description: "etcd \(endpoint) ended the watch")
        }
        throw lastError ?? EtcdHTTP.Failure(description: "no etcd endpoint")
    }

    // MARK: Plumbing

    private func call(_ path: String, _ body: [String: Any]) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: body)
        var lastError: (any Error)?
        for endpoint in rotation() {
            do {
                let answer = try await EtcdHTTP.post(group: group, endpoint: endpoint, path: path, body: data, timeout: timeout)
                remember(endpoint)
                guard let json = try JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
                    throw EtcdHTTP.Failure(description: "etcd answered \(path) with no JSON object")
                }
                if let error = json["error"] as? String { throw EtcdHTTP.Failure(description: "etcd: \(error)") }
                return json
            } catch let failure as EtcdHTTP.Failure where failure.description.hasPrefix("etcd answered") {
                throw failure  // etcd itself refused: another member would refuse too
            } catch {
                lastError = error
            }
        }
        throw lastError ?? EtcdHTTP.Failure(description: "no etcd endpoint")
    }

    private func rotation() -> [EtcdEndpoint] {
        let first = preferred.withLock { $0 }
        return (0..<endpoints.count).map { endpoints[(first + $0) % endpoints.count] }
    }

    private func remember(_ endpoint: EtcdEndpoint) {
        if let i = endpoints.firstIndex(of: endpoint) { preferred.withLock { $0 = i } }
    }

    static func putBody(_ key: String, _ value: Data, lease: Int64) -> [String: Any] {
        var body: [String: Any] = ["key": b64(key), "value": value.base64EncodedString()]
        if lease != 0 { body["lease"] = "\(lease)" }
        return body
    }

    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    /// The first key after every key that starts with `prefix` (etcd's `range_end` for a prefix).
    static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF { bytes[bytes.count - 1] = last + 1; return String(decoding: bytes, as: UTF8.self) }
            bytes.removeLast()
        }
        return "\0"
    }

    static func int64(_ any: Any?) -> Int64? {
        if let s = any as? String { return Int64(s) }
        if let n = any as? NSNumber { return n.int64Value }
        return nil
    }

    static func revision(_ json: [String: Any]) -> Int64 {
        int64((json["header"] as? [String: Any])?["revision"]) ?? 0
    }

    static func keyValue(_ json: [String: Any]) -> EtcdKeyValue? {
        guard let k = json["key"] as? String, let key = Data(base64Encoded: k) else { return nil }
        let value = (json["value"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
        return EtcdKeyValue(key: String(decoding: key, as: UTF8.self), value: value,
                            createRevision: int64(json["create_revision"]) ?? 0,
                            modRevision: int64(json["mod_revision"]) ?? 0, lease: int64(json["lease"]) ?? 0)
    }

    static func event(_ json: [String: Any]) -> EtcdEvent? {
        guard let kvJSON = json["kv"] as? [String: Any], let kv = keyValue(kvJSON) else { return nil }
        // Protobuf's JSON leaves out the default enum value: no "type" is PUT.
        if (json["type"] as? String) == "DELETE" { return .delete(key: kv.key, revision: kv.modRevision) }
        return .put(kv)
    }
}
