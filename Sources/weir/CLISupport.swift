import ArgumentParser
import Dispatch
import Foundation
import KafkaProtocol
import NIOConcurrencyHelpers
import WeirClient

/// A failure the tools report as one line on stderr before exiting with status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum CLI {
    /// Writes `line` and a newline to stderr, unbuffered.
    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Runs a tool's body with a started client, closing it afterwards. Any error becomes
    /// `prefix + message` on stderr and exit status 1, as the Kafka scripts do.
    static func run(bootstrap: String, clientId: String, commandConfig: String? = nil, errorPrefix: String = "Error: ",
                    _ body: (KafkaClient) async throws -> Void) async throws {
        do {
            // --command-config: Kafka's client properties (TLS, SASL), as the Kafka scripts take them.
            var security = ClientSecurity.plaintext
            if let commandConfig {
                guard let text = try? String(contentsOfFile: commandConfig, encoding: .utf8) else {
                    throw CLIError("cannot read --command-config \(commandConfig)")
                }
                do { security = try ClientSecurity(properties: text) } catch let e as ClientSecurity.Invalid {
                    throw CLIError("--command-config \(commandConfig): \(e.description)")
                }
            }
            let client = try KafkaClient(servers: bootstrap, clientId: clientId, security: security)
            do {
                try await withDeadline(30, "connecting to \(bootstrap)") { try await client.start() }
                try await body(client)
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError(errorPrefix + message(of: error))
            throw ExitCode(1)
        }
    }

    /// A one-line message for an error of the client or the tools.
    static func message(of error: any Error) -> String {
        switch error {
        case let e as KafkaError: return e.description
        // Never interpolate an ErrorCode: its `description` calls itself.
        case let e as ErrorCode: return KafkaError(code: e.rawValue).description
        case let e as CLIError: return e.description
        case let e as KafkaClient.ClientError: return e.description
        case let e as DeadlineExceeded: return e.description
        default: return "\(error)".replacingOccurrences(of: "\n", with: " ")
        }
    }

    /// `key=value` pairs of repeated `--property`/`--config` options; the value may contain '='.
    static func keyValues(_ items: [String], option: String) throws -> [(String, String)] {
        try items.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw CLIError("\(option) expects key=value, got '\(item)'")
            }
            return (String(item[..<eq]), String(item[item.index(after: eq)...]))
        }
    }

    static func properties(_ items: [String], option: String = "--property") throws -> [String: String] {
        Dictionary(try keyValues(items, option: option), uniquingKeysWith: { _, last in last })
    }

    /// Kafka's reading of a boolean property: "true" in any case, anything else false.
    static func flag(_ properties: [String: String], _ key: String, default value: Bool = false) -> Bool {
        properties[key].map { $0.trimmingCharacters(in: .whitespaces).lowercased() == "true" } ?? value
    }

    /// Java-style escapes in separators given on the command line ("\t", "\n").
    static func unescape(_ s: String) -> String {
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                switch c {
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "r": out.append("\r")
                default: out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        if escaped { out.append("\\") }
        return out
    }
}

/// SIGINT and SIGTERM as a flag the tools poll between requests, so that they can commit,
/// leave their group and exit 0 instead of dying mid-request.
///
/// Not Sendable: a tool polls it from the one task that runs the tool (Dispatch's signal
/// sources are not Sendable). The signal handlers share only the `stopped` box with it.
final class StopSignal {
    private let stopped = NIOLockedValueBox(false)
    /// Kept only to keep the sources alive; never touched after `init`.
    private let sources: [any DispatchSourceSignal]

    init() {
        let stopped = self.stopped
        sources = [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stopped.withLockedValue { $0 = true } }
            source.resume()
            return source
        }
    }

    var isSet: Bool { stopped.withLockedValue { $0 } }
}

/// Buffered stdout over the file descriptor, flushed by the caller: one system call per
/// fetched batch instead of per line, and bytes written exactly as they are (no re-encoding).
struct StdoutWriter {
    private var buffer: [UInt8] = []
    /// Set once stdout is gone (a closed pipe); the tools then stop quietly.
    private(set) var broken = false

    init() {
        // A closed pipe must surface as EPIPE here, not kill the process before it commits.
        signal(SIGPIPE, SIG_IGN)
        buffer.reserveCapacity(64 * 1024)
    }

    mutating func write<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { flush() }
    }

    mutating func write(_ string: String) {
        write(string.utf8)
    }

    mutating func flush() {
        guard !broken else {
            buffer.removeAll(keepingCapacity: true)
            return
        }
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { raw in
                Foundation.write(1, raw.baseAddress! + offset, raw.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                broken = true
                break
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
