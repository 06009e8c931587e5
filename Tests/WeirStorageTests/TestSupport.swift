import Foundation
import KafkaProtocol
import Logging
import NIOCore
@testable import WeirStorage

/// A fresh directory under the system temp dir, removed after `body`.
func withTempDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("weir-storage-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

let quietLogger = Logger(label: "weir.storage.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Small memory settings so that tests open fast.
func testOptions() -> StorageOptions {
    var options = StorageOptions()
    options.blockCacheBytes = 8 << 20
    options.totalWriteBufferBytes = 32 << 20
    return options
}

func openStore(_ directory: String, _ options: StorageOptions = testOptions()) throws -> LogStore {
    try LogStore.open(directory: directory + "/db", options: options, logger: quietLogger)
}

/// A valid v2 batch of `records` records whose records section is `body` (arbitrary bytes:
/// storage never decodes it), with the CRC computed, as a producer would send it.
func batchBytes(records: Int32, body: [UInt8], baseTimestamp: Int64 = 1_000, maxTimestamp: Int64 = 1_000,
                attributes: Int16 = 0) -> ByteBuffer {
    let header = RecordBatchHeader(baseOffset: 0, batchLength: Int32(49 + body.count), partitionLeaderEpoch: -1,
                                   magic: 2, crc: 0, attributes: attributes, lastOffsetDelta: records - 1,
                                   baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp, producerId: -1,
                                   producerEpoch: -1, baseSequence: -1, recordsCount: records)
    var buffer = ByteBufferAllocator().buffer(capacity: 61 + body.count)
    header.write(to: &buffer)
    buffer.writeBytes(body)
    RecordBatchHeader.updateCRC(in: &buffer, batchAt: 0, totalSize: buffer.readableBytes)
    return buffer
}

/// The batch as a Produce request delivers it (validated by KafkaProtocol's own check).
func produced(_ bytes: ByteBuffer) throws -> ProducedBatch {
    let batches = try ProducedBatch.validate(bytes, maxBatchBytes: 1 << 20).get()
    guard batches.count == 1 else { throw StorageError.invalidArgument("expected one batch") }
    return batches[0]
}

func producedBatch(records: Int32, body: [UInt8], maxTimestamp: Int64 = 1_000) throws -> ProducedBatch {
    try produced(batchBytes(records: records, body: body, maxTimestamp: maxTimestamp))
}

/// What the log must store for `original`: the same bytes with baseOffset and leader epoch stamped.
func stamped(_ original: ByteBuffer, baseOffset: Int64, leaderEpoch: Int32) -> [UInt8] {
    var copy = original
    copy.setInteger(baseOffset, at: copy.readerIndex, endianness: .big)
    copy.setInteger(leaderEpoch, at: copy.readerIndex + 12, endianness: .big)
    return Array(copy.readableBytesView)
}

/// Reads the whole visible log from `offset`.
func readAll(_ log: PartitionLog, from offset: Int64, maxBytes: Int = 1 << 30) throws -> [UInt8] {
    var buffer = ByteBuffer()
    _ = try log.read(from: offset, maxBytes: maxBytes, into: &buffer)
    return Array(buffer.readableBytesView)
}

/// Resident set size of this process, from /proc/self/status (kB).
func residentKilobytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
    return -1
}

extension Array where Element == UInt8 {
    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }
}
