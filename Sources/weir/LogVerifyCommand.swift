import ArgumentParser
import Foundation
import WeirStorage

/// `weir log verify`: checks a broker's database and lists every problem.
struct LogVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every batch's CRC-32C, the offsets, the catalog and the producer state.",
        discussion: """
        Opens the database read-only (works beside a running broker, and on a snapshot) and checks:
        - every stored batch: its key is the 8-byte offset its header repeats, its header is \
        whole (magic 2, batchLength matching the stored bytes) and its CRC-32C matches;
        - offsets: from the log start offset on, each batch starts right after the previous one \
        (no gap, no overlap), and the log start offset is not past the first batch's last offset;
        - catalog and column families: every partition of every topic has its column family, \
        every log/… column family belongs to a topic, no log start offset or producer state is \
        left for a topic id no topic has;
        - producer state: no idempotent producer's last batch ends at or past the log end offset.

        Prints each problem on one line ("topic-partition offset N: what"), or \
        "ok: N partitions, M batches, K bytes verified".

        --json prints one JSON object: ok, partitions, batches, bytes, problems ([{topic, \
        partition, offset, column_family, message}], null where it does not apply).

        Exit codes: 0 clean, 1 problems found (or the database could not be read), 2 usage.

        Example:
          weir log verify --data-dir ./data
        """
    )

    @Option(name: .customLong("data-dir"), help: "The broker's database directory (log.dirs).")
    var dataDir: String?

    @Flag(help: "One JSON object, for scripts.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    func run() throws {
        let command = "log verify"
        try DatabaseTool.checkUsage(command, unrecognized: unrecognized, required: [("--data-dir", dataDir)])
        let store = try DatabaseTool.openReadOnly(dataDir!, command)
        defer { store.close() }
        let report = try Self.verify(store, command: command)
        var out = StdoutWriter()
        out.write(json ? Self.json(report) + "\n" : Self.text(report))
        out.flush()
        if !report.problems.isEmpty { throw ExitCode(1) }
    }

    /// Runs `LogInspector.verify` with a progress bar; a read failure exits 1.
    static func verify(_ store: ReadOnlyLogStore, command: String) throws -> VerifyReport {
        let bar = ProgressBar("verifying")
        defer { bar.finish() }
        do {
            return try LogInspector(store).verify(progress: bar.update)
        } catch {
            bar.finish()
            throw DatabaseTool.failure(command, "reading the database failed: \(error)")
        }
    }

    static func summary(_ r: VerifyReport) -> String {
        "\(r.partitions) partitions, \(r.batches) batches, \(r.bytes) bytes verified"
    }

    static func text(_ report: VerifyReport) -> String {
        guard !report.problems.isEmpty else { return "ok: \(summary(report))\n" }
        return report.problems.map { "\($0)\n" }.joined()
            + "\(report.problems.count) problem(s): \(summary(report))\n"
    }

    static func jsonObject(_ report: VerifyReport) -> [String: Any] {
        [
            "ok": report.problems.isEmpty, "partitions": report.partitions, "batches": report.batches,
            "bytes": report.bytes,
            "problems": report.problems.map { p -> [String: Any] in
                ["topic": DatabaseTool.null(p.topic), "partition": DatabaseTool.null(p.partition),
                 "offset": DatabaseTool.null(p.offset), "column_family": DatabaseTool.null(p.columnFamily),
                 "message": p.message]
            },
        ]
    }

    static func json(_ report: VerifyReport) -> String {
        DatabaseTool.jsonLine(jsonObject(report))
    }
}
