import CRocksDB
import Foundation

/// A broker's database opened read-only, for the operator's tools (`weir log inspect/dump/verify`,
/// the check after `weir snapshot restore`).
///
/// On-disk layout: the one of `LogStore` (column families `catalog`, `offsets`, `producers` and
/// `log/<topic id base64url>/<partition>`), every column family opened exactly as it is on disk.
/// Unlike `LogStore.open` it recovers nothing — a partition column family that no topic names
/// stays, a missing one stays missing — so that `LogInspector.verify` can report them; and it
/// writes nothing, so it may run beside a broker that holds the database (RocksDB's read-only
/// open takes no LOCK) and on a snapshot without changing a byte of it.
///
/// What it sees: the database as of the open, WAL included (RocksDB replays it into memory).
/// When the process may open that many files, every SST file is opened at open time
/// (`max_open_files = -1`), so that a compaction of the running broker deleting a file
/// afterwards cannot fail a read of this view: the open file stays readable until closed.
/// A file deleted by the broker during the open itself fails it; the open is then retried.
public final class ReadOnlyLogStore: Sendable {
    public let directory: String
    let db: RocksDB
    /// nil when the database has no `catalog` column family (not a Weir database, or damaged).
    let catalog: TopicCatalog?
    /// nil when the database has no `producers` column family.
    let producers: ProducerStateStore?

    private init(directory: String, db: RocksDB) {
        self.directory = directory
        self.db = db
        catalog = db.columnFamily(named: TopicCatalog.columnFamilyName).map { TopicCatalog(db: db, cf: $0) }
        producers = db.columnFamily(named: ProducerStateStore.columnFamilyName).map { ProducerStateStore(db: db, cf: $0) }
    }

    /// Opens the database in `directory` read-only.
    /// - Throws: `StorageError.invalidArgument` when no database is there (no `CURRENT` file);
    ///   RocksDB's errors otherwise.
    public static func open(directory: String, options: StorageOptions = StorageOptions()) throws -> ReadOnlyLogStore {
        guard FileManager.default.fileExists(atPath: directory + "/CURRENT") else {
            throw StorageError.invalidArgument("no database at \(directory)")
        }
        let cache = BlockCache(capacityBytes: options.blockCacheBytes)
        let dbOptions = RocksDBOptions.database(options, cache: cache)
        let sstFiles = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasSuffix(".sst") }.count ?? 0
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, UInt64(sstFiles) + 256 < UInt64(limit.rlim_cur) {
            rocksdb_options_set_max_open_files(dbOptions.pointer, -1)
        }
        let partitionOptions = RocksDBOptions.partition(options, cache: cache)
        let metadataOptions = RocksDBOptions.metadata(options, cache: cache)
        var attempt = 1
        while true {
            do {
                let names = try RocksDB.listColumnFamilies(path: directory, options: dbOptions)
                let families = names.map { name in
                    (name: name, options: name.hasPrefix("log/") ? partitionOptions : metadataOptions)
                }
                let db = try RocksDB.openReadOnly(path: directory, options: dbOptions, columnFamilies: families)
                return ReadOnlyLogStore(directory: directory, db: db)
            } catch StorageError.rocksDB(let message) where attempt < 5 && message.contains("No such file") {
                // The running broker replaced a file (compaction, MANIFEST roll) while we read.
                attempt += 1
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    /// Every column family of the database, sorted.
    public var columnFamilyNames: [String] { db.columnFamilyNames.sorted() }

    /// The topics of the catalog, in name order (empty without a catalog).
    public func topics() throws -> [TopicRecord] {
        try catalog?.topics() ?? []
    }

    public func close() {
        db.close()
    }
}

extension LogStore {
    /// Opens the database in `directory` read-only; see `ReadOnlyLogStore`.
    public static func openReadOnly(directory: String, options: StorageOptions = StorageOptions()) throws -> ReadOnlyLogStore {
        try ReadOnlyLogStore.open(directory: directory, options: options)
    }

    /// Whether a database exists in `directory` (RocksDB's `CURRENT` file).
    public static func databaseExists(in directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/CURRENT")
    }
}

extension StorageError {
    /// Whether this is RocksDB refusing a read-write open because another open holds the
    /// database's LOCK file: "IO error: While lock file: D/LOCK: Resource temporarily
    /// unavailable" from another process (a running broker), "… lock hold by current process"
    /// from this one.
    public var isDatabaseInUse: Bool {
        guard case .rocksDB(let message) = self else { return false }
        return message.contains("LOCK")
            && (message.contains("Resource temporarily unavailable") || message.contains("lock hold by current process"))
    }
}
