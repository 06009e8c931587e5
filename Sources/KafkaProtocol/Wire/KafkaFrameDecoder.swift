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
        /// The property that set the limit.
        public var property = "socket.request.max.bytes"
        public var description: String {
            size < 0 ? "negative request size \(size)" : "request size \(size) exceeds \(property)=\(limit)"
        }
    }

    public let maxFrameBytes: Int
    /// A lower limit while the client has not authenticated (SASL listeners); nil elsewhere.
    let preAuthentication: PreAuthenticationFrameLimit?

    public init(maxFrameBytes: Int, preAuthentication: PreAuthenticationFrameLimit? = nil) {
        self.maxFrameBytes = maxFrameBytes
        self.preAuthentication = preAuthentication
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return .needMoreData
        }
        guard size >= 0, Int(size) <= maxFrameBytes else { throw FrameTooLarge(size: size, limit: maxFrameBytes) }
        if let gate = preAuthentication, !gate.lifted, Int(size) > gate.bytes {
            throw FrameTooLarge(size: size, limit: gate.bytes, property: "sasl.server.max.receive.size")
        }
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

/// Kafka's `sasl.server.max.receive.size`: the largest frame an unauthenticated client may send
/// on a SASL listener (512 KiB by default), so that a client that has not proved who it is cannot
/// make the broker buffer `socket.request.max.bytes` per connection. The connection lifts it once
/// authentication succeeds. Confined to the connection's event loop, like the decoder.
public final class PreAuthenticationFrameLimit {
    public let bytes: Int
    public private(set) var lifted = false

    public init(bytes: Int) {
        self.bytes = bytes
    }

    public func lift() {
        lifted = true
    }
}
