import KafkaProtocol
import NIOCore
import WeirStorage

/// Fetch (1): returns stored batches byte for byte. Long-polls until `min.bytes` are there or
/// `max.wait.ms` passes, waking as soon as a produce lands in one of the fetched partitions.
/// Incremental fetch sessions (KIP-227, `FetchSessionCache`) let a consumer of many partitions
/// send and receive only the partitions that changed.
struct FetchHandler: ApiHandler {
    typealias Request = FetchRequest
    let store: LogStore
    let waiters: AppendWaiters
    let sessions: FetchSessionCache
    let io: IOPool
    let clock: WallClock
    /// Returned records and bytes, for the admin console's rates.
    var traffic = TrafficCounters()
    var versions: ClosedRange<Int16> { 4...12 }

    private struct Got: Sendable {
        var error: ErrorCode = .none
        var highWatermark: Int64 = -1
        var logStartOffset: Int64 = -1
        var records: ByteBuffer? = nil
    }

    func handle(_ request: FetchRequest, context: RequestContext) async throws -> FetchResponse? {
        let requested = request.topics.flatMap { t in
            t.partitions.map {
                FetchSessionCache.CachedPartition(TopicPartition(t.topic, $0.partition), fetchOffset: $0.fetchOffset,
                                                  maxBytes: Int(max(0, $0.partitionMaxBytes)))
            }
        }
        // Sessions exist from v7; older requests carry neither id nor epoch and are sessionless.
        let (sessionId, epoch) = context.apiVersion >= 7 ? (request.sessionId, request.sessionEpoch) : (0, FetchSessionCache.finalEpoch)
        let forgotten = request.forgottenTopicsData.flatMap { t in t.partitions.map { TopicPartition(t.topic, $0) } }
        let plan: FetchSessionCache.Plan
        switch sessions.plan(sessionId: sessionId, epoch: epoch, requested: requested, forgotten: forgotten,
                             nowMs: clock.nowMs()) {
        case .success(let p):
            plan = p
        case .failure(let code):
            var response = FetchResponse()
            response.errorCode = code.rawValue
            return response
        }
        let wanted = plan.partitions
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
            let fetched = wanted.map { ($0.topicPartition, $0.fetchOffset) }
            await waiters.wait(for: fetched.map(\.0), timeoutMs: remaining) {
                fetched.contains { tp, offset in (store.partition(tp)?.highWatermark ?? 0) > offset }
            }
            // The connection closed (its task was cancelled): nobody will read an answer.
            try Task.checkCancellation()
            got = try await read(wanted, maxBytes: maxBytes)
        }

        for (w, g) in zip(wanted, got) {
            if let records = g.records { traffic.fetched(records, from: w.fetchOffset) }
        }
        let outcomes = zip(wanted, got).map { w, g in
            FetchSessionCache.Outcome(w.topicPartition, hasRecords: (g.records?.readableBytes ?? 0) > 0, error: g.error,
                                      highWatermark: g.highWatermark, logStartOffset: g.logStartOffset)
        }
        let included = sessions.answered(plan, outcomes: outcomes)
        var response = FetchResponse()
        response.sessionId = plan.sessionId
        var topicIndex: [String: Int] = [:]
        for (w, g) in zip(wanted, got) where included.contains(w.topicPartition) {
            var r = FetchResponse.PartitionData(partitionIndex: w.topicPartition.partition, errorCode: g.error.rawValue,
                                                highWatermark: g.highWatermark)
            r.lastStableOffset = g.highWatermark
            r.logStartOffset = g.logStartOffset
            r.records = g.records ?? ByteBuffer()
            let topic = w.topicPartition.topic
            if let i = topicIndex[topic] {
                response.responses[i].partitions.append(r)
            } else {
                topicIndex[topic] = response.responses.count
                response.responses.append(.init(topic: topic, partitions: [r]))
            }
        }
        return response
    }

    /// One pass over all partitions on the I/O pool. The response-level `max.bytes` is shared
    /// in request order; the first batch found is always returned so that a batch larger than
    /// the limits can still be consumed (KIP-74).
    private func read(_ wanted: [FetchSessionCache.CachedPartition], maxBytes: Int) async throws -> [Got] {
        let store = self.store
        return try await io.run {
            var budget = maxBytes
            var gotAny = false
            return wanted.map { w in
                var g = Got()
                guard let log = store.partition(w.topicPartition) else {
                    g.error = .unknownTopicOrPartition
                    return g
                }
                let offsets = log.offsets
                g.highWatermark = offsets.highWatermark
                g.logStartOffset = offsets.logStartOffset
                guard w.fetchOffset >= offsets.logStartOffset, w.fetchOffset <= offsets.highWatermark else {
                    g.error = .offsetOutOfRange
                    return g
                }
                let limit = min(w.maxBytes, budget)
                guard w.fetchOffset < offsets.highWatermark, limit > 0 || !gotAny else { return g }
                // Sized once up front (up to 1 MiB, librdkafka's default partition limit) so that the
                // copy out of RocksDB does not also pay for the buffer doubling as it grows.
                var buffer = ByteBufferAllocator().buffer(capacity: min(max(limit, 16 << 10), 1 << 20))
                do {
                    let n = try log.read(from: w.fetchOffset, maxBytes: limit, minOneBatch: !gotAny, into: &buffer)
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
