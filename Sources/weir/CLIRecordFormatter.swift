import NIOCore
import WeirClient

/// Kafka's `DefaultMessageFormatter`: optional timestamp, partition, offset, headers and key
/// columns before the value, separated by `key.separator`, each record ending with
/// `line.separator`. Key, value and header bytes are written as they are.
struct RecordFormatter {
    let printTimestamp: Bool
    let printPartition: Bool
    let printOffset: Bool
    let printHeaders: Bool
    let printKey: Bool
    let printValue: Bool
    let keySeparator: [UInt8]
    let lineSeparator: [UInt8]
    let headersSeparator: [UInt8]
    let headersKeySeparator: [UInt8]
    let nullLiteral: [UInt8]

    init(_ properties: [String: String]) {
        printTimestamp = CLI.flag(properties, "print.timestamp")
        printPartition = CLI.flag(properties, "print.partition")
        printOffset = CLI.flag(properties, "print.offset")
        printHeaders = CLI.flag(properties, "print.headers")
        printKey = CLI.flag(properties, "print.key")
        printValue = CLI.flag(properties, "print.value", default: true)
        keySeparator = Array(CLI.unescape(properties["key.separator"] ?? "\t").utf8)
        lineSeparator = Array(CLI.unescape(properties["line.separator"] ?? "\n").utf8)
        headersSeparator = Array(CLI.unescape(properties["headers.separator"] ?? ",").utf8)
        headersKeySeparator = Array(CLI.unescape(properties["headers.key.separator"] ?? ":").utf8)
        nullLiteral = Array((properties["null.literal"] ?? "null").utf8)
    }

    func format(_ record: ConsumedRecord) -> [UInt8] {
        var out: [UInt8] = []
        // Each column is followed by the key separator if another column follows, else by
        // the line separator; the value column always ends the line.
        func separator(more: Bool) { out += more ? keySeparator : lineSeparator }
        func bytes(_ buffer: ByteBuffer?) { if let buffer { out += buffer.readableBytesView } else { out += nullLiteral } }
        if printTimestamp {
            out += Array("\(record.isLogAppendTime ? "LogAppendTime" : "CreateTime"):\(record.timestamp)".utf8)
            separator(more: printPartition || printOffset || printHeaders || printKey || printValue)
        }
        if printPartition {
            out += Array("Partition:\(record.partition)".utf8)
            separator(more: printOffset || printHeaders || printKey || printValue)
        }
        if printOffset {
            out += Array("Offset:\(record.offset)".utf8)
            separator(more: printHeaders || printKey || printValue)
        }
        if printHeaders {
            if record.headers.isEmpty {
                out += Array("NO_HEADERS".utf8)
            } else {
                for (i, header) in record.headers.enumerated() {
                    if i > 0 { out += headersSeparator }
                    out += Array(header.key.utf8)
                    out += headersKeySeparator
                    bytes(header.value)
                }
            }
            separator(more: printKey || printValue)
        }
        if printKey {
            bytes(record.key)
            separator(more: printValue)
        }
        if printValue {
            bytes(record.value)
            out += lineSeparator
        }
        return out
    }
}
