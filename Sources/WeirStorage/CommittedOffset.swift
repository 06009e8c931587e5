/// A consumer group's committed position in one partition (OffsetCommit / OffsetFetch).
public struct CommittedOffset: Sendable, Equatable {
    /// The next offset the group will consume.
    public var offset: Int64
    /// Leader epoch of the last consumed record; -1 when unknown.
    public var leaderEpoch: Int32
    /// Client-supplied metadata (nullable on the wire).
    public var metadata: String?
    /// Broker time of the commit, in milliseconds since the epoch.
    public var commitTimestampMs: Int64

    public init(offset: Int64, leaderEpoch: Int32 = -1, metadata: String? = nil, commitTimestampMs: Int64) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestampMs = commitTimestampMs
    }
}
