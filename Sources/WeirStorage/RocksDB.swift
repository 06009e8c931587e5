import CRocksDB
import CRocksDBExtras
import Foundation

/// A thin, safe wrapper over RocksDB's C API (`<rocksdb/c.h>`, RocksDB 7.8): one open database
/// and its column families.
///
/// Thread safety: RocksDB's `DB` is thread-safe for get/put/write/iterators/flush/checkpoint,
/// compaction, file deletion and column-family creation, so this class adds no lock of its own
/// around them. What it does add is lifetime safety: every call that passes the database or a
/// column-family handle to C holds a shared `ReadWriteLock`, and dropping a column family or
/// closing the database takes it exclusively before freeing those handles. A call racing a drop
/// or close therefore throws `columnFamilyDropped` / `closed` instead of using freed memory.
///
/// On-disk layout: the database directory is plain RocksDB (CURRENT, MANIFEST-*, *.log WAL,
/// *.sst, OPTIONS-*); what each column family holds is stated by the type that owns it.
// @unchecked: owns C handles; every use of them holds `lock` (shared), close takes it exclusively.
public final class RocksDB: @unchecked Sendable {
    public let path: String
    let lock = ReadWriteLock()
    /// nil once closed. Guarded by `lock`.
    private var db: OpaquePointer?
    /// Open column families by name. Guarded by `familiesLock` (a mutex, as creation happens
    /// under the shared lock).
    private var families: [String: ColumnFamily] = [:]
    private let familiesLock = NSLock()
    private let writeOptions: OpaquePointer
    private let syncWriteOptions: OpaquePointer
    /// Unsynced writes that fail at once (`Incomplete`) instead of waiting out a write stall.
    private let noSlowdownWriteOptions: OpaquePointer
    private let readOptions: OpaquePointer
    /// Kept for the database's lifetime: the options it was opened with.
    private let options: RocksDBOptions

    public static let defaultColumnFamily = "default"

    private init(path: String, db: OpaquePointer, options: RocksDBOptions) {
        self.path = path
        self.db = db
        self.options = options
        writeOptions = rocksdb_writeoptions_create()
        syncWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncWriteOptions, 1)
        noSlowdownWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_no_slowdown(noSlowdownWriteOptions, 1)
        readOptions = rocksdb_readoptions_create()
    }

    deinit {
        close()
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_writeoptions_destroy(syncWriteOptions)
        rocksdb_writeoptions_destroy(noSlowdownWriteOptions)
        rocksdb_readoptions_destroy(readOptions)
    }

    /// Names of the column families of the database at `path`; empty when no database exists there.
    public static func listColumnFamilies(path: String, options: RocksDBOptions) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path + "/CURRENT") else { return [] }
        var count = 0
        let list = try withErrorPointer { rocksdb_list_column_families(options.pointer, path, &count, $0) }
        guard let list else { return [] }
        defer { rocksdb_list_column_families_destroy(list, count) }
        return (0..<count).compactMap { list[$0].map { String(cString: $0) } }
    }

    /// Opens (creating if the options say so) the database at `path` with exactly these column
    /// families, creating missing ones when `create_missing_column_families` is set. RocksDB
    /// refuses to open without every existing column family, so list them first.
    /// `default` is added with `options` when not listed.
    public static func open(path: String, options: RocksDBOptions,
                            columnFamilies: [(name: String, options: RocksDBOptions)]) throws -> RocksDB {
        try open(path: path, options: options, columnFamilies: columnFamilies, what: "open") {
            count, names, familyOptions, handles, err in
            rocksdb_open_column_families(options.pointer, path, count, names, familyOptions, handles, err)
        }
    }

    /// What `open` and `openReadOnly` share: the family list with `default` added, the C arrays,
    /// and a wrapper holding every returned handle. `call` is the C open function.
    private static func open(
        path: String, options: RocksDBOptions, columnFamilies: [(name: String, options: RocksDBOptions)],
        what: String,
        _ call: (Int32, [UnsafePointer<CChar>?], [OpaquePointer?], UnsafeMutablePointer<OpaquePointer?>,
                 UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> OpaquePointer?
    ) throws -> RocksDB {
        var all = columnFamilies
        if !all.contains(where: { $0.name == defaultColumnFamily }) {
            all.insert((defaultColumnFamily, options), at: 0)
        }
        guard all.count <= Int(Int32.max) else { throw StorageError.invalidArgument("too many column families") }
        let cNames = all.map { strdup($0.name) }
        defer { cNames.forEach { free($0) } }
        let namePointers: [UnsafePointer<CChar>?] = cNames.map { $0.map { UnsafePointer($0) } }
        let optionPointers: [OpaquePointer?] = all.map { $0.options.pointer }
        var handles = [OpaquePointer?](repeating: nil, count: all.count)
        let db = try handles.withUnsafeMutableBufferPointer { h in
            try withErrorPointer { err in call(Int32(all.count), namePointers, optionPointers, h.baseAddress!, err) }
        }
        guard let db else { throw StorageError.rocksDB("\(what) \(path) returned no database") }
        let wrapper = RocksDB(path: path, db: db, options: options)
        for (i, entry) in all.enumerated() {
            guard let h = handles[i] else { continue }
            wrapper.families[entry.name] = ColumnFamily(name: entry.name, handle: h, lock: wrapper.lock)
        }
        return wrapper
    }

    // MARK: Column families

    public func columnFamily(named name: String) -> ColumnFamily? {
        familiesLock.withLock { families[name] }
    }

    public var columnFamilyNames: [String] {
        familiesLock.withLock { Array(families.keys) }
    }

    /// Creates a column family; RocksDB fails if one of that name exists.
    public func createColumnFamily(_ name: String, options: RocksDBOptions) throws -> ColumnFamily {
        try withDB { db in
            let handle = try withErrorPointer { rocksdb_create_column_family(db, options.pointer, name, $0) }
            guard let handle else { throw StorageError.rocksDB("create column family \(name) returned no handle") }
            let cf = ColumnFamily(name: name, handle: handle, lock: lock)
            familiesLock.withLock { families[name] = cf }
            return cf
        }
    }

    /// Creates the column families `names`, all with `options`, in one RocksDB call
    /// (`DB::CreateColumnFamilies` through CRocksDBExtras).
    ///
    /// Why a batch: RocksDB 7.8 rewrites and re-verifies its OPTIONS file, which lists every
    /// column family, after each creation; one call rewrites it once instead of once per family
    /// (1,000 families one by one take ~95 s, in one call ~0.5 s).
    ///
    /// All or nothing: RocksDB may fail after creating some of them (it stops at the first
    /// failure); those are dropped again before this throws.
    /// - Returns: the new column families, in the order of `names`.
    public func createColumnFamilies(_ names: [String], options: RocksDBOptions) throws -> [ColumnFamily] {
        guard !names.isEmpty else { return [] }
        guard names.count <= Int(Int32.max) else { throw StorageError.invalidArgument("too many column families") }
        return try withDB { db in
            var handles = [OpaquePointer?](repeating: nil, count: names.count)
            let cNames = names.map { strdup($0) }
            defer { cNames.forEach { free($0) } }
            let namePointers: [UnsafePointer<CChar>?] = cNames.map { $0.map { UnsafePointer($0) } }
            var failure: (any Error)?
            do {
                try withErrorPointer { err in
                    weir_rocksdb_create_column_families(db, options.pointer, Int32(names.count), namePointers,
                                                        &handles, err)
                }
            } catch {
                failure = error
            }
            if let failure {
                var created: [OpaquePointer?] = handles.filter { $0 != nil }
                if !created.isEmpty {
                    // Best effort: a family left behind is harmless to RocksDB, and the store's
                    // owner (LogStore) drops unknown families at the next open.
                    _ = try? withErrorPointer { err in
                        weir_rocksdb_drop_column_families(db, &created, Int32(created.count), err)
                    }
                    for case let handle? in created { rocksdb_column_family_handle_destroy(handle) }
                }
                throw failure
            }
            var result: [ColumnFamily] = []
            result.reserveCapacity(names.count)
            for (name, handle) in zip(names, handles) {
                guard let handle else { throw StorageError.rocksDB("create column family \(name) returned no handle") }
                result.append(ColumnFamily(name: name, handle: handle, lock: lock))
            }
            familiesLock.withLock {
                for cf in result { families[cf.name] = cf }
            }
            return result
        }
    }

    /// Drops the column families in one RocksDB call (`DB::DropColumnFamilies`, one OPTIONS
    /// rewrite; see `createColumnFamilies`) and destroys their handles, with the same locking as
    /// `dropColumnFamily`.
    ///
    /// On failure RocksDB may have dropped some of them (it stops at the first failure); then
    /// no handle is destroyed and every family stays usable as far as this wrapper knows: drop
    /// them one by one, or let the owner clean up at the next open.
    public func dropColumnFamilies(_ cfs: [ColumnFamily]) throws {
        guard !cfs.isEmpty else { return }
        guard cfs.count <= Int(Int32.max) else { throw StorageError.invalidArgument("too many column families") }
        for cf in cfs {
            precondition(cf.lock === lock, "column family \(cf.name) belongs to another database")
        }
        try withDB { db in
            var handles: [OpaquePointer?] = []
            handles.reserveCapacity(cfs.count)
            for cf in cfs {
                guard let h = cf.handle else {
                    throw cf.dropped ? StorageError.columnFamilyDropped(cf.name) : StorageError.closed
                }
                handles.append(h)
            }
            try withErrorPointer { err in
                weir_rocksdb_drop_column_families(db, &handles, Int32(handles.count), err)
            }
        }
        lock.withWriteLock {
            for cf in cfs { cf.invalidateLocked(dropped: true) }
        }
        familiesLock.withLock {
            for cf in cfs where families[cf.name] === cf { families[cf.name] = nil }
        }
    }

    /// Drops the column family (its data is deleted in the background) and destroys the handle.
    ///
    /// The drop itself runs under the shared lock: RocksDB 7.8 rewrites its whole OPTIONS file
    /// on every drop, which takes long with many column families, and other column families'
    /// reads and writes must not wait for it. Only destroying the handle takes the exclusive
    /// lock, which waits for in-flight calls (a write to the dropped family in between fails
    /// inside RocksDB, harmlessly).
    public func dropColumnFamily(_ cf: ColumnFamily) throws {
        try withDB(cf) { db, handle in
            try withErrorPointer { rocksdb_drop_column_family(db, handle, $0) }
        }
        lock.withWriteLock {
            cf.invalidateLocked(dropped: true)
        }
        familiesLock.withLock {
            if families[cf.name] === cf { families[cf.name] = nil }
        }
    }

    // MARK: Reads and writes

    public func put(_ cf: ColumnFamily, key: some ContiguousBytes, value: some ContiguousBytes, sync: Bool = false) throws {
        let wo = sync ? syncWriteOptions : writeOptions
        try withDB(cf) { db, h in
            try key.withUnsafeBytes { k in
                try value.withUnsafeBytes { v in
                    try withErrorPointer { rocksdb_put_cf(db, wo, h, k.cChars, k.count, v.cChars, v.count, $0) }
                }
            }
        }
    }

    /// The value of `key`, copied out of RocksDB; nil when absent.
    public func get(_ cf: ColumnFamily, key: some ContiguousBytes) throws -> [UInt8]? {
        try withDB(cf) { db, h in
            try key.withUnsafeBytes { k in
                var length = 0
                let value = try withErrorPointer { rocksdb_get_cf(db, readOptions, h, k.cChars, k.count, &length, $0) }
                guard let value else { return nil }
                defer { rocksdb_free(value) }
                return Array(UnsafeRawBufferPointer(start: value, count: length))
            }
        }
    }

    public func delete(_ cf: ColumnFamily, key: some ContiguousBytes, sync: Bool = false) throws {
        let wo = sync ? syncWriteOptions : writeOptions
        try withDB(cf) { db, h in
            try key.withUnsafeBytes { k in
                try withErrorPointer { rocksdb_delete_cf(db, wo, h, k.cChars, k.count, $0) }
            }
        }
    }

    /// Deletes the keys in [start, end).
    public func deleteRange(_ cf: ColumnFamily, from start: some ContiguousBytes, to end: some ContiguousBytes,
                            sync: Bool = false) throws {
        let wo = sync ? syncWriteOptions : writeOptions
        try withDB(cf) { db, h in
            try start.withUnsafeBytes { s in
                try end.withUnsafeBytes { e in
                    try withErrorPointer { rocksdb_delete_range_cf(db, wo, h, s.cChars, s.count, e.cChars, e.count, $0) }
                }
            }
        }
    }

    /// Applies the batch atomically. Always through the WAL; `sync` fsyncs the WAL before returning.
    /// Fails (applying nothing) when the batch names a column family dropped since it was built.
    public func write(_ batch: WriteBatch, sync: Bool) throws {
        try write(batch, sync: sync, noSlowdown: false)
    }

    /// Writes `batch` atomically. With `noSlowdown` (and not `sync`), a write that RocksDB would
    /// delay or stop — too many L0 files, too much pending compaction, memtables full — fails at
    /// once with `StorageError.writeStalled` and writes nothing, so an event loop never waits.
    public func write(_ batch: WriteBatch, sync: Bool, noSlowdown: Bool) throws {
        let wo = sync ? syncWriteOptions : noSlowdown ? noSlowdownWriteOptions : writeOptions
        try withDB { db in
            do {
                try withErrorPointer { rocksdb_write(db, wo, batch.pointer, $0) }
            } catch StorageError.rocksDB(let message) where noSlowdown && message.hasPrefix("Result incomplete") {
                throw StorageError.writeStalled
            }
        }
    }

    /// Runs `body` with an iterator over `cf`, optionally bounded to [lowerBound, upperBound).
    /// The iterator is destroyed when `body` returns.
    public func withIterator<R>(_ cf: ColumnFamily, lowerBound: [UInt8]? = nil, upperBound: [UInt8]? = nil,
                                fillCache: Bool = true,
                                _ body: (borrowing RocksDBIterator) throws -> R) throws -> R {
        try withDB(cf) { db, h in
            let ro = rocksdb_readoptions_create()!
            defer { rocksdb_readoptions_destroy(ro) }
            rocksdb_readoptions_set_fill_cache(ro, fillCache ? 1 : 0)
            // The C API keeps only a pointer to the bound keys: they must outlive the iterator.
            let lower = lowerBound.map { UnsafeMutableRawBufferPointer.allocateCopy(of: $0) }
            let upper = upperBound.map { UnsafeMutableRawBufferPointer.allocateCopy(of: $0) }
            defer {
                lower?.deallocate()
                upper?.deallocate()
            }
            if let lower { rocksdb_readoptions_set_iterate_lower_bound(ro, UnsafeRawBufferPointer(lower).cChars, lower.count) }
            if let upper { rocksdb_readoptions_set_iterate_upper_bound(ro, UnsafeRawBufferPointer(upper).cChars, upper.count) }
            guard let pointer = rocksdb_create_iterator_cf(db, ro, h) else {
                throw StorageError.rocksDB("create iterator on \(cf.name) returned nil")
            }
            defer { rocksdb_iter_destroy(pointer) }
            let iterator = RocksDBIterator(pointer: pointer)
            return try body(iterator)
        }
    }

    // MARK: Maintenance

    /// Writes the WAL buffer to the OS; with `sync`, fsyncs it too.
    public func flushWAL(sync: Bool) throws {
        try withDB { db in
            try withErrorPointer { rocksdb_flush_wal(db, sync ? 1 : 0, $0) }
        }
    }

    /// Creates a consistent, openable copy of the whole database (all column families) in `path`,
    /// which must not exist. SST files are hard-linked when on the same file system.
    public func checkpoint(to path: String) throws {
        try withDB { db in
            let checkpoint = try withErrorPointer { rocksdb_checkpoint_object_create(db, $0) }
            guard let checkpoint else { throw StorageError.rocksDB("checkpoint object creation returned nil") }
            defer { rocksdb_checkpoint_object_destroy(checkpoint) }
            // 0: flush memtables first, so the checkpoint needs no WAL replay.
            try withErrorPointer { rocksdb_checkpoint_create(checkpoint, path, 0, $0) }
        }
    }

    /// Writes the column family's memtables to SST files and waits for it (tests, tools; the
    /// broker leaves flushing to RocksDB).
    public func flush(_ cf: ColumnFamily) throws {
        try withDB(cf) { db, h in
            let options = rocksdb_flushoptions_create()!
            defer { rocksdb_flushoptions_destroy(options) }
            rocksdb_flushoptions_set_wait(options, 1)
            try withErrorPointer { rocksdb_flush_cf(db, options, h, $0) }
        }
    }

    /// Deletes the SST files of `cf` whose every key lies in [start, end] — both ends inclusive,
    /// as the C API passes `include_end = true` — without reading them (`DeleteFilesInRange`):
    /// the cheap way to give back the space of a range already deleted with a range tombstone.
    ///
    /// Caveats (RocksDB's): level-0 files are never deleted, nor files only partly in the range,
    /// so follow with `compactRange`. Snapshots do not protect the data (open iterators do: they
    /// pin the files they read). A file holding a tombstone can go while older data it covered
    /// survives in a file that straddles the range, so the caller re-applies its tombstone
    /// afterwards. A checkpoint on the same file system hard-links the SST files: while one
    /// exists, deleting a file here frees no disk space.
    public func deleteFilesInRange(_ cf: ColumnFamily, from start: some ContiguousBytes,
                                   through end: some ContiguousBytes) throws {
        try withDB(cf) { db, h in
            try start.withUnsafeBytes { s in
                try end.withUnsafeBytes { e in
                    try withErrorPointer {
                        rocksdb_delete_file_in_range_cf(db, h, s.cChars, s.count, e.cChars, e.count, $0)
                    }
                }
            }
        }
    }

    /// Compacts the keys of `cf` in [start, end] through every level, so that data covered by
    /// tombstones is dropped and its files are rewritten or removed; blocks until done (seconds
    /// for a large range: call it off any event loop and outside any lock of the caller).
    ///
    /// Not exclusive: automatic compactions go on meanwhile. Bottommost files in the range are
    /// recompacted too (`kForceOptimized`), since that is where deleted batches usually sit.
    /// The C API reports no error; an aborted compaction (`stopManualCompactions`, `close`)
    /// simply returns early.
    public func compactRange(_ cf: ColumnFamily, from start: some ContiguousBytes,
                             through end: some ContiguousBytes) throws {
        try withDB(cf) { db, h in
            let options = rocksdb_compactoptions_create()!
            defer { rocksdb_compactoptions_destroy(options) }
            rocksdb_compactoptions_set_exclusive_manual_compaction(options, 0)
            // BottommostLevelCompaction::kForceOptimized.
            rocksdb_compactoptions_set_bottommost_level_compaction(options, 3)
            start.withUnsafeBytes { s in
                end.withUnsafeBytes { e in
                    rocksdb_compact_range_cf_opt(db, h, options, s.cChars, s.count, e.cChars, e.count)
                }
            }
        }
    }

    /// Aborts running manual compactions (`compactRange`) and makes later ones return at once,
    /// for the rest of this database's life (RocksDB's `DisableManualCompaction`, which waits for
    /// the aborted ones to stop). For shutdown: a reclaim in progress must not hold up `close`.
    /// Automatic compactions are not affected.
    public func stopManualCompactions() {
        // A closed database has nothing to stop.
        try? withDB { db in rocksdb_disable_manual_compaction(db) }
    }

    /// RocksDB's estimate of the SST bytes holding keys in [start, end) (memtables excluded).
    public func approximateSize(_ cf: ColumnFamily, from start: [UInt8], to end: [UInt8]) throws -> UInt64 {
        try withDB(cf) { db, h in
            var size: UInt64 = 0
            try start.withUnsafeBytes { s in
                try end.withUnsafeBytes { e in
                    var sp: UnsafePointer<CChar>? = s.cChars, ep: UnsafePointer<CChar>? = e.cChars
                    var sl = s.count, el = e.count
                    try withErrorPointer { rocksdb_approximate_sizes_cf(db, h, 1, &sp, &sl, &ep, &el, &size, $0) }
                }
            }
            return size
        }
    }

    /// Pauses flushes and compactions until `continueBackgroundWork()` (tests: a write stall
    /// that stays put).
    func pauseBackgroundWork() throws {
        try withDB { db in try withErrorPointer { weir_rocksdb_pause_background_work(db, $0) } }
    }

    func continueBackgroundWork() throws {
        try withDB { db in try withErrorPointer { weir_rocksdb_continue_background_work(db, $0) } }
    }

    /// A text property of a column family (e.g. "rocksdb.num-files-at-level0", "rocksdb.stats");
    /// nil when unknown.
    public func stringProperty(_ cf: ColumnFamily, _ name: String) throws -> String? {
        try withDB(cf) { db, h in
            guard let value = rocksdb_property_value_cf(db, h, name) else { return nil }
            defer { rocksdb_free(value) }
            return String(cString: value)
        }
    }

    /// An integer property of a column family (e.g. "rocksdb.cur-size-all-mem-tables"); nil when unknown.
    public func integerProperty(_ cf: ColumnFamily, _ name: String) throws -> UInt64? {
        try withDB(cf) { db, h in
            var value: UInt64 = 0
            return rocksdb_property_int_cf(db, h, name, &value) == 0 ? value : nil
        }
    }

    /// Closes the database: aborts manual compactions (a retention reclaim could otherwise hold
    /// the shared lock for seconds), waits for in-flight calls, destroys every column-family
    /// handle, then the database. Later calls throw `closed`. Idempotent.
    public func close() {
        stopManualCompactions()
        lock.withWriteLock {
            guard let db else { return }
            let all = familiesLock.withLock { () -> [ColumnFamily] in
                defer { families.removeAll() }
                return Array(families.values)
            }
            for cf in all { cf.invalidateLocked(dropped: false) }
            rocksdb_close(db)
            self.db = nil
        }
    }

    public var isClosed: Bool { lock.withReadLock { db == nil } }

    // MARK: Lifetime guards

    private func withDB<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
        try lock.withReadLock {
            guard let db else { throw StorageError.closed }
            return try body(db)
        }
    }

    private func withDB<R>(_ cf: ColumnFamily, _ body: (OpaquePointer, OpaquePointer) throws -> R) throws -> R {
        precondition(cf.lock === lock, "column family \(cf.name) belongs to another database")
        return try lock.withReadLock {
            guard let db else { throw StorageError.closed }
            guard let h = cf.handle else {
                throw cf.dropped ? StorageError.columnFamilyDropped(cf.name) : StorageError.closed
            }
            return try body(db, h)
        }
    }

    // MARK: Read-only open

    /// Opens the database at `path` read-only (`DB::OpenForReadOnly`) with exactly these column
    /// families; RocksDB refuses unless every existing family is named, so list them first.
    /// `default` is added with `options` when not listed.
    ///
    /// A read-only open takes no LOCK file, so it works while a broker has the database open:
    /// it reads the MANIFEST, the SST files and replays the WAL into memory, giving a view as of
    /// the open (what the broker writes later is not seen). It writes nothing, not even an info
    /// LOG. Every write through it fails with RocksDB's "Not supported" error.
    public static func openReadOnly(path: String, options: RocksDBOptions,
                                    columnFamilies: [(name: String, options: RocksDBOptions)]) throws -> RocksDB {
        try open(path: path, options: options, columnFamilies: columnFamilies, what: "read-only open") {
            count, names, familyOptions, handles, err in
            // 0: a WAL is allowed (a running broker's, or one not yet flushed): it is replayed.
            rocksdb_open_for_read_only_column_families(options.pointer, path, count, names, familyOptions, handles, 0, err)
        }
    }
}

extension UnsafeMutableRawBufferPointer {
    static func allocateCopy(of bytes: [UInt8]) -> UnsafeMutableRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count])
    }
}
