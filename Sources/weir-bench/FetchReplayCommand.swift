import ArgumentParser
import KafkaProtocol
import NIOCore
import NIOPosix

/// Part 3, the broker alone, fetch: reads a topic from its start to its high watermark with
/// Fetch v12 on a few connections (partitions split among them), looking at batch headers only,
/// so that the figure is the broker's read path next to the storage read rate.
struct FetchReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Broker alone: read a topic from its start with Fetch v12, batch headers only.")

    @OptionGroup var target: ReplayTarget

    @Option(help: "Bytes per record value (payload accounting; batches are not decoded).")
    var recordBytes: Int = 100

    @Option(help: "Connections; partitions are split among them.")
    var connections: Int = 3

    @Option(help: "max.partition.fetch.bytes.")
    var partitionMaxBytes: Int32 = 1 << 20

    @Option(help: "fetch.max.bytes.")
    var maxBytes: Int32 = 50 << 20

    @Option(help: "Fetch version: 4-12 read record batches as stored; 0-3 make the broker down-convert to message sets (magic 0, or 1 from v2).")
    var fetchVersion: Int16 = 12

    @Option(help: "Give up after this many seconds (the rate is then over what was read).")
    var seconds: Double = 20

    func run() async throws {
        guard connections > 0, target.partitions > 0 else { throw ValidationError("counts must be positive") }
        guard (0...12).contains(fetchVersion) else { throw ValidationError("--fetch-version must be 0...12") }
        let endpoint = try Endpoint(target.bootstrap)
        try await withEventLoopGroup { group in try await measure(group: group, endpoint: endpoint) }
    }

    private func measure(group: MultiThreadedEventLoopGroup, endpoint: Endpoint) async throws {
        let deadline = NIODeadline.now() + .milliseconds(Int64(seconds * 1000))
        let count = min(connections, Int(target.partitions))
        let usage = WindowUsage(brokerPid: target.brokerPid)
        var results: [EventLoopFuture<FetchTotals>] = []
        for c in 0..<count {
            let mine = stride(from: Int32(c), to: target.partitions, by: count).map { $0 }
            let done = group.next().makePromise(of: FetchTotals.self)
            let (topic, partitionMaxBytes, maxBytes, version) = (target.topic, self.partitionMaxBytes, self.maxBytes, fetchVersion)
            _ = try await ClientBootstrap(group: group)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: Int(Int32.max))))
                        try channel.pipeline.syncOperations.addHandler(FetchReplayHandler(
                            topic: topic, partitions: mine, partitionMaxBytes: partitionMaxBytes, maxBytes: maxBytes,
                            deadline: deadline, version: version, done: done))
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port).get()
            results.append(done.futureResult)
        }
        var totals = FetchTotals()
        var allReachedEnd = true
        for result in results {
            let one = try await result.get()
            allReachedEnd = allReachedEnd && one.reachedEnd
            totals.add(one)
        }
        var usageFields = usage.fields()
        // From the first connection's first request to the last connection's last response.
        var elapsed = 0.0
        if let start = totals.started, let end = totals.ended { elapsed = Double((end - start).nanoseconds) / 1e9 }
        let payload = totals.records * recordBytes
        var fields: [String: Any] = [
            "part": "fetch-replay", "fetch_version": Int(fetchVersion), "record_bytes": recordBytes, "partitions": Int(target.partitions),
            "connections": count, "seconds": Report.round2(elapsed), "requests": totals.requests,
            "records": totals.records, "records_per_s": elapsed > 0 ? Int(Double(totals.records) / elapsed) : 0,
            "MB_per_s": Report.mbPerSecond(payload, elapsed),
            "wire_MB_per_s": Report.mbPerSecond(totals.batchBytes, elapsed),
            "reached_end": allReachedEnd, "errors": totals.errors,
            "ok": totals.errors == 0 && totals.records > 0,
        ]
        if let error = totals.firstError { fields["first_error"] = error }
        if let cpu = usageFields["broker_cpu_s"] as? Double, payload > 0 {
            usageFields["broker_cpu_s_per_MB"] = (cpu / (Double(payload) / 1e6) * 1e4).rounded() / 1e4
        }
        fields.merge(usageFields) { a, _ in a }
        Report.emit(fields)
    }
}
