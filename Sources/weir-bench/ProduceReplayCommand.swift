import ArgumentParser
import Foundation
import KafkaProtocol
import NIOCore
import NIOPosix

/// Part 3, the broker alone, produce: pre-encoded Produce v9 requests replayed on a few
/// pipelined connections by a sender that does no per-record work, so that the broker — not
/// the client — uses the machine. Counts acknowledged payload bytes in the measured window.
struct ProduceReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Broker alone: replay pre-encoded Produce requests, pipelined.")

    @OptionGroup var target: ReplayTarget
    @OptionGroup var workloadOptions: WorkloadOptions

    @Option(help: "acks: 1 or all (-1).")
    var acks: String = "all"

    @Option(help: "Connections.")
    var connections: Int = 4

    @Option(help: "Requests in flight per connection.")
    var depth: Int = 4

    @Option(help: "Batches (partitions) per request.")
    var batchesPerRequest: Int = 6

    @Option(help: "Measured seconds.")
    var seconds: Double = 5

    @Option(help: "Unmeasured seconds first (connections, memtable warm-up).")
    var warmup: Double = 1

    @Flag(help: "Create the topic first.")
    var create = false

    func run() async throws {
        let workload = try workloadOptions.workload()
        let acksValue: Int16 = switch acks {
        case "all", "-1": -1
        case "1": 1
        case "0": throw ValidationError("acks=0 has no responses to count")
        default: throw ValidationError("acks must be 1 or all")
        }
        guard connections > 0, depth > 0, batchesPerRequest > 0, seconds > 0 else {
            throw ValidationError("counts must be positive")
        }
        if create { try await target.createTopic() }
        let frames = try ProduceFrames(
            topic: target.topic, partitions: target.partitions, batchesPerRequest: batchesPerRequest,
            acks: acksValue, workload: workload,
            requests: ProduceFrames.requestCount(partitions: target.partitions, batchesPerRequest: batchesPerRequest)).frames
        let endpoint = try Endpoint(target.bootstrap)
        try await withEventLoopGroup { group in
            try await measure(group: group, endpoint: endpoint, frames: frames, workload: workload)
        }
    }

    private func measure(group: MultiThreadedEventLoopGroup, endpoint: Endpoint, frames: [ProduceFrames.Frame],
                         workload: Workload) async throws {
        let start = NIODeadline.now() + .milliseconds(Int64(warmup * 1000))
        let window = ReplayWindow(start: start, end: start + .milliseconds(Int64(seconds * 1000)))
        var results: [EventLoopFuture<ReplayTotals>] = []
        for c in 0..<connections {
            let done = group.next().makePromise(of: ReplayTotals.self)
            let first = c * frames.count / connections
            let depth = self.depth
            _ = try await ClientBootstrap(group: group)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: Int(Int32.max))))
                        try channel.pipeline.syncOperations.addHandler(
                            ProduceReplayHandler(frames: frames, firstFrame: first, depth: depth, window: window, done: done))
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port).get()
            results.append(done.futureResult)
        }
        try await sleep(until: window.start)
        let usage = WindowUsage(brokerPid: target.brokerPid)
        try await sleep(until: window.end)
        var usageFields = usage.fields()
        var totals = ReplayTotals()
        for result in results { totals.add(try await result.get()) }

        let elapsed = Double((window.end - window.start).nanoseconds) / 1e9
        var fields: [String: Any] = [
            "part": "produce-replay", "kind": workload.name, "record_bytes": workload.recordBytes,
            "codec": workload.codec.benchName, "acks": acks, "partitions": Int(target.partitions),
            "connections": connections, "depth": depth, "batches_per_request": min(batchesPerRequest, Int(target.partitions)),
            "seconds": Report.round2(elapsed), "requests": totals.requests, "records": totals.records,
            "records_per_s": Int(Double(totals.records) / elapsed),
            "MB_per_s": Report.mbPerSecond(totals.payloadBytes, elapsed),
            "wire_MB_per_s": Report.mbPerSecond(totals.wireBytes, elapsed),
            "errors": totals.errors, "ok": totals.errors == 0 && totals.requests > 0,
            "latency_ms": percentiles(totals.latenciesMs),
        ]
        if let error = totals.firstError { fields["first_error"] = error }
        if let cpu = usageFields["broker_cpu_s"] as? Double, totals.payloadBytes > 0 {
            usageFields["broker_cpu_s_per_MB"] = (cpu / (Double(totals.payloadBytes) / 1e6) * 1e4).rounded() / 1e4
        }
        fields.merge(usageFields) { a, _ in a }
        Report.emit(fields)
    }
}
