import KafkaProtocol
import NIOCore

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
