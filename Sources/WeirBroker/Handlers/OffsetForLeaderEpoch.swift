import KafkaProtocol
import WeirStorage

/// OffsetForLeaderEpoch (23), in a cluster: where a leader epoch ends in the leader's log
/// (KIP-101). A follower asks it about its own last epoch before it follows a new leader, and
/// truncates what lies beyond the answer (records of an old leadership the new leader does not
/// have); consumers ask it to detect truncation (KIP-320).
struct OffsetForLeaderEpochHandler: ApiHandler {
    typealias Request = OffsetForLeaderEpochRequest
    let store: LogStore
    let io: IOPool
    let cluster: any ClusterView
    /// Describe on each topic (TOPIC_AUTHORIZATION_FAILED), for clients; followers are brokers.
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 2...4 }

    func handle(_ request: OffsetForLeaderEpochRequest, context: RequestContext) async throws -> OffsetForLeaderEpochResponse? {
        let (store, cluster, authorizer) = (store, cluster, authorizer)
        var response = OffsetForLeaderEpochResponse()
        response.topics = try await io.run {
            request.topics.map { topic in
                .init(topic: topic.topic, partitions: topic.partitions.map { p in
                    var r = OffsetForLeaderEpochResponse.EpochEndOffset(partition: p.partition)
                    guard request.replicaId >= 0 || authorizer.authorize(context, .describe, .topic, topic.topic) else {
                        r.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                        return r
                    }
                    guard let placement = cluster.placement(topic: topic.topic, partition: p.partition),
                          let log = store.partition(TopicPartition(topic.topic, p.partition)) else {
                        r.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                        return r
                    }
                    guard placement.leader == cluster.localNodeId else {
                        r.errorCode = ErrorCode.notLeaderOrFollower.rawValue
                        return r
                    }
                    // The asker's view of the leadership must be this one (-1: it does not say).
                    if p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch != placement.leaderEpoch {
                        r.errorCode = (p.currentLeaderEpoch < placement.leaderEpoch
                                       ? ErrorCode.fencedLeaderEpoch : ErrorCode.unknownLeaderEpoch).rawValue
                        return r
                    }
                    do {
                        // The current leadership's epoch ends at the log end (it is still being written).
                        if p.leaderEpoch >= placement.leaderEpoch {
                            r.leaderEpoch = placement.leaderEpoch
                            r.endOffset = log.logEndOffset
                        } else {
                            (r.leaderEpoch, r.endOffset) = try log.endOffset(forLeaderEpoch: p.leaderEpoch)
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
