import Foundation
import KafkaProtocol
import NIOCore
import Synchronization
import WeirBroker
import WeirStorage

/// Topic changes from any broker: written to etcd (`topics/NAME`), carried out by the
/// controller (partition placement) and by every broker (local logs). CreateTopics returns
/// once the controller has placed every partition.
extension EtcdCluster {
    public func createTopic(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String],
                            validateOnly: Bool) async throws -> ClusterTopicCreated {
        let live = state.withLock { $0.brokers.count }
        let (p, rf) = try topicRules.checkCreate(name: name, partitions: partitions, replicationFactor: replicationFactor,
                                                 configs: configs, liveBrokers: live, exists: state.withLock { $0.topics[name] != nil })
        let id = KafkaUUID.random()
        guard !validateOnly else { return ClusterTopicCreated(id: id, partitions: p, replicationFactor: rf) }
        let spec = TopicSpec(id: KafkaUUIDText.hex(id), partitions: p, replicationFactor: rf, configs: configs)
        let key = settings.keys.topic(name)
        do {
            guard try await etcd.transaction([.absent(key)], then: [.put(key, ClusterJSON.encode(spec), lease: 0)]) else {
                throw TopicManager.Failure(code: .topicAlreadyExists, message: "Topic '\(name)' already exists.")
            }
        } catch let failure as TopicManager.Failure {
            throw failure
        } catch {
            throw TopicManager.Failure(code: .requestTimedOut, message: "etcd: \(error)")
        }
        logger.info("created topic in the cluster", metadata: ["topic": "\(name)", "partitions": "\(p)"])
        try await waitUntil(seconds: 10) { s in s.placedTopic(name) != nil }
        return ClusterTopicCreated(id: id, partitions: p, replicationFactor: rf)
    }

    public func deleteTopic(name: String) async throws {
        guard topicRules.config.deleteTopicEnable else {
            throw TopicManager.Failure(code: .topicDeletionDisabled, message: "Topic deletion is disabled.")
        }
        guard name != ClusterSettings.offsetsTopic, let revision = state.withLock({ $0.topics[name]?.modRevision }) else {
            throw TopicManager.Failure(code: .unknownTopicOrPartition, message: "This server does not host this topic-partition.")
        }
        do {
            guard try await etcd.transaction([.modRevision(settings.keys.topic(name), revision)],
                                             then: [.delete(settings.keys.topic(name))]) else {
                throw TopicManager.Failure(code: .unknownTopicOrPartition, message: "The topic changed while it was being deleted.")
            }
        } catch let failure as TopicManager.Failure {
            throw failure
        } catch {
            throw TopicManager.Failure(code: .requestTimedOut, message: "etcd: \(error)")
        }
        logger.info("deleted topic in the cluster", metadata: ["topic": "\(name)"])
        try await waitUntil(seconds: 10) { s in s.topics[name] == nil }
    }

    public func createPartitions(name: String, newTotal: Int32) throws {
        try blocking { [self] in
            try await updateSpec(name) { spec in
                guard newTotal > spec.partitions else {
                    throw TopicManager.Failure(code: .invalidPartitions, message: newTotal == spec.partitions
                        ? "Topic already has \(spec.partitions) partitions."
                        : "Topic currently has \(spec.partitions) partitions, which is higher than the requested \(newTotal).")
                }
                spec.partitions = newTotal
            }
            logger.info("added partitions in the cluster", metadata: ["topic": "\(name)", "partitions": "\(newTotal)"])
            try await waitUntil(seconds: 10) { s in s.placedTopic(name)?.partitions.count == Int(newTotal) }
        }
    }

    public func alterTopicConfigs(name: String, _ configs: [String: String]) throws {
        try blocking { [self] in
            try await updateSpec(name) { $0.configs = configs }
            // Answered once this broker's store has them, so a DescribeConfigs that follows sees them.
            let deadline = NIODeadline.now() + .seconds(10)
            while store.topic(named: name)?.configs != configs {
                guard NIODeadline.now() < deadline else {
                    throw TopicManager.Failure(code: .requestTimedOut, message: "The broker did not apply the configs within 10 s.")
                }
                signalChange()
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Read-modify-write of `topics/NAME` with a compare-and-swap, retried when another change won.
    func updateSpec(_ name: String, _ change: (inout TopicSpec) throws -> Void) async throws {
        let key = settings.keys.topic(name)
        for _ in 0..<10 {
            let kvs: [EtcdKeyValue]
            do { kvs = try await etcd.range(key).kvs } catch {
                throw TopicManager.Failure(code: .requestTimedOut, message: "etcd: \(error)")
            }
            guard let kv = kvs.first, var spec = ClusterJSON.decode(TopicSpec.self, kv.value) else {
                throw TopicManager.Failure(code: .unknownTopicOrPartition, message: "The topic '\(name)' does not exist.")
            }
            try change(&spec)
            do {
                if try await etcd.transaction([.modRevision(key, kv.modRevision)], then: [.put(key, ClusterJSON.encode(spec), lease: 0)]) {
                    return
                }
            } catch {
                throw TopicManager.Failure(code: .requestTimedOut, message: "etcd: \(error)")
            }
        }
        throw TopicManager.Failure(code: .requestTimedOut, message: "The topic kept changing; try again.")
    }

    /// Runs `operation` to completion from a thread that may block (the I/O pool): the handlers
    /// that change topics run there, as on a single broker, where these changes are RocksDB writes.
    func blocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let value = try await operation()
                result.withLock { $0 = .success(value) }
            } catch {
                result.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// Waits until the watched state satisfies `condition` (REQUEST_TIMED_OUT after `seconds`).
    func waitUntil(seconds: Int64, _ condition: (ClusterState) -> Bool) async throws {
        let deadline = NIODeadline.now() + .seconds(seconds)
        while !state.withLock({ condition($0) }) {
            guard NIODeadline.now() < deadline else {
                throw TopicManager.Failure(code: .requestTimedOut, message: "The controller did not carry out the change within \(seconds) s.")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Reserves `size` producer ids for this broker alone: a compare-and-swap on `producer_ids`.
    /// Blocks the calling thread (the allocator runs on the I/O pool, never an event loop).
    public func claimProducerIdBlock(size: Int64) throws -> Int64 {
        let (etcd, key) = (etcd, settings.keys.producerIds)
        return try blocking {
            for _ in 0..<20 {
                let (kvs, _) = try await etcd.range(key)
                let current = kvs.first.flatMap { Int64(String(decoding: $0.value, as: UTF8.self)) } ?? 0
                let guardCompare: EtcdCompare = kvs.first.map { .modRevision(key, $0.modRevision) } ?? .absent(key)
                if try await etcd.transaction([guardCompare], then: [.put(key, Data("\(current + size)".utf8), lease: 0)]) {
                    return current
                }
            }
            throw EtcdHTTP.Failure(description: "producer id block: too many competing claims")
        }
    }
}
