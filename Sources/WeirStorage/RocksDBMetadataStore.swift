import Foundation
import Synchronization

/// `MetadataStore` on the broker's own RocksDB database, with everything also held in memory
/// (loaded at open, updated on each write), so that reads never touch the disk.
///
/// On-disk layout — column family `scram`:
///
///     key                                          value
///     mechanism name + "/" + user name (UTF-8),    the credential as JSON (UTF-8, keys sorted), e.g.
///     e.g. "SCRAM-SHA-256/alice"                   {"iterations":4096,"salt":"<base64>",
///                                                   "serverKey":"<base64>","storedKey":"<base64>"}
///
/// Column family `acls`, one key per ACL, no value (empty):
///
///     resource type, pattern type, resource name, principal, host, operation, permission —
///     Kafka's names (UTF-8), joined by NUL bytes, e.g.
///     "TOPIC\0PREFIXED\0orders-\0User:alice\0*\0WRITE\0ALLOW"
///
/// (CreateAcls refuses a NUL in any of them, so the split is unambiguous.)
///
/// Writes are fsynced: a credential or ACL the admin was told is stored survives a crash.
///
/// Thread-safe: a mutex guards the in-memory copy; writes hold `writeLock` across the RocksDB
/// write and the update of the copy, so that concurrent writers cannot reorder the two.
public final class RocksDBMetadataStore: MetadataStore {
    public static let scramColumnFamilyName = "scram"
    public static let aclsColumnFamilyName = "acls"

    private let db: RocksDB
    private let scramCF: ColumnFamily
    private let aclsCF: ColumnFamily
    private let scram: Mutex<[String: [ScramMechanism: ScramCredential]]>
    private let aclState: Mutex<(version: UInt64, bindings: Set<AclBinding>, list: [AclBinding])>
    private let writeLock = Mutex(())

    public init(store: LogStore) throws {
        guard let scramCF = store.db.columnFamily(named: Self.scramColumnFamilyName),
              let aclsCF = store.db.columnFamily(named: Self.aclsColumnFamilyName) else {
            throw StorageError.rocksDB("column families \(Self.scramColumnFamilyName)/\(Self.aclsColumnFamilyName) missing")
        }
        self.db = store.db
        self.scramCF = scramCF
        self.aclsCF = aclsCF
        self.scram = Mutex(try Self.loadScram(db: store.db, cf: scramCF))
        let acls = try Self.loadAcls(db: store.db, cf: aclsCF)
        self.aclState = Mutex((0, acls, Array(acls)))
    }

    // MARK: ACLs

    public func acls() -> [AclBinding] {
        aclState.withLock { $0.list }
    }

    public var aclVersion: UInt64 {
        aclState.withLock { $0.version }
    }

    public func createAcls(_ bindings: [AclBinding]) throws {
        try writeLock.withLock { _ in
            let batch = WriteBatch()
            for b in bindings { try batch.put(aclsCF, key: Self.aclKey(b), value: [UInt8]()) }
            try db.write(batch, sync: true)
            aclState.withLock { s in
                s.bindings.formUnion(bindings)
                s.list = Array(s.bindings)
                s.version &+= 1
            }
        }
    }

    public func deleteAcls(_ bindings: [AclBinding]) throws {
        try writeLock.withLock { _ in
            let batch = WriteBatch()
            for b in bindings { try batch.delete(aclsCF, key: Self.aclKey(b)) }
            try db.write(batch, sync: true)
            aclState.withLock { s in
                s.bindings.subtract(bindings)
                s.list = Array(s.bindings)
                s.version &+= 1
            }
        }
    }

    static func aclKey(_ b: AclBinding) -> [UInt8] {
        Array([b.resourceType.name, b.patternType.name, b.resourceName, b.principal, b.host, b.operation.name,
               b.permission.name].joined(separator: "\u{0}").utf8)
    }

    static func aclBinding(key: String) -> AclBinding? {
        let f = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 7,
              let type = AclResourceType.allCases.first(where: { $0.name == f[0] }),
              let pattern = AclPatternType.allCases.first(where: { $0.name == f[1] }),
              let operation = AclOperation.allCases.first(where: { $0.name == f[5] }),
              let permission = AclPermission.allCases.first(where: { $0.name == f[6] })
        else { return nil }
        return AclBinding(resourceType: type, resourceName: f[2], patternType: pattern, principal: f[3], host: f[4],
                          operation: operation, permission: permission)
    }

    private static func loadAcls(db: RocksDB, cf: ColumnFamily) throws -> Set<AclBinding> {
        var out = Set<AclBinding>()
        try db.withIterator(cf) { it in
            it.seekToFirst()
            while it.isValid {
                let key = String(decoding: it.key, as: UTF8.self)
                guard let binding = aclBinding(key: key) else {
                    throw StorageError.corrupt("acls key '\(key.replacingOccurrences(of: "\u{0}", with: "|"))' is not an ACL")
                }
                out.insert(binding)
                it.next()
            }
            try it.checkError()
        }
        return out
    }

    // MARK: SCRAM

    public func scramCredential(user: String, mechanism: ScramMechanism) -> ScramCredential? {
        scram.withLock { $0[user]?[mechanism] }
    }

    public func scramCredentials() -> [String: [ScramMechanism: ScramCredential]] {
        scram.withLock { $0 }
    }

    public func alterScramCredentials(_ changes: [ScramCredentialChange]) throws {
        try writeLock.withLock { _ in
            let batch = WriteBatch()
            for change in changes {
                switch change {
                case .upsert(let user, let mechanism, let credential):
                    try batch.put(scramCF, key: Self.scramKey(user, mechanism), value: try Self.encoder.encode(credential))
                case .delete(let user, let mechanism):
                    try batch.delete(scramCF, key: Self.scramKey(user, mechanism))
                }
            }
            try db.write(batch, sync: true)
            scram.withLock { s in
                for change in changes {
                    switch change {
                    case .upsert(let user, let mechanism, let credential):
                        s[user, default: [:]][mechanism] = credential
                    case .delete(let user, let mechanism):
                        s[user]?[mechanism] = nil
                        if s[user]?.isEmpty == true { s[user] = nil }
                    }
                }
            }
        }
    }

    static func scramKey(_ user: String, _ mechanism: ScramMechanism) -> [UInt8] {
        Array("\(mechanism.rawValue)/\(user)".utf8)
    }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        e.dataEncodingStrategy = .base64
        return e
    }()

    private static func loadScram(db: RocksDB, cf: ColumnFamily) throws -> [String: [ScramMechanism: ScramCredential]] {
        var out: [String: [ScramMechanism: ScramCredential]] = [:]
        try db.withIterator(cf) { it in
            it.seekToFirst()
            while it.isValid {
                let key = String(decoding: it.key, as: UTF8.self)
                guard let slash = key.firstIndex(of: "/"), let mechanism = ScramMechanism(rawValue: String(key[..<slash])) else {
                    throw StorageError.corrupt("scram key '\(key)' names no SCRAM mechanism")
                }
                let credential = try JSONDecoder().decode(ScramCredential.self, from: Data(it.value))
                out[String(key[key.index(after: slash)...]), default: [:]][mechanism] = credential
                it.next()
            }
            try it.checkError()
        }
        return out
    }
}

/// `MetadataStore` in memory only: for tests of the layers above, and for tools that need one.
public final class InMemoryMetadataStore: MetadataStore {
    private let scram = Mutex<[String: [ScramMechanism: ScramCredential]]>([:])
    private let aclState = Mutex<(version: UInt64, bindings: Set<AclBinding>)>((0, []))

    public init() {}

    public func acls() -> [AclBinding] { aclState.withLock { Array($0.bindings) } }
    public var aclVersion: UInt64 { aclState.withLock { $0.version } }

    public func createAcls(_ bindings: [AclBinding]) throws {
        aclState.withLock { s in
            s.bindings.formUnion(bindings)
            s.version &+= 1
        }
    }

    public func deleteAcls(_ bindings: [AclBinding]) throws {
        aclState.withLock { s in
            s.bindings.subtract(bindings)
            s.version &+= 1
        }
    }

    public func scramCredential(user: String, mechanism: ScramMechanism) -> ScramCredential? {
        scram.withLock { $0[user]?[mechanism] }
    }

    public func scramCredentials() -> [String: [ScramMechanism: ScramCredential]] {
        scram.withLock { $0 }
    }

    public func alterScramCredentials(_ changes: [ScramCredentialChange]) throws {
        scram.withLock { s in
            for change in changes {
                switch change {
                case .upsert(let user, let mechanism, let credential):
                    s[user, default: [:]][mechanism] = credential
                case .delete(let user, let mechanism):
                    s[user]?[mechanism] = nil
                    if s[user]?.isEmpty == true { s[user] = nil }
                }
            }
        }
    }
}
