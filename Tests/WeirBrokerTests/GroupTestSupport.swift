import Foundation
import KafkaProtocol
import Logging
import NIOCore
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

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}

/// A clock that moves only when the test says so. Sleepers wake when `advance` passes their
/// deadline, or throw `CancellationError` when their task is cancelled.
final class ManualGroupClock: GroupClock, @unchecked Sendable {
    private let lock = NSLock()
    private var now: Int64
    private var sleepers: [UInt64: (deadline: Int64, continuation: CheckedContinuation<Void, any Error>)] = [:]
    private var nextId: UInt64 = 0

    init(startMs: Int64 = 1_000) { now = startMs }

    func nowMs() -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        return now
    }

    func advance(by ms: Int64) {
        lock.lock()
        now += ms
        let due = sleepers.filter { $0.value.deadline <= now }
        for id in due.keys { sleepers[id] = nil }
        lock.unlock()
        for sleeper in due.values { sleeper.continuation.resume() }
    }

    func sleep(untilMs deadlineMs: Int64) async throws {
        let id = lock.withLock {
            nextId += 1
            return nextId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                lock.lock()
                if now >= deadlineMs {
                    lock.unlock()
                    continuation.resume()
                } else if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    sleepers[id] = (deadlineMs, continuation)
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let sleeper = sleepers.removeValue(forKey: id)
            lock.unlock()
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    var sleeperCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return sleepers.count
    }
}
