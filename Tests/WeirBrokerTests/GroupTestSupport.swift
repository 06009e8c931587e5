import Foundation
import KafkaProtocol
import Logging
import NIOCore
import Synchronization
@testable import WeirBroker
import WeirStorage

/// Helpers of the group tests, under one name so they cannot clash with other test files.
enum GroupTest {
    static let logger = Logger(label: "weir.groups.test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// A consumer-style protocol list: names with metadata "<name>:<tag>".
    static func protocols(_ names: [String], tag: String = "m") -> [GroupProtocol] {
        names.map { GroupProtocol(name: $0, metadata: bytes("\($0):\(tag)")) }
    }

    static func join(_ groupId: String = "g", memberId: String = "", client: String = "c",
                     protocols: [GroupProtocol] = protocols(["range"]), session: Int32 = 10_000,
                     rebalance: Int32 = 30_000, requireKnownMemberId: Bool = false,
                     instanceId: String? = nil, skipAssignmentSupported: Bool = false,
                     protocolType: String = "consumer") -> JoinGroupParams {
        JoinGroupParams(groupId: groupId, memberId: memberId, groupInstanceId: instanceId, clientId: client,
                        clientHost: "/127.0.0.1", sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance,
                        protocolType: protocolType, protocols: protocols, requireKnownMemberId: requireKnownMemberId,
                        supportsSkippingAssignment: skipAssignmentSupported)
    }

    static func sync(_ groupId: String = "g", generation: Int32, memberId: String,
                     assignments: [(String, String)] = []) -> SyncGroupParams {
        SyncGroupParams(groupId: groupId, generationId: generation, memberId: memberId,
                        assignments: assignments.map { MemberAssignment(memberId: $0.0, assignment: bytes($0.1)) })
    }

    /// A config without the initial delay, for tests that are not about it.
    static let noDelay = GroupConfig(initialRebalanceDelayMs: 0, minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 300_000)

    /// Opens a real RocksDB store in a fresh temporary directory; `cleanup` closes and removes it.
    static func openOffsetStore() throws -> (store: LogStore, cleanup: () -> Void) {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("weir-groups-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var options = StorageOptions()
        options.blockCacheBytes = 8 << 20
        options.totalWriteBufferBytes = 32 << 20
        let store = try LogStore.open(directory: path + "/db", options: options, logger: logger)
        return (store, {
            store.close()
            try? FileManager.default.removeItem(atPath: path)
        })
    }

    /// Deterministic member ids: "<clientId>-1", "<clientId>-2", …
    static func counterIds() -> @Sendable (String) -> String {
        let counter = Counter()
        return { "\($0)-\(counter.next())" }
    }

    final class Counter: Sendable {
        private let value = Mutex(0)
        func next() -> Int {
            value.withLock { v in
                v += 1
                return v
            }
        }
    }
}

/// A clock that moves only when the test says so. Sleepers wake when `advance` passes their
/// deadline, or throw `CancellationError` when their task is cancelled.
final class ManualGroupClock: GroupClock {
    private struct State {
        var now: Int64
        var sleepers: [UInt64: (deadline: Int64, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextId: UInt64 = 0
    }
    private let state: Mutex<State>

    init(startMs: Int64 = 1_000) { state = Mutex(State(now: startMs)) }

    func nowMs() -> Int64 {
        state.withLock { $0.now }
    }

    func advance(by ms: Int64) {
        let due = state.withLock { s in
            s.now += ms
            let now = s.now
            let due = s.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { s.sleepers[id] = nil }
            return due
        }
        for sleeper in due.values { sleeper.continuation.resume() }
    }

    func sleep(untilMs deadlineMs: Int64) async throws {
        let id = state.withLock { s in
            s.nextId += 1
            return s.nextId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case due, cancelled, waiting }
                let outcome = state.withLock { s -> Outcome in
                    if s.now >= deadlineMs { return .due }
                    if Task.isCancelled { return .cancelled }
                    s.sleepers[id] = (deadlineMs, continuation)
                    return .waiting
                }
                switch outcome {
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    var sleeperCount: Int {
        state.withLock { $0.sleepers.count }
    }
}
