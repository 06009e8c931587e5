import ArgumentParser
import Foundation
import KafkaProtocol
import NIOCore
import WeirClient

/// `weir console-producer`: kafka-console-producer.sh. Each stdin line becomes one record
/// (the line without its terminator, bytes exactly as read), optionally split into headers, key
/// and value like Kafka's `LineMessageReader`. Lines are batched (`--batch-size`) and a batch
/// that is not full is sent after `--timeout` ms without input, so a slow pipe still flows.
/// At EOF everything is flushed; the exit status is 0 only if every record was acknowledged.
struct ConsoleProducerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console-producer",
        abstract: "Send stdin lines as records to a topic (like kafka-console-producer.sh)."
    )

    @Option(name: [.customLong("bootstrap-server"), .customLong("broker-list")], help: "The broker to connect to, host:port[,host:port…].")
    var bootstrapServer: String

    @Option(help: "The topic to produce to.")
    var topic: String

    @Option(name: .customLong("property"), help: "Line reader properties: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error (repeatable key=value).")
    var properties: [String] = []

    @Option(name: .customLong("producer-property"), help: "Producer settings key=value: acks, compression.type, batch.size, linger.ms (repeatable).")
    var producerProperties: [String] = []

    @Option(name: .customLong("compression-codec"), help: "none, gzip, snappy, lz4 or zstd.")
    var compressionCodec: String?

    @Option(name: .customLong("request-required-acks"), help: "-1 (all), 0 or 1.")
    var requestRequiredAcks: String?

    @Option(name: .customLong("batch-size"), help: "Records per batch.")
    var batchSize: Int?

    @Option(name: .customLong("timeout"), help: "Milliseconds to wait for more input before sending a batch that is not full.")
    var lingerMs: Int32 = 1000

    @Flag(help: "Send every line on its own, waiting for its acknowledgement.")
    var sync = false

    func run() async throws {
        let reader: LineRecordParser
        var options = Producer.Options()
        do {
            reader = try LineRecordParser(CLI.properties(properties))
            let settings = try CLI.properties(producerProperties, option: "--producer-property")
            if let acks = requestRequiredAcks ?? settings["acks"] { options.acks = try Self.acks(acks) }
            if let name = compressionCodec ?? settings["compression.type"] {
                guard let codec = CompressionCodec(name: name) else {
                    throw CLIError("unknown compression codec '\(name)'; use none, gzip, snappy, lz4 or zstd")
                }
                options.codec = codec
            }
            if let bytes = settings["batch.size"].flatMap(Int.init) { options.batchBytes = max(bytes, 1) }
            if let records = batchSize { options.batchRecords = max(records, 1) }
            if sync { options.batchRecords = 1 }
        } catch {
            CLI.printError("Error: \(CLI.message(of: error))")
            throw ExitCode(1)
        }
        let producerOptions = options
        let topic = self.topic
        let linger = lingerMs
        try await CLI.run(bootstrap: bootstrapServer, clientId: "weir-console-producer") { client in
            let producer = Producer(client: client, options: producerOptions)
            _ = try await producer.partitionCount(of: topic)
            var input = StdinLines()
            var lineNumber = 0
            while true {
                // Send a partial batch when the input pauses, as Kafka's linger does.
                if producer.pendingRecords > 0 && !input.hasBufferedLine && !input.waitReadable(timeoutMs: linger) {
                    try await producer.flush()
                    continue
                }
                guard let line = try input.nextLine() else { break }
                lineNumber += 1
                let record = try reader.parse(line, lineNumber: lineNumber)
                do {
                    try await producer.send(topic: topic, key: record.key, value: record.value, headers: record.headers)
                } catch {
                    throw CLIError("Error when sending message to topic \(topic): \(CLI.message(of: error))")
                }
            }
            do {
                try await producer.flush()
            } catch {
                throw CLIError("Error when sending message to topic \(topic): \(CLI.message(of: error))")
            }
        }
    }

    static func acks(_ text: String) throws -> Int16 {
        switch text.lowercased() {
        case "all", "-1": return -1
        case "0": return 0
        case "1": return 1
        default: throw CLIError("invalid acks '\(text)'; use all, -1, 0 or 1")
        }
    }
}

/// Kafka's `LineMessageReader`: splits a line into headers, key and value.
struct LineRecordParser {
    struct ParsedRecord {
        var key: ByteBuffer?
        var value: ByteBuffer?
        var headers: [RecordHeader]
    }

    let parseKey: Bool
    let keySeparator: [UInt8]
    let parseHeaders: Bool
    let headersDelimiter: [UInt8]
    let headersSeparator: [UInt8]
    let headersKeySeparator: [UInt8]
    let nullMarker: [UInt8]?
    let ignoreError: Bool

    init(_ properties: [String: String]) throws {
        parseKey = CLI.flag(properties, "parse.key")
        keySeparator = Array(CLI.unescape(properties["key.separator"] ?? "\t").utf8)
        parseHeaders = CLI.flag(properties, "parse.headers")
        headersDelimiter = Array(CLI.unescape(properties["headers.delimiter"] ?? "\t").utf8)
        headersSeparator = Array(CLI.unescape(properties["headers.separator"] ?? ",").utf8)
        headersKeySeparator = Array(CLI.unescape(properties["headers.key.separator"] ?? ":").utf8)
        nullMarker = properties["null.marker"].map { Array($0.utf8) }
        ignoreError = CLI.flag(properties, "ignore.error")
        for (name, sep) in [("key.separator", keySeparator), ("headers.delimiter", headersDelimiter),
                            ("headers.separator", headersSeparator), ("headers.key.separator", headersKeySeparator)]
            where sep.isEmpty {
            throw CLIError("\(name) must not be empty")
        }
    }

    func parse(_ line: ArraySlice<UInt8>, lineNumber: Int) throws -> ParsedRecord {
        var rest = line
        var headers: [RecordHeader] = []
        if parseHeaders {
            if let cut = Self.find(headersDelimiter, in: rest) {
                headers = try parseHeaderList(rest[rest.startIndex ..< cut], lineNumber: lineNumber)
                rest = rest[(cut + headersDelimiter.count)...]
            } else if !ignoreError {
                throw CLIError("No headers delimiter found on line number \(lineNumber): '\(String(decoding: line, as: UTF8.self))'")
            }
        }
        var key: ByteBuffer?
        if parseKey {
            if let cut = Self.find(keySeparator, in: rest) {
                key = bytesOrNull(rest[rest.startIndex ..< cut])
                rest = rest[(cut + keySeparator.count)...]
            } else if !ignoreError {
                throw CLIError("No key separator found on line number \(lineNumber): '\(String(decoding: line, as: UTF8.self))'")
            }
        }
        return ParsedRecord(key: key, value: bytesOrNull(rest), headers: headers)
    }

    private func parseHeaderList(_ text: ArraySlice<UInt8>, lineNumber: Int) throws -> [RecordHeader] {
        guard !text.isEmpty else { return [] }
        var headers: [RecordHeader] = []
        for item in Self.split(text, by: headersSeparator) {
            guard let cut = Self.find(headersKeySeparator, in: item) else {
                throw CLIError("No header key separator found in pair '\(String(decoding: item, as: UTF8.self))' on line number \(lineNumber)")
            }
            let key = String(decoding: item[item.startIndex ..< cut], as: UTF8.self)
            headers.append(RecordHeader(key: key, value: bytesOrNull(item[(cut + headersKeySeparator.count)...])))
        }
        return headers
    }

    private func bytesOrNull(_ bytes: ArraySlice<UInt8>) -> ByteBuffer? {
        if let nullMarker, bytes.elementsEqual(nullMarker) { return nil }
        return ByteBuffer(bytes: bytes)
    }

    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        while i <= haystack.endIndex - needle.count {
            if haystack[i] == needle[0] && haystack[i ..< i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func split(_ text: ArraySlice<UInt8>, by separator: [UInt8]) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        var rest = text
        while let cut = find(separator, in: rest) {
            parts.append(rest[rest.startIndex ..< cut])
            rest = rest[(cut + separator.count)...]
        }
        parts.append(rest)
        return parts
    }
}
