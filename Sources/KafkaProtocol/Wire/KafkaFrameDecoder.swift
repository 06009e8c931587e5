import NIOCore

/// Splits the byte stream into Kafka request frames (int32 size + payload) and enforces
/// `socket.request.max.bytes` *before* buffering a frame: a negative or oversized length is an
/// error that closes the connection without allocating the claimed size. (swift-nio-extras'
/// LengthFieldBasedFrameDecoder only caps lengths at Int32.max, so it cannot do this.)
public struct KafkaFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public struct FrameTooLarge: Error, CustomStringConvertible {
        public var size: Int32
        public var limit: Int
        public var description: String {
            size < 0 ? "negative request size \(size)" : "request size \(size) exceeds socket.request.max.bytes=\(limit)"
        }
    }

    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int) {
        self.maxFrameBytes = maxFrameBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return .needMoreData
        }
        guard size >= 0, Int(size) <= maxFrameBytes else { throw FrameTooLarge(size: size, limit: maxFrameBytes) }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(size))!))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame at EOF is dropped: the client went away mid-request.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
