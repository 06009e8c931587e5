/// Errors of the storage layer. The broker maps them to Kafka error codes: `offsetOutOfRange`
/// → OFFSET_OUT_OF_RANGE, `unknownTopic`/`columnFamilyDropped` → UNKNOWN_TOPIC_OR_PARTITION,
/// `topicExists` → TOPIC_ALREADY_EXISTS, `invalidArgument` → INVALID_REQUEST (or the more
/// specific code the caller knows), everything else (a full disk, an I/O error) → KAFKA_STORAGE_ERROR,
/// which clients retry.
public enum StorageError: Error, Equatable, CustomStringConvertible {
    /// RocksDB reported a failure (`char** errptr`); the message is RocksDB's own.
    case rocksDB(String)
    /// The database was closed; no further operation is possible.
    case closed
    /// The column family was dropped (its topic was deleted) while a caller still held it.
    case columnFamilyDropped(String)
    /// A topic of that name exists already.
    case topicExists(String)
    /// No topic of that name exists.
    case unknownTopic(String)
    /// A fetch/DeleteRecords offset outside the log's valid range.
    case offsetOutOfRange(requested: Int64, logStartOffset: Int64, logEndOffset: Int64)
    /// An argument the storage layer cannot honour (negative partition count, shrinking partitions …).
    case invalidArgument(String)
    /// Bytes read back from disk are not what this layer wrote (wrong key size, truncated batch …).
    case corrupt(String)
    /// A `noSlowdown` write found RocksDB stalling writes; nothing was written. Retry where
    /// waiting is allowed (the I/O pool).
    case writeStalled

    public var description: String {
        switch self {
        case .rocksDB(let message): return "rocksdb: \(message)"
        case .closed: return "storage closed"
        case .columnFamilyDropped(let name): return "column family \(name) was dropped"
        case .topicExists(let name): return "topic \(name) already exists"
        case .unknownTopic(let name): return "unknown topic \(name)"
        case .offsetOutOfRange(let requested, let start, let end):
            return "offset \(requested) out of range [\(start), \(end)]"
        case .invalidArgument(let what): return "invalid argument: \(what)"
        case .corrupt(let what): return "corrupt data: \(what)"
        case .writeStalled: return "write stalled"
        }
    }
}
