import KafkaProtocol
import NIOCore
import WeirStorage

/// Produce (0): validate each partition's batches from their 61-byte headers (CRC, sizes,
/// magic), then append them as they are — no decompression, no per-record work. All partitions
/// of one request are appended in one trip to the I/O pool.
///
/// Versions 3+ only: older versions carry message formats 0/1, which Weir does not store.
/// Like Kafka from v3 on, a partition's records must be exactly one batch (INVALID_RECORD
/// otherwise): an idempotent producer's retry is recognised batch by batch, and a request
/// answers each partition with one base offset.
///
/// Idempotent producers' batches are checked by the log (`PartitionLog.append`): a stale epoch
/// answers INVALID_PRODUCER_EPOCH, a sequence gap OUT_OF_ORDER_SEQUENCE_NUMBER, and a retry of
/// a stored batch succeeds with the offsets of the first attempt, storing nothing.
struct ProduceHandler: ApiHandler {
    typealias Request = ProduceRequest
    let broker: Broker
    var versions: ClosedRange<Int16> { 3...9 }

    /// One partition's work: what to append, or the error to answer with.
    private struct Work: Sendable {
        var topicIndex: Int
        var partition: Int32
        var log: PartitionLog?
        var batches: [ProducedBatch]
        var logAppendTime: Bool
        var error: ErrorCode
        var message: String?
        var result: AppendResult?
    }

    func handle(_ request: ProduceRequest, context: RequestContext) async throws -> ProduceResponse? {
        guard [-1, 0, 1].contains(request.acks) else {
            return errorResponse(request, .invalidRequiredAcks)
        }
        var work: [Work] = []
        for (ti, topic) in request.topicData.enumerated() {
            let record = broker.store.topic(named: topic.name)
            let effective = record.map { broker.topics.effectiveConfig(of: $0) }
            for p in topic.partitionData {
                var w = Work(topicIndex: ti, partition: p.index, log: nil, batches: [], logAppendTime: false, error: .none)
                guard let effective, let log = broker.store.partition(TopicPartition(topic.name, p.index)) else {
                    w.error = .unknownTopicOrPartition
                    work.append(w)
                    continue
                }
                switch ProducedBatch.validate(p.records ?? ByteBuffer(), maxBatchBytes: effective.maxMessageBytes) {
                case .success(let batches) where batches.count != 1:
                    w.error = .invalidRecord
                    w.message = "Produce requests with version 3 and above must have exactly one record batch per partition; got \(batches.count)"
                case .success(let batches) where context.apiVersion < 7 && batches.contains { $0.header.compression == .zstd }:
                    // zstd needs Produce v7+ (KIP-110): older clients could not read it back.
                    w.error = .unsupportedCompressionType
                case .success(let batches):
                    w.log = log
                    w.batches = batches
                    w.logAppendTime = effective.logAppendTime
                case .failure(let failure):
                    w.error = failure.code
                    w.message = failure.message
                    broker.logger.info("rejected produce", metadata: [
                        "partition": "\(topic.name)-\(p.index)", "error": "\(failure.code)", "reason": "\(failure.message)",
                        "client": "\(context.clientId ?? "-")",
                    ])
                }
                work.append(w)
            }
        }

        let sync = broker.config.flushIntervalMessages == 1
        let now = broker.nowMs
        let done = try await broker.onIO { [work] in
            var work = work
            for i in work.indices where work[i].error == .none {
                guard let log = work[i].log else { continue }
                do {
                    work[i].result = try log.append(work[i].batches, leaderEpoch: 0,
                                                    logAppendTime: work[i].logAppendTime ? now : nil, sync: sync)
                } catch {
                    work[i].error = Self.code(for: error)
                    work[i].message = "\(error)"
                }
            }
            return work
        }
        for w in done where w.error != .none && w.log != nil {
            // Refused by the log (producer state, storage): worth a line, as validation failures get.
            broker.logger.info("rejected produce", metadata: [
                "partition": "\(request.topicData[w.topicIndex].name)-\(w.partition)", "error": "\(w.error)",
                "reason": "\(w.message ?? "-")", "client": "\(context.clientId ?? "-")",
            ])
        }
        for w in done where w.result?.duplicate == true {
            broker.logger.debug("answered a retried batch from producer state", metadata: [
                "partition": "\(request.topicData[w.topicIndex].name)-\(w.partition)",
                "baseOffset": "\(w.result?.baseOffset ?? -1)", "client": "\(context.clientId ?? "-")",
            ])
        }
        for w in done where w.result.map({ !$0.duplicate }) ?? false {
            broker.appendWaiters.appended(TopicPartition(request.topicData[w.topicIndex].name, w.partition))
        }
        if request.acks == 0 { return nil }

        var response = ProduceResponse()
        response.responses = request.topicData.enumerated().map { ti, topic in
            ProduceResponse.TopicProduceResponse(
                name: topic.name,
                partitionResponses: done.filter { $0.topicIndex == ti }.map { w in
                    var r = ProduceResponse.PartitionProduceResponse(index: w.partition, errorCode: w.error.rawValue)
                    if let result = w.result {
                        r.baseOffset = result.baseOffset
                        r.logAppendTimeMs = result.logAppendTime
                        r.logStartOffset = result.logStartOffset
                    } else {
                        r.baseOffset = -1
                        r.errorMessage = w.message
                    }
                    return r
                })
        }
        return response
    }

    static func code(for error: any Error) -> ErrorCode {
        switch error {
        case StorageError.columnFamilyDropped, StorageError.unknownTopic: return .unknownTopicOrPartition
        case let error as ProducerStateError: return error.code
        default: return .unknownServerError
        }
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
