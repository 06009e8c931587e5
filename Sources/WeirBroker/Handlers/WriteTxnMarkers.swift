import KafkaProtocol
import Logging
import WeirStorage

/// WriteTxnMarkers (27): writes COMMIT/ABORT markers into partitions. In Kafka the coordinator
/// sends it to partition leaders; on one broker the coordinator writes its markers itself, so
/// what remains is the admin use — `kafka-transactions.sh abort` / `weir transactions abort`
/// (AdminClient.abortTransaction), which ends a hanging transaction on one partition. A
/// partition where the producer has nothing open is answered NONE and left alone.
struct WriteTxnMarkersHandler: ApiHandler {
    typealias Request = WriteTxnMarkersRequest
    let store: LogStore
    let waiters: AppendWaiters
    let io: IOPool
    let clock: WallClock
    let logger: Logger
    /// ClusterAction on the cluster (CLUSTER_AUTHORIZATION_FAILED), as Kafka asks.
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...1 }

    func handle(_ request: WriteTxnMarkersRequest, context: RequestContext) async throws -> WriteTxnMarkersResponse? {
        let allowed = authorizer.authorize(context, .clusterAction, .cluster, "kafka-cluster")
        let (store, waiters, logger, now) = (store, waiters, logger, clock.nowMs())
        return try await io.run {
            var response = WriteTxnMarkersResponse()
            response.markers = request.markers.map { marker in
                .init(producerId: marker.producerId, topics: marker.topics.map { t in
                    .init(name: t.name, partitions: t.partitionIndexes.map { p in
                        let tp = TopicPartition(t.name, p)
                        guard allowed else { return .init(partitionIndex: p, errorCode: ErrorCode.clusterAuthorizationFailed.rawValue) }
                        guard let log = store.partition(tp) else {
                            return .init(partitionIndex: p, errorCode: ErrorCode.unknownTopicOrPartition.rawValue)
                        }
                        do {
                            if let at = try log.writeMarker(marker.transactionResult ? .commit : .abort, producerId: marker.producerId,
                                                            epoch: marker.producerEpoch, coordinatorEpoch: marker.coordinatorEpoch,
                                                            timestamp: now, sync: true) {
                                logger.info("wrote a transaction marker on request", metadata: [
                                    "partition": "\(tp)", "producer.id": "\(marker.producerId)", "offset": "\(at)",
                                    "commit": "\(marker.transactionResult)", "client": "\(context.clientId ?? "-")"])
                                waiters.appended(tp)
                            }
                            return .init(partitionIndex: p, errorCode: 0)
                        } catch let error as ProducerStateError {
                            return .init(partitionIndex: p, errorCode: error.code.rawValue)
                        } catch {
                            return .init(partitionIndex: p, errorCode: ErrorCode(storageError: error).rawValue)
                        }
                    })
                })
            }
            return response
        }
    }
}
