import KafkaProtocol
import NIOCore

// Transactions on one partition: the markers that end them, the aborted-transaction index, and
// the last stable offset (see `PartitionLog.State.lastStable`).
extension PartitionLog {
    /// Ends `producerId`'s open transaction on this partition with a COMMIT or ABORT marker,
    /// in one write with the producer's new state (no transaction open, `epoch`) and, for an
    /// abort, its entry in the aborted-transaction index.
    ///
    /// Idempotent, which is what lets a coordinator that crashed between markers simply write
    /// them all again: when the producer has no open transaction here (its marker is already
    /// written, or it never wrote to this partition), nothing is written and nil is returned.
    /// - Returns: the marker's offset, or nil when nothing was open.
    /// - Throws: `ProducerStateError.staleEpoch` for an epoch older than the partition knows.
    @discardableResult
    public func writeMarker(_ kind: ControlRecord.Kind, producerId: Int64, epoch: Int16, coordinatorEpoch: Int32,
                            timestamp: Int64, sync: Bool) throws -> Int64? {
        try state.withLock { s in
            guard var producer = s.producers[producerId], let first = producer.currentTxnFirstOffset else { return nil }
            guard epoch >= producer.epoch else {
                throw ProducerStateError.staleEpoch(producerId: producerId, epoch: epoch, current: producer.epoch)
            }
            let offset = s.end
            var marker = try ControlRecord.markerBatch(kind, producerId: producerId, producerEpoch: epoch,
                                                       coordinatorEpoch: coordinatorEpoch, timestamp: timestamp)
            marker.setInteger(offset, at: marker.readerIndex)  // the base offset: outside the CRC
            producer.fence(to: epoch)
            producer.currentTxnFirstOffset = nil
            let batch = WriteBatch()
            try batch.putv(cf, key: OffsetKey(offset), parts: [marker])
            try producerStore.put(producer, topicId: topicId, partition: topicPartition.partition,
                                  producerId: producerId, in: batch)
            if kind == .abort {
                try abortedIndex.put(AbortedTransaction(producerId: producerId, firstOffset: first, lastOffset: offset),
                                     topicId: topicId, partition: topicPartition.partition, in: batch)
            }
            try db.write(batch, sync: sync || syncEveryWrite)
            s.end = offset + 1
            s.watermark = offset + 1
            s.producers[producerId] = producer
            s.openTransactions[producerId] = nil
            return offset
        }
    }

    /// The aborted transactions overlapping records in [from, upTo): what a read_committed
    /// Fetch answering those records lists, so the client drops their records.
    public func abortedTransactions(from: Int64, upTo: Int64) throws -> [AbortedTransaction] {
        try abortedIndex.overlapping(topicId: topicId, partition: topicPartition.partition, from: from, upTo: upTo)
    }

    /// The producers with a transaction open on this partition and the first offset of each
    /// (DescribeProducers, `weir transactions find-hanging`).
    public var openTransactions: [Int64: Int64] { state.withLock { $0.openTransactions } }

    /// Every producer's cached state on this partition (DescribeProducers).
    public var producerStates: [Int64: ProducerState] { state.withLock { $0.producers } }
}
