import NIOCore

/// The growing output of a streaming decompressor, refusing to hold more than `limit` bytes.
///
/// Each step is offered at most `left + 1` bytes of space: a decoder that fills the extra byte
/// has proven the output is over the limit, so we throw without ever allocating much past it.
struct BoundedOutput {
    private(set) var buffer: ByteBuffer
    let limit: Int
    /// Bytes offered per step when the buffer has no spare capacity.
    static let chunk = 64 << 10

    init(limit: Int, expected: Int) {
        self.limit = limit
        let capacity = min(max(expected, 256), limit < Self.chunk ? limit + 1 : max(limit / 2, Self.chunk))
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    var count: Int { buffer.readableBytes }
    var left: Int { limit - buffer.readableBytes }

    /// Lets `body` write into spare capacity and returns how many bytes it wrote.
    @discardableResult
    mutating func write(_ body: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        let left = self.left
        let minimum = left < Self.chunk ? left + 1 : Self.chunk
        let written = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: minimum) { space in
            let offered = left < space.count ? left + 1 : space.count
            return try body(UnsafeMutableRawBufferPointer(rebasing: space[..<offered]))
        }
        guard buffer.readableBytes <= limit else { throw Compression.tooLarge(limit) }
        return written
    }

    /// Lets `body` write exactly `size` bytes (a block whose decoded size is known up front).
    mutating func write(exactly size: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        guard size <= left else { throw Compression.tooLarge(limit) }
        guard size > 0 else { return }
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { space in
            try body(UnsafeMutableRawBufferPointer(rebasing: space[..<size]))
            return size
        }
    }
}
