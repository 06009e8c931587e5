import KafkaProtocol
import WeirStorage

// OffsetCommit and OffsetFetch.
extension GroupCoordinator {
    /// OffsetCommit: checks that the committer may commit for the group (see
    /// `ConsumerGroup.offsetCommitValidated`), then stores the offsets in one write. Returns an
    /// error per partition (NONE when stored).
    ///
    /// A group that does not exist is created (Empty) for a commit from outside group
    /// management (generation < 0), as Kafka does; any other commit to it is ILLEGAL_GENERATION.
    /// An empty group id is allowed (Kafka keeps it for old clients).
    public func commitOffsets(groupId: String, generationId: Int32, memberId: String, groupInstanceId: String?,
                              offsets committed: [TopicPartition: CommittedOffset]) -> [TopicPartition: ErrorCode] {
        func all(_ error: ErrorCode) -> [TopicPartition: ErrorCode] { committed.mapValues { _ in error } }
        guard !isShutDown else { return all(.coordinatorNotAvailable) }
        let existing = groups.removeValue(forKey: groupId)
        guard existing != nil || generationId < 0 else { return all(.illegalGeneration) }
        var group = existing ?? ConsumerGroup(groupId: groupId, config: config)
        let code = group.offsetCommitValidated(generationId: generationId, memberId: memberId,
                                               groupInstanceId: groupInstanceId, now: clock.nowMs())
        if existing != nil || code == .none { put(group, stateBefore: group.state) }
        guard code == .none else { return all(code) }

        var results: [TopicPartition: ErrorCode] = [:]
        var accepted: [TopicPartition: CommittedOffset] = [:]
        for (tp, offset) in committed {
            if let metadata = offset.metadata, metadata.utf8.count > config.offsetMetadataMaxBytes {
                results[tp] = .offsetMetadataTooLarge
            } else {
                accepted[tp] = offset
            }
        }
        guard !accepted.isEmpty else { return results }
        do {
            try offsets.commit(group: groupId, offsets: accepted)
            for tp in accepted.keys { results[tp] = ErrorCode.none }
        } catch {
            logger.error("cannot store committed offsets of group \(groupId): \(error)")
            for tp in accepted.keys { results[tp] = .unknownServerError }
        }
        return results
    }

    /// OffsetFetch: the committed offsets of `partitions` in request order (nil where nothing
    /// was committed), or every committed partition, sorted, when `partitions` is nil.
    /// A group that does not exist simply has no commits.
    public func fetchOffsets(groupId: String, partitions: [TopicPartition]?) -> OffsetFetchOutcome {
        guard !isShutDown else { return OffsetFetchOutcome(error: .coordinatorNotAvailable, offsets: []) }
        do {
            let stored = try offsets.fetch(group: groupId, partitions: partitions)
            if let partitions {
                return OffsetFetchOutcome(error: .none, offsets: partitions.map { ($0, stored[$0]) })
            }
            return OffsetFetchOutcome(error: .none, offsets: stored.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        } catch {
            logger.error("cannot read committed offsets of group \(groupId): \(error)")
            return OffsetFetchOutcome(error: .unknownServerError, offsets: [])
        }
    }

    /// offsets.retention.minutes: in groups without members, drops each commit older than
    /// `retentionMs`, and forgets a memberless group once it has nothing committed. Groups with
    /// members keep their offsets, as in Kafka. Returns how many commits were dropped.
    @discardableResult
    public func expireOffsets(retentionMs: Int64, nowMs: Int64) -> Int {
        guard !isShutDown else { return 0 }
        var dropped = 0
        for (groupId, group) in groups where group.state == .empty {
            do {
                let committed = try offsets.fetch(group: groupId, partitions: nil)
                let expired = committed.filter { $0.value.commitTimestampMs + retentionMs <= nowMs }.map(\.key)
                if !expired.isEmpty {
                    try offsets.deleteOffsets(group: groupId, partitions: expired)
                    dropped += expired.count
                }
                if expired.count == committed.count {
                    groups.removeValue(forKey: groupId)
                    disarm(groupId)
                }
            } catch {
                logger.error("cannot expire committed offsets of group \(groupId): \(error)")
            }
        }
        if dropped > 0 { logger.info("expired \(dropped) committed offsets (offsets.retention.minutes)") }
        return dropped
    }
}
