import NIOCore

/// Message sets of magic 0 and 1 (see `LegacyMessage` for the format) as old clients produce
/// them, and their up-conversion into the one record batch (magic 2) that Weir stores.
///
/// Only the old-client paths use this: Produce v0–v2 here, Fetch v0–v3 in
/// `LegacyMessageSet+DownConvert.swift`. Modern requests never touch a record.
public enum LegacyMessageSet {
    /// The magic byte of the first entry of `records`: byte 16 in a message (after offset, size
    /// and CRC) and in a record batch (after base offset, length and leader epoch) alike.
    public static func magic(of records: ByteBuffer) -> Int8? {
        records.getInteger(at: records.readerIndex + 16, as: Int8.self)
    }

    /// Decodes a produced message set: every message whole and its CRC right, compressed
    /// wrappers opened (one level, as Kafka allows), the inner messages in order.
    /// `codec` is the first wrapper's codec (none when nothing was compressed).
    public static func decode(_ records: ByteBuffer, maxDecompressedSize: Int = 64 << 20)
        -> Result<(messages: [LegacyMessage], codec: CompressionCodec), BatchValidationError> {
        do {
            var messages: [LegacyMessage] = []
            var codec = CompressionCodec.none
            for message in try messagesIn(records, from: records.readerIndex, to: records.writerIndex) {
                guard message.codecBits != 0 else {
                    messages.append(message)
                    continue
                }
                let (inner, wrapperCodec) = try unwrap(message, maxDecompressedSize: maxDecompressedSize)
                if codec == .none { codec = wrapperCodec }
                messages.append(contentsOf: inner)
            }
            guard !messages.isEmpty else { throw BatchValidationError(.corruptMessage, "message set holds no message") }
            return .success((messages, codec))
        } catch let error as BatchValidationError {
            return .failure(error)
        } catch {
            return .failure(BatchValidationError(.corruptMessage, "\(error)"))
        }
    }

    /// Converts a produced message set into one v2 record batch (base offset 0, no producer id),
    /// compressed with the codec the producer used, to be validated and stored like any batch.
    ///
    /// Magic 1 messages keep their timestamps (CreateTime). Magic 0 has no timestamp: where a
    /// set holds one, the batch is stamped LogAppendTime with `now` — the time the broker
    /// appended it, which is what that type means — so that time-based retention and
    /// ListOffsets by time work on it (Kafka would store -1 and fall back to file times,
    /// which Weir's log does not have).
    public static func upConvert(_ records: ByteBuffer, now: Int64, maxDecompressedSize: Int = 64 << 20)
        -> Result<ByteBuffer, BatchValidationError> {
        switch decode(records, maxDecompressedSize: maxDecompressedSize) {
        case .failure(let error):
            return .failure(error)
        case .success(let (messages, codec)):
            let untimed = messages.contains { $0.magic == 0 }
            let first = untimed ? now : messages[0].timestamp ?? now
            var builder = RecordBatchBuilder(codec: codec, baseTimestamp: first, logAppendTime: untimed)
            for m in messages {
                builder.append(key: m.key, value: m.value, timestamp: untimed ? now : m.timestamp)
            }
            do {
                return .success(try builder.build())
            } catch {
                return .failure(BatchValidationError(.invalidRecord, "\(error)"))
            }
        }
    }

    /// The compressed wrapper's inner messages, with the wrapper's timestamp where it says
    /// LogAppendTime (the broker's time, as Kafka reads such a set).
    private static func unwrap(_ wrapper: LegacyMessage, maxDecompressedSize: Int) throws -> ([LegacyMessage], CompressionCodec) {
        let codec: CompressionCodec
        switch wrapper.codecBits {
        case 1: codec = .gzip
        case 2: codec = .snappy
        case 3: codec = .lz4
        case 4:
            throw BatchValidationError(.unsupportedCompressionType, "zstd needs record batches (Produce v3 and magic 2); this message has magic \(wrapper.magic)")
        default:
            throw BatchValidationError(.corruptMessage, "unknown compression codec \(wrapper.codecBits)")
        }
        guard var compressed = wrapper.value else {
            throw BatchValidationError(.corruptMessage, "compressed message at offset \(wrapper.offset) has a null value")
        }
        if codec == .lz4 && wrapper.magic == 0 {
            // Kafka 0.8–0.9 wrote a wrong frame header checksum; magic 0 readers must accept it.
            compressed = Compression.lz4WithLegacyHeaderChecksumFixed(compressed)
        }
        let set: ByteBuffer
        do {
            set = try Compression.decompress(compressed, codec: codec, sizeLimit: maxDecompressedSize)
        } catch {
            throw BatchValidationError(.corruptMessage, "compressed message at offset \(wrapper.offset): \(error)")
        }
        var inner = try messagesIn(set, from: set.readerIndex, to: set.writerIndex)
        for i in inner.indices {
            guard inner[i].codecBits == 0 else {
                throw BatchValidationError(.corruptMessage, "compressed message inside a compressed message")
            }
            guard inner[i].magic == wrapper.magic else {
                throw BatchValidationError(.invalidRecord,
                    "inner message magic \(inner[i].magic) differs from its wrapper's \(wrapper.magic)")
            }
            if wrapper.isLogAppendTime { inner[i].timestamp = wrapper.timestamp }
        }
        return (inner, codec)
    }

    /// Every message of the set in `from ..< to`; a partial or wrong message throws.
    private static func messagesIn(_ buffer: ByteBuffer, from: Int, to end: Int) throws -> [LegacyMessage] {
        var messages: [LegacyMessage] = []
        var at = from
        while at < end {
            let (message, next) = try message(in: buffer, at: at, end: end)
            messages.append(message)
            at = next
        }
        return messages
    }

    private static func message(in buffer: ByteBuffer, at start: Int, end: Int) throws -> (LegacyMessage, next: Int) {
        func corrupt(_ why: String) -> BatchValidationError { BatchValidationError(.corruptMessage, why) }
        guard end - start >= 12,
              let offset = buffer.getInteger(at: start, endianness: .big, as: Int64.self),
              let size = buffer.getInteger(at: start + 8, endianness: .big, as: Int32.self) else {
            throw corrupt("\(end - start) trailing bytes after the last message")
        }
        let body = start + 12
        guard size >= 14, Int(size) <= end - body else {
            throw corrupt("message at offset \(offset) of \(size) bytes does not fit the \(end - body) bytes left")
        }
        let messageEnd = body + Int(size)
        let crc = buffer.getInteger(at: body, endianness: .big, as: UInt32.self)!
        let computed = LegacyMessage.crc32(buffer, from: body + 4, to: messageEnd)
        guard crc == computed else {
            throw corrupt("message at offset \(offset): CRC is \(computed), message says \(crc)")
        }
        let magic = buffer.getInteger(at: body + 4, as: Int8.self)!
        let attributes = buffer.getInteger(at: body + 5, as: Int8.self)!
        var p = body + 6
        var timestamp: Int64? = nil
        switch magic {
        case 0:
            break
        case 1:
            guard messageEnd - p >= 8 + 8 else { throw corrupt("magic 1 message at offset \(offset) is too short") }
            timestamp = buffer.getInteger(at: p, endianness: .big, as: Int64.self)
            p += 8
        default:
            throw BatchValidationError(.invalidRecord, "message at offset \(offset) has magic \(magic); a message set holds magic 0 or 1")
        }
        let key = try bytes(in: buffer, at: &p, end: messageEnd, what: "key", offset: offset)
        let value = try bytes(in: buffer, at: &p, end: messageEnd, what: "value", offset: offset)
        guard p == messageEnd else { throw corrupt("message at offset \(offset) has \(messageEnd - p) bytes after its value") }
        let message = LegacyMessage(offset: offset, magic: magic, attributes: attributes, timestamp: timestamp,
                                    key: key, value: value)
        return (message, messageEnd)
    }

    private static func bytes(in buffer: ByteBuffer, at p: inout Int, end: Int, what: String, offset: Int64) throws -> ByteBuffer? {
        guard end - p >= 4, let length = buffer.getInteger(at: p, endianness: .big, as: Int32.self) else {
            throw BatchValidationError(.corruptMessage, "message at offset \(offset): \(what) length is cut short")
        }
        p += 4
        if length == -1 { return nil }
        guard length >= 0, Int(length) <= end - p, let slice = buffer.getSlice(at: p, length: Int(length)) else {
            throw BatchValidationError(.corruptMessage, "message at offset \(offset): \(what) of \(length) bytes does not fit")
        }
        p += Int(length)
        return slice
    }
}
