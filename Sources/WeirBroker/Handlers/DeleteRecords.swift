import KafkaProtocol
import Logging
import WeirStorage

/// DeleteRecords (21): moves a partition's log start offset forward (kafka-delete-records.sh,
/// AdminClient.deleteRecords). Offset -1 means the high watermark, as in Kafka. Batches lying
/// wholly below the new start are deleted with one range tombstone in the same write that
/// stores the new start; reads below it answer OFFSET_OUT_OF_RANGE and appends continue at the
/// end. An offset at or below the current start changes nothing and answers the current start.
struct DeleteRecordsHandler: ApiHandler {
    typealias Request = DeleteRecordsRequest
    let store: LogStore
    let io: IOPool
    let logger: Logger
    /// Delete on each topic (TOPIC_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...2 }

    static let highWatermark: Int64 = -1

    func handle(_ request: DeleteRecordsRequest, context: RequestContext) async throws -> DeleteRecordsResponse? {
        let (store, logger) = (self.store, self.logger)
        var response = DeleteRecordsResponse()
        let denied = Set(request.topics.map(\.name).filter { !authorizer.authorize(context, .delete, .topic, $0) })
        response.topics = try await io.run {
            request.topics.map { topic in
                DeleteRecordsResponse.DeleteRecordsTopicResult(name: topic.name, partitions: topic.partitions.map { p in
                    var r = DeleteRecordsResponse.DeleteRecordsPartitionResult(partitionIndex: p.partitionIndex, lowWatermark: -1)
                    let tp = TopicPartition(topic.name, p.partitionIndex)
                    if denied.contains(topic.name) {
                        r.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                        return r
                    }
                    guard let log = store.partition(tp) else {
                        r.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                        return r
                    }
                    do {
                        let target = p.offset == Self.highWatermark ? log.highWatermark : p.offset
                        let before = log.logStartOffset
                        r.lowWatermark = try log.deleteRecords(before: target)
                        if r.lowWatermark > before {
                            logger.info("deleted records", metadata: [
                                "partition": "\(tp)", "logStartOffset": "\(before) → \(r.lowWatermark)",
                                "client": "\(context.clientId ?? "-")",
                            ])
                        }
                    } catch {
                        r.errorCode = ErrorCode(storageError: error).rawValue
                    }
                    return r
                })
            }
        }
        return response
    }
}
