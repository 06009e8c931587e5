import KafkaProtocol
import NIOCore
import WeirStorage

/// Fetch (1): returns stored batches byte for byte. Long-polls until `min.bytes` are there or
/// `max.wait.ms` passes, waking as soon as a produce lands in one of the fetched partitions.
/// Incremental fetch sessions (KIP-227, `FetchSessionCache`) let a consumer of many partitions
/// send and receive only the partitions that changed.
///
/// Versions 0–3 (old clients) cannot read record batches: their answers are down-converted
/// to message sets (magic 0 for v0–v1, 1 for v2–v3; `LegacyMessageSet.downConvert`), per
/// record, on the I/O pool, unless the topic sets `message.downconversion.enable=false`
/// (UNSUPPORTED_VERSION, as in Kafka). v4+ answers are the stored bytes, untouched.
///
/// read_committed (isolation level 1, v4+): reads stop at the last stable offset, and the
/// answer lists the aborted transactions its records overlap (from the partition's index, no
/// log scan), so the client drops their records; control batches are there for it to skip.
struct FetchHandler: ApiHandler {
    typealias Request = FetchRequest
    let store: LogStore
    let topics: TopicManager
    let waiters: AppendWaiters
    let sessions: FetchSessionCache
    let io: IOPool
    let clock: WallClock
    /// Returned records and bytes, for the admin console's rates.
    var traffic = TrafficCounters()
    /// Read on each topic (TOPIC_AUTHORIZATION_FAILED otherwise).
    var authorizer: Authorizer = .allowAll
    /// In a cluster, only the partition's leader answers (NOT_LEADER_OR_FOLLOWER elsewhere).
    var cluster: (any ClusterView)? = nil
    /// Records buffers, reused once their response is written.
    let buffers = FetchBufferPool()
    var versions: ClosedRange<Int16> { 0...12 }

    private struct Got: Sendable {
        var error: ErrorCode = .none
        var highWatermark: Int64 = -1
        var lastStableOffset: Int64 = -1
        var logStartOffset: Int64 = -1
        var records: ByteBuffer? = nil
        var aborted: [AbortedTransaction]? = nil
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
        let committedOnly = context.apiVersion >= 4 && request.isolationLevel == 1
        let magic: Int8? = switch context.apiVersion {
        case ..<2: 0
        case ..<4: 1
        default: nil
        }

        // Long poll: re-read whenever one of the partitions gets an append, until min.bytes
        // are there, an error is, or max.wait.ms has passed.
        let denied = Set(wanted.map(\.topicPartition.topic).filter { !authorizer.authorize(context, .read, .topic, $0) })
        // A follower (replica_id ≥ 0) copies up to the log end; its fetch offsets are its log
        // ends, from which the leader moves the high watermark.
        let replication = request.replicaId >= 0 ? cluster?.replication : nil
        var got = try await read(wanted, maxBytes: maxBytes, magic: magic, committedOnly: committedOnly,
                                 toLogEnd: replication != nil, denied: denied)
        if let replication {
            for w in wanted {
                replication.followerFetched(w.topicPartition, replica: request.replicaId, fetchOffset: w.fetchOffset)
            }
        }
        while !wanted.isEmpty, !got.contains(where: { $0.error != .none }),
              got.reduce(0, { $0 + ($1.records?.readableBytes ?? 0) }) < minBytes {
            let remaining = ContinuousClock.now.duration(to: deadline).milliseconds
            guard remaining > 0 else { break }
            let store = self.store
            let fetched = wanted.map { ($0.topicPartition, $0.fetchOffset) }
            let readable: @Sendable () -> Bool = {
                // read_committed waits for the last stable offset: new records of an open
                // transaction are not yet readable (and would only spin this loop).
                fetched.contains { tp, offset in
                    guard let log = store.partition(tp) else { return false }
                    return (replication != nil ? log.logEndOffset : committedOnly ? log.lastStableOffset : log.highWatermark) > offset
                }
            }
            await waiters.wait(for: fetched.map(\.0), timeoutMs: remaining, hasNewData: readable)
            // The connection closed (its task was cancelled): nobody will read an answer.
            try Task.checkCancellation()
            // Woken with nothing new to read here (a follower is also woken when the high
            // watermark moves, which it does not read by): wait on rather than read again.
            if !readable() && ContinuousClock.now < deadline { continue }
            got = try await read(wanted, maxBytes: maxBytes, magic: magic, committedOnly: committedOnly,
                                 toLogEnd: replication != nil, denied: denied)
        }

        for (w, g) in zip(wanted, got) {
            // (Down-converted message sets are not record batches: the console counts v4+ fetches only.)
            if magic == nil, let records = g.records { traffic.fetched(records, from: w.fetchOffset) }
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
            r.lastStableOffset = g.lastStableOffset
            r.logStartOffset = g.logStartOffset
            r.records = g.records ?? ByteBuffer()
            if let aborted = g.aborted {
                r.abortedTransactions = aborted.map { .init(producerId: $0.producerId, firstOffset: $0.firstOffset) }
            }
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
    /// the limits can still be consumed (KIP-74). `magic`: down-convert to that message format.
    private func read(_ wanted: [FetchSessionCache.CachedPartition], maxBytes: Int, magic: Int8?,
                      committedOnly: Bool, toLogEnd: Bool = false, denied: Set<String>) async throws -> [Got] {
        let store = self.store
        let topics = self.topics
        let cluster = self.cluster
        let buffers = self.buffers
        return try await io.run {
            var budget = maxBytes
            var gotAny = false
            return wanted.map { w in
                var g = Got()
                if denied.contains(w.topicPartition.topic) {
                    g.error = .topicAuthorizationFailed
                    return g
                }
                if let cluster, !cluster.leads(topic: w.topicPartition.topic, partition: w.topicPartition.partition) {
                    g.error = .notLeaderOrFollower
                    return g
                }
                guard let log = store.partition(w.topicPartition) else {
                    g.error = .unknownTopicOrPartition
                    return g
                }
                let offsets = log.offsets
                g.highWatermark = offsets.highWatermark
                g.lastStableOffset = offsets.lastStableOffset
                g.logStartOffset = offsets.logStartOffset
                // Kafka's range is the whole log: an offset between the high watermark and the log end
                // (a replica ahead of it) reads nothing yet; it is not out of range.
                guard w.fetchOffset >= offsets.logStartOffset, w.fetchOffset <= offsets.logEndOffset else {
                    g.error = .offsetOutOfRange
                    return g
                }
                let limit = min(w.maxBytes, budget)
                guard w.fetchOffset < (toLogEnd ? offsets.logEndOffset : offsets.highWatermark), limit > 0 || !gotAny else { return g }
                if magic != nil {
                    guard let topic = store.topic(named: w.topicPartition.topic),
                          topics.effectiveConfig(of: topic).downConversion else {
                        g.error = .unsupportedVersion
                        return g
                    }
                }
                do {
                    let records: ByteBuffer
                    if let magic {
                        records = try Self.downConverted(log, from: w.fetchOffset, to: offsets.highWatermark,
                                                         magic: magic, maxBytes: limit, minOne: !gotAny)
                    } else {
                        // Sized once up front (up to 1 MiB, librdkafka's default partition limit) so that the
                        // copy out of RocksDB does not also pay for the buffer doubling as it grows.
                        var buffer = buffers.take(capacity: min(max(limit, 16 << 10), 1 << 20))
                        defer { buffers.give(buffer) }
                        let n = try log.read(from: w.fetchOffset, maxBytes: limit, minOneBatch: !gotAny,
                                             committedOnly: committedOnly, toLogEnd: toLogEnd, into: &buffer)
                        if n > 0 && committedOnly {
                            g.aborted = try log.abortedTransactions(from: w.fetchOffset, upTo: Self.endOffset(of: buffer))
                        }
                        records = buffer
                    }
                    if records.readableBytes > 0 {
                        g.records = records
                        budget = max(0, budget - records.readableBytes)
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

extension FetchHandler {
    /// The offset after the last whole batch in `buffer` (read from batch headers only).
    static func endOffset(of buffer: ByteBuffer) -> Int64 {
        var at = buffer.readerIndex
        var end: Int64 = 0
        while buffer.writerIndex - at >= RecordBatchHeader.size,
              let base = buffer.getInteger(at: at, as: Int64.self),
              let length = buffer.getInteger(at: at + 8, as: Int32.self),
              let delta = buffer.getInteger(at: at + 23, as: Int32.self), length > 0 {
            end = base &+ Int64(delta) &+ 1
            at += Int(length) + RecordBatchHeader.logOverhead
        }
        return end
    }

    /// Fetch v0–v3: the records from `offset` as a message set of `magic`. Batches that give
    /// no message (control batches, batches emptied by compaction) are read past, up to `end`,
    /// so an old client is not answered with nothing while records follow.
    static func downConverted(_ log: PartitionLog, from offset: Int64, to end: Int64, magic: Int8,
                              maxBytes: Int, minOne: Bool) throws -> ByteBuffer {
        var from = offset
        while from < end {
            var stored = ByteBufferAllocator().buffer(capacity: min(max(maxBytes, 16 << 10), 1 << 20))
            guard try log.read(from: from, maxBytes: maxBytes, minOneBatch: true, into: &stored) > 0 else { break }
            let converted = try LegacyMessageSet.downConvert(stored, toMagic: magic, from: from, maxBytes: maxBytes, minOne: minOne)
            if converted.count > 0 || converted.nextOffset <= from { return converted.messages }
            from = converted.nextOffset
        }
        return ByteBuffer()
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
