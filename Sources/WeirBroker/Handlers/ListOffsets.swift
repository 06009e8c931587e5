import KafkaProtocol
import NIOCore
import WeirStorage

/// ListOffsets (2): earliest (-2), latest (-1), max timestamp (-3), or the first offset whose
/// timestamp is at or after a given time.
///
/// Version 0 (sarama before V0_10_1_0) answers a list, newest first, of at most
/// `maxNumOffsets` offsets, which Kafka drew from segment starts: Weir's log has no segments,
/// so latest gives [log end, log start], earliest [log start], and a time the offset v1 gives.
struct ListOffsetsHandler: ApiHandler {
    typealias Request = ListOffsetsRequest
    let store: LogStore
    let io: IOPool
    /// Describe on each topic (TOPIC_AUTHORIZATION_FAILED otherwise).
    var authorizer: Authorizer = .allowAll
    /// In a cluster, only the partition's leader answers (NOT_LEADER_OR_FOLLOWER elsewhere).
    var cluster: (any ClusterView)? = nil
    var versions: ClosedRange<Int16> { 0...7 }

    static let latest: Int64 = -1
    static let earliest: Int64 = -2
    static let maxTimestamp: Int64 = -3

    func handle(_ request: ListOffsetsRequest, context: RequestContext) async throws -> ListOffsetsResponse? {
        let store = self.store
        let cluster = self.cluster
        let denied = Set(request.topics.map(\.name).filter { !authorizer.authorize(context, .describe, .topic, $0) })
        var response = ListOffsetsResponse()
        response.topics = try await io.run {
            request.topics.map { topic in
                ListOffsetsResponse.ListOffsetsTopicResponse(name: topic.name, partitions: topic.partitions.map { p in
                    var r = ListOffsetsResponse.ListOffsetsPartitionResponse(partitionIndex: p.partitionIndex)
                    if denied.contains(topic.name) {
                        r.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                        return r
                    }
                    if let cluster, !cluster.leads(topic: topic.name, partition: p.partitionIndex) {
                        r.errorCode = ErrorCode.notLeaderOrFollower.rawValue
                        return r
                    }
                    guard let log = store.partition(TopicPartition(topic.name, p.partitionIndex)) else {
                        r.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                        return r
                    }
                    r.leaderEpoch = 0
                    do {
                        switch p.timestamp {
                        case Self.latest:
                            // isolation_level=1 (read_committed, v2+): the last stable offset.
                            r.offset = context.apiVersion >= 2 && request.isolationLevel == 1 ? log.lastStableOffset : log.highWatermark
                        case Self.earliest:
                            r.offset = log.logStartOffset
                        case Self.maxTimestamp:
                            // The store finds the batch from headers; the record inside it is exact.
                            if let (last, ts) = try log.maxTimestampOffset() {
                                let entry = try Self.firstRecord(in: log, batchContaining: last) { $0.timestamp == ts }
                                r.offset = entry?.offset ?? last
                                r.timestamp = ts
                            }
                        case let ts where ts >= 0:
                            if let (base, _) = try log.offset(forTimestamp: ts),
                               let entry = try Self.firstRecord(in: log, batchContaining: base, matching: { $0.timestamp >= ts }) {
                                r.offset = entry.offset
                                r.timestamp = entry.timestamp
                            }
                        default:
                            r.errorCode = ErrorCode.invalidRequest.rawValue
                        }
                        if context.apiVersion == 0 && r.errorCode == 0 {
                            var offsets = [r.offset >= 0 ? r.offset : log.highWatermark]
                            if p.timestamp == Self.latest && log.logStartOffset != r.offset { offsets.append(log.logStartOffset) }
                            r.oldStyleOffsets = Array(offsets.prefix(Int(max(0, p.maxNumOffsets))))
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

    /// Decodes the one stored batch containing `offset` and returns its first record at or
    /// after `offset` that matches. Only timestamp lookups pay for this decode.
    static func firstRecord(in log: PartitionLog, batchContaining offset: Int64,
                            matching: (DecodedBatch.Entry) -> Bool) throws -> DecodedBatch.Entry? {
        var bytes = ByteBuffer()
        _ = try log.read(from: offset, maxBytes: 1, minOneBatch: true, into: &bytes)
        var reader = RecordBatchReader(bytes)
        guard let batch = try reader.nextBatch() else { return nil }
        return batch.first { $0.offset >= offset && matching($0) }
    }
}
