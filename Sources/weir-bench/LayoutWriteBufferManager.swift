import CRocksDBExtras
import WeirStorage

/// Installs a stalling WriteBufferManager (`weir_rocksdb_set_write_buffer_manager`) on the options
/// a `layout` case opens its database with.
///
/// `RocksDBOptions` keeps its C handle internal to WeirStorage, and an experiment knob does not
/// belong in the broker's options until it has proven itself, so the bench reads the handle by
/// reflection (the stored property `pointer`). Reflection of a stored property name is brittle
/// only against a rename, which fails loudly here (nil handle → error), never silently.
enum LayoutWriteBufferManager {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "RocksDBOptions has no stored 'pointer' to install a WriteBufferManager on" }
    }

    static func install(on options: RocksDBOptions, budgetBytes: Int, allowStall: Bool) throws {
        guard let handle = Mirror(reflecting: options).descendant("pointer") as? OpaquePointer else {
            throw Unavailable()
        }
        weir_rocksdb_set_write_buffer_manager(handle, budgetBytes, allowStall ? 1 : 0)
    }
}
