import Foundation

/// The final table of `weir-bench layout`: one row per case, in run order.
enum LayoutTable {
    static let columns: [(title: String, key: String)] = [
        ("layout", "layout"), ("parts", "partitions"), ("knobs", "knobs"),
        ("write MB/s", "write_MB_per_s"), ("to-settled MB/s", "write_to_settled_MB_per_s"),
        ("read MB/s", "read_MB_per_s"), ("flushes", "flushes"), ("compactions", "compactions"),
        ("compaction MB", "compaction_write_MB"), ("WA end", "write_amplification_at_end_of_writes"),
        ("WA settled", "write_amplification"), ("stall ms", "stall_ms"), ("write waits ms", "write_wait_ms"),
        ("settle s", "settle_seconds"), ("SST files", "sst_files"), ("peak RSS MiB", "peak_rss_MiB"),
        ("CPU s", "cpu_seconds"), ("load", "loadavg_at_start"),
    ]

    static func render(_ rows: [[String: Any]]) -> String {
        func cell(_ row: [String: Any], _ key: String) -> String {
            if key == "compaction_write_MB" {
                return String((row["compaction_write_bytes"] as? Int ?? 0) / 1_000_000)
            }
            switch row[key] {
            case let s as String: return s.isEmpty ? "-" : s
            case let n as NSNumber: return n.stringValue
            case nil: return "?"
            case let v?: return "\(v)"
            }
        }
        var lines = ["| " + columns.map(\.title).joined(separator: " | ") + " |",
                     "|" + String(repeating: "---|", count: columns.count)]
        for row in rows {
            lines.append("| " + columns.map { cell(row, $0.key) }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
