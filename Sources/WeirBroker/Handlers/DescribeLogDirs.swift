#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KafkaProtocol
import WeirStorage

/// DescribeLogDirs (35): the broker's one log directory (`log.dirs`, the RocksDB database) with
/// each partition's size, as kafka-log-dirs.sh and admin UIs read it. A partition's size is
/// RocksDB's estimate of its SST bytes plus its memtables (it trails deletions until compaction
/// reclaims the space). Offset lag is 0: a single broker's log end is its high watermark.
/// v4's total and usable bytes come from statvfs of the directory.
struct DescribeLogDirsHandler: ApiHandler {
    typealias Request = DescribeLogDirsRequest
    let store: LogStore
    let io: IOPool
    /// Describe on the cluster (CLUSTER_AUTHORIZATION_FAILED; v0–2 have no error field and get no directories).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...4 }

    func handle(_ request: DescribeLogDirsRequest, context: RequestContext) async throws -> DescribeLogDirsResponse? {
        guard authorizer.authorize(context, .describe, .cluster, AclResource.clusterName) else {
            var denied = DescribeLogDirsResponse()
            denied.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return denied
        }
        let store = self.store
        let result = try await io.run { () -> DescribeLogDirsResponse.DescribeLogDirsResult in
            // nil: every topic; otherwise the named topics' named partitions that exist.
            let wanted: [(String, [Int32])] = request.topics.map { $0.map { ($0.topic, $0.partitions) } }
                ?? store.topics().map { ($0.name, Array(0..<$0.partitionCount)) }
            var result = DescribeLogDirsResponse.DescribeLogDirsResult(logDir: Self.absolute(store.directory))
            for (topic, partitions) in wanted {
                let described = partitions.compactMap { p -> DescribeLogDirsResponse.DescribeLogDirsPartition? in
                    guard let log = store.partition(TopicPartition(topic, p)) else { return nil }
                    // An empty log (nothing since its start) is 0, not an empty memtable's arena.
                    let offsets = log.offsets
                    let size = offsets.logEndOffset == offsets.logStartOffset ? 0
                        : (try? log.approximateSizeBytes()).map { Int64(clamping: $0) } ?? 0
                    return .init(partitionIndex: p, partitionSize: size, offsetLag: 0, isFutureKey: false)
                }
                if !described.isEmpty { result.topics.append(.init(name: topic, partitions: described)) }
            }
            var fs = statvfs()
            if statvfs(store.directory, &fs) == 0 {
                result.totalBytes = Int64(fs.f_blocks) * Int64(fs.f_frsize)
                result.usableBytes = Int64(fs.f_bavail) * Int64(fs.f_frsize)
            }
            return result
        }
        var response = DescribeLogDirsResponse()
        response.results = [result]
        return response
    }

    private static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        let base = String(cString: cwd)
        return base + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }
}
