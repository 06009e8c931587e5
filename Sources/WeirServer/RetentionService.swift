import KafkaProtocol
import Logging
import NIOPosix
import ServiceLifecycle
import WeirBroker
import WeirStorage

/// Kafka's delete retention (`retention.ms`, `retention.bytes`, `log.retention.*`) and log
/// compaction (`cleanup.policy=compact`): every `log.retention.check.interval.ms`, each partition
/// of each topic whose `cleanup.policy` includes `delete` loses the oldest batches its limits no
/// longer cover, then each partition of a topic whose policy includes `compact` is compacted when
/// its dirty ratio, max.compaction.lag.ms or due tombstones say so (with `compact,delete`, in that
/// order, as Kafka does). `RetentionPolicy` and `CompactionPolicy` decide;
/// `PartitionLog.enforceRetention` and `PartitionLog.compact` do the reading and writing; this
/// service only walks the partitions, with each topic's effective config and the wall clock.
/// (Kafka runs the cleaner on its own threads every few seconds; Weir compacts in the retention
/// pass, so `log.retention.check.interval.ms` also sets how soon a partition is compacted.)
///
/// Where it runs: on a thread of its own (a one-thread `NIOThreadPool`), never on an event loop
/// nor on Swift's cooperative pool, because a pass blocks on RocksDB and reclaiming compacts for
/// up to seconds. One thread also means that passes never overlap and that a long compaction
/// takes no I/O thread from fetches.
///
/// Shutdown: graceful shutdown ends the wait between passes at once, a pass stops before its
/// next partition, and a compaction in progress is aborted (`stopReclaiming`), so SIGTERM is
/// never held up by retention. Records deleted before that stay deleted; space not yet
/// reclaimed is left to RocksDB's own compactions.
struct RetentionService: Service {
    let store: LogStore
    let topics: TopicManager
    let intervalMs: Int64
    let clock: WallClock
    let logger: Logger
    /// Told after every pass (the admin listener's metrics count passes and what they deleted).
    var onPass: @Sendable (PassTotals) -> Void = { _ in }

    /// What one pass removed: `partitions`, `batches`, `bytes` by retention (what `onPass`
    /// always reported); the `compacted…` fields by compaction.
    struct PassTotals: Equatable {
        var partitions = 0
        var batches = 0
        var bytes: Int64 = 0
        /// Partitions compacted.
        var compactedPartitions = 0
        /// Records compaction removed.
        var compactedRecords = 0
        /// Stored bytes compaction freed (before − after of the batches it rewrote).
        var compactedBytes: Int64 = 0
        /// How long the pass took (the console shows it).
        var durationMs: Int64 = 0
    }

    func run() async throws {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(intervalMs))
                onPass(await pass(on: thread))
            }
        }
        try? await thread.shutdownGracefully()
    }

    /// One walk over every partition; logs one info line when it deleted anything.
    @discardableResult
    func pass(on thread: NIOThreadPool) async -> PassTotals {
        let started = ContinuousClock.now
        var totals = PassTotals()
        topicLoop: for record in store.topics() {
            let config = topics.effectiveConfig(of: record)
            let policy = RetentionPolicy(retentionMs: config.retentionMs, retentionBytes: config.retentionBytes,
                                         deletes: config.deleteRetention)
            let compaction = CompactionPolicy(compacts: config.compact, topicConfigs: record.configs)
            guard policy.isActive || compaction.compacts else { continue }
            for partition in 0..<record.partitionCount {
                if Task.isCancelled { break topicLoop }
                let tp = TopicPartition(record.name, partition)
                // A topic deleted and re-created under the same name since `topics()` is skipped.
                guard let log = store.partition(tp), log.topicId == record.id else { continue }
                if policy.isActive {
                    await retain(log, policy, into: &totals, on: thread)
                }
                if compaction.compacts, !Task.isCancelled {
                    await compact(log, compaction, into: &totals, on: thread)
                }
            }
        }
        let elapsed = started.duration(to: .now).components
        let ms = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
        totals.durationMs = ms
        if totals.partitions > 0 {
            logger.info("retention deleted records", metadata: [
                "partitions": "\(totals.partitions)", "batches": "\(totals.batches)",
                "bytes": "\(totals.bytes)", "durationMs": "\(ms)",
            ])
        }
        if totals.compactedPartitions > 0 {
            logger.info("compaction removed records", metadata: [
                "partitions": "\(totals.compactedPartitions)", "records": "\(totals.compactedRecords)",
                "bytes": "\(totals.compactedBytes)", "durationMs": "\(ms)",
            ])
        }
        return totals
    }

    /// Delete retention on one partition, on `thread`.
    private func retain(_ log: PartitionLog, _ policy: RetentionPolicy, into totals: inout PassTotals,
                        on thread: NIOThreadPool) async {
        let tp = log.topicPartition
        let nowMs = clock.nowMs()
        do {
            let outcome = try await withTaskCancellationHandler {
                try await thread.runIfActive { try log.enforceRetention(policy, nowMs: nowMs) }
            } onCancel: {
                log.stopReclaiming()
            }
            guard let outcome else { return }
            totals.partitions += 1
            totals.batches += outcome.decision.batches
            totals.bytes += outcome.decision.bytes
            logger.debug("retention moved the log start offset", metadata: [
                "partition": "\(tp)", "logStartOffset": "\(outcome.decision.newLogStartOffset)",
            ])
            if let failure = outcome.reclaimFailure {
                logger.warning("retention deleted records but reclaiming their space failed",
                               metadata: ["partition": "\(tp)", "error": "\(failure)"])
            }
        } catch StorageError.columnFamilyDropped(_), StorageError.closed {
            // The topic was deleted, or the broker is closing: nothing to retain.
        } catch {
            logger.warning("retention failed on a partition", metadata: ["partition": "\(tp)", "error": "\(error)"])
        }
    }

    /// Compaction of one partition, on `thread`. Shutdown aborts its reclaim (the rewrite itself
    /// is written chunk by chunk and a chunk is never left half done).
    private func compact(_ log: PartitionLog, _ policy: CompactionPolicy, into totals: inout PassTotals,
                         on thread: NIOThreadPool) async {
        let tp = log.topicPartition
        let nowMs = clock.nowMs()
        do {
            let outcome = try await withTaskCancellationHandler {
                try await thread.runIfActive { try log.compact(policy, nowMs: nowMs) }
            } onCancel: {
                log.stopReclaiming()
            }
            guard let outcome else { return }
            totals.compactedPartitions += 1
            totals.compactedRecords += outcome.recordsRemoved
            totals.compactedBytes += outcome.bytesFreed
            logger.debug("compacted a partition", metadata: [
                "partition": "\(tp)", "trigger": "\(outcome.decision.trigger)", "cleanedUpTo": "\(outcome.cleanedUpTo)",
                "recordsRemoved": "\(outcome.recordsRemoved)", "bytesFreed": "\(outcome.bytesFreed)",
            ])
            if let failure = outcome.reclaimFailure {
                logger.warning("compaction rewrote batches but reclaiming their space failed",
                               metadata: ["partition": "\(tp)", "error": "\(failure)"])
            }
        } catch StorageError.columnFamilyDropped(_), StorageError.closed {
            // The topic was deleted, or the broker is closing.
        } catch {
            logger.warning("compaction failed on a partition", metadata: ["partition": "\(tp)", "error": "\(error)"])
        }
    }
}
