import NIOCore

/// Transaction markers: the control batches a transaction coordinator writes into every
/// partition of a transaction when it ends (KIP-98). One record, no payload of interest:
///
///     key    version Int16 BE (0), type Int16 BE (0 = ABORT, 1 = COMMIT)
///     value  version Int16 BE (0), coordinator epoch Int32 BE
///
/// in a batch with the control and transactional attributes set, the producer's id and epoch,
/// and no sequence. Consumers never hand control records to applications.
public enum ControlRecord {
    public enum Kind: Int16, Sendable {
        case abort = 0
        case commit = 1
    }

    /// A marker batch (base offset 0: the log stamps it).
    public static func markerBatch(_ kind: Kind, producerId: Int64, producerEpoch: Int16, coordinatorEpoch: Int32,
                                   timestamp: Int64) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(codec: .none, baseTimestamp: timestamp, producerId: producerId,
                                         producerEpoch: producerEpoch, baseSequence: -1, isTransactional: true,
                                         isControl: true, partitionLeaderEpoch: 0)
        var key = ByteBuffer()
        key.writeInteger(Int16(0), endianness: .big)
        key.writeInteger(kind.rawValue, endianness: .big)
        var value = ByteBuffer()
        value.writeInteger(Int16(0), endianness: .big)
        value.writeInteger(coordinatorEpoch, endianness: .big)
        builder.append(key: key, value: value)
        return try builder.build()
    }

    /// The marker kind a control record's key names; nil for anything else.
    public static func kind(ofKey key: ByteBuffer?) -> Kind? {
        guard let key, key.readableBytes >= 4,
              key.getInteger(at: key.readerIndex, endianness: .big, as: Int16.self) == 0,
              let type = key.getInteger(at: key.readerIndex + 2, endianness: .big, as: Int16.self) else { return nil }
        return Kind(rawValue: type)
    }
}
