import Foundation
import KafkaProtocol
import NIOCore
import WeirStorage

// GET /v1/topics/{name}/partitions/{p}/records?offset=&max=
extension ConsoleAPI {
    /// A page of records read through `PartitionLog.read` — the Fetch path's own read, up to the
    /// high watermark — and decoded by `RecordBatchReader`, each key, value and header value
    /// shown by `PayloadFormatter` (as `weir log dump --json`).
    ///
    /// No `offset`: the newest `max` records (the page starts `max` offsets before the high
    /// watermark). `max`: 1…500, default 50. At most `maxPageBytes` of stored batches are read;
    /// `next_offset` is where the next page starts (the high watermark once all is read).
    func records(topic: String, partition text: String, query: [String: String]) async -> AdminResponse {
        guard let partition = Int32(text), partition >= 0 else {
            return .error(.badRequest, "partition must be a non-negative integer, not '\(text)'")
        }
        var max = Self.defaultRecords
        if let m = query["max"] {
            guard let n = Int(m), n >= 1, n <= Self.maxRecords else {
                return .error(.badRequest, "max must be an integer from 1 to \(Self.maxRecords), not '\(m)'")
            }
            max = n
        }
        var from: Int64?
        if let o = query["offset"], !o.isEmpty {
            guard let n = Int64(o), n >= 0 else {
                return .error(.badRequest, "offset must be a non-negative integer, not '\(o)'")
            }
            from = n
        }
        let (store, wanted, limit) = (store, from, max)
        return await onPool {
            guard let record = store.topic(named: topic) else { return .error(.notFound, "unknown topic: \(topic)") }
            guard partition < record.partitionCount, let log = store.partition(TopicPartition(topic, partition)),
                  log.topicId == record.id else {
                return .error(.notFound, "topic \(topic) has no partition \(partition)")
            }
            let offsets = log.offsets
            let start = wanted ?? Swift.max(offsets.logStartOffset, offsets.highWatermark - Int64(limit))
            guard start >= offsets.logStartOffset, start <= offsets.highWatermark else {
                return .error(.badRequest, "offset \(start) is out of range: the log holds "
                    + "\(offsets.logStartOffset)…\(offsets.highWatermark) (log start … high watermark)")
            }
            var buffer = ByteBufferAllocator().buffer(capacity: 64 << 10)
            do {
                _ = try log.read(from: start, maxBytes: Self.maxPageBytes, minOneBatch: true, into: &buffer)
            } catch StorageError.offsetOutOfRange {
                return .error(.conflict, "offset \(start) was deleted meanwhile (retention or DeleteRecords); retry")
            }
            let page = try Self.decode(buffer, from: start, max: limit)
            return .object(.ok, [
                "topic": topic, "partition": partition, "log_start_offset": offsets.logStartOffset,
                "log_end_offset": offsets.logEndOffset, "high_watermark": offsets.highWatermark,
                "next_offset": page.next ?? start, "records": page.records,
            ])
        }
    }

    /// The records at or after `from` in `batches`, at most `max` of them and at most
    /// `maxPageBytes` of keys, values and headers (at least one record); control batches are
    /// left out. `next`: the offset after the last record given, or after the last batch read
    /// when every record of it was given; nil when `batches` is empty.
    static func decode(_ batches: ByteBuffer, from: Int64, max: Int) throws -> (records: [[String: Any]], next: Int64?) {
        var reader = RecordBatchReader(batches, verifyCRC: false)
        var records: [[String: Any]] = []
        var payload = 0
        var next: Int64?
        while let batch = try reader.nextBatch() {
            if !batch.header.isControl {
                for entry in batch where entry.offset >= from {
                    let size = (entry.key?.readableBytes ?? 0) + (entry.value?.readableBytes ?? 0)
                        + entry.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.readableBytes ?? 0) }
                    if records.count == max || (!records.isEmpty && payload + size > maxPageBytes) {
                        return (records, entry.offset)
                    }
                    payload += size
                    records.append(json(entry))
                    next = entry.offset + 1
                }
            }
            next = Swift.max(next ?? 0, batch.header.lastOffset + 1)
        }
        return (records, next)
    }

    static func json(_ entry: DecodedBatch.Entry) -> [String: Any] {
        let key = PayloadFormatter.json(entry.key)
        let value = PayloadFormatter.json(entry.value)
        return [
            "offset": entry.offset, "timestamp": entry.timestamp,
            "key": key.value.map { $0 as Any } ?? NSNull(), "key_encoding": key.encoding.rawValue,
            "value": value.value.map { $0 as Any } ?? NSNull(), "value_encoding": value.encoding.rawValue,
            "headers": entry.headers.map { header -> [String: Any] in
                let v = PayloadFormatter.json(header.value)
                return ["key": header.key, "value": v.value.map { $0 as Any } ?? NSNull(), "value_encoding": v.encoding.rawValue]
            },
        ]
    }
}
