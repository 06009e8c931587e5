import Foundation
import NIOPosix
@testable import WeirCluster

/// A real etcd for a test: its own data directory and loopback ports, killed at the end.
/// `make test` installs Debian's etcd-server; without it these tests fail, saying so.
final class EtcdProcess {
    let process = Process()
    let directory: URL
    let endpoint: EtcdEndpoint

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    init() throws {
        guard let binary = ["/usr/bin/etcd", "/usr/local/bin/etcd"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Missing(description: "etcd is not installed (make test-deps installs etcd-server)")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-etcd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let client = try Self.freePort(), peer = try Self.freePort()
        endpoint = EtcdEndpoint(host: "127.0.0.1", port: client)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--name", "test", "--data-dir", directory.appendingPathComponent("data").path,
            "--listen-client-urls", "http://127.0.0.1:\(client)", "--advertise-client-urls", "http://127.0.0.1:\(client)",
            "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
            "--initial-cluster", "test=http://127.0.0.1:\(peer)",
        ]
        let log = FileHandle(forWritingAtPath: "/dev/null")
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Waits until etcd answers a read (at most 10 s).
    func ready(_ client: EtcdClient) async throws {
        for _ in 0..<100 {
            if (try? await client.range("/")) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Missing(description: "etcd did not start on \(endpoint)")
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
