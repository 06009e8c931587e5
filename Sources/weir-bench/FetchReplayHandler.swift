import KafkaProtocol
import NIOCore

/// What one fetching connection read.
struct FetchTotals: Sendable {
    var requests = 0
    var records = 0
    var batchBytes = 0
    var errors = 0
    var firstError: String?
    var started: NIODeadline?
    var ended: NIODeadline?
    var reachedEnd = false

    mutating func add(_ other: FetchTotals) {
        requests += other.requests
        records += other.records
        batchBytes += other.batchBytes
        errors += other.errors
        firstError = firstError ?? other.firstError
        started = [started, other.started].compactMap { $0 }.min()
        ended = [ended, other.ended].compactMap { $0 }.max()
    }
}

/// Reads its partitions from their start to their high watermark with Fetch v12 (or an older
/// `version`: v0–v3 answers are message sets the broker down-converted), one request in flight
/// (the next offsets come from the previous response, as in any consumer). Looks at batch or
/// message headers only. Stops at the high watermark of every partition or at `deadline`.
final class FetchReplayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let version: Int16

    private let topic: String
    private let partitions: [Int32]
    private var offsets: [Int64]
    private var highWatermarks: [Int64?]
    private let partitionMaxBytes: Int32
    private let maxBytes: Int32
    private let deadline: NIODeadline
    private var totals = FetchTotals()
    private var correlationId: Int32 = 0
    private let done: EventLoopPromise<FetchTotals>
    private var finished = false

    init(topic: String, partitions: [Int32], partitionMaxBytes: Int32, maxBytes: Int32, deadline: NIODeadline,
         version: Int16 = 12, done: EventLoopPromise<FetchTotals>) {
        self.topic = topic
        self.version = version
        self.partitions = partitions
        offsets = partitions.map { _ in 0 }
        highWatermarks = partitions.map { _ in nil }
        self.partitionMaxBytes = partitionMaxBytes
        self.maxBytes = maxBytes
        self.deadline = deadline
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        totals.started = .now()
        send(context)
        context.fireChannelActive()
    }

    private func send(_ context: ChannelHandlerContext) {
        correlationId &+= 1
        let wanted = partitions.indices.filter { i in highWatermarks[i].map { offsets[i] < $0 } ?? true }
        let request = FetchRequest(
            replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: maxBytes, isolationLevel: 0, sessionId: 0,
            sessionEpoch: -1,
            topics: [.init(topic: topic, partitions: wanted.map {
                .init(partition: partitions[$0], fetchOffset: offsets[$0], partitionMaxBytes: partitionMaxBytes)
            })])
        context.writeAndFlush(wrapOutboundOut(ProduceFrames.encode(request, version: version,
                                                                   correlationId: correlationId)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var response = unwrapInboundIn(data)
        do {
            let header = try ResponseHeader(from: &response, version: FetchResponse.responseHeaderVersion(version))
            guard header.correlationId == correlationId else {
                return fail(context, "correlation id \(header.correlationId), expected \(correlationId)")
            }
            let decoded = try FetchResponse(from: &response, version: version)
            totals.requests += 1
            if decoded.errorCode != 0 { note("fetch error \(decoded.errorCode)") }
            for t in decoded.responses {
                for p in t.partitions {
                    guard let i = partitions.firstIndex(of: p.partitionIndex) else {
                        return fail(context, "answer for unasked partition \(p.partitionIndex)")
                    }
                    if p.errorCode != 0 {
                        note("partition \(p.partitionIndex): error \(p.errorCode)")
                        continue
                    }
                    highWatermarks[i] = p.highWatermark
                    var walker = BatchWalker()
                    if let records = p.records {
                        if version >= 4 { try walker.walk(records) } else { try walker.walkMessageSet(records) }
                    }
                    totals.records += walker.records
                    totals.batchBytes += walker.bytes
                    if let next = walker.nextOffset { offsets[i] = max(offsets[i], next) }
                }
            }
        } catch {
            return fail(context, "undecodable response: \(error)")
        }
        let atEnd = partitions.indices.allSatisfy { i in highWatermarks[i].map { offsets[i] >= $0 } ?? false }
        if atEnd || NIODeadline.now() >= deadline || totals.errors > 100 {
            totals.reachedEnd = atEnd
            totals.ended = .now()
            finished = true
            done.succeed(totals)
            context.close(promise: nil)
        } else {
            send(context)
        }
    }

    private func note(_ error: String) {
        totals.errors += 1
        totals.firstError = totals.firstError ?? error
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.fail(ReplayError("connection closed by the broker during a fetch"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, "\(error)")
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        guard !finished else { return }
        finished = true
        done.fail(ReplayError(message))
        context.close(promise: nil)
    }
}
