/// Broker CPU and client CPU over a measured window.
struct WindowUsage {
    private let brokerPid: Int32?
    private let brokerStart: ProcessSample?
    private let clientStart: Double

    init(brokerPid: Int32?) {
        self.brokerPid = brokerPid
        brokerStart = brokerPid.flatMap { ProcessSample.of($0) }
        clientStart = ProcessSample.selfCPUSeconds
    }

    /// Fields for the report: broker_cpu_s, broker_rss_mb, client_cpu_s.
    func fields() -> [String: Any] {
        var out: [String: Any] = ["client_cpu_s": Report.round2(ProcessSample.selfCPUSeconds - clientStart)]
        if let brokerPid, let start = brokerStart, let end = ProcessSample.of(brokerPid) {
            out["broker_cpu_s"] = Report.round2(end.cpuSeconds - start.cpuSeconds)
            out["broker_rss_mb"] = Report.round2(Double(end.rssBytes) / 1048576)
            out["broker_peak_rss_mb"] = Report.round2(Double(end.peakRSSBytes) / 1048576)
        }
        return out
    }
}
