import Foundation
import KafkaProtocol
import NIOCore

/// Reads a broker's database the way an operator needs it (`weir log inspect/dump/verify`):
/// per-partition summaries, every batch with its records, and a check of everything the
/// storage layer promises about its bytes. Reads only; run it on a `ReadOnlyLogStore` (beside a
/// running broker, or on a snapshot) or on an open `LogStore`.
///
/// What it reads (see `LogStore`, `PartitionLog`, `TopicCatalog`, `ProducerStateStore` for the
/// layouts): the catalog's `topic/<name>` entries and `lso/<topic id>/<p>` log start offsets,
/// each `log/<topic id>/<p>` column family (8-byte big-endian base offset → stored v2 batch),
/// and the `producers` column family. Batches are walked with iterators that do not fill the
/// block cache, so that inspecting a live broker's database does not evict what consumers read.
/// Every value passes through the iterator once (RocksDB cannot read part of a value).
public struct LogInspector {
    let db: RocksDB
    let catalog: TopicCatalog?
    let producers: ProducerStateStore?

    public init(_ store: ReadOnlyLogStore) {
        db = store.db
        catalog = store.catalog
        producers = store.producers
    }

    public init(_ store: LogStore) {
        db = store.db
        catalog = store.catalog
        producers = store.producers
    }

    /// Called as a walk advances with the fraction done, 0…1 (for a progress bar).
    public typealias Progress = (Double) -> Void

    // MARK: Summaries

    /// The partitions of every topic (or of `topic`, or of one partition of it), in topic-name
    /// then partition order, empty ones included.
    /// - Throws: `unknownTopic`, `invalidArgument` for a partition the topic does not have.
    public func summaries(topic: String? = nil, partition: Int32? = nil,
                          progress: Progress = { _ in }) throws -> [PartitionSummary] {
        let targets = try partitions(topic: topic, partition: partition)
        var result: [PartitionSummary] = []
        result.reserveCapacity(targets.count)
        for (i, (record, p)) in targets.enumerated() {
            result.append(try summary(record, p) { progress((Double(i) + $0) / Double(targets.count)) })
        }
        progress(1)
        return result
    }

    /// The selected (topic, partition) pairs; a partition not given means all of the topic's.
    func partitions(topic: String?, partition: Int32?) throws -> [(TopicRecord, Int32)] {
        let all = try catalog?.topics() ?? []
        var records = all
        if let topic {
            guard let record = all.first(where: { $0.name == topic }) else { throw StorageError.unknownTopic(topic) }
            records = [record]
        }
        var result: [(TopicRecord, Int32)] = []
        for record in records {
            if let partition {
                guard partition >= 0, partition < record.partitionCount else {
                    throw StorageError.invalidArgument("topic \(record.name) has \(record.partitionCount) partitions, no partition \(partition)")
                }
                result.append((record, partition))
            } else {
                for p in 0..<record.partitionCount { result.append((record, p)) }
            }
        }
        return result
    }

    private func summary(_ record: TopicRecord, _ p: Int32, progress: Progress) throws -> PartitionSummary {
        let name = PartitionLog.columnFamilyName(topicId: record.id, partition: p)
        var summary = PartitionSummary(topic: record.name, topicId: record.id.base64, partition: p)
        let storedStart = try catalog?.logStartOffset(topicId: record.id, partition: p)
        guard let cf = db.columnFamily(named: name) else {
            summary.columnFamilyMissing = true
            summary.logStartOffset = storedStart ?? 0
            summary.logEndOffset = summary.logStartOffset
            return summary
        }
        var firstBase: Int64?
        var next: Int64?
        let bounds = try offsetBounds(cf)
        try walk(cf) { key, value in
            summary.batches += 1
            summary.bytes += Int64(value.count)
            guard let batch = try? StoredBatch(key: key, value: value) else {
                summary.unreadableBatches += 1
                return true
            }
            if firstBase == nil {
                firstBase = batch.baseOffset
                summary.firstTimestamp = Self.firstTimestamp(value)
            }
            next = batch.lastOffset + 1
            summary.lastTimestamp = batch.maxTimestamp
            summary.records += Int64(value.bigEndian(Int32.self, at: 57) ?? 0)
            if let bounds, bounds.upperBound > bounds.lowerBound {
                progress(Double(batch.lastOffset + 1 - bounds.lowerBound) / Double(bounds.upperBound - bounds.lowerBound))
            }
            return true
        }
        // As `PartitionLog` computes them when it opens.
        summary.logStartOffset = storedStart ?? firstBase ?? 0
        summary.logEndOffset = max(next ?? summary.logStartOffset, summary.logStartOffset)
        return summary
    }

    /// The first batch's base offset and the last batch's end, for progress; nil when empty or
    /// unreadable.
    private func offsetBounds(_ cf: ColumnFamily) throws -> Range<Int64>? {
        try db.withIterator(cf, fillCache: false) { it -> Range<Int64>? in
            it.seekToFirst()
            guard it.isValid, let first = try? StoredBatch(key: it.key, value: it.value) else { return nil }
            it.seekToLast()
            guard it.isValid, let last = try? StoredBatch(key: it.key, value: it.value),
                  last.lastOffset >= first.baseOffset else { return nil }
            return first.baseOffset..<(last.lastOffset + 1)
        }
    }

    /// The first record's timestamp as a consumer sees it: baseTimestamp, or for a
    /// LogAppendTime batch its maxTimestamp (the broker's time, for every record).
    static func firstTimestamp(_ value: UnsafeRawBufferPointer) -> Int64? {
        guard let attributes = value.bigEndian(Int16.self, at: 21) else { return nil }
        return value.bigEndian(Int64.self, at: attributes & 0x08 != 0 ? 35 : 27)
    }

    /// Calls `body` with each stored key and value of `cf` in key order, from the batch holding
    /// `offset` (or the first); stops when `body` returns false.
    func walk(_ cf: ColumnFamily, from offset: Int64? = nil,
              _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try db.withIterator(cf, fillCache: false) { it in
            if let offset {
                it.seekForPrev(OffsetKey(offset))
                if it.isValid {
                    if let batch = try? StoredBatch(key: it.key, value: it.value), batch.lastOffset < offset { it.next() }
                } else {
                    try it.checkError()
                    it.seek(OffsetKey(offset))
                }
            } else {
                it.seekToFirst()
            }
            while it.isValid {
                guard try body(it.key, it.value) else { return }
                it.next()
            }
            try it.checkError()
        }
    }

    // MARK: Dump

    /// Calls `body` with every batch of the partition in offset order, from the one holding
    /// `offset` (records below `offset` left out), with its records decoded (every codec, through
    /// `RecordBatchReader`); stops when `body` returns false.
    /// - Throws: `unknownTopic`, `invalidArgument` for a missing partition, `corrupt` when the
    ///   partition's column family is missing.
    public func dump(_ tp: TopicPartition, from offset: Int64? = nil, _ body: (DumpedBatch) throws -> Bool) throws {
        guard let target = try partitions(topic: tp.topic, partition: tp.partition).first else { return }
        let name = PartitionLog.columnFamilyName(topicId: target.0.id, partition: target.1)
        guard let cf = db.columnFamily(named: name) else {
            throw StorageError.corrupt("partition \(tp) has no column family \(name)")
        }
        try walk(cf, from: offset) { key, value in
            try body(Self.decode(key: key, value: value, from: offset ?? Int64.min))
        }
    }

    static func decode(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, from offset: Int64) -> DumpedBatch {
        let keyOffset = OffsetKey.decode(key) ?? -1
        let buffer = ByteBuffer(bytes: value)
        guard value.count >= RecordBatchHeader.size, let header = try? RecordBatchHeader(from: buffer, at: 0) else {
            return DumpedBatch(keyOffset: keyOffset, header: nil, storedBytes: value.count, crcValid: false, records: [],
                               error: "stored value of \(value.count) bytes is shorter than a batch header")
        }
        var batch = DumpedBatch(keyOffset: keyOffset, header: header, storedBytes: value.count, crcValid: false,
                                records: [], error: nil)
        guard header.totalSize == value.count else {
            batch.error = "batchLength \(header.batchLength) does not match the stored \(value.count) bytes"
            return batch
        }
        batch.crcValid = RecordBatchHeader.computeCRC(of: buffer, batchAt: 0, totalSize: value.count) == header.crc
        do {
            var reader = RecordBatchReader(buffer, verifyCRC: false)
            guard let decoded = try reader.nextBatch() else {
                batch.error = "the batch could not be read"
                return batch
            }
            batch.records = decoded.filter { $0.offset >= offset }
        } catch {
            batch.error = "\(error)"
        }
        return batch
    }

    // MARK: Verify

    /// Checks everything the storage layer promises about its bytes:
    /// - each stored batch: an 8-byte key equal to its header's baseOffset, a whole v2 header
    ///   (magic 2, batchLength matching the value), lastOffsetDelta ≥ 0, and its CRC-32C;
    /// - offsets: from the log start offset on, each batch starts right after the previous one
    ///   ends (no gap, no overlap), and the log start offset is ≤ the first batch's last offset;
    /// - catalog ⇄ column families: every partition of every topic has its column family, and
    ///   every `log/…` column family belongs to a partition of a topic; the metadata families
    ///   exist; no log start offset or producer state is left for a topic id no topic has;
    /// - producer state ⇄ logs: no producer's last batch ends at or beyond the log end offset.
    ///
    /// Problems are collected, not thrown: the walk goes on to report them all.
    public func verify(progress: Progress = { _ in }) throws -> VerifyReport {
        var report = VerifyReport()
        for name in [TopicCatalog.columnFamilyName, OffsetStore.columnFamilyName, ProducerStateStore.columnFamilyName]
            where db.columnFamily(named: name) == nil {
            report.problems.append(VerifyProblem(columnFamily: name, message: "the metadata column family is missing"))
        }
        let records: [TopicRecord]
        do {
            records = try catalog?.topics() ?? []
        } catch {
            report.problems.append(VerifyProblem(columnFamily: TopicCatalog.columnFamilyName, message: "\(error)"))
            return report
        }
        var named = Set<String>()
        let targets = records.flatMap { r in (0..<r.partitionCount).map { (r, $0) } }
        for (i, (record, p)) in targets.enumerated() {
            let name = PartitionLog.columnFamilyName(topicId: record.id, partition: p)
            named.insert(name)
            let tp = TopicPartition(record.name, p)
            guard let cf = db.columnFamily(named: name) else {
                report.problems.append(VerifyProblem(tp, columnFamily: name, message: "the partition has no column family \(name)"))
                continue
            }
            try verifyPartition(record, p, cf, into: &report) { progress((Double(i) + $0) / Double(targets.count)) }
        }
        for name in db.columnFamilyNames.sorted() where name.hasPrefix("log/") && !named.contains(name) {
            report.problems.append(VerifyProblem(columnFamily: name, message: "no topic of the catalog names this partition column family"))
        }
        let liveIds = Set(records.map(\.id))
        if let catalog {
            for id in try catalog.topicIdsWithLogStartOffsets().sorted() where !liveIds.contains(where: { $0.base64 == id }) {
                report.problems.append(VerifyProblem(columnFamily: TopicCatalog.columnFamilyName,
                                                     message: "log start offsets stored for topic id \(id), which no topic has"))
            }
        }
        if let producers {
            for id in try producers.topicIds().map(\.base64).sorted() where !liveIds.contains(where: { $0.base64 == id }) {
                report.problems.append(VerifyProblem(columnFamily: ProducerStateStore.columnFamilyName,
                                                     message: "producer state stored for topic id \(id), which no topic has"))
            }
        }
        progress(1)
        return report
    }

    private func verifyPartition(_ record: TopicRecord, _ p: Int32, _ cf: ColumnFamily, into report: inout VerifyReport,
                                 progress: Progress) throws {
        let tp = TopicPartition(record.name, p)
        report.partitions += 1
        var problems: [VerifyProblem] = []
        let storedStart: Int64?
        do {
            storedStart = try catalog?.logStartOffset(topicId: record.id, partition: p)
        } catch {
            storedStart = nil
            problems.append(VerifyProblem(tp, message: "\(error)"))
        }
        let bounds = try offsetBounds(cf)
        /// The last offset of the previous readable batch.
        var previousLast: Int64?
        var firstBase: Int64?
        var afterUnreadable = false
        try walk(cf) { key, value in
            report.batches += 1
            report.bytes += Int64(value.count)
            guard let keyOffset = OffsetKey.decode(key) else {
                problems.append(VerifyProblem(tp, message: "a key of \(key.count) bytes (keys are 8-byte offsets)"))
                afterUnreadable = true
                return true
            }
            guard let header = Self.checkBatch(key: keyOffset, value: value, tp: tp, into: &problems) else {
                // Where it ends is unknown: the next batch's start cannot be checked against it.
                afterUnreadable = true
                return true
            }
            let last = header.lastOffset
            if afterUnreadable {
                afterUnreadable = false
            } else if let previousLast {
                if header.baseOffset > previousLast + 1 {
                    problems.append(VerifyProblem(tp, offset: header.baseOffset,
                                                  message: "gap: offsets \(previousLast + 1)…\(header.baseOffset - 1) are missing"))
                } else if header.baseOffset <= previousLast {
                    problems.append(VerifyProblem(tp, offset: header.baseOffset,
                                                  message: "overlap: the batch starts at \(header.baseOffset), the previous one ends at \(previousLast)"))
                }
            } else {
                firstBase = header.baseOffset
                if let start = storedStart {
                    if last < start {
                        problems.append(VerifyProblem(tp, offset: header.baseOffset,
                                                      message: "the log start offset \(start) is past the first batch's last offset \(last)"))
                    } else if header.baseOffset > start {
                        problems.append(VerifyProblem(tp, offset: start,
                                                      message: "gap: the log starts at \(start) but its first batch at \(header.baseOffset)"))
                    }
                }
            }
            previousLast = max(previousLast ?? last, last)
            if let bounds, bounds.upperBound > bounds.lowerBound {
                progress(Double(last + 1 - bounds.lowerBound) / Double(bounds.upperBound - bounds.lowerBound))
            }
            return true
        }
        let start = storedStart ?? firstBase ?? 0
        let end = max((previousLast.map { $0 + 1 }) ?? start, start)
        if let producers {
            do {
                let states = try producers.load(topicId: record.id, partition: p)
                for (producerId, state) in states.sorted(by: { $0.key < $1.key }) {
                    guard let newest = state.batches.last, newest.lastOffset >= end else { continue }
                    problems.append(VerifyProblem(tp, offset: newest.baseOffset, message:
                        "producer \(producerId)'s last batch \(newest.baseOffset)…\(newest.lastOffset) lies beyond the log end offset \(end)"))
                }
            } catch {
                problems.append(VerifyProblem(tp, message: "producer state: \(error)"))
            }
        }
        report.problems += problems
    }

    /// The header of a stored batch when it is whole (a CRC mismatch is recorded, and the header
    /// still returned); nil when it is not, with the problem recorded.
    static func checkBatch(key: Int64, value: UnsafeRawBufferPointer, tp: TopicPartition,
                           into problems: inout [VerifyProblem]) -> RecordBatchHeader? {
        let buffer = ByteBuffer(bytes: value)
        guard value.count >= RecordBatchHeader.size, let header = try? RecordBatchHeader(from: buffer, at: 0) else {
            problems.append(VerifyProblem(tp, offset: key, message: "stored value of \(value.count) bytes is shorter than a batch header"))
            return nil
        }
        var failures: [String] = []
        if header.baseOffset != key { failures.append("its header says baseOffset \(header.baseOffset)") }
        if header.magic != 2 { failures.append("magic \(header.magic)") }
        if header.totalSize != value.count {
            failures.append("batchLength \(header.batchLength) does not match the stored \(value.count) bytes")
        }
        if header.lastOffsetDelta < 0 { failures.append("lastOffsetDelta \(header.lastOffsetDelta)") }
        guard failures.isEmpty else {
            problems.append(VerifyProblem(tp, offset: key, message: "batch: " + failures.joined(separator: "; ")))
            return nil
        }
        let crc = RecordBatchHeader.computeCRC(of: buffer, batchAt: 0, totalSize: value.count)
        if crc != header.crc {
            // Its offsets are still readable (they lie outside the CRC): the walk goes on with them.
            problems.append(VerifyProblem(tp, offset: key, message: "batch: CRC-32C \(hex(crc)) does not match the stored \(hex(header.crc))"))
        }
        return header
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// One topic-partition as `LogInspector.summaries` reads it.
public struct PartitionSummary: Sendable, Equatable {
    public var topic: String
    /// The topic id, base64url (the `log/<id>/<p>` column family name).
    public var topicId: String
    public var partition: Int32
    /// As the broker computes them when it opens the log.
    public var logStartOffset: Int64 = 0
    public var logEndOffset: Int64 = 0
    /// The sum of the stored batches' recordsCount (a batch cut by the log start offset counts whole).
    public var records: Int64 = 0
    public var batches: Int = 0
    /// Stored value bytes: the batches as Kafka counts them, before RocksDB's LZ4.
    public var bytes: Int64 = 0
    /// The first batch's first timestamp (baseTimestamp; maxTimestamp for LogAppendTime), ms.
    public var firstTimestamp: Int64?
    /// The last batch's maxTimestamp, ms.
    public var lastTimestamp: Int64?
    /// Batches whose header could not be read (counted in `batches` and `bytes` only).
    public var unreadableBatches: Int = 0
    /// The partition's column family does not exist (`weir log verify` reports it).
    public var columnFamilyMissing = false

    public init(topic: String, topicId: String, partition: Int32, logStartOffset: Int64 = 0, logEndOffset: Int64 = 0,
                records: Int64 = 0, batches: Int = 0, bytes: Int64 = 0, firstTimestamp: Int64? = nil,
                lastTimestamp: Int64? = nil) {
        self.topic = topic
        self.topicId = topicId
        self.partition = partition
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
        self.records = records
        self.batches = batches
        self.bytes = bytes
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
    }
}

/// One stored batch as `LogInspector.dump` gives it.
public struct DumpedBatch: Sendable {
    /// The offset its key says (-1 for a key that is not 8 bytes).
    public var keyOffset: Int64
    /// nil when the value is too short to hold one.
    public var header: RecordBatchHeader?
    public var storedBytes: Int
    public var crcValid: Bool
    /// The records at or after the dump's start offset, decompressed.
    public var records: [DecodedBatch.Entry]
    /// Why the records could not be decoded, if they could not.
    public var error: String?
}

/// What `LogInspector.verify` found.
public struct VerifyReport: Sendable, Equatable {
    public var partitions = 0
    public var batches = 0
    public var bytes: Int64 = 0
    public var problems: [VerifyProblem] = []

    public init() {}
}

/// One thing wrong, with where it is: a partition (and offset) or a column family.
public struct VerifyProblem: Sendable, Equatable, CustomStringConvertible {
    public var topic: String?
    public var partition: Int32?
    public var offset: Int64?
    public var columnFamily: String?
    public var message: String

    public init(_ tp: TopicPartition? = nil, offset: Int64? = nil, columnFamily: String? = nil, message: String) {
        topic = tp?.topic
        partition = tp?.partition
        self.offset = offset
        self.columnFamily = columnFamily
        self.message = message
    }

    /// "t-0 offset 10: …", "t-0: …" or "column family log/…: …".
    public var description: String {
        var place: String
        if let topic, let partition {
            place = "\(topic)-\(partition)"
            if let offset { place += " offset \(offset)" }
        } else if let columnFamily {
            place = "column family \(columnFamily)"
        } else {
            place = "database"
        }
        return "\(place): \(message)"
    }
}
