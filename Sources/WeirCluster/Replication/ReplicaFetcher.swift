import Foundation
import Synchronization
import KafkaProtocol
import Logging
import NIOCore
import WeirBroker
import WeirClient
import WeirStorage

/// A follower's copy of one leader's partitions: Kafka's replica fetcher. It sends the leader
/// Fetch requests with `replica_id` = this broker's node id, from each partition's log end, and
/// appends what comes back as it is (`PartitionLog.appendReplicated`); the leader learns this
/// replica's log end from the fetch offsets, which is how its high watermark moves.
///
/// On a new leader epoch the partition is first truncated where its history and the new
/// leader's part (KIP-101): the follower asks the leader (OffsetForLeaderEpoch) where the epoch
/// of its own last batch ends in the leader's log, and drops what it has beyond that — records
/// of an old leadership that were never committed. Should the leader not know the epoch, the
/// follower truncates to its high watermark (Kafka's rule before KIP-101).
struct ReplicaFetcher: Sendable {
    /// One partition to copy: where it lives here and the leadership it follows.
    struct Target: Sendable {
        var tp: TopicPartition
        var leaderEpoch: Int32
    }

    let nodeId: Int32
    let leader: Int32
    let store: LogStore
    let logger: Logger
    /// The leader's address and the partitions to copy from it, read afresh for every round.
    let plan: @Sendable () -> (endpoint: BrokerEndpoint?, targets: [Target])
    let truncated = TruncationMemo()

    func run() async {
        var connection: KafkaConnection?
        while !Task.isCancelled {
            let (endpoint, targets) = plan()
            guard let endpoint, !targets.isEmpty else {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            do {
                if connection == nil || connection?.isActive == false {
                    connection = try await KafkaConnection.connect(host: endpoint.host, port: Int(endpoint.port),
                                                                   clientId: "weir-replica-\(nodeId)", timeoutSeconds: 3)
                }
                try await round(connection!, targets)
            } catch {
                if Task.isCancelled { break }
                logger.debug("replica fetch failed", metadata: ["leader": "\(leader)", "error": "\(error)"])
                await connection?.close()
                connection = nil
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        await connection?.close()
    }

    /// Where this replica's log stops agreeing with the leader's (KIP-101's truncation point).
    private func divergence(_ connection: KafkaConnection, _ target: Target, _ log: PartitionLog) async throws -> Int64 {
        let ownEpoch = try log.lastLeaderEpoch()
        guard ownEpoch >= 0 else { return log.logEndOffset }
        var request = OffsetForLeaderEpochRequest(replicaId: nodeId)
        request.topics = [.init(topic: target.tp.topic, partitions: [
            .init(partition: target.tp.partition, currentLeaderEpoch: target.leaderEpoch, leaderEpoch: ownEpoch)])]
        let response = try await connection.send(request, version: 3)
        guard let answer = response.topics.first?.partitions.first else { return log.highWatermark }
        guard answer.errorCode == 0 else {
            throw EtcdHTTP.Failure(description: "the leader answered OffsetForLeaderEpoch with error \(answer.errorCode)")
        }
        // The leader has no batch of that epoch or earlier: only what is committed is certain.
        guard answer.endOffset >= 0 else { return log.highWatermark }
        return min(answer.endOffset, log.logEndOffset)
    }

    /// One Fetch to the leader and the appends of its answer.
    private func round(_ connection: KafkaConnection, _ targets: [Target]) async throws {
        var request = FetchRequest()
        request.replicaId = nodeId
        request.maxWaitMs = 500
        request.minBytes = 1
        request.maxBytes = 16 << 20
        var logs: [TopicPartition: PartitionLog] = [:]
        var byTopic: [String: [FetchRequest.FetchPartition]] = [:]
        for target in targets {
            guard let log = store.partition(target.tp) else { continue }
            if truncated.needsCheck(target.tp, epoch: target.leaderEpoch) {
                let point = try await divergence(connection, target, log)
                if log.logEndOffset > point {
                    logger.info("truncating to follow a new leader", metadata: [
                        "topic": "\(target.tp.topic)", "partition": "\(target.tp.partition)", "from": "\(log.logEndOffset)",
                        "to": "\(point)", "leader": "\(leader)", "leader_epoch": "\(target.leaderEpoch)"])
                    try log.truncate(to: point)
                }
                truncated.checked(target.tp, epoch: target.leaderEpoch)
            }
            logs[target.tp] = log
            byTopic[target.tp.topic, default: []].append(.init(partition: target.tp.partition, currentLeaderEpoch: target.leaderEpoch,
                                                              fetchOffset: log.logEndOffset, partitionMaxBytes: 1 << 20))
        }
        request.topics = byTopic.map { .init(topic: $0.key, partitions: $0.value) }
        guard !request.topics.isEmpty else { return }
        let response = try await connection.send(request, version: 12)
        var backOff = false
        for topic in response.responses {
            for p in topic.partitions {
                let tp = TopicPartition(topic.topic, p.partitionIndex)
                guard let log = logs[tp] else { continue }
                guard p.errorCode == 0 else {
                    backOff = true
                    continue
                }
                try log.appendReplicated(p.records ?? ByteBuffer(), leaderHighWatermark: p.highWatermark, sync: false)
            }
        }
        // The leader refused some partitions (not its own yet, or moved): ask again shortly.
        if backOff { try await Task.sleep(for: .milliseconds(200)) }
    }
}

/// Which leader epoch each partition was last checked for truncation (once per leadership).
final class TruncationMemo: Sendable {
    private let seen = Mutex<[TopicPartition: Int32]>([:])

    func needsCheck(_ tp: TopicPartition, epoch: Int32) -> Bool {
        seen.withLock { $0[tp] != epoch }
    }

    func checked(_ tp: TopicPartition, epoch: Int32) {
        seen.withLock { $0[tp] = epoch }
    }
}
