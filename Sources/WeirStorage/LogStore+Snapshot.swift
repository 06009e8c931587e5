import Foundation

/// Restoring a snapshot: a directory written by `LogStore.checkpoint(to:)` (RocksDB's
/// checkpoint — CURRENT, MANIFEST-*, OPTIONS-*, *.sst and possibly a *.log WAL, all plain files
/// in one directory) copied into a new data directory, which a broker or `ReadOnlyLogStore` then
/// opens like any other.
///
/// Why copy and not link: a checkpoint on the same file system hard-links the live database's
/// SST files, so the snapshot shares their blocks; restoring by copying gives the new directory
/// files of its own, so that neither side's later compactions or deletions touch the other.
extension LogStore {
    /// What `restoreSnapshot` copied.
    public struct RestoredFiles: Sendable, Equatable {
        public var files: Int
        public var bytes: Int64
    }

    /// Copies the snapshot in `source` into `destination`, file by file, fsyncing each file and
    /// then the directory, so that the copy survives a crash once this returns.
    /// `destination` is created; it must not exist, or be an empty directory.
    /// - Throws: `invalidArgument` when `source` holds no database (no `CURRENT`), when it has a
    ///   subdirectory (a checkpoint has none), or when `destination` exists and is not empty.
    @discardableResult
    public static func restoreSnapshot(from source: String, to destination: String,
                                       progress: (Double) -> Void = { _ in }) throws -> RestoredFiles {
        let fm = FileManager.default
        guard databaseExists(in: source) else { throw StorageError.invalidArgument("no database at \(source)") }
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: destination, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, try fm.contentsOfDirectory(atPath: destination).isEmpty else {
                throw StorageError.invalidArgument("\(destination) exists and is not an empty directory")
            }
        }
        let names = try fm.contentsOfDirectory(atPath: source).sorted()
        var sizes: [Int64] = []
        for name in names {
            let attributes = try fm.attributesOfItem(atPath: source + "/" + name)
            guard attributes[.type] as? FileAttributeType == .typeRegular else {
                throw StorageError.invalidArgument("\(source)/\(name) is not a regular file: not a checkpoint")
            }
            sizes.append((attributes[.size] as? NSNumber)?.int64Value ?? 0)
        }
        try fm.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let total = max(sizes.reduce(0, +), 1)
        var copied: Int64 = 0
        for name in names {
            try copyFile(source + "/" + name, destination + "/" + name) { n in
                copied += Int64(n)
                progress(Double(copied) / Double(total))
            }
        }
        try fsync(path: destination, directory: true)
        return RestoredFiles(files: names.count, bytes: copied)
    }

    /// Copies one file in 1 MiB chunks and fsyncs the copy; `advanced` gets each chunk's size.
    private static func copyFile(_ from: String, _ to: String, advanced: (Int) -> Void) throws {
        let input = Foundation.open(from, O_RDONLY)
        guard input >= 0 else { throw StorageError.rocksDB("open \(from): \(String(cString: strerror(errno)))") }
        defer { Foundation.close(input) }
        let output = Foundation.open(to, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard output >= 0 else { throw StorageError.rocksDB("create \(to): \(String(cString: strerror(errno)))") }
        defer { Foundation.close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(input, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.rocksDB("read \(from): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { Foundation.write(output, $0.baseAddress! + written, n - written) }
                if w < 0 {
                    if errno == EINTR { continue }
                    throw StorageError.rocksDB("write \(to): \(String(cString: strerror(errno)))")
                }
                written += w
            }
            advanced(n)
        }
        guard Foundation.fsync(output) == 0 else { throw StorageError.rocksDB("fsync \(to): \(String(cString: strerror(errno)))") }
    }

    private static func fsync(path: String, directory: Bool) throws {
        let fd = Foundation.open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY)
        guard fd >= 0 else { throw StorageError.rocksDB("open \(path): \(String(cString: strerror(errno)))") }
        defer { Foundation.close(fd) }
        guard Foundation.fsync(fd) == 0 else { throw StorageError.rocksDB("fsync \(path): \(String(cString: strerror(errno)))") }
    }
}
