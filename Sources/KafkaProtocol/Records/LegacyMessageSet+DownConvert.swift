import NIOCore

extension LegacyMessageSet {
    /// What `downConvert` made of some stored batches.
    public struct DownConverted: Sendable {
        /// The message set to send: whole messages only.
        public var messages: ByteBuffer
        /// The offset after the last record written, or after the last batch read when none
        /// was (all control records, or batches emptied by compaction): where to go on reading
        /// so an old client is never handed an empty answer while records follow.
        public var nextOffset: Int64
        /// How many messages `messages` holds.
        public var count: Int
    }

    /// Rewrites stored v2 batches as a message set of `magic` (0 or 1) for Fetch v0–v3, as
    /// Kafka does for clients that cannot read record batches: one uncompressed message per
    /// record at or after `offset`, headers dropped (the old formats have none), control
    /// batches skipped. Magic 1 keeps each record's timestamp and the LogAppendTime attribute.
    ///
    /// Messages are written uncompressed: re-compressing per fetch would cost the broker more
    /// CPU than the bandwidth it saves on loopback and LANs, and every old client reads both.
    /// At most `maxBytes` are written, but always one message when `minOne` (so a record larger
    /// than the limit is still delivered, as KIP-74 does for batches).
    public static func downConvert(_ stored: ByteBuffer, toMagic magic: Int8, from offset: Int64,
                                   maxBytes: Int, minOne: Bool) throws -> DownConverted {
        var out = ByteBufferAllocator().buffer(capacity: min(max(maxBytes, 0), stored.readableBytes * 2 + 64))
        var reader = RecordBatchReader(stored, verifyCRC: false)
        var next = offset
        var count = 0
        while let batch = try reader.nextBatch() {
            guard !batch.header.isControl else {
                next = max(next, batch.header.lastOffset + 1)
                continue
            }
            let attributes: Int8 = magic >= 1 && batch.header.isLogAppendTime ? 0x08 : 0
            for entry in batch where entry.offset >= offset {
                let message = LegacyMessage(offset: entry.offset, magic: magic, attributes: attributes,
                                            timestamp: magic >= 1 ? entry.timestamp : nil, key: entry.key, value: entry.value)
                if out.readableBytes + message.encodedSize > maxBytes && !(minOne && count == 0) {
                    return DownConverted(messages: out, nextOffset: next, count: count)
                }
                message.write(to: &out)
                count += 1
                next = entry.offset + 1
            }
            next = max(next, batch.header.lastOffset + 1)
        }
        return DownConverted(messages: out, nextOffset: next, count: count)
    }
}
