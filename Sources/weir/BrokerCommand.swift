import ArgumentParser
import Foundation
import Logging
import WeirServer

/// `weir broker [FILE] --override key=value …`: runs the broker daemon.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a Weir broker (Kafka's server.properties names; see config/server.properties)."
    )

    @Argument(help: "The broker's properties file (Kafka's server.properties format).")
    var configFile: String?

    @Option(name: .customLong("override"), help: "Override a property: --override key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "weir")
        let properties: BrokerProperties
        do {
            let text = try configFile.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? ""
            properties = try BrokerProperties(text: text, overrides: overrides)
        } catch let error as BrokerProperties.Invalid {
            FileHandle.standardError.write(Data("weir broker: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("weir broker: cannot read \(configFile ?? "-"): \(error)\n".utf8))
            throw ExitCode(2)
        }
        do {
            try await BrokerRuntime.run(properties, logger: logger)
        } catch let error as BrokerProperties.Invalid {
            // A certificate or key that does not load: named like any other configuration error.
            FileHandle.standardError.write(Data("weir broker: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
