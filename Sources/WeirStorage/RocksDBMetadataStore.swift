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
/// Writes are fsynced: a credential the admin was told is stored survives a crash.
///
/// Thread-safe: a mutex guards the in-memory copy; writes hold `writeLock` across the RocksDB
/// write and the update of the copy, so that concurrent writers cannot reorder the two.
public final class RocksDBMetadataStore: MetadataStore {
    public static let scramColumnFamilyName = "scram"

    private let db: RocksDB
    private let scramCF: ColumnFamily
    private let scram: Mutex<[String: [ScramMechanism: ScramCredential]]>
    private let writeLock = Mutex(())

    public init(store: LogStore) throws {
        guard let scramCF = store.db.columnFamily(named: Self.scramColumnFamilyName) else {
            throw StorageError.rocksDB("column family \(Self.scramColumnFamilyName) missing")
        }
        self.db = store.db
        self.scramCF = scramCF
        self.scram = Mutex(try Self.loadScram(db: store.db, cf: scramCF))
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

    public init() {}

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
