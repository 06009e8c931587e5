import Foundation
import KafkaProtocol
import NIOCore

/// Replication between brokers: a follower appends the leader's batches as they are (offsets
/// and leader epochs already stamped), the leader moves the high watermark as its followers
/// catch up, and a replica that follows a new leader first drops what it has above its high
/// watermark (records never committed, which the new leader may not have).
///
/// The on-disk layout is the leader's: same keys (base offsets), same batch bytes; a follower's
/// producer states are recorded from the replicated batches, so it can lead with exactly-once
/// retries intact.
extension PartitionLog {
    /// Marks the partition replicated (its high watermark then moves only by
    /// `advanceHighWatermark`) or not (it follows the log end again, as on a single broker).
    public func setReplicated(_ replicated: Bool) {
        state.withLock { s in
            s.replicated = replicated
            if !replicated { s.watermark = s.end }
        }
    }

    /// Moves the high watermark up to `offset` (never past the log end, never down).
    /// - Returns: true when it moved.
    @discardableResult
    public func advanceHighWatermark(to offset: Int64) -> Bool {
        state.withLock { s in
            let hw = min(offset, s.end)
            guard hw > s.watermark else { return false }
            s.watermark = hw
            return true
        }
    }

    /// Appends batches fetched from the leader, each stored as it came. A batch that ends
    /// below the log end is one this replica has (a re-fetch) and is skipped; one that starts
    /// above it would leave a gap and is refused. Then the high watermark follows the leader's,
    /// as far as this replica has the records.
    /// - Parameter records: the record batches of a Fetch response's partition, back to back.
    /// - Returns: the new log end offset.
    @discardableResult
    public func appendReplicated(_ records: ByteBuffer, leaderHighWatermark: Int64, sync: Bool) throws -> Int64 {
        try state.withLock { s in
            let writeBatch = WriteBatch()
            var next = s.end
            var updated: [Int64: ProducerState] = [:]
            var index = records.readerIndex
            while records.writerIndex - index >= RecordBatchHeader.size {
                let header = try RecordBatchHeader(from: records, at: index)
                let size = header.totalSize
                // A partial batch at the end of a response (max.bytes cut it): fetched next time.
                guard size >= RecordBatchHeader.size, records.writerIndex - index >= size else { break }
                defer { index += size }
                guard header.lastOffset >= next else { continue }
                guard header.baseOffset == next else {
                    throw StorageError.invalidArgument(
                        "replicated batch at offset \(header.baseOffset) does not continue the log at \(next)")
                }
                guard let bytes = records.getSlice(at: index, length: size) else { break }
                try writeBatch.putv(cf, key: OffsetKey(header.baseOffset), parts: [bytes])
                if header.producerId >= 0 && !header.isControl {
                    var producer = updated[header.producerId] ?? s.producers[header.producerId]
                        ?? ProducerState(epoch: header.producerEpoch)
                    producer.record(epoch: header.producerEpoch, ProducerBatchMetadata(
                        firstSequence: header.baseSequence,
                        lastSequence: ProducerState.lastSequence(first: header.baseSequence, lastOffsetDelta: header.lastOffsetDelta),
                        baseOffset: header.baseOffset, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp))
                    updated[header.producerId] = producer
                }
                next = header.lastOffset + 1
            }
            for (producerId, producer) in updated {
                try producerStore.put(producer, topicId: topicId, partition: topicPartition.partition,
                                      producerId: producerId, in: writeBatch)
            }
            if writeBatch.count > 0 { try db.write(writeBatch, sync: sync || syncEveryWrite) }
            s.end = next
            s.producers.merge(updated) { _, new in new }
            s.watermark = max(s.watermark, min(leaderHighWatermark, next))
            return next
        }
    }

    /// Drops every batch at or above `offset` (a batch boundary: the high watermark), and
    /// what the producers' states remember of them.
    public func truncate(to offset: Int64) throws {
        try state.withLock { s in
            guard offset < s.end else { return }
            let target = max(offset, s.start)
            let writeBatch = WriteBatch()
            try writeBatch.deleteRange(cf, from: OffsetKey(target), to: OffsetKey(Int64.max))
            var changed: [Int64: ProducerState] = [:]
            for (id, producer) in s.producers where producer.batches.contains(where: { $0.baseOffset >= target }) {
                changed[id] = ProducerState(epoch: producer.epoch, batches: producer.batches.filter { $0.baseOffset < target },
                                            currentTxnFirstOffset: producer.currentTxnFirstOffset)
            }
            for (id, producer) in changed {
                try producerStore.put(producer, topicId: topicId, partition: topicPartition.partition, producerId: id, in: writeBatch)
            }
            try db.write(writeBatch, sync: true)
            s.end = target
            s.watermark = min(s.watermark, target)
            s.producers.merge(changed) { _, new in new }
        }
    }
}

extension PartitionLog {
    /// Kafka's OffsetForLeaderEpoch answer: the largest leader epoch at or below `epoch` that
    /// this log has batches of, and where it ends — the base offset of the first batch of a later
    /// epoch, or the log end when none follows. (-1, -1) when the log has no batch of such an epoch.
    /// Reads the batch headers backwards from the end, stopping at the first batch of `epoch` or
    /// earlier: a follower asks about its own last epoch, which is at or near the leader's end.
    public func endOffset(forLeaderEpoch epoch: Int32) throws -> (epoch: Int32, endOffset: Int64) {
        let end = logEndOffset
        return try db.withIterator(cf, fillCache: false) { it in
            var nextStart = end
            it.seekToLast()
            while it.isValid {
                let batch = try StoredBatch(key: it.key, value: it.value)
                let batchEpoch = try RecordBatchHeader(from: ByteBuffer(bytes: it.value.prefix(RecordBatchHeader.size)), at: 0)
                    .partitionLeaderEpoch
                if batchEpoch <= epoch { return (batchEpoch, nextStart) }
                nextStart = batch.baseOffset
                it.prev()
            }
            try it.checkError()
            return (-1, -1)
        }
    }

    /// The leader epoch of the last batch in the log; -1 when it is empty.
    public func lastLeaderEpoch() throws -> Int32 {
        try db.withIterator(cf, fillCache: false) { it in
            it.seekToLast()
            guard it.isValid else {
                try it.checkError()
                return -1
            }
            return try RecordBatchHeader(from: ByteBuffer(bytes: it.value.prefix(RecordBatchHeader.size)), at: 0).partitionLeaderEpoch
        }
    }
}
