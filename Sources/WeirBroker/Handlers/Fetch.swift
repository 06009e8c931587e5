import KafkaProtocol
import NIOCore
import WeirStorage

/// Fetch (1): returns stored batches byte for byte. Long-polls until `min.bytes` are there or
/// `max.wait.ms` passes, waking as soon as a produce lands in one of the fetched partitions.
/// Fetch sessions (KIP-227) are not kept: every response has session id 0, which tells clients
/// to send full fetch requests — correct, merely less compact.
struct FetchHandler: ApiHandler {
    typealias Request = FetchRequest
    let store: LogStore
    let waiters: AppendWaiters
    let io: IOPool
    var versions: ClosedRange<Int16> { 4...12 }

    private struct Wanted: Sendable {
        var topic: String
        var partition: Int32
        var offset: Int64
        var maxBytes: Int
    }

    private struct Got: Sendable {
        var error: ErrorCode = .none
        var highWatermark: Int64 = -1
        var logStartOffset: Int64 = -1
        var records: ByteBuffer? = nil
    }

    func handle(_ request: FetchRequest, context: RequestContext) async throws -> FetchResponse? {
        let wanted = request.topics.flatMap { t in
            t.partitions.map { Wanted(topic: t.topic, partition: $0.partition, offset: $0.fetchOffset, maxBytes: Int(max(0, $0.partitionMaxBytes))) }
        }
        let maxBytes = Int(max(0, request.maxBytes))
        let minBytes = Int(max(0, request.minBytes))
        let deadline = ContinuousClock.now + .milliseconds(Int(max(0, request.maxWaitMs)))

        // Long poll: re-read whenever one of the partitions gets an append, until min.bytes
        // are there, an error is, or max.wait.ms has passed.
        var got = try await read(wanted, maxBytes: maxBytes)
        while !wanted.isEmpty, !got.contains(where: { $0.error != .none }),
              got.reduce(0, { $0 + ($1.records?.readableBytes ?? 0) }) < minBytes {
            let remaining = ContinuousClock.now.duration(to: deadline).milliseconds
            guard remaining > 0 else { break }
            let store = self.store
            let fetched = wanted.map { (TopicPartition($0.topic, $0.partition), $0.offset) }
            await waiters.wait(for: fetched.map(\.0), timeoutMs: remaining) {
                fetched.contains { tp, offset in (store.partition(tp)?.highWatermark ?? 0) > offset }
            }
            // The connection closed (its task was cancelled): nobody will read an answer.
            try Task.checkCancellation()
            got = try await read(wanted, maxBytes: maxBytes)
        }

        var response = FetchResponse()
        var index = 0
        response.responses = request.topics.map { t in
            FetchResponse.FetchableTopicResponse(topic: t.topic, partitions: t.partitions.map { p in
                let g = got[index]
                index += 1
                var r = FetchResponse.PartitionData(partitionIndex: p.partition, errorCode: g.error.rawValue,
                                                    highWatermark: g.highWatermark)
                r.lastStableOffset = g.highWatermark
                r.logStartOffset = g.logStartOffset
                r.records = g.records ?? ByteBuffer()
                return r
            })
        }
        return response
    }

    /// One pass over all partitions on the I/O pool. The response-level `max.bytes` is shared
    /// in request order; the first batch found is always returned so that a batch larger than
    /// the limits can still be consumed (KIP-74).
    private func read(_ wanted: [Wanted], maxBytes: Int) async throws -> [Got] {
        let store = self.store
        return try await io.run {
            var budget = maxBytes
            var gotAny = false
            return wanted.map { w in
                var g = Got()
                guard let log = store.partition(TopicPartition(w.topic, w.partition)) else {
                    g.error = .unknownTopicOrPartition
                    return g
                }
                let offsets = log.offsets
                g.highWatermark = offsets.highWatermark
                g.logStartOffset = offsets.logStartOffset
                guard w.offset >= offsets.logStartOffset, w.offset <= offsets.highWatermark else {
                    g.error = .offsetOutOfRange
                    return g
                }
                let limit = min(w.maxBytes, budget)
                guard w.offset < offsets.highWatermark, limit > 0 || !gotAny else { return g }
                // Sized once up front (up to 1 MiB, librdkafka's default partition limit) so that the
                // copy out of RocksDB does not also pay for the buffer doubling as it grows.
                var buffer = ByteBufferAllocator().buffer(capacity: min(max(limit, 16 << 10), 1 << 20))
                do {
                    let n = try log.read(from: w.offset, maxBytes: limit, minOneBatch: !gotAny, into: &buffer)
                    if n > 0 {
                        g.records = buffer
                        budget = max(0, budget - n)
                        gotAny = true
                    }
                } catch StorageError.offsetOutOfRange {
                    g.error = .offsetOutOfRange
                } catch {
                    g.error = ErrorCode(storageError: error)
                }
                return g
            }
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
