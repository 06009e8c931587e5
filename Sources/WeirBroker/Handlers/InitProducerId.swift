import Logging
import KafkaProtocol
import WeirStorage

/// InitProducerId (22): producer ids for idempotent producers (KIP-98), which clients ask for
/// before their first Produce (kafka-python and the Java client by default, librdkafka with
/// enable.idempotence).
///
/// - No transactional id, no producer id: a new id (never handed out before, across restarts)
///   with epoch 0.
/// - v3+ with the producer's current id and epoch (KIP-360, after an error): the same id with
///   epoch + 1; its partitions then accept it from sequence 0 and fence the old epoch. A fresh
///   id instead when the epoch is exhausted (≥ Int16.max - 1, Kafka's limit) or the id was
///   never issued here. Kafka itself always answers a non-transactional producer with a fresh
///   id; bumping is equally valid for clients and keeps one id per producer.
/// - One of producer id / epoch given without the other: INVALID_REQUEST, as Kafka.
/// - A transactional id: the transaction coordinator answers (`TransactionCoordinator`): the
///   id's producer with its epoch bumped, fencing older instances and aborting their open
///   transaction; `transaction.timeout.ms` above `transaction.max.timeout.ms` is
///   INVALID_TRANSACTION_TIMEOUT. An empty transactional id is INVALID_REQUEST, as in Kafka.
struct InitProducerIdHandler: ApiHandler {
    typealias Request = InitProducerIdRequest
    let producerIds: ProducerIdAllocator
    let transactions: TransactionCoordinator
    let io: IOPool
    let clock: WallClock
    let logger: Logger
    /// KIP-679: IdempotentWrite on the cluster or Write on any topic (CLUSTER_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...4 }

    /// Kafka's `RecordBatch.NO_PRODUCER_ID` / `NO_PRODUCER_EPOCH`.
    static let noProducerId: Int64 = -1
    static let noProducerEpoch: Int16 = -1

    func handle(_ request: InitProducerIdRequest, context: RequestContext) async throws -> InitProducerIdResponse? {
        if let transactionalId = request.transactionalId, !transactionalId.isEmpty {
            guard authorizer.authorize(context, .write, .transactionalId, transactionalId) else {
                return Self.failure(.transactionalIdAuthorizationFailed)
            }
        } else if request.transactionalId == nil {
            guard authorizer.authorizeIdempotentWrite(context) else { return Self.failure(.clusterAuthorizationFailed) }
        }
        let current: (id: Int64, epoch: Int16)?
        switch (request.producerId, request.producerEpoch) {
        case (Self.noProducerId, Self.noProducerEpoch):
            current = nil
        case (Self.noProducerId, _), (_, Self.noProducerEpoch):
            return Self.failure(.invalidRequest)
        case (let id, let epoch):
            current = (id, epoch)
        }
        if let transactionalId = request.transactionalId {
            guard !transactionalId.isEmpty else { return Self.failure(.invalidRequest) }
            let (coordinator, now, timeout) = (transactions, clock.nowMs(), request.transactionTimeoutMs)
            let result = try await io.run {
                coordinator.initProducerId(transactionalId: transactionalId, timeoutMs: timeout, expected: current, nowMs: now)
            }
            switch result {
            case .success(let (id, epoch)): return InitProducerIdResponse(producerId: id, producerEpoch: epoch)
            case .failure(let code): return Self.failure(code)
            }
        }
        let allocator = producerIds
        do {
            let (id, epoch) = try await io.run { () throws -> (Int64, Int16) in
                try Self.assign(current: current, allocator: allocator)
            }
            return InitProducerIdResponse(producerId: id, producerEpoch: epoch)
        } catch {
            logger.error("producer id allocation failed", metadata: ["error": "\(error)"])
            return Self.failure(.unknownServerError)
        }
    }

    /// The id and epoch to answer with: `current` bumped when possible, else a fresh id.
    static func assign(current: (id: Int64, epoch: Int16)?, allocator: ProducerIdAllocator) throws -> (Int64, Int16) {
        if let current, current.epoch >= 0, current.epoch < Int16.max - 1, allocator.mayHaveIssued(current.id) {
            return (current.id, current.epoch + 1)
        }
        return (try allocator.allocate(), 0)
    }

    static func failure(_ code: ErrorCode) -> InitProducerIdResponse {
        InitProducerIdResponse(errorCode: code.rawValue, producerId: noProducerId, producerEpoch: noProducerEpoch)
    }
}
