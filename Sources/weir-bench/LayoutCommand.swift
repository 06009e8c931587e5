import ArgumentParser
import Foundation
import WeirStorage

/// Storage layout experiment: the `storage` part's workload (same batches, 2 writer threads, one
/// RocksDB write per batch, then every partition read back in offset order 1 MiB at a time)
/// written straight into RocksDB in several layouts — one column family per partition (Weir's,
/// plus tuned and stalling-budget variants), partitions sharing K families under a 4-byte
/// partition-id key prefix, or segment-major keys (segment ‖ partition ‖ offset) — to compare throughput, flushes, compactions, write amplification, stalls, SST files
/// and peak RSS side by side.
///
/// Every case runs in its own child process (so that VmHWM is the case's own peak) with a fresh
/// database under `--tmp`, removed afterwards. Each prints one JSON object on stdout; the table
/// of all cases goes to stderr at the end, so stdout stays JSON lines.
struct LayoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layout",
        abstract: "Storage layout experiment: per-partition vs shared column families, straight on RocksDB.",
        discussion: """
            Layouts: per-partition, per-partition-tuned, per-partition-stall, \
            per-partition-tuned-stall, shared:K, segmented; each may end in :level, \
            :universal or :fifo (compaction style of the log families). Knob options apply to \
            every case of the run (per-partition-tuned fills the knobs not given from its preset; \
            the -stall ones add a WriteBufferManager with allow_stall and, unless \
            --max-total-wal is given, max_total_wal_size = max(4 × budget, 1 GiB)).
            Example: weir-bench layout --layout per-partition --layout shared:8:universal \
            --partitions 6 --partitions 1000 --bytes 300000000 --record-bytes 1024
            """)

    @OptionGroup var workloadOptions: WorkloadOptions
    @OptionGroup var broker: BrokerStorageOptions

    @Option(help: "Layouts to measure (repeatable).")
    var layout: [String] = ["per-partition", "per-partition-tuned", "shared:1", "shared:8", "shared:32"]

    @Option(help: "Partition counts to measure (repeatable).")
    var partitions: [Int] = [6, 1000]

    @Option(help: "Payload bytes to write per case.")
    var bytes: Int = 300_000_000

    @Option(help: "Writer (and reader) threads.")
    var threads: Int = 2

    @Option(help: "Bytes per read call (per partition fetch).")
    var readBytes: Int = 1 << 20

    @Option(help: "Runs of every case.")
    var repeats: Int = 1

    @Option(help: "Parent directory of the cases' temporary databases.")
    var tmp: String = "/tmp"

    @Option(help: "Seconds to wait for compactions to settle before reading.")
    var settleTimeout: Double = 600

    @Flag(help: "Run the cases in this process (peak RSS is then the maximum so far).")
    var inProcess = false

    // Knobs (nil: Weir's setting, or per-partition-tuned's preset).
    @Option(help: "Memtable budget, bytes (db_write_buffer_size).") var budget: Int?
    @Option(help: "Memtable budget per partition, bytes: budget = clamp(partitions × this, Weir's, --budget-cap).")
    var budgetPerPartition: Int?
    @Option(help: "Cap of the scaled memtable budget, bytes.") var budgetCap: Int?
    @Option(help: "max_total_wal_size, bytes.") var maxTotalWal: UInt64?
    @Option(help: "max_background_jobs.") var jobs: Int32?
    @Option(help: "max_subcompactions.") var subcompactions: UInt32?
    @Option(help: "recycle_log_file_num.") var recycleLogs: Int?
    @Option(help: "write_buffer_size of each log family, bytes.") var writeBuffer: Int?
    @Option(help: "level0_file_num_compaction_trigger.") var l0Trigger: Int32?
    @Option(help: "target_file_size_base, bytes.") var targetFileSize: UInt64?
    @Option(help: "max_bytes_for_level_base, bytes.") var maxBytesForLevelBase: UInt64?
    @Option(help: "level_compaction_dynamic_level_bytes.") var dynamicLevelBytes: Bool?
    @Option(help: "Universal compaction size_ratio (%).") var universalSizeRatio: Int32?
    @Option(help: "Universal compaction max_size_amplification_percent.") var universalSizeAmp: Int32?
    @Option(help: "Universal compaction min_merge_width.") var universalMinMerge: Int32?
    @Flag(help: "Shared layouts: a 4-byte fixed prefix extractor.") var prefixExtractor = false
    @Flag(help: "Every case: a WriteBufferManager of the budget with allow_stall.") var stallingBudget = false
    @Option(help: "Segmented layout: stored bytes per segment (default: budget ÷ 4).") var segmentBytes: Int?

    // One case (what the parent passes to each child).
    @Option(help: .hidden) var caseLayout: String?
    @Option(help: .hidden) var casePartitions: Int?

    var knobs: LayoutKnobs {
        var k = LayoutKnobs()
        k.budgetBytes = budget
        k.budgetPerPartitionBytes = budgetPerPartition
        k.budgetCapBytes = budgetCap
        k.maxTotalWALBytes = maxTotalWal
        k.backgroundJobs = jobs
        k.subcompactions = subcompactions
        k.recycleLogFiles = recycleLogs
        k.writeBufferBytes = writeBuffer
        k.level0CompactionTrigger = l0Trigger
        k.targetFileSizeBytes = targetFileSize
        k.maxBytesForLevelBase = maxBytesForLevelBase
        k.dynamicLevelBytes = dynamicLevelBytes
        k.universalSizeRatio = universalSizeRatio
        k.universalMaxSizeAmplificationPercent = universalSizeAmp
        k.universalMinMergeWidth = universalMinMerge
        k.atomicFlush = broker.atomicFlush
        k.prefixExtractor = prefixExtractor
        k.stallingBudget = stallingBudget
        k.segmentBytes = segmentBytes
        return k
    }

    func validate() throws {
        guard bytes > 0, threads > 0, readBytes > 0, repeats > 0, partitions.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("counts must be positive")
        }
        for text in layout + [caseLayout].compactMap({ $0 }) { _ = try LayoutSpec(text) }
    }

    func run() throws {
        if let caseLayout, let casePartitions {
            Report.emit(try runCase(LayoutSpec(caseLayout), partitions: casePartitions))
            return
        }
        var rows: [[String: Any]] = []
        for _ in 0..<repeats {
            for n in partitions {
                for text in layout {
                    Report.log("layout \(text) × \(n) partitions")
                    let row: [String: Any]?
                    if inProcess {
                        row = try runCase(LayoutSpec(text), partitions: n)
                        if let row { Report.emit(row) }
                    } else {
                        row = try runChild(layout: text, partitions: n)
                    }
                    if let row { rows.append(row) }
                }
            }
        }
        FileHandle.standardError.write(Data(LayoutTable.render(rows).utf8))
    }

    private func runCase(_ spec: LayoutSpec, partitions n: Int) throws -> [String: Any] {
        let directory = tmp + "/weir-layout-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try broker.storageOptions()
        let run = LayoutRun(spec: spec, partitions: n, knobs: knobs, storage: storage,
                            workload: try workloadOptions.workload(), bytes: bytes, threads: threads,
                            readBytes: readBytes, directory: directory, settleTimeout: settleTimeout)
        return try run.run()
    }

    /// Runs one case in a child process (this executable with the same arguments plus the case),
    /// forwards its JSON line and returns it parsed; nil when the child failed.
    private func runChild(layout text: String, partitions n: Int) throws -> [String: Any]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = Array(CommandLine.arguments.dropFirst())
            + ["--case-layout", text, "--case-partitions", String(n)]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            Report.log("layout \(text) × \(n): child exited with \(process.terminationStatus)")
            return nil
        }
        FileHandle.standardOutput.write(data)
        let line = data.split(separator: UInt8(ascii: "\n")).last.map { Data($0) } ?? Data()
        return (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
    }
}
