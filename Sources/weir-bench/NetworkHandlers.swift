import NIOConcurrencyHelpers
import NIOCore

/// Counts and drops what it reads.
final class SinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let received: NIOLockedValueBox<Int>
    private var pending = 0

    init(received: NIOLockedValueBox<Int>) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += unwrapInboundIn(data).readableBytes
    }

    /// Publishes once per read burst, not per chunk, to keep the lock out of the measurement.
    func channelReadComplete(context: ChannelHandlerContext) {
        let n = pending
        pending = 0
        received.withLockedValue { $0 += n }
    }
}

/// Writes `message` again and again while the channel is writable.
final class SourceHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let message: ByteBuffer

    init(message: ByteBuffer) {
        self.message = message
    }

    func channelActive(context: ChannelHandlerContext) {
        fill(context)
        context.fireChannelActive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { fill(context) }
        context.fireChannelWritabilityChanged()
    }

    private func fill(_ context: ChannelHandlerContext) {
        while context.channel.isWritable && context.channel.isActive {
            context.write(wrapOutboundOut(message), promise: nil)
            context.flush()
        }
    }
}
