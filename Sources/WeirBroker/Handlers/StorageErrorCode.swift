import KafkaProtocol
import WeirStorage

extension ErrorCode {
    /// The Kafka error a client gets for a storage failure: one mapping for every handler.
    init(storageError error: any Error) {
        switch error {
        case StorageError.columnFamilyDropped, StorageError.unknownTopic: self = .unknownTopicOrPartition
        case StorageError.offsetOutOfRange: self = .offsetOutOfRange
        case let error as ProducerStateError: self = error.code
        default: self = .unknownServerError
        }
    }
}
