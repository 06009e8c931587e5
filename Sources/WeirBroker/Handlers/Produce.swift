import Logging
import KafkaProtocol
import NIOCore
import WeirStorage

/// Produce (0): validate each partition's batches from their 61-byte headers (CRC, sizes,
/// magic), then append them as they are — no decompression, no per-record work.
///
/// Where it runs: an append that is not fsynced is a memtable insert plus a buffered `write()`
/// of the WAL — microseconds, the same order as a socket write — so it is served inline on the
/// connection's event loop with no thread hop (`handleImmediately`). Only when every append must
/// be fsynced (`log.flush.interval.messages=1`) does the request go to the I/O pool, so an
/// fsync never blocks an event loop.
///
/// Versions 0–2 (old clients: sarama before V0_11_0_0, kafka-go 0.2) carry message sets of
/// magic 0/1; they are up-converted into one v2 batch (`LegacyMessageSet.upConvert`) on the I/O
/// pool and stored like any other. From v3 on, as in Kafka, a partition's records must be
/// exactly one batch (INVALID_RECORD otherwise): an idempotent producer's retry is recognised
/// batch by batch, and a request answers each partition with one base offset.
///
/// Idempotent producers' batches are checked by the log (`PartitionLog.append`): a stale epoch
/// answers INVALID_PRODUCER_EPOCH, a sequence gap OUT_OF_ORDER_SEQUENCE_NUMBER, and a retry of
/// a stored batch succeeds with the offsets of the first attempt, storing nothing.
struct ProduceHandler: ApiHandler {
    typealias Request = ProduceRequest
    let store: LogStore
    let topics: TopicManager
    let waiters: AppendWaiters
    let io: IOPool
    let clock: WallClock
    let health: StorageHealth
    let transactions: TransactionCoordinator
    let logger: Logger
    let fsyncEachAppend: Bool
    /// Appended records and bytes, for the admin console's rates.
    var traffic = TrafficCounters()
    /// Write on each topic (TOPIC_AUTHORIZATION_FAILED otherwise).
    var authorizer: Authorizer = .allowAll
    /// In a cluster, only the partition's leader appends (NOT_LEADER_OR_FOLLOWER elsewhere).
    var cluster: (any ClusterView)? = nil
    var versions: ClosedRange<Int16> { 0...9 }

    /// On the event loop, appends are written with `noSlowdown`: should RocksDB be stalling
    /// writes (too many L0 files, memtables full), the partitions it refused are appended on the
    /// I/O pool instead, where waiting blocks nobody else, and the answer follows from there.
    func handleImmediately(_ request: ProduceRequest, context: RequestContext) -> Immediate<ProduceResponse> {
        // Up-conversion decompresses and recompresses: CPU work that stays off the event loop.
        if fsyncEachAppend || context.apiVersion < 3 { return .later }
        // acks=all on a replicated partition waits for the followers: not on the event loop.
        if request.acks == -1, let cluster, cluster.replication != nil, request.topicData.contains(where: { t in
            t.partitionData.contains { (cluster.placement(topic: t.name, partition: $0.index)?.replicas.count ?? 1) > 1 }
        }) {
            return .later
        }
        let (partial, stalled) = produce(request, context: context, inline: true)
        guard !stalled.isEmpty else { return .now(request.acks == 0 ? nil : partial) }
        return .continueLater { [self] in
            try await io.run {
                var response = partial
                let now = clock.nowMs()
                for (t, p) in stalled {
                    let topic = request.topicData[t]
                    let config = store.topic(named: topic.name).map { topics.effectiveConfig(of: $0) }
                    response.responses[t].partitionResponses[p] = append(
                        topic.partitionData[p], topic: topic.name, config: config, now: now, context: context,
                        inline: false).response
                }
                return request.acks == 0 ? nil : response
            }
        }
    }

    func handle(_ request: ProduceRequest, context: RequestContext) async throws -> ProduceResponse? {
        let (produced, ends) = try await io.run { () -> (ProduceResponse, [TopicPartition: Int64]) in
            let response = produce(request, context: context, inline: false).response
            guard request.acks == -1, cluster?.replication != nil else { return (response, [:]) }
            // Where each appended partition's log ended: the answer waits until the ISR has it.
            var ends: [TopicPartition: Int64] = [:]
            for t in response.responses {
                for p in t.partitionResponses where p.errorCode == 0 {
                    let tp = TopicPartition(t.name, p.index)
                    if let end = store.partition(tp)?.logEndOffset { ends[tp] = end }
                }
            }
            return (response, ends)
        }
        guard request.acks != 0 else { return nil }
        guard let replication = cluster?.replication, !ends.isEmpty else { return produced }
        var response = produced
        let timeoutMs = Int64(max(request.timeoutMs, 0))
        let codes = await withTaskGroup(of: (TopicPartition, ErrorCode).self) { group in
            for (tp, end) in ends {
                group.addTask { (tp, await replication.awaitReplicated(tp, lastOffset: end - 1, timeoutMs: timeoutMs)) }
            }
            return await group.reduce(into: [TopicPartition: ErrorCode]()) { $0[$1.0] = $1.1 }
        }
        for t in response.responses.indices {
            for p in response.responses[t].partitionResponses.indices {
                let tp = TopicPartition(response.responses[t].name, response.responses[t].partitionResponses[p].index)
                if let code = codes[tp], code != .none { response.responses[t].partitionResponses[p].errorCode = code.rawValue }
            }
        }
        return response
    }

    /// Validates, appends and answers. `inline`: on the event loop; the partitions RocksDB
    /// refused to write without stalling come back in `stalled` (topic index, partition index),
    /// their answers still to be filled in.
    func produce(_ request: ProduceRequest, context: RequestContext,
                 inline: Bool) -> (response: ProduceResponse, stalled: [(Int, Int)]) {
        guard [-1, 0, 1].contains(request.acks) else {
            return (errorResponse(request, .invalidRequiredAcks), [])
        }
        let now = clock.nowMs()
        var response = ProduceResponse()
        var stalled: [(Int, Int)] = []
        response.responses.reserveCapacity(request.topicData.count)
        for (t, topic) in request.topicData.enumerated() {
            guard authorizer.authorize(context, .write, .topic, topic.name) else {
                response.responses.append(.init(name: topic.name, partitionResponses: topic.partitionData.map {
                    .init(index: $0.index, errorCode: ErrorCode.topicAuthorizationFailed.rawValue, baseOffset: -1)
                }))
                continue
            }
            let effective = store.topic(named: topic.name).map { topics.effectiveConfig(of: $0) }
            var partitions: [ProduceResponse.PartitionProduceResponse] = []
            partitions.reserveCapacity(topic.partitionData.count)
            for (i, p) in topic.partitionData.enumerated() {
                let (r, didStall) = append(p, topic: topic.name, config: effective, now: now, context: context,
                                           acksAll: request.acks == -1, inline: inline)
                if didStall { stalled.append((t, i)) }
                partitions.append(r)
            }
            response.responses.append(.init(name: topic.name, partitionResponses: partitions))
        }
        return (response, stalled)
    }

    /// One partition: validate its batch, append it, wake fetches waiting on it.
    private func append(_ p: ProduceRequest.PartitionProduceData, topic: String, config: EffectiveTopicConfig?,
                        now: Int64, context: RequestContext, acksAll: Bool = false,
                        inline: Bool) -> (response: ProduceResponse.PartitionProduceResponse, stalled: Bool) {
        var r = ProduceResponse.PartitionProduceResponse(index: p.index, baseOffset: -1)
        let tp = TopicPartition(topic, p.index)
        if let cluster, !cluster.leads(topic: topic, partition: p.index) {
            r.errorCode = (cluster.placement(topic: topic, partition: p.index) == nil
                           ? ErrorCode.unknownTopicOrPartition : ErrorCode.notLeaderOrFollower).rawValue
            return (r, false)
        }
        guard let config, let log = store.partition(tp) else {
            r.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
            return (r, false)
        }
        var records = p.records ?? ByteBuffer()
        if context.apiVersion < 3 {
            switch Self.upConverted(records, version: context.apiVersion, now: now) {
            case .success(let batch): records = batch
            case .failure(let failure): return (refused(r, tp, failure.code, failure.message, context), false)
            }
        }
        let batches: [ProducedBatch]
        switch ProducedBatch.validate(records, maxBatchBytes: config.maxMessageBytes) {
        case .success(let valid) where valid.count != 1:
            return (refused(r, tp, .invalidRecord,
                           "Produce requests with version 3 and above must have exactly one record batch per partition; got \(valid.count)",
                           context), false)
        case .success(let valid) where context.apiVersion < 7 && valid.contains { $0.header.compression == .zstd }:
            // zstd needs Produce v7+ (KIP-110): older clients could not read it back.
            return (refused(r, tp, .unsupportedCompressionType, "zstd needs Produce v7 or later", context), false)
        case .success(let valid):
            batches = valid
        case .failure(let failure):
            return (refused(r, tp, failure.code, failure.message, context), false)
        }
        // A transactional batch must come from the current epoch of a producer whose ongoing
        // transaction added this partition (KIP-890's defence against hanging transactions).
        if let h = batches.first?.header, h.isTransactional {
            let code = transactions.verifyProduce(producerId: h.producerId, epoch: h.producerEpoch, to: tp)
            guard code == .none else {
                return (refused(r, tp, code, "transactional batch of producer \(h.producerId) epoch \(h.producerEpoch) is not in an ongoing transaction with this partition", context), false)
            }
        }
        // A compacted topic refuses keyless records, as Kafka does: only such topics pay for reading records.
        if config.compact, let problem = ProducedBatch.keylessRecordProblem(in: batches, partition: "\(tp)") {
            return (refused(r, tp, problem.code, problem.message, context), false)
        }
        // Less free space than RocksDB needs to flush: refused before the disk is full (StorageHealth).
        if let (episode, started) = health.refusing() {
            if started {
                logger.error("storage failing; answering produce with \(ErrorCode.kafkaStorageError.logDescription) until it recovers",
                             metadata: ["partition": "\(tp)", "error": "\(episode.error)"])
            }
            r.errorCode = ErrorCode.kafkaStorageError.rawValue
            r.errorMessage = episode.error
            return (r, false)
        }
        // A topic with flush.messages=1 fsyncs each append: never on the event loop.
        if inline && config.fsyncEachAppend { return (r, true) }
        // acks=all with fewer in-sync replicas than min.insync.replicas: refused before the append.
        if acksAll, let code = cluster?.replication?.refuseAcksAll(tp, minInSyncReplicas: config.minInSyncReplicas) {
            return (refused(r, tp, code, "fewer in-sync replicas than min.insync.replicas=\(config.minInSyncReplicas)", context), false)
        }
        do {
            let epoch = cluster?.placement(topic: topic, partition: p.index)?.leaderEpoch ?? 0
            let result = try log.append(batches, leaderEpoch: epoch, logAppendTime: config.logAppendTime ? now : nil,
                                        sync: fsyncEachAppend || config.fsyncEachAppend, noSlowdown: inline)
            r.baseOffset = result.baseOffset
            r.logAppendTimeMs = result.logAppendTime
            r.logStartOffset = result.logStartOffset
            if result.duplicate {
                logger.debug("answered a retried batch from producer state", metadata: [
                    "partition": "\(tp)", "baseOffset": "\(result.baseOffset)", "client": "\(context.clientId ?? "-")",
                ])
            } else {
                waiters.appended(tp)
                traffic.produced(records: result.lastOffset - result.baseOffset + 1,
                                 bytes: batches.reduce(0) { $0 + $1.bytes.readableBytes })
            }
            health.succeeded()
            return (r, false)
        } catch StorageError.writeStalled where inline {
            return (r, true)
        } catch let error as StorageError {
            // A failing disk fails every request: one log line per episode, not one per request.
            let code = ErrorCode(storageError: error)
            if health.failed("\(error)") {
                logger.error("storage failing; answering produce with \(code.logDescription) until it recovers",
                             metadata: ["partition": "\(tp)", "error": "\(error)"])
            }
            r.errorCode = code.rawValue
            r.errorMessage = "\(error)"
            return (r, false)
        } catch {
            return (refused(r, tp, ErrorCode(storageError: error), "\(error)", context), false)
        }
    }

    /// Produce v0–v2: the message set (magic 0 or 1) as one v2 batch. Record batches need v3.
    static func upConverted(_ records: ByteBuffer, version: Int16, now: Int64) -> Result<ByteBuffer, BatchValidationError> {
        if let magic = LegacyMessageSet.magic(of: records), magic >= 2 {
            return .failure(BatchValidationError(.invalidRecord,
                "Produce v\(version) carries message sets of magic 0 or 1; record batches (magic \(magic)) need v3 or later"))
        }
        return LegacyMessageSet.upConvert(records, now: now)
    }

    /// A partition the broker refuses: one log line, and the error in the answer.
    private func refused(_ r: ProduceResponse.PartitionProduceResponse, _ tp: TopicPartition, _ code: ErrorCode,
                         _ message: String, _ context: RequestContext) -> ProduceResponse.PartitionProduceResponse {
        logger.info("rejected produce", metadata: [
            "partition": "\(tp)", "error": "\(code.logDescription)", "reason": "\(message)", "client": "\(context.clientId ?? "-")",
        ])
        var r = r
        r.errorCode = code.rawValue
        r.errorMessage = message
        return r
    }

    private func errorResponse(_ request: ProduceRequest, _ code: ErrorCode) -> ProduceResponse {
        var response = ProduceResponse()
        response.responses = request.topicData.map { topic in
            .init(name: topic.name, partitionResponses: topic.partitionData.map {
                .init(index: $0.index, errorCode: code.rawValue, baseOffset: -1)
            })
        }
        return response
    }
}
