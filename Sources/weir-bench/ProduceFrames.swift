import KafkaProtocol
import NIOCore

/// Pre-encoded Produce v9 requests, complete frames (size prefix included) ready to be written
/// again and again: the replayer does no encoding, no compression and no per-record work while
/// it measures. Request r carries one batch for each of `batchesPerRequest` consecutive
/// partitions (modulo the partition count), as a producer's request to its one broker does.
///
/// Correlation ids are the frame's index: the broker answers a connection in order, so the
/// replayer matches responses first-in, first-out and checks the id.
struct ProduceFrames {
    struct Frame {
        var bytes: ByteBuffer
        var correlationId: Int32
        var batches: Int
        var records: Int
        var payloadBytes: Int
    }

    static let version: Int16 = 9
    let frames: [Frame]

    init(topic: String, partitions: Int32, batchesPerRequest: Int, acks: Int16, workload: Workload,
         requests: Int) throws {
        let perRequest = min(batchesPerRequest, Int(partitions))
        let batchPool = try (0..<64).map { try workload.batch($0) }
        var frames: [Frame] = []
        var nextPartition = 0
        for r in 0..<requests {
            var partitionData: [ProduceRequest.PartitionProduceData] = []
            for j in 0..<perRequest {
                let partition = Int32((nextPartition + j) % Int(partitions))
                partitionData.append(.init(index: partition, records: batchPool[(r * perRequest + j) % batchPool.count]))
            }
            nextPartition = (nextPartition + perRequest) % Int(partitions)
            let request = ProduceRequest(acks: acks, timeoutMs: 30000,
                                         topicData: [.init(name: topic, partitionData: partitionData)])
            let id = Int32(r)
            frames.append(Frame(bytes: Self.encode(request, correlationId: id), correlationId: id, batches: perRequest,
                                records: perRequest * workload.recordsPerBatch,
                                payloadBytes: perRequest * workload.payloadBytesPerBatch))
        }
        self.frames = frames
    }

    /// Requests needed so that every partition appears: at least 16, so batches vary.
    static func requestCount(partitions: Int32, batchesPerRequest: Int) -> Int {
        let perRequest = max(1, min(batchesPerRequest, Int(partitions)))
        return max(16, (Int(partitions) + perRequest - 1) / perRequest)
    }

    static func encode<R: KafkaRequest>(_ request: R, version: Int16 = version, correlationId: Int32) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 1024)
        buffer.writeInteger(Int32(0))
        let header = RequestHeader(requestApiKey: R.apiKey.rawValue, requestApiVersion: version,
                                   correlationId: correlationId, clientId: "weir-bench")
        header.write(to: &buffer, version: R.requestHeaderVersion(version))
        request.write(to: &buffer, version: version)
        buffer.setInteger(Int32(buffer.readableBytes - 4), at: 0)
        return buffer
    }
}
