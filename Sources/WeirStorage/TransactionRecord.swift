import KafkaProtocol

/// A transactional id's state as the transaction coordinator keeps it: Kafka's
/// TransactionMetadata (the value of a `__transaction_state` record), plus the offsets the
/// transaction will commit for consumer groups, which Kafka keeps as pending records in
/// `__consumer_offsets` and Weir keeps here, so that they become visible in the same write
/// that completes the commit.
public struct TransactionRecord: Sendable, Equatable {
    /// Kafka's TransactionState, with its numbering.
    public enum State: UInt8, Sendable, CaseIterable {
        case empty = 0
        case ongoing = 1
        case prepareCommit = 2
        case prepareAbort = 3
        case completeCommit = 4
        case completeAbort = 5
        case dead = 6
        case prepareEpochFence = 7

        /// Kafka's names, as DescribeTransactions and ListTransactions answer them.
        public var kafkaName: String {
            switch self {
            case .empty: "Empty"
            case .ongoing: "Ongoing"
            case .prepareCommit: "PrepareCommit"
            case .prepareAbort: "PrepareAbort"
            case .completeCommit: "CompleteCommit"
            case .completeAbort: "CompleteAbort"
            case .dead: "Dead"
            case .prepareEpochFence: "PrepareEpochFence"
            }
        }
    }

    public var transactionalId: String
    public var producerId: Int64
    public var producerEpoch: Int16
    public var timeoutMs: Int32
    public var state: State
    /// The partitions added to the open transaction, sorted.
    public var partitions: [TopicPartition]
    /// Offsets the open transaction commits, by group (TxnOffsetCommit).
    public var pendingOffsets: [String: [TopicPartition: CommittedOffset]]
    /// When the open transaction began (its first AddPartitions/AddOffsets); -1 when none is open.
    public var startTimestampMs: Int64
    public var lastUpdateTimestampMs: Int64

    public init(transactionalId: String, producerId: Int64, producerEpoch: Int16, timeoutMs: Int32,
                state: State = .empty, partitions: [TopicPartition] = [],
                pendingOffsets: [String: [TopicPartition: CommittedOffset]] = [:],
                startTimestampMs: Int64 = -1, lastUpdateTimestampMs: Int64) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.timeoutMs = timeoutMs
        self.state = state
        self.partitions = partitions
        self.pendingOffsets = pendingOffsets
        self.startTimestampMs = startTimestampMs
        self.lastUpdateTimestampMs = lastUpdateTimestampMs
    }
}

/// The binary form of a `TransactionRecord` (the value in `TransactionStore`), all big-endian:
///
///     format UInt8 (0) · producer id Int64 · producer epoch Int16 · timeout ms Int32 ·
///     state UInt8 (Kafka's numbering) · start timestamp Int64 · last update Int64 ·
///     partition count Int32, each: topic (Int16 length + UTF-8) · partition Int32 ·
///     group count Int32, each: group (Int16 length + UTF-8) · offset count Int32, each: topic ·
///     partition Int32 · offset Int64 · leader epoch Int32 · metadata (Int32 length, -1 = null,
///     + UTF-8) · commit timestamp Int64
extension TransactionRecord {
    func encoded() -> [UInt8] {
        var out: [UInt8] = [0]
        out.appendBigEndian(producerId)
        out.appendBigEndian(producerEpoch)
        out.appendBigEndian(timeoutMs)
        out.append(state.rawValue)
        out.appendBigEndian(startTimestampMs)
        out.appendBigEndian(lastUpdateTimestampMs)
        out.appendBigEndian(Int32(partitions.count))
        for tp in partitions {
            Self.appendString(tp.topic, to: &out)
            out.appendBigEndian(tp.partition)
        }
        out.appendBigEndian(Int32(pendingOffsets.count))
        for (group, offsets) in pendingOffsets.sorted(by: { $0.key < $1.key }) {
            Self.appendString(group, to: &out)
            out.appendBigEndian(Int32(offsets.count))
            for (tp, o) in offsets.sorted(by: { $0.key < $1.key }) {
                Self.appendString(tp.topic, to: &out)
                out.appendBigEndian(tp.partition)
                out.appendBigEndian(o.offset)
                out.appendBigEndian(o.leaderEpoch)
                if let metadata = o.metadata {
                    out.appendBigEndian(Int32(metadata.utf8.count))
                    out.append(contentsOf: metadata.utf8)
                } else {
                    out.appendBigEndian(Int32(-1))
                }
                out.appendBigEndian(o.commitTimestampMs)
            }
        }
        return out
    }

    init(transactionalId: String, decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes: bytes, what: "transaction \(transactionalId)")
        guard try r.uint8() == 0 else { throw StorageError.corrupt("transaction \(transactionalId): unknown format") }
        let producerId = try r.int(Int64.self)
        let epoch = try r.int(Int16.self)
        let timeout = try r.int(Int32.self)
        guard let state = State(rawValue: try r.uint8()) else { throw StorageError.corrupt("transaction \(transactionalId): state") }
        let start = try r.int(Int64.self)
        let update = try r.int(Int64.self)
        var partitions: [TopicPartition] = []
        for _ in 0..<(try r.count()) {
            partitions.append(TopicPartition(try r.string(), try r.int(Int32.self)))
        }
        var pending: [String: [TopicPartition: CommittedOffset]] = [:]
        for _ in 0..<(try r.count()) {
            let group = try r.string()
            var offsets: [TopicPartition: CommittedOffset] = [:]
            for _ in 0..<(try r.count()) {
                let tp = TopicPartition(try r.string(), try r.int(Int32.self))
                let offset = try r.int(Int64.self)
                let leaderEpoch = try r.int(Int32.self)
                let length = try r.int(Int32.self)
                let metadata = length < 0 ? nil : String(decoding: try r.bytes(Int(length)), as: UTF8.self)
                offsets[tp] = CommittedOffset(offset: offset, leaderEpoch: leaderEpoch, metadata: metadata,
                                              commitTimestampMs: try r.int(Int64.self))
            }
            pending[group] = offsets
        }
        guard r.atEnd else { throw StorageError.corrupt("transaction \(transactionalId): trailing bytes") }
        self.init(transactionalId: transactionalId, producerId: producerId, producerEpoch: epoch, timeoutMs: timeout,
                  state: state, partitions: partitions, pendingOffsets: pending, startTimestampMs: start,
                  lastUpdateTimestampMs: update)
    }

    private static func appendString(_ s: String, to out: inout [UInt8]) {
        out.appendBigEndian(Int16(truncatingIfNeeded: s.utf8.count))
        out.append(contentsOf: s.utf8)
    }
}

/// Reads big-endian fields off a stored value, throwing `StorageError.corrupt` when it ends early.
struct ByteReader {
    let bytes: [UInt8]
    let what: String
    var at = 0

    init(bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    var atEnd: Bool { at == bytes.count }

    mutating func bytes(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - at >= n else { throw StorageError.corrupt("\(what): truncated") }
        defer { at += n }
        return bytes[at..<at + n]
    }

    mutating func uint8() throws -> UInt8 { try bytes(1).first! }

    mutating func int<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try bytes(MemoryLayout<T>.size).reduce(T.zero) { ($0 << 8) | T(truncatingIfNeeded: $1) }
    }

    /// An Int32 count, refused when negative or larger than the bytes left could hold.
    mutating func count() throws -> Int {
        let n = Int(try int(Int32.self))
        guard n >= 0, n <= bytes.count - at else { throw StorageError.corrupt("\(what): count \(n)") }
        return n
    }

    mutating func string() throws -> String {
        let n = Int(try int(Int16.self))
        return String(decoding: try bytes(n), as: UTF8.self)
    }
}
