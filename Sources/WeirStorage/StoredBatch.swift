/// A read-only view of one stored batch (a partition log value), parsing only the header fields
/// the log needs. Values are checked before use, so a damaged value throws `corrupt` instead of
/// trapping.
struct StoredBatch {
    let baseOffset: Int64
    let lastOffset: Int64
    let maxTimestamp: Int64
    let size: Int

    /// Parses the value stored under `key`; the key must be the 8-byte base offset that the
    /// value's own header repeats.
    init(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        guard let keyOffset = OffsetKey.decode(key) else {
            throw StorageError.corrupt("log key of \(key.count) bytes")
        }
        guard value.count >= 61,
              let base = value.bigEndian(Int64.self, at: 0),
              let delta = value.bigEndian(Int32.self, at: 23),
              let maxTimestamp = value.bigEndian(Int64.self, at: 35)
        else {
            throw StorageError.corrupt("batch at offset \(keyOffset) has \(value.count) bytes")
        }
        guard base == keyOffset, delta >= 0 else {
            throw StorageError.corrupt("batch under key \(keyOffset) has baseOffset \(base), lastOffsetDelta \(delta)")
        }
        let (last, overflow) = base.addingReportingOverflow(Int64(delta))
        guard !overflow, last < Int64.max else {
            throw StorageError.corrupt("batch at offset \(keyOffset) ends past Int64.max")
        }
        baseOffset = base
        lastOffset = last
        self.maxTimestamp = maxTimestamp
        size = value.count
    }
}

extension RocksDBIterator {
    /// Moves to the stored batch that contains `offset`, or the first batch after it (a reader
    /// may ask for any offset inside a batch). Keys are base offsets, so the batch at or before
    /// `offset` holds it unless it ends earlier.
    func seekToBatch(containing offset: Int64) throws {
        seekForPrev(OffsetKey(offset))
        if isValid {
            if try StoredBatch(key: key, value: value).lastOffset < offset { next() }
        } else {
            try checkError()
            seek(OffsetKey(offset))
        }
    }
}
