import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import WeirBroker
import WeirStorage

/// What the admin listener answers, independent of HTTP plumbing: a request (method, URI,
/// body) in, an `AdminResponse` out. Runs off the event loops (the HTTP handler calls it from a
/// task); the checkpoint, which flushes memtables and may take seconds, runs on the I/O pool.
///
/// Endpoints (the README's "Admin listener" section has the JSON):
///   GET  /health         200 {"status":"ok", …}
///   GET  /metrics        200 Prometheus text exposition (`BrokerMetrics`)
///   POST /v1/snapshots   201 SnapshotRecord; 400 bad JSON or path, 409 path exists
///   GET  /v1/snapshots   200 {"snapshots":[SnapshotRecord, …]}, oldest first
///   GET  /, /v1/broker, /v1/topics…, /v1/groups…   the web console (`ConsoleAPI`)
/// Any other path 404, another method on a known path 405 with Allow.
public struct AdminAPI: Sendable {
    let brokerId: Int32
    let store: LogStore
    let metrics: BrokerMetrics
    let snapshots: SnapshotRegistry
    let io: NIOThreadPool
    let nowMs: @Sendable () -> Int64
    /// Whether storage writes are failing (`/health` says "degraded" with the error).
    let storageHealth: StorageHealth?
    /// The web console's page and `/v1/` endpoints; nil: they answer 404.
    let console: ConsoleAPI?

    public init(brokerId: Int32, store: LogStore, metrics: BrokerMetrics, snapshots: SnapshotRegistry,
                io: NIOThreadPool, storageHealth: StorageHealth? = nil, console: ConsoleAPI? = nil,
                nowMs: @escaping @Sendable () -> Int64 = { Broker.wallClockMs() }) {
        self.storageHealth = storageHealth
        self.console = console
        self.brokerId = brokerId
        self.store = store
        self.metrics = metrics
        self.snapshots = snapshots
        self.io = io
        self.nowMs = nowMs
    }

    /// The largest request body read; a larger one gets 413.
    static let maxBodyBytes = 64 << 10

    func respond(method: HTTPMethod, uri: String, body: ByteBuffer, contentType: String? = nil) async -> AdminResponse {
        let route = AdminRoute.match(method: method, uri: uri)
        switch route {
        case .health:
            return health()
        case .metrics:
            return AdminResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                 body: await metrics.scrape())
        case .listSnapshots:
            do {
                return .json(.ok, AdminJSON.SnapshotList(snapshots: try snapshots.list()))
            } catch {
                return .error(.internalServerError, "cannot read the snapshot list: \(error)")
            }
        case .createSnapshot:
            return await createSnapshot(body)
        case .consoleAsset, .broker, .listTopics, .createTopic, .topic, .deleteTopic, .records, .listGroups, .group,
             .resetOffsets:
            guard let console else { return .error(.notFound, "no such endpoint: \(method.rawValue) \(uri) (no console)") }
            return await console.respond(route, uri: uri, body: body, contentType: contentType)
        case .notFound:
            return .error(.notFound, "no such endpoint: \(method.rawValue) \(uri)")
        case .methodNotAllowed(let allow):
            var response = AdminResponse.error(.methodNotAllowed, "\(method.rawValue) is not allowed on \(uri); allowed: \(allow)")
            response.headers.append(("Allow", allow))
            return response
        }
    }

    func health() -> AdminResponse {
        let topics = store.topics()
        // Still 200 while writes fail: the broker serves reads and answers writes retriably.
        let failing = storageHealth?.failing
        return .json(.ok, AdminJSON.Health(
            status: failing == nil ? "ok" : "degraded", brokerId: brokerId, uptimeMs: metrics.uptimeMs,
            topics: topics.count, partitions: topics.reduce(0) { $0 + Int($1.partitionCount) },
            dataDirFreeBytes: BrokerMetrics.freeBytes(of: store.directory), storageError: failing?.error))
    }

    func createSnapshot(_ body: ByteBuffer) async -> AdminResponse {
        let request: AdminJSON.SnapshotRequest
        do {
            request = try JSONDecoder().decode(AdminJSON.SnapshotRequest.self, from: Data(body.readableBytesView))
        } catch {
            return .error(.badRequest, "expected a JSON body {\"path\": \"DIR\"}: \(error)")
        }
        let (snapshots, nowMs) = (self.snapshots, self.nowMs)
        do {
            let record = try await io.runIfActive { try snapshots.take(to: request.path, nowMs: nowMs()) }
            return .json(.created, record)
        } catch let failure as SnapshotRegistry.Failure {
            switch failure {
            case .pathExists: return .error(.conflict, failure.description)
            case .parentMissing, .emptyPath: return .error(.badRequest, failure.description)
            }
        } catch {
            return .error(.internalServerError, "snapshot failed: \(error)")
        }
    }
}
