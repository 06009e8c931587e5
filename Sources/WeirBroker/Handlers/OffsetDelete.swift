import KafkaProtocol
import WeirStorage

/// OffsetDelete (47): removes a group's committed offsets of some partitions (what
/// `kafka-consumer-groups.sh --delete-offsets` sends). As in Kafka, a partition this broker
/// does not host gets UNKNOWN_TOPIC_OR_PARTITION without reaching the coordinator, and a
/// group-level error answers with no partitions.
struct OffsetDeleteHandler: ApiHandler {
    typealias Request = OffsetDeleteRequest
    let store: LogStore
    let groups: GroupCoordinator
    /// Delete on the group (GROUP_AUTHORIZATION_FAILED); Read on each topic (TOPIC_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...0 }

    func handle(_ request: OffsetDeleteRequest, context: RequestContext) async throws -> OffsetDeleteResponse? {
        guard authorizer.authorize(context, .delete, .group, request.groupId) else {
            var denied = OffsetDeleteResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return denied
        }
        var known: [TopicPartition] = []
        var codes: [TopicPartition: ErrorCode] = [:]
        for t in request.topics {
            for p in t.partitions {
                let tp = TopicPartition(t.name, p.partitionIndex)
                if !authorizer.authorize(context, .read, .topic, t.name) {
                    codes[tp] = .topicAuthorizationFailed
                } else if store.partition(tp) == nil {
                    codes[tp] = .unknownTopicOrPartition
                } else {
                    known.append(tp)
                }
            }
        }
        let outcome = await groups.deleteOffsets(groupId: request.groupId, partitions: known)
        var response = OffsetDeleteResponse()
        guard outcome.error == .none else {
            response.errorCode = outcome.error.rawValue
            return response
        }
        codes.merge(outcome.partitions) { unknown, _ in unknown }
        response.topics = request.topics.map { t in
            .init(name: t.name, partitions: t.partitions.map { p in
                .init(partitionIndex: p.partitionIndex,
                      errorCode: (codes[TopicPartition(t.name, p.partitionIndex)] ?? .none).rawValue)
            })
        }
        return response
    }
}
