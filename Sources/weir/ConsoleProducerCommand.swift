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

    @Option(name: [.customLong("command-config"), .customLong("producer.config")],
            help: "Client properties file: security.protocol, sasl.*, ssl.* (as Kafka's scripts).")
    var commandConfig: String?

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
        let stop = StopSignal()
        @Sendable func flush(_ producer: Producer) async throws {
            do {
                try await producer.flush()
            } catch {
                throw CLIError("Error when sending message to topic \(topic): \(CLI.message(of: error))")
            }
        }
        try await CLI.run(bootstrap: bootstrapServer, clientId: "weir-console-producer", commandConfig: commandConfig) { client in
            let producer = Producer(client: client, options: producerOptions)
            _ = try await producer.partitionCount(of: topic)
            var input = StdinLines()
            var lineNumber = 0
            reading: while true {
                if !input.hasBufferedLine {
                    // Wait for input in short steps so that SIGINT/SIGTERM is noticed; send a
                    // partial batch once the input has paused for the linger time.
                    var waited: Int32 = 0
                    while !input.waitReadable(timeoutMs: 100) {
                        if stop.isSet { break reading }
                        waited += 100
                        if waited >= linger && producer.pendingRecords > 0 { try await flush(producer) }
                    }
                }
                if stop.isSet { break }
                guard let line = try input.nextLine() else { break }
                lineNumber += 1
                let record = try reader.parse(line, lineNumber: lineNumber)
                do {
                    try await producer.send(topic: topic, key: record.key, value: record.value, headers: record.headers)
                } catch {
                    throw CLIError("Error when sending message to topic \(topic): \(CLI.message(of: error))")
                }
            }
            try await flush(producer)
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
