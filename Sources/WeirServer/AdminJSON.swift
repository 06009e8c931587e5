import Foundation
import WeirStorage

/// The admin API's JSON bodies. One schema, snake_case keys, keys sorted on output (the README's
/// "Admin listener" section lists them). Snapshots use `SnapshotRecord`, whose JSON is also what
/// `SnapshotRegistry` stores.
enum AdminJSON {
    /// `GET /health`.
    struct Health: Codable, Equatable {
        var status: String
        var brokerId: Int32
        var uptimeMs: Int64
        var topics: Int
        var partitions: Int
        /// Free space of the file system holding log.dirs; null when it cannot be read.
        var dataDirFreeBytes: Int64?
        /// The storage error writes are failing with (a full disk…); null while writes succeed.
        var storageError: String?

        enum CodingKeys: String, CodingKey {
            case status
            case brokerId = "broker_id"
            case uptimeMs = "uptime_ms"
            case topics, partitions
            case dataDirFreeBytes = "data_dir_free_bytes"
            case storageError = "storage_error"
        }

        // `storage_error` is written as null rather than left out, so the schema is fixed.
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(status, forKey: .status)
            try c.encode(brokerId, forKey: .brokerId)
            try c.encode(uptimeMs, forKey: .uptimeMs)
            try c.encode(topics, forKey: .topics)
            try c.encode(partitions, forKey: .partitions)
            try c.encode(dataDirFreeBytes, forKey: .dataDirFreeBytes)
            try c.encode(storageError, forKey: .storageError)
        }
    }

    /// `POST /v1/snapshots` body.
    struct SnapshotRequest: Codable, Equatable {
        var path: String
    }

    /// `GET /v1/snapshots`.
    struct SnapshotList: Codable, Equatable {
        var snapshots: [SnapshotRecord]
    }

    /// Every 4xx/5xx answer.
    struct ErrorBody: Codable, Equatable {
        var error: String
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Only our own plain structs are encoded: this cannot fail.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8)) + [UInt8(ascii: "\n")]
    }

    /// A hand-built object (`NSNull()` for null). Its values are strings, numbers, booleans,
    /// arrays and objects of ours, never NaN: it cannot fail.
    static func encodeObject(_ value: [String: Any]) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return Array(data) + [UInt8(ascii: "\n")]
    }
}
