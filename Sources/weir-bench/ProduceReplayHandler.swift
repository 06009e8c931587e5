import KafkaProtocol
import NIOCore

/// Keeps `depth` pre-encoded Produce requests in flight on one connection: each response
/// (checked: correlation id, every partition's error code) releases the next request. Runs
/// entirely on the channel's event loop.
final class ProduceReplayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let frames: [ProduceFrames.Frame]
    private var next: Int
    private let depth: Int
    private let window: ReplayWindow
    private var inFlight = CircularBuffer<(index: Int, sentAt: NIODeadline)>()
    private var totals = ReplayTotals()
    private let done: EventLoopPromise<ReplayTotals>
    private var finished = false

    init(frames: [ProduceFrames.Frame], firstFrame: Int, depth: Int, window: ReplayWindow,
         done: EventLoopPromise<ReplayTotals>) {
        self.frames = frames
        next = firstFrame % frames.count
        self.depth = depth
        self.window = window
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        for _ in 0..<depth { send(context) }
        context.flush()
        context.fireChannelActive()
    }

    private func send(_ context: ChannelHandlerContext) {
        let index = next
        next = (next + 1) % frames.count
        inFlight.append((index, .now()))
        context.write(wrapOutboundOut(frames[index].bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let (index, sentAt) = inFlight.popFirst() else {
            return fail(context, "response without a request")
        }
        let now = NIODeadline.now()
        let frame = frames[index]
        var response = unwrapInboundIn(data)
        do {
            let header = try ResponseHeader(from: &response,
                                            version: ProduceResponse.responseHeaderVersion(ProduceFrames.version))
            guard header.correlationId == frame.correlationId else {
                return fail(context, "correlation id \(header.correlationId), expected \(frame.correlationId)")
            }
            let decoded = try ProduceResponse(from: &response, version: ProduceFrames.version)
            var failed: String?
            var answered = 0
            for topic in decoded.responses {
                for p in topic.partitionResponses {
                    answered += 1
                    if p.errorCode != 0 {
                        failed = failed ?? "partition \(p.index): error \(p.errorCode) \(p.errorMessage ?? "")"
                    }
                }
            }
            if answered != frame.batches { failed = failed ?? "\(answered) partitions answered of \(frame.batches)" }
            if now >= window.start && now < window.end {
                if let failed {
                    totals.errors += 1
                    totals.firstError = totals.firstError ?? failed
                } else {
                    totals.requests += 1
                    totals.records += frame.records
                    totals.payloadBytes += frame.payloadBytes
                    totals.wireBytes += frame.bytes.readableBytes
                    totals.latenciesMs.append(Double((now - sentAt).nanoseconds) / 1e6)
                }
            } else if let failed, totals.firstError == nil {
                totals.firstError = failed
                totals.errors += 1
            }
        } catch {
            return fail(context, "undecodable response: \(error)")
        }
        if now < window.end {
            send(context)
        } else if inFlight.isEmpty {
            finish(context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.fail(ReplayError("connection closed by the broker with \(inFlight.count) requests in flight"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, "\(error)")
    }

    private func finish(_ context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed(totals)
        context.close(promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        guard !finished else { return }
        finished = true
        done.fail(ReplayError(message))
        context.close(promise: nil)
    }
}
