import ArgumentParser
import Foundation
import KafkaProtocol
import WeirStorage

/// `weir snapshot create/restore`: a consistent copy of a stopped broker's database, and back.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Snapshot a stopped broker's database, or restore one into a new data directory.",
        discussion: """
        A snapshot is a RocksDB checkpoint: every topic, committed offset, producer state and \
        catalog entry, consistent as of one moment. On the same file system a checkpoint \
        hard-links the database's SST files instead of copying them: it is quick and takes \
        little space, but it shares the files' blocks with the database (and, while it is kept \
        there, retention cannot give their space back). It is not a backup until it is copied \
        to another file system or machine.

        Example:
          weir snapshot create --data-dir ./data --to ./snapshots/monday
        """,
        subcommands: [SnapshotCreateCommand.self, SnapshotRestoreCommand.self]
    )
}

struct SnapshotCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Write a checkpoint of a stopped broker's database to a new directory.",
        discussion: """
        The broker must be stopped (this exits 1 while one holds the database). --to must not \
        exist; its parent must. Opening the database also does what a broker does at startup. \
        Prints each partition's log start and end offsets in the snapshot.

        A checkpoint on the same file system hard-links the SST files (so it is fast and shares \
        disk blocks with the database): copy it to another file system for a backup.

        --json prints one JSON object: snapshot, partitions ([{topic, partition, \
        log_start_offset, log_end_offset}]).

        Exit codes: 0 done, 1 could not (database in use, write failed), 2 usage.

        Example:
          weir snapshot create --data-dir ./data --to ./snapshots/before-upgrade
        """
    )

    @Option(name: .customLong("data-dir"), help: "The broker's database directory (log.dirs).")
    var dataDir: String?

    @Option(help: "The snapshot directory to create (must not exist).")
    var to: String?

    @Flag(help: "One JSON object, for scripts.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    func run() throws {
        let command = "snapshot create"
        try DatabaseTool.checkUsage(command, unrecognized: unrecognized, required: [("--data-dir", dataDir), ("--to", to)])
        let target = to!
        guard !FileManager.default.fileExists(atPath: target) else {
            throw DatabaseTool.usage(command, "\(target) exists; a snapshot goes into a new directory")
        }
        let store = try DatabaseTool.openForWriting(dataDir!, command)
        defer { store.close() }
        do {
            try store.checkpoint(to: target)
        } catch {
            throw DatabaseTool.failure(command, "writing the checkpoint to \(target) failed: \(error)")
        }
        var rows: [(TopicPartition, LogOffsets)] = []
        for record in store.topics() {
            for p in 0..<record.partitionCount {
                let tp = TopicPartition(record.name, p)
                if let log = store.partition(tp) { rows.append((tp, log.offsets)) }
            }
        }
        var out = StdoutWriter()
        if json {
            out.write(DatabaseTool.jsonLine([
                "snapshot": target,
                "partitions": rows.map { ["topic": $0.0.topic, "partition": $0.0.partition,
                                          "log_start_offset": $0.1.logStartOffset, "log_end_offset": $0.1.logEndOffset] },
            ]) + "\n")
        } else {
            for (tp, offsets) in rows {
                out.write("\(tp): log start offset \(offsets.logStartOffset), log end offset \(offsets.logEndOffset)\n")
            }
            out.write("snapshot of \(rows.count) partitions written to \(target)\n")
        }
        out.flush()
    }
}

struct SnapshotRestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Copy a snapshot into a new data directory and verify it.",
        discussion: """
        Copies every file of the snapshot (a copy, not links: the new directory shares nothing \
        with the snapshot), fsyncs them, then opens the copy read-only and checks it as \
        weir log verify does. Prints each partition restored (offsets, records, bytes) and the \
        verification's result. --data-dir must not exist, or be an empty directory. Start a \
        broker with log.dirs set to it.

        --json prints one JSON object: from, data_dir, files, bytes, partitions ([{topic, \
        partition, log_start_offset, log_end_offset, records, batches, bytes}]), verify (as \
        weir log verify --json).

        Exit codes: 0 restored and verified, 1 the copy failed or verify found problems, 2 usage.

        Example:
          weir snapshot restore --from /mnt/backup/weir --data-dir ./data2
        """
    )

    @Option(help: "The snapshot directory (written by weir snapshot create).")
    var from: String?

    @Option(name: .customLong("data-dir"), help: "The new data directory (must not exist, or be empty).")
    var dataDir: String?

    @Flag(help: "One JSON object, for scripts.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    func run() throws {
        let command = "snapshot restore"
        try DatabaseTool.checkUsage(command, unrecognized: unrecognized, required: [("--from", from), ("--data-dir", dataDir)])
        let source = from!, target = dataDir!
        guard LogStore.databaseExists(in: source) else {
            throw DatabaseTool.usage(command, "no snapshot at \(source)")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) {
            let empty = isDirectory.boolValue && ((try? FileManager.default.contentsOfDirectory(atPath: target))?.isEmpty ?? false)
            guard empty else { throw DatabaseTool.usage(command, "\(target) exists and is not empty") }
        }
        let copied: LogStore.RestoredFiles
        let bar = ProgressBar("copying")
        do {
            copied = try LogStore.restoreSnapshot(from: source, to: target, progress: bar.update)
            bar.finish()
        } catch {
            bar.finish()
            throw DatabaseTool.failure(command, "copying \(source) to \(target) failed: \(error)")
        }
        let store = try DatabaseTool.openReadOnly(target, command)
        defer { store.close() }
        let summaries: [PartitionSummary]
        do {
            summaries = try LogInspector(store).summaries()
        } catch {
            throw DatabaseTool.failure(command, "reading the restored database failed: \(error)")
        }
        let report = try LogVerifyCommand.verify(store, command: command)
        var out = StdoutWriter()
        if json {
            out.write(DatabaseTool.jsonLine([
                "from": source, "data_dir": target, "files": copied.files, "bytes": copied.bytes,
                "partitions": summaries.map { s -> [String: Any] in
                    ["topic": s.topic, "partition": s.partition, "log_start_offset": s.logStartOffset,
                     "log_end_offset": s.logEndOffset, "records": s.records, "batches": s.batches, "bytes": s.bytes]
                },
                "verify": LogVerifyCommand.jsonObject(report),
            ]) + "\n")
        } else {
            for s in summaries {
                out.write("\(s.topic)-\(s.partition): log start offset \(s.logStartOffset), log end offset \(s.logEndOffset), "
                    + "\(s.records) records, \(s.batches) batches, \(s.bytes) bytes\n")
            }
            out.write("restored \(copied.files) files, \(copied.bytes) bytes from \(source) to \(target)\n")
            out.write(LogVerifyCommand.text(report))
        }
        out.flush()
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
