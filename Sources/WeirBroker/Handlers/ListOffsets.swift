import KafkaProtocol
import WeirStorage

/// ListOffsets (2): earliest (-2), latest (-1), max timestamp (-3), or the first offset whose
/// timestamp is at or after a given time. Version 0's multi-offset form is not served.
struct ListOffsetsHandler: ApiHandler {
    typealias Request = ListOffsetsRequest
    let broker: Broker
    var versions: ClosedRange<Int16> { 1...7 }

    static let latest: Int64 = -1
    static let earliest: Int64 = -2
    static let maxTimestamp: Int64 = -3

    func handle(_ request: ListOffsetsRequest, context: RequestContext) async throws -> ListOffsetsResponse? {
        let store = broker.store
        var response = ListOffsetsResponse()
        response.topics = try await broker.onIO {
            request.topics.map { topic in
                ListOffsetsResponse.ListOffsetsTopicResponse(name: topic.name, partitions: topic.partitions.map { p in
                    var r = ListOffsetsResponse.ListOffsetsPartitionResponse(partitionIndex: p.partitionIndex)
                    guard let log = store.partition(TopicPartition(topic.name, p.partitionIndex)) else {
                        r.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                        return r
                    }
                    r.leaderEpoch = 0
                    do {
                        switch p.timestamp {
                        case Self.latest:
                            r.offset = log.highWatermark
                        case Self.earliest:
                            r.offset = log.logStartOffset
                        case Self.maxTimestamp:
                            if let (offset, ts) = try log.maxTimestampOffset() {
                                r.offset = offset
                                r.timestamp = ts
                            }
                        case let ts where ts >= 0:
                            if let (offset, found) = try log.offset(forTimestamp: ts) {
                                r.offset = offset
                                r.timestamp = found
                            }
                        default:
                            r.errorCode = ErrorCode.invalidRequest.rawValue
                        }
                    } catch {
                        r.errorCode = ProduceHandler.code(for: error).rawValue
                    }
                    return r
                })
            }
        }
        return response
    }
}
