import KafkaProtocol
import WeirStorage

extension ErrorCode {
    /// The Kafka error a client gets for a storage failure: one mapping for every handler.
    /// RocksDB's own failures (a full disk, an I/O error) and a closed store answer
    /// KAFKA_STORAGE_ERROR, which clients retry — as Kafka answers a log directory failure —
    /// rather than UNKNOWN_SERVER_ERROR, which they treat as fatal.
    init(storageError error: any Error) {
        switch error {
        case StorageError.columnFamilyDropped, StorageError.unknownTopic: self = .unknownTopicOrPartition
        case StorageError.offsetOutOfRange: self = .offsetOutOfRange
        case StorageError.rocksDB, StorageError.closed, StorageError.corrupt, StorageError.writeStalled:
            self = .kafkaStorageError
        case let error as ProducerStateError: self = error.code
        default: self = .unknownServerError
        }
    }
}
