import Foundation
import KafkaProtocol
import NIOCore

/// The record batches every part of the benchmark moves: what a librdkafka producer with
/// `batch.size=16384` sends for keyless records of one size — records appended until the next
/// one would push the uncompressed batch past `batchBytes`, then compressed as a whole.
///
/// Values come from a pool of 1,024 distinct payloads of random uppercase letters, cycled, as
/// `kbench.py` (and kafka-producer-perf-test) produce them, so that lz4 sees the same entropy
/// here as in the end-to-end run.
struct Workload: Sendable {
    let recordBytes: Int
    let codec: CompressionCodec
    let batchBytes: Int
    /// Records per batch: as many as fit `batchBytes` uncompressed (header included), at least one.
    let recordsPerBatch: Int
    private let pool: [ByteBuffer]

    init(recordBytes: Int, codec: CompressionCodec, batchBytes: Int = 16384, seed: UInt64 = 42) {
        self.recordBytes = recordBytes
        self.codec = codec
        self.batchBytes = batchBytes
        var random = SplitMix64(seed: seed)
        pool = (0..<1024).map { _ in
            let letters = (0..<recordBytes).map { _ in UInt8(65 + random.next() % 26) }
            return ByteBuffer(bytes: letters)
        }
        // Count what fits by encoding: record sizes depend on varint widths of the offset deltas.
        var trial = RecordBatchBuilder(codec: .none, baseTimestamp: 0)
        var fits = 0
        while true {
            trial.append(key: nil, value: pool[fits % pool.count])
            guard trial.estimatedSize <= batchBytes else { break }
            fits += 1
        }
        recordsPerBatch = max(1, fits)
    }

    /// "100b-none", "1024b-lz4": the kind's name in results.
    var name: String { "\(recordBytes)b-\(codec.benchName)" }

    /// The `index`-th batch (base offset 0; the broker assigns offsets). Different indexes take
    /// different payloads from the pool, so compressed batches differ as a real stream's do.
    func batch(_ index: Int, timestamp: Int64 = Workload.nowMs) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(codec: codec, baseTimestamp: timestamp)
        let count = recordsPerBatch
        for i in 0..<count {
            builder.append(key: nil, value: pool[(index &* count &+ i) % pool.count])
        }
        return try builder.build()
    }

    /// Payload (record value) bytes in one batch: what throughput figures count, as kbench does.
    var payloadBytesPerBatch: Int { recordsPerBatch * recordBytes }

    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

extension CompressionCodec {
    var benchName: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }
}

/// A small deterministic generator (SplitMix64), so that every run builds the same payloads.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
