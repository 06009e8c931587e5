import Foundation

/// CPU time and memory of a process from /proc (Linux), so that a run can report the broker's
/// CPU seconds for exactly its measured window, and its resident set.
struct ProcessSample {
    /// User + system CPU seconds so far.
    var cpuSeconds: Double
    /// Resident set now, bytes.
    var rssBytes: Int
    /// Peak resident set (VmHWM), bytes.
    var peakRSSBytes: Int

    /// Samples `pid`; nil when it is gone or /proc is unreadable.
    static func of(_ pid: Int32) -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ProcessSample(cpuSeconds: (utime + stime) / ticks,
                             rssBytes: kilobytes(status, "VmRSS:") * 1024,
                             peakRSSBytes: kilobytes(status, "VmHWM:") * 1024)
    }

    /// This process's own CPU seconds (every thread).
    static var selfCPUSeconds: Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    private static func kilobytes(_ status: String, _ key: String) -> Int {
        for line in status.split(separator: "\n") where line.hasPrefix(key) {
            return Int(line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
        }
        return 0
    }
}
