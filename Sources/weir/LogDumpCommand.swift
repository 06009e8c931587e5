import ArgumentParser
import Foundation
import KafkaProtocol
import NIOCore
import WeirStorage

/// `weir log dump`: every record of one partition, in offset order, with its batch boundaries.
struct LogDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print every record of a partition, with batch boundaries (like kafka-dump-log.sh).",
        discussion: """
        Opens the database read-only (works beside a running broker). Batches are read in offset \
        order and decompressed (gzip, snappy, lz4, zstd). For each batch one line: base and last \
        offset, record count, codec, producer id/epoch/base sequence, whether it is transactional \
        or a control batch, timestamp type, size and whether its CRC-32C matches. Then one line \
        per record starting with '|': offset, timestamp (ms), key, value, headers.

        Keys, values and header values: printable UTF-8 as text, every other byte as \\xNN, a \
        backslash as \\\\, a null field as null.

        --from starts at the batch holding that offset and leaves out the records before it; \
        --max stops after that many records. Batches wholly below the log start offset are gone; \
        records below it that share a batch with kept ones are still stored and are printed.

        --json prints one JSON object per line and batch: base_offset, last_offset, \
        record_count, codec, producer_id, producer_epoch, base_sequence, is_transactional, \
        is_control, timestamp_type, max_timestamp, partition_leader_epoch, bytes, crc_valid, \
        error, records — each record with offset, timestamp, key, key_encoding, value, \
        value_encoding, headers ([{key, value, value_encoding}]); encodings are utf8, hex (not \
        valid UTF-8: lowercase hex) or null.

        Exit codes: 0 done, 1 a batch failed its CRC or could not be decoded (it is still \
        printed), 2 usage.

        Example:
          weir log dump --data-dir ./data --topic orders --partition 0 --max 10
        """
    )

    @Option(name: .customLong("data-dir"), help: "The broker's database directory (log.dirs).")
    var dataDir: String?

    @Option(help: "The topic.")
    var topic: String?

    @Option(help: "The partition.")
    var partition: String?

    @Option(help: "Start at this offset.")
    var from: String?

    @Option(help: "Print at most this many records.")
    var max: String?

    @Flag(help: "One JSON object per line and batch, for scripts.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    func run() throws {
        let command = "log dump"
        try DatabaseTool.checkUsage(command, unrecognized: unrecognized,
                                    required: [("--data-dir", dataDir), ("--topic", topic), ("--partition", partition)])
        let partition: Int32 = try DatabaseTool.integer(partition, "--partition", command)!
        let from: Int64? = try DatabaseTool.integer(from, "--from", command)
        let max: Int? = try DatabaseTool.integer(max, "--max", command)
        let store = try DatabaseTool.openReadOnly(dataDir!, command)
        defer { store.close() }
        if max == 0 { return }
        var out = StdoutWriter()
        var printed = 0
        var damaged = 0
        do {
            try LogInspector(store).dump(TopicPartition(topic!, partition), from: from) { batch in
                var batch = batch
                if let max { batch.records = Array(batch.records.prefix(max - printed)) }
                if !batch.crcValid || batch.error != nil { damaged += 1 }
                out.write((json ? Self.json(batch) : Self.text(batch)) + "\n")
                printed += batch.records.count
                out.flush()
                if out.broken { return false }
                if let max, printed >= max { return false }
                return true
            }
        } catch let error as StorageError {
            out.flush()
            if case .invalidArgument(let what) = error { throw DatabaseTool.failure(command, what) }
            throw DatabaseTool.failure(command, "\(error)")
        }
        out.flush()
        if damaged > 0 {
            throw DatabaseTool.failure(command, "\(damaged) batch(es) failed their CRC or could not be decoded; see weir log verify")
        }
    }

    static func codecName(_ header: RecordBatchHeader) -> String {
        switch CompressionCodec(rawValue: Int8(header.attributes & 0x07)) {
        case .none?: return "none"
        case .gzip?: return "gzip"
        case .snappy?: return "snappy"
        case .lz4?: return "lz4"
        case .zstd?: return "zstd"
        case nil: return "unknown(\(header.attributes & 0x07))"
        }
    }

    static func text(_ batch: DumpedBatch) -> String {
        var lines: [String] = []
        if let h = batch.header {
            lines.append("baseOffset: \(h.baseOffset) lastOffset: \(h.lastOffset) count: \(h.recordsCount) "
                + "codec: \(codecName(h)) producerId: \(h.producerId) producerEpoch: \(h.producerEpoch) "
                + "baseSequence: \(h.baseSequence) isTransactional: \(h.isTransactional) isControl: \(h.isControl) "
                + "timestampType: \(h.isLogAppendTime ? "LogAppendTime" : "CreateTime") maxTimestamp: \(h.maxTimestamp) "
                + "partitionLeaderEpoch: \(h.partitionLeaderEpoch) size: \(batch.storedBytes) crcValid: \(batch.crcValid)")
        } else {
            lines.append("key offset: \(batch.keyOffset) size: \(batch.storedBytes) (no batch header)")
        }
        if let error = batch.error { lines.append("error: \(error)") }
        for r in batch.records {
            let headers = r.headers.map { "\(PayloadFormatter.text(Array($0.key.utf8))): \(PayloadFormatter.text($0.value))" }
            lines.append("| offset: \(r.offset) timestamp: \(r.timestamp) key: \(PayloadFormatter.text(r.key)) "
                + "value: \(PayloadFormatter.text(r.value)) headers: [\(headers.joined(separator: ", "))]")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ batch: DumpedBatch) -> String {
        var object: [String: Any] = [
            "base_offset": batch.header?.baseOffset ?? batch.keyOffset, "bytes": batch.storedBytes,
            "crc_valid": batch.crcValid, "error": DatabaseTool.null(batch.error),
        ]
        if let h = batch.header {
            object.merge([
                "last_offset": h.lastOffset, "record_count": h.recordsCount, "codec": codecName(h),
                "producer_id": h.producerId, "producer_epoch": h.producerEpoch, "base_sequence": h.baseSequence,
                "is_transactional": h.isTransactional, "is_control": h.isControl,
                "timestamp_type": h.isLogAppendTime ? "LogAppendTime" : "CreateTime",
                "max_timestamp": h.maxTimestamp, "partition_leader_epoch": h.partitionLeaderEpoch,
            ]) { a, _ in a }
        }
        object["records"] = batch.records.map { r -> [String: Any] in
            let key = PayloadFormatter.json(r.key)
            let value = PayloadFormatter.json(r.value)
            return [
                "offset": r.offset, "timestamp": r.timestamp,
                "key": DatabaseTool.null(key.value), "key_encoding": key.encoding.rawValue,
                "value": DatabaseTool.null(value.value), "value_encoding": value.encoding.rawValue,
                "headers": r.headers.map { header -> [String: Any] in
                    let v = PayloadFormatter.json(header.value)
                    return ["key": header.key, "value": DatabaseTool.null(v.value), "value_encoding": v.encoding.rawValue]
                },
            ]
        }
        return DatabaseTool.jsonLine(object)
    }
}
