import ArgumentParser
import Foundation
import KafkaProtocol
import NIOCore
import WeirStorage

/// Part 1, the storage limit: the benchmark's batches appended straight into partition logs
/// through `LogStore`/`PartitionLog` (the broker's own code path below the network, with the
/// broker's RocksDB options), then read back in offset order with `PartitionLog.read`. What a
/// broker could do at most on this machine if requests cost nothing.
///
/// Writers run on `threads` threads, one append (one batch, one RocksDB write) per call as the
/// Produce handler does per partition; thread t owns partitions t, t+threads, … Readers read
/// 1 MiB at a time per partition, as a consumer's fetch with max.partition.fetch.bytes=1 MiB.
struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Storage limit: append batches to RocksDB through LogStore, then read them back.")

    @OptionGroup var workloadOptions: WorkloadOptions
    @OptionGroup var broker: BrokerStorageOptions

    @Option(help: "Database directory (must not hold a database already; removed afterwards unless --keep).")
    var dir: String

    @Option(help: "Payload bytes to write (record values).")
    var bytes: Int = 512_000_000

    @Option(help: "Partitions of the topic written.")
    var partitions: Int32 = 6

    @Option(help: "Writer (and reader) threads.")
    var threads: Int = 2

    @Option(help: "Bytes per read call (per partition fetch).")
    var readBytes: Int = 1 << 20

    @Flag(help: "Keep the database directory.")
    var keep = false

    func run() throws {
        let workload = try workloadOptions.workload()
        guard partitions > 0, threads > 0, bytes > 0 else { throw ValidationError("counts must be positive") }
        let store = try broker.open(directory: dir)
        defer {
            store.close()
            if !keep { try? FileManager.default.removeItem(atPath: dir) }
        }
        try store.createTopic(name: "storage-limit", partitions: partitions, configs: [:])
        let logs = (0..<partitions).compactMap { store.partition(TopicPartition("storage-limit", $0)) }
        let batches = try Self.producedBatches(workload, count: 64)
        let total = max(1, bytes / workload.payloadBytesPerBatch)
        let wireBytes = batches.reduce(0) { $0 + $1.bytes.readableBytes } * total / batches.count

        let threadCount = min(threads, logs.count)
        let failures = FailureBox()
        let writeClock = Stopwatch()
        DispatchQueue.concurrentPerform(iterations: threadCount) { t in
            let mine = stride(from: t, to: logs.count, by: threadCount).map { logs[$0] }
            var i = t
            var n = 0
            while i < total {
                let log = mine[n % mine.count]
                do {
                    _ = try log.append([batches[i % batches.count]], leaderEpoch: 0, logAppendTime: nil, sync: false)
                } catch {
                    failures.record(error)
                    return
                }
                i += threadCount
                n += 1
            }
        }
        let writeSeconds = writeClock.seconds
        try failures.check()
        // What RocksDB did to store it: flush everything still in memtables so that every
        // appended byte is counted once it reached an SST file.
        let filesAfterWrite = store.partitionFileCounts()
        try store.flushAllPartitions()
        let stats = store.statistics()
        let files = store.partitionFileCounts()

        let readTotals = (0..<threadCount).map { _ in CountBox() }
        let readClock = Stopwatch()
        DispatchQueue.concurrentPerform(iterations: threadCount) { t in
            var walker = BatchWalker()
            for p in stride(from: t, to: logs.count, by: threadCount) {
                let log = logs[p]
                var offset = log.logStartOffset
                let end = log.highWatermark
                walker.nextOffset = nil
                var buffer = ByteBufferAllocator().buffer(capacity: readBytes + 65536)
                while offset < end {
                    buffer.clear()
                    do {
                        _ = try log.read(from: offset, maxBytes: readBytes, into: &buffer)
                        try walker.walk(buffer)
                    } catch {
                        failures.record(error)
                        return
                    }
                    guard let next = walker.nextOffset, next > offset else {
                        failures.record(BatchWalker.Malformed(description: "no progress at offset \(offset)"))
                        return
                    }
                    offset = next
                }
            }
            readTotals[t].set(records: walker.records, bytes: walker.bytes)
        }
        let readSeconds = readClock.seconds
        try failures.check()

        let recordsWritten = total * workload.recordsPerBatch
        let recordsRead = readTotals.reduce(0) { $0 + $1.records }
        guard recordsRead == recordsWritten else {
            throw ValidationError("read back \(recordsRead) records, wrote \(recordsWritten)")
        }
        let payload = recordsWritten * workload.recordBytes
        Report.emit([
            "part": "storage", "kind": workload.name, "record_bytes": workload.recordBytes,
            "codec": workload.codec.benchName, "partitions": Int(partitions), "threads": threadCount,
            "records_per_batch": workload.recordsPerBatch, "batches": total, "records": recordsWritten,
            "payload_bytes": payload, "stored_batch_bytes": wireBytes,
            "write_seconds": Report.round2(writeSeconds),
            "write_MB_per_s": Report.mbPerSecond(payload, writeSeconds),
            "write_records_per_s": Int(Double(recordsWritten) / writeSeconds),
            "write_batch_MB_per_s": Report.mbPerSecond(wireBytes, writeSeconds),
            "read_seconds": Report.round2(readSeconds),
            "read_MB_per_s": Report.mbPerSecond(payload, readSeconds),
            "read_records_per_s": Int(Double(recordsRead) / readSeconds),
            "db_bytes_on_disk": directoryBytes(dir),
            "rocksdb_flushes": Int(stats?.flushCount ?? 0),
            "rocksdb_flush_write_bytes": Int(stats?.flushWriteBytes ?? 0),
            "rocksdb_compactions": Int(stats?.compactionCount ?? 0),
            "rocksdb_compaction_write_bytes": Int(stats?.compactionWriteBytes ?? 0),
            "rocksdb_stall_ms": Int((stats?.stallMicros ?? 0) / 1000),
            "write_amplification": Report.round2(stats?.writeAmplification(appendedBytes: UInt64(wireBytes)) ?? 0),
            "l0_files_after_write": filesAfterWrite.levelZero,
            "sst_files_after_write": filesAfterWrite.total,
            "sst_files": files.total,
        ])
    }

    /// `count` distinct batches of `workload`, validated as the Produce handler validates them.
    static func producedBatches(_ workload: Workload, count: Int) throws -> [ProducedBatch] {
        try (0..<count).map { i in
            let bytes = try workload.batch(i)
            switch ProducedBatch.validate(bytes, maxBatchBytes: Int(Int32.max)) {
            case .success(let batches) where batches.count == 1: return batches[0]
            case .success: throw ValidationError("built batch \(i) did not validate as one batch")
            case .failure(let error): throw ValidationError("built batch \(i) is invalid: \(error.message)")
            }
        }
    }
}
