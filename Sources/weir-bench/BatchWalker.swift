import KafkaProtocol
import NIOCore

/// Counts what a fetched `records` field holds by reading batch headers only (no per-record
/// work, as a consumer's I/O thread would before handing batches on): records, bytes, and the
/// offset to fetch next. A truncated trailing batch (Kafka may cut the last one at the size
/// limit) is ignored, as consumers ignore it.
struct BatchWalker {
    var records = 0
    var batches = 0
    var bytes = 0
    /// The offset after the last complete batch seen; nil until one is seen.
    var nextOffset: Int64?

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    mutating func walk(_ buffer: ByteBuffer) throws {
        var position = buffer.readerIndex
        let end = buffer.writerIndex
        while end - position >= RecordBatchHeader.size {
            guard let base = buffer.getInteger(at: position, as: Int64.self),
                  let length = buffer.getInteger(at: position + 8, as: Int32.self),
                  let delta = buffer.getInteger(at: position + 23, as: Int32.self),
                  let count = buffer.getInteger(at: position + 57, as: Int32.self)
            else { throw Malformed(description: "unreadable batch header at \(position)") }
            guard length >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead), delta >= 0, count >= 0 else {
                throw Malformed(description: "batch at \(position): length \(length), lastOffsetDelta \(delta), count \(count)")
            }
            let total = Int(length) + RecordBatchHeader.logOverhead
            guard total <= end - position else { break }
            let (last, overflow) = base.addingReportingOverflow(Int64(delta))
            guard !overflow, last < Int64.max else { throw Malformed(description: "batch at \(position) ends past Int64.max") }
            records += Int(count)
            batches += 1
            bytes += total
            nextOffset = last + 1
            position += total
        }
    }

    /// The same for a message set (Fetch v0–v3): each message's offset and size, nothing else.
    mutating func walkMessageSet(_ buffer: ByteBuffer) throws {
        var position = buffer.readerIndex
        let end = buffer.writerIndex
        while end - position >= 12 {
            guard let offset = buffer.getInteger(at: position, as: Int64.self),
                  let size = buffer.getInteger(at: position + 8, as: Int32.self) else {
                throw Malformed(description: "unreadable message header at \(position)")
            }
            guard size >= 14, offset < Int64.max else { throw Malformed(description: "message at \(position): size \(size)") }
            let total = 12 + Int(size)
            guard total <= end - position else { break }
            records += 1
            bytes += total
            nextOffset = offset + 1
            position += total
        }
    }
}
