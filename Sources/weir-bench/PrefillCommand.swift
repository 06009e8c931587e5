import ArgumentParser
import Foundation
import KafkaProtocol
import WeirStorage

/// Fills a broker's data directory before the broker starts: a topic whose partitions hold
/// `bytes` of batches, written straight through `LogStore` (as the broker would store them,
/// minus the network), so that the scale part can measure produce into a database that already
/// holds gigabytes in minutes rather than in a long produce run. The broker later opens the
/// directory and finds the topic in its catalog.
struct PrefillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefill",
        abstract: "Write a topic of N bytes straight into a (stopped) broker's data directory.")

    @OptionGroup var workloadOptions: WorkloadOptions
    @OptionGroup var broker: BrokerStorageOptions

    @Option(help: "The broker's data directory (log.dirs).")
    var dir: String

    @Option(help: "Topic to create and fill.")
    var topic: String = "prefill"

    @Option(help: "Partitions of that topic.")
    var partitions: Int32 = 6

    @Option(help: "Payload bytes to write.")
    var bytes: Int = 5_000_000_000

    @Option(help: "Writer threads.")
    var threads: Int = 2

    func run() throws {
        let workload = try workloadOptions.workload()
        let store = try broker.open(directory: dir)
        defer { store.close() }
        try store.createTopic(name: topic, partitions: partitions, configs: [:])
        let logs = (0..<partitions).compactMap { store.partition(TopicPartition(topic, $0)) }
        let batches = try StorageCommand.producedBatches(workload, count: 64)
        let total = max(1, bytes / workload.payloadBytesPerBatch)
        let threadCount = max(1, min(threads, logs.count))
        let failures = FailureBox()
        let clock = Stopwatch()
        DispatchQueue.concurrentPerform(iterations: threadCount) { t in
            let mine = stride(from: t, to: logs.count, by: threadCount).map { logs[$0] }
            var i = t
            var n = 0
            while i < total {
                do {
                    _ = try mine[n % mine.count].append([batches[i % batches.count]], leaderEpoch: 0,
                                                        logAppendTime: nil, sync: false)
                } catch {
                    failures.record(error)
                    return
                }
                i += threadCount
                n += 1
            }
        }
        let seconds = clock.seconds
        try failures.check()
        store.flushWAL(sync: true)
        let payload = total * workload.payloadBytesPerBatch
        Report.emit([
            "part": "prefill", "topic": topic, "partitions": Int(partitions), "kind": workload.name,
            "records": total * workload.recordsPerBatch, "payload_bytes": payload,
            "seconds": Report.round2(seconds), "MB_per_s": Report.mbPerSecond(payload, seconds),
            "db_bytes_on_disk": directoryBytes(dir),
        ])
    }
}
