import ArgumentParser
import Foundation
import Logging
import WeirStorage

/// `weir log …`: the operator's tools on a broker's database (Kafka's kafka-dump-log.sh is the
/// model), working on the files directly — no broker needed.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Inspect, dump, verify and compact a broker's database (its log.dirs).",
        discussion: """
        inspect, dump and verify open the database read-only: they work on a stopped broker's \
        database, beside a running broker (they see the database as of their start) and on a \
        snapshot. compact writes, so it refuses while a broker holds the database.

        Exit codes: 0 clean, 1 problems found (or the tool could not do its work), 2 usage.

        Example:
          weir log inspect --data-dir ./data
        """,
        subcommands: [LogInspectCommand.self, LogDumpCommand.self, LogVerifyCommand.self, LogCompactCommand.self]
    )
}

/// What the database tools share: usage errors that exit 2, opening the database read-only or
/// for writing with messages an operator can act on, JSON output.
enum DatabaseTool {
    /// Prints "weir <command>: <message>" and a pointer to --help; exit status 2.
    static func usage(_ command: String, _ message: String) -> ExitCode {
        CLI.printError("weir \(command): \(message)")
        CLI.printError("See 'weir \(command) --help'.")
        return ExitCode(2)
    }

    /// Prints "weir <command>: <message>"; exit status 1.
    static func failure(_ command: String, _ message: String) -> ExitCode {
        CLI.printError("weir \(command): \(message)")
        return ExitCode(1)
    }

    /// Usage errors for what ArgumentParser let through: options it did not know (the tools
    /// collect them so that they exit 2, not ArgumentParser's 64) and missing required values.
    static func checkUsage(_ command: String, unrecognized: [String], required: [(String, String?)]) throws {
        if let first = unrecognized.first {
            throw usage(command, first.hasPrefix("-") ? "unknown option '\(first)'" : "unexpected argument '\(first)'")
        }
        for (option, value) in required where value == nil || value?.isEmpty == true {
            throw usage(command, "\(option) is required")
        }
    }

    /// A number option given as text, so that a bad one exits 2.
    static func integer<T: FixedWidthInteger>(_ text: String?, _ option: String, _ command: String,
                                              minimum: T = 0) throws -> T? {
        guard let text else { return nil }
        guard let value = T(text), value >= minimum else {
            throw usage(command, "\(option) must be an integer ≥ \(minimum), not '\(text)'")
        }
        return value
    }

    /// Opens the database read-only; no database there is a usage error (2), anything else 1.
    static func openReadOnly(_ directory: String, _ command: String) throws -> ReadOnlyLogStore {
        guard LogStore.databaseExists(in: directory) else {
            throw usage(command, "no database at \(directory) (the broker's log.dirs)")
        }
        do {
            return try LogStore.openReadOnly(directory: directory, options: toolStorageOptions)
        } catch {
            throw failure(command, "cannot open the database at \(directory): \(error)")
        }
    }

    /// Opens the database for writing (`LogStore.open`, which also does the broker's startup
    /// recovery); a broker holding it is refused with a message saying so.
    static func openForWriting(_ directory: String, _ command: String) throws -> LogStore {
        guard LogStore.databaseExists(in: directory) else {
            throw usage(command, "no database at \(directory) (the broker's log.dirs)")
        }
        do {
            return try LogStore.open(directory: directory, options: toolStorageOptions, logger: warningsLogger)
        } catch let error as StorageError where error.isDatabaseInUse {
            throw failure(command, "the database at \(directory) is in use by a running broker; stop it first")
        } catch {
            throw failure(command, "cannot open the database at \(directory): \(error)")
        }
    }

    /// Small memory settings: a tool reads each batch once.
    static var toolStorageOptions: StorageOptions {
        var options = StorageOptions()
        options.blockCacheBytes = 8 << 20
        options.totalWriteBufferBytes = 64 << 20
        return options
    }

    /// The storage layer's warnings (e.g. recovery dropping an orphan column family) on stderr.
    static var warningsLogger: Logger {
        Logger(label: "weir") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
    }

    /// One JSON object on one line, keys sorted. `NSNull()` for null.
    static func jsonLine(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A timestamp in ms as ISO 8601 UTC with milliseconds; "-" for none.
    static func timestamp(_ ms: Int64?) -> String {
        guard let ms else { return "-" }
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// Left-aligned columns separated by two spaces.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    static func null(_ value: Any?) -> Any { value ?? NSNull() }
}
