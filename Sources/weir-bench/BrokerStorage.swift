import ArgumentParser
import Foundation
import Logging
import WeirServer
import WeirStorage

/// Opens a `LogStore` exactly as `weir broker` would with the same properties file and
/// overrides, so that the storage limit and the prefill use the broker's RocksDB options (LZ4
/// partition families, WAL on, the same memtable budget, block cache and sync setting).
struct BrokerStorageOptions: ParsableArguments {
    @Option(help: "The broker's properties file, for the storage settings.")
    var config: String = "config/server.properties"

    @Option(name: .customLong("override"), help: "Override a broker property: key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Storage experiment: atomic_flush (true/false); default: the broker's.")
    var atomicFlush: Bool?

    @Option(help: "Storage experiment: the per-partition memtable size (write_buffer_size) in bytes.")
    var partitionWriteBufferBytes: Int?

    /// Mirrors `BrokerRuntime.run`: the StorageOptions it derives from the properties.
    func storageOptions() throws -> StorageOptions {
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let properties = try BrokerProperties(text: text, overrides: overrides)
        var storage = StorageOptions()
        storage.totalWriteBufferBytes = properties.storageWriteBufferBytes
        storage.blockCacheBytes = properties.storageBlockCacheBytes
        storage.syncEveryWrite = properties.broker.flushIntervalMessages == 1
        if let atomicFlush { storage.atomicFlush = atomicFlush }
        if let partitionWriteBufferBytes { storage.partitionWriteBufferBytes = partitionWriteBufferBytes }
        return storage
    }

    func open(directory: String) throws -> LogStore {
        let logger = Logger(label: "weir-bench") { _ in SwiftLogNoOpLogHandler() }
        return try LogStore.open(directory: directory, options: try storageOptions(), logger: logger)
    }
}

/// Bytes used under a directory (the database's size on disk).
func directoryBytes(_ path: String) -> Int {
    guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total = 0
    for case let name as String in walker {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
        total += (attributes?[.size] as? Int) ?? 0
    }
    return total
}
