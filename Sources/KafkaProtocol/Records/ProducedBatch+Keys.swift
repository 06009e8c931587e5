import NIOCore

/// The one per-record check of Produce: a compacted topic refuses records without a key, as
/// Kafka's `LogValidator` does. Only compacted topics pay for it (the batch is decompressed
/// and its records walked, reading each record's fields up to its key length).
extension ProducedBatch {
    /// Whether every record of the batch has a key (an empty key counts; only a null key —
    /// length −1 — does not).
    ///
    /// - Throws: `ProtocolError` when the records section does not decompress within
    ///   `maxDecompressedSize` bytes or does not hold `recordsCount` well-formed records.
    public func allRecordsHaveKeys(maxDecompressedSize: Int = 64 << 20) throws -> Bool {
        var section = body
        if header.compression != .none {
            section = try Compression.decompress(section, codec: header.compression, sizeLimit: maxDecompressedSize)
        }
        for i in 0..<Int(max(header.recordsCount, 0)) {
            let length = try section.readVarInt()
            guard length >= 0, var record = section.readSlice(length: Int(length)) else {
                throw ProtocolError.truncated("record \(i) of \(header.recordsCount)")
            }
            _ = try record.readKafka(Int8.self, "record attributes")
            _ = try record.readVarLong()
            _ = try record.readVarInt()
            if try record.readVarInt() < 0 { return false }
        }
        return true
    }

    /// Produce's answer for a compacted topic's batches: nil when every record has a key;
    /// INVALID_RECORD with Kafka's message when one has none; CORRUPT_MESSAGE when the records
    /// cannot be read.
    public static func keylessRecordProblem(in batches: [ProducedBatch], partition: String,
                                            maxDecompressedSize: Int = 64 << 20) -> BatchValidationError? {
        for batch in batches {
            do {
                if try !batch.allRecordsHaveKeys(maxDecompressedSize: maxDecompressedSize) {
                    return BatchValidationError(.invalidRecord,
                        "Compacted topic cannot accept message without key in topic partition \(partition).")
                }
            } catch {
                return BatchValidationError(.corruptMessage, "records of a batch to a compacted topic: \(error)")
            }
        }
        return nil
    }
}
