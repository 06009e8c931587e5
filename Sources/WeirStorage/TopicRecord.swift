import Foundation
import KafkaProtocol

/// A topic as the catalog stores it. Only configs set explicitly for the topic are kept; the
/// broker layers them over its defaults, so changing a broker default reaches every topic.
///
/// Stored as JSON (see `TopicCatalog`), e.g.
/// `{"configs":{"retention.ms":"1000"},"createdAtMs":1700000000000,"id":"AAAAAAAAAAAAAAAAAAAAAQ","name":"t","partitionCount":3}`.
public struct TopicRecord: Sendable, Equatable, Codable {
    public var name: String
    public var id: KafkaUUID
    public var partitionCount: Int32
    public var configs: [String: String]
    public var createdAtMs: Int64

    public init(name: String, id: KafkaUUID, partitionCount: Int32, configs: [String: String], createdAtMs: Int64) {
        self.name = name
        self.id = id
        self.partitionCount = partitionCount
        self.configs = configs
        self.createdAtMs = createdAtMs
    }

    private enum CodingKeys: String, CodingKey {
        case name, id, partitionCount, configs, createdAtMs
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        let idText = try c.decode(String.self, forKey: .id)
        guard let id = Self.uuid(base64: idText) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: c, debugDescription: "bad topic id \(idText)")
        }
        self.id = id
        partitionCount = try c.decode(Int32.self, forKey: .partitionCount)
        configs = try c.decode([String: String].self, forKey: .configs)
        createdAtMs = try c.decode(Int64.self, forKey: .createdAtMs)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(id.base64, forKey: .id)
        try c.encode(partitionCount, forKey: .partitionCount)
        try c.encode(configs, forKey: .configs)
        try c.encode(createdAtMs, forKey: .createdAtMs)
    }

    /// Parses Kafka's 22-character URL-safe unpadded base64 form of a UUID.
    static func uuid(base64 text: String) -> KafkaUUID? {
        var padded = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard text.utf8.count == 22 else { return nil }
        padded += "=="
        guard let data = Data(base64Encoded: padded), data.count == 16 else { return nil }
        return KafkaUUID(bytes: [UInt8](data))
    }
}
