import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The TLS listeners' current `NIOSSLContext`, rebuilt when the keystore or truststore file
/// changes (a renewed certificate), without a restart. Each new connection takes the context of
/// the moment; connections already open keep theirs. A file that no longer loads (half written,
/// a key that does not fit the certificate) keeps the previous context, logs once per change,
/// and is tried again at the next check.
public final class TLSContextSource: Sendable {
    /// What identifies a file's version: modification time, size and inode.
    struct FileStamp: Equatable, Sendable {
        var path: String
        var modified: Double
        var size: UInt64
        var inode: UInt64
    }

    public enum Reload: Equatable, Sendable {
        case unchanged
        case reloaded
        case failed(String)
    }

    private let settings: TLSSettings
    private let state: Mutex<(context: NIOSSLContext, stamps: [FileStamp], failedStamps: [FileStamp]?)>

    public init(settings: TLSSettings) throws {
        self.settings = settings
        let stamps = Self.stamps(settings)
        state = Mutex((try ServerTLS.makeContext(settings), stamps, nil))
    }

    public var context: NIOSSLContext { state.withLock { $0.context } }

    /// Rebuilds the context when a file's stamp changed since the last successful build.
    public func reloadIfChanged() -> Reload {
        let now = Self.stamps(settings)
        let (changed, alreadyFailed) = state.withLock { ($0.stamps != now, $0.failedStamps == now) }
        guard changed else { return .unchanged }
        do {
            let fresh = try ServerTLS.makeContext(settings)
            state.withLock { $0 = (fresh, now, nil) }
            return .reloaded
        } catch {
            state.withLock { $0.failedStamps = now }
            return alreadyFailed ? .unchanged : .failed("\(error)")
        }
    }

    static func stamps(_ s: TLSSettings) -> [FileStamp] {
        [s.keystoreLocation, s.clientAuth == .none ? nil : s.truststoreLocation].compactMap { $0 }.map { path in
            let a = try? FileManager.default.attributesOfItem(atPath: path)
            return FileStamp(path: path, modified: (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0,
                             size: (a?[.size] as? NSNumber)?.uint64Value ?? 0,
                             inode: (a?[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0)
        }
    }
}

/// Checks the certificate files every `weir.ssl.reload.check.interval.ms` and swaps in a
/// rebuilt context when they changed.
struct CertificateReloader: Service {
    let source: TLSContextSource
    let intervalMs: Int64
    let logger: Logger

    func run() async throws {
        let (source, logger) = (source, logger)
        await everyInterval(milliseconds: intervalMs) {
            switch source.reloadIfChanged() {
            case .unchanged: break
            case .reloaded: logger.info("TLS certificates reloaded: new connections use them")
            case .failed(let why): logger.warning("TLS certificate files changed but do not load; keeping the previous ones", metadata: ["error": "\(why)"])
            }
        }
    }
}
