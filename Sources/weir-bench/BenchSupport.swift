import ArgumentParser
import Foundation
import KafkaProtocol

/// Options shared by the parts that build batches: which `Workload`.
struct WorkloadOptions: ParsableArguments {
    @Option(help: "Bytes per record value.")
    var recordBytes: Int = 100

    @Option(help: "Batch codec: none, lz4, snappy, zstd, gzip.")
    var codec: String = "none"

    @Option(help: "Uncompressed batch size limit (the producer's batch.size).")
    var batchBytes: Int = 16384

    func workload() throws -> Workload {
        guard let codec = CompressionCodec(name: codec) else {
            throw ValidationError("unknown codec '\(codec)'")
        }
        guard recordBytes > 0, batchBytes > RecordBatchHeader.size else {
            throw ValidationError("record and batch sizes must be positive")
        }
        return Workload(recordBytes: recordBytes, codec: codec, batchBytes: batchBytes)
    }
}

/// Results are JSON objects, one per line on stdout, for `bench/run.py` to collect.
enum Report {
    static func emit(_ fields: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else {
            FileHandle.standardError.write(Data("weir-bench: cannot encode \(fields)\n".utf8))
            return
        }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data("[weir-bench] \(message)\n".utf8))
    }

    /// Rounds for display: rates to 0.01.
    static func round2(_ value: Double) -> Double {
        value.isFinite ? (value * 100).rounded() / 100 : 0
    }

    static func mbPerSecond(_ bytes: Int, _ seconds: Double) -> Double {
        seconds > 0 ? round2(Double(bytes) / seconds / 1e6) : 0
    }
}

/// A monotonic stopwatch in seconds.
struct Stopwatch {
    private let start = DispatchTime.now().uptimeNanoseconds

    var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}

/// "host:port" for a broker.
struct Endpoint {
    var host: String
    var port: Int

    init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw ValidationError("expected host:port, got '\(text)'")
        }
        host = String(text[..<colon])
        self.port = port
    }
}
