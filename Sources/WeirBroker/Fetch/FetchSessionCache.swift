import KafkaProtocol
import Synchronization

/// Kafka's incremental fetch sessions (KIP-227). A consumer of many partitions opens a session
/// with one full fetch; afterwards it sends only the partitions whose fetch position changed,
/// and the broker answers only the partitions that have something new (records, a moved high
/// watermark or log start, an error). Without sessions a consumer of 1,000 partitions sends and
/// receives all 1,000 on every fetch.
///
/// The decisions are pure functions of the request, the cached sessions and `nowMs`; the Fetch
/// handler does the reading. Sessions live in memory only (as in Kafka): after a restart a
/// client's incremental fetch gets FETCH_SESSION_ID_NOT_FOUND and it starts a new session.
///
/// Request forms (sessionId, epoch):
/// - (0, -1): a full fetch without a session (old clients, or a client that wants none).
/// - (any, 0): a full fetch that opens a new session (closing `sessionId` if it names one).
/// - (id, n > 0): an incremental fetch on session `id`, whose next epoch must be n.
/// - (id, -1): closes session `id`; answered as a full fetch without a session.
public final class FetchSessionCache: Sendable {
    /// A partition as the session remembers it: where the client fetches from, its limit, and
    /// what the broker last told it.
    public struct CachedPartition: Sendable, Equatable {
        public var topicPartition: TopicPartition
        public var fetchOffset: Int64
        public var maxBytes: Int
        public var highWatermark: Int64 = -1
        public var logStartOffset: Int64 = -1

        public init(_ topicPartition: TopicPartition, fetchOffset: Int64, maxBytes: Int) {
            self.topicPartition = topicPartition
            self.fetchOffset = fetchOffset
            self.maxBytes = maxBytes
        }
    }

    /// What one fetch reads, and how its answer is shaped.
    public struct Plan: Sendable, Equatable {
        /// The session id to answer (0: none).
        public var sessionId: Int32
        /// Answer only the partitions with news (an incremental fetch) rather than every one.
        public var incremental: Bool
        /// Every partition the fetch covers, in the order the session keeps them.
        public var partitions: [CachedPartition]
    }

    /// What a partition's read found, to decide whether an incremental answer includes it.
    public struct Outcome: Sendable {
        public var topicPartition: TopicPartition
        public var hasRecords: Bool
        public var error: ErrorCode
        public var highWatermark: Int64
        public var logStartOffset: Int64

        public init(_ topicPartition: TopicPartition, hasRecords: Bool, error: ErrorCode, highWatermark: Int64,
                    logStartOffset: Int64) {
            self.topicPartition = topicPartition
            self.hasRecords = hasRecords
            self.error = error
            self.highWatermark = highWatermark
            self.logStartOffset = logStartOffset
        }
    }

    private struct Session {
        var nextEpoch: Int32 = 1
        var partitions: [TopicPartition: CachedPartition] = [:]
        var order: [TopicPartition] = []
        var lastUsedMs: Int64

        var cached: [CachedPartition] { order.compactMap { partitions[$0] } }
    }

    private struct State {
        var sessions: [Int32: Session] = [:]
    }

    /// Kafka's `max.incremental.fetch.session.cache.slots` (1,000) and
    /// `min.incremental.fetch.session.eviction.ms` (120 s).
    public let maxSessions: Int
    public let evictionMs: Int64
    private let state = Mutex(State())

    public init(maxSessions: Int = 1_000, evictionMs: Int64 = 120_000) {
        self.maxSessions = maxSessions
        self.evictionMs = evictionMs
    }

    public static let initialEpoch: Int32 = 0
    public static let finalEpoch: Int32 = -1

    /// Number of open sessions.
    public var count: Int { state.withLock { $0.sessions.count } }

    /// Decides what a fetch reads. `requested` are the request's partitions in request order,
    /// `forgotten` the ones an incremental fetch drops. Fails with FETCH_SESSION_ID_NOT_FOUND or
    /// INVALID_FETCH_SESSION_EPOCH, which make the client start a new session.
    public func plan(sessionId: Int32, epoch: Int32, requested: [CachedPartition], forgotten: [TopicPartition],
                     nowMs: Int64) -> Result<Plan, ErrorCode> {
        state.withLock { s in
            switch epoch {
            case Self.finalEpoch:
                if sessionId != 0 { s.sessions[sessionId] = nil }
                return .success(Plan(sessionId: 0, incremental: false, partitions: requested))
            case Self.initialEpoch:
                if sessionId != 0 { s.sessions[sessionId] = nil }
                var session = Session(lastUsedMs: nowMs)
                for p in requested where session.partitions.updateValue(p, forKey: p.topicPartition) == nil {
                    session.order.append(p.topicPartition)
                }
                guard let id = makeRoom(in: &s, forPartitions: session.order.count, nowMs: nowMs) else {
                    return .success(Plan(sessionId: 0, incremental: false, partitions: requested))
                }
                s.sessions[id] = session
                return .success(Plan(sessionId: id, incremental: false, partitions: session.cached))
            default:
                guard var session = s.sessions[sessionId] else { return .failure(.fetchSessionIdNotFound) }
                guard epoch == session.nextEpoch else { return .failure(.invalidFetchSessionEpoch) }
                for tp in forgotten where session.partitions.removeValue(forKey: tp) != nil {
                    session.order.removeAll { $0 == tp }
                }
                for p in requested {
                    if var cached = session.partitions[p.topicPartition] {
                        cached.fetchOffset = p.fetchOffset
                        cached.maxBytes = p.maxBytes
                        session.partitions[p.topicPartition] = cached
                    } else {
                        session.partitions[p.topicPartition] = p
                        session.order.append(p.topicPartition)
                    }
                }
                session.nextEpoch = epoch == Int32.max ? 1 : epoch + 1
                session.lastUsedMs = nowMs
                s.sessions[sessionId] = session
                return .success(Plan(sessionId: sessionId, incremental: true, partitions: session.cached))
            }
        }
    }

    /// Records what the fetch answered and says which partitions the answer includes: all of
    /// them for a full fetch; for an incremental one, those with records, an error, or a high
    /// watermark or log start offset the client has not been told yet.
    public func answered(_ plan: Plan, outcomes: [Outcome]) -> Set<TopicPartition> {
        state.withLock { s in
            var include = Set<TopicPartition>()
            var session = plan.sessionId == 0 ? nil : s.sessions[plan.sessionId]
            // Partitions that returned records go to the end of the session's order, so that a
            // response filled by the first partitions does not starve the last ones (Kafka's rule).
            let served = Set(outcomes.lazy.filter(\.hasRecords).map(\.topicPartition))
            if !served.isEmpty, let order = session?.order {
                session?.order = order.filter { !served.contains($0) } + order.filter { served.contains($0) }
            }
            for o in outcomes {
                let cached = session?.partitions[o.topicPartition]
                let changed = o.hasRecords || o.error != .none
                    || cached?.highWatermark != o.highWatermark || cached?.logStartOffset != o.logStartOffset
                if !plan.incremental || changed { include.insert(o.topicPartition) }
                session?.partitions[o.topicPartition]?.highWatermark = o.highWatermark
                session?.partitions[o.topicPartition]?.logStartOffset = o.logStartOffset
            }
            if let session { s.sessions[plan.sessionId] = session }
            return include
        }
    }

    /// A new session id, after evicting an idle session or a smaller one when the cache is full;
    /// nil when no room can be made (the fetch then goes on without a session, as in Kafka).
    private func makeRoom(in s: inout State, forPartitions count: Int, nowMs: Int64) -> Int32? {
        if s.sessions.count >= maxSessions {
            let idle = s.sessions.filter { nowMs - $0.value.lastUsedMs >= evictionMs }
            if let oldest = idle.min(by: { $0.value.lastUsedMs < $1.value.lastUsedMs }) {
                s.sessions[oldest.key] = nil
            } else if let smallest = s.sessions.min(by: { $0.value.order.count < $1.value.order.count }),
                      smallest.value.order.count < count {
                s.sessions[smallest.key] = nil
            } else {
                return nil
            }
        }
        // Random, as Kafka's: after a restart a client's old id must not name another's session.
        var id: Int32
        repeat {
            id = Int32.random(in: 1...Int32.max)
        } while s.sessions[id] != nil
        return id
    }
}
