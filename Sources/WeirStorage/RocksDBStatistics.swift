/// A snapshot of RocksDB's own statistics (`Options::statistics`), parsed from the text form
/// `rocksdb_options_statistics_get_string` returns:
///
///     rocksdb.flush.write.bytes COUNT : 123
///     rocksdb.db.flush.micros P50 : 1.0 P95 : … COUNT : 7 SUM : 900
///
/// Tickers are counters since the database opened; histograms give their count and sum.
/// Used by `make bench` (write amplification, flush count, stalls) and the admin metrics.
public struct RocksDBStatistics: Sendable, Equatable {
    public var tickers: [String: UInt64] = [:]
    public var histograms: [String: (count: UInt64, sum: UInt64)] = [:]

    public init(parsing text: String) {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let name = fields.first.map(String.init) else { continue }
            if fields.count == 4, fields[1] == "COUNT", let n = UInt64(fields[3]) {
                tickers[name] = n
                continue
            }
            var count: UInt64?
            var sum: UInt64?
            var i = 1
            while i + 2 < fields.count {
                if fields[i + 1] == ":" {
                    if fields[i] == "COUNT" { count = UInt64(fields[i + 2]) }
                    if fields[i] == "SUM" { sum = UInt64(fields[i + 2]) }
                }
                i += 3
            }
            if let count, let sum { histograms[name] = (count, sum) }
        }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.tickers == b.tickers && a.histograms.mapValues { [$0.count, $0.sum] } == b.histograms.mapValues { [$0.count, $0.sum] }
    }

    public func ticker(_ name: String) -> UInt64 { tickers[name] ?? 0 }

    /// Bytes written by flushes (memtable → SST).
    public var flushWriteBytes: UInt64 { ticker("rocksdb.flush.write.bytes") }
    /// Bytes written by compactions (SST → SST).
    public var compactionWriteBytes: UInt64 { ticker("rocksdb.compact.write.bytes") }
    /// Bytes read by compactions.
    public var compactionReadBytes: UInt64 { ticker("rocksdb.compact.read.bytes") }
    /// Microseconds writers were stalled or slowed by RocksDB (L0 files, pending compaction, memtables).
    public var stallMicros: UInt64 { ticker("rocksdb.stall.micros") }
    /// Flushes finished.
    public var flushCount: UInt64 { histograms["rocksdb.db.flush.micros"]?.count ?? 0 }
    /// Compactions finished.
    public var compactionCount: UInt64 { histograms["rocksdb.compaction.times.micros"]?.count ?? 0 }
    /// Bytes the application wrote (keys + values, before the WAL).
    public var bytesWritten: UInt64 { ticker("rocksdb.bytes.written") }
    /// Bytes written to the WAL.
    public var walBytes: UInt64 { ticker("rocksdb.wal.bytes") }

    /// (flush + compaction bytes) ÷ `appendedBytes`: how many times each appended byte reaches
    /// an SST file. Kafka's own is 1 (the segment file); the WAL is not counted.
    public func writeAmplification(appendedBytes: UInt64) -> Double {
        guard appendedBytes > 0 else { return 0 }
        return Double(flushWriteBytes + compactionWriteBytes) / Double(appendedBytes)
    }
}
